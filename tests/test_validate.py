"""The shape contract: 1-D x is one feature, (n,) and (n, 1) y agree, anything else is a clear error."""

import numpy as np
import pytest

import gradfit
from gradfit.data import as_problem
from gradfit.errors import BadDataError


def test_1d_and_column_targets_give_identical_results(book_arrays):
    x, y, _, _ = book_arrays
    for engine in ("numpy", "exact", "torch"):
        column = gradfit.fit(x, y, engine=engine)
        flat = gradfit.fit(x[:, 0], y[:, 0], engine=engine)
        np.testing.assert_array_equal(column.params.theta, flat.params.theta)
        np.testing.assert_array_equal(column.history.train_loss, flat.history.train_loss)


def test_targets_are_1d_inside_so_no_loss_can_broadcast(book_arrays):
    x, y, _, _ = book_arrays
    problem = as_problem(x, y)
    assert problem.x_train.shape == (80, 1) and problem.y_train.shape == (80,)


def test_row_vector_of_samples_is_the_tutorials_trap(book_arrays):
    x, y, _, _ = book_arrays
    with pytest.raises(ValueError, match=r"x has shape \(1, 80\) \(1 row\) but y has shape \(80, 1\).*reshape\(-1, 1\)"):
        gradfit.fit(x.T, y)


def test_row_count_mismatch_names_both_shapes(book_arrays):
    x, y, _, _ = book_arrays
    with pytest.raises(ValueError, match=r"x has shape \(80, 1\) \(80 rows\) but y has shape \(79, 1\)"):
        gradfit.fit(x, y[:79])


@pytest.mark.parametrize("y_shape", [(80, 2), (1, 80), (80, 1, 1)])
def test_targets_of_other_shapes_are_refused(y_shape):
    with pytest.raises(BadDataError, match=r"y has shape .*expected \(n_samples,\) or \(n_samples, 1\)"):
        gradfit.fit(np.zeros((80, 1)), np.zeros(y_shape))


def test_three_dimensional_features_are_refused():
    with pytest.raises(BadDataError, match=r"x has shape \(80, 1, 1\)"):
        gradfit.fit(np.zeros((80, 1, 1)), np.zeros(80))


@pytest.mark.parametrize("bad, word", [(np.nan, "NaN"), (np.inf, "infinite")])
def test_non_finite_values_name_row_and_column(bad, word):
    x = np.arange(20.0).reshape(10, 2)
    x[3, 1] = bad
    with pytest.raises(BadDataError, match=rf"row 3, column 1 \(.*{word}"):
        gradfit.fit(x, np.arange(10.0))


def test_non_numeric_data_is_refused():
    with pytest.raises(BadDataError, match="x is not numeric: row 0 has 'a'"):
        gradfit.fit(["a", "b", "c"], [1.0, 2.0, 3.0])


def test_fewer_rows_than_parameters():
    with pytest.raises(BadDataError, match="2 training rows for 3 parameters"):
        gradfit.fit(np.ones((2, 2)), np.ones(2))


def test_validation_rows_need_the_same_columns():
    with pytest.raises(BadDataError, match="x_val has 2 features"):
        gradfit.fit(np.random.rand(10, 1), np.random.rand(10), val=(np.random.rand(5, 2), np.random.rand(5)))


def test_collinear_columns_are_named():
    x = np.random.default_rng(0).normal(size=(20, 1))
    with pytest.raises(BadDataError, match="'x2' is a linear combination of 'x1'"):
        gradfit.fit(np.column_stack([x, 2 * x]), x[:, 0])


def test_val_split_holds_out_a_seeded_fraction():
    x = np.arange(100.0)
    y = 3 * x + 1
    res = gradfit.fit(x, y, val_split=0.25, lr="auto", epochs=1, tol=1e3)
    assert (res.n_train, res.n_val) == (75, 25)
    p1 = as_problem(x, y, val_split=0.25, seed=5)
    p2 = as_problem(x, y, val_split=0.25, seed=5)
    np.testing.assert_array_equal(p1.x_val, p2.x_val)
    assert sorted(np.concatenate([p1.x_train[:, 0], p1.x_val[:, 0]])) == list(x)


def test_torch_tensors_are_accepted(book_arrays):
    import torch

    x, y, _, _ = book_arrays
    res = gradfit.fit(torch.tensor(x, requires_grad=True), torch.tensor(y))
    np.testing.assert_array_equal(res.params.theta, gradfit.fit(x, y).params.theta)
