"""GradManager semantics, one test each (values from MegEngine 1.13, refnotes/autodiff.md)."""

from __future__ import annotations

import numpy as np
import pytest

import engine as mge
import engine.functional as F
from engine import Parameter
from engine.autodiff import GradManager


def grad_list(t: mge.Tensor) -> list:
    """t.grad as a list (fails clearly when there is no gradient)."""
    assert t.grad is not None
    return t.grad.numpy().tolist()


def test_tutorial_gradients_and_shapes():
    w, x, b = Parameter([3.0]), mge.Tensor([2.0]), Parameter(-1.0)
    gm = GradManager().attach([w, b])
    with gm:
        gm.backward(w * x + b)
    assert repr(w.grad) == "Tensor([2.], device=xpux:0)"
    assert repr(b.grad) == "Tensor(1.0, device=xpux:0)"
    assert type(w.grad) is mge.Tensor and w.grad.dtype == np.float32 and b.grad.shape == ()
    assert x.grad is None


def test_grads_accumulate_until_cleared():
    w, b, x = Parameter([3.0]), Parameter(-1.0), mge.tensor([2.0])
    gm = GradManager().attach([w, b])
    for _ in range(2):
        with gm:
            gm.backward(w * x + b)
    assert (grad_list(w), b.grad.item()) == ([4.0], 2.0)
    w.grad = None
    with gm:
        gm.backward(w * x + b)
    assert grad_list(w) == [2.0]


def test_accumulation_keeps_the_grad_object():
    w = Parameter([3.0])
    gm = GradManager().attach([w])
    with gm:
        gm.backward(w * 2)
    g0 = w.grad
    with gm:
        gm.backward(w * 2)
    assert w.grad is g0 and g0.numpy().tolist() == [4.0]


def test_attaching_twice_does_not_double():
    w, x = Parameter([3.0]), mge.tensor([2.0])
    gm = GradManager()
    gm.attach(w)
    gm.attach(w)
    with gm:
        gm.backward((w * x).sum())
    assert grad_list(w) == [2.0]
    assert len(gm.attached_tensors()) == 1


def test_nested_managers_on_one_tensor():
    w = Parameter([3.0])
    gm1, gm2 = GradManager().attach(w), GradManager().attach(w)
    with gm1:
        with gm2:
            gm2.backward((w * w).sum())
    assert grad_list(w) == [6.0]


def test_unattached_and_intermediate_tensors_keep_grad_none():
    w, v, x = Parameter([3.0]), Parameter([5.0]), mge.tensor([2.0])
    unused = Parameter([7.0])
    gm = GradManager().attach([w, unused])
    with gm:
        h = w * x
        gm.backward((h * v).sum())
    assert grad_list(w) == [10.0]
    assert v.grad is None and h.grad is None and x.grad is None
    assert unused.grad is None  # attached but not used by y


def test_backward_outside_recording_raises():
    w = Parameter([3.0])
    gm = GradManager().attach([w])
    y = (w * 2).sum()
    with pytest.raises(RuntimeError, match=r"backward\(\) called while not recording"):
        gm.backward(y)
    with gm:
        y = (w * 2).sum()
    with pytest.raises(RuntimeError, match="inside `with gm:`"):
        gm.backward(y)
    assert w.grad is None


def test_second_backward_in_one_recording_raises():
    w = Parameter([3.0])
    gm = GradManager().attach([w])
    with gm:
        y = (w * 2).sum()
        gm.backward(y)
        assert not gm.is_recording
        with pytest.raises(RuntimeError, match="only once per recording"):
            gm.backward(y)
    assert grad_list(w) == [2.0]


def test_tensor_detach_cuts_the_graph():
    w = Parameter([3.0])
    gm = GradManager().attach([w])
    with gm:
        gm.backward((w * w.detach()).sum())
    assert grad_list(w) == [3.0]
    d = w.detach()
    assert type(d) is mge.Tensor and d.grad is None
    assert repr(d) == "Tensor([3.], device=xpux:0)"


@pytest.mark.parametrize("make", [lambda: mge.tensor([1, 2]), lambda: Parameter([1, 2])])
def test_integer_tensors_cannot_be_attached(make):
    with pytest.raises(TypeError, match="only float tensors have gradients, got dtype int32"):
        GradManager().attach([make()])


def test_detach_stops_tracking():
    w, v = Parameter([3.0]), Parameter([4.0])
    gm = GradManager().attach([w, v])
    gm.detach([v])
    assert gm.attached_tensors() == [w]
    with gm:
        gm.backward((w * v).sum())
    assert grad_list(w) == [4.0] and v.grad is None


