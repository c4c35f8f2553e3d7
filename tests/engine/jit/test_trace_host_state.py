"""Work a host-free replay must repeat although it is not a primitive: random draws and
learning-rate schedules. Either would otherwise run only while recording, and every replay
would silently reuse the first call's numbers or learning rate."""

from __future__ import annotations

import numpy as np
import pytest

import engine as mge
import engine.optimizer as optim
from engine.autodiff import GradManager
from engine.jit import TraceError, trace


def _noisy(x: mge.Tensor) -> mge.Tensor:
    noise = mge.random.normal(0.0, 1.0, size=(3,)) * mge.random.uniform(size=(3,))
    return x[mge.random.permutation(4)][:3] + noise


def test_random_draws_are_new_on_every_replay_and_equal_eager() -> None:
    x = mge.tensor(np.arange(4, dtype="float32"))
    mge.random.seed(3)
    want = [_noisy(x).numpy() for _ in range(3)]
    mge.random.seed(3)
    traced = trace(_noisy, without_host=True)
    got = [traced(x).numpy() for _ in range(3)]
    np.testing.assert_array_equal(np.array(got), np.array(want))
    assert not np.array_equal(got[1], got[2])


def test_default_size_is_one_sample_as_in_megengine() -> None:
    # MegEngine 1.13: mge.random.normal() -> Tensor([0.4396]), shape (1,)
    assert mge.random.normal().shape == (1,)
    assert mge.random.uniform().shape == (1,)


@pytest.mark.parametrize("without_host", [True, False])
def test_a_scheduler_stepped_inside_a_traced_step_keeps_stepping(without_host: bool) -> None:
    def run(traced: bool) -> tuple[float, np.ndarray]:
        w = mge.Parameter(np.ones(3, "float32"))
        gm = GradManager().attach([w])
        opt = optim.SGD([w], lr=1.0)
        sched = optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)

        def step() -> None:
            with gm:
                gm.backward((w * w).sum())
            opt.step().clear_grad()
            sched.step()

        fn = trace(step, without_host=without_host) if traced else step
        for _ in range(4):
            fn()
        return opt.param_groups[0]["lr"], w.numpy()

    (lr, w), (want_lr, want_w) = run(traced=True), run(traced=False)
    assert lr == want_lr == 0.0625  # 1.0 halved four times
    np.testing.assert_array_equal(w, want_w)


@pytest.mark.parametrize("without_host", [True, False])
def test_a_tensor_index_is_read_on_every_call(without_host: bool) -> None:
    # rows picked by an index tensor, forward and backward: each call's own index
    def run(traced: bool) -> list:
        table = mge.Parameter(np.arange(12, dtype="float32").reshape(6, 2))
        gm = GradManager().attach([table])

        def step(rows: mge.Tensor) -> mge.Tensor:
            with gm:
                picked = table[rows]
                gm.backward((picked * picked).sum())
            return picked

        fn = trace(step, without_host=without_host) if traced else step
        seen = []
        for rows in ([0, 1], [4, 5], [2, 2]):
            table.grad = None
            picked = fn(mge.tensor(np.array(rows, dtype="int32")))
            seen += [picked.numpy(), table.grad.numpy()]
        return seen

    for got, want in zip(run(traced=True), run(traced=False), strict=True):
        np.testing.assert_array_equal(got, want)


def _warm_up_run(traced: bool, without_host: bool, inside: bool) -> np.ndarray:
    w = mge.Parameter(np.ones(3, "float32"))
    gm = GradManager().attach([w])
    opt = optim.SGD([w], lr=1.0)
    calls = [0]

    def step() -> None:
        if inside:  # a hand-made warm-up: Python state a host-free replay cannot repeat
            calls[0] += 1
            opt.param_groups[0]["lr"] = 0.1 * calls[0]
        with gm:
            gm.backward((w * w).sum())
        opt.step().clear_grad()

    fn = trace(step, without_host=without_host) if traced else step
    for k in range(1, 4):
        if not inside:  # set between calls: every replay reads the group's lr as it is
            opt.param_groups[0]["lr"] = 0.1 * k
        fn()
    return w.numpy()


def test_settings_changed_inside_a_host_free_trace_are_refused() -> None:
    with pytest.raises(TraceError, match="optimizer's settings"):
        _warm_up_run(traced=True, without_host=True, inside=True)


@pytest.mark.parametrize("without_host, inside", [(False, True), (True, False)])
def test_settings_changed_where_a_replay_sees_them_take_effect(
    without_host: bool, inside: bool
) -> None:
    want = _warm_up_run(traced=False, without_host=without_host, inside=inside)
    got = _warm_up_run(traced=True, without_host=without_host, inside=inside)
    np.testing.assert_array_equal(got, want)


def test_a_setting_that_holds_an_array_is_compared_without_error() -> None:
    w = mge.Parameter(np.ones(3, "float32"))
    gm = GradManager().attach([w])
    opt = optim.SGD([w], lr=0.5)
    opt.param_groups[0]["mask"] = np.array([1.0, 0.0, 1.0])  # a user's own array setting

    def step(replace: bool) -> None:
        if replace:  # a new array: comparing it with the old one needs no truth value
            opt.param_groups[0]["mask"] = np.array([0.0, 1.0, 0.0])
        with gm:
            gm.backward((w * w).sum())
        opt.step().clear_grad()

    kept = trace(lambda: step(False), without_host=True)
    kept()
    kept()
    np.testing.assert_array_equal(w.numpy(), [0.0, 0.0, 0.0])  # 1 - 0.5 * 2, then 0
    with pytest.raises(TraceError, match="optimizer's settings"):
        trace(lambda: step(True), without_host=True)()
