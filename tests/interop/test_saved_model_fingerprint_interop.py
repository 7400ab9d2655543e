"""LIVE: TensorFlow reads the fingerprint.pb savepoint writes, and computes the same one itself.

For savepoint's three SavedModel writers (``write_saved_model``, ``model.save(dir)``,
``model.export(format="tf_saved_model")``) on several families, and for the SavedModels older
TF (2.12, 2.15) wrote: ``tf.saved_model.experimental.read_fingerprint`` reads our file (and its
singleprint), and TF 2.21's own ``CreateFingerprintDef`` of the directory gives every hash we
wrote (the uuid is random in both). One TensorFlow process (tf_check_fingerprint.py).
"""

from __future__ import annotations

import json
import os
import tarfile

import numpy as np

from savepoint.saving.formats.saved_model import fingerprint_pb as fpb
from savepoint.saving.handlers.saved_model_writer import write_saved_model
from test_saved_model_write_interop import cnn, custom_layer, text, tutorial_mlp, two_in_two_out
from venv_runners import ROOT, _interop_python, _run_in_tf, TF_PYTHON

FIELDS = ["saved_model_checksum", "graph_def_program_hash", "signature_def_hash",
          "saved_object_graph_hash", "checkpoint_hash"]
OLDER = ["mlp_tf2_12", "cnn_bn_tf2_12", "mlp_tf2_15", "cnn_bn_tf2_15"]


def _trained_mlp():
    model = tutorial_mlp()
    rng = np.random.default_rng(3)
    model.fit(rng.normal(size=(16, 20)).astype("float32"), rng.integers(0, 10, 16),
              epochs=1, verbose=0)  # optimizer slots in the bundle and the object graph
    return model


def _directories(tmp_path) -> dict[str, str]:
    dirs = {}
    mlp = _trained_mlp()
    for how, write in (("write_saved_model", lambda m, d: write_saved_model(m, d)),
                       ("model_save", lambda m, d: m.save(d)),
                       ("export", lambda m, d: m.export(d, format="tf_saved_model"))):
        dirs[f"mlp_{how}"] = str(tmp_path / f"mlp_{how}")
        write(mlp, dirs[f"mlp_{how}"])
    for name, build in (("cnn", cnn), ("two_in_two_out", two_in_two_out), ("text", text),
                        ("custom_layer", custom_layer)):  # custom_layer: no signature at all
        dirs[name] = str(tmp_path / name)
        write_saved_model(build(), dirs[name])
    for name in OLDER:
        with tarfile.open(os.path.join(ROOT, "tests", "fixtures", "saved_models",
                                       f"{name}.tar.gz")) as tar:
            tar.extractall(str(tmp_path / "older"), filter="data")
        dirs[name] = str(tmp_path / "older" / name)
    return dirs


def test_tf_reads_our_fingerprint_and_computes_the_same(tmp_path):
    import warnings
    tf_python = _interop_python(TF_PYTHON, "TensorFlow")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # custom_layer: saved without a serving signature
        dirs = _directories(tmp_path)
    out = _run_in_tf(tf_python, "tf_check_fingerprint.py", {"dirs": dirs})
    result = json.loads(out.split("RESULT ", 1)[1])
    assert sorted(result) == sorted(dirs)
    for label, directory in dirs.items():
        ours = fpb.fingerprint_directory(directory)  # what savepoint computes now
        created = result[label]["created"]
        for field in FIELDS:
            assert created[field] == getattr(ours, field), (label, field)
        assert created["producer"] == fpb.PRODUCER
        if label in OLDER:
            continue  # their fingerprint.pb is TF's own (tests/saving compares it)
        written = fpb.decode_fingerprint(
            open(os.path.join(directory, "fingerprint.pb"), "rb").read(), label)
        read = result[label]["read"]
        for field in FIELDS:
            assert read[field] == getattr(written, field) == created[field], (label, field)
        assert read["producer"] == fpb.PRODUCER
        assert read["singleprint"] == "/".join(str(created[f]) for f in FIELDS[1:])
