"""Regenerate tests/fixtures/goldens/tensorboard/ with REAL TensorFlow summary writers and the
tf-keras TensorBoard callback.

Needs ``tensorboard`` importable next to the TF venv (TF's tf.summary.histogram imports it):
``.venv/bin/python -m pip install --no-deps --target .venvs/tb-extra tensorboard``, then
``PYTHONPATH=.venvs/tb-extra TF_USE_LEGACY_KERAS=1 .venvs/tf/bin/python
tools/make_tensorboard_goldens.py``.

``events.json``: for fixed scalars and histograms written with ``tf.summary``, each event's step
and serialized ``Summary`` (hex); ``callback.json``: the files, tags, steps and plugin names the
tf-keras TensorBoard callback writes for a small model (fit 2 epochs with validation data,
histogram_freq=1, write_graph=True, update_freq="epoch"), and ``events.npz`` the data written.
"""

from __future__ import annotations

import glob
import json
import os
import struct
import tempfile

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf_keras as keras  # noqa: E402
from tensorflow.core.util import event_pb2  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "goldens", "tensorboard")


def records(path: str) -> list[bytes]:
    data, out, pos = open(path, "rb").read(), [], 0
    while pos < len(data):
        (length,) = struct.unpack("<Q", data[pos:pos + 8])
        out.append(data[pos + 12:pos + 12 + length])
        pos += 12 + length + 4
    return out


def events(directory: str) -> list:
    [path] = glob.glob(os.path.join(directory, "events.out.tfevents.*"))
    parsed = []
    for raw in records(path):
        event = event_pb2.Event.FromString(raw)
        parsed.append(event)
    return parsed


def main() -> None:
    rng = np.random.default_rng(31)
    hist = rng.standard_normal(50).astype("float32")
    hist64 = rng.uniform(-3, 5, (4, 6)).astype("float64")
    const = np.full((5,), 2.5, "float32")
    arrays = {"hist": hist, "hist64": hist64, "const": const}
    tmp = tempfile.mkdtemp()
    writer = tf.summary.create_file_writer(os.path.join(tmp, "w"))
    with writer.as_default():
        tf.summary.scalar("epoch_loss", 0.123456789, step=0)
        tf.summary.scalar("epoch_loss", np.float32(2.5), step=7)
        tf.summary.histogram("dense/kernel_0/histogram", hist, step=1)
        tf.summary.histogram("dense/kernel_0/histogram", hist64, step=2)
        tf.summary.histogram("const/histogram", const, step=3)
        tf.summary.histogram("five", hist, step=4, buckets=5)
    writer.close()
    written = [{"step": e.step, "file_version": e.file_version,
                "summary": e.summary.SerializeToString().hex() if e.HasField("summary") else None}
               for e in events(os.path.join(tmp, "w"))]
    # the callback's layout
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, name="dense"),
                              keras.layers.Dense(1, name="out")])
    model.compile("adam", "mse", metrics=["mae"])
    x = rng.standard_normal((8, 3)).astype("float32")
    y = rng.standard_normal((8, 1)).astype("float32")
    logdir = os.path.join(tmp, "logs")
    model.fit(x, y, epochs=2, validation_data=(x, y), verbose=0,
              callbacks=[keras.callbacks.TensorBoard(logdir, histogram_freq=1)])
    layout = {}
    for sub in ("train", "validation"):
        entries = []
        for e in events(os.path.join(logdir, sub)):
            if e.file_version:
                entries.append({"file_version": e.file_version})
            for v in e.summary.value:
                entries.append({"step": e.step, "tag": v.tag,
                                "plugin": v.metadata.plugin_data.plugin_name,
                                "dtype": int(v.tensor.dtype),
                                "shape": [d.size for d in v.tensor.tensor_shape.dim]})
            if e.HasField("graph_def"):
                entries.append({"step": e.step, "graph_def": True})
        layout[sub] = entries
    layout["files"] = sorted(os.path.basename(p).split(".")[0:3][2] if False else
                             os.path.relpath(p, logdir).split(os.sep)[0]
                             for p in glob.glob(os.path.join(logdir, "*", "events.out.tfevents.*")))
    layout["name_example"] = os.path.basename(
        glob.glob(os.path.join(logdir, "train", "events.out.tfevents.*"))[0])
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "events.json"), "w") as f:
        json.dump(written, f, indent=1)
    with open(os.path.join(OUT, "callback.json"), "w") as f:
        json.dump(layout, f, indent=1)
    np.savez_compressed(os.path.join(OUT, "events.npz"), **arrays)
    print(json.dumps(layout, indent=1)[:3000])


if __name__ == "__main__":
    main()
