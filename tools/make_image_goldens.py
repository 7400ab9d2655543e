"""Regenerate the image fixtures (tests/fixtures/images/) and what REAL tf-keras makes of them
(tests/fixtures/goldens/images/): ``load_img``/``img_to_array``, ``array_to_img``/``save_img`` and
``image_dataset_from_directory``.

tf-keras's image helpers need Pillow, which the TF venv lacks: install it beside the venv
(``.venvs/tf/bin/python -m pip install --no-deps --target .venvs/tb-extra pillow``), then run
from the repository root:

    PYTHONPATH=.venvs/tb-extra TF_USE_LEGACY_KERAS=1 .venvs/tf/bin/python \
        tools/make_image_goldens.py

Fixtures: ``tree/cats`` and ``tree/dogs`` hold PNGs of every colour type (RGB, RGBA, 8- and
16-bit grayscale, palette) in several sizes; ``jpeg/photos`` holds colour and grayscale JPEGs;
``misc`` a BMP and a GIF. Goldens (``load_img.npz``, ``array_to_img.npz``, ``dataset.npz``):
one array per case, keyed by the case's description, and ``dataset.json`` for the file orders.
"""

from __future__ import annotations

import json
import os
import shutil

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from PIL import Image  # noqa: E402
from tf_keras.utils import (array_to_img, image_dataset_from_directory, img_to_array,  # noqa
                            load_img)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
IMAGES = os.path.join(ROOT, "tests", "fixtures", "images")
OUT = os.path.join(ROOT, "tests", "fixtures", "goldens", "images")

# (relative path, what to draw): PIL mode, (height, width)
FILES = {
    "tree/cats/rgb.png": ("RGB", (9, 13)),
    "tree/cats/gray.png": ("L", (12, 7)),
    "tree/cats/gray16.png": ("I;16", (10, 10)),
    "tree/dogs/rgba.png": ("RGBA", (8, 11)),
    "tree/dogs/palette.png": ("P", (11, 9)),
    "tree/dogs/sub/rgb_nested.png": ("RGB", (6, 6)),
    "jpeg/photos/rgb.jpg": ("RGB", (16, 24)),
    "jpeg/photos/gray.jpg": ("L", (13, 9)),
    "misc/rgb.bmp": ("RGB", (7, 5)),
    "misc/rgb.gif": ("P", (5, 8)),
}
LOAD_CASES = [  # color_mode, target_size, interpolation, keep_aspect_ratio
    ("rgb", None, "nearest", False), ("rgba", None, "nearest", False),
    ("grayscale", None, "nearest", False),
    *[("rgb", (6, 8), interp, False) for interp in
      ("nearest", "bilinear", "bicubic", "hamming", "box", "lanczos")],
    ("grayscale", (11, 5), "bilinear", False),
    ("rgb", (6, 8), "bilinear", True), ("rgba", (11, 5), "nearest", True),
    ("grayscale", (4, 4), "bicubic", True),
]
DATASET_CASES = [  # directory, color_mode, image_size, interpolation, crop_to_aspect_ratio
    ("tree", "rgb", (6, 8), "bilinear", False), ("tree", "grayscale", (5, 5), "nearest", False),
    ("tree", "rgba", (7, 4), "bicubic", True), ("tree", "rgb", (8, 8), "area", False),
    ("tree", "rgb", (4, 9), "bilinear", True), ("jpeg", "rgb", (10, 12), "bilinear", False),
    ("jpeg", "grayscale", (6, 6), "nearest", False),
]


def key(*parts) -> str:
    return "|".join(str(p) for p in parts)


