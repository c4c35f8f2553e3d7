"""What each workload is: sizes, hyper-parameters, repeat counts, units and its seeded data."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FRAMEWORKS = ("engine", "engine_trace", "numpy", "torch")
TIMED_WORKLOADS = ("W1", "W2a", "W2b", "W3", "W4", "W5")
WORKLOADS = (*TIMED_WORKLOADS, "startup")
GPU_WORKLOADS = ("W3", "W4", "W5")
ALIASES = {"W2": ("W2a", "W2b")}
DEVICES = ("cpu0", "gpu0")

SEED = 20240601
CHECK_STEPS = 3
RTOL = 1e-4

W1_LR = 0.01
W3_LR, W3_MOMENTUM = 0.01, 0.9
W5_LR, W5_MOMENTUM = 0.01, 0.0

DESCRIPTIONS = {
    "W1": "tutorial linear regression (n=100), one SGD step",
    "W2a": "a + b on (4,) float32, no recording",
    "W2b": "a + b on (4,) float32, recorded for autodiff",
    "W3": "MLP 784-512-256-10, batch 256, SGD momentum, one step",
    "W4": "1024x1024 matmul, forward + backward",
    "W5": "LeNet CNN 28x28, batch 64, SGD, one step",
    "startup": "wall time of a fresh process",
}


@dataclass(frozen=True)
class Sizes:
    """Problem sizes; FULL is the benchmark, SMALL keeps tests fast."""

    w1_n: int = 100
    w2_len: int = 4
    mlp: tuple[int, int, int, int] = (784, 512, 256, 10)
    mlp_batch: int = 256
    matmul_n: int = 1024
    cnn_batch: int = 64


FULL = Sizes()
SMALL = Sizes(w1_n=16, mlp=(32, 16, 8, 10), mlp_batch=8, matmul_n=32, cnn_batch=4)


@dataclass(frozen=True)
class Plan:
    """How a worker times one workload: warm-up steps, then repeats (capped by max_seconds)."""

    warmup: int
    repeats: int
    min_repeats: int = 3
    max_seconds: float = 20.0
    ops_per_step: int = 1


PLANS = {
    "W1": Plan(warmup=50, repeats=500),
    "W2a": Plan(warmup=1, repeats=15, ops_per_step=10_000),
    "W2b": Plan(warmup=1, repeats=15, ops_per_step=10_000),
    "W3": Plan(warmup=3, repeats=30),
    "W4": Plan(warmup=2, repeats=15),
    "W5": Plan(warmup=3, repeats=30),
}
QUICK_PLANS = {
    "W1": Plan(warmup=1, repeats=3),
    "W2a": Plan(warmup=1, repeats=3, ops_per_step=200),
    "W2b": Plan(warmup=1, repeats=3, ops_per_step=200),
    "W3": Plan(warmup=1, repeats=3),
    "W4": Plan(warmup=1, repeats=3),
    "W5": Plan(warmup=1, repeats=3),
}
STARTUP_RUNS, QUICK_STARTUP_RUNS = 5, 1


def plan_for(workload: str, quick: bool) -> Plan:
    """The timing plan of a timed workload."""
    return (QUICK_PLANS if quick else PLANS)[workload]


def unit_for(workload: str) -> tuple[str, float]:
    """Display unit of the per-step time and the factor that converts seconds to it."""
    if workload in ("W2a", "W2b"):
        return "us/op", 1e6
    return ("ms", 1e3) if workload == "startup" else ("ms/step", 1e3)


def throughput(workload: str, data: dict[str, np.ndarray], seconds: float) -> tuple[float, str]:
    """Work per second for one step of `seconds`: samples/s, GFLOP/s or ops/s ('' if none)."""
    if seconds <= 0:
        return 0.0, ""
    if workload == "W3":
        return len(data["w3.x"]) / seconds, "samples/s"
    if workload == "W5":
        return len(data["w5.x"]) / seconds, "samples/s"
    if workload == "W4":
        n = data["w4.x"].shape[0]
        return 3 * 2 * n**3 / seconds / 1e9, "GFLOP/s"
    if workload in ("W2a", "W2b"):
        return 1.0 / seconds, "ops/s"
    return 0.0, ""


def expand_workloads(names: str) -> list[str]:
    """Parse 'W1,W2,W3' into workload ids (W2 means W2a and W2b), in the canonical order."""
    wanted: set[str] = set()
    for raw in names.split(","):
        name = raw.strip()
        if not name:
            continue
        lookup = {w.lower(): w for w in WORKLOADS}
        if name.upper() in ALIASES:
            wanted.update(ALIASES[name.upper()])
        elif name.lower() in lookup:
            wanted.add(lookup[name.lower()])
        else:
            known = ", ".join([*WORKLOADS[:1], "W2", *WORKLOADS[1:]])
            raise ValueError(f"unknown workload {name!r}; known: {known}")
    return [w for w in WORKLOADS if w in wanted]


def data_prefix(workload: str) -> str:
    """Prefix of a workload's keys in make_data's dict ('w2.' serves both W2a and W2b)."""
    return workload[:2].lower() + "."


def _uniform(rng: np.random.Generator, bound: float, shape: tuple[int, ...]) -> np.ndarray:
    """Float32 uniform in [-bound, bound)."""
    return rng.uniform(-bound, bound, size=shape).astype(np.float32)


def make_data(sizes: Sizes = FULL, seed: int = SEED) -> dict[str, np.ndarray]:
    """Inputs and initial weights of every workload, seeded, as float32 (labels int32)."""
    rng = np.random.default_rng(seed)
    data: dict[str, np.ndarray] = {}

    x = rng.uniform(-10, 10, size=sizes.w1_n).astype(np.float32)
    noise = rng.normal(0, 1, size=sizes.w1_n).astype(np.float32)
    data["w1.x"], data["w1.y"] = x, (7 * x + 7 + noise).astype(np.float32)
    data["w1.w"], data["w1.b"] = np.zeros(1, np.float32), np.zeros(1, np.float32)

    for key in ("a", "b", "dy"):
        data[f"w2.{key}"] = rng.normal(0, 1, size=sizes.w2_len).astype(np.float32)

    dims, batch = sizes.mlp, sizes.mlp_batch
    data["w3.x"] = rng.uniform(0, 1, size=(batch, dims[0])).astype(np.float32)
    data["w3.label"] = rng.integers(0, dims[-1], size=batch).astype(np.int32)
    for i, (fan_in, fan_out) in enumerate(zip(dims[:-1], dims[1:], strict=True), start=1):
        bound = 1 / np.sqrt(fan_in)
        data[f"w3.fc{i}.weight"] = _uniform(rng, bound, (fan_out, fan_in))
        data[f"w3.fc{i}.bias"] = _uniform(rng, bound, (fan_out,))

    n = sizes.matmul_n
    for key in ("x", "w", "dy"):
        data[f"w4.{key}"] = rng.normal(0, 1, size=(n, n)).astype(np.float32)

    batch = sizes.cnn_batch
    data["w5.x"] = rng.uniform(0, 1, size=(batch, 1, 28, 28)).astype(np.float32)
    data["w5.label"] = rng.integers(0, 10, size=batch).astype(np.int32)
    for name, (out_c, in_c) in (("conv1", (6, 1)), ("conv2", (16, 6))):
        bound = 1 / np.sqrt(in_c * 25)
        data[f"w5.{name}.weight"] = _uniform(rng, bound, (out_c, in_c, 5, 5))
        data[f"w5.{name}.bias"] = _uniform(rng, bound, (1, out_c, 1, 1))
    for name, (out_f, in_f) in (("fc1", (120, 256)), ("fc2", (10, 120))):
        bound = 1 / np.sqrt(in_f)
        data[f"w5.{name}.weight"] = _uniform(rng, bound, (out_f, in_f))
        data[f"w5.{name}.bias"] = _uniform(rng, bound, (out_f,))
    return data


def state_dict(data: dict[str, np.ndarray], workload: str) -> dict[str, np.ndarray]:
    """Initial weights of W3/W5 under MegEngine's state_dict names (e.g. 'fc1.weight'), copied."""
    prefix = data_prefix(workload)
    return {
        key[len(prefix) :]: value.copy()
        for key, value in data.items()
        if key.startswith(prefix) and key.endswith((".weight", ".bias"))
    }
