"""Data-parallel helpers: start every rank from rank 0's weights, and average gradients.

How the bucketed allreduce works with per-tensor callbacks
---------------------------------------------------------
`GradManager` calls `callback(tensor, grad)` once per attached tensor, as its gradient
becomes final, and stores whatever the callback returns. Sending one message per tensor
wastes latency, so `AllreduceCallback` packs gradients into buckets (up to 10 MiB of one
dtype on one device, as MegEngine does) and reduces each bucket with one allreduce:

1. Plan. At the first call of a backward pass the callback finds the GradManager that is
   calling it (the tensor's leaf node lists the recording managers) and takes every
   tensor attached to it *with this callback*, in attach order (the order in which the
   manager hands gradients over). Consecutive tensors of one dtype and device fill a
   bucket until it reaches `bucket_bytes`. All ranks attach the same parameters in the
   same order, so all ranks make the same plan; the first plan is checked across ranks.
2. Collect. Each gradient is copied into its slot of a fresh flat buffer for its bucket,
   and the callback returns a view of that slot. The manager stores the view as the
   tensor's `.grad`, still holding the local gradient.
3. Reduce. The call that completes a bucket allreduces the flat buffer *in place* (one
   message for the whole bucket) and divides by the world size for "mean". Every view
   handed out for that bucket now holds the reduced gradient: nothing is copied back.
   Where a tensor already had a `.grad` (gradient accumulation), the manager had stored
   `old + local` instead of the view; the callback replaces it with `old + reduced`.

Consequences: every tensor attached with the callback must receive a gradient in every
backward pass (parameters the loss does not use must be attached without it), or its
bucket never completes; the next backward pass reports which tensors were missing. And
the allreduce callback must be the last callback of its tensors: callbacks after it see
the local gradient of a bucket that is not complete yet.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..core.device import Backend
from ..core.tape import RECORDING
from ..tensor import Tensor
from .group import WORLD, Group

DEFAULT_BUCKET_BYTES = 10 * 1024 * 1024  # MegEngine's pack threshold


def _flat(backend: Backend, arrays: Sequence[Any]) -> Any:
    """One contiguous 1-D array holding `arrays` back to back."""
    return backend.xp.concatenate([a.reshape(-1) for a in arrays])


def _places(tensors: Sequence[Tensor]) -> list[list[Tensor]]:
    """Tensors grouped by (device, dtype), groups in order of first appearance."""
    groups: dict[tuple, list[Tensor]] = {}
    for t in tensors:
        groups.setdefault((t.device.physical, t.dtype.str), []).append(t)
    return list(groups.values())


def bcast_list_(inps: Sequence[Tensor], group: Group = WORLD) -> None:
    """Overwrite every tensor, in place, with rank 0's value (one broadcast per dtype/device)."""
    comm = group.comm
    if comm.size == 1:
        return
    for tensors in _places(list(inps)):
        backend = tensors[0].device.backend
        flat = comm.broadcast(backend, _flat(backend, [t._data for t in tensors]), root=0)
        offset = 0
        for t in tensors:
            t._data[...] = flat[offset : offset + t.size].reshape(t.shape)
            offset += t.size


@dataclass
class _Bucket:
    """Tensors reduced together, and where each one's gradient sits in the flat buffer."""

    tensors: list[Tensor]
    # id(tensor) -> start in the flat buffer; keyed by id because Tensor == is elementwise
    offset_of: dict[int, int]
    total: int


@dataclass
class _Round:
    """One bucket's arrivals during the current backward pass."""

    buffer: Any
    views: dict[int, Tensor] = field(default_factory=dict)  # id(tensor) -> returned grad
    before: dict[int, Any] = field(default_factory=dict)  # id(tensor) -> old .grad's array


