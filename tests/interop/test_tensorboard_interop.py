"""LIVE: TensorFlow and TensorBoard's EventAccumulator (the ``tensorboard`` package that
tools/setup_interop_venvs.sh installs into .venvs/tb-extra) read the event files savepoint's
TensorBoard callback writes."""

import json
import os

import numpy as np
import pytest

import savepoint as keras
from venv_runners import ROOT, _run_script


def test_tensorflow_and_tensorboard_read_savepoint_event_files(tmp_path, tf_python):
    model = keras.Sequential([keras.layers.Dense(2, input_shape=(3,)), keras.layers.Dense(1)])
    model.compile("adam", "mse")
    x = np.random.default_rng(0).standard_normal((8, 3)).astype("float32")
    history = model.fit(x, x[:, :1], epochs=2, validation_data=(x, x[:, :1]), verbose=0,
                        callbacks=[keras.callbacks.TensorBoard(str(tmp_path),
                                                               histogram_freq=1)])
    extra = os.path.join(ROOT, ".venvs", "tb-extra")
    if not os.path.isdir(os.path.join(extra, "tensorboard")):
        pytest.fail(f"Expected the tensorboard package in {extra}. Received no such folder. "
                    "Fix: run `bash tools/setup_interop_venvs.sh`.", pytrace=False)
    env = {"TF_USE_LEGACY_KERAS": "1", "TF_CPP_MIN_LOG_LEVEL": "3"}
    out = _run_script(tf_python, "TensorFlow", env, "tf_check_tensorboard.py",
                      {"logdir": str(tmp_path), "extra": extra})
    lines = {d["dir"]: d for d in (json.loads(s) for s in out.splitlines()
                                   if s.startswith("{"))}
    train = lines["train"]
    assert [0, "keras", "graph_keras_model"] in train["tags"]
    assert [1, "epoch_loss", "scalars"] in train["tags"]
    assert [1, "dense/kernel_0/histogram", "histograms"] in train["tags"]
    assert [0, "epoch_loss", "scalars"] in lines["validation"]["tags"]
    assert train["tensorboard"], "TensorBoard's EventAccumulator did not load"
    assert "epoch_loss" in train["tensor_tags"]
    assert "dense/kernel_0/histogram" in train["tensor_tags"]
    np.testing.assert_allclose([v for _, v in train["loss"]], history.history["loss"],
                               rtol=1e-6)
