"""LIVE: models of the attention, activation, merging, reshaping, normalization and
regularization layers (issue 8.3/8.4) move between savepoint and real Keras both ways:
tf.keras opens savepoint's ``.h5`` and TF checkpoint, savepoint opens tf.keras's ``.h5``;
Keras 3 opens savepoint's ``.keras`` and savepoint opens Keras 3's. Architectures:
attention_layer_models.py, shared by every side."""

from __future__ import annotations

import importlib.util
import os

import numpy as np
import pytest

import savepoint

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("sp_attention_layer_models",
                                               os.path.join(HERE, "attention_layer_models.py"))
zoo = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(zoo)


def _ours(tmp, name: str, keras2_only: bool) -> tuple[object, dict]:
    savepoint.backend.clear_session()
    model = zoo.BUILDERS[name](savepoint, keras2_only=keras2_only)
    zoo.set_weights(model, 1)
    x = zoo.data(name)
    npz = str(tmp / f"{name}_ours.npz")
    np.savez(npz, **{f"x{i}": v for i, v in enumerate(x)},
             y=model.predict(zoo.feed(x), verbose=0),
             **{f"w{i}": w for i, w in enumerate(model.get_weights())})
    return model, {"name": name, "npz": npz}


def _check_theirs(path: str, npz: str) -> None:
    data = np.load(npz)
    model = savepoint.models.load_model(path)
    for i, w in enumerate(model.get_weights()):
        assert np.array_equal(w, data[f"w{i}"]), f"{path}: weight {i} differs"
    np.testing.assert_allclose(model.predict(zoo.inputs_of(data), verbose=0), data["y"],
                               rtol=1e-5,
                               atol=1e-5)


def test_tf_keras_both_ways(tmp_path, run_in_tf):
    read = []
    for name in zoo.BUILDERS:
        model, entry = _ours(tmp_path, name, keras2_only=True)
        entry["h5"] = str(tmp_path / f"{name}.h5")
        entry["ckpt"] = str(tmp_path / f"{name}_ckpt" / "cp.ckpt")
        model.save(entry["h5"])
        model.save_weights(entry["ckpt"])
        read.append(entry)
    out = tmp_path / "tf"
    out.mkdir()
    run_in_tf("tf_attention_layers.py", {"read": read, "write_dir": str(out)})
    for name in zoo.BUILDERS:
        _check_theirs(str(out / f"{name}.h5"), str(out / f"{name}.npz"))


def test_keras3_both_ways(tmp_path, run_in_keras3):
    read = []
    for name in zoo.KERAS3_BUILDERS:
        model, entry = _ours(tmp_path, name, keras2_only=False)
        entry["keras"] = str(tmp_path / f"{name}.keras")
        model.save(entry["keras"])
        read.append(entry)
    out = tmp_path / "k3"
    out.mkdir()
    run_in_keras3("keras3_attention_layers.py", {"read": read, "write_dir": str(out)})
    for name in zoo.KERAS3_BUILDERS:
        _check_theirs(str(out / f"{name}.keras"), str(out / f"{name}.npz"))
