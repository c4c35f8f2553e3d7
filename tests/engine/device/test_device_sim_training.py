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
