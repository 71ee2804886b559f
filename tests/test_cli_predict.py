"""``gradfit predict``: predictions beside the input columns they belong to (--keep), one-line errors."""

import csv
import io
import json

import numpy as np
import pandas as pd
import pytest

from gradfit.cli import main
from gradfit.results.model_file import SavedModel, save_model


def run(capsys, *argv):
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def model(tmp_path):
    """y ≈ 1 + 2·size − 3·rooms, saved as gradfit fit --save-model writes it."""
    path = tmp_path / "model.json"
    save_model(SavedModel(["size", "rooms"], "price", None, 1.0, np.array([2.0, -3.0])), path)
    return path


@pytest.fixture
def new_rows(tmp_path):
    """Ids that are text (leading zeros), a text column with a comma and an empty cell, the
    features in another order than the model's, and no target."""
    path = tmp_path / "new.csv"
    path.write_text('id,rooms,note,size\n007,1,"big, bright",10\n008,2,,20.50\n009,3,NA,30\n')
    return path


def rows(text):
    return list(csv.reader(io.StringIO(text)))


def test_by_default_every_input_column_is_kept_as_written_then_the_prediction(capsys, model, new_rows):
    code, out, err = run(capsys, "predict", str(model), str(new_rows))
    assert code == 0 and err == ""
    table = rows(out)
    assert table[0] == ["id", "rooms", "note", "size", "price_predicted"]
    assert [row[:4] for row in table[1:]] == [["007", "1", "big, bright", "10"], ["008", "2", "", "20.50"],
                                               ["009", "3", "NA", "30"]]  # the file's own text, nothing re-read
    expected = [1 + 2 * 10 - 3 * 1, 1 + 2 * 20.5 - 3 * 2, 1 + 2 * 30 - 3 * 3]  # computed here, not by the model
    assert [float(row[4]) for row in table[1:]] == expected


def test_keep_chooses_the_columns_and_their_order(capsys, model, new_rows, tmp_path):
    out_csv = tmp_path / "pred.csv"
    code, out, err = run(capsys, "predict", str(model), str(new_rows), "--keep", "note,id", "--out", str(out_csv))
    assert code == 0 and out == "", err
    table = rows(out_csv.read_text())
    assert table[0] == ["note", "id", "price_predicted"]
    assert [row[:2] for row in table[1:]] == [["big, bright", "007"], ["", "008"], ["NA", "009"]]
    code, out, _ = run(capsys, "predict", str(model), str(new_rows), "--keep", "")
    assert rows(out) == [["price_predicted"], ["18.0"], ["36.0"], ["52.0"]]


def test_kept_columns_stay_beside_their_rows_when_dropna_drops_some(capsys, model, tmp_path):
    path = tmp_path / "gaps.csv"
    path.write_text("id,size,rooms\na,1,1\nb,,1\nc,2,\nd,3,1\n")
    code, out, err = run(capsys, "predict", str(model), str(path), "--keep", "id", "--dropna")
    assert code == 0 and "dropped 2 row(s)" in err
    assert rows(out) == [["id", "price_predicted"], ["a", "0.0"], ["d", "4.0"]]


def test_parquet_columns_of_any_type_are_kept(capsys, model, tmp_path):
    frame = pd.DataFrame({"id": ["007", "008"], "when": pd.to_datetime(["2024-01-01", "2024-02-01"]),
                          "flag": [True, None], "size": [1.5, 2.0], "rooms": [1, 2]})
    frame.to_parquet(tmp_path / "new.parquet")
    code, out, err = run(capsys, "predict", str(model), str(tmp_path / "new.parquet"), "--keep", "id,when,flag")
    assert code == 0, err
    assert rows(out) == [["id", "when", "flag", "price_predicted"], ["007", "2024-01-01 00:00:00", "True", "1.0"],
                         ["008", "2024-02-01 00:00:00", "", "-1.0"]]


def test_json_is_the_predictions_alone(capsys, model, new_rows):
    code, out, _ = run(capsys, "predict", str(model), str(new_rows), "--json")
    assert code == 0 and json.loads(out) == {"predictions": [18.0, 36.0, 52.0]}


@pytest.mark.parametrize("args, message", [
    (["--keep", "idd"], "--keep idd: {data} has no column 'idd' (did you mean 'id'?); its columns are id, rooms, "
                        "note, size"),
    (["--keep", "id,,size"], "--keep id,,size: has an empty column name; separate names with commas: --keep id,date"),
    (["--keep", "id,id"], "--keep id,id: names 'id' more than once; list each column once"),
    (["--keep", "id", "--json"], "--keep id: chooses the columns of the CSV output, and --json prints the "
                                 "predictions alone; add --out FILE to write the CSV too, or leave --keep out"),
])
def test_keep_mistakes_exit_2_with_one_line(capsys, model, new_rows, tmp_path, args, message):
    out_csv = tmp_path / "pred.csv"
    out_csv.write_text("old")
    code, out, err = run(capsys, "predict", str(model), str(new_rows), *args)
    assert code == 2 and out == ""
    assert err.strip().splitlines() == [f"gradfit predict: error: {message.format(data=new_rows)}"]
    assert out_csv.read_text() == "old"


def test_a_column_named_like_the_prediction_is_not_written_twice(capsys, model, tmp_path):
    path = tmp_path / "again.csv"
    path.write_text("id,size,rooms,price_predicted\na,1,1,0.0\n")
    code, out, err = run(capsys, "predict", str(model), str(path))
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert "already has a column 'price_predicted'" in err and "--keep id,size,rooms" in err
