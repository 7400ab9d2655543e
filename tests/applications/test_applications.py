"""savepoint.applications: Keras's layer names/order/weight shapes of the big families (against
a manifest real tf.keras wrote, tools/make_applications_manifest.py), preprocess_input goldens,
Keras's argument errors, and the ImageNet weights download (local server) and offline error."""

from __future__ import annotations

import functools
import http.server
import json
import os
import re
import threading

import numpy as np
import pytest

import savepoint as keras
from savepoint import applications
from savepoint.applications import imagenet_utils as iu
from savepoint.errors import ConfigError, FormatError, StorageError

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures",
                        "applications")
# Layers Keras leaves unnamed get a per-session counter (input_3, re_lu_7): compare stems.
_AUTO = re.compile(r"^(input|max_pooling2d|zero_padding2d|global_average_pooling2d|"
                   r"global_max_pooling2d|rescaling|normalization|re_lu|multiply|dropout|"
                   r"flatten|tf\.__operators__\.add|tf\.math\.multiply|layer_normalization)"
                   r"(_\d+)?$")
MANIFESTS = sorted(f[:-5] for f in os.listdir(FIXTURES) if f.endswith(".json"))


def _stem(name: str) -> str:
    m = _AUTO.match(name)
    return m.group(1) if m else name


@pytest.mark.parametrize("builder", MANIFESTS)
def test_layer_names_classes_and_weight_shapes_match_tf_keras(builder):
    with open(os.path.join(FIXTURES, builder + ".json")) as f:
        theirs = json.load(f)
    kwargs = dict(theirs["kwargs"], input_shape=tuple(theirs["kwargs"]["input_shape"]))
    model = getattr(applications, builder)(weights=None, **kwargs)
    assert model.name == theirs["name"]
    assert [(_stem(l.name), type(l).__name__) for l in model.layers] == [
        (_stem(n), c) for n, c in theirs["layers"]]
    assert [list(w.shape) for w in model.weights] == [s for _, s in theirs["weights"]]
    # Keras's h5 weight names are "<layer>/<weight>:0": the last part must match too.
    assert [w.name.split("/")[-1].split(":")[0] for w in model.weights] == [
        n.split("/")[-1].split(":")[0] for n, _ in theirs["weights"]]
    assert list(model.output_shape) == theirs["output_shape"]


@pytest.mark.parametrize("mode", ["caffe", "tf", "torch"])
def test_preprocess_input_matches_tf_keras(mode):
    g = np.load(os.path.join(FIXTURES, "preprocess.npz"))
    np.testing.assert_allclose(iu.preprocess_input(g["x"].copy(), mode=mode), g[mode],
                               rtol=1e-6, atol=1e-5)
    np.testing.assert_allclose(
        iu.preprocess_input(g["x"].transpose(0, 3, 1, 2).copy(), mode=mode,
                            data_format="channels_first"), g[mode + "_first"], rtol=1e-6,
        atol=1e-5)
    import torch
    out = iu.preprocess_input(torch.from_numpy(g["x"].copy()), mode=mode)
    np.testing.assert_allclose(out.numpy(), g[mode + "_tensor"], rtol=1e-6, atol=1e-4)


def test_preprocess_input_uint8_and_family_modes():
    g = np.load(os.path.join(FIXTURES, "preprocess.npz"))
    np.testing.assert_allclose(iu.preprocess_input(g["x"].astype("uint8"), mode="caffe"),
                               g["uint8_caffe"], atol=1e-4)
    x = g["x"]
    np.testing.assert_allclose(applications.resnet50.preprocess_input(x.copy()), g["caffe"],
                               atol=1e-4)
    np.testing.assert_allclose(applications.vgg16.preprocess_input(x.copy()), g["caffe"],
                               atol=1e-4)
    for mod in (applications.resnet_v2, applications.mobilenet, applications.mobilenet_v2,
                applications.xception, applications.inception_v3):
        np.testing.assert_allclose(mod.preprocess_input(x.copy()), g["tf"], atol=1e-5)
    np.testing.assert_allclose(applications.densenet.preprocess_input(x.copy()), g["torch"],
                               atol=1e-5)


def test_preprocess_input_errors():
    with pytest.raises(ConfigError, match="Expected mode to be one of `caffe`, `tf` or `torch`. "
                                          "Received: mode=bgr"):
        iu.preprocess_input(np.zeros((1, 2, 2, 3)), mode="bgr")
    with pytest.raises(ConfigError, match="Expected data_format to be one of `channels_first` "
                                          "or `channels_last`. Received: data_format=nhwc"):
        iu.preprocess_input(np.zeros((1, 2, 2, 3)), data_format="nhwc")


