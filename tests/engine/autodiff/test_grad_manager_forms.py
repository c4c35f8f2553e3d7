"""MegEngine's other GradManager forms: `gm1 | gm2`, attaching while recording, weak
attachment (values from MegEngine 1.13)."""

from __future__ import annotations

import weakref

import numpy as np
import pytest

import engine as mge
import engine.functional as F
from engine import Parameter
from engine.autodiff import GradManager, GradManagerGroup


def test_a_group_records_for_both_managers():
    x = Parameter([0.5, 1.0])
    gm1, gm2 = GradManager().attach([x]), GradManager().attach([x])
    with gm1 | gm2:
        assert gm1.is_recording and gm2.is_recording
        y = (x * x).sum()
        gm1.backward(y)
        first = x.grad.numpy().tolist()
        x.grad = None
        gm2.backward(y)
    assert first == [1.0, 2.0] and x.grad.numpy().tolist() == [1.0, 2.0]  # MegEngine 1.13
    assert not gm1.is_recording and not gm2.is_recording


def test_managers_of_one_group_do_not_record_each_others_backward():
    x = Parameter([0.5, 1.0])
    gm1, gm2 = GradManager().attach([x]), GradManager().attach([x])
    with gm1 | gm2:
        gm1.backward(F.sin(x).sum())
        dx = x.grad
        x.grad = None
        gm2.backward(dx.sum())
    # MegEngine 1.13: gm1's gradient is cos x, and gm2 finds no path to x through it
    np.testing.assert_allclose(dx.numpy(), np.cos([0.5, 1.0]), rtol=1e-6)
    assert x.grad is None


def test_a_group_inside_an_outer_manager_is_recorded_by_it():
    x = Parameter([0.5, 1.0])
    outer, a, b = (GradManager().attach([x]) for _ in range(3))
    with outer:
        with a | b:
            a.backward(F.sin(x).sum())
        dx, x.grad = x.grad, None
        outer.backward(dx.sum())
    np.testing.assert_allclose(x.grad.numpy(), -np.sin([0.5, 1.0]), rtol=1e-6)


def test_groups_chain_and_release_together():
    gms = [GradManager() for _ in range(3)]
    group = gms[0] | gms[1] | gms[2]
    assert isinstance(group, GradManagerGroup)
    with group:
        assert all(gm.is_recording for gm in gms)
    assert not any(gm.is_recording for gm in gms)
    with pytest.raises(TypeError):
        _ = gms[0] | 3


def test_a_group_member_already_recording_leaves_the_others_untouched():
    gm1, gm2 = GradManager(), GradManager()
    gm2.record()
    with pytest.raises(RuntimeError, match="already recording"):
        with gm1 | gm2:
            pass
    assert not gm1.is_recording and gm2.is_recording
    gm2.release()


def test_attaching_inside_a_recording():
    w = Parameter([3.0])
    gm = GradManager().attach(w)
    with gm:
        x = mge.tensor([1.0, 2.0])
        gm.attach(x)
        gm.backward((x * x * w).sum())
    # MegEngine 1.13: [6, 12] and [5]; both attached
    assert x.grad.numpy().tolist() == [6.0, 12.0] and w.grad.numpy().tolist() == [5.0]
    assert len(gm.attached_tensors()) == 2


def test_a_tensor_attached_after_it_was_used_only_tracks_later_uses():
    gm = GradManager()
    with gm:
        x = mge.tensor([1.0, 2.0])
        z = x * 3
        gm.attach(x)
        gm.backward((x * x).sum() + z.sum())
    assert x.grad.numpy().tolist() == [2.0, 4.0]  # MegEngine 1.13


def test_an_attached_tensor_is_released_once_the_caller_drops_it():
    w = Parameter([3.0])
    gm = GradManager().attach(w)
    with gm:
        x = mge.tensor([1.0, 2.0])
        gm.attach(x)
        y = (x * x * w).sum()
        gm.backward(y)
    ref = weakref.ref(x)
    del x, y
    # MegEngine 1.13: freed at once (no garbage collection needed), and no longer attached
    assert ref() is None
    assert gm.attached_tensors() == [w]
    with gm:
        gm.backward((w * w).sum())
    assert w.grad.numpy().tolist() == [5.0 + 6.0]
