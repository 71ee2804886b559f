"""Saved models are JSON: they round-trip, and files that could carry code are refused unread."""

import json
import os
import pickle

import numpy as np
import pytest

from gradfit import BadDataError
from gradfit.results.model_file import SavedModel, load_model, save_model


def test_round_trip_and_prediction(tmp_path):
    model = SavedModel(["a", "b"], "y", None, 1.5, np.array([2.0, -1.0]))
    path = tmp_path / "m.json"
    save_model(model, path)
    loaded = load_model(path)
    assert (loaded.features, loaded.target, loaded.intercept) == (["a", "b"], "y", 1.5)
    np.testing.assert_array_equal(loaded.predict(np.array([[1.0, 1.0], [0.0, 2.0]])), [2.5, -0.5])
    assert json.loads(path.read_text())["format"] == "gradfit-model"


def test_polynomial_model_predicts_powers(tmp_path):
    model = SavedModel(["x"], "y", 2, None, np.array([1.0, 3.0]))
    save_model(model, tmp_path / "p.json")
    np.testing.assert_array_equal(load_model(tmp_path / "p.json").predict(np.array([[2.0]])), [14.0])


class Payload:
    def __reduce__(self):
        return (os.system, ("touch pwned",))


def test_pickle_is_refused_and_never_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "evil.json").write_bytes(pickle.dumps(Payload()))
    with pytest.raises(BadDataError, match="pickle or torch.save archive, which can carry code"):
        load_model(tmp_path / "evil.json")
    assert not (tmp_path / "pwned").exists()


def test_torch_save_archive_is_refused(tmp_path):
    import torch

    torch.save({"w": torch.ones(1)}, tmp_path / "m.pt")
    with pytest.raises(BadDataError, match="can carry code"):
        load_model(tmp_path / "m.pt")


@pytest.mark.parametrize("content, match", [
    ("not json at all", "not JSON"),
    ('{"a": 1}', "not a gradfit model"),
    ('{"format": "gradfit-model", "version": 99}', "version 99"),
    ('{"format": "gradfit-model", "version": 1, "features": ["x"], "coef": [1, 2], "intercept": 0}', "damaged"),
])
def test_other_files_are_refused(tmp_path, content, match):
    (tmp_path / "m.json").write_text(content)
    with pytest.raises(BadDataError, match=match):
        load_model(tmp_path / "m.json")


def test_missing_model(tmp_path):
    with pytest.raises(BadDataError, match="not found"):
        load_model(tmp_path / "nope.json")


def test_failed_write_leaves_the_old_file(tmp_path):
    path = tmp_path / "m.json"
    path.write_text("old")
    with pytest.raises(ValueError):  # NaN cannot be written as JSON
        save_model(SavedModel(["x"], "y", None, float("nan"), np.array([1.0])), path)
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["m.json"]  # no temporary file left behind
