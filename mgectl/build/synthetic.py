"""Run engine.data's synthetic generators with user-facing errors, and save their output."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from mgectl.build.memory import check_generated_data
from mgectl.config.messages import did_you_mean
from mgectl.errors import UserError

if TYPE_CHECKING:
    from engine.data import SyntheticData
    from mgectl.config.experiment import SyntheticDataConfig


def generate(
    kind: str,
    *,
    n: int | None = None,
    noise: float | None = None,
    seed: int | None = None,
    params: dict[str, Any] | None = None,
) -> SyntheticData:
    """Run generator KIND; n/noise/seed left as None take the generator's defaults."""
    from engine.data.synthetic import GENERATORS

    if kind not in GENERATORS:
        choices = list(GENERATORS)
        raise UserError(
            f"unknown generator {kind!r}{did_you_mean(kind, choices)}",
            hint="choose one of: " + ", ".join(choices),
        )
    spec = GENERATORS[kind]
    kwargs = {key: value for key, value in (("n", n), ("noise", noise)) if value is not None}
    kwargs.update(params or {})
    kwargs["seed"] = seed
    accepted = list(spec.params)
    for key in kwargs:
        if key not in accepted:
            raise UserError(
                f"generator {kind} has no parameter {key!r}{did_you_mean(key, accepted)}",
                hint=f"{kind} accepts: " + ", ".join(accepted),
            )
    try:
        return spec(**kwargs)
    except (TypeError, ValueError) as error:
        raise UserError(f"generator {kind}: {error}") from None


def generate_from_config(data: SyntheticDataConfig) -> SyntheticData:
    """Run the generator a validated ``data:`` section names, with its n, noise, seed, params."""
    if data.n is not None and data.n > 1000:  # measure one sample before asking for many
        sample = generate(data.generator, n=2, noise=data.noise, seed=data.seed, params=data.params)
        check_generated_data(data, int(sample.x[0].size))
    return generate(data.generator, n=data.n, noise=data.noise, seed=data.seed, params=data.params)


def truth(data: SyntheticData) -> str | None:
    """The parameters behind the data, where the generator knows them (the tutorial's line)."""
    if data.name == "linear":
        return f"The real w: {data.meta['w']}, b: {data.meta['b']}"
    return None


def describe(data: SyntheticData) -> str:
    """'100 samples, 1 feature, regression' or '1000 samples, 2 features, 2 classes'."""
    features = 1 if data.x.ndim == 1 else int(data.x[0].size)
    text = f"{len(data)} samples, {features} feature{'s' if features != 1 else ''}"
    if data.x.ndim > 2:
        text += f" (images {'x'.join(str(d) for d in data.x.shape[1:])})"
    classes = data.meta.get("classes")
    return text + (f", {classes} classes" if classes else f", {data.task}")


def save(data: SyntheticData, out: Path, fmt: str) -> None:
    """Write DATA as CSV or NPZ through engine.data.tabular; images are flattened to rows."""
    from engine.data.tabular import save_csv, save_npz

    x = data.x.reshape(len(data), -1) if data.x.ndim > 2 else data.x
    names = ["x"] if data.x.ndim == 1 else None
    writer = save_csv if fmt == "csv" else save_npz
    try:
        writer(out, x, data.y, feature_names=names, class_names=data.meta.get("class_names"))
    except OSError as error:
        raise UserError(f"{out}: cannot write: {error.strerror or error}") from None


def output_format(out: Path | None, fmt: str | None) -> str:
    """The file format from --format or the --out suffix (csv by default); they must agree."""
    suffix = out.suffix.lower().lstrip(".") if out is not None else ""
    if fmt is not None:
        if suffix and suffix != fmt:
            raise UserError(f"--out {out} ends in .{suffix} but --format is {fmt}")
        return fmt
    if not suffix:
        return "csv"
    if suffix not in ("csv", "npz"):
        raise UserError(f"--out {out}: unknown file type .{suffix}", hint="use .csv or .npz")
    return suffix
