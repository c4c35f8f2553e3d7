"""engine.distributed (import as dist): data-parallel training, MegEngine's API over MPI and NCCL.

    import engine.distributed as dist
    dist.init_process_group()                    # picks up mpirun's world; 1 process without it
    dist.bcast_list_(params)                     # every rank starts from rank 0's weights
    gm = GradManager().attach(params, callbacks=[dist.make_allreduce_cb("mean")])
    sampler = dist.DistributedSampler(dataset, batch_size=b)   # rank's share of each batch

Launch with `mpirun -n N python -m mpi4py train.py` (or `python -m engine.distributed.launcher
-n N train.py`). With one process nothing here imports MPI. See README.md beside this file.
"""

import importlib
from typing import Any

from .group import (
    WORLD,
    Group,
    get_backend,
    get_local_rank,
    get_rank,
    get_world_size,
    group_barrier,
    init_process_group,
    is_distributed,
    is_main_process,
    launched_world,
)
from .helper import AllreduceCallback, bcast_list_, make_allreduce_cb
from .sampler import DistributedSampler

__all__ = [
    "WORLD",
    "AllreduceCallback",
    "DistributedSampler",
    "Group",
    "bcast_list_",
    "get_backend",
    "get_local_rank",
    "get_rank",
    "get_world_size",
    "group_barrier",
    "init_process_group",
    "is_distributed",
    "is_main_process",
    "launched_world",
    "launcher",
    "make_allreduce_cb",
]


def __getattr__(name: str) -> Any:
    # `dist.launcher` without importing it here: `python -m engine.distributed.launcher`
    # would otherwise find the module already imported and warn
    if name == "launcher":
        return importlib.import_module(f"{__name__}.launcher")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
