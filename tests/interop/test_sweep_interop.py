"""LIVE: tf.keras opens savepoint's .h5 of a model with activity regularizers (Dense, LSTM) and
normalization constraints, and computes the same regularization losses and evaluate loss."""

import json

import numpy as np

import savepoint as keras


def test_tf_keras_reads_activity_regularizers(tmp_path, run_in_tf):
    model = keras.Sequential([
        keras.Input((4, 3)),
        keras.layers.LSTM(3, return_sequences=True,
                          activity_regularizer=keras.regularizers.L1(0.1)),
        keras.layers.LayerNormalization(gamma_constraint="non_neg"),
        keras.layers.Flatten(),
        keras.layers.Dense(2, activity_regularizer=keras.regularizers.L2(0.2))])
    model.compile("sgd", "mse")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 4, 3)).astype("float32")
    y = rng.standard_normal((5, 2)).astype("float32")
    path = str(tmp_path / "a.h5")
    model.save(path)
    model(x)
    ours = [float(v.detach()) for v in model.losses]
    line = [json.loads(s) for s in run_in_tf("tf_check_activity.py",
                                             {"h5": path, "x": x.tolist(), "y": y.tolist()})
            .splitlines() if s.startswith("{")][0]
    np.testing.assert_allclose(line["losses"], ours, rtol=1e-5)
    np.testing.assert_allclose(line["evaluate"],
                               model.evaluate(x, y, batch_size=5, verbose=0), rtol=1e-5)
    assert line["constraints"] == ["NonNeg"]
