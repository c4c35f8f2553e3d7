"""train.log: [tensorboard] writes event files that read back with the logged values."""

from __future__ import annotations

import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from mgectl_support import REPO
from trainer_support import quiet_console, train
from typer.testing import Result

from mgectl.config.experiment import load_config
from mgectl.report.logging import log_reporters
from mgectl.train.rundir import read_metrics

event_pb2 = pytest.importorskip("tensorboardX.proto.event_pb2")
LINEAR = REPO / "configs" / "linear_regression.yaml"


def read_events(path: Path) -> list[Any]:
    """The Event protos of a TFRecord file: length, its CRC, the bytes, their CRC, repeated."""
    events = []
    data = path.read_bytes()
    offset = 0
    while offset < len(data):
        (length,) = struct.unpack_from("<Q", data, offset)
        start = offset + 12  # 8 bytes of length, 4 of its masked CRC
        events.append(event_pb2.Event.FromString(data[start : start + length]))
        offset = start + length + 4
    return events


def test_tensorboard_event_files_hold_each_epoch(tmp_path: Path) -> None:
    cfg = load_config(LINEAR, ["train.log=[tensorboard]"])
    reporters = log_reporters(cfg)
    result = train(
        cfg, output_dir=tmp_path, reporters=reporters, console=quiet_console(), plots=False
    )
    (events_file,) = result.run_dir.glob("events.out.tfevents.*")
    scalars: dict[str, dict[int, float]] = {}
    texts = {}
    for event in read_events(events_file):
        for value in event.summary.value:
            if value.HasField("simple_value"):
                scalars.setdefault(value.tag, {})[event.step] = value.simple_value
            elif value.HasField("tensor"):
                texts[value.tag] = value.tensor.string_val[0].decode()
    records = read_metrics(result.run_dir)
    assert set(scalars) == {"train_loss", "w", "b", "lr", "seconds"}
    for key in ("train_loss", "w", "b", "lr"):
        expected = {r["epoch"]: r[key] for r in records}
        assert scalars[key] == pytest.approx(expected, rel=1e-6)  # stored as float32
    assert "name: linear_regression" in texts["config/text_summary"]
    assert "log: [tensorboard]" in texts["config/text_summary"]


def test_train_log_flag_writes_event_files(cli: Callable[..., Result], tmp_path: Path) -> None:
    result = cli("train", str(LINEAR), "--log", "tensorboard", "-o", str(tmp_path), "-q")
    assert result.exit_code == 0, result.output
    (run_dir,) = (tmp_path / "linear_regression").iterdir()
    (events_file,) = run_dir.glob("events.out.tfevents.*")
    steps = {e.step for e in read_events(events_file) if e.summary.value}
    assert steps == {0, 1, 2, 3, 4}
