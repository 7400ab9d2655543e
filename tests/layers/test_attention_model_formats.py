"""Models built from the attention, activation, merging, reshaping, normalization and
regularization layers (issue 8.3/8.4) round-trip bit for bit through every format: TF checkpoint
``save_weights``, Keras 2 ``.h5`` (whole model and weights), Keras 3 ``.keras`` and the model
directory; their configs survive both dialects."""

import json
import os
import sys

import numpy as np
import pytest

import savepoint as keras
from savepoint.saving.mapping.dialects import keras2, keras3
from savepoint.saving.engine.model_config import model_to_config
from savepoint.utils import set_random_seed

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(__file__)), "saving"))
from saving_model_families import assert_same_model, save_and_reload  # noqa: E402

L = keras.layers
RNG = np.random.default_rng(0)


def attention_model():
    """A sequence model: MHA (causal), Attention, AdditiveAttention and the activation,
    normalization and regularization layers."""
    tokens = keras.Input((6, 8), name="seq")
    x = L.Dense(8)(tokens)
    x = L.MultiHeadAttention(2, 4, name="mha")(x, x, use_causal_mask=True)
    y = L.MultiHeadAttention(2, 3, value_dim=5, output_shape=8, name="mha_cross")(x, tokens,
                                                                                   key=tokens)
    x = L.Attention(use_scale=True)([x, y])
    x = L.Attention(score_mode="concat")([x, y, tokens])
    x = L.AdditiveAttention()([x, y])
    x = L.ReLU(max_value=6.0, negative_slope=0.1)(x)
    x = L.LeakyReLU(alpha=0.2)(x)
    x = L.PReLU(shared_axes=[1], alpha_initializer="ones")(x)
    x = L.ELU(alpha=0.5)(x)
    x = L.GroupNormalization(groups=2)(x)
    x = L.UnitNormalization()(x)
    x = L.SpatialDropout1D(0.1)(x)
    x = L.GaussianNoise(0.1)(x)
    x = L.GaussianDropout(0.1)(x)
    x = L.AlphaDropout(0.1)(x)
    x = L.ActivityRegularization(l1=1e-3)(x)
    x = L.Permute((2, 1))(x)
    x = L.Softmax(axis=1)(x)
    x = L.ThresholdedReLU(theta=0.01)(x)
    x = L.Permute((2, 1))(x)
    x = L.GlobalAveragePooling1D()(x)
    x = L.Flatten()(L.RepeatVector(2)(x))
    return keras.Model(tokens, L.Dense(3, name="head")(x))


def merging_model():
    """Two branches merged by every merge layer and lower-case function."""
    inp = keras.Input((5,), name="features")
    a, b = L.Dense(4, activation="gelu")(inp), L.Dense(4, activation="swish")(inp)
    merged = [L.Add()([a, b]), L.Subtract()([a, b]), L.Multiply()([a, b]),
              L.Average()([a, b]), L.Maximum()([a, b]), L.Minimum()([a, b]),
              L.Dot(axes=1)([a, b]), L.Dot(axes=1, normalize=True)([a, b]),
              L.add([a, b]), L.subtract([a, b]), L.multiply([a, b]), L.average([a, b]),
              L.maximum([a, b]), L.minimum([a, b]), L.dot([a, b], axes=-1)]
    x = L.concatenate(merged)
    x = L.Dense(6, activation="hard_sigmoid")(x)
    x = L.Activation("mish")(L.Activation("selu")(x))
    return keras.Model(inp, L.Dense(3, activation="log_softmax")(x))


def masked_attention_model():
    """An attention mask fed as a second model input (a tensor keyword argument of the call,
    which tf.keras 2's .h5 records as ``{"attention_mask": [name, node, index]}``)."""
    seq, mask = keras.Input((5, 4), name="seq"), keras.Input((5, 5), name="mask")
    x = L.MultiHeadAttention(2, 2, name="mha")(seq, seq, attention_mask=mask)
    x = L.MultiHeadAttention(2, 2, name="mha2")(x, value=seq, key=x, use_causal_mask=True)
    return keras.Model([seq, mask], L.Dense(3)(L.Flatten()(x)))


FACTORIES = [attention_model, merging_model, masked_attention_model]


def trained(factory):
    set_random_seed(3)
    model = factory()
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    x = RNG.random((8,) + tuple(model.inputs[0].shape[1:]), dtype=np.float32)
    if len(model.inputs) == 2:
        x = [x, (RNG.random((8, 5, 5)) > 0.3).astype("float32")]
    model.fit(x, RNG.integers(0, 3, 8), epochs=2, batch_size=4, verbose=0)
    return model, x


