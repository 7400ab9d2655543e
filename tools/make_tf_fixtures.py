"""Regenerate the golden TensorFlow checkpoint fixtures under tests/fixtures/tf/ with REAL TensorFlow.

Run inside the interop venv (see tools/setup_interop_venvs.sh):

    TF_USE_LEGACY_KERAS=1 .venvs/tf/bin/python tools/make_tf_fixtures.py

Writes, for each fixture directory, the checkpoint files TensorFlow produced plus what TensorFlow
itself reports about them, so savepoint's reader can be checked without TensorFlow installed:

- ``vars/``    tf.train.Checkpoint.save of variables of many dtypes and a string (ckpt-1.*,
               the ``checkpoint`` state file)
- ``sharded/`` the same variables written in three data shards (a ShardingCallback)
- ``seq/``     tf-keras Sequential Dense(8, relu, input 4) -> Dense(3) with Adam state after one
               fit step, ``model.save_weights("seq/cp.ckpt")``, plus ``predictions.npz``
- ``tutorial/``, ``functional/``, ``conv_sequential/``: the models of tests/interop/keras_models.py
               (the tutorial's Sequential with 8 units; Conv2D/BatchNormalization/MaxPooling2D +
               Embedding/LayerNormalization two-input functional model; Conv2D/AveragePooling2D/
               GlobalAveragePooling2D Sequential) after two Adam fit steps, each with
               ``cp.ckpt``, ``inputs.npz`` (the fixed probe inputs ``x0``.. and TF's predictions
               ``y``), ``weights.npz`` (``get_weights()`` order), ``optimizer.json`` (TF's optimizer
               variable names/shapes in order) and ``training_call.npz`` (TF's output of
               ``model(x, training=True)`` and every weight after that call: BatchNormalization's
               moving statistics update)
- ``tutorial_full/``  no checkpoint (4.9 MB): ``reference.json`` records what TF writes for the
               real tutorial run (two ``create_model()``, fit with validation data and
               ModelCheckpoint): file names and sizes, the state file and the object graph bytes
Run with fixture names as arguments to regenerate only those (the others stay byte-identical).
Each checkpoint directory also gets ``expected.npz`` (every tensor as TensorFlow reads it; bfloat16 as its
uint16 bits; strings as bytes arrays; no pickle), ``manifest.json`` (key, shape, dtype, npz name),
``object_graph.json`` (the _CHECKPOINTABLE_OBJECT_GRAPH decoded by TensorFlow's own
trackable_object_graph_pb2, rendered with json_format, proto field names) and ``versions.json``.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import sys
import tempfile

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf_keras  # noqa: E402
from google.protobuf import json_format  # noqa: E402
from tensorflow.core.protobuf import trackable_object_graph_pb2  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "tf")
sys.path.insert(0, os.path.join(ROOT, "tests", "interop"))
import keras_models  # noqa: E402  (the architectures, shared with savepoint's tests)


def _fresh(name: str) -> str:
    path = os.path.join(OUT, name)
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    return path


def _many_dtype_variables() -> dict[str, tf.Variable]:
    rng = np.random.default_rng(0)
    values = {
        "f32": rng.standard_normal((3, 4)).astype(np.float32),
        "f64": rng.standard_normal((5,)).astype(np.float64),
        "f16": rng.standard_normal((2, 3)).astype(np.float16),
        "bf16": tf.constant(rng.standard_normal((4,)).astype(np.float32), dtype=tf.bfloat16),
        "i8": np.array([-128, 0, 127], np.int8),
        "i16": np.array([[-32768, 1], [2, 32767]], np.int16),
        "i32": np.arange(-3, 3, dtype=np.int32).reshape(2, 3),
        "i64": np.array(-(2 ** 40), np.int64),
        "u8": np.array([0, 255, 7], np.uint8),
        "u16": np.array([65535], np.uint16),
        "u32": np.array([4294967295, 1], np.uint32),
        "u64": np.array([18446744073709551615], np.uint64),
        "flag": np.array([True, False, True]),
        "c64": np.array([1 + 2j, -3.5j], np.complex64),
        "scalar": np.float32(3.25),
        "empty": np.zeros((0, 3), np.float32),
        "text": tf.constant(b"hello, savepoint \xe2\x9c\x93"),
        "words": tf.constant([b"", b"a", b"bc" * 40]),
    }
    return {k: tf.Variable(v, name=k) for k, v in values.items()}


def _describe(prefix: str, out_dir: str) -> None:
    """Dump what TensorFlow reads from ``prefix``: values, shapes, dtypes and the object graph."""
    reader = tf.train.load_checkpoint(prefix)
    dtypes = reader.get_variable_to_dtype_map()
    shapes = reader.get_variable_to_shape_map()
    arrays, manifest = {}, []
    for i, key in enumerate(sorted(shapes)):
        value = reader.get_tensor(key)
        dtype = dtypes[key]
        if dtype == tf.bfloat16:
            value = np.asarray(tf.bitcast(tf.constant(value, tf.bfloat16), tf.uint16).numpy())
        elif dtype == tf.string:
            value = np.asarray(value, dtype=np.bytes_)
        arrays[f"t{i}"] = np.asarray(value)
        manifest.append({"key": key, "shape": list(shapes[key]), "dtype": dtype.name,
                         "npz": f"t{i}"})
        if key == "_CHECKPOINTABLE_OBJECT_GRAPH":
            graph = trackable_object_graph_pb2.TrackableObjectGraph()
            graph.ParseFromString(reader.get_tensor(key))
            with open(os.path.join(out_dir, "object_graph.json"), "w") as f:
                json.dump(json_format.MessageToDict(graph, preserving_proto_field_name=True),
                          f, indent=1, sort_keys=True)
    np.savez(os.path.join(out_dir, "expected.npz"), **arrays)
    with open(os.path.join(out_dir, "manifest.json"), "w") as f:
        json.dump({"prefix": os.path.basename(prefix), "tensors": manifest}, f, indent=1)
    with open(os.path.join(out_dir, "versions.json"), "w") as f:
        json.dump({"tensorflow": tf.__version__, "tf_keras": tf_keras.__version__,
                   "numpy": np.__version__, "python": sys.version.split()[0]}, f, indent=1)


def make_vars() -> None:
    out = _fresh("vars")
    ckpt = tf.train.Checkpoint(**_many_dtype_variables())
    prefix = ckpt.save(os.path.join(out, "ckpt"))
    _describe(prefix, out)


class _ThreeShards(tf.train.experimental.ShardingCallback):
    """Deal whole tensors round-robin into three shards (no tensor is split into slices)."""

    @property
    def description(self) -> str:
        return "three round-robin shards"

    def __call__(self, shardable_tensors):  # type: ignore[no-untyped-def]
        shards: list[dict] = [{}, {}, {}]
        for i, t in enumerate(shardable_tensors):
            shards[i % 3].setdefault(t.checkpoint_key, {})[t.slice_spec] = t.tensor
        return shards


def make_sharded() -> None:
    out = _fresh("sharded")
    ckpt = tf.train.Checkpoint(**_many_dtype_variables())
    options = tf.train.CheckpointOptions(experimental_sharding_callback=_ThreeShards())
    prefix = ckpt.write(os.path.join(out, "ckpt"), options=options)
    _describe(prefix, out)


def build_seq_model() -> "tf_keras.Model":
    """The Sequential model of the fixtures (also built by the live interop script)."""
    model = tf_keras.Sequential([
        tf_keras.layers.Dense(8, activation="relu", input_shape=(4,)),
        tf_keras.layers.Dense(3),
    ])
    model.compile(optimizer=tf_keras.optimizers.Adam(learning_rate=0.01),
                  loss=tf_keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def make_seq() -> None:
    out = _fresh("seq")
    tf_keras.utils.set_random_seed(0)
    model = build_seq_model()
    rng = np.random.default_rng(1)
    x = rng.standard_normal((8, 4)).astype(np.float32)
    y = rng.integers(0, 3, size=(8,))
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    model.save_weights(os.path.join(out, "cp.ckpt"))
    probe = np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4)
    np.savez(os.path.join(out, "predictions.npz"), x=probe,
             y=model.predict(probe, verbose=0).astype(np.float32))
    np.savez(os.path.join(out, "weights.npz"),
             **{f"w{i}": w for i, w in enumerate(model.get_weights())})
    _describe(os.path.join(out, "cp.ckpt"), out)


def _fit_inputs(xs: list) -> object:
    return xs if len(xs) > 1 else xs[0]


def make_model_fixture(name: str) -> None:
    """A keras_models architecture after two Adam steps, saved by ``model.save_weights``."""
    out = _fresh(name)
    tf_keras.backend.clear_session()  # layer names as in a fresh process (dense, conv2d ...)
    tf_keras.utils.set_random_seed(0)
    model = keras_models.BUILDERS[name](tf_keras, **({"units": 8} if name == "tutorial" else {}))
    xs, y = keras_models.data(name, 8, seed=1)
    model.fit(_fit_inputs(xs), y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    model.save_weights(os.path.join(out, "cp.ckpt"))
    probe, _ = keras_models.data(name, 3, seed=2)
    np.savez(os.path.join(out, "inputs.npz"), y=model.predict(_fit_inputs(probe), verbose=0),
             **{f"x{i}": x for i, x in enumerate(probe)})
    np.savez(os.path.join(out, "weights.npz"),
             **{f"w{i}": w for i, w in enumerate(model.get_weights())})
    optimizer = model.optimizer
    with open(os.path.join(out, "optimizer.json"), "w") as f:
        json.dump({"iterations": int(optimizer.iterations.numpy()),
                   "learning_rate": float(optimizer.learning_rate.numpy()),
                   "variables": [{"name": v.name, "shape": list(v.shape)}
                                 for v in optimizer.variables]}, f, indent=1)
    training = model(_fit_inputs(probe), training=True).numpy()
    np.savez(os.path.join(out, "training_call.npz"), y=training,
             **{f"w{i}": w for i, w in enumerate(model.get_weights())})
    _describe(os.path.join(out, "cp.ckpt"), out)


def _tutorial_run(models_before: int) -> dict:
    """Fit the full-size tutorial model with ModelCheckpoint; what TF wrote, described."""
    tf_keras.backend.clear_session()
    tf_keras.utils.set_random_seed(0)
    for _ in range(models_before):
        keras_models.tutorial(tf_keras)
    model = keras_models.tutorial(tf_keras)
    (x,), y = keras_models.data("tutorial", 64, seed=3)
    with tempfile.TemporaryDirectory() as tmp:
        directory = os.path.join(tmp, "training_1")
        callback = tf_keras.callbacks.ModelCheckpoint(
            filepath=os.path.join(directory, "cp.ckpt"), save_weights_only=True, verbose=0)
        model.fit(x[:32], y[:32], epochs=1, validation_data=(x[32:], y[32:]),
                  callbacks=[callback], verbose=0)
        reader = tf.train.load_checkpoint(os.path.join(directory, "cp.ckpt"))
        raw = reader.get_tensor("_CHECKPOINTABLE_OBJECT_GRAPH")
        graph = trackable_object_graph_pb2.TrackableObjectGraph()
        graph.ParseFromString(raw)
        with open(os.path.join(directory, "checkpoint")) as f:
            state = f.read()
        return {
            "models_before": models_before,
            "files": {f: os.path.getsize(os.path.join(directory, f))
                      for f in sorted(os.listdir(directory))},
            "state_file": state,
            "tensors": {k: {"shape": list(s), "dtype": reader.get_variable_to_dtype_map()[k].name}
                        for k, s in sorted(reader.get_variable_to_shape_map().items())},
            "object_graph_base64": base64.b64encode(raw).decode("ascii"),
            "object_graph": json_format.MessageToDict(graph, preserving_proto_field_name=True),
        }


def make_tutorial_full() -> None:
    """What TF writes for the real tutorial model (sizes and object graph, not the 4.9 MB):
    ``first_model`` when the trained model is the session's first (layers ``dense``,
    ``dense_1``), ``as_written`` when the tutorial's summary() model was built before it."""
    out = _fresh("tutorial_full")
    reference = {"first_model": _tutorial_run(0), "as_written": _tutorial_run(1)}
    with open(os.path.join(out, "reference.json"), "w") as f:
        json.dump(reference, f, indent=1, sort_keys=True)
    with open(os.path.join(out, "versions.json"), "w") as f:
        json.dump({"tensorflow": tf.__version__, "tf_keras": tf_keras.__version__,
                   "numpy": np.__version__, "python": sys.version.split()[0]}, f, indent=1)


MAKERS = {"vars": make_vars, "sharded": make_sharded, "seq": make_seq,
          **{name: (lambda n=name: make_model_fixture(n)) for name in keras_models.BUILDERS},
          "tutorial_full": make_tutorial_full}


def main() -> None:
    os.makedirs(OUT, exist_ok=True)
    names = sys.argv[1:] or list(MAKERS)
    unknown = [n for n in names if n not in MAKERS]
    if unknown:
        sys.exit(f"Unknown fixture(s) {unknown}; expected some of {list(MAKERS)}.")
    for name in names:
        MAKERS[name]()
    total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(OUT) for f in fs)
    print(f"wrote fixtures to {OUT} ({total} bytes) with tensorflow {tf.__version__}, "
          f"tf_keras {tf_keras.__version__}")


if __name__ == "__main__":
    main()
