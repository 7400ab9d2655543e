"""Regenerate the preprocessing goldens in tests/fixtures/goldens/preprocessing/ with REAL tf-keras
(and ``keras3_string_lookup.keras``/``keras3_text.keras``: adapted lookups whose vocabulary Keras 3
keeps only in ``assets/``, written by real Keras 3 on its TensorFlow backend).

Run from the repository root (it re-runs itself in the TF venv):

    .venv/bin/python tools/make_preprocessing_goldens.py

For each case it writes ``<case>.json`` (``class_name``, the tf-keras ``config`` after building,
``adapt``: whether ``adapt_data`` was adapted, ``training``: whether the output is the training
path, ``grad``: whether an input gradient was recorded) and ``<case>.npz``: ``x`` (the input),
``y`` (the output), ``w0``... (``get_weights()`` after adapt/build), ``adapt_data`` and ``dy``/
``dx`` (the gradient of ``sum(y * dy)`` with respect to ``x``) where recorded. Random layers are
recorded on deterministic settings only (a factor range ``[a, a]``), where their training path
has one answer.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "goldens", "preprocessing")


def cases(np):
    """``name -> (class_name, kwargs, x, adapt_data, training, grad)``."""
    rng = np.random.default_rng(7)
    img = rng.uniform(0, 1, (2, 6, 8, 3)).astype("float32")
    small = rng.uniform(0, 1, (2, 5, 7, 2)).astype("float32")
    tab = rng.normal(2.0, 3.0, (6, 4)).astype("float32")
    ints = rng.integers(0, 6, (5, 3)).astype("int64")
    c = {
        "rescaling": ("Rescaling", {"scale": 1 / 255.0, "offset": 0.5}, img * 255, None, False,
                      True),
        "rescaling_int": ("Rescaling", {"scale": 2.0}, ints.astype("int32"), None, False, False),
        "normalization_adapt": ("Normalization", {"axis": -1}, tab, tab * 1.5 + 1, False, True),
        "normalization_axes": ("Normalization", {"axis": (1, 2)}, small, small * 2, False, False),
        "normalization_given": ("Normalization", {"mean": [1.0, 2.0, 3.0, 4.0],
                                                  "variance": [1.0, 4.0, 0.25, 9.0]},
                                tab, None, False, True),
        "normalization_invert": ("Normalization", {"mean": [1.0, 2.0, 3.0, 4.0],
                                                   "variance": [1.0, 4.0, 0.25, 9.0],
                                                   "invert": True}, tab, None, False, False),
        "normalization_scalar": ("Normalization", {"axis": None}, tab, tab, False, False),
        "center_crop": ("CenterCrop", {"height": 3, "width": 5}, img, None, False, True),
        "center_crop_upsize": ("CenterCrop", {"height": 8, "width": 10}, img, None, False, False),
        "category_one_hot": ("CategoryEncoding", {"num_tokens": 6, "output_mode": "one_hot"},
                             ints[:, :1], None, False, False),
        "category_one_hot_rank1": ("CategoryEncoding", {"num_tokens": 6,
                                                        "output_mode": "one_hot"},
                                   ints[:, 0], None, False, False),
        "category_multi_hot": ("CategoryEncoding", {"num_tokens": 6}, ints, None, False, False),
        "category_count": ("CategoryEncoding", {"num_tokens": 7, "output_mode": "count"}, ints,
                           None, False, False),
        "discretization": ("Discretization", {"bin_boundaries": [0.0, 1.5, 4.0]}, tab, None,
                           False, False),
        "discretization_adapt": ("Discretization", {"num_bins": 4}, tab,
                                 rng.normal(0.0, 2.0, (50, 2)).astype("float32"), False, False),
        "discretization_adapt_small": ("Discretization", {"num_bins": 3, "epsilon": 0.1,
                                                          "output_mode": "one_hot"},
                                       tab[:, :1], np.arange(10, dtype="float32"), False, False),
        "random_flip_inference": ("RandomFlip", {"seed": 1}, img, None, False, False),
        "random_rotation_inference": ("RandomRotation", {"factor": 0.2, "seed": 1}, img, None,
                                      False, False),
        "random_zoom_inference": ("RandomZoom", {"height_factor": 0.3, "seed": 1}, img, None,
                                  False, False),
        "random_translation_inference": ("RandomTranslation", {"height_factor": 0.2,
                                                               "width_factor": 0.2, "seed": 1},
                                         img, None, False, False),
        "random_contrast_inference": ("RandomContrast", {"factor": 0.5, "seed": 1}, img, None,
                                      False, False),
        "random_crop_inference": ("RandomCrop", {"height": 4, "width": 5, "seed": 1}, img, None,
                                  False, False),
        "random_crop_same_size_training": ("RandomCrop", {"height": 6, "width": 8, "seed": 1},
                                           img, None, True, False),
    }
    for method in ("bilinear", "nearest", "bicubic", "area"):
        for size in ((4, 5), (9, 13)):
            c[f"resizing_{method}_{size[0]}x{size[1]}"] = (
                "Resizing", {"height": size[0], "width": size[1], "interpolation": method},
                img, None, False, method == "bilinear")
    c["resizing_crop_to_aspect"] = ("Resizing", {"height": 4, "width": 4,
                                                 "crop_to_aspect_ratio": True}, img, None, False,
                                    False)
    for fill in ("reflect", "wrap", "constant", "nearest"):
        for interp in ("bilinear", "nearest"):
            extra = {"fill_mode": fill, "interpolation": interp, "fill_value": 0.25}
            c[f"random_rotation_{fill}_{interp}"] = (
                "RandomRotation", {"factor": (0.1, 0.1), **extra}, img, None, True, False)
        c[f"random_zoom_{fill}"] = ("RandomZoom", {"height_factor": (0.3, 0.3),
                                                   "width_factor": (-0.2, -0.2), "fill_mode": fill,
                                                   "fill_value": 0.25}, img, None, True, False)
        c[f"random_translation_{fill}"] = ("RandomTranslation", {
            "height_factor": (0.25, 0.25), "width_factor": (-0.3, -0.3), "fill_mode": fill,
            "fill_value": 0.25}, img, None, True, False)
    return c


def lookup_cases(np):
    """String and integer lookups: ``name -> (class_name, kwargs, x, adapt_data, False, False)``."""
    words = np.array(["b", "a", "c", "a", "d", "b", "a", "e"])
    text = np.array(["The cat sat.", "the DOG sat!", "a cat, a dog", "Birds fly"])
    ints = np.array([[3, 7, 7], [9, 3, 3], [1, 7, 5]], dtype="int64")
    return {
        "string_lookup_adapt": ("StringLookup", {}, np.array([["a", "z"], ["e", "b"]]), words),
        "string_lookup_vocab": ("StringLookup", {"vocabulary": ["x", "y", "z"]},
                                np.array(["z", "q", "x"]), None),
        "string_lookup_mask": ("StringLookup", {"mask_token": "[PAD]", "max_tokens": 4},
                               np.array([["a", "[PAD]", "b"]]), words),
        "string_lookup_no_oov": ("StringLookup", {"num_oov_indices": 0,
                                                  "vocabulary": ["x", "y"]},
                                 np.array(["y", "x"]), None),
        "string_lookup_multi_hot": ("StringLookup", {"output_mode": "multi_hot"},
                                    np.array([["a", "c", "a"], ["q", "e", "b"]]), words),
        "string_lookup_count": ("StringLookup", {"output_mode": "count", "pad_to_max_tokens": True,
                                                 "max_tokens": 8},
                                np.array([["a", "c", "a"], ["q", "e", "b"]]), words),
        "string_lookup_one_hot": ("StringLookup", {"output_mode": "one_hot"},
                                  np.array(["a", "q", "e"]), words),
        "string_lookup_tf_idf": ("StringLookup", {"output_mode": "tf_idf"},
                                 np.array([["a", "c", "a"], ["q", "e", "b"]]),
                                 np.array([["a", "b"], ["a", "c"], ["d", "a"]])),
        "string_lookup_invert": ("StringLookup", {"vocabulary": ["x", "y", "z"], "invert": True},
                                 np.array([[3, 0, 1], [2, 9, 1]], dtype="int64"), None),
        "integer_lookup_adapt": ("IntegerLookup", {}, ints, ints),
        "integer_lookup_vocab": ("IntegerLookup", {"vocabulary": [12, 36, 1138, 42],
                                                   "mask_token": 0},
                                 np.array([[12, 0, 1138], [42, 7, 36]], dtype="int64"), None),
        "integer_lookup_multi_hot": ("IntegerLookup", {"output_mode": "multi_hot",
                                                       "max_tokens": 4}, ints, ints),
        "integer_lookup_invert": ("IntegerLookup", {"vocabulary": [12, 36, 42], "invert": True},
                                  np.array([[1, 3, 0], [2, 5, 1]], dtype="int64"), None),
        "text_vectorization_int": ("TextVectorization", {"output_sequence_length": 5,
                                                         "max_tokens": 8}, text, text),
        "text_vectorization_ragged_pad": ("TextVectorization", {}, text[:, None], text),
        "text_vectorization_multi_hot": ("TextVectorization", {"output_mode": "multi_hot"},
                                         text, text),
        "text_vectorization_count": ("TextVectorization", {"output_mode": "count",
                                                           "standardize": "lower"}, text, text),
        "text_vectorization_tf_idf": ("TextVectorization", {"output_mode": "tf_idf",
                                                            "max_tokens": 6}, text, text),
        "text_vectorization_bigrams": ("TextVectorization", {"ngrams": 2, "max_tokens": 12,
                                                             "output_sequence_length": 9},
                                       text, text),
        "text_vectorization_ngram_widths": ("TextVectorization", {"ngrams": (2, 3),
                                                                  "output_mode": "count"},
                                            text, text),
        "text_vectorization_vocab": ("TextVectorization", {"vocabulary": ["cat", "dog", "the"],
                                                           "standardize": None,
                                                           "output_sequence_length": 3},
                                     np.array(["the cat", "The dog barks"]), None),
    }


def make() -> None:
    os.environ["TF_USE_LEGACY_KERAS"] = "1"
    import numpy as np
    import tensorflow as tf
    from tensorflow import keras
    os.makedirs(OUT, exist_ok=True)
    every = {**cases(np), **{k: v + (False, False) for k, v in lookup_cases(np).items()}}
    for name, (cls, kwargs, x, adapt_data, training, grad) in every.items():
        tf.keras.utils.set_random_seed(1)
        layer = getattr(keras.layers, cls)(**kwargs)
        if adapt_data is not None:
            layer.adapt(adapt_data)
        xt = tf.constant(x)
        arrays = {"x": x}
        if grad:
            dy = None
            with tf.GradientTape() as tape:
                tape.watch(xt)
                y = layer(xt, training=training)
                dy = np.random.default_rng(1).normal(size=y.shape).astype("float32")
                loss = tf.reduce_sum(y * dy)
            arrays["dy"], arrays["dx"] = dy, tape.gradient(loss, xt).numpy()
        else:
            y = layer(xt, training=training)
        arrays["y"] = y.numpy()
        if arrays["y"].dtype == object:  # strings come back as bytes
            arrays["y"] = np.vectorize(lambda b: b.decode("utf-8"))(arrays["y"]).astype(str)
        if adapt_data is not None:
            arrays["adapt_data"] = adapt_data
        weights = [] if hasattr(layer, "get_vocabulary") else layer.get_weights()
        for i, w in enumerate(weights):
            arrays[f"w{i}"] = np.asarray(w)
        if hasattr(layer, "get_vocabulary"):
            vocab = [v.decode() if isinstance(v, bytes) else v for v in layer.get_vocabulary()]
            arrays["vocabulary"] = np.asarray([str(v) for v in vocab])
        plain = lambda v: np.asarray(v).tolist()  # noqa: E731  (numpy scalars, ListWrappers)
        config = json.loads(json.dumps(layer.get_config(), default=plain))
        meta = {"class_name": cls, "config": config, "adapt": adapt_data is not None,
                "training": training, "grad": grad,
                "weight_names": [w.name.split("/")[-1].split(":")[0] for w in layer.weights]
                if not hasattr(layer, "get_vocabulary") else []}
        with open(os.path.join(OUT, f"{name}.json"), "w") as f:
            json.dump(meta, f, indent=1, sort_keys=True)
        np.savez_compressed(os.path.join(OUT, f"{name}.npz"), **arrays)
        print(name, arrays["y"].shape, arrays["y"].dtype)


def interop_model(k, np, interpolation: str = "bicubic"):
    """The model both sides build for the live interop test (``k``: tf_keras, keras or
    savepoint): inference-path preprocessing, then a small conv head."""
    image = k.Input((6, 8, 3), name="image")
    x = k.layers.Rescaling(1 / 255.0, name="rescale")(image)
    norm = k.layers.Normalization(name="norm")
    norm.adapt(np.random.default_rng(1).random((4, 6, 8, 3)).astype("float32"))
    x = norm(x)
    x = k.layers.Normalization(mean=[0.1, 0.2, 0.3], variance=[1.0, 2.0, 4.0], name="given")(x)
    x = k.layers.RandomFlip(name="flip")(x)
    x = k.layers.RandomRotation(0.1, name="rotate")(x)
    x = k.layers.RandomZoom(0.1, name="zoom")(x)
    x = k.layers.RandomTranslation(0.1, 0.1, name="shift")(x)
    x = k.layers.RandomContrast(0.2, name="contrast")(x)
    x = k.layers.Resizing(5, 7, interpolation=interpolation, name="resize")(x)
    x = k.layers.CenterCrop(4, 4, name="crop")(x)
    x = k.layers.Conv2D(2, 3, name="conv")(x)
    out = k.layers.Dense(3, name="out")(k.layers.Flatten(name="flat")(x))
    model = k.Model(image, out)
    model.compile("adam", "mse")
    return model


def interop(spec: dict) -> None:
    """tf.keras loads savepoint's ``.h5`` (``spec["read"]``: predictions and weights against its
    npz) and writes its own (``spec["write"]``) with an npz of inputs, predictions, weights."""
    os.environ["TF_USE_LEGACY_KERAS"] = "1"
    import numpy as np
    import tf_keras as k
    if spec.get("read"):
        data = dict(np.load(spec["read"]["npz"]))
        model = k.models.load_model(spec["read"]["h5"])
        np.testing.assert_allclose(model.predict(data["x"], verbose=0), data["y"], rtol=1e-5,
                                   atol=1e-5)
        weights = model.get_weights()
        assert len(weights) == int(data["n"]), (len(weights), int(data["n"]))
        for i, w in enumerate(weights):
            assert np.array_equal(w, data[f"w{i}"]), f"weight {i} differs"
        print("read OK")
    if spec.get("write"):
        k.utils.set_random_seed(2)
        model = interop_model(k, np)
        x = np.random.default_rng(5).random((3, 6, 8, 3)).astype("float32") * 255
        model.save(spec["write"]["h5"])
        weights = model.get_weights()
        np.savez(spec["write"]["npz"], x=x, y=model.predict(x, verbose=0), n=len(weights),
                 **{f"w{i}": w for i, w in enumerate(weights)})
        print("write OK")


def interop_checkpoint(spec: dict) -> None:
    """tf.keras ``load_weights`` on savepoint's TF checkpoint of ``interop_model`` (predictions
    against its npz), then its own ``save_weights`` for savepoint to read."""
    os.environ["TF_USE_LEGACY_KERAS"] = "1"
    import numpy as np
    import tf_keras as k
    data = dict(np.load(spec["npz"]))
    model = interop_model(k, np)
    model.load_weights(spec["read"]).assert_existing_objects_matched()
    np.testing.assert_allclose(model.predict(data["x"], verbose=0), data["y"], rtol=1e-5,
                               atol=1e-5)
    k.utils.set_random_seed(7)
    theirs = interop_model(k, np)
    theirs.save_weights(spec["write"])
    np.savez(spec["write_npz"], x=data["x"], y=theirs.predict(data["x"], verbose=0))
    print("checkpoint OK")


def interop_keras3(spec: dict) -> None:
    """Keras 3 (torch backend) loads savepoint's ``.keras`` and writes its own, as ``interop``.
    The model resizes with ``bilinear``: Keras 3 on torch computes ``bicubic`` with torch's
    kernel (a = -0.75), not TF's (a = -0.5) that savepoint and tf.keras use."""
    os.environ["KERAS_BACKEND"] = "torch"
    import keras
    import numpy as np
    if spec.get("read"):
        data = dict(np.load(spec["read"]["npz"]))
        model = keras.models.load_model(spec["read"]["path"])
        got = keras.ops.convert_to_numpy(model.predict(data["x"], verbose=0))
        np.testing.assert_allclose(got, data["y"], rtol=1e-5, atol=1e-5)
        weights = model.get_weights()
        assert len(weights) == int(data["n"]), (len(weights), int(data["n"]))
        for i, w in enumerate(weights):
            assert np.array_equal(w, data[f"w{i}"].astype(w.dtype)), f"weight {i} differs"
        print("read OK")
    if spec.get("write"):
        keras.utils.set_random_seed(2)
        model = interop_model(keras, np, "bilinear")
        x = np.random.default_rng(5).random((3, 6, 8, 3)).astype("float32") * 255
        model.save(spec["write"]["path"])
        weights = model.get_weights()
        np.savez(spec["write"]["npz"], x=x, n=len(weights),
                 y=keras.ops.convert_to_numpy(model.predict(x, verbose=0)),
                 **{f"w{i}": w for i, w in enumerate(weights)})
        print("write OK")


