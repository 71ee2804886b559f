import numpy as np
import pytest

from gradfit.data import load_dataset
from gradfit.errors import BadDataError

from published import CLOSED_FORM


def test_book_matches_the_tutorials_generation(book_arrays):
    x_train, y_train, x_val, y_val = book_arrays
    data = load_dataset("book")
    np.testing.assert_array_equal(data.x_train, x_train)
    np.testing.assert_array_equal(data.y_train, y_train[:, 0])
    np.testing.assert_array_equal(data.x_val, x_val)
    np.testing.assert_array_equal(data.y_val, y_val[:, 0])
    assert (len(data.y_train), len(data.y_val)) == (80, 20)
    assert data.feature_names == ["x"] and data.target_name == "y"


def test_book_training_split_has_the_published_least_squares_answer():
    data = load_dataset("book")
    design = np.column_stack([np.ones(80), data.x_train[:, 0]])
    b, w = np.linalg.lstsq(design, data.y_train, rcond=None)[0]
    assert b == pytest.approx(CLOSED_FORM[0], abs=5e-9)
    assert w == pytest.approx(CLOSED_FORM[1], abs=5e-9)


def test_generating_book_leaves_the_global_numpy_seed_alone():
    np.random.seed(7)
    expected = np.random.rand()
    np.random.seed(7)
    load_dataset("book")
    assert np.random.rand() == expected


def test_unknown_dataset_names_the_known_ones():
    with pytest.raises(BadDataError, match="no embedded dataset named 'nope'.*book"):
        load_dataset("nope")
