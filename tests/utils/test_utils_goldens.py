"""keras.utils helpers against tf.keras's own outputs (tools/make_utils_goldens.py)."""

import os

import numpy as np
import pytest

import savepoint as keras
from savepoint.errors import ConfigError

G = np.load(os.path.join(os.path.dirname(__file__), "..", "fixtures", "goldens", "utils",
                         "utils.npz"))


def test_to_categorical_matches_tf_keras():
    np.testing.assert_array_equal(keras.utils.to_categorical(G["cat1__y"]), G["cat1__out"])
    out = keras.utils.to_categorical(G["cat2__y"], num_classes=6, dtype="int32")
    assert out.dtype == G["cat2__out"].dtype
    np.testing.assert_array_equal(out, G["cat2__out"])


def test_to_categorical_errors():
    with pytest.raises(ConfigError, match="Expected class indices < num_classes=2. Received a "
                                          "maximum of 3"):
        keras.utils.to_categorical([0, 3], num_classes=2)
    with pytest.raises(ConfigError, match="Expected class indices >= 0"):
        keras.utils.to_categorical([-1, 0])


def test_normalize_matches_tf_keras():
    np.testing.assert_allclose(keras.utils.normalize(G["norm__x"]), G["norm__l2_last"],
                               rtol=1e-12)
    np.testing.assert_allclose(keras.utils.normalize(G["norm__x"], axis=1, order=1),
                               G["norm__l1_axis1"], rtol=1e-12)
    import torch
    t = keras.utils.normalize(torch.tensor(G["norm__x"]))
    np.testing.assert_allclose(t.numpy(), G["norm__l2_last"], rtol=1e-12)


def test_pad_sequences_matches_tf_keras():
    seqs = [[1, 2, 3, 4, 5], [6], [], [7, 8, 9]]
    for key, kw in [("pad__pre", {}),
                    ("pad__post_trunc_post", dict(maxlen=3, padding="post", truncating="post",
                                                  value=-1)),
                    ("pad__float", dict(maxlen=4, dtype="float32", value=0.5))]:
        out = keras.utils.pad_sequences(seqs, **kw)
        assert out.dtype == G[key].dtype
        np.testing.assert_array_equal(out, G[key])
    from savepoint.preprocessing.sequence import pad_sequences
    np.testing.assert_array_equal(pad_sequences(seqs), G["pad__pre"])


def test_pad_sequences_errors():
    with pytest.raises(ConfigError, match="Expected padding to be 'pre' or 'post'. Received: "
                                          "padding='middle'"):
        keras.utils.pad_sequences([[1]], padding="middle")
    with pytest.raises(ConfigError, match="set `dtype=object`"):
        keras.utils.pad_sequences([["a"]], value="x")


@pytest.mark.parametrize("name,kw", [
    ("a", dict(sequence_length=4, batch_size=3)),
    ("b", dict(sequence_length=3, sequence_stride=2, sampling_rate=2, batch_size=4,
               start_index=2, end_index=18)),
    ("c", dict(sequence_length=5, batch_size=None))])
def test_timeseries_matches_tf_keras(name, kw):
    ds = keras.utils.timeseries_dataset_from_array(G["ts__data"], G["ts__targets"], **kw)
    xs, ys = zip(*list(ds))
    if kw["batch_size"] is None:
        x, y = np.stack(xs), np.stack(ys)
    else:
        x, y = np.concatenate(xs), np.concatenate(ys)
        assert [len(a) for a in xs] == G[f"ts_{name}__batches"].tolist()
        assert len(ds) == len(G[f"ts_{name}__batches"])
    np.testing.assert_array_equal(x, G[f"ts_{name}__x"])
    np.testing.assert_array_equal(y, G[f"ts_{name}__y"])


def test_timeseries_shuffle_keeps_windows_and_errors():
    data = np.arange(30)
    ds = keras.utils.timeseries_dataset_from_array(data, None, 3, batch_size=5, shuffle=True,
                                                   seed=1)
    windows = np.concatenate(list(ds))
    assert sorted(w[0] for w in windows) == list(range(28))
    assert all((w == np.arange(w[0], w[0] + 3)).all() for w in windows)
    with pytest.raises(ConfigError, match="`sampling_rate` must be higher than 0. Received: "
                                          "sampling_rate=0"):
        keras.utils.timeseries_dataset_from_array(data, None, 3, sampling_rate=0)
    with pytest.raises(ConfigError, match="`end_index` must be lower than the length"):
        keras.utils.timeseries_dataset_from_array(data, None, 3, end_index=40)


def test_timeseries_dataset_trains_with_fit():
    data = np.random.default_rng(0).standard_normal((50, 2)).astype("float32")
    ds = keras.utils.timeseries_dataset_from_array(data, data[:, 0], 4, batch_size=8)
    model = keras.Sequential([keras.layers.Flatten(input_shape=(4, 2)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    history = model.fit(ds, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2


def test_split_dataset_matches_tf_keras():
    left, right = keras.utils.split_dataset(np.arange(10), left_size=0.7)
    np.testing.assert_array_equal(np.array(list(left)), G["split__left"])
    np.testing.assert_array_equal(np.array(list(right)), G["split__right"])
    left, right = keras.utils.split_dataset((np.arange(6.0), np.arange(6)), right_size=2,
                                            shuffle=True, seed=3)
    assert len(left) == 4 and len(right) == 2
    xs = sorted([float(x) for x, _ in left] + [float(x) for x, _ in right])
    assert xs == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    assert len(left.batch(3)) == 2
    with pytest.raises(ConfigError, match="Expected left_size to be an int in \\[1, 10\\] or a "
                                          "float in \\(0, 1\\). Received: left_size=1.5"):
        keras.utils.split_dataset(np.arange(10), left_size=1.5)
