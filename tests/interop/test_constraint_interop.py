"""LIVE: tf.keras opens savepoint's .h5 model with MaxNorm/NonNeg constraints and applies
them while it trains."""

import json

import numpy as np

import savepoint as keras


def test_tf_keras_reads_and_applies_savepoint_constraints(tmp_path, run_in_tf):
    model = keras.Sequential([
        keras.layers.Dense(3, input_shape=(4,), kernel_constraint=keras.constraints.MaxNorm(0.7),
                           bias_constraint="non_neg"),
        keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    path = str(tmp_path / "c.h5")
    model.save(path)
    x = np.random.default_rng(0).standard_normal((8, 4)).round(3).tolist()
    line = [json.loads(s) for s in run_in_tf("tf_check_constraints.py",
                                             {"h5": path, "x": x}).splitlines()
            if s.startswith("{")][0]
    assert line["kernel"] == "MaxNorm" and line["kernel_config"]["max_value"] == 0.7
    assert line["bias"] == "NonNeg"
    assert line["max_norm"] <= 0.7 + 1e-5 and line["min_bias"] >= 0.0
