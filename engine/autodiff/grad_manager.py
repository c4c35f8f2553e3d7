"""GradManager: records operations on attached tensors and computes their gradients.

Nested managers give higher-order gradients, as in MegEngine: while a manager that began
recording earlier (an outer one) still records, an inner manager's backward is itself
recorded (every VJP runs on Tensors, see recorded.py), so its gradients can be
differentiated again. Managers recording as one group (`with gm1 | gm2:`) do not record
each other's backward passes.
"""

from __future__ import annotations

import itertools
import weakref
from collections.abc import Callable, Iterable
from typing import Any

from ..core.tape import RECORDING, Leaf, Node, input_grads, unbroadcast
from ..core.tracing import TRACING
from ..tensor import Tensor

Callback = Callable[[Tensor, Tensor], Tensor]

_STARTS = itertools.count(1)  # when each recording began: earlier ones are outer
_RECORDERS: list[GradManager] = []  # the managers recording now


class GradManager:
    """MegEngine's GradManager: `attach()` tensors, record with `with gm:`, then `backward()`.

    Attached tensors are held weakly, as MegEngine does: a tensor attached for one
    recording is freed once the caller drops it.
    """

    def __init__(self) -> None:
        # id(tensor) -> (weak reference, callbacks); an entry leaves when its tensor dies
        self._attached: dict[int, tuple[weakref.ref, list[Callback]]] = {}
        self._leaves: dict[int, Node] = {}  # one reusable leaf node per attached tensor
        self._recording = False
        self._start = 0

    # ---- what gets gradients ----------------------------------------------------------
    def attach(self, tensors: Any, callbacks: Any = None) -> GradManager:
        """Track these tensors' gradients; callbacks(tensor, grad) -> grad run before storing."""
        callbacks = _as_list(callbacks) if callbacks is not None else []
        for t in _as_list(tensors):
            if not isinstance(t, Tensor):
                raise TypeError(f"GradManager.attach expects Tensors, got {type(t).__name__}")
            if t.dtype.kind != "f":
                raise TypeError(
                    f"GradManager.attach: only float tensors have gradients, got dtype {t.dtype}"
                )
            entry = self._attached.get(id(t))
            if entry is None:
                self._attached[id(t)] = (_weak(t, self), list(callbacks))
            else:
                entry[1].extend(cb for cb in callbacks if cb not in entry[1])
            if self._recording:
                self._mark_leaf(t)
        return self

    def detach(self, tensors: Any) -> GradManager:
        """Stop tracking these tensors (the tutorial's counterpart of attach)."""
        for t in _as_list(tensors):
            entry = self._attached.pop(id(t), None)
            self._leaves.pop(id(t), None)
            if entry is not None and self._recording:
                _unmark_leaf(t, self)
        return self

    def attached_tensors(self) -> list[Tensor]:
        """The tensors currently attached, in attach order."""
        return [t for t, _ in self.attachments()]

    def attachments(self) -> list[tuple[Tensor, list[Callback]]]:
        """(tensor, callbacks) for each live attached tensor, in attach order."""
        live = []
        for ref, callbacks in self._attached.values():
            t = ref()
            if t is not None:
                live.append((t, callbacks))
        return live

    def callbacks_of(self, t: Tensor) -> list[Callback]:
        """The callbacks attached with `t` (empty when `t` is not attached)."""
        entry = self._attached.get(id(t))
        return entry[1] if entry is not None and entry[0]() is t else []

    # ---- recording ---------------------------------------------------------------------
    @property
    def is_recording(self) -> bool:
        """Whether operations are being recorded for this manager."""
        return self._recording

    def record(self) -> None:
        """Start recording operations on attached tensors."""
        self._record(next(_STARTS))

    def _record(self, start: int) -> None:
        if self._recording:
            raise RuntimeError("GradManager is already recording")
        if RECORDING.active == 0:
            RECORDING.epoch += 1  # nodes of earlier recordings are now stale
        RECORDING.active += 1
        self._recording = True
        self._start = start
        _RECORDERS.append(self)
        for ref, _ in self._attached.values():
            t = ref()
            if t is not None:
                self._mark_leaf(t)

    def release(self) -> None:
        """Stop recording and drop what was recorded (safe to call twice)."""
        if not self._recording:
            return
        self._recording = False
        _RECORDERS.remove(self)
        for ref, _ in self._attached.values():
            t = ref()
            if t is not None:
                _unmark_leaf(t, self)
        RECORDING.active -= 1
        if RECORDING.active == 0:
            RECORDING.tape = []

    def __or__(self, other: Any) -> GradManagerGroup:
        """`with gm1 | gm2:` records for both at once, MegEngine's manager group."""
        return GradManagerGroup([self]) | other

    __ror__ = __or__

    def __enter__(self) -> GradManager:
        self.record()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def _mark_leaf(self, t: Tensor) -> None:
        node = t._node
        if node is not None and node.epoch == RECORDING.epoch:
            if node.leaf is not None:
                node.leaf.managers.add(self)
                return
            # an attached tensor that is itself the result of recorded ops: keep its history
        leaf = self._leaves.get(id(t))
        if leaf is None or leaf.leaf.ref() is not t:
            leaf = Node(
                None, (), (), None, None, None, 0, Leaf(weakref.ref(t), set()), t._device.xp
            )
            self._leaves[id(t)] = leaf
        leaf.epoch = RECORDING.epoch
        leaf.grad = None
        managers = leaf.leaf.managers
        managers.clear()
        managers.add(self)
        t._node = leaf

    # ---- gradients ---------------------------------------------------------------------
    def backward(self, y: Any = None, dy: Any = None) -> None:
        """Accumulate d(y)/d(attached) into each attached tensor's `.grad`, then stop recording."""
        if not self._recording:
            raise RuntimeError(
                "GradManager.backward() called while not recording: call it inside `with gm:` "
                "(or after gm.record()), and only once per recording"
            )
        if TRACING.recorder is not None:  # a trace records this backward as one step
            return TRACING.recorder.on_backward(self, y, dy)
        try:
            if y is None:
                return  # MegEngine 1.13: backward() without y only ends the recording
            ys = _as_list(y)
            if dy is None:
                dys = [None] * len(ys)
            else:  # one y takes one dy, even a list of numbers
                dys = [dy] if isinstance(y, Tensor) else _as_list(dy)
            if len(dys) != len(ys):
                raise ValueError(f"backward got {len(ys)} outputs but {len(dys)} dy values")
            recorded = RECORDING.active > 1 and self._outer_records()
            roots = []
            for yi, dyi in zip(ys, dys, strict=True):
                if not isinstance(yi, Tensor):
                    raise TypeError(f"backward expects Tensors, got {type(yi).__name__}")
                roots.append((yi, _seed_grad(yi, dyi, recorded)))
            self._run_backward(roots, recorded)
        finally:
            self.release()

    def _outer_records(self) -> bool:
        """Whether a manager that began recording before this one still records."""
        return any(m._start < self._start for m in _RECORDERS)

    def _run_backward(self, roots: list, recorded: bool) -> None:
        epoch = RECORDING.epoch
        started = False
        for y, g in roots:
            node = y._node
            if node is None or node.epoch != epoch:
                continue  # y does not depend on any attached tensor
            node.grad = g if node.grad is None else node.grad + g
            started = True
        if not started:
            return
        if recorded:
            _walk_recorded(RECORDING.tape)
        else:
            _walk(RECORDING.tape, free=RECORDING.active == 1)
        for ref, callbacks in self._attached.values():
            t = ref()
            node = t._node if t is not None else None
            if node is not None and node.leaf is not None and node.grad is not None:
                g, node.grad = node.grad, None
                if self in node.leaf.managers:
                    self._store(t, g, callbacks)
        if RECORDING.active > 1:
            _clear_leaf_grads(RECORDING.tape)  # leaves of other managers reached by this walk

    def _store(self, t: Tensor, g: Any, callbacks: list[Callback] | None = None) -> None:
        recorded = isinstance(g, Tensor)
        if g.dtype != t.dtype:
            g = g.astype(t.dtype)
        grad = g if recorded else Tensor._wrap(g, t._device)
        for cb in self.callbacks_of(t) if callbacks is None else callbacks:
            grad = cb(t, grad)
            if grad is None:  # MegEngine: a callback returning None leaves no gradient
                return
        if t.grad is None:
            t.grad = grad
        elif recorded:
            t.grad._assign(t.grad + grad)  # a recorded sum, in the same Tensor object
        else:
            # keep the same Tensor object, as MegEngine does; its array may be shared, so
            # the sum is a new array rather than an in-place add
            t.grad._data = t.grad._data + grad._data


