"""The Keras 2 Model API (issue 8, point 9): summary's "Connected to", class_weight (goldens from
tf.keras), to_json/model_from_json, the train_step/test_step contract with compiled_loss and
compiled_metrics, add_metric, run_eagerly, the generator methods, reset_states, dtype moves."""

import json
import re

import numpy as np
import pytest
import torch

import savepoint as keras
from savepoint.errors import ConfigError, FormatError

from model_api_goldens import golden


# ----- summary ------------------------------------------------------------------------------------
def test_functional_summary_has_tf_keras_connected_to_column():
    _, meta = golden("summary")
    a, b = keras.Input((4,), name="a"), keras.Input((4,), name="b")
    shared = keras.layers.Dense(3, name="shared")
    cat = keras.layers.Concatenate(name="cat")([shared(a), shared(b)])
    model = keras.Model([a, b], keras.layers.Dense(2, name="out")(cat), name="two_inputs")
    lines = []
    model.summary(print_fn=lines.append)
    assert lines == meta["functional"]  # tf.keras 2.21's text, character for character


def test_sequential_summary_matches_tf_keras_table():
    _, meta = golden("summary")
    model = keras.Sequential([keras.layers.Dense(3, input_shape=(4,), name="d")], name="seq")
    lines = []
    model.summary(print_fn=lines.append)
    assert lines == meta["sequential"]


def test_summary_refuses_views_it_does_not_draw():
    model = keras.Sequential([keras.layers.Dense(3, input_shape=(4,))])
    with pytest.raises(ConfigError, match=r"expected expand_nested=False.*Received "
                                          r"\{'show_trainable': True\}"):
        model.summary(show_trainable=True)


# ----- class_weight -------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["sparse", "onehot"])
def test_class_weight_matches_tf_keras(kind):
    arrays, meta = golden("class_weight")
    class_weight = {int(k): v for k, v in meta["class_weight"].items()}
    labels = arrays["labels"]
    y = labels if kind == "sparse" else np.eye(3, dtype="float32")[labels]
    loss = "sparse_categorical_crossentropy" if kind == "sparse" else "categorical_crossentropy"
    model = keras.Sequential([keras.layers.Dense(3, activation="softmax", input_shape=(3,),
                                                 name="probs")])
    model.set_weights([arrays[f"{kind}_w0_0"], arrays[f"{kind}_w0_1"]])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss=loss, metrics=["accuracy"])
    history = model.fit(arrays["x"], y, batch_size=4, epochs=3, shuffle=False, verbose=0,
                        class_weight=class_weight)
    np.testing.assert_allclose(history.history["loss"], arrays[f"{kind}_loss"], rtol=1e-5)
    np.testing.assert_allclose(history.history["accuracy"], arrays[f"{kind}_accuracy"])
    for i, w in enumerate(model.get_weights()):
        np.testing.assert_allclose(w, arrays[f"{kind}_w1_{i}"], rtol=1e-5, atol=1e-6)


