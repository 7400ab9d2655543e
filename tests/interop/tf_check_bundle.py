"""Run by tests/interop in the TensorFlow venv: check that TensorFlow reads a savepoint bundle.

Usage: python tf_check_bundle.py '<json spec>' with keys
  prefix         checkpoint prefix to read with tf.train.load_checkpoint
  npz            expected values (bfloat16 as uint16 bits, strings as bytes arrays)
  tensors        [{"key", "dtype", "npz"}]: every tensor TensorFlow must find, bit-exactly
  directory, expect_latest   tf.train.latest_checkpoint(directory) must equal expect_latest
  keras (opt.)   {"weights_npz", "predictions_npz"}: build the fixture Sequential model,
                 load_weights(prefix) and compare weights and predictions
Prints one OK line per check; exits 1 with a message on the first mismatch.
"""

import json
import os
import sys

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402


def fail(message: str) -> None:
    print("MISMATCH:", message)
    sys.exit(1)


def check_tensors(spec: dict) -> None:
    reader = tf.train.load_checkpoint(spec["prefix"])
    dtypes = reader.get_variable_to_dtype_map()
    expected = np.load(spec["npz"], allow_pickle=False)
    for t in spec["tensors"]:
        key, want = t["key"], expected[t["npz"]]
        if dtypes.get(key) is None or dtypes[key].name != t["dtype"]:
            fail(f"{key}: dtype {dtypes.get(key)} != {t['dtype']}")
        got = reader.get_tensor(key)
        if t["dtype"] == "bfloat16":
            got = tf.bitcast(tf.constant(got, tf.bfloat16), tf.uint16).numpy()
        if t["dtype"] == "string":
            same = (np.asarray(got, dtype=object).tolist() ==
                    np.asarray(want, dtype=object).tolist())
        else:
            got = np.asarray(got)
            same = got.shape == want.shape and got.tobytes() == want.astype(
                got.dtype).tobytes()
        if not same:
            fail(f"{key}: TensorFlow read {got!r}, expected {want!r}")
    print(f"OK tensors {len(spec['tensors'])}")
    latest = tf.train.latest_checkpoint(spec["directory"])
    if latest != spec["expect_latest"]:
        fail(f"latest_checkpoint: {latest!r} != {spec['expect_latest']!r}")
    print("OK latest_checkpoint", latest)


def check_keras(spec: dict) -> None:
    import tf_keras
    model = tf_keras.Sequential([tf_keras.layers.Dense(8, activation="relu", input_shape=(4,)),
                                 tf_keras.layers.Dense(3)])
    model.compile(optimizer=tf_keras.optimizers.Adam(learning_rate=0.01),
                  loss=tf_keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    status = model.load_weights(spec["prefix"])
    status.assert_existing_objects_matched()
    weights = np.load(spec["keras"]["weights_npz"], allow_pickle=False)
    for i, w in enumerate(model.get_weights()):
        if w.tobytes() != weights[f"w{i}"].tobytes():
            fail(f"keras weight {i} differs after load_weights")
    preds = np.load(spec["keras"]["predictions_npz"], allow_pickle=False)
    got = model.predict(preds["x"], verbose=0)
    if not np.allclose(got, preds["y"], rtol=1e-6, atol=1e-6):
        fail(f"predictions differ: {got} vs {preds['y']}")
    print("OK keras load_weights", len(model.get_weights()))


if __name__ == "__main__":
    spec = json.loads(sys.argv[1])
    check_tensors(spec)
    if spec.get("keras"):
        check_keras(spec)
