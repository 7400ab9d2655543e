"""Regression tests for issue 8's five silent bugs (each failed on the code before the fix).

1. ``base(x, training=False)`` in a functional model, and ``trainable=False`` BatchNormalization:
   compared with goldens from real tf.keras (tools/make_model_api_goldens.py).
2. torch.nn submodules inside layers and subclassed models are weights: trained, saved, reloaded.
3. ``add_loss()`` inside ``call()`` trains for more than one batch.
4. ``input``/``output``/``input_shape``/``output_shape`` of functional and Sequential models.
5. ``model(x).numpy()`` and ``np.array(model(x))``; ``train_step`` receives what the data yields.
"""

import json

import numpy as np
import pytest
import torch

import savepoint as keras
from savepoint.errors import NotBuiltError

from model_api_goldens import golden, transfer_model


def n_weights(arrays, prefix):
    return [arrays[f"{prefix}_{i}"] for i in range(sum(k.startswith(prefix + "_")
                                                       for k in arrays))]


# ----- 1. training=False and trainable=False keep BatchNormalization in inference ----------------
def fit_like_golden(model, arrays, lr=0.05):
    model.compile(optimizer=keras.optimizers.SGD(lr), loss="mse")
    return model.fit(arrays["x"], arrays["y"], batch_size=4, epochs=2, shuffle=False, verbose=0)


@pytest.mark.parametrize("case", ["bn_frozen_base", "bn_finetune"])
def test_training_false_call_keeps_batchnorm_in_inference_like_tf_keras(case):
    arrays, meta = golden(case)
    model, base = transfer_model()
    model.set_weights(n_weights(arrays, "w0"))
    base.trainable = meta["base_trainable"]
    history = fit_like_golden(model, arrays)
    for ours, expected, name in zip(model.get_weights(), n_weights(arrays, "w1"),
                                    meta["weight_names"]):
        np.testing.assert_allclose(ours, expected, rtol=1e-5, atol=1e-6, err_msg=name)
    np.testing.assert_allclose(history.history["loss"], arrays["loss"], rtol=1e-5)
    np.testing.assert_allclose(model.predict(arrays["x"], verbose=0), arrays["pred"],
                               rtol=1e-5, atol=1e-6)
    # the moving statistics never moved: the explicit training=False won over fit's training
    np.testing.assert_array_equal(base.get_layer("base_bn").moving_mean.detach().numpy(),
                                  arrays["w0_4"])


def test_tf_keras_json_with_training_false_loads_and_keeps_it():
    arrays, meta = golden("bn_frozen_base")
    model = keras.models.model_from_json(json.dumps(meta["model_json"]))
    model.set_weights(n_weights(arrays, "w0"))
    model.get_layer("base").trainable = False
    fit_like_golden(model, arrays)
    for ours, expected in zip(model.get_weights(), n_weights(arrays, "w1")):
        np.testing.assert_allclose(ours, expected, rtol=1e-5, atol=1e-6)
    # and our own JSON records the call argument as tf.keras does
    node = json.loads(model.to_json())["config"]["layers"][1]["inbound_nodes"]
    assert node == [[["inputs", 0, 0, {"training": False}]]]


