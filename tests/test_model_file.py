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


# ----- hostile or hand-edited files: one clear error naming the model file and the field -------

GOOD = {"format": "gradfit-model", "version": 1, "features": ["size", "rooms"], "target": "price",
        "poly_degree": None, "intercept": 1.0, "coef": [2.0, 3.0], "scaling": None, "fit": {}}


def write(tmp_path, text: str):
    path = tmp_path / "model.json"
    path.write_text(text)
    return path


@pytest.mark.parametrize("depth", [10_000, 200_000])
def test_deeply_nested_json_is_refused_not_a_recursion_error(tmp_path, depth):
    path = write(tmp_path, "[" * depth + "]" * depth)
    with pytest.raises(BadDataError, match=r"model file '.*model\.json' is not a gradfit model \(JSON nested too deep"):
        load_model(path)
    nested = json.dumps(GOOD)[:-1] + ', "fit": ' + '{"a": ' * depth + "1" + "}" * depth + "}"
    with pytest.raises(BadDataError, match="nested too deep"):
        load_model(write(tmp_path, nested))


@pytest.mark.parametrize("change, match", [
    ({"features": "size"}, r"'features' must be a non-empty list of column names, got the string 'size'"),
    ({"features": 3}, r"'features' must be a non-empty list .*, got 3"),
    ({"features": {"size": 1}}, r"'features' must be .*, got an object"),
    ({"features": []}, r"'features' must be a non-empty list"),
    ({"features": ["size", 2]}, r"'features' must be a non-empty list of column names, got a list of 2 item"),
    ({"features": ["size", "size"]}, r"'features' names a column twice"),
    ({"coef": "2,3"}, r"'coef' must be a non-empty list of numbers, got the string '2,3'"),
    ({"coef": ["2", "3"]}, r"'coef' must be a non-empty list of numbers, got a list of 2 item\(s\) \['2', '3'\]"),
    ({"coef": [True, 3.0]}, r"'coef' must be a non-empty list of numbers"),
    ({"coef": [[2.0], [3.0]]}, r"'coef' must be a non-empty list of numbers, got a list of 2 item\(s\) \[\[…\], \[…\]\]"),
    ({"coef": [2.0, 10 ** 400]}, r"'coef' must be a non-empty list of numbers"),
    ({"coef": [2.0, 3.0, 4.0]}, r"it has 3 coefficient\(s\) for 2 design column\(s\)"),
    ({"intercept": "1.0"}, r"'intercept' must be a number or null, got the string '1.0'"),
    ({"poly_degree": 2.5}, r"'poly_degree' must be a positive integer or null, got 2.5"),
    ({"poly_degree": True}, r"'poly_degree' must be a positive integer or null, got the boolean true"),
    ({"poly_degree": 2}, r"a polynomial model has one feature, but 'features' names 2"),
    ({"target": ["price"]}, r"'target' must be a string or null"),
    ({"fit": [1]}, r"'fit' must be an object or null"),
])
def test_wrong_fields_name_the_model_file_and_the_field(tmp_path, change, match):
    path = write(tmp_path, json.dumps({**GOOD, **change}))
    with pytest.raises(BadDataError, match=r"model file '.*model\.json' is damaged: " + match):
        load_model(path)


@pytest.mark.parametrize("missing", ["features", "coef", "intercept"])
def test_a_missing_field_is_named(tmp_path, missing):
    data = {key: value for key, value in GOOD.items() if key != missing}
    with pytest.raises(BadDataError, match=f"damaged: it has no '{missing}'"):
        load_model(write(tmp_path, json.dumps(data)))


@pytest.mark.parametrize("value", ["NaN", "Infinity", "1e999"])
def test_non_finite_coefficients_are_refused(tmp_path, value):
    text = json.dumps(GOOD).replace('"coef": [2.0, 3.0]', f'"coef": [2.0, {value}]')
    with pytest.raises(BadDataError, match="damaged: a coefficient is not finite"):
        load_model(write(tmp_path, text))


def test_a_string_for_features_blames_the_model_file_not_the_data(tmp_path, capsys):
    from gradfit.cli import main

    (tmp_path / "data.csv").write_text("size,rooms\n1,2\n")
    model = write(tmp_path, json.dumps({**GOOD, "features": "size"}))
    assert main(["predict", str(model), str(tmp_path / "data.csv")]) == 2
    err = capsys.readouterr().err
    assert "model file" in err and "'features'" in err and "data file" not in err


def test_the_good_file_loads_and_predicts_by_name(tmp_path):
    import pandas as pd

    model = load_model(write(tmp_path, json.dumps(GOOD)))
    assert model.predict(pd.DataFrame({"rooms": [1.0], "size": [10.0], "age": [3.0]})).tolist() == [24.0]
    assert repr(model) == "SavedModel(target='price', features=['size', 'rooms'], intercept=1, coef=[2, 3])"


def test_saving_non_finite_coefficients_is_a_clear_error(tmp_path):
    with pytest.raises(BadDataError, match=r"cannot save a model whose coefficients are not all finite \(\[1, inf\]\)"):
        save_model(SavedModel(["x"], "y", None, 1.0, np.array([np.inf])), tmp_path / "m.json")
    assert not (tmp_path / "m.json").exists()


def test_non_finite_numbers_in_the_record_are_written_as_null(tmp_path):
    model = SavedModel(["x"], "y", None, 1.0, np.array([2.0]), fit_info={"val_loss": float("nan")})
    save_model(model, tmp_path / "m.json")
    assert json.loads((tmp_path / "m.json").read_text())["fit"]["val_loss"] is None
    assert load_model(tmp_path / "m.json").predict([1.0]).tolist() == [3.0]
