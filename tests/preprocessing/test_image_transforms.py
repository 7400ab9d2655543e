"""ImageDataGenerator's augmentations against REAL tf-keras (tools/make_image_transform_goldens.py):
``apply_transform`` for fixed parameters in every fill mode and spline order, the seeded draws of
``get_random_transform``/``random_transform`` and the ``random_*`` functions, ``smart_resize``,
ZCA whitening, and the augmented batches of ``flow`` and ``flow_from_directory``; argument
errors; the clear errors without scipy or Pillow."""

import doctest
import json
import os
import sys

import numpy as np
import pytest

from savepoint.errors import ConfigError, MissingDependencyError, ShapeError
from savepoint.preprocessing import image, image_iterators, image_transforms
from savepoint.preprocessing.image import ImageDataGenerator

HERE = os.path.dirname(__file__)
G = np.load(os.path.join(HERE, "..", "fixtures", "goldens", "image_transforms",
                         "transforms.npz"))
TREE = os.path.join(HERE, "..", "fixtures", "images", "tree")
CASES = json.loads(str(G["cases"]))  # the tool's parameter tables
GENERATORS, PARAMS, RANDOM = CASES["generators"], CASES["params"], CASES["random"]


@pytest.mark.parametrize("gname", sorted(GENERATORS))
def test_apply_transform_matches_tf_keras(gname):
    gen = ImageDataGenerator(**GENERATORS[gname])
    for pname, params in PARAMS.items():
        out = gen.apply_transform(np.copy(G["x"]), params)
        expected = G[f"apply|{gname}|{pname}"]
        assert out.shape == expected.shape and out.dtype == expected.dtype, pname
        np.testing.assert_allclose(out, expected, rtol=1e-6, atol=1e-4, err_msg=pname)


@pytest.mark.parametrize("rname", sorted(RANDOM))
def test_seeded_draws_and_outputs_are_tf_keras(rname):
    gen = ImageDataGenerator(**RANDOM[rname])
    for seed in (0, 5, 77):
        params = gen.get_random_transform(G["x"].shape, seed=seed)
        for name, value in params.items():
            expected = G[f"params|{rname}|{seed}|{name}"]
            if np.isnan(expected):
                assert value is None, name
            else:
                assert float(value) == float(expected), (seed, name)
        np.testing.assert_allclose(gen.random_transform(np.copy(G["x"]), seed=seed),
                                   G[f"random|{rname}|{seed}"], rtol=1e-6, atol=1e-4)


def test_random_transform_repeats_with_a_seed_and_differs_without():
    gen = ImageDataGenerator(**RANDOM["ranges"])
    x = G["x"]
    np.testing.assert_array_equal(gen.random_transform(x, seed=12), gen.random_transform(x, 12))
    assert not np.array_equal(gen.random_transform(x, seed=12), gen.random_transform(x, seed=13))


@pytest.mark.parametrize("name", sorted(CASES["functions"]))
def test_random_functions_match_tf_keras(name):
    fn, args, kwargs = CASES["functions"][name]
    np.random.seed(31)
    x = np.moveaxis(G["x"], 2, 0) if name.startswith("chw_") else np.copy(G["x"])
    out = getattr(image, fn)(x, *args, **kwargs)
    np.testing.assert_allclose(out, G[f"fn|{name}"], rtol=1e-6, atol=1e-4)


@pytest.mark.parametrize("interpolation", ["bilinear", "nearest", "bicubic", "area"])
def test_smart_resize_matches_tf_keras(interpolation):
    np.testing.assert_allclose(image.smart_resize(G["x"], (4, 6), interpolation),
                               G[f"smart|{interpolation}"], rtol=1e-6, atol=1e-3)
    np.testing.assert_allclose(image.smart_resize(G["flow_x"], (9, 5), interpolation),
                               G[f"smart_batch|{interpolation}"], rtol=1e-6, atol=1e-3)