def test_class_weight_multiplies_sample_weight():
    x = np.ones((4, 2), "float32")
    y = np.array([0, 1, 0, 1])
    def losses(**kwargs):
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.layers.Dense(2, input_shape=(2,))])
        model.compile("sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        return model.fit(x, y, batch_size=4, verbose=0, **kwargs).history["loss"]
    combined = losses(class_weight={0: 1.0, 1: 3.0}, sample_weight=np.full(4, 0.5, "float32"))
    explicit = losses(sample_weight=np.array([0.5, 1.5, 0.5, 1.5], "float32"))
    np.testing.assert_allclose(combined, explicit, rtol=1e-6)


@pytest.mark.parametrize("class_weight, message", [
    ({0: 1.0, 2: 1.0}, r"keys from 0 to one less than the number of classes"),
    ([1.0, 2.0], r"Expected `class_weight` to be a non-empty dict"),
    ({0: 1.0}, r"Expected every class id in y to have a `class_weight` entry \(0..0\). "
               r"Received class ids from 0 to 1"),
])
def test_bad_class_weight_is_refused(class_weight, message):
    model = keras.Sequential([keras.layers.Dense(2, input_shape=(2,))])
    model.compile("sgd", "sparse_categorical_crossentropy")
    with pytest.raises(ConfigError, match=message):
        model.fit(np.ones((2, 2)), np.array([0, 1]), class_weight=class_weight, verbose=0)


# ----- to_json / model_from_json ------------------------------------------------------------------
def test_to_json_round_trips_functional_and_sequential():
    x = keras.Input((4,), name="x")
    inner = keras.Sequential([keras.layers.Dense(3, input_shape=(4,), name="inner_d")],
                             name="inner")
    model = keras.Model(x, keras.layers.Dense(2, name="top")(inner(x, training=False)))
    text = model.to_json()
    data = json.loads(text)
    assert data["class_name"] == "Functional" and data["keras_version"] == "2.21.0"
    # tf.keras numbers a nested network's first call as its node 1
    assert data["config"]["layers"][2]["inbound_nodes"] == [[["inner", 1, 0, {}]]]
    clone = keras.models.model_from_json(text)
    assert [l.name for l in clone.layers] == [l.name for l in model.layers]
    assert clone.count_params() == model.count_params()
    clone.set_weights(model.get_weights())
    batch = np.ones((2, 4), "float32")
    np.testing.assert_allclose(clone.predict(batch, verbose=0), model.predict(batch, verbose=0))


def test_model_from_json_refuses_bad_text():
    with pytest.raises(ConfigError, match=r"model_from_json expected the JSON text of "
                                          r"model.to_json\(\)"):
        keras.models.model_from_json("{not json")
    with pytest.raises(FormatError, match=r"Expected a Keras 2 model_config"):
        keras.models.model_from_json("[1, 2]")


# ----- the train_step / test_step contract --------------------------------------------------------
class Keras2Style(keras.Model):
    """The keras.io "customizing what happens in fit" model, with the torch idiom."""

    def train_step(self, data):
        x, y = data
        y_pred = self(x, training=True)
        loss = self.compiled_loss(y, y_pred, regularization_losses=self.losses)
        variables = self.trainable_variables
        grads = torch.autograd.grad(loss, [v.value for v in variables])
        self.optimizer.apply_gradients(zip(grads, variables))
        self.compiled_metrics.update_state(y, y_pred)
        return {m.name: m.result() for m in self.metrics}

    def test_step(self, data):
        x, y = data
        y_pred = self(x, training=False)
        self.compiled_loss(y, y_pred, regularization_losses=self.losses)
        self.compiled_metrics.update_state(y, y_pred)
        return {m.name: m.result() for m in self.metrics}


def _regression():
    rng = np.random.default_rng(2)
    return rng.random((16, 3), dtype=np.float32), rng.random((16, 1), dtype=np.float32)


def _functional(cls):
    keras.utils.set_random_seed(5)
    inputs = keras.Input((3,))
    return cls(inputs, keras.layers.Dense(1, kernel_regularizer="l2")(inputs))


def test_keras2_custom_train_step_matches_builtin_fit():
    x, y = _regression()
    results = []
    for cls in (keras.Model, Keras2Style):
        model = _functional(cls)
        model.compile(keras.optimizers.SGD(0.1), "mse", metrics=["mae"])
        history = model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0)
        results.append((history.history, model.get_weights(),
                        model.evaluate(x, y, verbose=0, return_dict=True)))
    (h1, w1, e1), (h2, w2, e2) = results
    assert h1.keys() == h2.keys() == {"loss", "mae"}
    np.testing.assert_allclose(h1["loss"], h2["loss"], rtol=1e-6)
    np.testing.assert_allclose(h1["mae"], h2["mae"], rtol=1e-6)
    for a, b in zip(w1, w2):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    assert e1 == pytest.approx(e2)


def test_custom_step_logs_become_history():
    class Gan(keras.Model):
        def train_step(self, data):
            return {"d_loss": torch.tensor(1.5), "g_loss": 2.0}

    model = _functional(Gan)
    model.compile("sgd", "mse")
    history = model.fit(*_regression(), batch_size=8, epochs=2, verbose=0)
    assert history.history == {"d_loss": [1.5, 1.5], "g_loss": [2.0, 2.0]}


def test_step_returning_something_else_is_refused():
    class Bad(keras.Model):
        def train_step(self, data):
            return 3.0

    model = _functional(Bad)
    model.compile("sgd", "mse")
    with pytest.raises(ConfigError, match=r"Expected train_step/test_step to return a dict.*"
                                          r"Received: float"):
        model.fit(*_regression(), verbose=0)