def test_argument_errors_have_keras_text(tmp_path):
    with pytest.raises(ConfigError, match="The `weights` argument should be either `None`"):
        applications.VGG16(weights=str(tmp_path / "missing.h5"))
    with pytest.raises(ConfigError, match='`classes` should be 1000. Received: classes=10'):
        applications.ResNet50(weights="imagenet", classes=10)
    with pytest.raises(ConfigError, match="Expected `pooling` to be None, 'avg' or 'max'. "
                                          "Received: pooling='mean'"):
        applications.VGG16(weights=None, include_top=False, pooling="mean")
    with pytest.raises(ConfigError, match=r"Input size must be at least 32x32; Received: "
                                          r"input_shape=\(16, 16, 3\)"):
        applications.ResNet50(weights=None, include_top=False, input_shape=(16, 16, 3))
    with pytest.raises(ConfigError, match=r"Input size must be at least 71x71"):
        applications.Xception(weights=None, include_top=False, input_shape=(64, 64, 3))
    with pytest.raises(ConfigError, match="`input_shape` must be a tuple of three integers"):
        applications.VGG16(weights=None, include_top=False, input_shape=(32, 32))
    with pytest.raises(ConfigError, match="you should specify a static `input_shape`"):
        applications.VGG16(weights=None, include_top=True, input_shape=(None, None, 3))
    with pytest.raises(ConfigError, match=r"`input_shape` should be \(224, 224, 3\)"):
        applications.ResNet50(weights="imagenet", input_shape=(64, 64, 3))
    with pytest.raises(ConfigError, match="The input must have 3 channels"):
        applications.ResNet50(weights="imagenet", include_top=False, input_shape=(64, 64, 1))
    with pytest.raises(ConfigError, match="Only `None` and `softmax` activations are allowed"):
        applications.VGG16(weights="imagenet", classifier_activation="sigmoid")
    with pytest.raises(ConfigError, match="depth multiplier must be 1.  Received "
                                          "depth_multiplier=2"):
        applications.MobileNet(weights="imagenet", depth_multiplier=2)
    with pytest.raises(ConfigError, match="alpha can be one of`0.25`"):
        applications.MobileNet(weights="imagenet", alpha=0.3)
    with pytest.raises(ConfigError, match="alpha must be one of `0.35`"):
        applications.MobileNetV2(weights="imagenet", alpha=0.3)
    with pytest.raises(ConfigError, match="Unknown argument"):
        applications.ResNet50(weights=None, foo=1)


def test_include_top_classes_and_pooling():
    m = applications.ResNet50V2(weights=None, input_shape=(32, 32, 3), classes=7,
                                classifier_activation=None)
    assert m.output_shape == (None, 7) and m.layers[-1].name == "predictions"
    m = applications.DenseNet121(weights=None, include_top=False, pooling="max",
                                 input_shape=(32, 32, 3))
    assert m.output_shape == (None, 1024) and m.layers[-1].name == "max_pool"
    inp = keras.Input((48, 48, 3))  # tf.keras names this model mobilenetv2_0.50_None too
    m = applications.MobileNetV2(weights=None, include_top=False, input_tensor=inp,
                                 alpha=0.5)
    assert m.name == "mobilenetv2_0.50_None" and m.output_shape == (None, 2, 2, 1280)


def test_imagenet_offline_error_names_url_and_cache_path(tmp_path, monkeypatch):
    monkeypatch.setenv("SAVEPOINT_OFFLINE", "1")
    monkeypatch.setenv("SAVEPOINT_HOME", str(tmp_path))
    url = ("https://storage.googleapis.com/tensorflow/keras-applications/vgg16/"
           "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5")
    cache = os.path.join(str(tmp_path), "models",
                         "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5")
    with pytest.raises(StorageError, match=re.escape(url) + ".*" + re.escape(cache)):
        applications.VGG16(include_top=False, input_shape=(32, 32, 3))


def test_decode_predictions(monkeypatch, tmp_path):
    monkeypatch.setattr(iu, "CLASS_INDEX", {str(i): [f"n{i:08d}", f"class{i}"]
                                            for i in range(1000)})
    preds = np.zeros((2, 1000), "float32")
    preds[0, 5], preds[0, 7], preds[1, 999] = 0.7, 0.2, 0.9
    out = applications.resnet50.decode_predictions(preds, top=2)
    assert out[0][0][:2] == ("n00000005", "class5") and out[0][1][:2] == ("n00000007", "class7")
    assert out[1][0][:2] == ("n00000999", "class999") and np.isclose(out[1][0][2], 0.9)
    with pytest.raises(ConfigError, match=r"Found array with shape: \(2, 10\)"):
        iu.decode_predictions(np.zeros((2, 10)))
    monkeypatch.setattr(iu, "CLASS_INDEX", None)
    monkeypatch.setenv("SAVEPOINT_OFFLINE", "1")
    monkeypatch.setenv("SAVEPOINT_HOME", str(tmp_path))
    with pytest.raises(StorageError, match=re.escape(iu.CLASS_INDEX_PATH)):
        iu.decode_predictions(preds)


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest output clean
        pass


