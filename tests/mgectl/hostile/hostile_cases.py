"""The hostile corpus: inputs a careless or malicious user gives mgectl, and the promised answer.

Each Case runs one command line in a fresh folder holding FILES (text, bytes, or a function
that writes them given the folder and a finished tiny run). The promise is an exit code and a
fragment of the output; a user mistake is never an internal error, never a traceback.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from engine import serialization

Setup = Callable[[Path, Path], None]  # (folder, a finished run directory to copy from)


@dataclass(frozen=True)
class Case:
    """One hostile input and the promised reaction."""

    id: str
    category: str  # config, flags, data, predict, checkpoint, rundir
    args: tuple[str, ...]
    code: int
    fragment: str
    files: dict[str, str | bytes] = field(default_factory=dict)
    setup: Setup | None = None


BASE = """\
name: tiny
seed: 0
data: {generator: moons, n: 40, noise: 0.1, val_split: 0.25}
model: {type: mlp, hidden: [4]}
optimizer: {type: sgd, lr: 0.1}
train: {epochs: 1, batch_size: 10}
"""


def base_with(**sections: str) -> str:
    """BASE with top-level lines replaced or added (name -> its whole YAML line)."""
    lines = {line.split(":", 1)[0]: line for line in BASE.splitlines()}
    lines.update(sections)
    return "\n".join(lines.values()) + "\n"


CASES: list[Case] = []


def case(
    id: str, category: str, args: tuple[str, ...] | str, code: int, fragment: str, **kw: Any
) -> None:
    """Add one case (ARGS may be one space-separated string)."""
    if isinstance(args, str):
        args = tuple(args.split())
    CASES.append(Case(id, category, args, code, fragment, **kw))


def config(id: str, text: str, code: int, fragment: str, *sets: str) -> None:
    """A config case: `train c.yaml [--set ...]` (validate must agree, see test_corpus)."""
    args: tuple[str, ...] = ("train", "c.yaml", "-q")
    for setting in sets:
        args += ("--set", setting)
    case(id, "config", args, code, fragment, files={"c.yaml": text})


# ---------------------------------------------------------------- config files and values
config("accepted-base", BASE, 0, "completed")
MERGE = """\
name: tiny
data: {generator: moons, n: 40, val_split: 0.25}
model: {type: mlp, hidden: [4]}
optimizer:
  <<: {type: sgd, lr: 0.5, momentum: 0.5}
  lr: 0.1
