"""Models with TF-op layers (issue 8.6) round-trip bit for bit through the TF checkpoint, Keras 2
``.h5`` (whole model and weights), Keras 3 ``.keras``/``.weights.h5`` and the model directory
(whose torch.export inference program traces the ops); tf.keras's own ``.h5`` of such a model
saves back through every format too."""

import os
import sys

import numpy as np
import pytest

import savepoint as keras
from savepoint.layers.tf_op import SlicingOpLambda, TFOpLambda

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(__file__)), "saving"))
from saving_model_families import tf_op_functional, trained  # noqa: E402

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(__file__)), "fixtures", "tfop")


@pytest.fixture(scope="module")
def family():
    return trained(tf_op_functional)


def _same_weights(a, b):
    assert [w.path for w in a.weights] == [w.path for w in b.weights]
    for x, y in zip(a.weights, b.weights):
        np.testing.assert_array_equal(x.numpy(), y.numpy())


def test_family_uses_tf_op_layers(family):
    model, _ = family
    kinds = {type(l) for l in model.layers}
    assert TFOpLambda in kinds and SlicingOpLambda in kinds


@pytest.mark.parametrize("suffix", ["m.keras", "m.h5", "my_model"])
def test_whole_model_round_trip(tmp_path, family, suffix):
    model, x = family
    path = str(tmp_path / suffix)
    model.save(path)
    keras.backend.clear_session()
    loaded = keras.models.load_model(path)
    assert [l.name for l in loaded.layers] == [l.name for l in model.layers]
    assert [l.get_config() for l in loaded.layers] == [l.get_config() for l in model.layers]
    _same_weights(model, loaded)
    np.testing.assert_array_equal(model.predict(x, verbose=0), loaded.predict(x, verbose=0))
    y = np.zeros((len(x),), "int64")
    model.train_on_batch(x, y), loaded.train_on_batch(x, y)
    _same_weights(model, loaded)


@pytest.mark.parametrize("suffix", ["cp.ckpt", "w.h5", "m.weights.h5"])
def test_weights_round_trip(tmp_path, family, suffix):
    model, x = family
    path = str(tmp_path / suffix)
    model.save_weights(path)
    fresh = tf_op_functional()
    fresh.load_weights(path)
    _same_weights(model, fresh)
    np.testing.assert_array_equal(model.predict(x, verbose=0), fresh.predict(x, verbose=0))


def test_model_directory_inference_program_traces_the_ops(tmp_path, family):
    from savepoint.saving.handlers import model_dir
    model, x = family
    path = str(tmp_path / "served")
    model.save(path)
    meta = model_dir.read_meta(path)
    assert meta["inference"]["available"] is True, meta["inference"]
    program = model_dir.load_inference(path, meta)
    np.testing.assert_allclose(program.predict(x, batch_size=3, verbose=0),
                               model.predict(x, verbose=0), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("suffix", ["m.keras", "m.h5", "my_model"])
def test_tf_keras_file_saves_back_through_every_format(tmp_path, suffix):
    data = np.load(os.path.join(FIXTURES, "arith.npz"))
    model = keras.models.load_model(os.path.join(FIXTURES, "arith.h5"), compile=False)
    path = str(tmp_path / suffix)
    model.save(path)
    loaded = keras.models.load_model(path, compile=False)
    for a, b in zip(model(data["x0"]), loaded(data["x0"])):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


@pytest.mark.parametrize("name", ["arith", "shapes", "nn", "more"])
def test_every_whitelisted_fixture_op_exports_to_the_inference_program(tmp_path, name):
    """The model directory's torch.export program of each tf-keras fixture model runs (the
    validator accepts its ops) and agrees with the model on a batch size it was not traced at."""
    import torch
    from savepoint.saving.handlers import model_dir
    model = keras.models.load_model(os.path.join(FIXTURES, f"{name}.h5"), compile=False)
    path = str(tmp_path / "m")
    model.save(path)
    meta = model_dir.read_meta(path)
    assert meta["inference"]["available"] is True, meta["inference"]
    program = model_dir.load_inference(path, meta)
    data = np.load(os.path.join(FIXTURES, f"{name}.npz"))
    xs = [np.concatenate([data[k], data[k][:1]]) for k in sorted(data) if k.startswith("x")]
    expected = model(xs if len(xs) > 1 else xs[0])
    tensors = [torch.tensor(x) for x in xs]
    got = program(tensors if len(tensors) > 1 else tensors[0])
    assert len(got) == len(expected)
    for i, (a, b) in enumerate(zip(expected, got)):
        np.testing.assert_allclose(np.asarray(b), np.asarray(a), rtol=1e-6, atol=1e-6,
                                   err_msg=f"output {i}")


def _tf_ops_beside_nested_sequentials():
    """A ConvNeXt-like block: nested Sequentials (one called twice) whose outputs feed TF ops,
    among them a constant-first node (``1.0 - x``) and a residual ``x + y``."""
    inp = keras.Input((6, 6, 3))
    stem = keras.Sequential([keras.layers.Conv2D(4, 1)], name="stem")(inp)
    block = keras.Sequential([keras.Input((6, 6, 4)), keras.layers.LayerNormalization(),
                              keras.layers.Dense(4)], name="block")
    x = block(stem) * 0.5
    x = stem + x
    x = 1.0 - block(x)
    return keras.Model(inp, [x + 2.0, keras.layers.Flatten()(x)])


def test_tf_ops_beside_nested_sequentials_h5_round_trip(tmp_path):
    # keras2.py _shift_network_nodes_out once read every inbound ref as [name, i, j, kwargs]
    # and crashed on a TFOpLambda's ["_CONSTANT_VALUE", -1, value, kwargs] node.
    model = _tf_ops_beside_nested_sequentials()
    x = np.random.default_rng(0).normal(size=(2, 6, 6, 3)).astype("float32")
    path = str(tmp_path / "m.h5")
    model.save(path)
    keras.backend.clear_session()
    loaded = keras.models.load_model(path, compile=False)
    assert [l.name for l in loaded.layers] == [l.name for l in model.layers]
    _same_weights(model, loaded)
    for a, b in zip(model.predict(x, verbose=0), loaded.predict(x, verbose=0)):
        np.testing.assert_array_equal(a, b)
