"""One (workload, framework) measurement in a fresh process: check, warm up, time, print JSON.

Usage: python -m benchmarks.worker WORKLOAD FRAMEWORK --data FILE [--threads N] [--quick]
[--device cpu0|gpu0]. The last line on stdout is one JSON object (see `measure`).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import resource
import statistics
import sys
import time
import traceback
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from benchmarks.bundle import load_bundle
from benchmarks.case import Case, UnavailableError, Values, compare
from benchmarks.spec import DEVICES, FRAMEWORKS, TIMED_WORKLOADS, plan_for, throughput, unit_for

OK, FAILED, ERROR, SKIPPED = "ok", "FAILED", "ERROR", "skipped"


def load_impl(framework: str, threads: int) -> ModuleType:
    """Import benchmarks.impl_<framework> and pin its threads; UnavailableError if it can't load."""
    module = importlib.import_module(f"benchmarks.impl_{framework}")
    setup = getattr(module, "setup", None)
    if setup is not None:
        setup(threads)
    return module


def peak_rss_mib() -> float:
    """This process's peak resident set size in MiB.

    Linux carries ru_maxrss across exec, so a child started by a big parent reports the
    parent's peak; /proc/self/status's VmHWM belongs to this program alone and is preferred.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 2**10
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


def time_case(case: Case, workload: str, quick: bool) -> list[float]:
    """Warm up, then time steps (seconds per op) until the plan's repeats or time cap is reached."""
    plan = plan_for(workload, quick)
    for _ in range(plan.warmup):
        case.step()
        case.sync()
    times: list[float] = []
    deadline = time.perf_counter() + plan.max_seconds
    while len(times) < plan.repeats and (
        len(times) < plan.min_repeats or time.perf_counter() < deadline
    ):
        start = time.perf_counter()
        case.step()
        case.sync()
        times.append((time.perf_counter() - start) / plan.ops_per_step)
    return times


def check_case(
    impl: ModuleType, workload: str, data: dict, ref: Values, device: str, quick: bool
) -> str | None:
    """Build a fresh case, probe it and compare with the reference: None, or the mismatch."""
    got = impl.build(workload, data, device, quick).probe()
    return compare(got, ref)


def summarise(workload: str, data: dict[str, np.ndarray], times: list[float]) -> dict[str, Any]:
    """Median/min/max in the workload's display unit, plus throughput at the median."""
    unit, scale = unit_for(workload)
    median = statistics.median(times)
    rate, rate_unit = throughput(workload, data, median)
    return {
        "unit": unit,
        "median": median * scale,
        "min": min(times) * scale,
        "max": max(times) * scale,
        "steps": len(times),
        "throughput": rate,
        "throughput_unit": rate_unit,
    }


def measure(
    workload: str, framework: str, data_path: Path, device: str, quick: bool, threads: int
) -> dict[str, Any]:
    """Check then time one workload in one framework; always returns a result dict."""
    result: dict[str, Any] = {
        "workload": workload,
        "framework": framework,
        "device": device,
        "threads": threads,
        "status": ERROR,
        "message": "",
    }
    stage = "import"
    try:
        impl = load_impl(framework, threads)
        result["version"] = impl.version() if hasattr(impl, "version") else np.__version__
        data, ref = load_bundle(data_path, workload)
        if not ref:
            raise ValueError(f"{data_path} holds no reference values for {workload}")
        stage = "correctness check"
        mismatch = check_case(impl, workload, data, ref, device, quick)
        if mismatch is not None:
            result.update(status=FAILED, message=f"loss/values differ from NumPy: {mismatch}")
            return result
        stage = "timing"
        case = impl.build(workload, data, device, quick)
        result.update(summarise(workload, data, time_case(case, workload, quick)))
        result["status"] = OK
    except UnavailableError as exc:
        result.update(status=SKIPPED, message=str(exc))
    except Exception as exc:  # report, never crash: the parent keeps going
        traceback.print_exc()
        result["message"] = f"{stage} raised {type(exc).__name__}: {exc}"
    finally:
        result["peak_rss_mib"] = peak_rss_mib()
    return result


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, measure, print one JSON line."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.worker", description=__doc__)
    parser.add_argument("workload", choices=TIMED_WORKLOADS)
    parser.add_argument("framework", choices=FRAMEWORKS)
    parser.add_argument("--data", type=Path, required=True, help=".npz written by the parent")
    parser.add_argument("--threads", type=int, default=int(os.environ.get("OMP_NUM_THREADS", 1)))
    parser.add_argument("--quick", action="store_true", help="tiny repeat counts")
    parser.add_argument("--device", choices=DEVICES, default="cpu0")
    args = parser.parse_args(argv)
    result = measure(
        args.workload, args.framework, args.data, args.device, args.quick, args.threads
    )
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