@pytest.mark.parametrize("kind", ["flow", "dir"])
def test_save_to_dir_writes_tf_keras_names_and_keeps_its_draws(kind, tmp_path):
    ranges = dict(CASES["random"]["ranges"])
    if kind == "flow":
        it = ImageDataGenerator(rescale=1 / 255.0, **ranges).flow(
            G["flow_x"], np.arange(5), batch_size=2, seed=6, save_to_dir=str(tmp_path),
            save_prefix="aug", save_format="jpeg")
    else:
        gen = ImageDataGenerator(rotation_range=20, zoom_range=0.1, horizontal_flip=True,
                                 validation_split=0.5)
        it = gen.flow_from_directory(TREE, target_size=(6, 8), batch_size=4, seed=6,
                                     save_to_dir=str(tmp_path), save_prefix="d")
    for k in range(2):
        np.testing.assert_allclose(next(it)[0], G[f"save|{kind}|{k}|x"], rtol=1e-5, atol=1e-4)
    assert sorted(os.listdir(tmp_path)) == [str(n) for n in G[f"save|{kind}|names"]]


@pytest.mark.parametrize("name", ["one", "list"])
def test_flow_passes_misc_arrays_through_as_tf_keras(name):
    xs = G["flow_x"]
    extra = np.arange(5.0) * 10 if name == "one" else [np.arange(10).reshape(5, 2),
                                                       np.arange(5) % 2]
    it = ImageDataGenerator(rotation_range=10, validation_split=0.4).flow(
        (xs, extra), np.arange(5), batch_size=3, seed=2, subset="training",
        ignore_class_split=True)
    (bx, *miscs), by = it[0]
    np.testing.assert_allclose(bx, G[f"misc|{name}|x"], rtol=1e-5, atol=1e-4)
    assert len(miscs) == (1 if name == "one" else 2)
    for m, value in enumerate(miscs):
        np.testing.assert_array_equal(value, G[f"misc|{name}|{m}"])
    np.testing.assert_array_equal(by, G[f"misc|{name}|y"])
    with pytest.raises(ShapeError, match=r"All of the arrays in `x` should have the same "
                                         r"length\. Found a pair with: len\(x\[0\]\) = 5, "
                                         r"len\(x\[\?\]\) = 2"):
        ImageDataGenerator().flow((xs, np.zeros(2)))