class GradManagerGroup:
    """Managers that record together (`gm1 | gm2`): none records another's backward."""

    def __init__(self, managers: list[GradManager]) -> None:
        self._managers = list(managers)

    def __or__(self, other: Any) -> GradManagerGroup:
        if isinstance(other, GradManager):
            return GradManagerGroup([*self._managers, other])
        if isinstance(other, GradManagerGroup):
            return GradManagerGroup([*self._managers, *other._managers])
        return NotImplemented

    __ror__ = __or__

    def __enter__(self) -> GradManagerGroup:
        start = next(_STARTS)  # one start for all: none of them is outer to another
        begun: list[GradManager] = []
        try:
            for gm in self._managers:
                gm._record(start)
                begun.append(gm)
        except BaseException:
            for gm in reversed(begun):
                gm.release()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        for gm in reversed(self._managers):
            gm.release()


def _walk(tape: list, free: bool) -> None:
    """Backward over raw arrays: one reverse walk of the tape, running each node's VJP."""
    # The tape is in execution order, so walking it backwards visits every node after
    # all of the nodes that consumed its output.
    probe = TRACING.vjp_probe  # a trace being recorded learns what each VJP returned
    for node in reversed(tape):
        g = node.grad
        if g is None:
            continue
        node.grad = None
        grads = input_grads(node, g)
        if probe is not None:
            probe(node, g, grads)
        for parent, x, gx in zip(node.parents, node.inputs, grads, strict=True):
            if parent is None or gx is None:
                continue
            if gx.shape != x.shape:
                gx = unbroadcast(gx, x.shape, node.prim.name)
            parent.grad = gx if parent.grad is None else parent.grad + gx
        if free:  # nobody else can still need the recorded values
            node.inputs = node.out = node.res = None


