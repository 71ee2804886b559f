"""The autograd graph: DOT text with the right parameters and nodes; PNG/SVG only where ``dot`` exists."""

from __future__ import annotations

import shutil
import sys

import pytest

from gradfit.figures import graph
from gradfit.errors import BadOptionError, GradfitError

HAS_DOT = shutil.which("dot") is not None


@pytest.fixture(scope="module")
def manual_source():
    return graph.autograd_graph("manual").source


def test_manual_model_graph_has_b_w_and_the_loss(manual_source):
    # Parameter nodes are labelled "<name>\n (<shape>)"; autograd nodes by their backward class.
    assert 'label="b\n (1)"' in manual_source and 'label="w\n (1)"' in manual_source
    for node in ("MseLossBackward0", "AddBackward0", "MmBackward0", "AccumulateGrad"):
        assert node in manual_source
    assert 'label="loss\n ()"' in manual_source
    assert manual_source.lstrip().startswith("digraph")


def test_linear_model_graph_has_weight_and_bias():
    source = graph.autograd_graph("linear", n_features=3).source
    assert 'label="weight\n (1, 3)"' in source and 'label="bias\n (1)"' in source
    assert "MseLossBackward0" in source and "AddmmBackward0" in source
    assert '"b\n' not in source


def test_write_graph_dot_only(tmp_path):
    paths, note = graph.write_graph(tmp_path, formats=("dot",))
    assert paths == [tmp_path / "autograd-manual.dot"] and note is None
    text = paths[0].read_text(encoding="utf-8")
    assert text.startswith("digraph") and "MseLossBackward0" in text


def test_without_dot_the_note_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setattr(graph.shutil, "which", lambda name: None)
    paths, note = graph.write_graph(tmp_path / "run.v2.png", model="linear")
    assert paths == [tmp_path / "run.v2.dot"]  # the suffix replaced, the dotted stem kept
    for hint in ("apt-get install graphviz", "brew install graphviz", "conda install graphviz"):
        assert hint in note


def test_a_failing_dot_gives_a_note_not_a_traceback(tmp_path, monkeypatch):
    monkeypatch.setattr(graph.shutil, "which", lambda name: "/usr/bin/dot")
    monkeypatch.setenv("PATH", str(tmp_path))  # graphviz then cannot find dot
    paths, note = graph.write_graph(tmp_path)
    assert [p.suffix for p in paths] == [".dot"] and "could not render PNG" in note


@pytest.mark.skipif(not HAS_DOT, reason="Graphviz 'dot' is not installed")
def test_with_dot_png_and_svg_are_rendered(tmp_path):
    paths, note = graph.write_graph(tmp_path / "graphs", model="manual")
    assert note is None
    assert [p.name for p in paths] == ["autograd-manual.dot", "autograd-manual.png", "autograd-manual.svg"]
    assert paths[1].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = paths[2].read_text(encoding="utf-8")
    assert "<svg" in svg and "MseLossBackward0" in svg


def test_missing_torchviz_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torchviz", None)  # makes "import torchviz" fail
    with pytest.raises(GradfitError, match="pip install torchviz"):
        graph.write_graph(tmp_path)


@pytest.mark.parametrize("options, match", [
    (dict(model="mlp"), "manual, linear"),
    (dict(n_features=0), "positive integer"),
    (dict(formats=("jpg",)), "dot, png, svg"),
    (dict(formats=()), "dot, png, svg"),
])
def test_bad_options(tmp_path, options, match):
    with pytest.raises(BadOptionError, match=match):
        graph.write_graph(tmp_path, **options)
