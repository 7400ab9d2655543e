"""Functional models: several inputs and outputs, list and dict inputs, shared and nested layers."""

import weakref

import numpy as np
import pytest
import torch

import savepoint as keras
from savepoint import layers as L
from savepoint.errors import ConfigError, ShapeError


def _two_in_two_out():
    a = keras.Input((3,), name="a")
    b = keras.Input((2,), name="b")
    h = L.Dense(4, activation="relu", name="ha")(a)
    o1 = L.Dense(2, name="o1")(h)
    o2 = L.Dense(1, name="o2")(L.Dense(3, name="hb")(b))
    return keras.Model([a, b], [o1, o2], name="two")


def _reference(model, xa, xb):
    w = {l.name: l.get_weights() for l in model.layers if l.weights}
    h = np.maximum(xa @ w["ha"][0] + w["ha"][1], 0)
    o1 = h @ w["o1"][0] + w["o1"][1]
    o2 = (xb @ w["hb"][0] + w["hb"][1]) @ w["o2"][0] + w["o2"][1]
    return o1, o2


def test_multi_input_multi_output_structure():
    model = _two_in_two_out()
    # tf.keras's order (deepest first), checked against tf-keras 2.21
    assert [l.name for l in model.layers] == ["a", "b", "ha", "hb", "o1", "o2"]
    assert model.input_names == ["a", "b"]
    assert model.output_names == ["o1", "o2"]
    assert [t.shape for t in model.inputs] == [(None, 3), (None, 2)]
    assert [t.shape for t in model.outputs] == [(None, 2), (None, 1)]


@pytest.mark.parametrize("as_dict", [False, True])
def test_multi_input_call_and_predict_match_reference(as_dict):
    model = _two_in_two_out()
    rng = np.random.RandomState(0)
    xa, xb = rng.rand(5, 3).astype("float32"), rng.rand(5, 2).astype("float32")
    inputs = {"b": xb, "a": xa} if as_dict else [xa, xb]
    o1, o2 = _reference(model, xa, xb)
    out = model(inputs)
    assert isinstance(out, list) and len(out) == 2
    np.testing.assert_allclose(out[0].detach().numpy(), o1, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out[1].detach().numpy(), o2, rtol=1e-5, atol=1e-6)
    pred = model.predict(inputs, batch_size=2, verbose=0)
    assert isinstance(pred, list) and [p.shape for p in pred] == [(5, 2), (5, 1)]
    np.testing.assert_allclose(pred[0], o1, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(pred[1], o2, rtol=1e-5, atol=1e-6)


def test_dict_outputs_keep_their_structure():
    x = keras.Input((3,), name="x")
    model = keras.Model(x, {"p": L.Dense(2, name="p")(x), "q": L.Dense(1, name="q")(x)})
    out = model.predict(np.ones((4, 3)), verbose=0)
    assert isinstance(out, dict) and sorted(out) == ["p", "q"]
    assert out["p"].shape == (4, 2) and out["q"].shape == (4, 1)


def test_missing_or_extra_inputs_are_refused():
    model = _two_in_two_out()
    with pytest.raises(ConfigError, match=r"Missing input\(s\) \['b'\]\. Expected a dict with "
                                          r"keys \['a', 'b'\]\. Received keys \['a'\]"):
        model({"a": np.ones((1, 3))})
    with pytest.raises(ConfigError, match=r"The model expects 2 input\(s\) \(\['a', 'b'\]\), "
                                          r"but it received 1 input\(s\)"):
        model(np.ones((1, 3)))
    with pytest.raises(ShapeError, match=r'Input "b" is incompatible with the model: expected '
                                         r"shape=\(None, 2\), found shape=\(1, 4\)"):
        model([np.ones((1, 3)), np.ones((1, 4))])


def test_shared_layer_has_one_set_of_weights():
    x1, x2 = keras.Input((3,)), keras.Input((3,))
    shared = L.Dense(2, name="shared")
    model = keras.Model([x1, x2], [shared(x1), shared(x2)])
    assert [l.name for l in model.layers] == ["input_1", "input_2", "shared"]
    assert [w.path for w in model.weights] == ["shared/kernel", "shared/bias"]
    assert model.count_params() == 8
    v = np.random.RandomState(1).rand(4, 3).astype("float32")
    out = model([v, 2 * v])
    k, b = shared.get_weights()
    np.testing.assert_allclose(out[0].detach().numpy(), v @ k + b, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out[1].detach().numpy(), 2 * v @ k + b, rtol=1e-5, atol=1e-6)


def test_sequential_nested_in_a_functional_model():
    inner = keras.Sequential([L.Dense(4, activation="relu", input_shape=(3,)), L.Dense(2)],
                             name="inner")
    x = keras.Input((3,))
    outer = keras.Model(x, L.Dense(1, name="head")(inner(x)))
    assert [l.name for l in outer.layers] == ["input_1", "inner", "head"]
    assert [w.path for w in outer.weights] == ["dense/kernel", "dense/bias", "dense_1/kernel",
                                               "dense_1/bias", "head/kernel", "head/bias"]
    assert outer.get_layer("inner") is inner
    v = np.random.RandomState(2).rand(3, 3).astype("float32")
    k0, b0, k1, b1, k2, b2 = outer.get_weights()
    expected = (np.maximum(v @ k0 + b0, 0) @ k1 + b1) @ k2 + b2
    np.testing.assert_allclose(outer.predict(v, verbose=0), expected, rtol=1e-5, atol=1e-6)
    lines = []
    outer.summary(print_fn=lines.append)
    assert " inner (Sequential)          (None, 2)                 26        " in lines


def test_disconnected_graph_and_half_given_model_are_refused():
    a, b = keras.Input((2,)), keras.Input((2,))
    with pytest.raises(ConfigError, match=r"Graph disconnected: output depends on input "
                                          r"'input_2' which is not among the model's inputs "
                                          r"\['input_1'\]"):
        keras.Model(a, L.Dense(1)(b))
    with pytest.raises(ConfigError, match=r"Model expected both `inputs` and `outputs`"):
        keras.Model(inputs=a)
    with pytest.raises(ConfigError, match=r"Expected Model inputs and outputs to be symbolic "
                                          r"tensors"):
        keras.Model(a, np.ones((1, 2)))


def test_functional_config_round_trip_gives_same_predictions():
    model = _two_in_two_out()
    config = model.get_config()
    rebuilt = keras.Model.from_config(config)
    assert rebuilt.get_config() == config
    assert rebuilt.input_names == ["a", "b"] and rebuilt.output_names == ["o1", "o2"]
    rebuilt.set_weights(model.get_weights())
    rng = np.random.RandomState(3)
    xs = [rng.rand(4, 3).astype("float32"), rng.rand(4, 2).astype("float32")]
    for got, want in zip(rebuilt.predict(xs, verbose=0), model.predict(xs, verbose=0)):
        np.testing.assert_array_equal(got, want)


def test_nested_and_shared_config_round_trip():
    inner = keras.Sequential([L.Dense(4, input_shape=(3,)), L.Dense(2)], name="inner")
    x1, x2 = keras.Input((3,), name="x1"), keras.Input((3,), name="x2")
    shared = L.Dense(3, name="shared")
    model = keras.Model([x1, x2], [inner(x1), shared(x1), shared(x2)])
    config = model.get_config()
    rebuilt = keras.Model.from_config(config)
    assert rebuilt.get_config() == config
    assert rebuilt.count_params() == model.count_params()
    rebuilt.set_weights(model.get_weights())
    v = [np.random.RandomState(4).rand(2, 3).astype("float32")] * 2
    got, want = rebuilt.predict(v, verbose=0), model.predict(v, verbose=0)
    assert len(got) == 3
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)