def test_zca_whitening_matches_tf_keras():
    gen = ImageDataGenerator(zca_whitening=True, zca_epsilon=1e-3, rescale=1 / 255.0)
    assert gen.featurewise_center and not gen.featurewise_std_normalization
    gen.fit(G["flow_x"])
    np.testing.assert_allclose(gen.mean, G["zca|mean"], rtol=1e-6)
    np.testing.assert_allclose(gen.zca_whitening_matrix, G["zca|matrix"], rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(gen.standardize(np.copy(G["flow_x"][:2])),
                               G["zca|standardized"], rtol=1e-4, atol=1e-3)


def test_flow_batches_match_tf_keras():
    gen = ImageDataGenerator(rescale=1 / 255.0, **RANDOM["ranges"])
    it = gen.flow(G["flow_x"], np.arange(5), batch_size=2, seed=9)
    for k in range(3):
        bx, by = next(it)
        np.testing.assert_array_equal(by, G[f"flow|next|{k}|y"])
        np.testing.assert_allclose(bx, G[f"flow|next|{k}|x"], rtol=1e-5, atol=1e-5)
    it = gen.flow(G["flow_x"], np.arange(5), batch_size=2, seed=3)
    for k in range(len(it)):
        bx, by = it[k]
        np.testing.assert_array_equal(by, G[f"flow|item|{k}|y"])
        np.testing.assert_allclose(bx, G[f"flow|item|{k}|x"], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("mode, subset", [("categorical", None), ("sparse", "training"),
                                          ("binary", "validation")])
def test_flow_from_directory_matches_tf_keras(mode, subset, capsys):
    gen = ImageDataGenerator(rotation_range=20, zoom_range=0.1, horizontal_flip=True,
                             validation_split=0.5)
    it = gen.flow_from_directory(TREE, target_size=(6, 8), class_mode=mode, batch_size=2,
                                 seed=4, subset=subset, interpolation="bilinear")
    assert "images belonging to 2 classes" in capsys.readouterr().out
    assert it.filenames == [str(f) for f in G[f"dir|{mode}|files"]]
    for k in range(len(it)):
        bx, by = it[k]
        np.testing.assert_array_equal(by, G[f"dir|{mode}|{k}|y"])
        np.testing.assert_allclose(bx, G[f"dir|{mode}|{k}|x"], rtol=1e-5, atol=1e-4)


def test_flow_from_directory_without_labels():
    it = ImageDataGenerator().flow_from_directory(TREE, target_size=(5, 5),
                                                  color_mode="grayscale", class_mode=None,
                                                  shuffle=False, keep_aspect_ratio=True)
    np.testing.assert_array_equal(it[0], G["dir|none|0|x"])


def test_flow_from_directory_input_mode_and_errors(tmp_path):
    it = ImageDataGenerator().flow_from_directory(TREE, target_size=(3, 3), class_mode="input",
                                                  batch_size=2, shuffle=False)
    bx, by = it[0]
    np.testing.assert_array_equal(bx, by)
    gen = ImageDataGenerator()
    with pytest.raises(ConfigError, match=r"Expected `class_mode` to be one of \['categorical'"
                                          r".*Received: class_mode='multi'"):
        gen.flow_from_directory(TREE, class_mode="multi")
    with pytest.raises(ConfigError, match=r'Expected `color_mode` to be "rgb", "rgba", or '
                                          r'"grayscale"\. Received: color_mode=\'cmyk\''):
        gen.flow_from_directory(TREE, color_mode="cmyk")
    with pytest.raises(ConfigError, match=r"Expected `directory` to be an existing directory"):
        gen.flow_from_directory(str(tmp_path / "missing"))
    with pytest.raises(ConfigError, match=r"Expected `subset` 'training' or 'validation'\. "
                                          r"Received: subset='test'"):
        gen.flow_from_directory(TREE, subset="test")


def test_generator_argument_errors():
    with pytest.raises(ConfigError, match=r"Expected `fill_mode` to be one of \['constant', "
                                          r"'nearest', 'reflect', 'wrap'\]\. Received: "
                                          r"fill_mode='mirror'"):
        ImageDataGenerator(fill_mode="mirror")
    with pytest.raises(ConfigError, match=r"Expected `zoom_range` to be a float or a tuple or "
                                          r"list of two floats\. Received: \[0\.1, 0\.2, 0\.3\]"):
        ImageDataGenerator(zoom_range=[0.1, 0.2, 0.3])
    with pytest.raises(ConfigError, match=r"Expected `brightness_range` to be a tuple or list "
                                          r"of two floats\. Received: 0\.5"):
        ImageDataGenerator(brightness_range=0.5)
    with pytest.raises(ConfigError, match=r"Expected distinct axes 0, 1, 2 with channels "
                                          r"first \(0\) or last \(2\)\. Received: row_axis=0, "
                                          r"col_axis=2, channel_axis=1\. Fix:"):
        image_transforms.apply_affine_transform(G["x"], theta=3, row_axis=0, col_axis=2,
                                                channel_axis=1)
    with pytest.raises(ConfigError, match=r"Expected a single image of rank 3\. Received an "
                                          r"array with shape \(1, 7, 9, 3\)"):
        image_transforms.apply_affine_transform(G["x"][None], theta=3)
    with pytest.raises(ConfigError, match=r"Expected `zoom_range` to be a tuple or list of two "
                                          r"floats\. Received: 0\.2"):
        image.random_zoom(G["x"], 0.2)
    with pytest.raises(ConfigError, match=r"Expected `brightness_range` to be a tuple or list "
                                          r"of two floats\. Received: \(1,\)"):
        image.random_brightness(G["x"], (1,))
    with pytest.raises(ShapeError, match=r"Expected an image \(h, w, c\) or a batch \(n, h, "
                                         r"w, c\)\. Received an array with shape \(7, 9\)"):
        image.smart_resize(G["x"][..., 0], (2, 2))


def test_without_scipy_warps_say_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "scipy", None)
    gen = ImageDataGenerator(rotation_range=10)
    with pytest.raises(MissingDependencyError, match=r"require SciPy\. Fix: `pip install "
                                                     r"scipy` \(or savepoint's extra: `pip "
                                                     r"install 'savepoint\[image\]'`\)"):
        gen.random_transform(G["x"], seed=1)
    # flips alone need nothing beyond numpy
    flipped = ImageDataGenerator(horizontal_flip=True).apply_transform(
        G["x"], {"flip_horizontal": True})
    np.testing.assert_array_equal(flipped, G["x"][:, ::-1])


def test_without_pillow_brightness_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "PIL", None)
    with pytest.raises(MissingDependencyError, match=r"requires PIL\. Fix: `pip install "
                                                     r"pillow`"):
        ImageDataGenerator(brightness_range=(0.5, 1.5)).random_transform(G["x"], seed=1)


@pytest.mark.parametrize("module", [image, image_iterators, image_transforms])
def test_docstring_examples(module):
    result = doctest.testmod(module, extraglobs={"np": np}, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0
