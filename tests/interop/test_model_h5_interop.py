"""LIVE: ``tf.keras.models.load_model`` opens savepoint's whole-model ``.h5`` (same predictions,
weights and optimizer state bit for bit, training continues where it stopped), and savepoint's
``load_model`` opens ``.h5`` files tf.keras has just written (same predictions, compile config
and optimizer state). One TensorFlow process checks everything (tf_check_model_h5.py)."""

from __future__ import annotations

import json
import os

import numpy as np

import savepoint as keras
from savepoint.utils import set_random_seed

RNG = np.random.default_rng(21)


def tutorial_model() -> keras.Model:
    model = keras.Sequential([keras.layers.Dense(16, activation="relu", input_shape=(20,)),
                              keras.layers.Dropout(0.2), keras.layers.Dense(10)])
    model.compile(optimizer="adam",
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=[keras.metrics.SparseCategoricalAccuracy()])
    return model


def functional_model() -> keras.Model:
    img, tok = keras.Input((4, 4, 2), name="img"), keras.Input((5,), name="tok", dtype="int32")
    a = keras.layers.Conv2D(3, 2, kernel_regularizer="l2")(img)
    a = keras.layers.Flatten()(keras.layers.BatchNormalization()(a))
    b = keras.layers.LayerNormalization()(keras.layers.Embedding(10, 4)(tok))
    b = keras.layers.GlobalAveragePooling1D()(b)
    out = keras.layers.Dense(2, name="out")(keras.layers.Concatenate()([a, b]))
    model = keras.Model([img, tok], out)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.05, momentum=0.9), loss="mse",
                  metrics=["mae"])
    return model


def _save_case(tmp_path, name: str, model: keras.Model, x, y, loose: list[int]) -> dict:
    """Train, save ``name.h5`` and the values tf.keras must find, incl. savepoint's next step."""
    set_random_seed(4)
    model.fit(x, y, batch_size=len(y), epochs=2, verbose=0)
    path = str(tmp_path / f"{name}.h5")
    model.save(path)
    arrays = {"y": y, "pred": model.predict(x, verbose=0), "loose": np.asarray(loose, int)}
    arrays.update({"x_img": x[0], "x_tok": x[1]} if isinstance(x, list) else {"x": x})
    weights = model.get_weights()
    arrays.update({f"w{i}": w for i, w in enumerate(weights)}, n_weights=len(weights))
    variables = model.optimizer.variables
    arrays.update({f"opt{i}": v.numpy() for i, v in enumerate(variables)}, n_opt=len(variables))
    arrays["opt_class"] = type(model.optimizer).__name__
    arrays["lr"] = model.optimizer.learning_rate
    # savepoint's own continuation: one full-batch step (Dropout off: rate set to 0 below)
    for layer in model.layers:
        if hasattr(layer, "rate"):
            layer.rate = 0.0
    model.fit(x, y, batch_size=len(y), epochs=1, verbose=0, shuffle=False)
    arrays.update({f"next_w{i}": w for i, w in enumerate(model.get_weights())})
    np.savez(str(tmp_path / f"{name}.npz"), **arrays)
    return {"h5": path, "npz": str(tmp_path / f"{name}.npz")}


def test_tf_keras_and_savepoint_open_each_others_h5_models(tmp_path, run_in_tf):
    x = RNG.standard_normal((8, 20)).astype("float32")
    seq = _save_case(tmp_path, "tutorial", tutorial_model(), x, RNG.integers(0, 10, 8), [])
    fx = [RNG.standard_normal((4, 4, 4, 2)).astype("float32"),
          RNG.integers(0, 10, (4, 5)).astype("int32")]
    # conv2d/bias (weight 1) feeds BatchNormalization: its gradient is rounding noise.
    fn = _save_case(tmp_path, "functional", functional_model(), fx,
                    RNG.standard_normal((4, 2)).astype("float32"), [1])
    out_dir = tmp_path / "from_tf"
    out_dir.mkdir()
    lines = [json.loads(line) for line in
             run_in_tf("tf_check_model_h5.py",
                       {"read": [seq, fn], "write_dir": str(out_dir)}).splitlines()
             if line.startswith("{")]
    assert [line.get("h5") for line in lines[:2]] == ["tutorial.h5", "functional.h5"]
    assert lines[0]["optimizer"] == 9 and lines[1]["optimizer"] == 10
    assert all(line["max_step_diff"] < 2e-6 for line in lines[:2])
    for name, n_opt in (("tf_sequential", 9), ("tf_functional", 19)):
        _check_tf_file(str(out_dir / f"{name}.h5"), np.load(str(out_dir / f"{name}.npz")), n_opt)


def _check_tf_file(path: str, data, n_opt: int) -> None:
    model = keras.models.load_model(path)
    x = [data["x_img"], data["x_tok"]] if "x_img" in data else data["x"]
    np.testing.assert_allclose(model.predict(x, verbose=0), data["pred"], rtol=1e-5, atol=1e-6)
    assert model.compiled and model.optimizer.learning_rate == float(data["lr"])
    variables = model.optimizer.variables
    assert len(variables) == int(data["n_opt"]) == n_opt
    for i, var in enumerate(variables):
        assert np.array_equal(var.numpy(), data[f"opt{i}"])
    before = int(model.optimizer.iterations.numpy())
    model.fit(x, data["y"], batch_size=len(data["y"]), epochs=1, verbose=0)
    assert int(model.optimizer.iterations.numpy()) == before + 1
    assert os.path.getsize(path) > 0
