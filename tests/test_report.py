"""The update trace follows the published schedule; the table shows GD beside the closed form."""

import pytest

import gradfit
from gradfit.engines.common import is_traced
from gradfit.results.report import ordinal, trace_lines


@pytest.mark.parametrize("k, text", [(1, "1st"), (2, "2nd"), (3, "3rd"), (4, "4th"), (11, "11th"), (12, "12th"),
                                     (13, "13th"), (21, "21st"), (22, "22nd"), (23, "23rd"), (100, "100th"),
                                     (101, "101st"), (111, "111th"), (112, "112th"), (1002, "1002nd")])
def test_ordinals(k, text):
    assert ordinal(k) == text


def test_trace_schedule_for_the_tutorials_run():
    lines = trace_lines(gradfit.fit())
    expected_labels = (["Initial"] + [ordinal(k) + " update" for k in range(1, 16)]
                       + [ordinal(k) + " update" for k in range(100, 1000, 100)] + ["Final"])
    assert [line.split(":")[0] for line in lines] == expected_labels
    assert lines[0] == "Initial: b = 0.4967, w = -0.1383"
    assert lines[-1] == "Final: b = 1.0235, w = 1.9690"


def test_schedule_continues_by_powers_of_ten():
    traced = [k for k in range(1, 30001) if is_traced(k)]
    assert traced[15:] == list(range(100, 1000, 100)) + list(range(1000, 10000, 1000)) + [10000, 20000, 30000]


def test_several_features_print_the_weight_vector():
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.normal(size=(30, 2))
    res = gradfit.fit(x, x @ [1.0, 2.0] + 3, epochs=200, lr="auto")
    assert trace_lines(res)[0].startswith("Initial: b = ") and ", w = [" in trace_lines(res)[0]


def test_summary_has_both_answers_and_the_gap():
    text = gradfit.fit().summary()
    assert "1.02354094" in text and "1.02354075" in text  # GD and closed form, published values
    assert "1.96896411" in text and "1.96896447" in text
    assert "converged: yes" in text and "validation MSE" in text


def test_header_names_the_processes_of_a_distributed_run():
    from gradfit.results.report import header_line

    res = gradfit.fit()
    assert " on cpu, float64 " in header_line(res)
    res.world_size = 2
    assert " on 2 processes (cpu on rank 0), float64 " in header_line(res)