def _walk_recorded(tape: list) -> None:
    """Backward whose every step is recorded: VJPs run on Tensors, appending to the tape."""
    from .recorded import recorded_vjp  # only nested managers need it

    for i in range(len(tape) - 1, -1, -1):  # nodes this walk appends are not visited
        node = tape[i]
        g = node.grad
        if g is None:
            continue
        node.grad = None
        for parent, x, gx in zip(node.parents, node.inputs, recorded_vjp(node, g), strict=True):
            if parent is None or gx is None:
                continue
            if gx.shape != x.shape:
                gx = unbroadcast(gx, x.shape, node.prim.name)
            parent.grad = gx if parent.grad is None else parent.grad + gx


def _clear_leaf_grads(tape: list) -> None:
    for node in tape:
        for parent in node.parents:
            if parent is not None and parent.leaf is not None:
                parent.grad = None


def _seed_grad(y: Tensor, dy: Any, recorded: bool) -> Any:
    """The gradient backward starts from: an array, or a Tensor (with history) when recorded."""
    if recorded:
        from .recorded import namespace

        xp = namespace(y._device)
        if dy is None:
            return xp.ones(y.shape, dtype=y.dtype)
        g = xp.asarray(dy, dtype=y.dtype)
        return g if g.shape == y.shape else xp.broadcast_to(g, y.shape)
    xp = y._device.xp
    if dy is None:
        return xp.ones(y.shape, dtype=y.dtype)
    arr = dy._data if isinstance(dy, Tensor) else xp.asarray(dy, dtype=y.dtype)
    if arr.shape != y.shape:
        try:
            arr = xp.broadcast_to(arr, y.shape)
        except ValueError:
            raise ValueError(
                f"gm.backward(y, dy): dy has shape {arr.shape} but y has shape {y.shape}; "
                "dy must have y's shape (or broadcast to it)"
            ) from None
    return arr


def _weak(t: Tensor, manager: GradManager) -> weakref.ref:
    """A weak reference to t that removes its entry from `manager` when t dies."""
    owner = weakref.ref(manager)
    key = id(t)

    def forget(ref: weakref.ref) -> None:
        gm = owner()
        if gm is not None and gm._attached.get(key, (None,))[0] is ref:
            del gm._attached[key]
            gm._leaves.pop(key, None)

    return weakref.ref(t, forget)


def _unmark_leaf(t: Tensor, manager: GradManager) -> None:
    node = t._node
    if node is not None and node.leaf is not None and node.leaf.ref() is t:
        node.leaf.managers.discard(manager)
        if not node.leaf.managers:
            t._node = None


def _as_list(x: Any) -> list:
    if isinstance(x, (list, tuple)):
        return list(x)
    if isinstance(x, Iterable) and not isinstance(x, Tensor):
        return list(x)
    return [x]
