"""LIVE: a Keras-published-layout weight file loads into the matching savepoint application.

tf.keras (.venvs/tf) builds each application with ``weights=None`` and a fixed seed and saves
``save_weights("x.h5")``; savepoint builds the same application with ``weights="x.h5"`` and
must predict the same on the same input, with Keras's layer names, order and weight shapes.
The other way, tf.keras loads savepoint's ``save_weights`` .h5 of an application and predicts
what savepoint predicted.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from savepoint import applications

CASES = [
    ("VGG16", {"include_top": False, "pooling": "avg", "input_shape": [32, 32, 3]}),
    ("VGG19", {"include_top": False, "pooling": "max", "input_shape": [32, 32, 3]}),
    ("ResNet50", {"include_top": True, "classes": 10, "input_shape": [64, 64, 3]}),
    ("ResNet50V2", {"include_top": False, "pooling": "avg", "input_shape": [32, 32, 3]}),
    ("MobileNet", {"include_top": True, "classes": 10, "input_shape": [64, 64, 3],
                   "alpha": 0.5}),
    ("MobileNetV2", {"include_top": True, "classes": 10, "input_shape": [64, 64, 3],
                     "alpha": 0.35}),
    ("DenseNet121", {"include_top": False, "pooling": "avg", "input_shape": [32, 32, 3]}),
    ("Xception", {"include_top": True, "classes": 10, "input_shape": [71, 71, 3]}),
    ("InceptionV3", {"include_top": False, "pooling": "max", "input_shape": [75, 75, 3]}),
    ("EfficientNetB0", {"include_top": True, "classes": 10, "input_shape": [64, 64, 3]}),
    ("ConvNeXtTiny", {"include_top": True, "classes": 10, "input_shape": [32, 32, 3]}),
    ("MobileNetV3Small", {"include_top": True, "classes": 10, "input_shape": [64, 64, 3]}),
    ("MobileNetV3Large", {"include_top": False, "pooling": "avg", "input_shape": [32, 32, 3],
                          "minimalistic": True}),
]

# Layers Keras leaves unnamed get a per-session counter (input_3, max_pooling2d_1):
# compare their name stem only.
_AUTO = re.compile(r"^(input|rescaling|normalization|max_pooling2d|zero_padding2d|conv2d|"
                   r"batch_normalization|activation|average_pooling2d|concatenate|add|"
                   r"tf\.__operators__\.add|layer_normalization|re_lu|multiply|tf\.math\.multiply|"
                   r"dropout|flatten|global_average_pooling2d|global_max_pooling2d)(_\d+)?$")


def _stem(name: str) -> str:
    m = _AUTO.match(name)
    return m.group(1) if m else name


@pytest.fixture(scope="module")
def tf_side(tmp_path_factory, tf_python):
    from venv_runners import _run_in_tf
    d = tmp_path_factory.mktemp("apps")
    spec = {"cases": [{"builder": b, "kwargs": k, "prefix": str(d / b), "seed": i + 1}
                      for i, (b, k) in enumerate(CASES)]}
    return d, json.loads(_run_in_tf(tf_python, "applications_tf.py", spec).splitlines()[-1])


@pytest.mark.parametrize("builder,kwargs", CASES, ids=[c[0] for c in CASES])
def test_keras_weight_file_loads_and_predicts_the_same(tf_side, builder, kwargs):
    d, manifest = tf_side
    kwargs = dict(kwargs, input_shape=tuple(kwargs["input_shape"]))
    model = getattr(applications, builder)(weights=str(d / f"{builder}.h5"), **kwargs)
    theirs = manifest[builder]
    assert [_stem(l.name) for l in model.layers] == [_stem(n) for n in theirs["layers"]]
    assert [type(l).__name__ for l in model.layers] == theirs["classes"]
    assert [list(w.shape) for w in model.weights] == [s for _, s in theirs["weights"]]
    x = np.load(d / f"{builder}.x.npy")
    expected = np.load(d / f"{builder}.y.npy")
    got = model.predict(x, verbose=0)
    scale = max(1.0, float(np.abs(expected).max()))
    np.testing.assert_allclose(got / scale, expected / scale, atol=1e-4)


OURS = [("ResNet50V2", {"include_top": True, "classes": 10, "input_shape": [32, 32, 3]}),
        ("MobileNetV3Small", {"include_top": True, "classes": 10, "input_shape": [32, 32, 3]}),
        ("EfficientNetB0", {"include_top": False, "pooling": "avg",
                            "input_shape": [32, 32, 3]})]


def test_tf_keras_loads_our_weight_files_and_predicts_the_same(tmp_path, tf_python):
    from venv_runners import _run_in_tf
    rng = np.random.default_rng(3)
    cases = []
    for builder, kwargs in OURS:
        model = getattr(applications, builder)(
            weights=None, **dict(kwargs, input_shape=tuple(kwargs["input_shape"])))
        new = []
        for w, a in zip(model.weights, model.get_weights()):
            if a.ndim == 0:  # Normalization's int64 count: keep
                new.append(a)
            elif w.name.endswith("variance"):
                new.append(rng.uniform(0.5, 1.5, a.shape).astype(a.dtype))
            else:
                new.append(rng.normal(0, 0.1, a.shape).astype(a.dtype))
        model.set_weights(new)
        prefix = str(tmp_path / builder)
        model.save_weights(prefix + ".h5")
        x = rng.uniform(0, 255, (2, 32, 32, 3)).astype("float32")
        np.save(prefix + ".x.npy", x)
        np.save(prefix + ".y.npy", model.predict(x, verbose=0))
        cases.append({"builder": builder, "kwargs": kwargs, "prefix": prefix})
    diffs = json.loads(_run_in_tf(tf_python, "applications_tf.py",
                                  {"load": cases}).splitlines()[-1])
    assert set(diffs) == {b for b, _ in OURS}
    for builder, diff in diffs.items():
        assert diff < 1e-4, (builder, diff)


# MobileNetV3 and DenseNet keep tf.keras 2's "Conv/BatchNorm" / "conv1/bn" names, which Keras 3
# refuses: the .keras file spells their "/" as U+2215 (dialects.keras3.KERAS3_SLASH).
@pytest.mark.parametrize("builder", ["MobileNetV3Small", "DenseNet121", "EfficientNetB0",
                                     "ConvNeXtTiny", "ResNet50V2"])
def test_keras3_loads_our_keras_files_and_predicts_the_same(tmp_path, keras3_python, builder):
    from venv_runners import _run_in_keras3
    rng = np.random.default_rng(4)
    model = getattr(applications, builder)(weights=None, input_shape=(32, 32, 3), classes=5)
    model.set_weights([a if a.ndim == 0 else
                       rng.uniform(0.5, 1.5, a.shape).astype(a.dtype) if w.name.endswith(
                           "variance") else rng.normal(0, 0.1, a.shape).astype(a.dtype)
                       for w, a in zip(model.weights, model.get_weights())])
    path = str(tmp_path / f"{builder}.keras")
    model.save(path)
    x = rng.uniform(0, 255, (2, 32, 32, 3)).astype("float32")
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", model.predict(x, verbose=0))
    spec = {"cases": [{"builder": builder, "path": path, "x": str(tmp_path / "x.npy"),
                       "y": str(tmp_path / "y.npy")}]}
    diffs = json.loads(_run_in_keras3(keras3_python, "applications_keras3.py",
                                      spec).splitlines()[-1])
    assert diffs[builder] < 1e-4, diffs