def test_compute_metrics_and_compiled_objects():
    model = _functional(keras.Model)
    model.compile("sgd", "mse", metrics=["mae"])
    assert [m.name for m in model.compiled_loss.metrics] == ["loss"]
    assert [m.name for m in model.compiled_metrics.metrics] == ["mae"]
    y, y_pred = torch.zeros(2, 1), torch.ones(2, 1)
    logs = model.compute_metrics(None, y, y_pred, None)
    assert float(logs["mae"]) == 1.0
    loss = model.compute_loss(None, y, y_pred)
    assert float(loss.detach()) > 1.0  # mse 1.0 plus the kernel's l2 penalty
    with pytest.raises(Exception, match=r"You must call `compile\(\)` before calling "
                                        r"`compiled_loss\(\)`"):
        _functional(keras.Model).compiled_loss


# ----- add_metric, run_eagerly, generators, reset_states, dtypes ----------------------------------
class MeanActivation(keras.layers.Layer):
    def call(self, x):
        self.add_metric(torch.mean(x), name="mean_activation")
        return x


def test_add_metric_is_reported_per_epoch():
    model = keras.Sequential([keras.layers.Dense(2, input_shape=(3,), kernel_initializer="ones",
                                                 bias_initializer="zeros"), MeanActivation()])
    model.compile("sgd", "mse")
    x = np.ones((8, 3), "float32")
    history = model.fit(x, np.zeros((8, 2), "float32"), batch_size=4, epochs=1, verbose=0)
    assert "mean_activation" in history.history
    # after the first SGD step the weights shrink: the epoch mean lies below the initial 3.0
    assert 0 < history.history["mean_activation"][0] <= 3.0
    logs = model.evaluate(x, np.zeros((8, 2), "float32"), verbose=0, return_dict=True)
    assert set(logs) == {"loss", "mean_activation"}


def test_add_metric_needs_a_name():
    layer = keras.layers.Layer()
    with pytest.raises(ConfigError, match=r"add_metric expected a `name`"):
        layer.add_metric(torch.ones(()))
    with pytest.raises(ConfigError, match=r"aggregation=None or 'mean'. Received: "
                                          r"aggregation='sum'"):
        layer.add_metric(torch.ones(()), name="m", aggregation="sum")


def test_run_eagerly_is_recorded():
    model = _functional(keras.Model)
    assert model.run_eagerly is False
    model.compile("sgd", "mse", run_eagerly=True)
    assert model.run_eagerly is True
    model.run_eagerly = False
    assert model.run_eagerly is False


def test_generator_methods_are_deprecated_aliases():
    x, y = _regression()
    model = _functional(keras.Model)
    model.compile("sgd", "mse")
    def batches():
        while True:
            yield x[:8], y[:8]
    with pytest.warns(DeprecationWarning, match=r"`Model.fit_generator` is deprecated"):
        history = model.fit_generator(batches(), steps_per_epoch=2, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2
    with pytest.warns(DeprecationWarning, match=r"evaluate_generator"):
        loss = model.evaluate_generator(batches(), steps=2)
    assert loss == pytest.approx(model.evaluate(x[:8], y[:8], verbose=0), rel=1e-6)
    with pytest.warns(DeprecationWarning, match=r"predict_generator"):
        out = model.predict_generator((x[:8] for _ in range(2)), steps=2)
    assert out.shape == (16, 1)


def test_reset_states_resets_stateful_layers_only():
    calls = []

    class Stateful(keras.layers.Layer):
        def __init__(self, stateful, **kwargs):
            super().__init__(**kwargs)
            self.stateful = stateful

        def reset_states(self):
            calls.append(self.name)

    model = keras.Sequential([Stateful(True, name="s", input_shape=(2,)),
                              Stateful(False, name="t")])
    model.reset_states()
    assert calls == ["s"]


def test_model_to_float64_keeps_working():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.layers.Dense(4, input_shape=(3,)),
                              keras.layers.BatchNormalization(), keras.layers.Dense(1)])
    x, y = _regression()
    before = model.predict(x, verbose=0)
    model.to(torch.float64)
    assert {w.dtype for w in model.weights} == {"float64"}
    after = model.predict(x.astype("float64"), verbose=0)
    np.testing.assert_allclose(after, before, rtol=1e-5)
    model.compile("sgd", "mse")
    model.fit(x.astype("float64"), y.astype("float64"), batch_size=4, verbose=0)
    assert model(x.astype("float64")).numpy().dtype == np.float64


