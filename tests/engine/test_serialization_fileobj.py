"""save()/load() with binary file objects (io.BytesIO, open files) and clear path errors."""

from __future__ import annotations

import io
import os
import zipfile

import numpy as np
import pytest

import engine as mge
from engine.serialization import load, save
from tests.engine.test_serialization import _assert_same, _sample


def test_bytesio_round_trip_equals_the_file_round_trip(tmp_path) -> None:
    obj = _sample()
    buf = io.BytesIO()
    save(obj, buf)
    save(obj, tmp_path / "ckpt.mge")
    with zipfile.ZipFile(buf) as a, zipfile.ZipFile(tmp_path / "ckpt.mge") as b:
        assert a.namelist() == b.namelist()  # one format, two targets (timestamps aside)
        assert all(a.read(name) == b.read(name) for name in a.namelist())
    buf.seek(0)
    _assert_same(load(buf), obj)


def test_top_level_save_load_take_file_objects_like_megengine() -> None:
    buf = io.BytesIO()
    mge.save({"w": mge.Parameter([1.0, 2.0])}, f=buf)  # MegEngine's parameter name
    buf.seek(0)
    out = mge.load(f=buf, map_location="cpu0")
    assert type(out["w"]) is mge.Parameter
    np.testing.assert_array_equal(out["w"].numpy(), [1.0, 2.0])


def test_open_files_and_a_prefix_before_the_checkpoint(tmp_path) -> None:
    path = tmp_path / "two.bin"
    with open(path, "wb") as f:
        f.write(b"header")
        save({"a": np.arange(3)}, f)
    with open(path, "rb") as f:
        assert f.read(6) == b"header"
        np.testing.assert_array_equal(load(f)["a"], np.arange(3))


class _Pipe(io.RawIOBase):
    """A readable stream that cannot seek, like a socket or a pipe."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        chunk = self._data.read(len(b))
        b[: len(chunk)] = chunk
        return len(chunk)


def test_unseekable_stream_is_read_whole() -> None:
    buf = io.BytesIO()
    save([1, "x"], buf)
    assert load(_Pipe(buf.getvalue())) == [1, "x"]


def test_foreign_file_object_names_itself() -> None:
    with pytest.raises(ValueError, match=r"<BytesIO> is not an engine checkpoint: .*not a zip"):
        load(io.BytesIO(b"hello world"))
    with pytest.raises(ValueError, match=r"looks like a pickle"):
        load(io.BytesIO(b"\x80\x04junk"))


def test_save_to_a_directory_is_a_clear_error(tmp_path) -> None:
    with pytest.raises(IsADirectoryError, match=r"save\(obj, f\): f='.*' is a directory"):
        save({"a": 1}, tmp_path)
    assert os.listdir(tmp_path) == []  # no temp file left beside it
    with pytest.raises(IsADirectoryError, match=r"load\(f\): f='.*' is a directory"):
        load(tmp_path)


def test_save_into_a_missing_folder_names_the_path(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match=r"the folder of f='.*nope.*x\.npz' does not exist"):
        save({"a": 1}, tmp_path / "nope" / "x.npz")


@pytest.mark.parametrize("target", [3, None, ["a"]])
def test_save_and_load_refuse_other_targets(target) -> None:
    kind = type(target).__name__
    with pytest.raises(
        TypeError, match=f"save: f must be a path or a binary file object, got {kind}"
    ):
        save({"a": 1}, target)
    with pytest.raises(
        TypeError, match=f"load: f must be a path or a binary file object, got {kind}"
    ):
        load(target)
