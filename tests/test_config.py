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
    ({"optimizer": "adam", "engine": "exact"}, r"exact engine runs plain gradient descent only"),
    ({"model": "linear", "engine": "numpy"}, r"--model chooses a torch module"),
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
