"""Make tests/fixtures/applications/: layer names/classes and weight shapes of the big Keras
applications (too slow to compare predictions in the suite), and preprocess_input goldens.

Run with REAL tf-keras:
    TF_USE_LEGACY_KERAS=1 .venvs/tf/bin/python tools/make_applications_manifest.py
(``... make_applications_manifest.py heads`` writes only heads/heads.json: the last layers of one
builder per family with ``include_top=True`` and with ``pooling`` None/"avg"/"max".)
"""

import json
import os
import sys

import numpy as np
import tensorflow as tf

keras = tf.keras
OUT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                   "tests", "fixtures", "applications")

# builder -> kwargs: small inputs keep the build fast; the architecture does not depend on it.
BIG = {
    "ResNet101": {"include_top": True, "input_shape": (32, 32, 3), "classes": 10},
    "ResNet152": {"include_top": True, "input_shape": (32, 32, 3), "classes": 10},
    "ResNet101V2": {"include_top": False, "input_shape": (32, 32, 3)},
    "ResNet152V2": {"include_top": False, "input_shape": (32, 32, 3)},
    "DenseNet169": {"include_top": False, "input_shape": (32, 32, 3)},
    "DenseNet201": {"include_top": True, "input_shape": (32, 32, 3), "classes": 10},
    "VGG19": {"include_top": True, "input_shape": (32, 32, 3), "classes": 10},
    "MobileNet": {"include_top": True, "input_shape": (32, 32, 3), "alpha": 0.75,
                  "depth_multiplier": 2},
    "MobileNetV2": {"include_top": True, "input_shape": (32, 32, 3), "alpha": 1.4},
    "EfficientNetB3": {"include_top": True, "input_shape": (32, 32, 3), "classes": 10},
    "EfficientNetB7": {"include_top": False, "input_shape": (32, 32, 3)},
    "MobileNetV3Large": {"include_top": True, "input_shape": (32, 32, 3), "alpha": 0.75},
    "Xception": {"include_top": False, "input_shape": (71, 71, 3), "pooling": "max"},
}


def manifest() -> None:
    for name, kwargs in BIG.items():
        keras.backend.clear_session()
        model = getattr(keras.applications, name)(weights=None, **kwargs)
        data = {"kwargs": kwargs, "name": model.name,
                "layers": [[l.name, type(l).__name__] for l in model.layers],
                "weights": [[w.name, list(w.shape)] for w in model.weights],
                "output_shape": list(model.output_shape)}
        with open(os.path.join(OUT, f"{name}.json"), "w") as f:
            json.dump(data, f, separators=(",", ":"))


def preprocess() -> None:
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (2, 4, 5, 3)).astype("float32")
    out = {"x": x}
    for mode in ("caffe", "tf", "torch"):
        out[mode] = keras.applications.imagenet_utils.preprocess_input(x.copy(), mode=mode)
        out[mode + "_first"] = keras.applications.imagenet_utils.preprocess_input(
            x.transpose(0, 3, 1, 2).copy(), mode=mode, data_format="channels_first")
        out[mode + "_tensor"] = keras.applications.imagenet_utils.preprocess_input(
            tf.constant(x), mode=mode).numpy()
    out["uint8_caffe"] = keras.applications.imagenet_utils.preprocess_input(
        x.astype("uint8"), mode="caffe")
    np.savez_compressed(os.path.join(OUT, "preprocess.npz"), **out)


# One builder per family, at a small input each accepts.
HEAD_BUILDERS = {"VGG16": 32, "ResNet50": 32, "ResNet50V2": 32, "DenseNet121": 32,
                 "MobileNet": 32, "MobileNetV2": 32, "MobileNetV3Small": 32,
                 "EfficientNetB0": 32, "Xception": 71, "InceptionV3": 75, "ConvNeXtTiny": 32}
HEAD_VARIANTS = {"top": {"include_top": True, "classes": 10},
                 "none": {"include_top": False}, "avg": {"include_top": False, "pooling": "avg"},
                 "max": {"include_top": False, "pooling": "max"}}
HEAD_LAYERS = 6  # enough to hold every builder's classifier top


def heads() -> None:
    out = {}
    for name, size in HEAD_BUILDERS.items():
        for variant, kwargs in HEAD_VARIANTS.items():
            keras.backend.clear_session()
            model = getattr(keras.applications, name)(weights=None, input_shape=(size, size, 3),
                                                      **kwargs)
            out[f"{name}/{variant}"] = {
                "layers": [[l.name, type(l).__name__] for l in model.layers[-HEAD_LAYERS:]],
                "output_shape": list(model.output_shape)}
    os.makedirs(os.path.join(OUT, "heads"), exist_ok=True)
    with open(os.path.join(OUT, "heads", "heads.json"), "w") as f:
        json.dump({"sizes": HEAD_BUILDERS, "variants": HEAD_VARIANTS, "heads": out}, f,
                  indent=1, sort_keys=True)


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    if sys.argv[1:] == ["heads"]:
        heads()
    else:
        manifest()
        preprocess()
        heads()
