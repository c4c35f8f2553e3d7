"""The process group: who this process is (rank), how many there are, and how they talk.

MPI does the rendezvous: processes started by `mpirun -n N` already know each other, so
`init_process_group()` needs no address. Without a launcher (or with `-n 1`) the world
is this one process and every collective is a local copy; mpi4py is not even imported.
"""

from __future__ import annotations

import os
import socket
import sys
from typing import Any

from ..core.device import get_default_device, is_cuda_available, set_default_device
from .comm import Communicator, LocalCommunicator

# (rank, size, local rank) variables of the launchers we know: Open MPI, MPICH/Intel MPI
# (Hydra), MVAPICH. Reading them lets get_rank() answer before, or without, MPI_Init.
_LAUNCHER_ENV = (
    ("OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK"),
    ("PMI_RANK", "PMI_SIZE", "MPI_LOCALRANKID"),
    ("MV2_COMM_WORLD_RANK", "MV2_COMM_WORLD_SIZE", "MV2_COMM_WORLD_LOCAL_RANK"),
)

BACKENDS = ("mpi", "nccl")


def launched_world() -> tuple[int, int, int] | None:
    """(rank, size, local_rank) from an MPI launcher's environment, or None when not launched."""
    for rank_key, size_key, local_key in _LAUNCHER_ENV:
        if rank_key in os.environ and size_key in os.environ:
            rank, size = int(os.environ[rank_key]), int(os.environ[size_key])
            return rank, size, int(os.environ.get(local_key, rank))
    return None


class Group:
    """A set of communicating processes; `WORLD` is all of them (created on first use)."""

    def __init__(self, comm: Communicator | None = None) -> None:
        self._comm = comm

    @property
    def comm(self) -> Communicator:
        """The communicator (WORLD's is created by init_process_group on first use)."""
        return self._comm if self._comm is not None else _world()

    @property
    def rank(self) -> int:
        """This process's number in the group."""
        return self.comm.rank

    @property
    def size(self) -> int:
        """Number of processes in the group."""
        return self.comm.size

    def __repr__(self) -> str:
        if self._comm is None and _state["comm"] is None:
            return "Group(WORLD, not initialized)"
        return f"Group(rank={self.rank}, size={self.size}, backend={self.comm.name})"


WORLD = Group()

_state: dict[str, Any] = {"comm": None, "backend": None, "local_rank": 0}


def init_process_group(
    master_ip: str | None = None,
    port: int | None = None,
    world_size: int | None = None,
    rank: int | None = None,
    device: int | str | None = None,
    backend: str | None = None,
    device_type: str = "xpu",
) -> None:
    """Join the process group MPI started this process in (MegEngine's signature).

    `master_ip`/`port` are accepted for MegEngine compatibility and unused: MPI does the
    rendezvous. `world_size`/`rank`, when given, are checked against the launcher's.
    `device` (a GPU index or a device name) becomes this process's default device; on a
    GPU machine without it each rank takes GPU `local_rank % gpu_count`. `backend` is
    "nccl" (GPU tensors over NCCL), "mpi" (host memory; GPU tensors staged through the
    host) or None: NCCL when every rank has a GPU of its own and NCCL works, else MPI.
    """
    del master_ip, port  # MPI's launcher already connected the processes
    if _state["comm"] is not None:
        raise RuntimeError("init_process_group() was already called in this process")
    if backend is not None and backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}: use one of {', '.join(BACKENDS)}")
    env = launched_world()
    env_size = env[1] if env is not None else 1
    if world_size is not None and world_size != env_size:
        if env is None:
            raise RuntimeError(
                f"init_process_group(world_size={world_size}) but this process was not started "
                f"by an MPI launcher: run `mpirun -n {world_size} python -m mpi4py SCRIPT` "
                "(engine.distributed connects processes through MPI, not master_ip/port)"
            )
        raise RuntimeError(f"world_size={world_size} but the launcher started {env_size}")
    if env_size == 1:
        comm: Communicator = LocalCommunicator()
        local_rank = 0
    else:
        from .mpi_backend import MPICommunicator  # the only place mpi4py gets imported

        comm = MPICommunicator()
        local_rank = env[2] if env is not None else comm.rank
        _abort_job_on_error(comm)
    if rank is not None and rank != comm.rank:
        raise RuntimeError(f"rank={rank} but MPI made this process rank {comm.rank}")
    _select_device(device, device_type, local_rank, comm.size)
    if comm.size == 1:
        chosen = backend or "local"
    else:
        chosen = _choose_backend(backend, comm)
        if chosen == "nccl":
            from .nccl_backend import NCCLCommunicator

            comm = NCCLCommunicator(comm, _gpu_index())
    _state.update(comm=comm, backend=chosen, local_rank=local_rank)


