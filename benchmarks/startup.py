"""Start-up workload: wall time of fresh processes (`import engine`, `mgectl --help`, ...)."""

from __future__ import annotations

import importlib.util
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.spec import unit_for

# row label -> what it runs; "python" (an empty interpreter) is always measured, for context
ROWS = ("python", "numpy", "engine", "mgectl", "torch")


def mgectl_command() -> list[str]:
    """The installed `mgectl` script (next to this Python first), else `python -m mgectl`."""
    search = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    script = shutil.which("mgectl", path=search)
    return [script] if script else [sys.executable, "-m", "mgectl"]


def commands(frameworks: list[str]) -> dict[str, list[str]]:
    """The command of each start-up row that `frameworks` asks for."""
    wanted = {"python", *frameworks}
    if "engine" in frameworks:
        wanted.add("mgectl")
    table = {
        "python": [sys.executable, "-c", "pass"],
        "numpy": [sys.executable, "-c", "import numpy"],
        "engine": [sys.executable, "-c", "import engine"],
        "mgectl": [*mgectl_command(), "--help"],
        "torch": [sys.executable, "-c", "import torch"],
    }
    return {row: table[row] for row in ROWS if row in wanted}


def _run_once(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[float, str | None]:
    """Seconds one run took, and an error description when it failed."""
    start = time.perf_counter()
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or [""])[-1]
        return elapsed, f"`{' '.join(argv)}` exited {proc.returncode}: {tail}"
    return elapsed, None


def measure(
    row: str, argv: list[str], runs: int, env: dict[str, str], cwd: Path, warm_up: bool
) -> dict[str, Any]:
    """Time `runs` fresh runs of `argv` (after one untimed run when `warm_up`), worker-style."""
    result: dict[str, Any] = {
        "workload": "startup",
        "framework": row,
        "command": " ".join(Path(argv[0]).name if i == 0 else a for i, a in enumerate(argv)),
    }
    if row == "torch" and importlib.util.find_spec("torch") is None:
        return {**result, "status": "skipped", "message": "torch is not installed"}
    times = []
    for i in range(runs + int(warm_up)):
        elapsed, error = _run_once(argv, env, cwd)
        if error is not None:
            return {**result, "status": "ERROR", "message": error}
        if i >= int(warm_up):
            times.append(elapsed)
    unit, scale = unit_for("startup")
    median = statistics.median(times)
    return {
        **result,
        "status": "ok",
        "message": "",
        "unit": unit,
        "median": median * scale,
        "min": min(times) * scale,
        "max": max(times) * scale,
        "steps": len(times),
        "throughput": 0.0,
        "throughput_unit": "",
    }
