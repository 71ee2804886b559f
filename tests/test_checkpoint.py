"""Checkpoint files: code in a file is refused without running, writes are atomic, errors are one line."""

import os
import pickle
import zipfile

import pytest
import torch

import gradfit
from gradfit import BadDataError
from gradfit.cli.options import flag_text
from gradfit.training.checkpoint import (FORMAT, VERSION, clear_stop_request, load_checkpoint, request_stop, save_checkpoint,
                                stop_requested)


class _CreatesAFile:
    """A pickle payload whose unpickling would create ``path`` (what a malicious checkpoint does)."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def a_state(**more):
    return {"format": FORMAT, "version": VERSION, "kind": "numpy", "epoch": 3, "weights": torch.arange(4.0),
            "big": 2 ** 127 + 1, "nested": {"lr": [0.1, 0.05], "pair": (1, "a")}, **more}


def one_line_error(info) -> str:
    message = str(info.value)
    assert "\n" not in message
    return message


def test_round_trip_keeps_tensors_and_plain_values(tmp_path):
    path = tmp_path / "run.pt"
    save_checkpoint(path, a_state())
    state = load_checkpoint(path)
    assert torch.equal(state["weights"], torch.arange(4.0))
    assert state["big"] == 2 ** 127 + 1 and state["nested"] == {"lr": [0.1, 0.05], "pair": (1, "a")}


@pytest.mark.parametrize("writer", ["pickle", "torch.save"])
def test_a_file_carrying_code_is_refused_and_its_code_never_runs(tmp_path, writer):
    marker = tmp_path / "pwned.txt"
    path = tmp_path / "evil.pt"
    payload = {"format": FORMAT, "version": VERSION, "evil": _CreatesAFile(str(marker))}
    if writer == "pickle":
        with open(path, "wb") as handle:
            pickle.dump(payload, handle)
    else:
        torch.save(payload, path)
    with pytest.raises(BadDataError) as info:
        load_checkpoint(path)
    message = one_line_error(info)
    assert "evil.pt" in message and ("code" in message) and "checkpoint=PATH" in message  # Python's words
    assert "--checkpoint PATH" in info.value.render(flag_text)  # the command line's
    assert not marker.exists()


def test_fit_refuses_to_resume_from_a_file_carrying_code(tmp_path):
    marker = tmp_path / "pwned.txt"
    path = tmp_path / "evil.pt"
    torch.save({"evil": _CreatesAFile(str(marker))}, path)
    with pytest.raises(BadDataError, match="carries code"):
        gradfit.fit(engine="numpy", epochs=10, resume=str(path))
    assert not marker.exists()


@pytest.mark.parametrize("content, match", [
    (b"epoch,loss\n1,0.5\n", "not a gradfit checkpoint"),
    (None, "not a gradfit checkpoint \\(no 'format'"),
    ("truncated", "damaged"),
])
def test_files_that_are_not_checkpoints_are_refused(tmp_path, content, match):
    path = tmp_path / "file.pt"
    if content is None:
        torch.save({"weights": torch.zeros(2)}, path)  # a torch.save file, not gradfit's
    elif content == "truncated":
        save_checkpoint(path, a_state())
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    else:
        path.write_bytes(content)
    with pytest.raises(BadDataError, match=match) as info:
        load_checkpoint(path)
    one_line_error(info)


def test_missing_file_folder_and_wrong_kind(tmp_path):
    with pytest.raises(BadDataError, match="not found"):
        load_checkpoint(tmp_path / "nope.pt")
    with pytest.raises(BadDataError, match="is a directory"):
        load_checkpoint(tmp_path)
    save_checkpoint(tmp_path / "run.pt", a_state())
    with pytest.raises(BadDataError, match="written by a 'numpy' run"):
        load_checkpoint(tmp_path / "run.pt", kind="trainer")
    with pytest.raises(BadDataError, match="does not exist"):
        save_checkpoint(tmp_path / "no" / "such" / "run.pt", a_state())


def test_a_newer_version_is_refused(tmp_path):
    save_checkpoint(tmp_path / "run.pt", a_state(version=VERSION + 1))
    with pytest.raises(BadDataError, match="version"):
        load_checkpoint(tmp_path / "run.pt")


def test_a_failed_write_leaves_the_old_checkpoint_intact(tmp_path):
    path = tmp_path / "run.pt"
    save_checkpoint(path, a_state())
    before = path.read_bytes()
    with pytest.raises(Exception):
        save_checkpoint(path, a_state(bad=lambda: None))  # pickling fails half-way through the write
    assert path.read_bytes() == before
    assert load_checkpoint(path)["epoch"] == 3
    assert sorted(os.listdir(tmp_path)) == ["run.pt"]  # no temporary file left behind


def test_a_full_disk_leaves_the_old_checkpoint_intact(tmp_path, monkeypatch):
    path = tmp_path / "run.pt"
    save_checkpoint(path, a_state())
    before = path.read_bytes()

    def disk_full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(BadDataError, match="No space left on device.*unchanged") as info:
        save_checkpoint(path, a_state(epoch=4))
    one_line_error(info)
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["run.pt"]


def test_the_written_file_is_a_plain_zip_archive(tmp_path):
    """torch.save's zip format: the same bytes load with weights_only=True in any torch >= 1.6."""
    save_checkpoint(tmp_path / "run.pt", a_state())
    assert zipfile.is_zipfile(tmp_path / "run.pt")
    assert torch.load(tmp_path / "run.pt", weights_only=True)["format"] == FORMAT


def test_stop_requests_are_flags_a_run_uses_up():
    clear_stop_request()
    assert not stop_requested()
    request_stop()
    assert stop_requested() and gradfit.request_stop is request_stop
    clear_stop_request()
    assert not stop_requested()