def write_images() -> None:
    shutil.rmtree(IMAGES, ignore_errors=True)
    rng = np.random.default_rng(12)
    for rel, (mode, (h, w)) in FILES.items():
        path = os.path.join(IMAGES, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        # smooth gradients plus noise: resampling filters then differ visibly
        yy, xx = np.mgrid[0:h, 0:w]
        base = (yy * 255 / max(h - 1, 1) + xx * 97 / max(w - 1, 1)) % 256
        rgba = np.stack([base, 255 - base, (base * 3) % 256, 128 + base / 2], -1)
        rgba = np.clip(rgba + rng.integers(-30, 30, rgba.shape), 0, 255).astype(np.uint8)
        if mode == "I;16":
            img = Image.fromarray((base * 257 + rng.integers(0, 200, (h, w))).astype(np.uint16))
        elif mode == "L":
            img = Image.fromarray(rgba[..., 0])
        elif mode == "P":
            img = Image.fromarray(rgba[..., :3]).convert("P")
        else:
            img = Image.fromarray(rgba[..., :len(mode)])
        img.save(path, **({"quality": 90} if rel.endswith(".jpg") else {}))


def load_goldens() -> dict:
    out = {}
    for rel in FILES:
        for color_mode, size, interp, keep in LOAD_CASES:
            img = load_img(os.path.join(IMAGES, rel), color_mode=color_mode, target_size=size,
                           interpolation=interp, keep_aspect_ratio=keep)
            out[key(rel, color_mode, size, interp, keep)] = img_to_array(img)
    return out


def array_goldens() -> dict:
    rng = np.random.default_rng(3)
    arrays = {"rgb_float": rng.normal(0, 1, (4, 5, 3)),
              "rgba_255": rng.uniform(0, 255, (3, 4, 4)),
              "gray_small": rng.uniform(0, 1, (3, 3, 1)),
              "gray_big": rng.uniform(0, 900, (3, 2, 1)),
              "const": np.full((2, 2, 3), 7.0), "chw": rng.uniform(0, 1, (3, 2, 4))}
    out = {}
    for name, x in arrays.items():
        out[f"in|{name}"] = x
        fmt = "channels_first" if name == "chw" else "channels_last"
        for scale in (True, False):
            if not scale and name == "rgb_float":
                continue
            img = array_to_img(x, data_format=fmt, scale=scale)
            out[key("out", name, scale, img.mode)] = np.asarray(img)
    return out


def dataset_goldens() -> tuple[dict, dict]:
    arrays, orders = {}, {}
    for directory, color_mode, size, interp, crop in DATASET_CASES:
        ds = image_dataset_from_directory(os.path.join(IMAGES, directory), color_mode=color_mode,
                                          image_size=size, interpolation=interp,
                                          crop_to_aspect_ratio=crop, shuffle=False, batch_size=3)
        xs, ys = zip(*[(x.numpy(), y.numpy()) for x, y in ds])
        name = key(directory, color_mode, size, interp, crop)
        arrays[f"x|{name}"], arrays[f"y|{name}"] = np.concatenate(xs), np.concatenate(ys)
        orders[name] = [os.path.relpath(p, IMAGES) for p in ds.file_paths]
    for seed in (1, 7):
        train, val = image_dataset_from_directory(
            os.path.join(IMAGES, "tree"), image_size=(4, 4), seed=seed, validation_split=0.4,
            subset="both", label_mode="categorical")
        orders[f"split|{seed}"] = {"train": [os.path.relpath(p, IMAGES) for p in train.file_paths],
                                   "val": [os.path.relpath(p, IMAGES) for p in val.file_paths],
                                   "class_names": train.class_names}
    return arrays, orders


def main() -> None:
    write_images()
    os.makedirs(OUT, exist_ok=True)
    np.savez_compressed(os.path.join(OUT, "load_img.npz"), **load_goldens())
    np.savez_compressed(os.path.join(OUT, "array_to_img.npz"), **array_goldens())
    arrays, orders = dataset_goldens()
    np.savez_compressed(os.path.join(OUT, "dataset.npz"), **arrays)
    with open(os.path.join(OUT, "dataset.json"), "w") as f:
        json.dump(orders, f, indent=1, sort_keys=True)
    print("wrote", IMAGES, "and", OUT, tf.__version__)


if __name__ == "__main__":
    main()
