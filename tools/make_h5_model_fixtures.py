"""Regenerate the golden whole-model ``.h5`` fixtures in tests/fixtures/h5_model/ with REAL tf-keras.

Run from the repository root after `bash tools/setup_interop_venvs.sh`:

    TF_USE_LEGACY_KERAS=1 .venvs/tf/bin/python tools/make_h5_model_fixtures.py

Models (small, so the files stay a few KiB):

- ``sequential.h5``: the tutorial's shape (Dense relu - Dropout - Dense), compiled with Adam,
  ``SparseCategoricalCrossentropy(from_logits=True)`` and ``SparseCategoricalAccuracy``, after
  one ``fit`` step (so ``optimizer_weights`` holds Adam's ``m``/``v``).
- ``functional.h5``: two inputs; Conv2D (L2 kernel regularizer) - BatchNormalization - Flatten
  and Embedding - LayerNormalization - GlobalAveragePooling1D, Concatenate, Dense; compiled with
  Adam, ``"mse"`` and ``["mae"]``, after one ``fit`` step.

``expected.npz`` holds the inputs (``seq_x``, ``fn_img``, ``fn_tok``), the labels used for fitting
(``seq_y``, ``fn_y``), the loaded-model predictions (``seq_pred``, ``fn_pred``), the optimizer
iterations, and ``fn_next_w*``: the functional model's weights after one more ``fit`` step on
the same batch (tf-keras's continuation, which savepoint's continuation must match closely).
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "h5_model")


def sequential(k):
    """The tutorial-like Sequential model, compiled."""
    model = k.Sequential([k.layers.Dense(16, activation="relu", input_shape=(20,)),
                          k.layers.Dropout(0.2), k.layers.Dense(10)])
    model.compile(optimizer="adam",
                  loss=k.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=[k.metrics.SparseCategoricalAccuracy()])
    return model


def functional(k):
    """The two-input functional model with the conv/normalization/embedding layers, compiled."""
    img, tok = k.Input((4, 4, 2), name="img"), k.Input((5,), name="tok", dtype="int32")
    a = k.layers.Conv2D(3, 2, kernel_regularizer=k.regularizers.l2(0.01))(img)
    a = k.layers.Flatten()(k.layers.BatchNormalization()(a))
    b = k.layers.LayerNormalization()(k.layers.Embedding(10, 4)(tok))
    b = k.layers.GlobalAveragePooling1D()(b)
    out = k.layers.Dense(2, name="out")(k.layers.Concatenate()([a, b]))
    model = k.Model([img, tok], out)
    model.compile(optimizer=k.optimizers.Adam(0.01), loss="mse", metrics=["mae"])
    return model


def main() -> None:
    import numpy as np
    import tensorflow as tf
    import tf_keras as k
    tf.keras.utils.set_random_seed(0)
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(7)
    data = {"seq_x": rng.standard_normal((8, 20)).astype("float32"),
            "seq_y": rng.integers(0, 10, size=(8,)).astype("int64"),
            "fn_img": rng.standard_normal((4, 4, 4, 2)).astype("float32"),
            "fn_tok": rng.integers(0, 10, size=(4, 5)).astype("int32"),
            "fn_y": rng.standard_normal((4, 2)).astype("float32")}
    seq = sequential(k)
    seq.fit(data["seq_x"], data["seq_y"], batch_size=8, epochs=1, verbose=0)
    seq.save(os.path.join(OUT, "sequential.h5"))
    fn = functional(k)
    fn_x = [data["fn_img"], data["fn_tok"]]
    fn.fit(fn_x, data["fn_y"], batch_size=4, epochs=1, verbose=0)
    fn.save(os.path.join(OUT, "functional.h5"))
    seq2 = k.models.load_model(os.path.join(OUT, "sequential.h5"))
    fn2 = k.models.load_model(os.path.join(OUT, "functional.h5"))
    data["seq_pred"] = seq2.predict(data["seq_x"], verbose=0)
    data["fn_pred"] = fn2.predict(fn_x, verbose=0)
    data["seq_iterations"] = np.int64(seq2.optimizer.iterations.numpy())
    data["fn_iterations"] = np.int64(fn2.optimizer.iterations.numpy())
    fn2.fit(fn_x, data["fn_y"], batch_size=4, epochs=1, verbose=0, shuffle=False)
    for i, w in enumerate(fn2.get_weights()):
        data[f"fn_next_w{i}"] = w
    np.savez(os.path.join(OUT, "expected.npz"), **data)
    print("wrote", sorted(os.listdir(OUT)))


if __name__ == "__main__":
    main()
