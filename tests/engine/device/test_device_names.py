"""MegEngine's device model: names, printing, defaults, `to()`, and refusing to mix devices."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

import engine as mge
import engine.functional as F
from engine.autodiff import GradManager
from engine.core import device as device_mod
from engine.core.device import as_device
from engine.testing import simulated


@pytest.fixture
def fake_gpu(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Pretend there is a GPU: the simulated backend registered as kind `gpu`."""
    monkeypatch.setitem(device_mod._backends, "gpu", simulated.BACKEND)
    device_mod._cache.clear()
    yield
    monkeypatch.delitem(device_mod._backends, "gpu")
    device_mod._cache.clear()


@pytest.fixture(autouse=True)
def _restore_default() -> Iterator[None]:
    old = mge.get_default_device()
    yield
    mge.set_default_device(old)


# ---- names and printing (tensor.md: repr(t.device), str(t.device)) ----------------------------


def test_xpux_is_the_cpu_without_a_gpu(no_gpu) -> None:
    t = mge.tensor([1.0, 2.0])
    assert repr(t) == "Tensor([1. 2.], device=xpux:0)"
    assert str(t.device) == "xpux:0"
    assert repr(t.device) == 'CompNode("cpu0:0" from "xpux:0")'
    assert t.device == "xpux:0" and t.device == "xpux"
    assert not mge.is_cuda_available()


def test_cpu_names_print_as_megengine_does() -> None:
    t = mge.tensor([1.0, 2.0], device="cpu0")
    assert repr(t) == "Tensor([1. 2.], device=cpu0:0)"
    assert repr(t.device) == 'CompNode("cpu0:0" from "cpu0:0")'
    assert repr(as_device("cpux")) == 'CompNode("cpu0:0" from "cpux:0")'
    assert repr(as_device("cpu1")) == 'CompNode("cpu1:0" from "cpu1:0")'
    assert repr(as_device("cpu0:1")) == 'CompNode("cpu0:1" from "cpu0:1")'
    assert t.device.logical_name == "cpu0:0" and t.device.physical_name == "cpu0:0"
    assert t.device == "cpu0" and t.device != "cpu1"


@pytest.mark.parametrize("name", ["abc0", "foo", "gpu", "cpu-1", "", "xpux:a"])
def test_invalid_names_are_one_clear_error(name: str) -> None:
    with pytest.raises(ValueError, match="invalid device"):
        mge.tensor([1.0], device=name)


def test_device_must_be_a_name() -> None:
    with pytest.raises(TypeError, match="device must be a string"):
        mge.tensor([1.0], device=0)


def test_gpu_without_a_gpu_is_one_clear_error(no_gpu) -> None:
    for make in (
        lambda: mge.tensor([1.0], device="gpu0"),
        lambda: F.zeros(3, device="gpux"),
        lambda: mge.tensor([1.0]).to("gpu0"),
        lambda: mge.set_default_device("gpu0"),
    ):
        with pytest.raises(RuntimeError, match="'gpu.' is not available: no usable GPU"):
            make()
    assert mge.get_default_device() == "xpux"  # the failed set changed nothing
    # gpu1 is not a name at all (the engine drives one GPU), on every machine
    with pytest.raises(ValueError, match="'gpu1': the engine drives one GPU; use gpu0 or gpux"):
        F.zeros(3, device="gpu1")


def test_xpux_is_gpu0_when_a_gpu_answers(fake_gpu) -> None:
    t = mge.tensor([1.0, 2.0])
    assert repr(t.device) == 'CompNode("gpu0:0" from "xpux:0")'
    assert isinstance(t._data, simulated.SimArray)  # the data really lives there
    assert mge.tensor([1.0], device="gpu0").device.physical_name == "gpu0:0"
    # xpux and gpu0 share memory, so they mix; cpu0 does not
    assert (t + mge.tensor([1.0, 1.0], device="gpu0")).numpy().tolist() == [2.0, 3.0]
    with pytest.raises(RuntimeError, match=r"xpux:0 and cpu0:0"):
        t + mge.tensor([1.0, 1.0], device="cpu0")


# ---- defaults ------------------------------------------------------------------------------


