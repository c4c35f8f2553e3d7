"""Device names as MegEngine spells them (xpux, cpu0, gpu0) mapped onto array namespaces.

A device has a *logical* name, the one the user asked for and the one printed
(`xpux:0`), and a *physical* place where its arrays live (`cpu0`, `gpu0`). Kernels
never import NumPy for math: they use `device.xp`, which is NumPy on the CPU and
CuPy on a GPU, so the same kernel serves both.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import gpu_memory

# `<kind><index or x>[:<stream>]` or `<kind>:<stream>` (index 0, as MegEngine reads "cpu:0");
# the kind must be xpu, cpu, gpu or a registered one.
_NAME = re.compile(r"^([a-z]+?)(?:(x|\d+)(?::(\d+))?|:(\d+))$")
#: The names a user may write, as error messages and config docs spell them.
DEVICE_NAMES = "xpux (a GPU if there is one, else the CPU), cpux, cpu<N>, gpux or gpu0"


@dataclass(frozen=True)
class Backend:
    """An array namespace plus the two ways data crosses to and from the host."""

    name: str
    xp: Any
    to_host: Callable[[Any], np.ndarray]
    from_host: Callable[[np.ndarray], Any]
    is_gpu: bool = False


CPU = Backend("cpu", np, np.asarray, lambda a: a)
_backends: dict[str, Backend] = {"cpu": CPU}
_gpu_state: dict[str, Any] = {}


def register_backend(kind: str, backend: Backend) -> None:
    """Make device names `<kind>N` resolve to `backend` (used by tests for a simulated device)."""
    _backends[kind] = backend
    _cache.clear()


def _cupy_backend() -> Backend | None:
    """CuPy as a backend when it imports and a GPU answers, else None (checked once)."""
    if "backend" not in _gpu_state:
        backend = None
        try:
            import cupy

            if cupy.cuda.runtime.getDeviceCount() > 0:
                backend = Backend("gpu", cupy, cupy.asnumpy, cupy.asarray, is_gpu=True)
        except Exception:  # no CuPy, no driver, no device: all mean "no GPU"
            backend = None
        if backend is not None:
            gpu_memory.track(backend.xp)  # peaks and pre-allocation policy of its pool
        _gpu_state["backend"] = backend
    return _gpu_state["backend"]


def is_cuda_available() -> bool:
    """Whether a CUDA GPU is usable through CuPy."""
    return _cupy_backend() is not None


def gpu_count() -> int:
    """How many CUDA GPUs CuPy sees (0 without CuPy or a driver)."""
    backend = _cupy_backend()
    return 0 if backend is None else int(backend.xp.cuda.runtime.getDeviceCount())


class Device:
    """A logical device name bound to the backend whose arrays it holds."""

    __slots__ = ("logical", "physical", "backend", "xp", "index", "stream")

    def __init__(
        self, logical: str, physical: str, backend: Backend, index: int, stream: int = 0
    ) -> None:
        self.logical = logical
        self.physical = physical
        self.backend = backend
        self.xp = backend.xp
        self.index = index
        self.stream = stream

    @property
    def on_host(self) -> bool:
        """Whether the arrays are NumPy arrays in host memory (reading them costs nothing)."""
        return self.backend is CPU

    @property
    def logical_name(self) -> str:
        """The name as asked for, with its stream (`xpux:0`), MegEngine's CompNode.logical_name."""
        return f"{self.logical}:{self.stream}"

    @property
    def physical_name(self) -> str:
        """Where the arrays really live (`cpu0:0`, `gpu0:0`), MegEngine's CompNode.physical_name."""
        return f"{self.physical}:{self.stream}"

    def __str__(self) -> str:
        return self.logical_name

    def __repr__(self) -> str:
        return f'CompNode("{self.physical_name}" from "{self.logical_name}")'

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            other = _cache.get(other) or _try_as_device(other)
        return (
            isinstance(other, Device)
            and other.logical == self.logical
            and other.stream == self.stream
        )

    def __hash__(self) -> int:
        return hash((self.logical, self.stream))


def _try_as_device(name: str) -> Device | None:
    try:
        return as_device(name)
    except (ValueError, RuntimeError):
        return None


_cache: dict[str, Device] = {}
_default = {"name": "xpux"}


