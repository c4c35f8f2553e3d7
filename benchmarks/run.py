"""Run the benchmark suite: `python -m benchmarks` or `python benchmarks/run.py` (see README)."""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if __package__ in (None, ""):  # run as a script: import the package from the repo root
    sys.path[0] = str(REPO)

import argparse  # noqa: E402
import datetime  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
from typing import Any  # noqa: E402

from benchmarks import report, startup  # noqa: E402
from benchmarks.bundle import write_bundle  # noqa: E402
from benchmarks.spec import (  # noqa: E402
    DEVICES,
    FRAMEWORKS,
    FULL,
    GPU_WORKLOADS,
    QUICK_STARTUP_RUNS,
    SMALL,
    STARTUP_RUNS,
    TIMED_WORKLOADS,
    WORKLOADS,
    expand_workloads,
    make_data,
)

THREAD_VARS = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Benchmark the engine against hand-written NumPy and PyTorch.",
    )
    parser.add_argument(
        "--workloads",
        default=",".join(WORKLOADS),
        help="comma-separated: W1,W2 (= W2a,W2b),W3,W4,W5,startup (default: all)",
    )
    parser.add_argument(
        "--frameworks", default=",".join(FRAMEWORKS), help="comma-separated: engine,numpy,torch"
    )
    parser.add_argument("--rounds", type=int, default=5, help="fresh processes per pair (5)")
    parser.add_argument("--threads", type=int, default=2, help="BLAS/OpenMP/torch threads (2)")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    parser.add_argument("--quick", action="store_true", help="tiny repeat counts (smoke test)")
    parser.add_argument("--small", action="store_true", help="tiny problem sizes (tests only)")
    parser.add_argument("--device", choices=DEVICES, default="cpu0", help="gpu0: W3-W5 on CUDA")
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra environment for every child, e.g. MALLOC_MMAP_THRESHOLD_=33554432",
    )
    args = parser.parse_args(argv)
    try:
        args.workloads = expand_workloads(args.workloads)
    except ValueError as exc:
        parser.error(str(exc))
    args.frameworks = [f.strip() for f in args.frameworks.split(",") if f.strip()]
    unknown = sorted(set(args.frameworks) - set(FRAMEWORKS))
    if unknown or not args.frameworks:
        parser.error(f"unknown frameworks {unknown}; choose from {', '.join(FRAMEWORKS)}")
    if any("=" not in item for item in args.env):
        parser.error("--env takes KEY=VALUE")
    args.env = dict(item.split("=", 1) for item in args.env)
    if args.rounds < 1 or args.threads < 1:
        parser.error("--rounds and --threads must be at least 1")
    if args.device != "cpu0":
        dropped = [w for w in args.workloads if w not in GPU_WORKLOADS]
        if dropped:
            note(f"--device {args.device}: {', '.join(dropped)} run on the CPU only; left out")
        args.workloads = [w for w in args.workloads if w in GPU_WORKLOADS]
    if not args.workloads:
        parser.error("no workloads left to run")
    return args


def note(message: str) -> None:
    """Progress and notes go to stderr; stdout gets the final table."""
    print(message, file=sys.stderr, flush=True)


def child_env(threads: int, device: str, extra: dict[str, str]) -> dict[str, str]:
    """The environment of every child: threads pinned, repo importable, no TF32 on the GPU."""
    env = {**os.environ, **extra}
    env.update({name: str(threads) for name in THREAD_VARS})
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    if device == "gpu0":
        env["NVIDIA_TF32_OVERRIDE"] = "0"
    return env


def run_worker(
    workload: str, framework: str, bundle: Path, args: argparse.Namespace, env: dict[str, str]
) -> dict[str, Any]:
    """Run one worker process and return its JSON result (an ERROR result if it gave none)."""
    argv = [sys.executable, "-m", "benchmarks.worker", workload, framework, "--data", str(bundle)]
    argv += ["--threads", str(args.threads), "--device", args.device]
    argv += ["--quick"] if args.quick else []
    base = {"workload": workload, "framework": framework, "status": "ERROR"}
    try:
        timeout = 300 if args.quick else 1800
        proc = subprocess.run(
            argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return {**base, "message": "worker timed out"}
    for line in reversed(proc.stdout.strip().splitlines()):
        if line.startswith("{"):
            try:
                return json.loads(line)
            except json.JSONDecodeError:
                break
    tail = " | ".join(proc.stderr.strip().splitlines()[-3:])
    return {**base, "message": f"worker exited {proc.returncode} without a result: {tail}"}


def describe(result: dict[str, Any]) -> str:
    """One progress line for a result."""
    head = f"{result['workload']:<8}{result['framework']:<8}"
    if result["status"] == "ok":
        return f"{head}{result['median']:.4g} {result['unit']}"
    return f"{head}{result['status']}: {result.get('message', '')}"


def metadata(args: argparse.Namespace, runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Context printed above the table and stored in results.json."""
    versions = {f"{r['framework']} version": r["version"] for r in runs if r.get("version")}
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        commit = ""
    return {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "commit": commit or "none",
        "machine": f"{cpu}, {os.cpu_count()} logical CPUs, {platform.system()}",
        "python": platform.python_version(),
        **dict(sorted(versions.items())),
        "device": args.device,
        "threads": args.threads,
        "rounds": args.rounds,
        "extra environment": " ".join(f"{k}={v}" for k, v in args.env.items()) or "none",
        "mode": ", ".join(
            [*(["quick"] if args.quick else []), "small sizes" if args.small else "full sizes"]
        ),
    }


def main(argv: list[str] | None = None) -> int:
    """Generate the data once, run every pair round by round, write the report."""
    args = parse_args(argv)
    env = child_env(args.threads, args.device, args.env)
    timed = [w for w in args.workloads if w in TIMED_WORKLOADS]
    runs: list[dict[str, Any]] = []
    finished: set[tuple[str, str]] = set()  # pairs that failed or were skipped: not rerun
    with tempfile.TemporaryDirectory(prefix="mge-bench-") as tmp:
        bundle = Path(tmp) / "data.npz"
        if timed:
            note("generating data and NumPy reference values ...")
            write_bundle(bundle, make_data(SMALL if args.small else FULL), timed)
        for round_index in range(args.rounds):
            note(f"round {round_index + 1}/{args.rounds}")
            # rotate the order each round so no framework always runs first
            shift = round_index % len(args.frameworks)
            order = args.frameworks[shift:] + args.frameworks[:shift]
            jobs = [(w, f) for w in timed for f in order if (w, f) not in finished]
            for workload, framework in jobs:
                result = run_worker(workload, framework, bundle, args, env)
                runs.append({**result, "round": round_index})
                note("  " + describe(result))
                if result["status"] != "ok":
                    finished.add((workload, framework))
            if "startup" in args.workloads:
                for row, command in startup.commands(order).items():
                    if ("startup", row) in finished:
                        continue
                    count = QUICK_STARTUP_RUNS if args.quick else STARTUP_RUNS
                    result = startup.measure(row, command, count, env, REPO, round_index == 0)
                    runs.append({**result, "round": round_index})
                    note("  " + describe(result))
                    if result["status"] != "ok":
                        finished.add(("startup", row))
    rows = report.aggregate(runs)
    text = report.write(args.out, rows, runs, metadata(args, runs))
    print(text)
    note(f"wrote {args.out / 'results.md'} and {args.out / 'results.json'}")
    return 1 if any(row["status"] == "FAILED" for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