# ----- weighted_metrics ---------------------------------------------------------------------------
def test_weighted_metrics_see_sample_weights_and_plain_ones_do_not():
    model = _functional(keras.Model)
    model.compile("sgd", "mse", metrics=["mae"], weighted_metrics=["mae"])
    assert model.metrics_names == ["loss", "mae", "weighted_mae"]
    x, y = np.zeros((2, 3), "float32"), np.array([[0.0], [4.0]], "float32")
    model.layers[1].set_weights([np.zeros((3, 1)), np.zeros(1)])
    logs = model.evaluate(x, y, sample_weight=np.array([1.0, 3.0], "float32"), verbose=0,
                          return_dict=True)
    assert logs["mae"] == pytest.approx(2.0)            # (0 + 4) / 2
    assert logs["weighted_mae"] == pytest.approx(3.0)   # (0 * 1 + 4 * 3) / (1 + 3)


@pytest.mark.parametrize("filename", ["m.h5", "m.keras", "model_dir"])
def test_weighted_metrics_survive_saving(tmp_path, filename):
    model = _functional(keras.Model)
    model.compile("sgd", "mse", metrics=["mae"], weighted_metrics=["mae"])
    x, y = _regression()
    model.fit(x, y, verbose=0)
    model.save(str(tmp_path / filename))
    loaded = keras.models.load_model(str(tmp_path / filename))
    loaded.evaluate(x, y, verbose=0)
    assert loaded.metrics_names == ["loss", "mae", "weighted_mae"]


def test_lr_shows_in_the_verbose_2_epoch_line_like_tf_keras(capsys):
    # tf.keras 2.21 prints "1/1 - 0s - loss: 1.3079 - lr: 0.0100 - 18ms/epoch - 18ms/step"
    model = _functional(keras.Model)
    model.compile(keras.optimizers.SGD(0.01), "mse")
    x, y = _regression()
    model.fit(x, y, batch_size=16, epochs=1, verbose=2,
              callbacks=[keras.callbacks.ReduceLROnPlateau(monitor="loss")])
    line = capsys.readouterr().out.strip().splitlines()[-1]
    # the times read 0s, 18ms or 918us depending on the machine (Keras picks the unit)
    assert re.match(r"^1/1 - \d+s - loss: \d+\.\d{4} - lr: 0\.0100 - \d+[mu]?s/epoch - "
                    r"\d+[mu]?s/step$", line), line
    model.fit(x, y, batch_size=16, epochs=1, verbose=2)
    assert "lr:" not in capsys.readouterr().out  # no callback adds it: tf.keras omits it too


def test_docstring_examples_run():
    import doctest
    from savepoint.models import model as model_module, summary
    from savepoint.trainer import compile_utils, legacy, step_data, trainer
    for module in (model_module, summary, compile_utils, legacy, step_data, trainer,
                   keras.models):
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert result.failed == 0, module.__name__


def test_keras_utils_unpack_in_a_custom_train_step():
    seen = []

    class Unpacking(keras.Model):
        def train_step(self, data):
            x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
            seen.append(sample_weight is None)
            return super().train_step(keras.utils.pack_x_y_sample_weight(x, y, sample_weight))

    model = _functional(Unpacking)
    model.compile("sgd", "mse")
    model.fit(*_regression(), batch_size=8, verbose=0)
    assert seen == [True, True]
    with pytest.raises(ConfigError, match=r"Expected data to be a tuple of \(x,\), \(x, y\) or "
                                          r"\(x, y, sample_weight\). Received a tuple of 4"):
        keras.utils.unpack_x_y_sample_weight((1, 2, 3, 4))


def test_reset_states_on_a_stateful_lstm():
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.layers.LSTM(2, stateful=True, batch_input_shape=(1, 3, 2))])
    x = np.ones((1, 3, 2), "float32")
    first = model.predict(x, verbose=0)
    assert not np.allclose(model.predict(x, verbose=0), first)  # the state carried over
    model.reset_states()
    np.testing.assert_allclose(model.predict(x, verbose=0), first, rtol=1e-6)
