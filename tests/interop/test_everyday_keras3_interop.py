"""LIVE: Keras 3 opens savepoint's .keras files compiled with the new optimizers, losses and
metrics, with weight constraints on a layer: same predictions, same classes, and it trains."""

import json

import numpy as np

import savepoint as keras

CASES = [("Adagrad", keras.losses.BinaryFocalCrossentropy(gamma=3.0),
          [keras.metrics.F1Score(threshold=0.5)]),
         ("Adadelta", keras.losses.CategoricalHinge(), [keras.metrics.R2Score()]),
         ("Adamax", "mse", []), ("Nadam", "mse", []), ("Ftrl", "mse", [])]


def test_keras3_loads_everyday_api_models(tmp_path, run_in_keras3):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((8, 4)).astype("float32")
    t = (rng.uniform(size=(8, 2)) > 0.5).astype("float32")
    specs = []
    for name, loss, metrics in CASES:
        model = keras.Sequential([
            keras.layers.Dense(2, activation="sigmoid", input_shape=(4,),
                               kernel_constraint=keras.constraints.MaxNorm(1.5),
                               bias_constraint=keras.constraints.NonNeg())])
        model.compile(getattr(keras.optimizers, name)(learning_rate=0.05), loss,
                      metrics=metrics)
        model.fit(x, t, epochs=2, verbose=0)
        path = str(tmp_path / f"{name}.keras")
        model.save(path)
        np.savez(str(tmp_path / f"{name}.npz"), x=x, t=t, y=model.predict(x, verbose=0))
        specs.append({"path": path, "npz": str(tmp_path / f"{name}.npz")})
    lines = [json.loads(s) for s in run_in_keras3("keras3_check_everyday.py", specs).splitlines()
             if s.startswith("{")]
    assert [line["optimizer"] for line in lines] == [name for name, _, _ in CASES]
    for line in lines:
        assert line["pred_diff"] < 1e-5, line
        assert line["kernel_constraint"] == "MaxNorm" and line["bias_constraint"] == "NonNeg"
        assert line["trained"]
    assert lines[0]["loss"] == "BinaryFocalCrossentropy"
