"""GradManager: records operations on attached tensors and computes their gradients."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ..core.tape import RECORDING, Leaf, Node, input_grads, unbroadcast
from ..core.tracing import TRACING
from ..tensor import Tensor

Callback = Callable[[Tensor, Tensor], Tensor]


class GradManager:
    """MegEngine's GradManager: `attach()` tensors, record with `with gm:`, then `backward()`."""

    def __init__(self) -> None:
        self._attached: dict[int, tuple[Tensor, list[Callback]]] = {}
        self._leaves: dict[int, Node] = {}  # one reusable leaf node per attached tensor
        self._recording = False

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
                self._attached[id(t)] = (t, list(callbacks))
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
        return [t for t, _ in self._attached.values()]

    def callbacks_of(self, tensor: Tensor) -> list[Callback]:
        """The callbacks attached with `tensor` (empty when it is not attached)."""
        entry = self._attached.get(id(tensor))
        return list(entry[1]) if entry is not None else []

    # ---- recording ---------------------------------------------------------------------
    @property
    def is_recording(self) -> bool:
        """Whether operations are being recorded for this manager."""
        return self._recording

    def record(self) -> None:
        """Start recording operations on attached tensors."""
        if self._recording:
            raise RuntimeError("GradManager is already recording")
        if RECORDING.active == 0:
            RECORDING.epoch += 1  # nodes of earlier recordings are now stale
        RECORDING.active += 1
        self._recording = True
        for t, _ in self._attached.values():
            self._mark_leaf(t)

    def release(self) -> None:
        """Stop recording and drop what was recorded (safe to call twice)."""
        if not self._recording:
            return
        self._recording = False
        for t, _ in self._attached.values():
            _unmark_leaf(t, self)
        RECORDING.active -= 1
        if RECORDING.active == 0:
            RECORDING.tape = []

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
        if leaf is None or leaf.leaf.tensor is not t:
            leaf = Node(None, (), (), None, None, None, 0, Leaf(t, set()), t._device.xp)
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
            roots = []
            for yi, dyi in zip(ys, dys, strict=True):
                if not isinstance(yi, Tensor):
                    raise TypeError(f"backward expects Tensors, got {type(yi).__name__}")
                roots.append((yi, _seed_grad(yi, dyi)))
            self._run_backward(roots)
        finally:
            self.release()

    def _run_backward(self, roots: list) -> None:
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
        free = RECORDING.active == 1  # nobody else can still need the recorded values
        # The tape is in execution order, so walking it backwards visits every node after
        # all of the nodes that consumed its output.
        for node in reversed(RECORDING.tape):
            g = node.grad
            if g is None:
                continue
            node.grad = None
            grads = input_grads(node, g)
            for parent, x, gx in zip(node.parents, node.inputs, grads, strict=True):
                if parent is None or gx is None:
                    continue
                if gx.shape != x.shape:
                    gx = unbroadcast(gx, x.shape, node.prim.name)
                parent.grad = gx if parent.grad is None else parent.grad + gx
            if free:
                node.inputs = node.out = node.res = None
        for t, _ in self._attached.values():
            node = t._node
            if node is not None and node.leaf is not None and node.grad is not None:
                g, node.grad = node.grad, None
                if self in node.leaf.managers:
                    self._store(t, g)

    def _store(self, t: Tensor, g: Any) -> None:
        if g.dtype != t.dtype:
            g = g.astype(t.dtype)
        grad = Tensor._wrap(g, t._device)
        for cb in self._attached[id(t)][1]:
            grad = cb(t, grad)
            if grad is None:  # MegEngine: a callback returning None leaves no gradient
                return
        if t.grad is None:
            t.grad = grad
        else:
            # keep the same Tensor object, as MegEngine does; its array may be shared, so
            # the sum is a new array rather than an in-place add
            t.grad._data = t.grad._data + grad._data


def _seed_grad(y: Tensor, dy: Any) -> Any:
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


def _unmark_leaf(t: Tensor, manager: GradManager) -> None:
    node = t._node
    if node is not None and node.leaf is not None and node.leaf.tensor is t:
        node.leaf.managers.discard(manager)
        if not node.leaf.managers:
            t._node = None


def _as_list(x: Any) -> list:
    if isinstance(x, (list, tuple)):
        return list(x)
    if isinstance(x, Iterable) and not isinstance(x, Tensor):
        return list(x)
    return [x]
