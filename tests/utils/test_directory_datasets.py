"""text_dataset_from_directory against REAL tf-keras on the same small tree
(tools/make_directory_dataset_goldens.py); training with fit on its batches; image datasets and
load_img without Pillow fail clearly."""

import json
import os

import numpy as np
import pytest

import savepoint as keras
from directory_spec import CASES, make_tree
from savepoint.errors import ConfigError, MissingDependencyError

with open(os.path.join(os.path.dirname(__file__), "..", "fixtures", "goldens", "utils",
                       "text_dataset.json")) as f:
    GOLDEN = json.load(f)


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("texts"))
    make_tree(root)
    return root


def batches(ds):
    out = []
    for x, y in ds:
        texts = [x] if isinstance(x, str) else list(x)
        out.append({"x": texts, "y": np.asarray(y).tolist(), "x_shape": list(np.shape(x))})
    return out


@pytest.mark.parametrize("case", sorted(CASES))
def test_text_dataset_matches_tf_keras(tree, case):
    ds = keras.utils.text_dataset_from_directory(tree, **CASES[case])
    golden = GOLDEN[case]
    assert ds.class_names == golden["class_names"]
    ours = batches(ds)
    if golden["ordered"]:
        assert ours == golden["batches"]
    else:  # tf.keras adds a shuffle buffer; the samples themselves must agree
        flat = lambda bs: sorted((t, json.dumps(y)) for b in bs for t, y in zip(b["x"], b["y"]))  # noqa: E731
        assert flat(ours) == flat(golden["batches"])
        assert [len(b["x"]) for b in ours] == [len(b["x"]) for b in golden["batches"]]


def test_subset_both_and_fit(tree):
    train, val = keras.utils.text_dataset_from_directory(tree, validation_split=0.3,
                                                         subset="both", seed=3)
    assert len(train.file_paths) + len(val.file_paths) == 8
    assert not set(train.file_paths) & set(val.file_paths)
    # a model on the texts' lengths: fit takes the (x, y) batches
    lengths = keras.utils.text_dataset_from_directory(tree, shuffle=False, batch_size=4)
    numeric = [(np.array([[len(t)] for t in x], "float32"), y) for x, y in lengths]
    model = keras.Sequential([keras.layers.Dense(3, input_shape=(1,))])
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(iter(numeric), epochs=1, verbose=0)


def test_errors(tree):
    with pytest.raises(ConfigError, match="If using `validation_split` and shuffling the data, "
                                          "you must provide a `seed` argument"):
        keras.utils.text_dataset_from_directory(tree, validation_split=0.2, subset="training")
    with pytest.raises(ConfigError, match="The `class_names` passed did not match"):
        keras.utils.text_dataset_from_directory(tree, class_names=["a", "b"])
    with pytest.raises(ConfigError, match='When passing `label_mode="binary"`, there must be '
                                          'exactly 2 class_names'):
        keras.utils.text_dataset_from_directory(tree, label_mode="binary")
    with pytest.raises(ConfigError, match="Expected `directory` to be an existing directory"):
        keras.utils.text_dataset_from_directory(os.path.join(tree, "missing"))


def test_images_need_pillow(tmp_path, monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "PIL", None)
    (tmp_path / "cls").mkdir()
    (tmp_path / "cls" / "a.png").write_bytes(b"\x89PNG")
    ds = keras.utils.image_dataset_from_directory(str(tmp_path), shuffle=False)
    with pytest.raises(MissingDependencyError, match="requires PIL. Fix: `pip install pillow`"):
        next(iter(ds))
    with pytest.raises(MissingDependencyError, match="Could not import PIL.Image"):
        keras.utils.load_img(str(tmp_path / "cls" / "a.png"))
    assert keras.utils.img_to_array(np.zeros((2, 3, 3), "uint8")).dtype == np.float32
    assert keras.utils.img_to_array(np.zeros((2, 3)), data_format="channels_first").shape == \
        (1, 2, 3)
