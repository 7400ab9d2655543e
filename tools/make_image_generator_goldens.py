"""Regenerate tests/fixtures/goldens/utils/image_generator.npz with REAL tf-keras's
``ImageDataGenerator``: feature-wise statistics from ``fit``, ``standardize``, and the batches
``flow`` yields (by ``next()`` and by index, seeded, shuffled, with flips and a validation
split).

tf-keras's generator needs scipy, which the TF venv lacks: install it beside the venv
(``.venv/bin/python -m pip install --no-deps --target .venvs/tb-extra scipy``), then run from
the repository root: ``PYTHONPATH=.venvs/tb-extra TF_USE_LEGACY_KERAS=1 .venvs/tf/bin/python
tools/make_image_generator_goldens.py``.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import numpy as np  # noqa: E402
from tf_keras.preprocessing.image import ImageDataGenerator  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "goldens", "utils", "image_generator.npz")


def main() -> None:
    rng = np.random.default_rng(5)
    x = rng.integers(0, 256, (7, 4, 5, 3)).astype("float32")
    y = np.array([0, 1, 0, 1, 0, 1, 0])
    out = {"x": x, "y": y}
    gen = ImageDataGenerator(featurewise_center=True, featurewise_std_normalization=True,
                             samplewise_center=True, rescale=1 / 255.0, horizontal_flip=True,
                             vertical_flip=True, validation_split=0.3)
    gen.fit(x)
    out["mean"], out["std"] = gen.mean, gen.std
    out["standardized"] = gen.standardize(np.copy(x[0]))
    it = gen.flow(x, y, batch_size=2, shuffle=True, seed=11, subset="training")
    for k in range(4):
        bx, by = next(it)
        out[f"next{k}_x"], out[f"next{k}_y"] = bx, by
    it = gen.flow(x, y, batch_size=3, shuffle=True, seed=4)
    for k in range(len(it)):
        bx, by = it[k]
        out[f"item{k}_x"], out[f"item{k}_y"] = bx, by
    val = gen.flow(x, y, batch_size=5, shuffle=False, subset="validation")
    out["val_y"] = val[0][1]
    sw = ImageDataGenerator(samplewise_std_normalization=True).flow(
        x, y, batch_size=7, shuffle=False, sample_weight=np.linspace(0.1, 0.7, 7))[0]
    out["sw_x"], out["sw_w"] = sw[0], sw[2]
    np.savez_compressed(OUT, **out)
    print("wrote", OUT)


if __name__ == "__main__":
    main()
