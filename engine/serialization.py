"""save()/load(): checkpoints as one zip of .npy arrays plus a JSON manifest, never pickle.

A checkpoint is an ``.npz``-style zip: each array is a member ``a<N>.npy`` and
``manifest.json`` describes the structure around them, for instance

    {"format": "engine-checkpoint", "version": 1,
     "root": {"t": "dict", "items": [[{"t": "str", "v": "w"},
                                      {"t": "tensor", "cls": "Parameter", "a": "a0"}]]}}

What can be saved: dicts (any order, OrderedDict kept as OrderedDict) with str/int/float/bool/
None (or tuples of these) keys, lists, tuples, Tensors and Parameters, NumPy arrays (no object
dtype) and scalars, Python ints, floats, bools, strings and None. The same object saved twice
comes back as two equal objects; gradients are not saved. Tensors are loaded onto the default
device, or `map_location`. Given a path, save() writes a temp file beside the target and
os.replace()s it, so a crash never leaves half a checkpoint; given a binary file object (such
as io.BytesIO) it writes there, from the current position. Loading reads through
``np.load(allow_pickle=False)``, so a checkpoint can carry data but never code.
"""

from __future__ import annotations

import io
import json
import os
import uuid
import zipfile
from collections import OrderedDict
from typing import Any, BinaryIO

import numpy as np

from .core.device import as_device
from .tensor import Parameter, Tensor

FORMAT = "engine-checkpoint"
VERSION = 1
MANIFEST = "manifest.json"

# what a damaged zip, .npy member or manifest raises while being read
_READ_ERRORS = (
    zipfile.BadZipFile,
    ValueError,
    KeyError,
    TypeError,
    EOFError,
    RuntimeError,
    OSError,
)
_TENSOR_CLASSES = {"Tensor": Tensor, "Parameter": Parameter}
_KEY_TYPES = (str, int, float, bool, type(None))


# ---- save ------------------------------------------------------------------------------


