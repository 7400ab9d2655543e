"""save_weights/load_weights as TensorFlow checkpoints: every model family, bit for bit.

Each family is saved (untrained, and compiled+trained with Adam, SGD momentum and RMSprop),
loaded into a freshly built model and compared variable by variable with ``np.array_equal``,
optimizer state included, plus the predictions. Deferred restoration (optimizer slots restored
before the optimizer exists) continues training bit for bit like the uninterrupted run.
"""

import os
import re

import numpy as np
import pytest

import savepoint as keras
from savepoint.utils import set_random_seed

RNG = np.random.default_rng(0)


# ----------------------------------------------------------------------------- model families
def tutorial_model(units: int = 16, inputs: int = 20):
    """The tutorial's model (Dense-Dropout-Dense), small."""
    return keras.Sequential([keras.layers.Dense(units, activation="relu", input_shape=(inputs,)),
                             keras.layers.Dropout(0.2), keras.layers.Dense(10)])


def functional_model():
    """Two inputs (image, token ids), two outputs; Conv2D, BatchNorm, Embedding, LayerNorm."""
    image = keras.Input((6, 6, 1), name="image")
    tokens = keras.Input((5,), dtype="int32", name="tokens")
    x = keras.layers.Conv2D(2, 3)(image)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.Flatten()(keras.layers.MaxPooling2D()(x))
    e = keras.layers.Embedding(12, 3)(tokens)
    e = keras.layers.GlobalAveragePooling1D()(keras.layers.LayerNormalization()(e))
    merged = keras.layers.Concatenate()([x, e])
    return keras.Model([image, tokens], [keras.layers.Dense(3, name="cls")(merged),
                                         keras.layers.Dense(1, name="reg")(merged)])


