"""engine.jit.trace: replay equals eager, retracing, TraceError on changed control flow, guards."""

from __future__ import annotations

import numpy as np
import pytest

import engine as mge
import engine.functional as F
import engine.module as M
import engine.optimizer as optim
from engine.autodiff import GradManager
from engine.core.tracing import TRACING
from engine.jit import TraceError, trace

MODES = [False, True]  # without_host: checked rerun (MegEngine's default) / host-free replay


def tutorial_data(n: int = 100) -> tuple[mge.Tensor, mge.Tensor]:
    """The tutorial's data: x uniform in [-10, 10], y = 7x + 7 + noise."""
    rng = np.random.default_rng(0)
    x = rng.uniform(-10, 10, n).astype("float32")
    y = (7 * x + 7 + rng.uniform(-5, 5, n)).astype("float32")
    return mge.tensor(x), mge.tensor(y)


def tutorial_step(traced: bool, without_host: bool = False):  # noqa: ANN201
    """A whole training step of y = w * x + b (forward, backward, SGD), and its parameters."""
    w, b = mge.Parameter([0.0]), mge.Parameter([0.0])
    gm = GradManager().attach([w, b])
    opt = optim.SGD([w, b], lr=0.01)

    def step(x, label):  # noqa: ANN001, ANN202
        with gm:
            y = F.mul(w, x) + b
            loss = F.loss.square_loss(y, label)
            gm.backward(loss)
        opt.step().clear_grad()
        return loss

    return (trace(step, without_host=without_host) if traced else step), w, b


@pytest.mark.parametrize("without_host", MODES)
def test_traced_training_step_equals_eager_every_call(without_host: bool) -> None:
    x, label = tutorial_data()
    eager, we, be = tutorial_step(False)
    traced, wt, bt = tutorial_step(True, without_host)
    for _ in range(6):
        le, lt = eager(x, label), traced(x, label)
        np.testing.assert_allclose(lt.numpy(), le.numpy(), rtol=1e-6)
        np.testing.assert_allclose(wt.numpy(), we.numpy(), rtol=1e-6)
        np.testing.assert_allclose(bt.numpy(), be.numpy(), rtol=1e-6)
    assert wt.grad is None and bt.grad is None  # clear_grad() was replayed too
    assert TRACING.recorder is None


def test_tutorial_gradients_through_a_trace() -> None:
    # the tutorial's y = w * x + b at w=3, x=2, b=-1: dy/dw = x = 2, dy/db = 1
    w, b = mge.Parameter([3.0]), mge.Parameter(-1.0)
    gm = GradManager().attach([w, b])

    @trace(without_host=True)
    def grads(x):  # noqa: ANN001, ANN202
        with gm:
            y = F.mul(w, x) + b
            gm.backward(y)
        return y

    for _ in range(3):
        w.grad = b.grad = None
        assert grads(mge.tensor([2.0])).numpy().tolist() == [5.0]
        assert w.grad.numpy().tolist() == [2.0] and b.grad.item() == 1.0


@pytest.mark.parametrize("without_host", MODES)
def test_mlp_step_with_adam_and_momentum_equals_eager(without_host: bool) -> None:
    rng = np.random.default_rng(1)
    x = mge.tensor(rng.normal(size=(32, 5)).astype("float32"))
    label = mge.tensor(rng.integers(0, 3, 32).astype("int32"))
    results = []
    for traced in (False, True):
        mge.random.seed(3)
        net = M.Sequential(M.Linear(5, 16), M.Tanh(), M.Linear(16, 3))
        gm = GradManager().attach(net.parameters())
        opt = optim.Adam(net.parameters(), lr=0.01)

        def step(x, label, net=net, gm=gm, opt=opt):  # noqa: ANN001, ANN202
            with gm:
                loss = F.loss.cross_entropy(net(x), label)
                gm.backward(loss)
            opt.step().clear_grad()
            return loss

        fn = trace(step, without_host=without_host) if traced else step
        losses = [fn(x, label).item() for _ in range(5)]
        results.append((losses, [p.numpy() for p in net.parameters()]))
    np.testing.assert_allclose(results[1][0], results[0][0], rtol=1e-6)
    for a, b in zip(results[1][1], results[0][1], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("without_host", MODES)
def test_new_shape_or_dtype_records_again(without_host: bool) -> None:
    calls = []

    @trace(without_host=without_host)
    def f(x):  # noqa: ANN001, ANN202
        calls.append(x.shape)
        return F.exp(x) * 2

    a = mge.tensor([0.0, 1.0])
    f(a)
    f(a)
    out = f(mge.tensor([[0.0], [1.0], [2.0]]))
    np.testing.assert_allclose(out.numpy(), 2 * np.exp([[0.0], [1.0], [2.0]]), rtol=1e-6)
    f(mge.tensor([0.0, 1.0], dtype="float16"))
    assert len(f._cache) == 3
    # host-free replays never ran Python again; checked reruns do
    assert len(calls) == (3 if without_host else 4)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ("op", "operator mismatch"),
        ("more", "too many instructions"),
        ("less", "mismature end"),
        ("const", "tensors not equals"),
    ],
)
def test_changed_python_control_flow_raises_trace_error(change: str, reason: str) -> None:
    # MegEngine 1.13 raises TraceError('trace error because <reason>') for these four
    count = [0]

    @trace
    def f(x):  # noqa: ANN001, ANN202
        count[0] += 1
        if count[0] == 3:
            if change == "op":
                return x - 1
            if change == "more":
                return (x + mge.tensor([1.0, 1.0])) * 3
            if change == "less":
                return x
            return x + mge.tensor([5.0, 5.0])
        return x + mge.tensor([1.0, 1.0])

    x = mge.tensor([1.0, 2.0])
    assert f(x).numpy().tolist() == [2.0, 3.0]
    assert f(x).numpy().tolist() == [2.0, 3.0]
    with pytest.raises(TraceError, match=f"trace error because {reason}"):
        f(x)
    assert TRACING.recorder is None