def text_model(k, np):
    """A text model both sides build: TextVectorization -> Embedding -> Dense, next to a
    StringLookup -> CategoryEncoding branch and an IntegerLookup branch."""
    corpus = np.array(["the cat sat", "a dog", "the dog ran far", "cats and dogs"])
    text, tag = k.Input((1,), dtype="string", name="text"), k.Input((), dtype="string", name="tag")
    code = k.Input((2,), dtype="int64", name="code")
    tv = k.layers.TextVectorization(max_tokens=12, output_sequence_length=5, name="tv")
    tv.adapt(corpus)
    look = k.layers.StringLookup(vocabulary=["red", "green", "blue"], output_mode="one_hot",
                                 name="look")
    ints = k.layers.IntegerLookup(vocabulary=[10, 20, 30], output_mode="multi_hot", name="ints")
    x = k.layers.Flatten(name="flat")(k.layers.Embedding(12, 3, name="emb")(tv(text)))
    merged = k.layers.Concatenate(name="cat")([x, look(tag), ints(code)])
    model = k.Model([text, tag, code], k.layers.Dense(2, name="out")(merged))
    model.compile("adam", "mse")
    data = [np.array([["the cat ran"], ["a bird"], ["dogs and cats"]]),
            np.array(["green", "pink", "red"]), np.array([[10, 30], [20, 40], [50, 50]])]
    return model, data