def test_default_device_is_xpux_and_can_change(sim_device) -> None:
    assert mge.get_default_device() == "xpux"
    mge.set_default_device("sim0")
    assert mge.get_default_device() == "sim0"
    for t in (mge.tensor([1.0]), F.zeros(2), F.arange(3), mge.random.normal(size=2)):
        assert t.device == "sim0" and isinstance(t._data, simulated.SimArray)
    mge.set_default_device("cpu1")
    assert repr(F.ones(2)) == "Tensor([1. 1.], device=cpu1:0)"
    mge.set_default_device()
    assert mge.get_default_device() == "xpux"


def test_set_default_device_rejects_bad_names() -> None:
    with pytest.raises(ValueError, match="invalid device"):
        mge.set_default_device("bogus")
    assert mge.get_default_device() == "xpux"


# ---- mixing and moving -----------------------------------------------------------------------


def test_mixing_devices_names_both(sim_device) -> None:
    a = mge.tensor([1.0, 2.0], device="cpu0")
    b = mge.tensor([1.0, 2.0], device="sim0")
    for op in (lambda: a + b, lambda: F.matmul(b, a), lambda: F.concat([a, b])):
        with pytest.raises(
            RuntimeError, match=r"different devices \((cpu0:0 and sim0:0|sim0:0 and cpu0:0)\)"
        ):
            op()
    with pytest.raises(RuntimeError, match=r"cpu0:0 and cpu1:0"):
        a * mge.tensor([1.0, 2.0], device="cpu1")  # different places, even on one machine
    with pytest.raises(RuntimeError, match="index tensor on cpu0:0"):
        b[mge.tensor([0], device="cpu0")]


def test_same_memory_mixes(no_gpu) -> None:
    # xpux is cpu0 here: MegEngine refuses this pair, the engine allows it (same memory)
    out = mge.tensor([1.0]) + mge.tensor([2.0], device="cpu0")
    assert out.numpy().tolist() == [3.0]


def test_to_moves_and_keeps_values(sim_device) -> None:
    host = np.arange(6, dtype=np.float32).reshape(2, 3)
    a = mge.tensor(host, device="cpu0")
    b = a.to("sim0")
    assert b.device == "sim0" and isinstance(b._data, simulated.SimArray)
    assert b.dtype == np.float32 and b.shape == (2, 3)
    back = b.to("cpu0")
    np.testing.assert_array_equal(back.numpy(), host)
    assert a.to("cpu0") is not a and a.to(a.device).device == a.device
    c = mge.tensor(b, device="cpu1")  # Tensor(tensor, device=...) copies across too
    assert c.device == "cpu1" and c.numpy().tolist() == host.tolist()
    assert F.copy(b).device == "sim0" and F.copy(b, "cpu0").device == "cpu0"


def test_gradient_flows_back_through_to(sim_device) -> None:
    x = mge.Parameter([1.0, 2.0, 3.0], device="cpu0")
    gm = GradManager().attach(x)
    with gm:
        y = (x.to("sim0") ** 2).sum()
        gm.backward(y)
    assert y.device == "sim0"
    assert x.grad.device == "cpu0" and x.grad.numpy().tolist() == [2.0, 4.0, 6.0]


def test_host_reads_are_the_only_downloads(sim_device) -> None:
    t = mge.tensor([[1.0, 2.0], [3.0, 4.0]], device="sim0")
    simulated.TRANSFERS.reset()
    with simulated.no_host_transfers():
        u = F.relu(t * 2 - 3).sum(axis=1)
    assert simulated.TRANSFERS.to_host == 0
    assert repr(u) == "Tensor([1. 8.], device=sim0:0)"
    assert u.numpy().tolist() == [1.0, 8.0] and u[0].item() == 1.0 and u.tolist() == [1.0, 8.0]
    assert np.asarray(u).tolist() == [1.0, 8.0]  # MegEngine tensors convert explicitly too
    assert simulated.TRANSFERS.to_host == 5


def test_default_device_block_restores_the_old_default_even_on_error() -> None:
    from engine.core.device import default_device

    assert mge.get_default_device() == "xpux"
    with pytest.raises(KeyError), default_device("cpu0") as device:
        assert device.physical == "cpu0" and mge.get_default_device() == "cpu0"
        assert mge.tensor([1.0]).device.logical_name == "cpu0:0"
        raise KeyError("inside")
    assert mge.get_default_device() == "xpux"
    with pytest.raises(ValueError, match="invalid device 'gpu1'"), default_device("gpu1"):
        pass
    assert mge.get_default_device() == "xpux"