class DeviceNameError(ValueError):
    """A device name outside the grammar; `reason` says why without repeating the name."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"invalid device {name!r}: {reason}")
        self.reason = reason


@dataclass(frozen=True)
class DeviceName:
    """A device name split by the grammar: kind (xpu, cpu, gpu, ...), index (None for x), stream."""

    kind: str
    index: int | None
    stream: int = 0


def parse_device_name(name: str) -> DeviceName:
    """Split NAME by the engine's grammar; DeviceNameError for a name no machine would resolve.

    Whether the device exists here (a GPU answering) is not checked: that is `as_device`'s
    job at run time, so a config can be validated on a machine without the GPU it names.
    """
    match = _NAME.match(name) if isinstance(name, str) else None
    kind = match.group(1) if match else None
    if match is None or (kind not in ("xpu", "cpu", "gpu") and kind not in _backends):
        raise DeviceNameError(name, f"must be {DEVICE_NAMES}")
    number = match.group(2) or "0"  # "cpu:1" is cpu0, stream 1
    stream = int(match.group(3) or match.group(4) or 0)
    index = None if number == "x" else int(number)
    if kind == "gpu" and index and "gpu" not in _backends:
        # Kernels allocate on CuPy's current device; switching it per op is not done (yet),
        # so gpu1 arrays would silently land on gpu0.
        raise DeviceNameError(name, "the engine drives one GPU; use gpu0 or gpux")
    return DeviceName(kind, index, stream)


def _resolve(name: str) -> Device:
    parsed = parse_device_name(name)
    kind, stream = parsed.kind, parsed.stream
    index = parsed.index or 0
    logical = kind + ("x" if parsed.index is None else str(parsed.index))
    if kind == "xpu":
        gpu = _backends.get("gpu") or _cupy_backend()
        kind = "gpu" if gpu is not None else "cpu"
    if kind == "cpu":
        return Device(logical, f"cpu{index}", CPU, index, stream)
    backend = _backends.get(kind)
    if backend is None and kind == "gpu":
        backend = _cupy_backend()
        if backend is not None:
            _check_gpu_index(name, index, backend)
    if backend is None:
        raise RuntimeError(
            f"device {name!r} is not available: no usable GPU (CuPy missing or no CUDA device); "
            "use 'cpu0' or 'xpux'"
        )
    return Device(logical, f"{kind}{index}", backend, index, stream)


def _check_gpu_index(name: str, index: int, backend: Backend) -> None:
    """Refuse GPUs that do not exist on this machine."""
    count = backend.xp.cuda.runtime.getDeviceCount()
    if index >= count:
        raise RuntimeError(f"device {name!r} does not exist: this machine has {count} GPU(s)")


def as_device(device: object = None) -> Device:
    """Resolve None, a name or a Device to a Device (None means the default device)."""
    if isinstance(device, Device):
        return device
    if device is None:
        device = _default["name"]
    if not isinstance(device, str):
        raise TypeError(f"device must be a string like 'cpu0', got {type(device).__name__}")
    found = _cache.get(device)
    if found is None:
        found = _cache[device] = _resolve(device)
    return found


def get_default_device() -> str:
    """The device new tensors land on when none is given (MegEngine's default: 'xpux')."""
    return _default["name"]


def set_default_device(device: str = "xpux") -> None:
    """Change the default device of new tensors."""
    as_device(device)  # validate before changing anything
    _default["name"] = device


@contextlib.contextmanager
def default_device(name: str) -> Iterator[Device]:
    """Make NAME the default device inside the block (models create Parameters there)."""
    device = as_device(name)  # validate before changing anything
    old = get_default_device()
    set_default_device(name)
    try:
        yield device
    finally:
        set_default_device(old)


def put(value: Any, device: Device) -> Any:
    """NumPy arrays in `value` (also inside tuples and lists) as arrays of `device`.

    For primitive parameters such as a getitem index built on the host: kernels on a GPU
    need them in device memory.
    """
    if isinstance(value, np.ndarray):
        return device.backend.from_host(value)
    if isinstance(value, tuple):
        return tuple(put(v, device) for v in value)
    if isinstance(value, list):
        return [put(v, device) for v in value]
    return value


def same_place(a: Device, b: Device) -> bool:
    """Whether arrays on `a` and `b` live in the same memory and may be mixed."""
    return a is b or a.physical == b.physical
