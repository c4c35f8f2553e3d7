"""Data-parallel runs: this process's rank, and the few collectives the trainer needs.

One process (no MPI launcher) is `SOLO`: every method returns its input and nothing imports
MPI. Under mpirun (`mgectl train CONFIG --nproc N`, or `mpirun -n N python -m mpi4py -m
mgectl train CONFIG`) `join()` starts engine.distributed; each rank then trains on its share
of every global batch of `train.batch_size` samples and the ranks average their gradients.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from mgectl.errors import UserError

T = TypeVar("T")


class QuietExitError(UserError):
    """A rank other than 0 ends without a word; rank 0 prints the reason.

    Exit code 0 where rank 0 fails the same way (it then sets the job's status, and the
    job is not aborted before rank 0 has written its checkpoint and message); else the
    error's code, which makes mpirun end the whole job.
    """

    def __init__(self, exit_code: int) -> None:
        super().__init__("", None)
        self.exit_code = exit_code

    def lines(self) -> list[str]:
        """Nothing to print."""
        return []


class RankError(UserError):
    """Another rank's user error, reported by rank 0 with the rank's number in front."""

    def __init__(self, rank: int, report: dict[str, Any]) -> None:
        super().__init__(report["lines"][0], report["hint"])
        self.exit_code, self.label = report["exit_code"], report["label"]
        self._lines = [f"rank {rank}: {line}" for line in report["lines"]]

    def lines(self) -> list[str]:
        """The other rank's lines."""
        return list(self._lines)


def local_batch_size(batch_size: int | str, world_size: int) -> int | str:
    """This rank's share of the global train.batch_size; a UserError when it does not divide."""
    if batch_size == "full" or world_size == 1:
        return batch_size
    if int(batch_size) % world_size:
        lower = int(batch_size) // world_size * world_size
        options = " or ".join(str(b) for b in (lower, lower + world_size) if b > 0)
        raise UserError(
            f"train.batch_size: {batch_size} is the global batch size and must split evenly "
            f"among {world_size} processes",
            hint=f"use a multiple of {world_size}, e.g. --set train.batch_size={options}",
        )
    return int(batch_size) // world_size


@dataclass(frozen=True)
class World:
    """The processes training together; `comm` is None for a single process."""

    rank: int = 0
    size: int = 1
    comm: Any = None
    backend: str = "local"

    @property
    def is_main(self) -> bool:
        """Whether this process prints and writes the run directory (rank 0)."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        """Whether there is more than one process."""
        return self.size > 1

    def describe(self) -> str:
        """', 2 processes (mpi)' for the header; empty for one process."""
        return f", {self.size} processes ({self.backend})" if self.distributed else ""

    def sum(self, values: Sequence[float]) -> list[float]:
        """Element-wise sums over the ranks, in float64 (the values themselves for one process)."""
        if not self.distributed:
            return [float(v) for v in values]
        from engine.core.device import CPU

        total = self.comm.allreduce(CPU, np.asarray(values, dtype=np.float64), "sum")
        return [float(v) for v in total]

    def bcast(self, obj: T) -> T:
        """Rank 0's picklable object, on every rank."""
        return self.comm.bcast_object(obj, root=0) if self.distributed else obj

    def agreed(self, work: Callable[[], T]) -> T:
        """Run WORK on every rank; when any rank raises a UserError, every rank raises.

        Rank 0 raises its own error (or the first failing rank's, naming it); the others
        exit quietly with the same code, so the user reads the reason once.
        """
        if not self.distributed:
            return work()
        try:
            result, error = work(), None
        except UserError as failure:
            result, error = None, failure
        report = None
        if error is not None:
            lines = error.lines() or [error.message]
            report = {"lines": lines, "hint": error.hint, "exit_code": error.exit_code}
            report["label"] = error.label
        reports = self.comm.allgather_object(report)
        failed = [(rank, found) for rank, found in enumerate(reports) if found is not None]
        if not failed:
            return result  # type: ignore[return-value]
        rank, first = failed[0]
        if not self.is_main:
            raise QuietExitError(0)  # rank 0 reports it and sets the job's exit status
        if error is not None:
            raise error
        raise RankError(rank, first)

    def broadcast_state(self, model: Any) -> None:
        """Give every rank rank 0's parameters and buffers (after building and restoring)."""
        if self.distributed:
            import engine.distributed as dist

            dist.bcast_list_(list(model.tensors()))

    def split_random(self) -> None:
        """Give each rank but 0 its own engine.random stream, so Dropout masks differ by rank.

        Derived from the stream every rank shares after seeding (and after a resume), so runs
        stay reproducible; rank 0's stream, the one checkpoints keep, is left as it is.
        """
        if self.distributed and not self.is_main:
            import engine.random

            engine.random.seed(int(engine.random.get_rng().integers(2**62)) + self.rank)

    def average_buffers(self, model: Any) -> None:
        """Average floating-point buffers (BatchNorm running statistics) over the ranks."""
        if not self.distributed:
            return
        import engine.functional as F

        for buffer in model.buffers():
            if buffer.dtype.kind == "f":
                buffer[...] = F.distributed.all_reduce_sum(buffer) / self.size

    def allreduce_callbacks(self) -> list[Any]:
        """GradManager callbacks: average the gradients over the ranks (none for one process)."""
        if not self.distributed:
            return []
        import engine.distributed as dist

        return [dist.make_allreduce_cb("mean")]