train: {epochs: 1, batch_size: 10}
"""
config("merge-key-with-override", MERGE, 0, "completed")
BOMB = (
    "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]\n" for i in range(8)
    )
    + "data: *i\n"
)
config("alias-bomb", BOMB, 2, "alias")
config("deep-nesting", "data: " + "[" * 5000 + "]" * 5000 + "\n", 2, "nest")
config("deep-nesting-maps", "data: " + "{a: " * 3000 + "1" + "}" * 3000 + "\n", 2, "nest")
config("complex-key", BASE + "? [a, b]\n: 1\n", 2, "key")
config("int-key", BASE + "1: x\n", 2, "1")
config("huge-int", base_with(train=f"train: {{epochs: {'9' * 5000}, batch_size: 10}}"), 2,
       "5000 digits")  # fmt: skip
config("epochs-2-70", BASE, 2, "train.epochs", f"train.epochs={2**70}")
config("epochs-float", BASE, 2, "train.epochs", "train.epochs=1.5")
config("epochs-zero", BASE, 2, "train.epochs", "train.epochs=0")
config("epochs-string", BASE, 2, "train.epochs", "train.epochs=ten")
config("name-nul", base_with(name='name: "a\\0b"'), 2, "name")
config("name-newline", base_with(name='name: "a\\nb"'), 2, "name")
config("name-long", base_with(name=f"name: {'n' * 300}"), 2, "name")
config("name-slash", base_with(name="name: ../../etc"), 2, "name")
config("name-empty", base_with(name='name: ""'), 2, "name")
config("name-dot", base_with(name="name: '..'"), 2, "name")
config("seed-negative", base_with(seed="seed: -1"), 2, "seed")
config("seed-huge", base_with(seed=f"seed: {2**64}"), 2, "seed")
config("seed-float", base_with(seed="seed: 0.5"), 2, "seed")
config("lr-inf", BASE, 2, "optimizer.lr", "optimizer.lr=.inf")
config("lr-nan", BASE, 2, "optimizer.lr", "optimizer.lr=.nan")
config("lr-negative", BASE, 2, "optimizer.lr", "optimizer.lr=-1")
config("lr-string", BASE, 2, "optimizer.lr", "optimizer.lr=fast")
config("momentum-one", BASE, 2, "momentum", "optimizer.momentum=1.0")
config("momentum-negative", BASE, 2, "momentum", "optimizer.momentum=-0.1")
config("momentum-nan", BASE, 2, "momentum", "optimizer.momentum=.nan")
config("betas-one", BASE, 2, "betas", "optimizer.type=adam", "optimizer.betas=[1.0, 0.999]")
config("betas-negative", BASE, 2, "betas", "optimizer.type=adam", "optimizer.betas=[0.9, -0.1]")
config("betas-three", BASE, 2, "betas", "optimizer.type=adam", "optimizer.betas=[0.9, 0.9, 0.9]")
config("weight-decay-negative", BASE, 2, "weight_decay", "optimizer.weight_decay=-1")
config("weight-decay-inf", BASE, 2, "weight_decay", "optimizer.weight_decay=.inf")
config("eps-zero-adam", BASE, 2, "eps", "optimizer.type=adam", "optimizer.eps=-1")
LINEAR = """\
name: lin
data: {generator: linear, n: 20, noise: 1, val_split: 0.0}
model: {type: linear, init_w: 0.0, init_b: 0.0}
loss: {type: mse}
optimizer: {type: sgd, lr: 0.01}
train: {epochs: 1, batch_size: full}
"""
config("init-w-nan", LINEAR, 2, "model.init_w", "model.init_w=.nan")
config("init-w-inf", LINEAR, 2, "model.init_w", "model.init_w=-.inf")
config("init-w-float32-overflow", LINEAR, 2, "model.init_w", "model.init_w=1e39")
config("init-b-float32-overflow", LINEAR, 2, "model.init_b", "model.init_b=-1e39")
config("linear-accepted", LINEAR, 0, "completed")
config("noise-inf", BASE, 2, "data.noise", "data.noise=.inf")
config("noise-negative", BASE, 2, "data.noise", "data.noise=-1")
config("val-split-nan", BASE, 2, "data.val_split", "data.val_split=.nan")
config("val-split-one", BASE, 2, "data.val_split", "data.val_split=1.0")
config("n-zero", BASE, 2, "data.n", "data.n=0")
config("n-huge-memory", BASE, 2, "would need about", "data.n=2000000000")
config("n-beyond-int32", BASE, 2, "data.n", "data.n=1000000000000")
config("hidden-huge-memory", BASE, 2, "would need about", "model.hidden=[200000, 200000]")
config("hidden-zero", BASE, 2, "model.hidden", "model.hidden=[0]")
config("hidden-negative", BASE, 2, "model.hidden", "model.hidden=[-4]")
config("dropout-one", BASE, 2, "dropout", "model.dropout=1.0")
config("batch-size-zero", BASE, 2, "train.batch_size", "train.batch_size=0")
config("batch-size-bool", BASE, 2, "train.batch_size", "train.batch_size=true")
config("batch-size-text", BASE, 2, "train.batch_size", "train.batch_size=all")
config("log-every-zero", BASE, 2, "train.log_every", "train.log_every=0")
config("eval-every-negative", BASE, 2, "train.eval_every", "train.eval_every=-1")
config("checkpoint-seconds-negative", BASE, 2, "checkpoint_seconds",
       "train.checkpoint_seconds=-1")  # fmt: skip
config("checkpoint-seconds-inf", BASE, 2, "checkpoint_seconds", "train.checkpoint_seconds=.inf")
config("min-delta-nan", BASE, 2, "min_delta", "train.early_stopping={min_delta: .nan}")
config("patience-zero", BASE, 2, "patience", "train.early_stopping={patience: 0}")
config("monitor-unknown", BASE, 2, "monitor", "train.early_stopping={monitor: val_f1}")
config("warmup-too-long", BASE, 2, "warmup_epochs",
       "optimizer.scheduler={type: cosine, warmup_epochs: 5}")  # fmt: skip
config("scheduler-unknown", BASE, 2, "scheduler", "optimizer.scheduler={type: cyclic}")
config("optimizer-unknown", BASE, 2, "optimizer.type", "optimizer.type=lbfgs")
config("model-unknown", BASE, 2, "model.type", "model.type=transformer")
config("generator-unknown", BASE, 2, "data.generator", "data.generator=cifar")
config("typo-key", BASE, 2, "did you mean", "train.epoch=3")
config("unknown-section", BASE + "trainer: {epochs: 3}\n", 2, "trainer")
config("device-unknown", BASE, 2, "device", "device=tpu0")
config("device-gpu-missing", BASE, 2, "gpu", "device=gpu0")
config("data-path-and-generator", BASE, 2, "data", "data.path=x.csv")
config("data-path-missing", base_with(data="data: {path: nosuch.csv, label: y}"), 2, "nosuch.csv")
config("data-path-directory", base_with(data="data: {path: ., label: y}"), 2, "data.path")
config("output-root-file", base_with(output="output: {root: c.yaml}"), 2, "output.root")
config("output-root-under-file", base_with(output="output: {root: c.yaml/runs}"), 2,
       "output.root")  # fmt: skip
config("output-root-proc", base_with(output="output: {root: /proc/mgectl}"), 2, "output.root")
config("output-root-nul", base_with(output='output: {root: "a\\0b"}'), 2, "output.root")
config("top-level-list", "- 1\n- 2\n", 2, "mapping")
config("top-level-scalar", "42\n", 2, "mapping")
config("empty-file", "", 2, "empty")
config("only-comments", "# nothing\n", 2, "empty")
config("tab-indent", "data:\n\tgenerator: moons\n", 2, "c.yaml:2")
config("duplicate-key", BASE + "seed: 3\n", 2, "duplicate key")
config("undefined-alias", BASE + "x: *nope\n", 2, "nope")
config("python-tag", BASE + "x: !!python/object/apply:os.system ['true']\n", 2, "c.yaml")
config("unclosed-bracket", "data: [1, 2\n", 2, "c.yaml")
config("section-null", base_with(model="model:"), 2, "model")
config("section-list", base_with(model="model: [mlp]"), 2, "model")
config("loss-mse-classification", BASE + "loss: {type: mse}\n", 2, "loss")
config("standardize-text", BASE, 2, "standardize", "data.standardize=maybe")
case("config-binary", "config", "train c.yaml", 2, "c.yaml",
     files={"c.yaml": b"\x00\x01\xff\xfe garbage"})  # fmt: skip
case("config-latin1", "config", "train c.yaml", 2, "c.yaml",
     files={"c.yaml": "name: caf\xe9\n".encode("latin-1")})  # fmt: skip
case("config-is-directory", "config", "train .", 2, ".")
case("config-missing", "config", "train nosuch.yaml", 2, "nosuch.yaml")

# ---------------------------------------------------------------- flags
case("set-unknown-key", "flags", "train c.yaml --set nosuch.key=1", 2, "--set nosuch.key",
     files={"c.yaml": BASE})  # fmt: skip
case("set-no-equals", "flags", "train c.yaml --set train.epochs", 2, "--set",
     files={"c.yaml": BASE})  # fmt: skip
case("set-empty-key", "flags", "train c.yaml --set =3", 2, "--set", files={"c.yaml": BASE})
case("set-bad-yaml", "flags", "train c.yaml --set train.epochs=[", 2, "--set",
     files={"c.yaml": BASE})  # fmt: skip
case("set-section-scalar", "flags", "train c.yaml --set train=5", 2, "train",
     files={"c.yaml": BASE})  # fmt: skip
case("set-through-scalar", "flags", "train c.yaml --set seed.x=1", 2, "--set 'seed.x=1'",
     files={"c.yaml": BASE})  # fmt: skip
case("set-alias-bomb", "flags", ("train", "c.yaml", "--set", "data=" + "[" * 3000), 2, "--set",
     files={"c.yaml": BASE})  # fmt: skip
case("device-flag-unknown", "flags", "train c.yaml --device npu0", 2, "device",
     files={"c.yaml": BASE})  # fmt: skip
case("nproc-zero", "flags", "train c.yaml --nproc 0", 2, "--nproc", files={"c.yaml": BASE})
case("nproc-uneven", "flags", "train c.yaml --nproc 3", 2, "train.batch_size",
     files={"c.yaml": BASE})  # fmt: skip
case("output-dir-file", "flags", "train c.yaml -o c.yaml", 2, "c.yaml", files={"c.yaml": BASE})
case("no-config", "flags", "train", 2, "missing CONFIG")
case("extra-argument", "flags", "train c.yaml c.yaml", 2, "", files={"c.yaml": BASE})
case("unknown-option", "flags", "train c.yaml --frobnicate", 2, "--frobnicate",
     files={"c.yaml": BASE})  # fmt: skip
case("resume-missing", "flags", "train --resume nosuch", 2, "nosuch")
case("validate-set-unknown", "flags", "validate c.yaml --set nosuch.key=1", 2, "--set nosuch.key",
     files={"c.yaml": BASE})  # fmt: skip
case("validate-no-files", "flags", "validate", 2, "CONFIG")
case("print-config-bad", "flags", "train c.yaml --print-config --set train.epochs=0", 2,
     "train.epochs", files={"c.yaml": BASE})  # fmt: skip
case("predict-no-data", "flags", "predict run", 2, "--data", setup=lambda d, run: _copy(run, d))

# ---------------------------------------------------------------- data files
CSV_CONFIG = """\
name: csv
data: {path: d.csv, label: y, task: classification, val_split: 0.25}
model: {type: mlp, hidden: [4]}
optimizer: {type: sgd, lr: 0.1}
train: {epochs: 1, batch_size: 4}
"""
REG_CONFIG = CSV_CONFIG.replace("task: classification", "task: regression").replace(
    "model: {type: mlp, hidden: [4]}", "model: {type: mlp, hidden: [4]}\nloss: {type: mse}"
)
GOOD_ROWS = [f"{i % 5}.5,{(i * 7) % 3}.25,{i % 2}" for i in range(12)]


def csv_rows(*replace: tuple[int, str]) -> str:
    """A 12-row CSV (x1, x2, y) with some rows replaced by the given text."""
    rows = list(GOOD_ROWS)
    for index, text in replace:
        rows[index] = text
    return "x1,x2,y\n" + "\n".join(rows) + "\n"


def data(id: str, text: str | bytes, code: int, fragment: str, conf: str = CSV_CONFIG,
         name: str = "d.csv") -> None:  # fmt: skip
    """A data case: train a config whose data.path is NAME."""
    case(id, "data", "train c.yaml -q", code, fragment,
         files={"c.yaml": conf.replace("d.csv", name), name: text})  # fmt: skip


data("csv-accepted", csv_rows(), 0, "completed")
data("csv-nan-feature", csv_rows((2, "nan,1.0,1")), 2, "line 4, column 'x1'")
data("csv-inf-feature", csv_rows((5, "1.0,inf,0")), 2, "line 7, column 'x2'")
data("csv-neg-inf-feature", csv_rows((5, "1.0,-Infinity,0")), 2, "line 7, column 'x2'")
data("csv-float32-overflow", csv_rows((0, "1e39,1.0,0")), 2, "line 2, column 'x1'")
data("csv-nan-last-row", csv_rows((11, "1.0,NaN,1")), 2, "line 13, column 'x2'")
data("csv-nan-target", csv_rows((3, "1.0,1.0,nan")), 2, "line 5, column 'y'", conf=REG_CONFIG)
data("csv-inf-target", csv_rows((3, "1.0,1.0,inf")), 2, "line 5, column 'y'", conf=REG_CONFIG)
data(
    "csv-overflow-target", csv_rows((3, "1.0,1.0,-1e40")), 2, "line 5, column 'y'", conf=REG_CONFIG
)
data("csv-regression-accepted", csv_rows(), 0, "completed", conf=REG_CONFIG)
data("csv-label-negative", csv_rows((1, "1.0,1.0,-1")), 2, "negative")
data("csv-label-fraction", csv_rows((1, "1.0,1.0,0.5")), 2, "not an integer")
data("csv-label-huge", csv_rows((1, "1.0,1.0,2000000000")), 2, "class")
data("csv-single-class", "x1,x2,y\n" + "\n".join(f"{i}.0,1.0,1" for i in range(12)) + "\n", 2,
     "class")  # fmt: skip
data("csv-trailing-empty-column", "x1,x2,y,\n" + "\n".join(r + "," for r in GOOD_ROWS) + "\n",
     2, "column")  # fmt: skip
data("csv-empty", "", 2, "empty")
data("csv-header-only", "x1,x2,y\n", 2, "no data rows")
data("csv-ragged", csv_rows((4, "1.0,0")), 2, "line 6")
data("csv-text-feature-is-categorical", csv_rows((4, "abc,1.0,0")), 0, "completed")
data("csv-empty-cell", csv_rows((4, ",1.0,0")), 2, "line 6")
data("csv-not-utf8", b"x1,x2,y\n\xff\xfe,1,0\n", 2, "UTF-8")
data("csv-binary", b"\x00" * 64, 2, "d.csv")
data("csv-unknown-label", csv_rows(), 2, "unknown column",
     conf=CSV_CONFIG.replace("label: y", "label: target"))  # fmt: skip
data("csv-one-row", "x1,x2,y\n1.0,2.0,0\n", 2, "at least two classes")
data("csv-unknown-extension", csv_rows(), 2, "data.path", name="d.txt")


def npz_bytes(**arrays: Any) -> bytes:
    """An .npz file holding ARRAYS, as bytes."""
    import io

    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


NPZ_CONFIG = CSV_CONFIG.replace("d.csv, label: y", "d.npz")
X12 = np.arange(24, dtype=np.float32).reshape(12, 2) / 10
Y12 = np.arange(12) % 2


def npz(id: str, code: int, fragment: str, **arrays: Any) -> None:
    """An NPZ data case (arrays x and y unless given otherwise)."""
    data(id, npz_bytes(**arrays), code, fragment, conf=NPZ_CONFIG, name="d.npz")


npz("npz-accepted", 0, "completed", x=X12, y=Y12)
npz("npz-nan-feature", 2, "d.npz", x=np.where(X12 == X12[3, 1], np.nan, X12), y=Y12)
npz("npz-inf-feature", 2, "d.npz", x=np.where(X12 == X12[3, 1], np.inf, X12), y=Y12)
npz("npz-float64-overflow", 2, "d.npz", x=X12.astype(np.float64) * np.array([1.0, 1e300]),
    y=Y12)  # fmt: skip
npz("npz-empty", 2, "empty", x=np.zeros((0, 2), np.float32), y=np.zeros(0, np.int64))
npz("npz-0d", 2, "d.npz", x=np.float32(1.0), y=np.int64(0))
npz("npz-length-mismatch", 2, "d.npz", x=X12, y=Y12[:5])
npz("npz-missing-y", 2, "d.npz", x=X12)
npz("npz-string-x", 2, "d.npz", x=X12.astype(str), y=Y12)
npz("npz-complex-x", 2, "d.npz", x=X12.astype(np.complex64), y=Y12)
npz("npz-label-negative", 2, "negative", x=X12, y=Y12 - 1)
npz("npz-label-huge", 2, "class", x=X12, y=np.where(Y12 == 1, 2_000_000_000, 0))
npz("npz-single-class", 2, "class", x=X12, y=np.zeros(12, np.int64))
npz("npz-label-float", 2, "not an integer", x=X12, y=Y12 + 0.5)
data("npz-object-array", b"PK\x03\x04 not really", 2, "d.npz", conf=NPZ_CONFIG, name="d.npz")
case("npz-pickle", "data", "train c.yaml -q", 2, "d.npz",
     files={"c.yaml": NPZ_CONFIG.replace("d.csv", "d.npz"),
            "d.npz": npz_bytes(x=np.array([object()] * 12, dtype=object), y=Y12)})  # fmt: skip

# ---------------------------------------------------------------- predict
FEATURES = "x1,x2\n0.5,0.25\n1.5,1.25\n2.5,0.75\n"


def predict(id: str, args: str, code: int, fragment: str, **files: str | bytes) -> None:
    """A predict case against a finished tiny run copied into the folder as run/."""
    case(id, "predict", f"predict run {args}".strip(), code, fragment, files=files,
         setup=lambda folder, run: _copy(run, folder))  # fmt: skip


predict("predict-accepted", "--data p.csv", 0, "", **{"p.csv": FEATURES})
predict("predict-nan", "--data p.csv", 2, "line 3", **{"p.csv": FEATURES.replace("1.5", "nan")})
predict("predict-inf", "--data p.csv", 2, "line 4", **{"p.csv": FEATURES.replace("0.75", "inf")})
predict("predict-overflow", "--data p.csv", 2, "line 2",
        **{"p.csv": FEATURES.replace("0.5,", "1e39,")})  # fmt: skip
predict("predict-out-is-data", "--data p.csv --out p.csv", 2, "--out", **{"p.csv": FEATURES})
predict("predict-out-is-data-relative", "--data ./p.csv --out p.csv", 2, "--out",
        **{"p.csv": FEATURES})  # fmt: skip
predict("predict-out-directory", "--data p.csv --out .", 2, "--out", **{"p.csv": FEATURES})
predict("predict-out-missing-folder", "--data p.csv --out no/such/out.csv", 2, "out.csv",
        **{"p.csv": FEATURES})  # fmt: skip
predict("predict-wrong-width", "--data p.csv", 2, "feature",
        **{"p.csv": "a,b,c,d\n1,2,3,4\n"})  # fmt: skip
predict("predict-missing-data", "--data nosuch.csv", 2, "nosuch.csv")
predict("predict-empty-data", "--data p.csv", 2, "p.csv", **{"p.csv": ""})
predict("predict-text-data", "--data p.csv", 2, "p.csv", **{"p.csv": "x1,x2\nabc,1\n"})
predict("predict-not-utf8", "--data p.csv", 2, "p.csv", **{"p.csv": b"x1,x2\n\xff,1\n"})
predict("predict-npz-nan", "--data p.npz", 2, "row",
        **{"p.npz": npz_bytes(x=np.array([[0.5, np.nan]], np.float32))})  # fmt: skip
predict("predict-npz-accepted", "--data p.npz", 0, "",
        **{"p.npz": npz_bytes(x=np.array([[0.5, 0.25]], np.float32))})  # fmt: skip


def _copy(run: Path, folder: Path) -> Path:
    """Copy the finished tiny run into FOLDER/run (only its checkpoints and metrics)."""
    import shutil

    target = folder / "run"
    shutil.copytree(run, target, ignore=shutil.ignore_patterns(".lock", "plots"))
    return target


# ---------------------------------------------------------------- checkpoints
def crafted(change: Callable[[dict], Any]) -> Setup:
    """A setup that copies the run and rewrites its checkpoints after CHANGE(state)."""

    def setup(folder: Path, run: Path) -> None:
        target = _copy(run, folder)
        for kind in ("last", "best"):
            path = target / "checkpoints" / f"{kind}.npz"
            state = serialization.load(path)
            change(state)
            serialization.save(state, path)

    return setup


def setter(dotted: str, value: Any) -> Callable[[dict], None]:
    """CHANGE that sets a dotted key (a.b.c) of the state; deletes it when value is DELETE."""

    def change(state: dict) -> None:
        *parents, last = dotted.split(".")
        node = state
        for key in parents:
            node = node[int(key) if isinstance(node, list) else key]
        if value is DELETE:
            del node[last]
        else:
            node[last] = value

    return change


DELETE = object()


def checkpoint(id: str, change: Callable[[dict], Any], fragment: str) -> None:
    """Two cases per crafted checkpoint: train --resume and predict must both refuse it."""
    setup = crafted(change)
    case(f"{id}-resume", "checkpoint", "train --resume run --set train.epochs=3 -q", 2, fragment,
         setup=setup)  # fmt: skip
    case(f"{id}-predict", "checkpoint", "predict run --data p.csv", 2, fragment, setup=setup,
         files={"p.csv": FEATURES})  # fmt: skip


D = "checkpoint damaged: "
checkpoint("epoch-negative", setter("progress.epoch", -1), D + "progress.epoch must be an integer")
checkpoint("epoch-string", setter("progress.epoch", "1"), D + "progress.epoch")
checkpoint("epoch-huge", setter("progress.epoch", 2**80), D + "progress.epoch")
checkpoint("epoch-float", setter("progress.epoch", 1.5), D + "progress.epoch")
checkpoint("step-negative", setter("progress.step", -5), D + "progress.step")
checkpoint(
    "stopped-early-text", setter("progress.stopped_early", "no"), D + "progress.stopped_early"
)
checkpoint("monitor-missing", setter("progress.monitor", DELETE), D + "progress")
checkpoint(
    "monitor-best-nan", setter("progress.monitor.best", float("nan")), D + "progress.monitor.best"
)
checkpoint(
    "monitor-wait-negative", setter("progress.monitor.wait", -1), D + "progress.monitor.wait"
)
checkpoint("progress-list", setter("progress", [1, 2]), D + "progress")
checkpoint("rng-garbage", setter("rng", {"bit_generator": "MT19937"}), D + "rng")
checkpoint("rng-text", setter("rng", "seed"), D + "rng")
checkpoint("sampler-rng-garbage", setter("sampler.rng", {"state": 1}), D + "sampler.rng")
checkpoint("sampler-epoch-negative", setter("sampler.epoch", -2), D + "sampler.epoch")
checkpoint("weights-string", lambda s: s["model"].update({k: np.array(["a"] * v.size)
           .reshape(v.shape) for k, v in s["model"].items()}), D + "model")  # fmt: skip
checkpoint("weights-complex", lambda s: s["model"].update({k: v.astype(np.complex64)
           for k, v in s["model"].items()}), D + "model")  # fmt: skip
checkpoint("weights-nan", lambda s: s["model"].update({k: v * np.nan
           for k, v in s["model"].items()}), "holds NaN or inf")  # fmt: skip
checkpoint("weights-wrong-shape", lambda s: s["model"].update({k: np.zeros((3, 3), np.float32)
           for k in list(s["model"])[:1]}), "do")  # fmt: skip
checkpoint("weights-missing", lambda s: s["model"].popitem(), "")
checkpoint("weights-list", setter("model", [1, 2]), D + "model")
checkpoint("optimizer-step-negative", lambda s: [b.update(step=-1) for b in
           s["optimizer"]["state"].values()] or s["optimizer"]["state"].update(
           {0: {"step": -1}}), D + "optimizer.state")  # fmt: skip
case("optimizer-buffer-shape", "checkpoint", "train --resume run --set train.epochs=3 -q", 2,
     "optimizer.state.0.momentum_buffer has shape (7,)", setup=crafted(lambda s: s["optimizer"]
     ["state"].update({0: {"momentum_buffer": np.zeros(7, np.float32)}})))  # fmt: skip
checkpoint("optimizer-buffer-text", lambda s: s["optimizer"]["state"].update(
           {0: {"momentum_buffer": "x"}}), D + "optimizer.state.0")  # fmt: skip
checkpoint("data-features-zero", setter("data.features", 0), D + "data.features")
checkpoint("data-task-unknown", setter("data.task", "ranking"), D + "data.task")
checkpoint("data-classes-huge", setter("data.num_classes", 2**40), D + "data.num_classes")
checkpoint("data-mean-shape", setter("data.mean", np.zeros(5, np.float32)), D + "data.mean")
checkpoint("data-std-zero", setter("data.std", np.zeros(2, np.float32)), D + "data.std")
checkpoint("data-names-numbers", setter("data.feature_names", [1, 2]), D + "data.feature_names")
checkpoint("outputs-zero", setter("outputs", 0), D + "outputs")
checkpoint("config-text", setter("config", "rm -rf"), D + "config")
checkpoint("version-99", setter("version", 99), "version")
checkpoint("format-other", setter("format", "other"), "not one of an mgectl run")


def raw_checkpoint(id: str, content: bytes | Callable[[Path], None], fragment: str) -> None:
    """train --resume FILE and predict FILE on a file that is not a sound checkpoint."""

    def setup(folder: Path, run: Path) -> None:
        if callable(content):
            content(folder / "ck.npz")
        else:
            (folder / "ck.npz").write_bytes(content)

    case(f"{id}-resume", "checkpoint", "train --resume ck.npz -q", 2, fragment, setup=setup)
    case(f"{id}-predict", "checkpoint", "predict ck.npz --data p.csv", 2, fragment, setup=setup,
         files={"p.csv": FEATURES})  # fmt: skip


def huge_header(path: Path) -> None:
    """A 1 KB zip whose .npy member claims a (2**20, 2**20) float32 array (4 TiB)."""
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': (1048576, 1048576), }"
    header = header.ljust(117) + "\n"
    member = b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode() + b"\0" * 64
    manifest = ('{"format": "engine-checkpoint", "version": 1, "root": '
                '{"t": "ndarray", "a": "a0"}}')  # fmt: skip
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("a0.npy", member)
        zf.writestr("manifest.json", manifest)


def truncated(path: Path) -> None:
    """The first half of a real checkpoint."""
    serialization.save({"w": np.ones(1000, np.float32)}, path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


raw_checkpoint("npy-huge-header", huge_header, "claims shape")
raw_checkpoint("truncated", truncated, "not an engine checkpoint")
raw_checkpoint("pickle", b"\x80\x04\x95 pickled", "pickle")
raw_checkpoint("text", b"hello", "not a zip")
raw_checkpoint("empty", b"", "not a zip")
raw_checkpoint("npy", b"\x93NUMPY\x01\x00", "single .npy")
raw_checkpoint("engine-not-mgectl", lambda p: serialization.save({"w": np.ones(2)}, p),
               "not one of an mgectl run")  # fmt: skip


# ---------------------------------------------------------------- run directories
def rundir(id: str, args: str, code: int, fragment: str, setup: Setup, **files: str) -> None:
    """A run-directory case."""
    case(id, "rundir", args, code, fragment, setup=setup, files=files)


def no_checkpoints(folder: Path, run: Path) -> None:
    """A run directory killed before its first checkpoint."""
    target = _copy(run, folder)
    for file in (target / "checkpoints").iterdir():
        file.unlink()


def name_folder(folder: Path, run: Path) -> None:
    """runs/tiny/<old id> (good) and runs/tiny/<newer id> (no checkpoint)."""
    import shutil

    shutil.copytree(run, folder / "runs" / "tiny" / "20000101-000000-01")
    dead = folder / "runs" / "tiny" / "29990101-000000-01"
    (dead / "checkpoints").mkdir(parents=True)
    (dead / "metrics.jsonl").write_text("")


def outside(folder: Path, run: Path) -> None:
    """A checkpoint file copied out of its run, whose stored output.root is elsewhere."""
    state = serialization.load(run / "checkpoints" / "last.npz")
    state["config"]["output"] = {"root": str(folder / "elsewhere")}
    serialization.save(state, folder / "ck.npz")


def torn_metrics(folder: Path, run: Path) -> None:
    """metrics.jsonl ends with half a line (kill -9 during the append)."""
    target = _copy(run, folder)
    with open(target / "metrics.jsonl", "a") as handle:
        handle.write('{"epoch": 1, "train_lo')


def stale_tmp(folder: Path, run: Path) -> None:
    """A temp file of a killed checkpoint write."""
    target = _copy(run, folder)
    (target / "checkpoints" / ".last.npz.999.abcd.tmp").write_bytes(b"half")


rundir("no-checkpoints", "train --resume run -q", 2, "has no checkpoints/last.npz", no_checkpoints)
rundir("no-checkpoints-predict", "predict run --data p.csv", 2, "has no checkpoints",
       no_checkpoints, **{"p.csv": FEATURES})  # fmt: skip
rundir("empty-name-folder", "train --resume runs -q", 2, "holds no runs",
       lambda f, r: (f / "runs").mkdir())  # fmt: skip
rundir("finished", "train --resume run -q", 2, "already finished", lambda f, r: _copy(r, f))
rundir("newest-dead", "train --resume runs/tiny --set train.epochs=2 -q", 0,
       "note: skipped runs/tiny/29990101-000000-01", name_folder)  # fmt: skip
rundir("newest-dead-predict", "predict runs/tiny --data p.csv", 0, "skipped", name_folder,
       **{"p.csv": FEATURES})  # fmt: skip
rundir("outside-run-dir", "train --resume ck.npz --set train.epochs=2 -q", 0, "runs/tiny/",
       outside)  # fmt: skip
rundir("torn-metrics", "train --resume run --set train.epochs=2 -q", 0, "completed", torn_metrics)
rundir("stale-tmp", "train --resume run --set train.epochs=2 -q", 0, "completed", stale_tmp)
rundir("resume-other-model", "train c.yaml --resume run --set model.hidden=[5] -q", 2,
       "model.hidden", lambda f, r: _copy(r, f), **{"c.yaml": BASE})  # fmt: skip
rundir("resume-checkpoints-folder", "train --resume run/checkpoints -q", 2, "run/checkpoints",
       lambda f, r: _copy(r, f))  # fmt: skip
rundir("resume-plain-folder", "train --resume . -q", 2, "holds no runs",
       lambda f, r: None)  # fmt: skip
