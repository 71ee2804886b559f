"""TOML config files: the same options as the flags, flags win, mistakes are named."""

import json

import pytest

from gradfit.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_config_file_and_the_same_flags_give_identical_results(capsys, tmp_path):
    flags = ["--engine", "numpy", "--lr", "0.05", "--batch-size", "16", "--epochs", "40", "--seed", "7",
             "--tol", "10"]
    code, out_flags, _ = run(capsys, "fit", *flags, "--json")
    assert code == 0
    (tmp_path / "run.toml").write_text(
        '[model]\nengine = "numpy"\n[training]\nlr = 0.05\nbatch_size = 16\nepochs = 40\nseed = 7\ntol = 10\n'
        '[output]\njson = true\n')
    code, out_config, _ = run(capsys, "fit", "--config", str(tmp_path / "run.toml"))
    assert code == 0
    assert json.loads(out_config) == json.loads(out_flags)


def test_flags_on_the_command_line_win(capsys, tmp_path):
    (tmp_path / "run.toml").write_text("[training]\nepochs = 40\nlr = 0.05\n")
    code, out, _ = run(capsys, "fit", "--config", str(tmp_path / "run.toml"), "--epochs", "7", "--json",
                       "--tol", "10")
    data = json.loads(out)
    assert (data["epochs"], data["lr"]) == (7, 0.05)


def test_gradfit_config_prints_a_file_that_reproduces_the_run(capsys, tmp_path):
    code, toml, _ = run(capsys, "config", "--engine", "torch", "--lr", "0.05", "--batch-size", "8", "--epochs", "5",
                        "--tol", "10", "--json")
    assert code == 0 and "[training]" in toml and "lr = 0.05" in toml and "batch_size = 8" in toml
    (tmp_path / "run.toml").write_text(toml)
    from_file = json.loads(run(capsys, "fit", "--config", str(tmp_path / "run.toml"))[1])
    from_flags = json.loads(run(capsys, "fit", "--engine", "torch", "--lr", "0.05", "--batch-size", "8",
                                "--epochs", "5", "--tol", "10", "--json")[1])
    assert from_file == from_flags


def test_relative_data_paths_are_relative_to_the_config_file(capsys, tmp_path, monkeypatch):
    (tmp_path / "d.csv").write_text("x,y\n0,1\n1,3\n2,5\n3,7.1\n")
    (tmp_path / "run.toml").write_text('[data]\ndata = "d.csv"\ntarget = "y"\n[output]\njson = true\n')
    monkeypatch.chdir("/")
    code, out, err = run(capsys, "fit", "--config", str(tmp_path / "run.toml"), "--lr", "auto")
    assert code == 0, err
    assert json.loads(out)["n_train"] == 4


@pytest.mark.parametrize("content, fragment", [
    ("[training]\nlrr = 3\n", "unknown option 'lrr' in [training] (did you mean 'lr'?)"),
    ("[model]\nlr = 3\n", "unknown option 'lr' in [model] (it belongs in [training])"),
    ("[trainig]\nlr = 3\n", "unknown table [trainig] (did you mean 'training'?)"),
    ("[model\n", "is not valid TOML"),
    ("[output]\njson = 1\n", "must be true or false"),
    ("[training]\nepochs = 0\n", "--epochs 0: must be a positive integer"),
])
def test_config_mistakes_exit_2_with_one_line(capsys, tmp_path, content, fragment):
    (tmp_path / "bad.toml").write_text(content)
    code, out, err = run(capsys, "fit", "--config", str(tmp_path / "bad.toml"))
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and fragment in err, err


def test_missing_config_file(capsys, tmp_path):
    code, _, err = run(capsys, "fit", "--config", str(tmp_path / "nope.toml"))
    assert code == 2 and "not found" in err
