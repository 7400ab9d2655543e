"""Regenerate tests/fixtures/goldens/image_transforms/transforms.npz with REAL tf-keras's
``ImageDataGenerator``: ``apply_transform`` for fixed parameters (every fill mode, spline orders
0, 1 and 3, rotation/shift/shear/zoom alone and together, channel shift, flips, brightness),
``get_random_transform``/``random_transform`` for seeds, the ``random_*`` functions, the
augmented batches of ``flow`` and ``flow_from_directory`` (on tests/fixtures/images/tree, made by
make_image_goldens.py, with ``save_to_dir`` too), ``smart_resize`` and ZCA whitening.

tf-keras's generator needs scipy and Pillow, which the TF venv lacks: install them beside the
venv (``.venvs/tf/bin/python -m pip install --no-deps --target .venvs/tb-extra scipy pillow``),
then run from the repository root:

    PYTHONPATH=.venvs/tb-extra TF_USE_LEGACY_KERAS=1 .venvs/tf/bin/python \
        tools/make_image_transform_goldens.py

Keys: ``x`` (the image), ``cases`` (the parameter tables below, as JSON), ``apply|<case>``
(outputs), ``params|<case>|<seed>|<name>`` and ``random|<case>|<seed>`` (seeded draws and
outputs), ``flow|...`` and ``dir|...`` (batches).
"""

from __future__ import annotations

import json
import os
import tempfile

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import numpy as np  # noqa: E402
from tf_keras.preprocessing import image  # noqa: E402
from tf_keras.preprocessing.image import ImageDataGenerator, smart_resize  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "goldens", "image_transforms", "transforms.npz")
TREE = os.path.join(ROOT, "tests", "fixtures", "images", "tree")

PARAMS = {
    "rotate": {"theta": 23.0},
    "shift": {"tx": 1.7, "ty": -2.2},
    "shear": {"shear": 14.0},
    "zoom": {"zx": 0.8, "zy": 1.3},
    "all": {"theta": -31.0, "tx": -1.2, "ty": 2.5, "shear": 8.0, "zx": 1.1, "zy": 0.85},
    "channel_flips": {"channel_shift_intensity": 21.5, "flip_horizontal": True,
                      "flip_vertical": True},
    "brightness": {"brightness": 1.4},
    "everything": {"theta": 12.0, "tx": 2.0, "zx": 0.9, "zy": 0.9,
                   "channel_shift_intensity": -15.0, "flip_horizontal": True,
                   "brightness": 0.7},
}
GENERATORS = {  # name -> generator kwargs for the apply goldens
    "nearest": {}, "constant": {"fill_mode": "constant", "cval": 33.0},
    "reflect": {"fill_mode": "reflect"}, "wrap": {"fill_mode": "wrap"},
    "order0": {"interpolation_order": 0}, "order3": {"interpolation_order": 3,
                                                     "fill_mode": "reflect"},
}
RANDOM = {  # name -> generator kwargs for seeded draws
    "ranges": dict(rotation_range=40, width_shift_range=0.2, height_shift_range=0.3,
                   shear_range=10, zoom_range=0.25, horizontal_flip=True, vertical_flip=True,
                   channel_shift_range=30.0, brightness_range=(0.6, 1.3), fill_mode="constant"),
    "int_shifts": dict(width_shift_range=2, height_shift_range=[1, 3], zoom_range=[0.9, 1.2]),
    "pixel_shifts": dict(width_shift_range=2.5, height_shift_range=1.5, fill_mode="wrap"),
}
RANDOM_FUNCTIONS = {  # tf-keras's random_* functions: (name, args, kwargs) after
    # np.random.seed(31); channels-last axes, but "chw_" cases take the image channels-first
    "rotation": ("random_rotation", [40, 0, 1, 2, "reflect"], {}),
    "shift": ("random_shift", [0.3, 0.2, 0, 1, 2, "constant", 9.0], {}),
    "shear": ("random_shear", [25, 0, 1, 2], {"interpolation_order": 0}),
    "zoom": ("random_zoom", [[0.7, 1.2], 0, 1, 2, "wrap"], {}),
    "channel_shift": ("random_channel_shift", [40.0, 2], {}),
    "brightness": ("random_brightness", [[0.5, 1.5]], {}),
    "chw_rotation": ("random_rotation", [40], {}),
}
NAMES = ("theta", "tx", "ty", "shear", "zx", "zy", "flip_horizontal", "flip_vertical",
         "channel_shift_intensity", "brightness")