def test_batchnorm_with_trainable_false_runs_in_inference_like_tf_keras():
    arrays, _ = golden("bn_layer_frozen")
    model = keras.Sequential([keras.layers.Dense(6, input_shape=(4,), name="d"),
                              keras.layers.BatchNormalization(trainable=False, name="bn"),
                              keras.layers.Dense(1, name="out")], name="frozen_bn")
    model.set_weights(n_weights(arrays, "w0"))
    history = fit_like_golden(model, arrays)
    for ours, expected in zip(model.get_weights(), n_weights(arrays, "w1")):
        np.testing.assert_allclose(ours, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(history.history["loss"], arrays["loss"], rtol=1e-5)


# ----- 2. torch.nn submodules are tracked ---------------------------------------------------------
@keras.saving.register_serializable(package="test_silent_bugs")
class TorchHead(keras.layers.Layer):
    """A Keras layer holding plain torch modules."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.proj = torch.nn.Linear(3, 2)
        self.norm = torch.nn.BatchNorm1d(2)

    def call(self, x):
        return self.norm(self.proj(x))


@keras.saving.register_serializable(package="test_silent_bugs")
class TorchInside(keras.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.dense = keras.layers.Dense(3, name="dense_in")
        self.head = TorchHead(name="torch_head")
        self.mix = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Tanh())

    def call(self, x, training=False):
        return self.mix(self.head(self.dense(x)))


def trained_torch_model():
    keras.utils.set_random_seed(4)
    model = TorchInside(name="torch_inside")
    x = np.random.default_rng(0).random((16, 4), dtype=np.float32)
    model(x)
    model.compile("adam", "mse")
    before = {w.path: w.numpy() for w in model.weights}
    model.fit(x, np.ones((16, 2), "float32"), batch_size=4, epochs=2, verbose=0)
    return model, x, before


def test_torch_submodules_are_weights_and_train():
    model, _, before = trained_torch_model()
    assert [w.path for w in model.weights] == [
        "dense_in/kernel", "dense_in/bias",
        "torch_head/proj/weight", "torch_head/proj/bias", "torch_head/norm/weight",
        "torch_head/norm/bias", "torch_head/norm/running_mean", "torch_head/norm/running_var",
        "torch_head/norm/num_batches_tracked",
        "torch_inside/mix/0/weight", "torch_inside/mix/0/bias"]
    trainable = {w.path for w in model.trainable_weights}
    assert "torch_head/proj/weight" in trainable and "torch_inside/mix/0/bias" in trainable
    assert "torch_head/norm/running_mean" not in trainable
    for path in ("torch_head/proj/weight", "torch_inside/mix/0/weight",
                 "torch_head/norm/running_mean"):
        current = next(w for w in model.weights if w.path == path).numpy()
        assert not np.array_equal(current, before[path]), path
    assert model.count_params() == sum(int(np.prod(w.shape)) for w in model.weights)


def test_frozen_layer_freezes_its_torch_modules():
    model, _, _ = trained_torch_model()
    model.head.trainable = False
    assert not any(w.path.startswith("torch_head/") for w in model.trainable_weights)
    assert not model.head.proj.weight.requires_grad
    model.head.trainable = True
    assert model.head.proj.weight.requires_grad


@pytest.mark.parametrize("filename", ["cp.ckpt", "w.h5", "m.weights.h5"])
def test_torch_submodule_weights_round_trip_through_weight_files(tmp_path, filename):
    model, x, _ = trained_torch_model()
    path = str(tmp_path / filename)
    model.save_weights(path)
    fresh = TorchInside(name="torch_inside")
    fresh(x)
    assert not np.allclose(fresh.predict(x, verbose=0), model.predict(x, verbose=0))
    status = fresh.load_weights(path)
    if filename == "cp.ckpt":  # the fresh model has no optimizer to take the saved one
        status.expect_partial().assert_existing_objects_matched()
    for a, b in zip(fresh.weights, model.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=a.path)
    np.testing.assert_array_equal(fresh.predict(x, verbose=0), model.predict(x, verbose=0))


@pytest.mark.parametrize("filename", ["model_dir", "m.keras", "m.h5"])
def test_torch_submodule_weights_round_trip_through_whole_model_files(tmp_path, filename):
    model, x, _ = trained_torch_model()
    path = str(tmp_path / filename)
    model.save(path)
    loaded = keras.models.load_model(path)
    for a, b in zip(loaded.weights, model.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=a.path)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


# ----- 3. add_loss inside call --------------------------------------------------------------------
class ActivityPenalty(keras.layers.Layer):
    def call(self, x):
        self.add_loss(0.01 * torch.mean(x ** 2))
        return x


def test_add_loss_in_call_trains_over_many_batches():
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.layers.Dense(4, input_shape=(3,)), ActivityPenalty(),
                              keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    x = np.random.default_rng(1).random((12, 3), dtype=np.float32)
    history = model.fit(x, np.zeros((12, 1), "float32"), batch_size=4, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2
    # only the last call's loss is held: one tensor, not one per batch seen
    assert len(model.losses) == 1
    model(x[:2])
    assert len(model.losses) == 1


def test_add_loss_value_counts_in_the_reported_loss():
    model = keras.Sequential([keras.layers.Dense(1, input_shape=(2,), kernel_initializer="zeros"),
                              ActivityPenalty()])
    model.compile("sgd", "mse")
    x, y = np.ones((4, 2), "float32"), np.ones((4, 1), "float32")
    # outputs are 0: mse 1.0 plus 0.01 * mean(0) = 1.0; the penalty tensor changes nothing yet
    assert model.evaluate(x, y, verbose=0) == pytest.approx(1.0)
    model.layers[0].bias.data.fill_(2.0)
    assert model.evaluate(x, y, verbose=0) == pytest.approx(1.0 + 0.04)


# ----- 4. input / output / shapes -----------------------------------------------------------------
def test_functional_input_output_and_feature_extractor():
    x = keras.Input((4,), name="inp")
    h = keras.layers.Dense(3, name="d1")(x)
    model = keras.Model(x, keras.layers.Dense(2, name="d2")(h))
    assert model.input is x and model.output.shape == (None, 2)
    assert model.input_shape == (None, 4) and model.output_shape == (None, 2)
    features = keras.Model(model.input, model.get_layer("d1").output)
    data = np.ones((2, 4), "float32")
    np.testing.assert_allclose(features.predict(data, verbose=0),
                               model.get_layer("d1")(data).numpy(), rtol=1e-6)


def test_multi_io_shapes_are_lists():
    a, b = keras.Input((4,), name="a"), keras.Input((2,), name="b")
    out = keras.layers.Concatenate()([a, b])
    model = keras.Model([a, b], [out, keras.layers.Dense(1)(out)])
    assert model.input_shape == [(None, 4), (None, 2)]
    assert model.output_shape == [(None, 6), (None, 1)]


def test_sequential_input_output():
    model = keras.Sequential([keras.layers.Dense(3, input_shape=(4,)), keras.layers.Dense(2)])
    assert model.input_shape == (None, 4) and model.output_shape == (None, 2)
    assert model.input.shape == (None, 4)
    built = keras.Sequential([keras.layers.Dense(3)])
    built.build((None, 5))
    assert built.input_shape == (None, 5) and built.output_shape == (None, 3)


def test_subclassed_model_has_no_symbolic_input_as_in_keras():
    model = TorchInside()
    model(np.ones((1, 4), "float32"))
    with pytest.raises(NotBuiltError, match=r"has no symbolic input: `input` exists for "
                                            r"functional models"):
        model.input
    with pytest.raises(NotBuiltError, match=r"has no symbolic output"):
        model.output_shape


# ----- 5. eager outputs and train_step data -------------------------------------------------------
def test_eager_outputs_convert_to_numpy_and_still_train():
    model = keras.Sequential([keras.layers.Dense(2, input_shape=(3,))])
    x = np.ones((4, 3), "float32")
    out = model(x)
    assert out.numpy().shape == (4, 2) and np.array(out).shape == (4, 2)
    assert np.asarray(out, dtype="float64").dtype == np.float64
    np.testing.assert_allclose(out.numpy(), model.predict(x, verbose=0), rtol=1e-6)
    out.sum().backward()  # still on the autograd graph: a torch training loop works
    assert model.layers[0].kernel.grad is not None
    assert type(out * 2) is torch.Tensor  # operations give plain tensors


@pytest.mark.parametrize("with_weights", [False, True])
def test_train_step_receives_what_the_data_yields(with_weights):
    seen = []

    class Custom(keras.Model):
        def train_step(self, data):
            seen.append(len(data))
            if with_weights:
                x, y, sample_weight = data
            else:
                x, y = data
            return super().train_step(data)

    inputs = keras.Input((3,))
    model = Custom(inputs, keras.layers.Dense(1)(inputs))
    model.compile("sgd", "mse")
    x, y = np.ones((8, 3), "float32"), np.ones((8, 1), "float32")
    sw = np.ones(8, "float32") if with_weights else None
    model.fit(x, y, sample_weight=sw, batch_size=4, verbose=0)
    assert seen == ([3, 3] if with_weights else [2, 2])
    # a generator's batches arrive as yielded
    batch = (x[:4], y[:4], np.ones(4, "float32")) if with_weights else (x[:4], y[:4])
    model.fit((batch for _ in range(2)), steps_per_epoch=2, verbose=0)
    assert seen[-2:] == [len(batch)] * 2


class LayersInTorchContainer(keras.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.block = torch.nn.Sequential(keras.layers.Dense(3, name="inner_dense"),
                                         torch.nn.ReLU(), torch.nn.Linear(3, 1))

    def call(self, x):
        return self.block(x)


@pytest.mark.parametrize("filename", ["cp.ckpt", "w.h5", "m.weights.h5"])
def test_keras_layers_inside_torch_containers_are_tracked(tmp_path, filename):
    keras.utils.set_random_seed(2)
    model = LayersInTorchContainer(name="container")
    x = np.random.default_rng(3).random((8, 4), dtype=np.float32)
    model(x)
    assert [w.path for w in model.weights] == ["inner_dense/kernel", "inner_dense/bias",
                                               "container/block/2/weight",
                                               "container/block/2/bias"]
    model.compile("sgd", "mse")
    before = model.get_weights()
    model.fit(x, np.ones((8, 1), "float32"), verbose=0)
    assert all(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    model.save_weights(str(tmp_path / filename))
    fresh = LayersInTorchContainer(name="container")
    fresh(x)
    status = fresh.load_weights(str(tmp_path / filename))
    if filename == "cp.ckpt":
        status.expect_partial().assert_existing_objects_matched()
    np.testing.assert_array_equal(fresh.predict(x, verbose=0), model.predict(x, verbose=0))


@pytest.mark.parametrize("filename", ["f.h5", "f.keras", "f_dir", "cp.ckpt"])
def test_functional_model_with_a_torch_holding_layer_round_trips(tmp_path, filename):
    keras.utils.set_random_seed(8)
    inputs = keras.Input((3,))
    model = keras.Model(inputs, TorchHead(name="th")(keras.layers.Dense(3)(inputs)))
    x = np.random.default_rng(8).random((8, 3), dtype=np.float32)
    model.compile("adam", "mse")
    model.fit(x, np.ones((8, 2), "float32"), batch_size=4, verbose=0)
    path = str(tmp_path / filename)
    if filename == "cp.ckpt":
        model.save_weights(path)
        loaded = keras.Model.from_config(model.get_config())
        loaded.load_weights(path).expect_partial()
    else:
        model.save(path)
        loaded = keras.models.load_model(path)
    assert [w.path for w in loaded.weights if w.path.startswith("th/")] == [
        "th/proj/weight", "th/proj/bias", "th/norm/weight", "th/norm/bias",
        "th/norm/running_mean", "th/norm/running_var", "th/norm/num_batches_tracked"]
    for a, b in zip(loaded.weights, model.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=a.path)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
