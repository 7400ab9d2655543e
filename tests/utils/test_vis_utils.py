"""plot_model/model_to_dot: the DOT graph of Sequential and functional models, .dot output
with no dependency, and clear errors without graphviz or pydot."""

import re
import sys

import pytest

import savepoint as keras
from savepoint.errors import ConfigError, MissingDependencyError
from savepoint.utils import vis_utils


def functional():
    a, b = keras.Input((4,), name="a"), keras.Input((4,), name="b")
    x = keras.layers.Dense(3, name="da")(a)
    y = keras.layers.Dense(3, name="db")(b)
    out = keras.layers.Add(name="add")([x, y])
    return keras.Model([a, b], keras.layers.Dense(1, name="out")(out))


def edges(text):
    names = dict(re.findall(r'  (\d+) \[label="([^:"]+)', text))
    return sorted((names[s], names[t]) for s, t in re.findall(r"  (\d+) -> (\d+);", text))


def test_functional_graph_edges(tmp_path):
    model = functional()
    path = keras.utils.plot_model(model, str(tmp_path / "m.dot"), show_shapes=True,
                                  show_trainable=True, rankdir="LR")
    text = open(path).read()
    assert text.startswith("digraph G {") and "rankdir=LR" in text
    assert edges(text) == [("a", "da"), ("add", "out"), ("b", "db"), ("da", "add"),
                           ("db", "add")]
    assert "output: (None, 1)" in text and "trainable: T" in text


def test_sequential_chain_and_layer_range():
    model = keras.Sequential([keras.layers.Dense(2, input_shape=(3,), name="x"),
                              keras.layers.Dense(2, name="y"), keras.layers.Dense(1, name="z")])
    assert edges(vis_utils.dot_source(model)) == [("x", "y"), ("y", "z")]
    assert edges(vis_utils.dot_source(model, layer_range=["y", "z"])) == [("y", "z")]
    with pytest.raises(ConfigError, match="Expected layer_range to be two layer names"):
        vis_utils.dot_source(model, layer_range=["nope", "z"])


def test_missing_graphviz_and_pydot(tmp_path, monkeypatch):
    model = functional()
    monkeypatch.setattr(vis_utils.shutil, "which", lambda name: None)
    with pytest.raises(MissingDependencyError, match="install graphviz.*no `dot` program on "
                                                     "PATH.*to_file='model.dot'"):
        keras.utils.plot_model(model, str(tmp_path / "m.png"))
    monkeypatch.setitem(sys.modules, "pydot", None)
    with pytest.raises(MissingDependencyError, match="no module named 'pydot'"):
        keras.utils.model_to_dot(model)