SOLO = World()


def launched_size() -> int:
    """How many processes an MPI launcher started (1 without one); imports no MPI."""
    from engine.distributed.group import launched_world

    world = launched_world()
    return world[1] if world is not None else 1


def join(device_name: str) -> tuple[World, str]:
    """This process's World and the device it trains on: under mpirun, one GPU per rank.

    Without a launcher (or with one process) this is SOLO and DEVICE_NAME, untouched. Under
    mpirun, `xpux`/`gpux` become GPU `local_rank % gpu_count` on GPU machines; a device name
    that does not exist here is reported once, by rank 0, after the ranks have met.
    """
    if launched_size() == 1:
        return SOLO, device_name
    import engine.distributed as dist
    from engine.core.device import get_default_device, set_default_device
    from mgectl.train.device import resolve_device

    problem: UserError | None = None
    try:
        resolve_device(device_name)
        set_default_device(device_name)
    except UserError as error:
        problem = error
        set_default_device("cpu0")  # meet the other ranks on the CPU, then report it
    if dist.get_backend() is None:
        dist.init_process_group()
    world = World(dist.get_rank(), dist.get_world_size(), dist.WORLD.comm, dist.get_backend())

    def check() -> None:
        if problem is not None:
            raise problem

    world.agreed(check)
    return world, get_default_device()


def launch_ranks(nproc: int, batch_size: int | str, argv: list[str]) -> int | None:
    """Run `python -m mgectl ARGV` on NPROC local ranks through mpirun and return its status.

    None means "train in this process": one process, or already a rank of an MPI job.
    """
    size = launched_size()
    if size > 1:
        if nproc not in (1, size):
            from engine.distributed import get_rank

            if get_rank() != 0:
                raise QuietExitError(0)  # rank 0 says it for all
            raise UserError(f"--nproc {nproc}, but mpirun started {size} processes")
        return None
    if nproc <= 1:
        return None
    local_batch_size(batch_size, nproc)  # refuse an uneven split before starting anything
    from engine.distributed.launcher import maybe_launch

    saved = dict(os.environ)
    # mpirun gives every rank a pseudo-terminal: tell rank 0 (through rich's own variables)
    # whether our output really is one, and how wide
    os.environ.setdefault("TTY_COMPATIBLE", "1" if sys.stdout.isatty() else "0")
    if sys.stdout.isatty():
        os.environ.setdefault("COLUMNS", str(shutil.get_terminal_size().columns))
    try:
        return maybe_launch(nproc, ["-m", "mgectl", *argv])
    except RuntimeError as error:  # no mpi4py, no mpirun
        raise UserError(str(error), hint="or train in one process: leave out --nproc") from None
    finally:
        os.environ.clear()
        os.environ.update(saved)


def rank_console() -> Any:
    """Rank 0's console: a terminal only when TTY_COMPATIBLE=1 (as --nproc sets it on one).

    mpirun hands every rank a pseudo-terminal whatever the user's output is, so isatty()
    says nothing; without the variable (a bare mpirun) the output is plain text.
    """
    from rich.console import Console

    return Console(highlight=False, force_terminal=os.environ.get("TTY_COMPATIBLE") == "1")