def test_detach_while_recording():
    w, v = Parameter([3.0]), Parameter([4.0])
    gm = GradManager().attach([w, v])
    with gm:
        gm.detach(v)
        gm.backward((w * v).sum())
    assert grad_list(w) == [4.0] and v.grad is None


def test_dy_defaults_to_ones_for_non_scalar_y():
    w = Parameter([1.0, 2.0, 3.0])
    gm = GradManager().attach([w])
    with gm:
        gm.backward(w * w)
    assert grad_list(w) == [2.0, 4.0, 6.0]


def test_explicit_dy():
    w = Parameter([1.0, 2.0, 3.0])
    gm = GradManager().attach([w])
    with gm:
        gm.backward(w * w, mge.tensor([1.0, 10.0, 100.0]))
    assert repr(w.grad) == "Tensor([  2.  40. 600.], device=xpux:0)"
    with gm:
        gm.backward((w * w).sum(), mge.tensor(2.0))
    assert grad_list(w) == [2.0 + 4.0, 40.0 + 8.0, 600.0 + 12.0]


def test_y_as_a_list():
    w = Parameter([1.0, 2.0, 3.0])
    gm = GradManager().attach([w])
    with gm:
        gm.backward([(w * w).sum(), (3 * w).sum()])
    assert grad_list(w) == [5.0, 7.0, 9.0]
    w.grad = None
    with gm:
        gm.backward([(w * w).sum(), (3 * w).sum()], [mge.tensor(1.0), mge.tensor(2.0)])
    assert grad_list(w) == [8.0, 10.0, 12.0]


def test_backward_without_y_is_a_no_op():
    w = Parameter([1.0])
    gm = GradManager().attach([w])
    with gm:
        (w * w).sum()
        gm.backward()
    assert w.grad is None


def test_callbacks_run_in_order_and_transform_the_grad():
    w, v = Parameter([3.0]), Parameter([4.0])
    calls = []

    def cb(param, grad):
        calls.append((param is w, repr(grad)))
        return grad * 10

    gm = GradManager().attach([w], callbacks=[cb]).attach([v])
    with gm:
        gm.backward((w * v).sum())
    assert calls == [(True, "Tensor([4.], device=xpux:0)")]
    assert (grad_list(w), grad_list(v)) == ([40.0], [3.0])

    u = Parameter([3.0])
    gm = GradManager().attach([u], callbacks=[lambda p, g: g + 1, lambda p, g: g * 2])
    gm.attach(u, callbacks=[lambda p, g: g * 100])
    with gm:
        gm.backward((u * 2).sum())
    assert grad_list(u) == [600.0]


def test_attached_tensors_in_order():
    w, v = Parameter([3.0]), Parameter([1.0])
    gm = GradManager().attach([w, v])
    tensors = gm.attached_tensors()
    assert isinstance(tensors, list) and tensors[0] is w and tensors[1] is v


def test_record_and_release():
    w = Parameter([3.0])
    gm = GradManager().attach([w])
    gm.record()
    assert gm.is_recording
    with pytest.raises(RuntimeError, match="already recording"):
        gm.record()
    gm.backward((w * w).sum())
    assert grad_list(w) == [6.0]
    gm.release()
    gm.release()  # safe twice
    assert not gm.is_recording

    gm.record()
    y = (w * w).sum()
    gm.release()
    with pytest.raises(RuntimeError, match="not recording"):
        gm.backward(y)
    assert grad_list(w) == [6.0]


def test_no_backward_leaves_grads_alone():
    w = Parameter([3.0])
    gm = GradManager().attach([w])
    with gm:
        _ = w * 2
    with gm:
        pass
    assert w.grad is None


def test_broadcast_gradients_take_the_input_shape():
    w = Parameter([[1.0, 2.0], [3.0, 4.0]])
    b, c, x = Parameter(0.5), Parameter([1.0, 1.0]), mge.tensor([1.0, 2.0])
    gm = GradManager().attach([w, b, c])
    with gm:
        gm.backward((w @ x + b + c).sum())
    assert grad_list(w) == [[1.0, 2.0], [1.0, 2.0]]
    assert b.grad.shape == () and b.grad.item() == 2.0 and b.grad.dtype == np.float32
    assert grad_list(c) == [1.0, 1.0]


def test_recording_only_covers_the_with_block():
    w = Parameter([2.0])
    gm = GradManager().attach([w])
    outside = w * 3  # computed before recording: not part of the graph
    with gm:
        gm.backward((w * w + outside).sum())
    assert grad_list(w) == [4.0]


def test_parameter_ops_return_tensor():
    w = Parameter([1.0, 2.0])
    assert type(w * 2) is mge.Tensor and type(F.exp(w)) is mge.Tensor