class AllreduceCallback:
    """GradManager callback that sums or averages gradients over ranks, one allreduce per bucket.

    Use as `GradManager().attach(params, callbacks=[make_allreduce_cb("mean")])`; see the
    module docstring for how buckets are formed and the two rules that follow from it.
    """

    def __init__(
        self,
        reduce_method: str,
        group: Group = WORLD,
        backend: str | None = None,
        bucket_bytes: int = DEFAULT_BUCKET_BYTES,
    ) -> None:
        reduce_method = reduce_method.lower()
        if reduce_method not in ("sum", "mean"):
            raise ValueError(f"reduce_method must be 'sum' or 'mean', got {reduce_method!r}")
        if bucket_bytes < 1:
            raise ValueError(f"bucket_bytes must be positive, got {bucket_bytes}")
        self._method = reduce_method
        self._group = group
        self._backend = backend
        self._bucket_bytes = int(bucket_bytes)
        self._plan_key: tuple | None = None
        self._buckets: list[_Bucket] = []
        self._bucket_of: dict[int, int] = {}
        self._rounds: dict[int, _Round] = {}
        self._epoch: int | None = None
        self.allreduce_calls = 0  # for tests and benchmarks: messages actually sent

    @property
    def buckets(self) -> list[list[Tensor]]:
        """The current plan: the tensors of each bucket, in reduction order."""
        return [list(b.tensors) for b in self._buckets]

    def __call__(self, tensor: Tensor, grad: Tensor) -> Tensor:
        """Hand back a view of grad's bucket slot; the bucket's last arrival reduces it."""
        comm = self._group.comm
        if comm.size == 1:
            return grad
        if self._backend is not None and self._backend != comm.name:
            raise ValueError(
                f"make_allreduce_cb(backend={self._backend!r}) but the group uses {comm.name!r}"
            )
        self._check_previous_round()
        if not self._rounds:
            self._update_plan(tensor, comm)
        index = self._bucket_of.get(id(tensor))
        if index is None:
            raise RuntimeError(
                f"allreduce callback got the gradient of a {tensor.shape} tensor it did not plan "
                "for: attach tensors before the backward pass that uses them"
            )
        bucket = self._buckets[index]
        state = self._rounds.get(index)
        if state is None:
            xp = tensor.device.xp
            state = self._rounds[index] = _Round(xp.empty(bucket.total, dtype=tensor.dtype))
        if id(tensor) in state.views:
            raise RuntimeError(
                f"allreduce callback got a second gradient for a {tensor.shape} tensor before its "
                "bucket was reduced: some tensor of the bucket got no gradient in a backward pass"
            )
        start = bucket.offset_of[id(tensor)]
        view = state.buffer[start : start + tensor.size].reshape(tensor.shape)
        view[...] = grad._data
        out = Tensor._wrap(view, tensor.device)
        state.views[id(tensor)] = out
        state.before[id(tensor)] = None if tensor.grad is None else tensor.grad._data
        if len(state.views) == len(bucket.tensors):
            self._reduce(comm, bucket, state, tensor)
            del self._rounds[index]
        return out

    # ---- reduction -----------------------------------------------------------------------
    def _reduce(self, comm: Any, bucket: _Bucket, state: _Round, last: Tensor) -> None:
        backend = last.device.backend
        comm.allreduce(backend, state.buffer, "sum", inplace=True)
        self.allreduce_calls += 1
        if self._method == "mean":
            state.buffer /= comm.size
        for t in bucket.tensors:
            view = state.views[id(t)]
            if t is last or t.grad is view:
                continue  # the manager stores `last`'s grad after we return; views are reduced
            old = state.before[id(t)]
            if old is None or t.grad is None:
                t.grad = view
            else:
                # the manager accumulated old + local into a new array: redo it with the reduced
                # grad, in the same Tensor object as the manager does
                t.grad._data = old + view._data

    # ---- planning --------------------------------------------------------------------------
    def _check_previous_round(self) -> None:
        """Fail loudly if the last backward pass left a bucket waiting for a gradient."""
        epoch = RECORDING.epoch
        if self._epoch != epoch and self._rounds:
            missing = [
                str(t.shape)
                for i, state in self._rounds.items()
                for t in self._buckets[i].tensors
                if id(t) not in state.views
            ]
            self._rounds.clear()
            raise RuntimeError(
                "allreduce callback: the previous backward pass gave no gradient to tensors of "
                f"shape {', '.join(missing)}, so their buckets were never reduced and the ranks "
                "have diverged; attach tensors the loss does not use without the callback"
            )
        self._epoch = epoch

    def _update_plan(self, tensor: Tensor, comm: Any) -> None:
        members = self._members(tensor)
        key = tuple((id(t), t.shape, t.dtype.str, t.device.physical) for t in members)
        if key == self._plan_key:
            return
        signature = [(t.shape, t.dtype.str) for t in members]
        if any(other != signature for other in comm.allgather_object(signature)):
            raise RuntimeError(
                "allreduce callback: ranks attached different tensors (shapes/dtypes differ "
                "between ranks); every rank must attach the same parameters in the same order"
            )
        self._plan_key = key
        self._buckets = self._make_buckets(members)
        self._bucket_of = {id(t): i for i, b in enumerate(self._buckets) for t in b.tensors}

    def _members(self, tensor: Tensor) -> list[Tensor]:
        """Every tensor attached with this callback to the GradManager now calling it."""
        node = tensor._node
        managers = node.leaf.managers if node is not None and node.leaf is not None else ()
        owners = [gm for gm in managers if self in gm.callbacks_of(tensor)]
        if len(owners) != 1:
            raise RuntimeError(
                "allreduce callback must be attached through exactly one recording GradManager "
                f"(found {len(owners)} for a {tensor.shape} tensor)"
            )
        owner = owners[0]
        return [t for t in owner.attached_tensors() if self in owner.callbacks_of(t)]

    def _make_buckets(self, tensors: list[Tensor]) -> list[_Bucket]:
        buckets: list[_Bucket] = []
        open_: dict[tuple, list[Tensor]] = {}
        sizes: dict[tuple, int] = {}

        def close(place: tuple) -> None:
            members = open_.pop(place)
            offset_of, total = {}, 0
            for t in members:
                offset_of[id(t)] = total
                total += t.size
            buckets.append(_Bucket(members, offset_of, total))
            sizes.pop(place)

        for t in tensors:
            place = (t.device.physical, t.dtype.str)
            open_.setdefault(place, []).append(t)
            sizes[place] = sizes.get(place, 0) + t.size * t.dtype.itemsize
            if sizes[place] >= self._bucket_bytes:
                close(place)
        for place in list(open_):
            close(place)
        return buckets


make_allreduce_cb = AllreduceCallback