@pytest.fixture()
def local_server(tmp_path):
    root = tmp_path / "served"
    root.mkdir()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                            functools.partial(_Quiet, directory=str(root)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


def test_imagenet_download_from_patched_base_url_is_cached_and_loaded(local_server, tmp_path,
                                                                      monkeypatch):
    root, base = local_server
    monkeypatch.setenv("SAVEPOINT_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("SAVEPOINT_OFFLINE", raising=False)
    monkeypatch.setattr(iu, "BASE_WEIGHTS_URL", base)
    src = applications.MobileNet(weights=None, include_top=False, alpha=0.25,
                                 input_shape=(128, 128, 3))
    rng = np.random.default_rng(0)
    src.set_weights([rng.standard_normal(w.shape).astype("float32") for w in src.get_weights()])
    (root / "mobilenet").mkdir()
    src.save_weights(str(root / "mobilenet" / "mobilenet_2_5_128_tf_no_top.h5"))
    model = applications.MobileNet(weights="imagenet", include_top=False, alpha=0.25,
                                   input_shape=(128, 128, 3))
    for a, b in zip(model.get_weights(), src.get_weights()):
        np.testing.assert_array_equal(a, b)
    cached = tmp_path / "home" / "models" / "mobilenet_2_5_128_tf_no_top.h5"
    assert cached.is_file()
    # Second build reads the cache: the server no longer has the file.
    os.remove(root / "mobilenet" / "mobilenet_2_5_128_tf_no_top.h5")
    applications.MobileNet(weights="imagenet", include_top=False, alpha=0.25,
                           input_shape=(128, 128, 3))


def test_imagenet_download_is_verified_by_keras_hash(local_server, tmp_path, monkeypatch):
    root, base = local_server
    monkeypatch.setenv("SAVEPOINT_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("SAVEPOINT_OFFLINE", raising=False)
    monkeypatch.setattr(iu, "BASE_WEIGHTS_URL", base)
    (root / "vgg16").mkdir()
    (root / "vgg16" / "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5").write_bytes(b"fake")
    with pytest.raises(FormatError, match="expected md5 6d6bbae143d832006294945121d1f1fc"):
        applications.VGG16(include_top=False, input_shape=(32, 32, 3))
    assert not (tmp_path / "home" / "models" /
                "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5").exists()


def test_efficientnet_imagenet_offline_names_its_own_bucket(tmp_path, monkeypatch):
    monkeypatch.setenv("SAVEPOINT_OFFLINE", "1")
    monkeypatch.setenv("SAVEPOINT_HOME", str(tmp_path))
    url = "https://storage.googleapis.com/keras-applications/efficientnetb0_notop.h5"
    with pytest.raises(StorageError, match=re.escape(url) + ".*" + re.escape(
            os.path.join(str(tmp_path), "models", "efficientnetb0_notop.h5"))):
        applications.EfficientNetB0(include_top=False, input_shape=(32, 32, 3))


def test_identity_preprocessors():
    x = np.arange(6.0).reshape(1, 1, 2, 3)
    for mod in (applications.efficientnet, applications.convnext, applications.mobilenet_v3):
        assert mod.preprocess_input(x) is x


@pytest.mark.parametrize("builder", ["ConvNeXtTiny", "MobileNetV3Small", "ResNet50V2"])
@pytest.mark.parametrize("fmt", [".h5", ".keras"])
def test_applications_save_and_reload(tmp_path, fmt, builder):
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (2, 32, 32, 3)).astype("float32")
    model = getattr(applications, builder)(weights=None, input_shape=(32, 32, 3), classes=5)
    path = str(tmp_path / (builder + fmt))
    model.save(path)
    loaded = keras.models.load_model(path)
    assert [l.name for l in loaded.layers] == [l.name for l in model.layers]
    for a, b in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-6, atol=1e-6)


def test_input_tensor_from_an_intermediate_layer_builds_from_its_source_input():
    inp = keras.Input((32, 32, 3))
    x = keras.layers.Rescaling(1.0 / 255)(inp)
    model = applications.ResNet50(weights=None, include_top=False, input_tensor=x,
                                  pooling="avg")
    assert model.inputs[0] is inp or model.inputs[0].shape == inp.shape
    assert [type(l).__name__ for l in model.layers][:2] == ["InputLayer", "Rescaling"]
    out = model.predict(np.ones((1, 32, 32, 3), "float32"), verbose=0)
    assert out.shape == (1, 2048)


@pytest.mark.parametrize("builder", ["ConvNeXtTiny", "MobileNetV3Small", "EfficientNetB0"])
def test_applications_tf_checkpoint_and_model_directory_round_trip(tmp_path, builder):
    kwargs = {"weights": None, "input_shape": (32, 32, 3), "classes": 5}
    model = getattr(applications, builder)(**kwargs)
    rng = np.random.default_rng(1)
    model.set_weights([a if a.ndim == 0 else rng.normal(0, 0.1, a.shape).astype(a.dtype)
                       for a in model.get_weights()])
    model.save_weights(str(tmp_path / "ckpt" / "cp.ckpt"))
    fresh = getattr(applications, builder)(**kwargs)
    fresh.load_weights(str(tmp_path / "ckpt" / "cp.ckpt"))
    for a, b in zip(fresh.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
    model.save(str(tmp_path / "dir"))
    loaded = keras.models.load_model(str(tmp_path / "dir"))
    for a, b in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