def test_host_free_replay_guards_values_read_on_the_host() -> None:
    @trace(without_host=True)
    def f(x):  # noqa: ANN001, ANN202
        if x.sum().item() > 0:
            return x + 1
        return x * 3

    assert f(mge.tensor([1.0, 2.0])).numpy().tolist() == [2.0, 3.0]
    assert f(mge.tensor([1.0, 2.0])).numpy().tolist() == [2.0, 3.0]
    with pytest.raises(TraceError, match="tensors not equals"):
        f(mge.tensor([-1.0, -2.0]))  # MegEngine's default mode raises here too


def test_symbolic_trace_refuses_host_reads() -> None:
    @trace(symbolic=True)
    def f(x):  # noqa: ANN001, ANN202
        return x * x.sum().item()

    with pytest.raises(TraceError, match="symbolic"):
        f(mge.tensor([1.0]))
    assert TRACING.recorder is None


def test_dropout_masks_are_fresh_on_every_replay() -> None:
    x = mge.tensor(np.ones((4, 50), dtype="float32"))
    mge.random.seed(5)
    eager = [F.dropout(x, 0.5).numpy() for _ in range(3)]
    mge.random.seed(5)
    f = trace(lambda x: F.dropout(x, 0.5), without_host=True)
    traced = [f(x).numpy() for _ in range(3)]
    for a, b in zip(traced, eager, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(traced[1], traced[2])


@pytest.mark.parametrize("without_host", MODES)
def test_batch_norm_running_statistics_follow_eager(without_host: bool) -> None:
    rng = np.random.default_rng(2)
    batches = [mge.tensor(rng.normal(size=(8, 3, 4, 4)).astype("float32")) for _ in range(3)]
    stats = []
    for traced in (False, True):
        bn = M.BatchNorm2d(3)
        fn = trace(bn, without_host=without_host) if traced else bn
        outs = [fn(b).numpy() for b in batches]
        stats.append((outs, bn.running_mean.numpy(), bn.running_var.numpy()))
    for a, b in zip(stats[1][0], stats[0][0], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(stats[1][1], stats[0][1], rtol=1e-6)
    np.testing.assert_allclose(stats[1][2], stats[0][2], rtol=1e-6)


def test_graph_prints_like_a_jaxpr() -> None:
    x, label = tutorial_data(4)
    step, _, _ = tutorial_step(True)
    step(x, label)
    assert str(step.graph) == (
        "{ lambda w:f32[1] b:f32[1] ; x:f32[4] label:f32[4]. let\n"
        "    t0:f32[4] = mul w x\n"
        "    t1:f32[4] = add t0 b\n"
        "    t2:f32[] = square_loss[reduction='mean'] t1 label\n"
        "    backward t2 -> grad(w b)\n"
        "    optimizer.step()\n"
        "    optimizer.clear_grad()\n"
        "  in (t2) }"
    )


def test_a_traced_function_inside_an_outer_recording_runs_eagerly() -> None:
    w = mge.Parameter([2.0])
    f = trace(lambda x: x * w, without_host=True)
    f(mge.tensor([1.0]))
    gm = GradManager().attach([w])
    with gm:
        y = f(mge.tensor([3.0]))
        gm.backward(y)
    assert w.grad.numpy().tolist() == [3.0]


def test_conv_batchnorm_dropout_training_steps_equal_eager() -> None:
    # batch norm's VJP reads a residual tuple; dropout draws a mask: both fresh on each replay
    rng = np.random.default_rng(0)
    xs = [mge.tensor(rng.normal(size=(16, 1, 8, 8)).astype("float32")) for _ in range(4)]
    ys = [mge.tensor(rng.integers(0, 3, 16).astype("int32")) for _ in range(4)]
    losses = []
    for traced in (False, True):
        mge.random.seed(0)
        net = M.Sequential(
            M.Conv2d(1, 4, 3), M.BatchNorm2d(4), M.ReLU(), M.Flatten(), M.Linear(144, 8),
            M.Dropout(0.2), M.Linear(8, 3),
        )  # fmt: skip
        gm = GradManager().attach(net.parameters())
        opt = optim.Adam(net.parameters(), lr=0.01)

        def step(x, y, net=net, gm=gm, opt=opt):  # noqa: ANN001, ANN202
            with gm:
                loss = F.loss.cross_entropy(net(x), y)
                gm.backward(loss)
            opt.step().clear_grad()
            return loss

        fn = trace(step, without_host=True) if traced else step
        losses.append([fn(x, y).item() for x, y in zip(xs, ys, strict=True)])
    np.testing.assert_allclose(losses[1], losses[0], rtol=1e-6)