class Blocks(keras.Model):
    """A subclassed model holding a Python list of layers."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.head = keras.layers.Dense(4, activation="relu")
        self.blocks = [keras.layers.Dense(4), keras.layers.BatchNormalization(),
                       keras.layers.Dense(1)]

    def call(self, inputs, training=None):
        x = self.head(inputs)
        for layer in self.blocks:
            x = layer(x, training=training) if isinstance(
                layer, keras.layers.BatchNormalization) else layer(x)
        return x


def subclassed_model():
    model = Blocks()
    model(np.zeros((1, 3), "float32"))
    return model


def nested_model():
    """A Sequential inside a functional model, with LayerNormalization."""
    inner = keras.Sequential([keras.layers.Dense(4, activation="relu", input_shape=(3,)),
                              keras.layers.LayerNormalization()], name="inner")
    inputs = keras.Input((3,))
    return keras.Model(inputs, keras.layers.Dense(2)(inner(inputs)))


def data_for(name: str, n: int = 16):
    rng = np.random.default_rng(1)
    if name == "tutorial":
        return rng.normal(size=(n, 20)).astype("float32"), rng.integers(0, 10, n)
    if name == "functional":
        x = [rng.normal(size=(n, 6, 6, 1)).astype("float32"), rng.integers(0, 12, (n, 5))]
        return x, [rng.integers(0, 3, n), rng.normal(size=(n, 1)).astype("float32")]
    if name == "subclassed":
        return rng.normal(size=(n, 3)).astype("float32"), rng.normal(size=(n, 1)).astype("float32")
    return rng.normal(size=(n, 3)).astype("float32"), rng.normal(size=(n, 2)).astype("float32")


FAMILIES = {"tutorial": tutorial_model, "functional": functional_model,
            "subclassed": subclassed_model, "nested": nested_model}
LOSSES = {"tutorial": keras.losses.SparseCategoricalCrossentropy(from_logits=True),
          "functional": [keras.losses.SparseCategoricalCrossentropy(from_logits=True), "mse"],
          "subclassed": "mse", "nested": "mse"}
OPTIMIZERS = {"adam": lambda: keras.optimizers.Adam(learning_rate=0.01),
              "sgd_momentum": lambda: keras.optimizers.SGD(learning_rate=0.01, momentum=0.9),
              "rmsprop": lambda: keras.optimizers.RMSprop(learning_rate=0.01)}


def compiled(family: str, optimizer: str):
    model = FAMILIES[family]()
    model.compile(OPTIMIZERS[optimizer](), LOSSES[family])
    return model


# ----------------------------------------------------------------------------- comparisons
def assert_weights_equal(a, b):
    wa, wb = a.get_weights(), b.get_weights()
    assert len(wa) == len(wb) > 0
    for x, y in zip(wa, wb):
        assert x.dtype == y.dtype and np.array_equal(x, y)


def optimizer_arrays(model):
    return [v.numpy().copy() for v in model.optimizer.variables]


def assert_optimizer_equal(a, b):
    va, vb = optimizer_arrays(a), optimizer_arrays(b)
    assert len(va) == len(vb) > 1
    for x, y in zip(va, vb):
        assert x.dtype == y.dtype and np.array_equal(x, y)
    assert float(a.optimizer.learning_rate) == float(b.optimizer.learning_rate)


def assert_predictions_equal(a, b, x):
    pa, pb = a.predict(x, verbose=0), b.predict(x, verbose=0)
    for p, q in zip(pa if isinstance(pa, list) else [pa], pb if isinstance(pb, list) else [pb]):
        assert np.array_equal(p, q)


def prefix_in(tmp_path):
    return os.path.join(tmp_path, "ckpt", "cp.ckpt")


# ----------------------------------------------------------------------------- round trips
@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_untrained_round_trip_restores_every_variable(tmp_path, family):
    original = FAMILIES[family]()
    path = prefix_in(tmp_path)
    original.save_weights(path)
    restored = FAMILIES[family]()
    assert not all(np.array_equal(x, y) for x, y in
                   zip(original.get_weights(), restored.get_weights()))
    restored.load_weights(path).assert_consumed()
    assert_weights_equal(original, restored)
    assert_predictions_equal(original, restored, data_for(family)[0])


@pytest.mark.parametrize("optimizer", sorted(OPTIMIZERS))
@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_trained_round_trip_restores_weights_and_optimizer(tmp_path, family, optimizer):
    x, y = data_for(family)
    original = compiled(family, optimizer)
    original.fit(x, y, batch_size=8, epochs=2, verbose=0)
    path = prefix_in(tmp_path)
    original.save_weights(path)

    restored = compiled(family, optimizer)
    restored.optimizer.build(restored.trainable_weights)
    restored.load_weights(path).assert_consumed()
    assert_weights_equal(original, restored)
    assert_optimizer_equal(original, restored)
    assert int(restored.optimizer.iterations.numpy()) == 4
    assert_predictions_equal(original, restored, x)


def test_bn_moving_statistics_are_restored(tmp_path):
    x, y = data_for("functional")
    original = compiled("functional", "adam")
    original.fit(x, y, epochs=1, verbose=0)
    bn = [layer for layer in original.layers
          if isinstance(layer, keras.layers.BatchNormalization)][0]
    names = [w.name for w in bn.weights]
    assert names == ["gamma", "beta", "moving_mean", "moving_variance"]
    assert not np.array_equal(bn.weights[2].numpy(), np.zeros(2, "float32"))
    original.save_weights(prefix_in(tmp_path))
    restored = functional_model()
    restored.load_weights(prefix_in(tmp_path)).expect_partial()
    bn2 = [layer for layer in restored.layers if isinstance(layer, keras.layers.BatchNormalization)][0]
    for a, b in zip(bn.weights, bn2.weights):
        assert np.array_equal(a.numpy(), b.numpy())


def test_save_weights_writes_tf_files_and_state_file(tmp_path):
    model = tutorial_model()
    path = os.path.join(tmp_path, "training_1", "cp.ckpt")
    model.save_weights(path)
    assert sorted(os.listdir(os.path.dirname(path))) == [
        "checkpoint", "cp.ckpt.data-00000-of-00001", "cp.ckpt.index"]
    with open(os.path.join(os.path.dirname(path), "checkpoint")) as f:
        assert f.read() == ('model_checkpoint_path: "cp.ckpt"\n'
                            'all_model_checkpoint_paths: "cp.ckpt"\n')
    names = [name for name, _ in keras.train.list_variables(path)]
    assert names == ["_CHECKPOINTABLE_OBJECT_GRAPH",
                     "layer_with_weights-0/bias/.ATTRIBUTES/VARIABLE_VALUE",
                     "layer_with_weights-0/kernel/.ATTRIBUTES/VARIABLE_VALUE",
                     "layer_with_weights-1/bias/.ATTRIBUTES/VARIABLE_VALUE",
                     "layer_with_weights-1/kernel/.ATTRIBUTES/VARIABLE_VALUE"]


def test_load_weights_accepts_a_directory_and_follows_its_state_file(tmp_path):
    model = tutorial_model()
    model.save_weights(os.path.join(tmp_path, "cp-0001.ckpt"))
    model2 = tutorial_model()
    model2.load_weights(str(tmp_path)).assert_consumed()
    assert_weights_equal(model, model2)


def test_save_weights_overwrite_false_refuses_existing(tmp_path):
    model = tutorial_model()
    model.save_weights(prefix_in(tmp_path))
    with pytest.raises(keras.errors.OverwriteError,
                       match=r"exists and overwrite=False was passed\. Fix: pass overwrite=True"):
        model.save_weights(prefix_in(tmp_path), overwrite=False)


def test_unbuilt_model_cannot_save_or_load(tmp_path):
    model = keras.Sequential([keras.layers.Dense(2)])
    with pytest.raises(keras.errors.NotBuiltError, match="it is not built yet"):
        model.save_weights(prefix_in(tmp_path))
    with pytest.raises(keras.errors.NotBuiltError, match="Cannot load weights into model"):
        model.load_weights(prefix_in(tmp_path))


def test_keras_suffix_is_refused_for_weights(tmp_path):
    with pytest.raises(keras.errors.ConfigError, match=r"whole-model '\.keras' path"):
        tutorial_model().save_weights(os.path.join(tmp_path, "m.keras"))


# ----------------------------------------------------------------------------- deferred restore
def _trained_with_dropout(tmp_path):
    x, y = data_for("tutorial", n=40)
    set_random_seed(3)
    original = compiled("tutorial", "adam")
    original.fit(x, y, batch_size=8, epochs=2, shuffle=True, verbose=0)
    original.save_weights(prefix_in(tmp_path))
    return original, x, y


def test_deferred_restore_continues_training_bit_for_bit(tmp_path):
    original, x, y = _trained_with_dropout(tmp_path)
    resumed = compiled("tutorial", "adam")
    assert not resumed.optimizer.built
    resumed.load_weights(prefix_in(tmp_path))

    set_random_seed(11)
    original.fit(x, y, batch_size=8, epochs=2, shuffle=True, verbose=0)
    set_random_seed(11)
    resumed.fit(x, y, batch_size=8, epochs=2, shuffle=True, verbose=0)
    assert_weights_equal(original, resumed)
    assert_optimizer_equal(original, resumed)
    assert int(resumed.optimizer.iterations.numpy()) == 20


def test_without_the_optimizer_state_training_diverges(tmp_path):
    """The check above is meaningful: dropping the Adam state changes the result."""
    original, x, y = _trained_with_dropout(tmp_path)
    fresh = compiled("tutorial", "adam")
    fresh.set_weights(original.get_weights())
    set_random_seed(11)
    original.fit(x, y, batch_size=8, epochs=1, shuffle=True, verbose=0)
    set_random_seed(11)
    fresh.fit(x, y, batch_size=8, epochs=1, shuffle=True, verbose=0)
    assert not np.array_equal(original.get_weights()[0], fresh.get_weights()[0])


def test_assert_consumed_raises_until_the_optimizer_builds(tmp_path):
    original, x, y = _trained_with_dropout(tmp_path)
    resumed = compiled("tutorial", "adam")
    status = resumed.load_weights(prefix_in(tmp_path))
    status.assert_existing_objects_matched()
    with pytest.raises(AssertionError, match=r"Unresolved object in checkpoint .*8 value\(s\) not "
                                             r"used yet.*optimizer/_variables/1/"):
        status.assert_consumed()
    resumed.fit(x[:8], y[:8], batch_size=8, epochs=1, verbose=0)
    assert status.assert_consumed() is status
    # the first step used the restored slots: the iteration counter continued from 10
    assert int(resumed.optimizer.iterations.numpy()) == 11


def test_deferred_slots_are_the_saved_ones_once_built(tmp_path):
    original, _, _ = _trained_with_dropout(tmp_path)
    resumed = compiled("tutorial", "adam")
    resumed.load_weights(prefix_in(tmp_path))
    resumed.optimizer.build(resumed.trainable_weights)
    assert_optimizer_equal(original, resumed)


# ----------------------------------------------------------------------------- partial loads
def test_unused_values_warn_once_unless_expect_partial(tmp_path):
    original, _, _ = _trained_with_dropout(tmp_path)
    bare = tutorial_model()  # no optimizer: the Adam values have nowhere to go
    with pytest.warns(UserWarning) as record:
        bare.load_weights(prefix_in(tmp_path))
    messages = [str(w.message) for w in record]
    assert len(messages) == 1
    assert re.search(r"10 value\(s\) were not used by the restored objects, e\.g\. "
                     r"\['optimizer/_iterations/\.ATTRIBUTES/VARIABLE_VALUE'.*Call "
                     r"status\.expect_partial\(\) if this is intended\.", messages[0])
    assert_weights_equal(original, bare)


def test_expect_partial_silences_the_warning(tmp_path, recwarn):
    _trained_with_dropout(tmp_path)
    bare = tutorial_model()
    bare.load_weights(prefix_in(tmp_path)).expect_partial()
    assert not [w for w in recwarn if "not used" in str(w.message)]


def test_assert_consumed_names_unused_values(tmp_path):
    _trained_with_dropout(tmp_path)
    status = tutorial_model().load_weights(prefix_in(tmp_path))
    with pytest.raises(AssertionError, match=r"10 value\(s\) not used yet"):
        status.assert_consumed()
    status.expect_partial()


def test_model_without_optimizer_into_model_with_optimizer(tmp_path):
    """A weights-only checkpoint restores the layers; the optimizer keeps its own state."""
    source = tutorial_model()
    source.save_weights(prefix_in(tmp_path))
    target = compiled("tutorial", "adam")
    status = target.load_weights(prefix_in(tmp_path))
    assert_weights_equal(source, target)
    with pytest.raises(AssertionError, match="Some objects had attributes which were not "
                                             "restored"):
        status.assert_existing_objects_matched()