def _abort_job_on_error(comm: Any) -> None:
    """Make an uncaught exception name its rank and end the whole job, not leave peers waiting.

    `python -m mpi4py` aborts too, but only after the traceback; this also covers scripts
    started without it, whose failing rank would otherwise sit in MPI_Finalize forever.
    """
    previous = sys.excepthook
    rank, size = comm.rank, comm.size

    def hook(kind: type, value: BaseException, tb: Any) -> None:
        sys.stderr.write(f"engine.distributed: rank {rank} of {size} failed, ending the job\n")
        previous(kind, value, tb)
        sys.stderr.flush()
        comm.abort(1)

    sys.excepthook = hook


def _select_device(device: int | str | None, device_type: str, local_rank: int, size: int) -> None:
    """Make the rank's device the default: the one asked for, or GPU local_rank on GPU hosts."""
    if device is not None:
        set_default_device(device if isinstance(device, str) else f"{device_type}{int(device)}")
    elif size > 1 and is_cuda_available() and get_default_device() in ("xpux", "gpux"):
        import cupy

        count = cupy.cuda.runtime.getDeviceCount()
        set_default_device(f"gpu{local_rank % count}")
        cupy.cuda.Device(local_rank % count).use()


def _gpu_index() -> int | None:
    """The GPU index of the default device, or None when it is not a GPU."""
    from ..core.device import as_device

    dev = as_device(get_default_device())
    return dev.index if dev.backend.is_gpu else None


def _nccl_problem() -> tuple[str | None, int | None]:
    """Why this rank cannot use NCCL (None if it can), and its GPU index."""
    index = _gpu_index()
    if index is None:
        return f"the default device {get_default_device()!r} is not a GPU", None
    try:
        from . import nccl_backend
    except ImportError:
        return "CuPy with NCCL is not installed", index
    return (None if nccl_backend.is_available() else "CuPy has no NCCL"), index


def _choose_backend(requested: str | None, comm: Communicator) -> str:
    """NCCL when every rank has a GPU of its own and NCCL works, else MPI (host staging)."""
    if requested == "mpi":
        return "mpi"
    problem, index = _nccl_problem()
    # every rank takes part and sees every answer, so all ranks choose the same backend
    answers = comm.allgather_object((problem, socket.gethostname(), index))
    reasons = [f"rank {r}: {p}" for r, (p, _, _) in enumerate(answers) if p is not None]
    places = [(host, gpu) for _, host, gpu in answers]
    shared = [r for r, p in enumerate(places) if p[1] is not None and places.index(p) != r]
    if shared:
        reasons.append(f"ranks {shared} share a GPU with a lower rank (NCCL needs one each)")
    if reasons and requested == "nccl":
        raise RuntimeError(f'backend="nccl" cannot run: {"; ".join(reasons)}; use backend="mpi"')
    return "mpi" if reasons else "nccl"


def _world() -> Communicator:
    """The world communicator, creating it from the launcher's environment on first use."""
    if _state["comm"] is None:
        init_process_group()
    return _state["comm"]


def is_distributed() -> bool:
    """Whether this process is one of several (initialising the group if needed)."""
    return get_world_size() > 1


def get_rank() -> int:
    """This process's rank: from the group, or from the launcher's environment before init."""
    if _state["comm"] is not None:
        return _state["comm"].rank
    env = launched_world()
    return env[0] if env is not None else 0


def get_world_size() -> int:
    """Number of processes: from the group, or from the launcher's environment before init."""
    if _state["comm"] is not None:
        return _state["comm"].size
    env = launched_world()
    return env[1] if env is not None else 1


def get_local_rank() -> int:
    """This process's index among the processes on its machine."""
    if _state["comm"] is not None:
        return _state["local_rank"]
    env = launched_world()
    return env[2] if env is not None else 0


def is_main_process() -> bool:
    """Whether this is rank 0, the one process that prints and writes files."""
    return get_rank() == 0


def get_backend() -> str | None:
    """The backend init_process_group chose: "nccl", "mpi", "local" (one process), or None."""
    return _state["backend"]


def group_barrier(group: Group = WORLD) -> None:
    """Block until every process of `group` has called group_barrier."""
    group.comm.barrier()