def save(obj: Any, f: str | os.PathLike | BinaryIO) -> None:
    """Write `obj` to a path atomically (temp file + os.replace) or to a binary file object.

    Example:
        >>> buf = io.BytesIO(); mge.save({"w": mge.tensor([1.0])}, buf); _ = buf.seek(0)
        >>> mge.load(buf)
        {'w': Tensor([1.], device=xpux:0)}
    """
    arrays: list[np.ndarray] = []
    root = _encode(obj, arrays, "obj", set())
    manifest = json.dumps({"format": FORMAT, "version": VERSION, "root": root})
    if hasattr(f, "write"):
        _write_zip(f, arrays, manifest)
        return
    path = _as_path(f, "save")
    folder, name = os.path.split(os.path.abspath(path))
    if os.path.isdir(path):
        raise IsADirectoryError(
            f"save(obj, f): f={path!r} is a directory; give a file path such as "
            f"{os.path.join(path, 'checkpoint.npz')!r}"
        )
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"save(obj, f): the folder of f={path!r} does not exist")
    tmp = os.path.join(folder, f".{name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "xb") as out:  # plain open: the file gets the usual umask permissions
            _write_zip(out, arrays, manifest)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def _as_path(f: Any, verb: str) -> str:
    """`f` as a path string, or a TypeError naming what save/load accept."""
    try:
        return os.fspath(f)
    except TypeError:
        raise TypeError(
            f"{verb}: f must be a path or a binary file object, got {type(f).__name__}"
        ) from None


def _write_zip(out: BinaryIO, arrays: list[np.ndarray], manifest: str) -> None:
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as zf:
        for i, array in enumerate(arrays):
            with zf.open(f"a{i}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, array, allow_pickle=False)
        zf.writestr(MANIFEST, manifest)


def _encode(obj: Any, arrays: list[np.ndarray], where: str, active: set[int]) -> dict:
    """The manifest node for `obj`; arrays it holds are appended to `arrays`."""
    if obj is None:
        return {"t": "none"}
    if isinstance(obj, np.generic):  # first: np.float64 and np.str_ subclass float and str
        return {"t": "npscalar", "a": _add_array(arrays, np.asarray(obj), where)}
    if isinstance(obj, bool):
        return {"t": "bool", "v": obj}
    if isinstance(obj, int):
        return {"t": "int", "v": int(obj)}
    if isinstance(obj, float):
        return {"t": "float", "v": float(obj)}
    if isinstance(obj, str):
        return {"t": "str", "v": str(obj)}
    if isinstance(obj, Tensor):
        name = _add_array(arrays, obj.numpy(), where)
        cls = "Parameter" if isinstance(obj, Parameter) else "Tensor"
        return {"t": "tensor", "cls": cls, "a": name}
    if isinstance(obj, np.ndarray):
        return {"t": "ndarray", "a": _add_array(arrays, obj, where)}
    if isinstance(obj, (dict, list, tuple)):
        if id(obj) in active:
            raise ValueError(f"cannot save {where}: it contains itself")
        active.add(id(obj))
        try:
            return _encode_container(obj, arrays, where, active)
        finally:
            active.discard(id(obj))
    raise TypeError(
        f"cannot save {where} of type {type(obj).__name__}: engine.save stores Tensors, "
        "NumPy arrays and scalars, numbers, strings, None and dicts/lists/tuples of them"
    )


def _encode_container(obj: Any, arrays: list[np.ndarray], where: str, active: set[int]) -> dict:
    if isinstance(obj, dict):
        items = []
        for key, value in obj.items():
            if not _is_key(key):
                raise TypeError(
                    f"cannot save {where}: dict key {key!r} is a {type(key).__name__}; keys must "
                    "be str, int, float, bool, None or tuples of them"
                )
            inner = f"{where}[{key!r}]"
            items.append(
                [_encode(key, arrays, where, active), _encode(value, arrays, inner, active)]
            )
        kind = "odict" if isinstance(obj, OrderedDict) else "dict"
        return {"t": kind, "items": items}
    kind = "tuple" if isinstance(obj, tuple) else "list"
    items = [_encode(v, arrays, f"{where}[{i}]", active) for i, v in enumerate(obj)]
    return {"t": kind, "items": items}


def _is_key(key: Any) -> bool:
    if isinstance(key, tuple):
        return all(_is_key(k) for k in key)
    return isinstance(key, _KEY_TYPES)


def _add_array(arrays: list[np.ndarray], array: np.ndarray, where: str) -> str:
    if array.dtype.hasobject:
        raise TypeError(f"cannot save {where}: arrays of Python objects need pickle")
    arrays.append(array)
    return f"a{len(arrays) - 1}"


# ---- load ------------------------------------------------------------------------------


class _BrokenError(Exception):
    """Raised inside load() for any inconsistency; turned into the public ValueError."""


def load(f: str | os.PathLike | BinaryIO, map_location: Any = None) -> Any:
    """Read a checkpoint written by save() from a path or a binary file object.

    Tensors land on `map_location` or the default device.
    """
    device = as_device(map_location)
    if hasattr(f, "read"):
        name = str(getattr(f, "name", f"<{type(f).__name__}>"))
        source: Any = f if _seekable(f) else io.BytesIO(f.read())
    else:
        source = name = _as_path(f, "load")
        if os.path.isdir(name):
            raise IsADirectoryError(f"load(f): f={name!r} is a directory, not a checkpoint file")
    try:
        return _read(source, device)
    except _BrokenError as exc:
        raise ValueError(f"{name} is not an engine checkpoint: {exc}") from None
    except (FileNotFoundError, PermissionError, IsADirectoryError):
        raise
    except _READ_ERRORS as exc:
        reason = f"truncated or corrupted ({type(exc).__name__}: {exc})"
        raise ValueError(f"{name} is not an engine checkpoint: {reason}") from exc


def _seekable(f: Any) -> bool:
    try:
        return bool(f.seekable())
    except (AttributeError, OSError, ValueError):
        return False


def _head(source: Any) -> bytes:
    """The first 4 bytes of a path or a seekable file object (whose position is kept)."""
    if isinstance(source, str):
        with open(source, "rb") as f:
            return f.read(4)
    start = source.tell()
    head = source.read(4)
    source.seek(start)
    return head


def _read(source: Any, device: Any) -> Any:
    """load() without the error translation: any failure means "not a checkpoint"."""
    head = _head(source)
    if head[:1] == b"\x80":
        raise _BrokenError("it looks like a pickle (e.g. MegEngine's own format); never unpickled")
    if head == b"\x93NUM":
        raise _BrokenError("it is a single .npy array (np.save), not a checkpoint")
    if head != b"PK\x03\x04":
        raise _BrokenError("it is not a zip archive")
    with np.load(source, allow_pickle=False) as npz:
        if MANIFEST not in npz.files:
            raise _BrokenError(f"it has no {MANIFEST}")
        manifest = json.loads(npz[MANIFEST])
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise _BrokenError(f"its {MANIFEST} does not name the {FORMAT!r} format")
        if manifest.get("version") != VERSION:
            raise _BrokenError(f"unsupported version {manifest.get('version')!r}")
        return _decode(manifest.get("root"), npz, device)


def _decode(node: Any, npz: Any, device: Any) -> Any:
    """Rebuild the object that `node` describes."""
    if not isinstance(node, dict) or "t" not in node:
        raise _BrokenError(f"malformed manifest entry {node!r}")
    kind = node["t"]
    if kind == "none":
        return None
    if kind in ("bool", "int", "float", "str"):
        return _scalar(kind, node.get("v"))
    if kind in ("list", "tuple"):
        items = [_decode(v, npz, device) for v in _items(node)]
        return tuple(items) if kind == "tuple" else items
    if kind in ("dict", "odict"):
        out = OrderedDict() if kind == "odict" else {}
        for pair in _items(node):
            if not isinstance(pair, list) or len(pair) != 2:
                raise _BrokenError(f"malformed dict item {pair!r}")
            key = _decode(pair[0], npz, device)
            out[key] = _decode(pair[1], npz, device)
        return out
    if kind in ("ndarray", "npscalar", "tensor"):
        array = _array(node, npz)
        if kind == "ndarray":
            return array
        if kind == "npscalar":
            if array.ndim != 0:
                raise _BrokenError(f"scalar entry {node['a']} has shape {array.shape}")
            return array[()]
        cls = _TENSOR_CLASSES.get(node.get("cls"))
        if cls is None:
            raise _BrokenError(f"unknown tensor class {node.get('cls')!r}")
        return cls(array, dtype=array.dtype, device=device)
    raise _BrokenError(f"unknown manifest entry type {kind!r}")


def _scalar(kind: str, value: Any) -> Any:
    expected = {"bool": (bool,), "int": (int,), "float": (float, int), "str": (str,)}[kind]
    if not isinstance(value, expected) or (kind != "bool" and isinstance(value, bool)):
        raise _BrokenError(f"{kind} entry holds {value!r}")
    return float(value) if kind == "float" else value


def _items(node: dict) -> list:
    items = node.get("items")
    if not isinstance(items, list):
        raise _BrokenError(f"{node['t']} entry without an item list")
    return items


def _array(node: dict, npz: Any) -> np.ndarray:
    name = node.get("a")
    if not isinstance(name, str) or name not in npz.files:
        raise _BrokenError(f"array {name!r} named in the manifest is missing")
    _check_header(npz.zip, f"{name}.npy")
    array = npz[name]
    if not isinstance(array, np.ndarray):
        raise _BrokenError(f"member {name} is not a .npy array")
    return array


_HEADER_READERS = {
    (1, 0): np.lib.format.read_array_header_1_0,
    (2, 0): np.lib.format.read_array_header_2_0,
}


def _check_header(archive: zipfile.ZipFile, member: str) -> None:
    """Refuse a member whose .npy header promises more bytes than it holds, before allocating.

    NumPy allocates the array its header describes and only then reads; a crafted 1 KB file
    could ask for terabytes. save() stores members uncompressed, so their sizes are exact.
    """
    info = archive.getinfo(member)
    if info.compress_type != zipfile.ZIP_STORED:
        raise _BrokenError(f"member {member} is compressed; save() never writes that")
    with archive.open(info) as f:
        version = np.lib.format.read_magic(f)
        reader = _HEADER_READERS.get(version)
        if reader is None:
            raise _BrokenError(f"member {member} has .npy format version {version}")
        shape, _, dtype = reader(f)
        body = info.file_size - f.tell()
    if dtype.hasobject:
        raise _BrokenError(f"member {member} holds Python objects (they need pickle)")
    count = 1
    for size in shape:
        count *= size
    if count * dtype.itemsize != body:
        raise _BrokenError(
            f"member {member} claims shape {shape} of {dtype} ({count * dtype.itemsize} bytes) "
            f"but holds {body} bytes"
        )


__all__ = ["load", "save"]
