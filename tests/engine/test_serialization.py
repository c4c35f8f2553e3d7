"""engine.serialization: exact save/load round trips, atomic writes, clear errors on bad files."""

from __future__ import annotations

import json
import math
import os
import pickle
import re
import zipfile
from collections import OrderedDict

import numpy as np
import pytest

import engine as mge
import engine.optimizer as optim
import engine.serialization as serialization
from engine.core.device import as_device
from engine.serialization import load, save


def _sample() -> dict:
    return {
        "zeta": mge.Tensor(np.arange(6, dtype=np.float32).reshape(2, 3)),
        "alpha": mge.Parameter(np.array([1.5, -2.5], dtype=np.float32)),
        "ints": mge.Tensor(np.array([1, 2, 3], dtype=np.int32)),
        "half": mge.Tensor(np.array([0.5, 1.0], dtype=np.float16)),
        "flags": mge.Tensor(np.array([True, False])),
        "f64": np.linspace(0, 1, 5),
        "i64": np.array([[2**40, -3]], dtype=np.int64),
        "fortran": np.asfortranarray(np.arange(6, dtype=np.int16).reshape(2, 3)),
        "zero_d": np.array(7.25, dtype=np.float32),
        "empty": np.zeros((0, 3), dtype=np.float32),
        "np_scalars": [
            np.float32(0.1),
            np.int64(-5),
            np.bool_(True),
            np.float64(1e-300),
            np.str_("s"),
        ],
        "py": [1, -(2**70), 0.1, -0.0, math.inf, True, False, None, "héllo ∑", ""],
        "tuple": (1, (2.0, [3, "x"]), ()),
        "list": [],
        3: "int key",
        2.5: "float key",
        None: "none key",
        (1, "a"): "tuple key",
        "nested": OrderedDict([("b", {"y": 1, "x": 2}), ("a", OrderedDict())]),
    }


def _assert_same(got, want, where: str = "obj") -> None:
    assert type(got) is type(want), where
    if isinstance(want, mge.Tensor):
        assert got.dtype == want.dtype and got.shape == want.shape, where
        np.testing.assert_array_equal(got.numpy(), want.numpy())
    elif isinstance(want, (np.ndarray, np.generic)):
        assert got.dtype == want.dtype and got.shape == want.shape, where
        np.testing.assert_array_equal(got, want)
        if isinstance(want, np.ndarray):
            assert got.flags.f_contiguous == want.flags.f_contiguous, where
    elif isinstance(want, dict):
        assert list(got) == list(want), where  # same keys, same order
        for key in want:
            _assert_same(got[key], want[key], f"{where}[{key!r}]")
    elif isinstance(want, (list, tuple)):
        assert len(got) == len(want), where
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            _assert_same(g, w, f"{where}[{i}]")
    elif isinstance(want, float):
        assert got == want and math.copysign(1, got) == math.copysign(1, want), where
    else:
        assert got == want, where


def test_round_trip_is_exact(tmp_path) -> None:
    obj = _sample()
    save(obj, tmp_path / "ckpt.mge")
    _assert_same(load(tmp_path / "ckpt.mge"), obj)


def test_nan_and_top_level_values(tmp_path) -> None:
    path = str(tmp_path / "x")
    save(float("nan"), path)
    assert math.isnan(load(path))
    for value in (None, 3, "s", [1, (2,)], mge.Parameter([1.0])):
        save(value, path)
        _assert_same(load(path), value)


def test_tensors_land_on_default_device_or_map_location(tmp_path) -> None:
    path = tmp_path / "t"
    save({"w": mge.Parameter([1.0, 2.0], device="cpu0")}, path)
    assert load(path)["w"].device == as_device(None)
    moved = load(path, map_location="cpu1")["w"]
    assert str(moved.device) == "cpu1:0" and isinstance(moved, mge.Parameter)


def test_optimizer_and_module_style_state_dicts(tmp_path) -> None:
    p = mge.Parameter(np.array([1.0, -2.0], np.float32))
    opt = optim.Adam([p], lr=0.01)
    p.grad = mge.tensor([0.5, 0.5])
    opt.step()
    module_state = OrderedDict([("weight", p.numpy()), ("bias", np.zeros(1, np.float32))])
    obj = {"model": module_state, "optimizer": opt.state_dict(), "epoch": 4}
    save(obj, tmp_path / "ckpt")
    _assert_same(load(tmp_path / "ckpt"), obj)  # int state keys, betas tuple, float32 buffers


def test_file_is_a_zip_of_npy_arrays_and_a_json_manifest(tmp_path) -> None:
    path = tmp_path / "ckpt"
    save({"a": np.ones(2), "t": mge.Tensor([1.0])}, path)
    with zipfile.ZipFile(path) as zf:
        assert sorted(zf.namelist()) == ["a0.npy", "a1.npy", "manifest.json"]
        manifest = json.loads(zf.read("manifest.json"))
    assert manifest["format"] == "engine-checkpoint" and manifest["version"] == 1
    with np.load(path, allow_pickle=False) as npz:
        np.testing.assert_array_equal(npz["a0"], np.ones(2))


