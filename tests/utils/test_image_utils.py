"""``load_img``/``img_to_array``/``array_to_img``/``save_img`` and ``image_dataset_from_directory``
against what real tf-keras makes of the same files (tools/make_image_goldens.py: PNG of every
colour type, 16-bit gray, palette, JPEG, BMP, GIF), their argument errors, and the clear error
when Pillow is missing."""

import ast
import doctest
import io
import json
import os
import sys

import numpy as np
import pytest

import savepoint as keras
from savepoint.errors import ConfigError, FormatError, MissingDependencyError
from savepoint.utils import image_decoding, image_utils

HERE = os.path.dirname(__file__)
IMAGES = os.path.join(HERE, "..", "fixtures", "images")
GOLDENS = os.path.join(HERE, "..", "fixtures", "goldens", "images")
LOAD = np.load(os.path.join(GOLDENS, "load_img.npz"))
ARRAYS = np.load(os.path.join(GOLDENS, "array_to_img.npz"))
DATASET = np.load(os.path.join(GOLDENS, "dataset.npz"))
with open(os.path.join(GOLDENS, "dataset.json")) as _f:
    ORDERS = json.load(_f)
# TensorFlow decodes JPEG with libjpeg's fast integer IDCT, Pillow with the accurate one
JPEG_LEVELS = 5


def _files():
    return sorted({k.split("|")[0] for k in LOAD.files})


@pytest.mark.parametrize("rel", _files())
def test_load_img_matches_tf_keras(rel):
    cases = [k for k in LOAD.files if k.startswith(rel + "|")]
    assert len(cases) == 13
    for k in cases:
        _, mode, size, interp, keep = k.split("|")
        img = keras.utils.load_img(os.path.join(IMAGES, rel), color_mode=mode,
                                   target_size=ast.literal_eval(size), interpolation=interp,
                                   keep_aspect_ratio=keep == "True")
        x = keras.utils.img_to_array(img)
        assert x.dtype == np.float32 and x.shape == LOAD[k].shape, k
        np.testing.assert_array_equal(x, LOAD[k], err_msg=k)


def test_sixteen_bit_grayscale_keeps_its_range():
    x = keras.utils.img_to_array(keras.utils.load_img(
        os.path.join(IMAGES, "tree", "cats", "gray16.png"), color_mode="grayscale"))
    assert x.max() > 255
    np.testing.assert_array_equal(x, LOAD["tree/cats/gray16.png|grayscale|None|nearest|False"])


def test_load_img_reads_bytes_io_and_paths():
    path = os.path.join(IMAGES, "tree", "dogs", "rgba.png")
    with open(path, "rb") as f:
        from_buffer = keras.utils.load_img(io.BytesIO(f.read()), color_mode="rgba")
    import pathlib
    from_path = keras.utils.load_img(pathlib.Path(path), color_mode="rgba")
    np.testing.assert_array_equal(np.asarray(from_buffer), np.asarray(from_path))


def test_grayscale_flag_is_deprecated_but_works():
    path = os.path.join(IMAGES, "tree", "cats", "rgb.png")
    with pytest.warns(UserWarning, match="grayscale is deprecated"):
        img = keras.utils.load_img(path, grayscale=True)
    assert img.mode == "L"


@pytest.mark.parametrize("name", ["rgb_float", "rgba_255", "gray_small", "gray_big", "const",
                                  "chw"])
def test_array_to_img_matches_tf_keras(name):
    outs = [k for k in ARRAYS.files if k.startswith(f"out|{name}|")]
    assert outs
    fmt = "channels_first" if name == "chw" else "channels_last"
    for k in outs:
        _, _, scale, mode = k.split("|")
        img = keras.utils.array_to_img(ARRAYS[f"in|{name}"], data_format=fmt,
                                       scale=scale == "True")
        assert img.mode == mode, k
        np.testing.assert_array_equal(np.asarray(img), ARRAYS[k], err_msg=k)


def test_save_img_round_trips_and_drops_alpha_for_jpeg(tmp_path):
    x = ARRAYS["in|rgba_255"]
    path = str(tmp_path / "a.png")
    keras.utils.save_img(path, x, scale=False)
    np.testing.assert_array_equal(keras.utils.img_to_array(
        keras.utils.load_img(path, color_mode="rgba")), x.astype("uint8").astype("float32"))
    with pytest.warns(UserWarning, match="JPG format does not support RGBA images"):
        keras.utils.save_img(str(tmp_path / "a.jpg"), x, file_format="jpg")
    assert keras.utils.load_img(str(tmp_path / "a.jpg")).size == (4, 3)


def _dataset_cases():
    return [k[2:] for k in DATASET.files if k.startswith("x|")]


@pytest.mark.parametrize("case", _dataset_cases())
def test_image_dataset_from_directory_matches_tf_keras(case):
    directory, mode, size, interp, crop = case.split("|")
    ds = keras.utils.image_dataset_from_directory(
        os.path.join(IMAGES, directory), color_mode=mode, image_size=ast.literal_eval(size),
        interpolation=interp, crop_to_aspect_ratio=crop == "True", shuffle=False, batch_size=3)
    xs, ys = zip(*[(np.asarray(x), np.asarray(y)) for x, y in ds])
    x, expected = np.concatenate(xs), DATASET[f"x|{case}"]
    assert x.dtype == expected.dtype and x.shape == expected.shape
    atol = JPEG_LEVELS if directory == "jpeg" else 1e-4
    np.testing.assert_allclose(x.astype("float64"), expected.astype("float64"), rtol=0, atol=atol)
    np.testing.assert_array_equal(np.concatenate(ys), DATASET[f"y|{case}"])
    assert [os.path.relpath(p, IMAGES) for p in ds.file_paths] == ORDERS[case]


