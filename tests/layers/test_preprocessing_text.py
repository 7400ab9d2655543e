"""Text and category lookups inside models: numpy strings through predict/fit/evaluate, the
vocabulary saved with the model in every format (config for tf.keras 2 ``.h5``, assets for
Keras 3 ``.keras`` and the model directory), a Keras 3 file whose vocabulary is only an asset,
live tf.keras loading our ``.h5``, and the lookups' argument errors."""

import json
import os
import subprocess
import sys
import zipfile

import numpy as np
import pytest

import savepoint as keras
from savepoint.errors import ConfigError, DTypeError
from savepoint.layers.preprocessing import text_vectorization

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GOLDENS = os.path.join(ROOT, "tests", "fixtures", "goldens", "preprocessing")
sys.path.insert(0, os.path.join(ROOT, "tools"))
from make_preprocessing_goldens import text_model  # noqa: E402


@pytest.fixture(scope="module")
def trained():
    keras.utils.set_random_seed(1)
    model, data = text_model(keras, np)
    model.fit(data, np.zeros((3, 2), "float32"), epochs=2, batch_size=2, shuffle=True,
              verbose=0)
    return model, data


def test_strings_flow_through_predict_fit_and_evaluate(trained):
    model, data = trained
    out = model.predict(data, batch_size=2, verbose=0)
    assert out.shape == (3, 2) and out.dtype == np.float32
    np.testing.assert_allclose(model(data).detach().numpy(), out, rtol=1e-6, atol=1e-6)
    assert np.isfinite(model.evaluate(data, np.zeros((3, 2)), verbose=0))
    objects = [d.astype(object) if d.dtype.kind == "U" else d for d in data]
    np.testing.assert_array_equal(model.predict(objects, batch_size=2, verbose=0), out)
    tv = model.get_layer("tv")
    assert tv(np.array(["the cat"])).tolist() == tv(np.array([["the cat"]])).tolist()


def test_numeric_models_still_refuse_strings():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    with pytest.raises(DTypeError, match=r"Expected x to be a numeric array or tensor\. "
                                         r"Received an array of dtype <U1"):
        model.predict(np.array([["a", "b"]]), verbose=0)


