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
    ("[output]\njson = 1\n", "[output] json = 1: must be true or false, e.g. json = true"),
    ("[training]\nepochs = 0\n", "[training] epochs = 0: must be a positive integer; e.g. epochs = 1000"),
    # a key above every table header: the table it belongs in
    ('engine = "torch"\n', 'engine = "torch" is outside any table; engine belongs in [model]: write [model] on a '
                            'line above engine = …'),
    ('data = "d.csv"\n', "data belongs in [data]: write [data]"),
    ("lrr = 3\n", "'lrr' is not an option (did you mean 'lr', in [training]?)"),
])
def test_config_mistakes_exit_2_with_one_line(capsys, tmp_path, content, fragment):
    (tmp_path / "bad.toml").write_text(content)
    code, out, err = run(capsys, "fit", "--config", str(tmp_path / "bad.toml"))
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and fragment in err, err


@pytest.mark.parametrize("content, fragment", [
    # a value of the wrong type: file, table, key, what was given, what is expected
    ("[training]\nlr = [0.1, \"x\"]\n", '[training] lr = [0.1, "x"]: must be a number, "auto", or a list of numbers'),
    ("[training]\nlr = {a = 1}\n", "[training] lr = {a = 1}: must be a number"),
    ("[training]\nepochs = [3]\n", "[training] epochs = [3]: must be an integer, e.g. epochs = 1000"),
    ("[training]\nepochs = 2.5\n", "[training] epochs = 2.5: must be an integer"),
    ("[training]\nseed = true\n", "[training] seed = true: must be an integer, e.g. seed = 42"),
    ("[training]\nbatch_size = \"8\"\n", '[training] batch_size = "8": must be an integer, without quotes: '
                                          "batch_size = 8"),
    ("[training]\ntol = {x = 1}\n", "[training] tol = {x = 1}: must be a number, e.g. tol = 0.0001"),
    ("[model]\nengine = {a = 1}\n", '[model] engine = {a = 1}: must be text in quotes, e.g. engine = "auto"'),
    ("[model]\ndevice = 0\n", '[model] device = 0: must be text in quotes, e.g. device = "auto"'),
    ("[data]\nfeatures = 3\n", "[data] features = 3: must be a list of column names in quotes"),
    ("[data]\nfeatures = [1, 2]\n", "[data] features = [1, 2]: must be a list of column names in quotes"),
    ("[data]\ntarget = 3\n", '[data] target = 3: must be text in quotes: target = "3"'),
    ("[data]\npoly = 2.0\n", "[data] poly = 2.0: must be an integer"),
    ("[data]\nval_split = [0.2]\n", "[data] val_split = [0.2]: must be a number"),
    ("[data]\nchunk_rows = [1]\n", "[data] chunk_rows = [1]: must be an integer"),
    ("[data]\nintercept = \"no\"\n", '[data] intercept = "no": must be true or false'),
    ("[output]\nplot = 3\n", '[output] plot = 3: must be text in quotes: plot = "3"'),
    ("[output]\ncheckpoint = [\"a\"]\n", '[output] checkpoint = ["a"]: must be text in quotes'),
    # the right type, a value the option refuses: named in the file's words
    ("[training]\noptimizer = \"adamw\"\n", '[training] optimizer = "adamw": unknown optimizer; choose one of'),
    ("[data]\nval_split = 1.5\n", "[data] val_split = 1.5: must be at least 0 and below 1; e.g. val_split = 0.2"),
    ("[training]\nlr = [0.1, -1]\n", "[training] lr = [0.1, -1]: must be a positive number"),
])
def test_config_values_of_the_wrong_type_exit_2_with_one_line(capsys, tmp_path, content, fragment):
    (tmp_path / "bad.toml").write_text(content)
    code, out, err = run(capsys, "fit", "--config", str(tmp_path / "bad.toml"))
    assert code == 2 and out == "", err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert err.startswith(f"gradfit fit: error: {tmp_path / 'bad.toml'}: {fragment}"), err


def test_lists_and_comma_rates_are_sweeps_in_a_config_file(capsys, tmp_path):
    for value in ("[0.05, 0.1]", '"0.05,0.1"'):
        (tmp_path / "sweep.toml").write_text(f"[training]\nlr = {value}\nepochs = 20\n[output]\njson = true\n")
        code, out, err = run(capsys, "fit", "--config", str(tmp_path / "sweep.toml"))
        assert code == 0, err
        assert [row["lr"] for row in json.loads(out)["sweep"]] == [0.05, 0.1]


def test_lr_find_reads_the_options_it_uses_from_a_fit_config(capsys, tmp_path):
    (tmp_path / "run.toml").write_text("[training]\nlr = 0.05\nbatch_size = 8\npatience = 5\n[output]\njson = true\n")
    code, out, err = run(capsys, "lr-find", "--config", str(tmp_path / "run.toml"))
    assert code == 0, err
    assert json.loads(out)["batch_size"] == 8  # the rate and the patience are fit's alone


def test_missing_config_file(capsys, tmp_path):
    code, _, err = run(capsys, "fit", "--config", str(tmp_path / "nope.toml"))
    assert code == 2 and "not found" in err


def test_every_option_a_config_file_can_set_has_a_type_to_check():
    from gradfit.cli.options import OPTIONS, value_types

    for option in OPTIONS:
        types = value_types(option)
        assert types and set(types) <= {bool, int, float, str}, option.name
        if option.default is not None:  # the default itself passes the check
            assert isinstance(option.default, types), option.name