@pytest.mark.parametrize("seed", [1, 7])
def test_shuffled_split_picks_tf_keras_files(seed, capsys):
    train, val = keras.utils.image_dataset_from_directory(
        os.path.join(IMAGES, "tree"), image_size=(4, 4), seed=seed, validation_split=0.4,
        subset="both", label_mode="categorical")
    assert capsys.readouterr().out == ("Found 6 files belonging to 2 classes.\n"
                                       "Using 4 files for training.\n"
                                       "Using 2 files for validation.\n")
    expected = ORDERS[f"split|{seed}"]
    assert [os.path.relpath(p, IMAGES) for p in train.file_paths] == expected["train"]
    assert [os.path.relpath(p, IMAGES) for p in val.file_paths] == expected["val"]
    assert train.class_names == expected["class_names"]
    x, y = next(iter(train))
    assert x.shape == (4, 4, 4, 3) and y.shape == (4, 2)


def test_bmp_and_gif_decode_like_pillow_rgb():
    for name in ("rgb.bmp", "rgb.gif"):
        with open(os.path.join(IMAGES, "misc", name), "rb") as f:
            pixels = image_decoding.decode_image(f.read(), 3)
        expected = LOAD[f"misc/{name}|rgb|None|nearest|False"]
        np.testing.assert_array_equal(pixels.astype("float32"), expected)


def test_argument_errors():
    path = os.path.join(IMAGES, "tree", "cats", "rgb.png")
    with pytest.raises(ConfigError, match=r'Expected `color_mode` to be "grayscale", "rgb", or '
                                          r'"rgba"\. Received: color_mode=\'cmyk\''):
        keras.utils.load_img(path, color_mode="cmyk")
    with pytest.raises(ConfigError, match=r"Expected `interpolation` to be one of nearest, "
                                          r"bilinear.*Received: interpolation='cubic'"):
        keras.utils.load_img(path, target_size=(2, 2), interpolation="cubic")
    with pytest.raises(ConfigError, match=r"Expected `path` to be a path .* Received: int"):
        keras.utils.load_img(3)
    with pytest.raises(ConfigError, match=r"Expected image array to have rank 3 .* Received "
                                          r"an array with shape: \(2, 2\)"):
        keras.utils.array_to_img(np.zeros((2, 2)))
    with pytest.raises(ConfigError, match=r"Expected 1, 3 or 4 channels\. Received: an array "
                                          r"with shape \(2, 2, 2\)"):
        keras.utils.array_to_img(np.zeros((2, 2, 2)))
    with pytest.raises(ConfigError, match=r"Expected `data_format` 'channels_last' or "
                                          r"'channels_first'\. Received: data_format='nhwc'"):
        keras.utils.img_to_array(np.zeros((2, 2, 3)), data_format="nhwc")
    with pytest.raises(ConfigError, match=r"Expected an image of rank 2 or 3\. Received: an "
                                          r"array with shape \(1, 2, 2, 3\)"):
        keras.utils.img_to_array(np.zeros((1, 2, 2, 3)))


def test_dataset_argument_errors():
    tree = os.path.join(IMAGES, "tree")
    with pytest.raises(ConfigError, match=r"Expected `interpolation` to be one of \['bilinear', "
                                          r"'nearest', 'bicubic', 'area'\].*lanczos3"):
        keras.utils.image_dataset_from_directory(tree, interpolation="lanczos3")
    with pytest.raises(ConfigError, match=r"Expected `color_mode` to be one of .* Received: "
                                          r"color_mode='bgr'"):
        keras.utils.image_dataset_from_directory(tree, color_mode="bgr")
    with pytest.raises(ConfigError, match=r"Expected `image_size` to be \(height, width\), two "
                                          r"positive ints\. Received: image_size=\(0, 4\)"):
        keras.utils.image_dataset_from_directory(tree, image_size=(0, 4))


def test_undecodable_files_raise_format_error(tmp_path):
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "broken.png").write_bytes(b"not an image at all")
    ds = keras.utils.image_dataset_from_directory(str(tmp_path), shuffle=False)
    with pytest.raises(FormatError, match=r"Expected a JPEG, PNG, GIF or BMP image in .*"
                                          r"broken\.png\. Received bytes Pillow cannot read"):
        next(iter(ds))
    buf = io.BytesIO()
    image_utils.pil_image().new("RGB", (2, 2)).save(buf, "TIFF")
    with pytest.raises(FormatError, match=r"Received a TIFF image\. Fix: convert it"):
        image_decoding.decode_image(buf.getvalue(), 3, "x.png")


def test_without_pillow_every_entry_point_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "PIL", None)
    fix = r"requires PIL\. Fix: `pip install pillow` \(or savepoint's extra: " \
          r"`pip install 'savepoint\[image\]'`\)"
    path = os.path.join(IMAGES, "tree", "cats", "rgb.png")
    for call in (lambda: keras.utils.load_img(path),
                 lambda: keras.utils.array_to_img(np.zeros((2, 2, 3))),
                 lambda: keras.utils.save_img(str(tmp_path / "a.png"), np.zeros((2, 2, 3))),
                 lambda: next(iter(keras.utils.image_dataset_from_directory(
                     os.path.join(IMAGES, "tree"))))):
        with pytest.raises(MissingDependencyError, match=fix):
            call()


@pytest.mark.parametrize("module", [image_utils, image_decoding])
def test_docstring_examples(module):
    result = doctest.testmod(module, extraglobs={"np": np}, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0
