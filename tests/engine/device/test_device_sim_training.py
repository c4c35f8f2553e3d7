"""Short training runs on the simulated device equal the same runs on cpu0, without downloads."""

from __future__ import annotations

import numpy as np
import pytest

from engine.serialization import load, save
from engine.testing import simulated
from engine.testing.devcheck import available_optimizers, train_linear, train_mlp

simulated.install()


def _same_run(got: dict, want: dict) -> None:
    np.testing.assert_allclose(got["losses"], want["losses"], rtol=1e-6)
    for g, w in zip(got["params"], want["params"], strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-6, atol=1e-7)


def test_linear_sgd_on_sim_matches_cpu(sim_device) -> None:
    got, want = train_linear(sim_device), train_linear("cpu0")
    _same_run(got, want)
    assert got["losses"][-1] < got["losses"][0] / 4  # it learned something
    # one download per step: loss.item(); the rest ran inside no_host_transfers()
    assert simulated.TRANSFERS.to_host == len(got["losses"]) + 2  # + the two params


@pytest.mark.parametrize("optimizer", available_optimizers())
def test_mlp_on_sim_matches_cpu(optimizer: str, sim_device) -> None:
    got, want = train_mlp(sim_device, optimizer), train_mlp("cpu0", optimizer)
    _same_run(got, want)
    assert got["losses"][-1] < got["losses"][0]


def test_optimizer_state_round_trips_through_a_checkpoint(sim_device, tmp_path) -> None:
    run = train_mlp(sim_device, "Adam", steps=3)
    opt = run["optimizer"]
    path = tmp_path / "opt.ckpt"
    save(opt.state_dict(), path)
    opt.load_state_dict(load(path))
    for state in opt._state.values():
        for value in state.values():
            if hasattr(value, "shape"):
                assert isinstance(value, simulated.SimArray)  # back on the device, not the host


def test_dataloader_uploads_each_batch_once(sim_device) -> None:
    from engine.data import ArrayDataset, DataLoader

    x = np.arange(20, dtype=np.float32).reshape(10, 2)
    y = np.arange(10, dtype=np.int64)
    loader = DataLoader(ArrayDataset(x, y), batch_size=4, device="sim0")
    simulated.TRANSFERS.reset()
    batches = list(loader)
    assert simulated.TRANSFERS.from_host == 2 * len(batches) and simulated.TRANSFERS.to_host == 0
    xb, yb = batches[0]
    assert xb.device == "sim0" and isinstance(xb._data, simulated.SimArray)
    assert yb.dtype == np.int32  # MegEngine's dtype rules on the way in
    np.testing.assert_array_equal(np.concatenate([b[0].numpy() for b in batches]), x)
    with pytest.raises(ValueError, match="invalid device"):
        DataLoader(ArrayDataset(x, y), device="tpu0")


def _traced_losses(device: str, tutorial: bool) -> list[float]:
    """Losses of one recorded and three replayed SGD steps (the replays must not download)."""
    import engine.functional as F
    from engine import Parameter, Tensor
    from engine.autodiff import GradManager
    from engine.jit import trace
    from engine.optimizer import SGD

    rng = np.random.default_rng(0)
    if tutorial:  # w * x + b, square loss: the seed, the one-element dot products
        shapes, x_host = [(1,), (1,)], rng.uniform(-10, 10, 100).astype("float32")
        label_host = (7 * x_host + 7).astype("float32")
    else:  # linear-relu-linear, cross entropy: relu reuses the linear layer's buffer
        shapes, x_host = [(64, 784), (64,), (10, 64), (10,)], rng.normal(size=(64, 784))
        x_host, label_host = x_host.astype("float32"), rng.integers(0, 10, 64).astype("int32")
    params = [Parameter(0.05 * rng.normal(size=s).astype("float32"), device=device) for s in shapes]
    gm = GradManager().attach(params)
    opt = SGD(params, lr=0.001, momentum=0.9)
    x, label = Tensor(x_host, device=device), Tensor(label_host, device=device)

    @trace(without_host=True)
    def step(x, label):  # noqa: ANN001, ANN202
        with gm:
            if tutorial:
                loss = F.loss.square_loss(F.mul(params[0], x) + params[1], label)
            else:
                hidden = F.relu(F.nn.linear(x, params[0], params[1]))
                loss = F.nn.cross_entropy(F.nn.linear(hidden, params[2], params[3]), label)
            gm.backward(loss)
        opt.step().clear_grad()
        return loss

    losses = [step(x, label)]  # recorded
    with simulated.no_host_transfers():
        losses += [step(x, label) for _ in range(3)]
    return [float(loss.numpy()) for loss in losses]


@pytest.mark.parametrize("tutorial", [True, False])
def test_a_traced_step_replays_on_the_device_without_downloads(sim_device, tutorial) -> None:
    # the replay compiler's own code (constant seed, inlined VJPs, one-element dot products,
    # buffers reused with out=) must speak the device's namespace, as the kernels do
    got, want = _traced_losses("sim0", tutorial), _traced_losses("cpu0", tutorial)
    np.testing.assert_allclose(got, want, rtol=1e-5)
    assert got[-1] < got[0]