class _Recorder(L.Layer):
    """The identity that keeps a weak reference to each output it produced."""

    def __init__(self, refs, **kwargs):
        super().__init__(**kwargs)
        self.refs = refs

    def call(self, inputs):
        out = inputs * 1.0
        self.refs[self.name] = weakref.ref(out)
        return out


class _Probe(L.Layer):
    """The identity that records which recorded outputs are still alive when it runs."""

    def __init__(self, refs, alive, **kwargs):
        super().__init__(**kwargs)
        self.refs, self.alive = refs, alive

    def call(self, inputs):
        self.alive.append(sorted(n for n, r in self.refs.items() if r() is not None))
        return inputs + 0.0


def test_run_frees_each_intermediate_after_its_last_reader():
    refs, alive = {}, []
    inputs = keras.Input((3,))
    a = _Recorder(refs, name="a")(inputs)
    b = _Recorder(refs, name="b")(a)          # a's last reader is the Add below
    c = _Probe(refs, alive, name="p1")(b)      # here a (skip) and b (argument) are alive
    d = L.Add()([a, c])
    e = _Recorder(refs, name="e")(d)
    out = _Probe(refs, alive, name="p2")(e)   # a, b are gone; e is its argument
    model = keras.Model(inputs, [out, b])      # b is a model output: never freed
    alive.clear()  # the symbolic build ran the probes too
    with torch.no_grad():
        results = model(torch.ones(2, 3))
    assert alive == [["a", "b"], ["b", "e"]]
    np.testing.assert_array_equal(results[0].numpy(), np.full((2, 3), 2.0, "float32"))
    np.testing.assert_array_equal(results[1].numpy(), np.ones((2, 3), "float32"))
