"""Regenerate the golden ``.keras`` fixtures in tests/fixtures/keras/ with REAL Keras 3.

Run from the repository root after `bash tools/setup_interop_venvs.sh`:

    .venv/bin/python tools/make_keras_fixtures.py     # runs itself in the Keras 3 venv

Each model is trained one Adam step (BatchNormalization statistics and the optimizer's slots
are then not trivial) and saved with ``model.save("<name>.keras")``:

* ``tutorial``: the tutorial's Sequential, narrowed (Dense(16, relu) on 784 inputs, Dropout(0.2),
  Dense(10)), compiled with Adam, SparseCategoricalCrossentropy(from_logits=True) and
  SparseCategoricalAccuracy.
* ``functional``: two inputs; Conv2D-BatchNormalization-MaxPooling2D-GlobalAveragePooling2D on
  an image, Embedding-LayerNormalization-GlobalAveragePooling1D on tokens, Concatenate, Dense;
  compiled with Adam(0.01), "mse", ["mae"].

Beside each, ``<name>.npz`` holds ``x0``... (inputs), ``y`` (inference predictions), ``w0``...
(``get_weights()``), ``iterations``, ``learning_rate`` and ``opt0``... (every optimizer variable,
Keras 3 order: iteration, learning rate, then the slots).
"""

from __future__ import annotations

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "keras")
NAMES = ("tutorial", "functional")


def build(k, name: str):
    """The fixture model ``name``, compiled, built with the Keras module ``k``."""
    if name == "tutorial":
        model = k.Sequential([k.Input((784,)), k.layers.Dense(16, activation="relu"),
                              k.layers.Dropout(0.2), k.layers.Dense(10)])
        model.compile(optimizer=k.optimizers.Adam(),
                      loss=k.losses.SparseCategoricalCrossentropy(from_logits=True),
                      metrics=[k.metrics.SparseCategoricalAccuracy()])
        return model
    image = k.Input((8, 8, 3), name="image")
    tokens = k.Input((5,), dtype="int32", name="tokens")
    a = k.layers.Conv2D(4, 3, padding="same", activation="relu")(image)
    a = k.layers.BatchNormalization()(a)
    a = k.layers.GlobalAveragePooling2D()(k.layers.MaxPooling2D()(a))
    b = k.layers.LayerNormalization()(k.layers.Embedding(20, 4)(tokens))
    b = k.layers.GlobalAveragePooling1D()(b)
    out = k.layers.Dense(3)(k.layers.Concatenate()([a, b]))
    model = k.Model([image, tokens], out)
    model.compile(optimizer=k.optimizers.Adam(learning_rate=0.01), loss="mse", metrics=["mae"])
    return model


def data(name: str, np) -> tuple[list, object]:
    """Inputs and training targets of fixture ``name``."""
    rng = np.random.default_rng(5)
    if name == "tutorial":
        return [rng.random((6, 784)).astype("float32")], rng.integers(0, 10, 6).astype("int64")
    return ([rng.standard_normal((6, 8, 8, 3)).astype("float32"),
             rng.integers(0, 20, (6, 5)).astype("int32")],
            rng.standard_normal((6, 3)).astype("float32"))


def make() -> None:
    os.environ["KERAS_BACKEND"] = "torch"
    import keras as k
    import numpy as np
    k.utils.set_random_seed(7)
    os.makedirs(OUT, exist_ok=True)
    for name in NAMES:
        model = build(k, name)
        x, y = data(name, np)
        model.fit(x if len(x) > 1 else x[0], y, epochs=1, batch_size=6, verbose=0)
        path = os.path.join(OUT, f"{name}.keras")
        model.save(path)
        opt = model.optimizer
        arrays = {f"x{i}": v for i, v in enumerate(x)}
        arrays["y"] = np.asarray(model.predict(x if len(x) > 1 else x[0], verbose=0))
        arrays.update({f"w{i}": np.asarray(w) for i, w in enumerate(model.get_weights())})
        arrays.update({f"opt{i}": np.asarray(v) for i, v in enumerate(opt.variables)})
        arrays["iterations"] = np.asarray(int(np.asarray(opt.iterations)))
        arrays["learning_rate"] = np.asarray(float(np.asarray(opt.learning_rate)))
        np.savez(os.path.join(OUT, f"{name}.npz"), **arrays)
        print(f"[make_keras_fixtures] wrote {os.path.relpath(path, ROOT)} "
              f"({os.path.getsize(path)} bytes)")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "keras3":
        make()
        return
    python = os.path.join(ROOT, ".venvs", "keras3", "bin", "python")
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="", PYTHONPATH="", KERAS_BACKEND="torch")
    subprocess.run([python, os.path.abspath(__file__), "keras3"], check=True, env=env)


if __name__ == "__main__":
    main()