def main() -> None:
    x = np.random.default_rng(21).uniform(0, 255, (7, 9, 3)).astype("float32")
    cases = {"params": PARAMS, "generators": GENERATORS, "random": RANDOM,
             "functions": RANDOM_FUNCTIONS}
    out = {"x": x, "cases": np.array(json.dumps(cases))}
    for gname, kwargs in GENERATORS.items():
        gen = ImageDataGenerator(**kwargs)
        for pname, params in PARAMS.items():
            out[f"apply|{gname}|{pname}"] = gen.apply_transform(np.copy(x), params)
    for rname, kwargs in RANDOM.items():
        gen = ImageDataGenerator(**kwargs)
        for seed in (0, 5, 77):
            params = gen.get_random_transform(x.shape, seed=seed)
            for name in NAMES:
                value = params[name]
                out[f"params|{rname}|{seed}|{name}"] = np.array(
                    np.nan if value is None else value, np.float64)
            out[f"random|{rname}|{seed}"] = gen.random_transform(np.copy(x), seed=seed)
    for name, (fn, args, kwargs) in RANDOM_FUNCTIONS.items():
        np.random.seed(31)
        image_in = np.moveaxis(x, 2, 0) if name.startswith("chw_") else np.copy(x)
        out[f"fn|{name}"] = getattr(image, fn)(image_in, *args, **kwargs)
    gen = ImageDataGenerator(rescale=1 / 255.0, **RANDOM["ranges"])
    xs = np.random.default_rng(4).uniform(0, 255, (5, 6, 8, 3)).astype("float32")
    out["flow_x"] = xs
    it = gen.flow(xs, np.arange(5), batch_size=2, seed=9)
    for k in range(3):
        bx, by = next(it)
        out[f"flow|next|{k}|x"], out[f"flow|next|{k}|y"] = bx, by
    misc = (np.arange(5.0) * 10, [np.arange(10).reshape(5, 2), np.arange(5) % 2])
    for name, extra in (("one", misc[0]), ("list", misc[1])):
        it = ImageDataGenerator(rotation_range=10, validation_split=0.4).flow(
            (xs, extra), np.arange(5), batch_size=3, seed=2, subset="training",
            ignore_class_split=True)
        batch = it[0]
        out[f"misc|{name}|x"] = batch[0][0]
        for m, value in enumerate(batch[0][1:]):
            out[f"misc|{name}|{m}"] = value
        out[f"misc|{name}|y"] = batch[1]
    it = gen.flow(xs, np.arange(5), batch_size=2, seed=3)
    for k in range(len(it)):
        bx, by = it[k]
        out[f"flow|item|{k}|x"], out[f"flow|item|{k}|y"] = bx, by
    dgen = ImageDataGenerator(rotation_range=20, zoom_range=0.1, horizontal_flip=True,
                              validation_split=0.5)
    for mode, subset in (("categorical", None), ("sparse", "training"), ("binary", "validation")):
        it = dgen.flow_from_directory(TREE, target_size=(6, 8), class_mode=mode, batch_size=2,
                                      seed=4, subset=subset, interpolation="bilinear")
        out[f"dir|{mode}|files"] = np.array(it.filenames)
        for k in range(len(it)):
            bx, by = it[k]
            out[f"dir|{mode}|{k}|x"], out[f"dir|{mode}|{k}|y"] = bx, by
    it = ImageDataGenerator().flow_from_directory(TREE, target_size=(5, 5), color_mode="grayscale",
                                                  class_mode=None, shuffle=False,
                                                  keep_aspect_ratio=True)
    out["dir|none|0|x"] = it[0]
    for interp in ("bilinear", "nearest", "bicubic", "area"):
        out[f"smart|{interp}"] = smart_resize(x, (4, 6), interpolation=interp)
        out[f"smart_batch|{interp}"] = smart_resize(xs, (9, 5), interpolation=interp)
    for kind in ("flow", "dir"):  # save_to_dir: the names, and the draws they take
        with tempfile.TemporaryDirectory() as tmp:
            if kind == "flow":
                it = gen.flow(xs, np.arange(5), batch_size=2, seed=6, save_to_dir=tmp,
                              save_prefix="aug", save_format="jpeg")
            else:
                it = dgen.flow_from_directory(TREE, target_size=(6, 8), batch_size=4, seed=6,
                                              save_to_dir=tmp, save_prefix="d")
            for k in range(2):
                out[f"save|{kind}|{k}|x"] = next(it)[0]
            out[f"save|{kind}|names"] = np.array(sorted(os.listdir(tmp)))
    zca = ImageDataGenerator(zca_whitening=True, zca_epsilon=1e-3, rescale=1 / 255.0)
    zca.fit(xs)
    out["zca|mean"], out["zca|matrix"] = zca.mean, zca.zca_whitening_matrix
    out["zca|standardized"] = zca.standardize(np.copy(xs[:2]))
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    np.savez_compressed(OUT, **out)
    print("wrote", OUT)


if __name__ == "__main__":
    main()
