"""Options are validated up front, with the option named in the error."""

import pytest

import gradfit
from gradfit import BadOptionError, FitConfig


@pytest.mark.parametrize("kwargs, match", [
    ({"epochs": 0}, r"epochs=0: must be a positive integer"),
    ({"epochs": 2.5}, r"epochs=2.5: must be an integer"),
    ({"lr": 0}, r"lr=0: must be a positive number"),
    ({"lr": float("nan")}, r"lr=nan: must be a positive number"),
    ({"lr": "fast"}, r"lr='fast': must be a positive number such as 0.1, or auto"),
    ({"batch_size": -1}, r"batch_size=-1: must be a positive integer"),
    ({"engine": "jax"}, r"engine='jax': unknown engine"),
    ({"optimizer": "adam", "engine": "exact"}, r"exact engine runs sgd or fista only"),
    ({"dtype": "float32", "engine": "exact"}, r"exact engine computes in float64"),
    ({"model": "linear", "engine": "numpy"}, r"model chooses how torch trains; the numpy engine has none; use engine=.torch., or leave model out"),
    ({"device": "cuda", "engine": "numpy"}, r"numpy engine runs on the CPU"),
    ({"optimizer": "adam", "lr": "auto"}, r"not adam"),
    ({"val_split": -0.1}, r"val_split=-0.1: must be at least 0 and below 1"),
    ({"tol": 0}, r"tol=0: must be a positive number"),
    ({"seed": -3}, r"seed=-3: must be 0 or a positive integer"),
    ({"dtype": "float16"}, r"dtype='float16': unknown dtype"),
])
def test_bad_options_raise_with_the_option_named(kwargs, match):
    with pytest.raises(BadOptionError, match=match):
        gradfit.fit(**kwargs)


def test_command_line_strings_are_converted():
    cfg = FitConfig(lr="0.5", epochs="10", batch_size="4", seed="1", val_split="0.2", tol="1e-6").validate()
    assert (cfg.lr, cfg.epochs, cfg.batch_size, cfg.seed, cfg.val_split, cfg.tol) == (0.5, 10, 4, 1, 0.2, 1e-6)
    assert FitConfig(lr=" AUTO ").validate().lr == "auto"


def test_default_dtypes_follow_the_tutorial():
    cfg = FitConfig().validate()
    assert cfg.resolved_dtype("torch") == "float32"
    assert cfg.resolved_dtype("numpy") == cfg.resolved_dtype("exact") == "float64"


def test_init_of_the_wrong_length_is_refused():
    with pytest.raises(BadOptionError, match="must hold 2 finite values"):
        gradfit.fit(init=[1.0, 2.0, 3.0])


# ---------------------------------------------------------------- one declaration of each option

def test_the_signatures_list_the_declared_options_with_their_defaults():
    import inspect

    from gradfit import config

    for function in (gradfit.fit, gradfit.solve, gradfit.fit_streaming, gradfit.solve_streaming):
        parameters = inspect.signature(function).parameters
        declared = config.options_of(function.__name__)
        assert declared, function.__name__
        for spec in declared:
            assert parameters[spec.name].default == spec.default, (function.__name__, spec.name)
            assert parameters[spec.name].kind is inspect.Parameter.KEYWORD_ONLY
            assert f"{spec.name} : " in function.__doc__  # its documentation, from the declaration
    assert "lr" not in inspect.signature(gradfit.solve).parameters  # solve takes no training options


def test_an_unknown_keyword_is_a_type_error_naming_the_closest_option():
    with pytest.raises(TypeError, match=r"fit\(\) got an unexpected keyword argument 'lrr' \(did you mean 'lr'\?\)"):
        gradfit.fit(lrr=0.1)
    with pytest.raises(TypeError, match=r"solve\(\) got an unexpected keyword argument 'epochs'"):
        gradfit.solve(epochs=10)


def test_the_command_line_and_toml_take_every_declared_option_under_its_name(capsys):
    from gradfit import config
    from gradfit.cli.options import BY_DEST, OPTIONS, dump_config, effective_options
    from gradfit.cli.parser import build_parser

    for spec in config.options():
        if spec.commands:
            assert BY_DEST[spec.name] is spec  # the same object: nothing restated
    parser = build_parser()
    toml = dump_config(effective_options(parser.parse_args(["fit"]), "fit"))
    with pytest.raises(SystemExit):
        parser.parse_args(["fit", "--help"])
    fit_help = capsys.readouterr().out
    for spec in OPTIONS:
        if "fit" in spec.commands and spec.name != "data":
            assert spec.cli_flag in fit_help, spec.name
            assert f"{spec.name} =" in toml, spec.name  # set, or listed as "# name =  # unset"


def test_the_checkpoint_fingerprint_holds_exactly_the_options_that_shape_a_run(tmp_path):
    from gradfit.config import RUN_SHAPING
    from gradfit.training.checkpoint import load_checkpoint

    path = tmp_path / "run.pt"
    gradfit.fit(engine="numpy", epochs=3, checkpoint=str(path), tol=1e3)
    saved = load_checkpoint(path)["extra"]["fit"]
    assert set(RUN_SHAPING) == {"intercept", "standardize", "model", "dtype", "optimizer", "lr", "batch_size",
                                "seed", "patience", "scheduler", "l1", "l2", "update", "loss", "shuffle_buffer"}
    assert set(RUN_SHAPING) <= set(saved)
    assert (saved["lr"], saved["dtype"], saved["model"], saved["standardize"]) == (0.1, "float64", None, False)


# ---------------------------------------------------------------- one message, two languages

@pytest.mark.parametrize("kwargs, flags, python, cli", [
    ({"engine": "numpy", "optimizer": "adam"}, ["--engine", "numpy", "--optimizer", "adam"],
     "optimizer='adam': the numpy engine runs sgd or fista only; use engine='torch' for adam",
     "--optimizer adam: the numpy engine runs sgd or fista only; use --engine torch for adam"),
    ({"checkpoint_every": 5}, ["--checkpoint-every", "5"],
     "checkpoint_every=5: needs a checkpoint file; add checkpoint=PATH",
     "--checkpoint-every 5: needs a checkpoint file; add --checkpoint PATH"),
    ({"tol": 0}, ["--tol", "0"], "tol=0: must be a positive number; e.g. tol=1e-4",
     "--tol 0: must be a positive number; e.g. --tol 1e-4"),
    ({"lr": 1.1}, ["--lr", "1.1"], "try lr=0.4 or lr='auto'", "try --lr 0.4 or --lr auto"),
])
def test_a_message_names_the_parameter_from_python_and_the_flag_from_the_command_line(
        capsys, kwargs, flags, python, cli):
    from gradfit.cli import main

    with pytest.raises(gradfit.GradfitError) as info:
        gradfit.fit(**kwargs)
    assert python in str(info.value) and "--" not in str(info.value)
    assert main(["fit", *flags]) == info.value.exit_code
    err = capsys.readouterr().err
    assert cli in err and len(err.strip().splitlines()) == 1


def test_auto_sends_float32_to_an_engine_that_computes_in_float32():
    res = gradfit.fit(dtype="float32")
    assert (res.engine, res.dtype) == ("torch", "float32")