def interop_text(spec: dict) -> None:
    """tf.keras loads savepoint's ``.h5`` of ``text_model`` (vocabularies in the config) and
    predicts what savepoint predicted."""
    os.environ["TF_USE_LEGACY_KERAS"] = "1"
    import numpy as np
    import tf_keras as k
    data = dict(np.load(spec["npz"]))
    model = k.models.load_model(spec["h5"])
    inputs = [data["text"], data["tag"], data["code"]]
    np.testing.assert_allclose(model.predict(inputs, verbose=0), data["y"], rtol=1e-5, atol=1e-6)
    assert model.get_layer("tv").get_vocabulary() == data["vocabulary"].tolist()
    print("text OK")


def keras3_lookup_fixture() -> None:
    """The ``.keras`` Keras 3 writes for an adapted StringLookup: vocabulary None in the config,
    ``assets/.../vocabulary.txt`` in the zip (TF backend: Keras 3's lookups need TensorFlow)."""
    os.environ["KERAS_BACKEND"] = "tensorflow"
    os.environ.pop("TF_USE_LEGACY_KERAS", None)
    import keras
    import numpy as np
    import tensorflow as tf
    keras.utils.set_random_seed(3)
    look = keras.layers.StringLookup(name="look")
    look.adapt(np.array(["b", "a", "c", "a", "d", "b", "a"]))
    tag = keras.Input((2,), dtype="string", name="tag")
    out = keras.layers.Dense(2, name="out")(keras.layers.Flatten()(
        keras.layers.Embedding(5, 3, name="emb")(look(tag))))
    model = keras.Model(tag, out)
    x = np.array([["a", "z"], ["d", "b"]])
    model.save(os.path.join(OUT, "keras3_string_lookup.keras"))
    np.savez(os.path.join(OUT, "keras3_string_lookup.npz"), x=x,
             y=keras.ops.convert_to_numpy(model(tf.constant(x))),
             vocabulary=np.array(look.get_vocabulary()))
    tv = keras.layers.TextVectorization(max_tokens=10, output_sequence_length=4, name="tv")
    tv.adapt(np.array(["a b c", "a b", "Hello, World!"]))
    ints = keras.layers.IntegerLookup(name="ints")
    ints.adapt(np.array([3, 3, 5, 9]))
    text, code = keras.Input((1,), dtype="string"), keras.Input((2,), dtype="int64")
    model = keras.Model([text, code], [tv(text), ints(code)])
    x = [np.array([["a b z"], ["hello"]]), np.array([[3, 4], [9, 5]])]
    model.save(os.path.join(OUT, "keras3_text.keras"))
    y = model([tf.constant(v) for v in x])
    np.savez(os.path.join(OUT, "keras3_text.npz"), text=x[0], code=x[1],
             y0=keras.ops.convert_to_numpy(y[0]), y1=keras.ops.convert_to_numpy(y[1]),
             tv_vocabulary=np.array(tv.get_vocabulary()),
             ints_vocabulary=np.array(ints.get_vocabulary()))
    print("keras3 fixtures written")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "keras3_lookup":
        keras3_lookup_fixture()
        sys.exit(0)
    if len(sys.argv) > 2 and sys.argv[1] == "interop_text":
        interop_text(json.loads(sys.argv[2]))
        sys.exit(0)
    if len(sys.argv) > 2 and sys.argv[1] == "interop":
        interop(json.loads(sys.argv[2]))
    elif len(sys.argv) > 2 and sys.argv[1] == "interop_checkpoint":
        interop_checkpoint(json.loads(sys.argv[2]))
    elif len(sys.argv) > 2 and sys.argv[1] == "interop_keras3":
        interop_keras3(json.loads(sys.argv[2]))
    elif len(sys.argv) > 1 and sys.argv[1] == "tf_keras":
        make()
    else:
        tf_python = os.path.join(ROOT, ".venvs", "tf", "bin", "python")
        subprocess.run([tf_python, __file__, "tf_keras"], check=True,
                       env=dict(os.environ, TF_USE_LEGACY_KERAS="1", TF_CPP_MIN_LOG_LEVEL="3",
                                CUDA_VISIBLE_DEVICES=""))
        env = {k: v for k, v in os.environ.items() if k != "TF_USE_LEGACY_KERAS"}
        subprocess.run([tf_python, __file__, "keras3_lookup"], check=True,
                       env=dict(env, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES=""))
