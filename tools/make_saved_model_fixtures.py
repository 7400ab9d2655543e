"""Regenerate the golden SavedModels in tests/fixtures/saved_models/ with REAL tf-keras 2.21.

Run from the repository root after `bash tools/setup_interop_venvs.sh`:

    TF_USE_LEGACY_KERAS=1 .venvs/tf/bin/python tools/make_saved_model_fixtures.py [names...]

Each model is built, compiled, trained for one short epoch (so the optimizer has slots) and
written by ``model.save(dir, save_format="tf")``: ``<name>/`` is the SavedModel exactly as
tf-keras wrote it, ``<name>.npz`` what TensorFlow computed:

- ``x*`` (inputs, sorted by name), ``y`` (labels);
- ``pred``: ``tf.keras.models.load_model(dir).predict(x)``;
- ``eval``: ``[loss, metric]`` of that loaded model's ``evaluate(x, y)``;
- ``weight_names``, ``weight_sha256``: the loaded model's ``weights`` and the sha256 of each one's
  bytes (bit-for-bit comparisons without a second copy of every weight);
- ``opt<i>``: the saving model's ``optimizer.variables`` (tf.keras's loader drops them, savepoint
  restores them), ``opt_names`` (``Adam/m/dense/kernel:0``; legacy ``Adam/dense/kernel/m:0``),
  ``iterations``.

``--older [names...]`` writes ``<name>_tf2_12``-style fixtures (``mlp``, ``cnn_bn``) with whatever
TF runs the script: ``tools/make_older_saved_model_fixtures.sh`` runs it with TF 2.12 (keras
built in) and TF 2.15 (tf-keras) in throwaway venvs under /tmp.

The SavedModel directory is stored packed as ``<name>.tar.gz`` (tests unpack it into a temporary
directory).

Models, small so that every file stays under 300 KB: ``mlp`` (the tutorial's shape, Dense 784->16
relu, Dropout 0.2, Dense 10, Adam, SparseCategoricalCrossentropy(from_logits=True),
sparse_categorical_accuracy), ``mlp_legacy`` (the same with ``optimizers.legacy.Adam``: slots as
``.OPTIMIZER_SLOT`` keys), ``cnn_bn`` (Conv2D, BatchNormalization, MaxPooling2D, Flatten, Dense),
``cnn_legacy_rmsprop`` (the same with ``optimizers.legacy.RMSprop(momentum=0.5, centered=True)``:
slots ``rms``, ``momentum``, ``mg``), ``two_input`` (functional, two named inputs, Concatenate),
``embedding`` (Embedding, GlobalAveragePooling1D, Dense sigmoid), ``rnn`` (LSTM then GRU),
``mobilenet`` (a Keras Application: MobileNet alpha=0.1 at 32x32, 5 classes, saved with
``save_traces=False`` and ``include_optimizer=False`` to keep it small: no training_config, no
signature) and ``plain_module`` (a ``tf.Module`` with a ``tf.function`` signature and no Keras
metadata); ``custom_layer`` (a registered ``fixtures>Scale`` layer with one weight) and
``subclassed`` (a ``Model`` subclass without ``get_config``: nothing to rebuild from);
``string_lookup``, ``integer_lookup``, ``text_vectorization``: the layer adapted (so tf.keras
writes ``vocabulary: null``; the vocabulary is in the graph), then Embedding, pooling, Dense.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "saved_models")


def _sparse(k, model, optimizer="adam"):
    model.compile(optimizer=optimizer,
                  loss=k.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=[k.metrics.SparseCategoricalAccuracy()])
    return model


def mlp(k, np, rng, legacy=False):
    model = k.Sequential([k.layers.Dense(16, activation="relu", input_shape=(784,)),
                          k.layers.Dropout(0.2), k.layers.Dense(10)])
    _sparse(k, model, k.optimizers.legacy.Adam() if legacy else "adam")
    x = rng.random((32, 784)).astype("float32")
    return model, {"x": x}, rng.integers(0, 10, 32).astype("int64")


def cnn_bn(k, np, rng, optimizer="adam"):
    model = k.Sequential([k.layers.Conv2D(4, 3, activation="relu", input_shape=(8, 8, 1)),
                          k.layers.BatchNormalization(), k.layers.MaxPooling2D(),
                          k.layers.Flatten(), k.layers.Dense(10)])
    _sparse(k, model, optimizer)
    return model, {"x": rng.random((32, 8, 8, 1)).astype("float32")}, \
        rng.integers(0, 10, 32).astype("int64")


def two_input(k, np, rng):
    a, b = k.Input((6,), name="left"), k.Input((4,), name="right")
    h = k.layers.Concatenate()([k.layers.Dense(5, activation="tanh")(a),
                                k.layers.Dense(3, activation="relu")(b)])
    model = k.Model([a, b], k.layers.Dense(3, name="out")(h))
    _sparse(k, model, k.optimizers.RMSprop(0.01))
    xs = {"x0_left": rng.random((32, 6)).astype("float32"),
          "x1_right": rng.random((32, 4)).astype("float32")}
    return model, xs, rng.integers(0, 3, 32).astype("int64")


def embedding(k, np, rng):
    model = k.Sequential([k.layers.Embedding(50, 8, input_length=10),
                          k.layers.GlobalAveragePooling1D(),
                          k.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    return model, {"x": rng.integers(0, 50, (32, 10)).astype("int32")}, \
        rng.integers(0, 2, (32, 1)).astype("float32")


def rnn(k, np, rng):
    model = k.Sequential([k.layers.LSTM(6, return_sequences=True, input_shape=(5, 3)),
                          k.layers.GRU(4), k.layers.Dense(3)])
    _sparse(k, model)
    return model, {"x": rng.random((32, 5, 3)).astype("float32")}, \
        rng.integers(0, 3, 32).astype("int64")


def mobilenet(k, np, rng):
    model = k.applications.MobileNet(input_shape=(32, 32, 3), alpha=0.1, weights=None,
                                     classes=5)
    model.compile(optimizer=k.optimizers.SGD(0.01), loss=k.losses.SparseCategoricalCrossentropy(),
                  metrics=["sparse_categorical_accuracy"])
    return model, {"x": rng.random((4, 32, 32, 3)).astype("float32")}, \
        rng.integers(0, 5, 4).astype("int64")


def custom_layer(k, np, rng):
    """A registered custom layer (``fixtures>Scale``, one weight) between built-in Dense layers."""
    @k.saving.register_keras_serializable(package="fixtures")
    class Scale(k.layers.Layer):
        def build(self, input_shape):
            self.scale = self.add_weight(name="scale", shape=(input_shape[-1],),
                                         initializer="ones")

        def call(self, inputs):
            return inputs * self.scale

    model = k.Sequential([k.layers.Dense(4, input_shape=(3,)), Scale(), k.layers.Dense(2)])
    _sparse(k, model)
    return model, {"x": rng.random((32, 3)).astype("float32")}, \
        rng.integers(0, 2, 32).astype("int64")


def subclassed(k, np, rng):
    """A subclassed model without get_config: its SavedModel holds no config to rebuild from."""
    class Net(k.Model):
        def __init__(self):
            super().__init__()
            self.dense = k.layers.Dense(2)

        def call(self, inputs):
            return self.dense(inputs)

    model = Net()
    _sparse(k, model)
    return model, {"x": rng.random((32, 3)).astype("float32")}, \
        rng.integers(0, 2, 32).astype("int64")


def _lookup_model(k, np, rng, layer, data, dtype):
    """``layer`` adapted on ``data``, then Embedding, pooling and a Dense classifier."""
    layer.adapt(data)
    inp = k.Input(data.shape[1:], dtype=dtype, name="tokens")
    ids = layer(inp)
    h = k.layers.Embedding(layer.vocabulary_size(), 4)(ids)
    model = k.Model(inp, k.layers.Dense(3)(k.layers.GlobalAveragePooling1D()(h)))
    _sparse(k, model)
    return model, {"x": data}, rng.integers(0, 3, len(data)).astype("int64")


def string_lookup(k, np, rng):
    words = np.array(["red", "green", "blue", "cyan", "teal", "gold", "plum"])
    data = words[rng.integers(0, len(words), (32, 3))]
    data[0, 0] = "unseen-in-adapt"  # an OOV token in the inputs too
    return _lookup_model(k, np, rng, k.layers.StringLookup(num_oov_indices=2), data[1:],
                         "string")


def integer_lookup(k, np, rng):
    data = rng.choice(np.array([3, 17, 42, 99, 1000, 7], "int64"), (32, 3))
    return _lookup_model(k, np, rng, k.layers.IntegerLookup(max_tokens=6), data, "int64")


def text_vectorization(k, np, rng):
    words = ["the", "cat", "sat", "on", "a", "mat", "dog", "ran"]
    data = np.array([[" ".join(rng.choice(words, rng.integers(2, 7)))] for _ in range(32)])
    return _lookup_model(k, np, rng, k.layers.TextVectorization(
        max_tokens=12, output_sequence_length=6), data, "string")


LOOKUPS = ["string_lookup", "integer_lookup", "text_vectorization"]


BUILDERS = {"mlp": mlp, "mlp_legacy": lambda k, np, rng: mlp(k, np, rng, legacy=True),
            "cnn_bn": cnn_bn, "cnn_legacy_rmsprop": lambda k, np, rng: cnn_bn(
                k, np, rng, k.optimizers.legacy.RMSprop(momentum=0.5, centered=True)),
            "two_input": two_input, "embedding": embedding, "rnn": rnn,
            "mobilenet": mobilenet, "custom_layer": custom_layer, "subclassed": subclassed,
            "string_lookup": string_lookup, "integer_lookup": integer_lookup,
            "text_vectorization": text_vectorization}


OLDER = ["mlp", "cnn_bn"]  # the families also written by older TF (``--older``)


def _feed(xs: dict):
    return [xs[key] for key in sorted(xs)] if len(xs) > 1 else next(iter(xs.values()))


def _keras():
    """tf-keras (TF >= 2.14 with tf-keras installed), else the Keras built into tf.keras."""
    try:
        import tf_keras as k
    except ImportError:  # TF 2.12 / 2.13: keras 2 is tf.keras itself
        import tensorflow as tf
        k = tf.keras
    return k


def write_keras(name: str, out: str, pack: bool = True, tag: str = "") -> None:
    import numpy as np
    import tensorflow as tf
    k = _keras()
    if hasattr(tf.keras.utils, "set_random_seed"):
        tf.keras.utils.set_random_seed(0)
    else:  # TF 2.4-2.6
        tf.random.set_seed(0)
    rng = np.random.default_rng(len(name))
    model, xs, y = BUILDERS[name](k, np, rng)
    model.fit(_feed(xs), y, batch_size=16, epochs=1, verbose=0)
    app = name == "mobilenet"  # no optimizer (its momentums would triple the files)
    name = f"{name}_{tag}" if tag else name
    target = os.path.join(out, name)
    shutil.rmtree(target, ignore_errors=True)
    model.save(target, save_format="tf", save_traces=not app, include_optimizer=not app)
    loaded = k.models.load_model(target)
    if app:
        loaded.compile(loss=k.losses.SparseCategoricalCrossentropy(),
                       metrics=["sparse_categorical_accuracy"])
    # a lookup layer's vocabulary is no variable (tf.keras lists a VocabWeightHandler)
    weights = [w for w in loaded.weights if hasattr(w, "name")]
    data = dict(xs, y=y, pred=loaded.predict(_feed(xs), verbose=0),
                eval=np.array(loaded.evaluate(_feed(xs), y, verbose=0), "float64"),
                weight_names=np.array([w.name for w in weights]),
                weight_sha256=np.array([hashlib.sha256(w.numpy().tobytes()).hexdigest()
                                        for w in weights]),
                iterations=np.int64(model.optimizer.iterations.numpy()))
    if name in LOOKUPS:  # the vocabulary tf.keras's own loader restored
        data["vocab"] = np.array([str(v) for v in loaded.layers[1].get_vocabulary()])
    if pack:
        _pack(target)
    if app:
        np.savez(os.path.join(out, f"{name}.npz"), **data)
        return
    variables = model.optimizer.variables  # a method on the legacy optimizers
    variables = variables() if callable(variables) else variables
    for i, v in enumerate(variables):
        data[f"opt{i}"] = v.numpy()
    data["opt_names"] = np.array([v.name for v in variables])
    np.savez(os.path.join(out, f"{name}.npz"), **data)


def write_plain_module(out: str) -> None:
    import numpy as np
    import tensorflow as tf

    class Affine(tf.Module):
        def __init__(self):
            super().__init__()
            self.w = tf.Variable(tf.ones((3, 2)), name="w")
            self.b = tf.Variable(tf.zeros((2,)), name="b")

        @tf.function(input_signature=[tf.TensorSpec((None, 3), tf.float32, name="features")])
        def __call__(self, features):
            return {"scores": tf.matmul(features, self.w) + self.b}

    module = Affine()
    target = os.path.join(out, "plain_module")
    shutil.rmtree(target, ignore_errors=True)
    tf.saved_model.save(module, target, signatures={"serving_default": module.__call__})
    x = np.arange(6, dtype="float32").reshape(2, 3)
    np.savez(os.path.join(out, "plain_module.npz"), x=x,
             pred=tf.saved_model.load(target).signatures["serving_default"](
                 features=tf.constant(x))["scores"].numpy())
    _pack(target)


def _pack(target: str) -> None:
    """``<target>.tar.gz`` (a traced RNN's saved_model.pb alone is 1.1 MB, 120 KB packed)."""
    import tarfile
    with tarfile.open(f"{target}.tar.gz", "w:gz") as tar:
        tar.add(target, arcname=os.path.basename(target))
    shutil.rmtree(target)


def main(names: list[str]) -> None:
    os.makedirs(OUT, exist_ok=True)
    if names[:1] == ["--older"]:  # run by tools/make_older_saved_model_fixtures.sh
        import tensorflow as tf
        tag = "tf" + "_".join(tf.__version__.split(".")[:2])
        for name in names[1:] or OLDER:
            write_keras(name, OUT, tag=tag)
        return
    for name in names or BUILDERS:
        write_keras(name, OUT)
    if not names or "plain_module" in names:
        write_plain_module(OUT)
    for directory, _, files in sorted(os.walk(OUT)):
        for f in sorted(files):
            size = os.path.getsize(os.path.join(directory, f))
            print(f"{size:>9} {os.path.relpath(os.path.join(directory, f), OUT)}")


if __name__ == "__main__":
    main(sys.argv[1:])