def test_save_replaces_atomically_and_leaves_no_temp_files(tmp_path, monkeypatch) -> None:
    path = tmp_path / "ckpt"
    save({"v": 1}, path)
    save({"v": 2}, path)
    assert load(path) == {"v": 2}

    def boom(*_args, **_kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(serialization.np.lib.format, "write_array", boom)
    with pytest.raises(OSError, match="disk full"):
        save({"v": np.ones(3)}, path)
    assert load(path) == {"v": 2}  # the old checkpoint survives a failed save
    assert os.listdir(tmp_path) == ["ckpt"]


@pytest.mark.parametrize(
    "obj, message",
    [
        ({"s": {1, 2}}, r"cannot save obj\['s'\] of type set"),
        ([object()], r"cannot save obj\[0\] of type object"),
        ({"b": b"bytes"}, "of type bytes"),
        ({"o": np.array([None, 1], dtype=object)}, "arrays of Python objects need pickle"),
        ({(1, frozenset({2})): 3}, "keys must be str, int, float, bool, None or tuples of them"),
    ],
)
def test_unsupported_objects_raise_type_error(tmp_path, obj, message: str) -> None:
    with pytest.raises(TypeError, match=message):
        save(obj, tmp_path / "ckpt")
    assert os.listdir(tmp_path) == []


def test_self_containing_object_is_rejected(tmp_path) -> None:
    loop: list = [1]
    loop.append(loop)
    with pytest.raises(ValueError, match="contains itself"):
        save(loop, tmp_path / "ckpt")


def test_missing_file(tmp_path) -> None:
    path = str(tmp_path / "nope.ckpt")
    with pytest.raises(FileNotFoundError, match=re.escape(path)) as info:
        load(path)
    assert info.value.filename == path


def _not_a_checkpoint(path) -> pytest.RaisesContext:
    return pytest.raises(ValueError, match="^" + re.escape(f"{path} is not an engine checkpoint: "))


@pytest.mark.parametrize(
    "content, reason",
    [
        (b"", "it is not a zip archive"),
        (b"hello world\n", "it is not a zip archive"),
        (pickle.dumps({"w": 1}), "it looks like a pickle"),
    ],
    ids=["empty", "text", "pickle"],
)
def test_foreign_files(tmp_path, content: bytes, reason: str) -> None:
    path = tmp_path / "bad"
    path.write_bytes(content)
    with _not_a_checkpoint(path) as info:
        load(path)
    assert reason in str(info.value)


def test_numpy_files_are_not_checkpoints(tmp_path) -> None:
    npy, npz = tmp_path / "a.npy", tmp_path / "b.npz"
    np.save(npy, np.arange(3))
    np.savez(npz, x=np.arange(3))
    with _not_a_checkpoint(
        npy,
    ) as info:
        load(npy)
    assert "single .npy array" in str(info.value)
    with _not_a_checkpoint(npz) as info:
        load(npz)
    assert "no manifest.json" in str(info.value)


def test_truncated_files_are_rejected(tmp_path) -> None:
    good = tmp_path / "good"
    save({"w": mge.Parameter(np.arange(8, dtype=np.float32)), "n": [1, 2.0]}, good)
    data = good.read_bytes()
    bad = tmp_path / "bad"
    cuts = set(range(0, len(data), 7)) | set(range(len(data) - 120, len(data)))  # tail: zip index
    for cut in sorted(cuts):
        bad.write_bytes(data[:cut])
        with _not_a_checkpoint(bad):
            load(bad)


def test_corrupted_bytes_are_detected(tmp_path) -> None:
    good = tmp_path / "good"
    save({"w": np.arange(64, dtype=np.float32)}, good)
    data = bytearray(good.read_bytes())
    start = data.index(b"\x93NUMPY")
    data[start + 200] ^= 0xFF  # inside the array's payload: the zip CRC catches it
    bad = tmp_path / "bad"
    bad.write_bytes(bytes(data))
    with _not_a_checkpoint(bad) as info:
        load(bad)
    assert "truncated or corrupted" in str(info.value) and "CRC" in str(info.value)


def _zip_with_manifest(path, manifest: object, arrays: dict | None = None) -> None:
    with zipfile.ZipFile(path, "w") as zf:
        for name, array in (arrays or {}).items():
            with zf.open(f"{name}.npy", "w") as f:
                np.lib.format.write_array(f, array)
        zf.writestr(
            "manifest.json", manifest if isinstance(manifest, str) else json.dumps(manifest)
        )


HEADER = {"format": "engine-checkpoint", "version": 1}


@pytest.mark.parametrize(
    "manifest, reason",
    [
        ("{not json", "truncated or corrupted (JSONDecodeError"),
        ({"format": "other", "version": 1, "root": {"t": "none"}}, "does not name"),
        ({**HEADER, "version": 99, "root": {"t": "none"}}, "unsupported version 99"),
        ({**HEADER, "root": {"t": "ndarray", "a": "a7"}}, "array 'a7' named in the manifest"),
        ({**HEADER, "root": {"t": "pickle"}}, "unknown manifest entry type 'pickle'"),
        ({**HEADER, "root": {"t": "int", "v": "3"}}, "int entry holds '3'"),
        ({**HEADER, "root": {"t": "list"}}, "list entry without an item list"),
        ({**HEADER, "root": {"t": "tensor", "cls": "Module", "a": "a0"}}, "unknown tensor class"),
        ({**HEADER, "root": {"t": "dict", "items": [[{"t": "none"}]]}}, "malformed dict item"),
    ],
)
def test_broken_manifests(tmp_path, manifest, reason: str) -> None:
    path = tmp_path / "bad"
    _zip_with_manifest(path, manifest, {"a0": np.ones(2)})
    with _not_a_checkpoint(path) as info:
        load(path)
    assert reason in str(info.value)