@pytest.mark.parametrize("name", ["m.keras", "m.h5", "model_dir"])
def test_vocabularies_round_trip_with_the_model(tmp_path, trained, name):
    model, data = trained
    path = str(tmp_path / name)
    model.save(path)
    keras.backend.clear_session()
    loaded = keras.models.load_model(path)
    for layer in ("tv", "look", "ints"):
        assert loaded.get_layer(layer).get_vocabulary() == \
            model.get_layer(layer).get_vocabulary()
    for a, b in zip(model.weights, loaded.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    np.testing.assert_array_equal(loaded.predict(data, verbose=0),
                                  model.predict(data, verbose=0))


def test_where_the_vocabulary_is_stored(tmp_path, trained):
    model, _ = trained
    vocab = model.get_layer("tv").get_vocabulary()
    model.save(str(tmp_path / "m.keras"))
    with zipfile.ZipFile(tmp_path / "m.keras") as z:
        assets = [n for n in z.namelist() if n.startswith("assets/")]
        assert len(assets) == 3 and all(n.endswith("/vocabulary.txt") for n in assets)
        tv_asset = next(n for n in assets if "text_vectorization" in n)
        assert z.read(tv_asset).decode().split("\n") == vocab  # as Keras 3 writes it
    model.save(str(tmp_path / "m.h5"))
    import h5py
    with h5py.File(tmp_path / "m.h5") as f:
        layers = json.loads(f.attrs["model_config"])["config"]["layers"]
    tv = next(l for l in layers if l["class_name"] == "TextVectorization")
    assert tv["config"]["vocabulary"] == vocab[2:]  # tf.keras's config: no special tokens
    model.save(str(tmp_path / "d"))
    with open(tmp_path / "d" / "assets" / "tv" / "vocabulary.txt") as f:
        assert f.read().split("\n") == vocab


def test_weights_files_round_trip(tmp_path, trained):
    model, data = trained
    for name in ("cp.ckpt", "w.h5", "m.weights.h5"):
        model.save_weights(str(tmp_path / name))
        keras.utils.set_random_seed(9)
        fresh, _ = text_model(keras, np)
        fresh.load_weights(str(tmp_path / name))
        np.testing.assert_array_equal(fresh.predict(data, verbose=0),
                                      model.predict(data, verbose=0))


def test_keras3_file_with_the_vocabulary_only_in_assets():
    expected = np.load(os.path.join(GOLDENS, "keras3_string_lookup.npz"))
    model = keras.models.load_model(os.path.join(GOLDENS, "keras3_string_lookup.keras"))
    assert model.get_layer("look").get_vocabulary() == expected["vocabulary"].tolist()
    np.testing.assert_allclose(model.predict(expected["x"], verbose=0), expected["y"],
                               rtol=1e-6, atol=1e-6)


def test_keras3_text_file_with_vocabularies_only_in_assets():
    expected = np.load(os.path.join(GOLDENS, "keras3_text.npz"))
    model = keras.models.load_model(os.path.join(GOLDENS, "keras3_text.keras"))
    assert model.get_layer("tv").get_vocabulary() == expected["tv_vocabulary"].tolist()
    assert model.get_layer("ints").get_vocabulary() == expected["ints_vocabulary"].tolist()
    y0, y1 = model.predict([expected["text"], expected["code"]], verbose=0)
    assert y0.dtype == np.int64 and y1.dtype == np.int64
    np.testing.assert_array_equal(y0, expected["y0"])
    np.testing.assert_array_equal(y1, expected["y1"])


def test_tf_keras_loads_our_h5_with_vocabularies(tmp_path, trained):
    if os.environ.get("SAVEPOINT_SKIP_INTEROP") == "1":
        pytest.skip("SAVEPOINT_SKIP_INTEROP=1: live interop tests skipped")
    model, data = trained
    model.save(str(tmp_path / "m.h5"))
    np.savez(tmp_path / "m.npz", text=data[0], tag=data[1], code=data[2],
             y=model.predict(data, verbose=0),
             vocabulary=np.array(model.get_layer("tv").get_vocabulary()))
    spec = {"h5": str(tmp_path / "m.h5"), "npz": str(tmp_path / "m.npz")}
    proc = subprocess.run([os.path.join(ROOT, ".venvs", "tf", "bin", "python"),
                           os.path.join(ROOT, "tools", "make_preprocessing_goldens.py"),
                           "interop_text", json.dumps(spec)], capture_output=True, text=True,
                          timeout=600, env=dict(os.environ, TF_USE_LEGACY_KERAS="1",
                                                TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH="",
                                                CUDA_VISIBLE_DEVICES=""))
    assert proc.returncode == 0 and "text OK" in proc.stdout, proc.stdout + proc.stderr[-3000:]


def test_lookup_details():
    look = keras.layers.StringLookup(vocabulary=["a", "b"], invert=True)
    assert look(np.array([[2, 0, 7]])).tolist() == [["b", "[UNK]", "[UNK]"]]
    assert keras.layers.StringLookup(vocabulary=np.array(["[UNK]", "a"])).get_vocabulary() == \
        ["[UNK]", "a"]  # a vocabulary that already starts with the special tokens
    ints = keras.layers.IntegerLookup(mask_token=0, max_tokens=4)
    ints.adapt(np.array([5, 5, 6, 7, 0]))
    assert ints.get_vocabulary() == [0, -1, 5, 7]
    assert ints(np.array([0, 6, 7])).tolist() == [0, 1, 3]
    assert text_vectorization.split("ab", "character") == ["a", "b"]
    tv = keras.layers.TextVectorization(standardize=None, split=None, vocabulary=["A b"])
    assert tv(np.array(["A b", "a b"])).tolist() == [[2], [1]]
    assert tv.get_assets()["vocabulary.txt"] == b"\n[UNK]\nA b"


@pytest.mark.parametrize("make, match", [
    (lambda: keras.layers.StringLookup(num_oov_indices=-2),
     r"`num_oov_indices` to be an int >= 0"),
    (lambda: keras.layers.StringLookup(output_mode="one_hot", mask_token="m"),
     r"`mask_token` with output_mode='int' only"),
    (lambda: keras.layers.StringLookup(vocabulary="vocab.txt"),
     r"Received the string 'vocab.txt'.*Fix: read the file"),
    (lambda: keras.layers.StringLookup(vocabulary=["a", "a"]), r"unique vocabulary tokens"),
    (lambda: keras.layers.StringLookup(vocabulary=["a", "[UNK]"]), r"special token '\[UNK\]'"),
    (lambda: keras.layers.StringLookup(max_tokens=2, vocabulary=["a", "b"]),
     r"more than max_tokens=2"),
    (lambda: keras.layers.StringLookup(output_mode="tf_idf", vocabulary=["a"]),
     r"expected `idf_weights`"),
    (lambda: keras.layers.StringLookup(invert=True, output_mode="count"),
     r"output_mode='int' with invert=True"),
    (lambda: keras.layers.StringLookup(encoding="latin-1"), r"`encoding` to be one of"),
    (lambda: keras.layers.IntegerLookup(max_tokens=1), r"`max_tokens` to be None or an int > 1"),
    (lambda: keras.layers.TextVectorization(ngrams=0), r"`ngrams` to be None, a positive int"),
    (lambda: keras.layers.TextVectorization(ngrams=2, split=None), r"a `split` with `ngrams`"),
    (lambda: keras.layers.TextVectorization(split="comma"), r"`split` to be one of"),
    (lambda: keras.layers.TextVectorization(standardize=str.lower), r"`standardize` to be one"),
    (lambda: keras.layers.TextVectorization(output_mode="one_hot"), r"`output_mode` to be one"),
    (lambda: keras.layers.TextVectorization(output_mode="count", output_sequence_length=3),
     r"`output_sequence_length` only with output_mode='int'"),
])
def test_lookup_argument_errors(make, match):
    with pytest.raises(ConfigError, match=match):
        make()


def test_lookup_call_and_adapt_errors():
    with pytest.raises(ConfigError, match=r"num_oov_indices=0 but received out-of-vocabulary"):
        keras.layers.StringLookup(vocabulary=["a"], num_oov_indices=0)(np.array(["b"]))
    with pytest.raises(ConfigError, match=r"was given a `vocabulary`, so it cannot adapt"):
        keras.layers.StringLookup(vocabulary=["a"]).adapt(np.array(["a"]))
    with pytest.raises(ConfigError, match=r"Expected string inputs\. Received values of types"):
        keras.layers.StringLookup(vocabulary=["a"])(np.array([1, 2]))
    with pytest.raises(ConfigError, match=r"IntegerLookup expected integer inputs"):
        keras.layers.IntegerLookup(vocabulary=[1])(np.array([1.5]))  # whole floats pass
    with pytest.raises(ConfigError, match=r"strings of shape \(batch,\) or \(batch, 1\)"):
        keras.layers.TextVectorization(vocabulary=["a"])(np.array([["a", "b"]]))