@pytest.mark.parametrize("factory", FACTORIES)
@pytest.mark.parametrize("fmt", ["model.h5", "model.keras", "model_dir"])
def test_whole_model_round_trip(tmp_path, factory, fmt):
    model, x = trained(factory)
    assert_same_model(model, save_and_reload(model, str(tmp_path / fmt)), x)


@pytest.mark.parametrize("factory", FACTORIES)
@pytest.mark.parametrize("fmt", ["cp.ckpt", "w.h5", "m.weights.h5"])
def test_weights_round_trip(tmp_path, factory, fmt):
    model, x = trained(factory)
    path = str(tmp_path / "x" / fmt)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    model.save_weights(path)
    keras.backend.clear_session()
    set_random_seed(9)
    fresh = factory()
    status = fresh.load_weights(path)
    if fmt == "cp.ckpt":
        status.expect_partial()  # the optimizer's values: the fresh model has none
    assert_same_model(model, fresh, x)


def test_mha_checkpoint_uses_tf_keras_names(tmp_path):
    """The TF checkpoint keys are tf.keras's ``_query_dense``..; Keras 3's .weights.h5 paths
    are ``query_dense``..; the .h5 weight names are ``mha/query/kernel:0``.."""
    from savepoint.saving.formats.tf_checkpoint.bundle import BundleReader
    import h5py
    model, _ = trained(attention_model)
    model.save_weights(str(tmp_path / "cp.ckpt"))
    with BundleReader(str(tmp_path / "cp.ckpt")) as reader:
        keys = set(reader.keys())
    assert any("/_query_dense/kernel/.ATTRIBUTES/VARIABLE_VALUE" in k for k in keys)
    assert any("/_output_dense/bias/.ATTRIBUTES/VARIABLE_VALUE" in k for k in keys)
    model.save_weights(str(tmp_path / "w.h5"))
    with h5py.File(tmp_path / "w.h5") as f:
        names = [n.decode() if isinstance(n, bytes) else n
                 for n in f["mha"].attrs["weight_names"]]
    assert names[:2] == ["mha/query/kernel:0", "mha/query/bias:0"]
    model.save_weights(str(tmp_path / "m.weights.h5"))
    with h5py.File(tmp_path / "m.weights.h5") as f:
        assert "layers/multi_head_attention/query_dense/vars/0" in f or \
            any(k.endswith("query_dense") for k in _walk(f))


def _walk(f):
    found = []
    f.visit(found.append)
    return found


@pytest.mark.parametrize("factory", FACTORIES)
def test_configs_survive_both_dialects(factory):
    model = factory()
    native = json.loads(json.dumps(model_to_config(model)))
    back = keras2.model_from_keras2(json.loads(json.dumps(keras2.model_to_keras2(native))))
    rebuilt2 = keras.Model.from_config(back["config"])
    k3, _ = keras3.from_keras3(json.loads(json.dumps(keras3.to_keras3(native, None))))
    rebuilt3 = keras.Model.from_config(k3["config"])
    for rebuilt in (rebuilt2, rebuilt3):
        assert [type(l).__name__ for l in rebuilt.layers] == \
            [type(l).__name__ for l in model.layers]
        assert [l.get_config() for l in rebuilt.layers[1:]] == \
            [l.get_config() for l in model.layers[1:]]


# ----------------------------------------------------------------- files real tf.keras wrote
TF_MODELS = os.path.join(os.path.dirname(os.path.dirname(__file__)), "fixtures", "goldens",
                         "attention_models")


@pytest.mark.parametrize("name", ["attention", "merging", "masked", "embedding_masked"])
def test_tf_keras_h5_models_load_and_predict(tmp_path, name):
    """tf-keras 2.21 saved these (tools/make_attention_goldens.py): same weights bit for bit,
    same predictions, and saving them again round-trips."""
    data = np.load(os.path.join(TF_MODELS, f"{name}.npz"))
    xs = [data[k] for k in sorted(k for k in data.files if k.startswith("x"))]
    x = xs if len(xs) > 1 else xs[0]
    model = keras.models.load_model(os.path.join(TF_MODELS, f"{name}.h5"))
    for i, w in enumerate(model.get_weights()):
        assert np.array_equal(w, data[f"w{i}"]), f"weight {i}"
    np.testing.assert_allclose(model.predict(x, verbose=0), data["y"], rtol=1e-5, atol=1e-5)
    model.save(str(tmp_path / "again.h5"))
    again = keras.models.load_model(str(tmp_path / "again.h5"))
    assert_same_model(model, again, x)
