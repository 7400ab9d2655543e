"""Regenerate the golden HDF5 weights fixtures in tests/fixtures/h5/ with REAL tf-keras and Keras 3.

Run from the repository root after `bash tools/setup_interop_venvs.sh`:

    .venv/bin/python tools/make_h5_fixtures.py          # runs itself in both interop venvs

or one side only: `.venvs/tf/bin/python tools/make_h5_fixtures.py tf_keras`,
`.venvs/keras3/bin/python tools/make_h5_fixtures.py keras3`.

For each small model (``seq``: Dense-BatchNormalization-Dense trained one Adam step; ``conv``:
functional Conv2D-MaxPooling2D-Flatten-Dense; ``emb``: functional Embedding-LayerNormalization-
GlobalAveragePooling1D-Dense) it writes ``<name>.h5`` (tf-keras ``save_weights``) or
``<name>.weights.h5`` (Keras 3 ``save_weights``, with the optimizer state for ``seq``) and
``<name>.<side>.npz``: ``x`` (inputs), ``y`` (inference predictions), ``w0``... (``get_weights()``)
and, for ``seq``, ``iterations``, ``learning_rate`` and (Keras 3) ``opt2``... (its slots).
The architectures are the ones tests/saving/test_h5_weights.py rebuilds in savepoint.
"""

from __future__ import annotations

import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "tests", "interop"))
import keras_models  # noqa: E402  (the architectures, shared with savepoint's tests)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "h5")


def build(k, name: str):
    """The fixture model ``name`` built with the Keras module ``k`` (tf_keras or keras)."""
    return keras_models.h5_fixture(k, name)


def inputs(name: str, np):
    rng = np.random.default_rng(3)
    if name == "seq":
        return rng.standard_normal((5, 4)).astype("float32")
    if name == "conv":
        return rng.standard_normal((3, 6, 6, 2)).astype("float32")
    return rng.integers(0, 10, size=(4, 5)).astype("int32")


def make(side: str) -> None:
    import numpy as np
    if side == "tf_keras":
        os.environ["TF_USE_LEGACY_KERAS"] = "1"
        import tf_keras as k
        suffix = ".h5"
    else:
        os.environ["KERAS_BACKEND"] = "torch"
        import keras as k
        suffix = ".weights.h5"
    k.utils.set_random_seed(11)
    os.makedirs(OUT, exist_ok=True)
    for name in ("seq", "conv", "emb"):
        model, x = build(k, name), inputs(name, np)
        extra = {}
        if name == "seq":  # one training step: BatchNorm statistics and Adam slots not trivial
            model.compile(optimizer=k.optimizers.Adam(learning_rate=0.01), loss="mse")
            model.fit(x, np.ones((5, 3), "float32"), epochs=2, batch_size=5, verbose=0)
            opt = model.optimizer
            extra = {"iterations": np.asarray(int(opt.iterations.numpy())),
                     "learning_rate": np.asarray(float(np.asarray(opt.learning_rate)))}
            if side == "keras3":  # variables: iteration, learning_rate, then Adam's m, v ...
                extra.update({f"opt{i}": np.asarray(v) for i, v in enumerate(opt.variables)
                              if i > 1})
        path = os.path.join(OUT, name + suffix)
        if os.path.exists(path):
            os.remove(path)
        model.save_weights(path)
        y = np.asarray(model.predict(x, verbose=0))
        arrays = {f"w{i}": np.asarray(w) for i, w in enumerate(model.get_weights())}
        np.savez(os.path.join(OUT, f"{name}.{side}.npz"), x=x, y=y, **arrays, **extra)
        print(f"[make_h5_fixtures] {side}: wrote {os.path.relpath(path, ROOT)} "
              f"({os.path.getsize(path)} bytes)")


def main() -> None:
    if len(sys.argv) > 1:
        make(sys.argv[1])
        return
    for side, venv in (("tf_keras", "tf"), ("keras3", "keras3")):
        python = os.path.join(ROOT, ".venvs", venv, "bin", "python")
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="", PYTHONPATH="")
        subprocess.run([python, os.path.abspath(__file__), side], check=True, env=env)


if __name__ == "__main__":
    main()
