"""Live: Keras 3 ``keras.models.load_model`` opens savepoint's ``.keras`` files (same predictions,
weights, compile config and Adam state; a Lambda layer only with ``safe_mode=False``), and
savepoint opens files Keras 3 saves just now."""

import os

import numpy as np

import savepoint as keras
from savepoint.utils import set_random_seed


def tutorial():
    model = keras.Sequential([keras.layers.Dense(16, activation="relu", input_shape=(784,)),
                              keras.layers.Dropout(0.2), keras.layers.Dense(10)])
    model.compile(optimizer="adam",
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=[keras.metrics.SparseCategoricalAccuracy()])
    rng = np.random.default_rng(1)
    return model, [rng.random((6, 784), dtype=np.float32)], rng.integers(0, 10, 6)


def functional():
    image = keras.Input((8, 8, 3), name="image")
    tokens = keras.Input((5,), dtype="int32", name="tokens")
    a = keras.layers.Conv2D(4, 3, padding="same", activation="relu")(image)
    a = keras.layers.BatchNormalization()(a)
    a = keras.layers.GlobalAveragePooling2D()(keras.layers.MaxPooling2D()(a))
    b = keras.layers.LayerNormalization()(keras.layers.Embedding(20, 4)(tokens))
    b = keras.layers.GlobalAveragePooling1D()(b)
    out = keras.layers.Dense(3)(keras.layers.Concatenate()([a, b]))
    model = keras.Model([image, tokens], out)
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss=keras.losses.MeanSquaredError())
    rng = np.random.default_rng(2)
    x = [rng.standard_normal((6, 8, 8, 3)).astype("float32"),
         rng.integers(0, 20, (6, 5)).astype("int32")]
    return model, x, rng.standard_normal((6, 3)).astype("float32")


def saved_by_savepoint(tmp_path, name, factory, loss, from_logits, metrics):
    set_random_seed(4)
    model, x, y = factory()
    model.fit(x if len(x) > 1 else x[0], y, epochs=2, batch_size=3, verbose=0)
    path, npz = str(tmp_path / f"{name}.keras"), str(tmp_path / f"{name}.npz")
    model.save(path)
    arrays = {f"x{i}": v for i, v in enumerate(x)}
    arrays["y"] = model.predict(x if len(x) > 1 else x[0], verbose=0)
    arrays.update({f"w{i}": w for i, w in enumerate(model.get_weights())})
    arrays.update({f"slot{i}": v.numpy() for i, v in enumerate(model.optimizer.variables[1:])})
    arrays["iterations"] = np.asarray(int(model.optimizer.iterations.numpy()))
    arrays["learning_rate"] = np.asarray(float(model.optimizer.learning_rate))
    np.savez(npz, **arrays)
    return {"action": "load", "path": path, "npz": npz, "optimizer": "Adam", "loss": loss,
            "from_logits": from_logits, "metrics": metrics}


def test_keras3_and_savepoint_open_each_others_keras_files(tmp_path, run_in_keras3):
    specs = [saved_by_savepoint(tmp_path, "tutorial", tutorial, "SparseCategoricalCrossentropy",
                                True, ["SparseCategoricalAccuracy"]),
             saved_by_savepoint(tmp_path, "functional", functional, "MeanSquaredError", None,
                                [])]
    lam = keras.Sequential([keras.layers.Dense(2, input_shape=(3,)),
                            keras.layers.Lambda(lambda t: t * 3 + 1)])
    lam.save(str(tmp_path / "lambda.keras"))
    x = np.random.default_rng(3).random((4, 3), dtype=np.float32)
    np.savez(str(tmp_path / "lambda.npz"), x0=x, y=lam.predict(x, verbose=0))
    specs.append({"action": "lambda", "path": str(tmp_path / "lambda.keras"),
                  "npz": str(tmp_path / "lambda.npz")})
    for name in ("tutorial", "functional"):
        specs.append({"action": "save", "model": name, "seed": 9,
                      "path": str(tmp_path / f"k3_{name}.keras"),
                      "npz": str(tmp_path / f"k3_{name}.npz")})
    out = run_in_keras3("keras3_check_keras.py", specs)
    assert out.count("OK keras3 load_model") == 2 and out.count("OK keras3 save") == 2
    assert "OK keras3 lambda" in out
    for name in ("tutorial", "functional"):
        expected = np.load(str(tmp_path / f"k3_{name}.npz"))
        model = keras.models.load_model(str(tmp_path / f"k3_{name}.keras"))
        x = [expected[k] for k in sorted(expected.files) if k.startswith("x")]
        np.testing.assert_allclose(model.predict(x if len(x) > 1 else x[0], verbose=0),
                                   expected["y"], rtol=1e-5, atol=1e-5)
        for i, w in enumerate(model.get_weights()):
            assert w.tobytes() == expected[f"w{i}"].tobytes()
        opt = model.optimizer
        assert int(opt.iterations.numpy()) == int(expected["iterations"]) == 1
        assert np.float32(opt.learning_rate) == np.float32(expected["learning_rate"])
        opt.build(model.trainable_variables)  # applies the restored (deferred) Adam slots
        slots = [v.numpy() for v in opt.variables[1:]]
        theirs = [expected[f"opt{i}"] for i in range(2, len(slots) + 2)]
        assert len(slots) == len(theirs) and all(a.tobytes() == b.tobytes()
                                                 for a, b in zip(slots, theirs))
    assert sorted(os.listdir(tmp_path)) == sorted(
        [f"{p}{n}.{e}" for p in ("", "k3_") for n in ("tutorial", "functional")
         for e in ("keras", "npz")] + ["lambda.keras", "lambda.npz"])
