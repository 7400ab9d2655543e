"""Regenerate tests/fixtures/goldens/utils/utils.npz with REAL tf-keras (keras.utils outputs).

Run from the repository root: ``TF_USE_LEGACY_KERAS=1 .venvs/tf/bin/python
tools/make_utils_goldens.py``. Each case stores its inputs and tf.keras's output under
``<case>__<name>`` keys; the arguments of each case are in tests/utils/test_utils_goldens.py.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import numpy as np  # noqa: E402
import tf_keras as keras  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "goldens", "utils", "utils.npz")


def main() -> None:
    rng = np.random.default_rng(0)
    out: dict[str, np.ndarray] = {}
    # to_categorical
    labels = np.array([[0], [3], [1], [2]])
    out["cat1__y"] = labels
    out["cat1__out"] = keras.utils.to_categorical(labels)
    labels2 = rng.integers(0, 5, size=(2, 3))
    out["cat2__y"] = labels2
    out["cat2__out"] = keras.utils.to_categorical(labels2, num_classes=6, dtype="int32")
    # normalize
    x = rng.standard_normal((3, 4, 5))
    out["norm__x"] = x
    out["norm__l2_last"] = keras.utils.normalize(x)
    out["norm__l1_axis1"] = keras.utils.normalize(x, axis=1, order=1)
    # pad_sequences
    seqs = [[1, 2, 3, 4, 5], [6], [], [7, 8, 9]]
    out["pad__pre"] = keras.utils.pad_sequences(seqs)
    out["pad__post_trunc_post"] = keras.utils.pad_sequences(seqs, maxlen=3, padding="post",
                                                            truncating="post", value=-1)
    out["pad__float"] = keras.utils.pad_sequences(seqs, maxlen=4, dtype="float32", value=0.5)
    # timeseries_dataset_from_array
    data = np.arange(40, dtype="float32").reshape(20, 2)
    targets = np.arange(20) * 10
    out["ts__data"], out["ts__targets"] = data, targets
    cases = {"a": dict(sequence_length=4, batch_size=3),
             "b": dict(sequence_length=3, sequence_stride=2, sampling_rate=2, batch_size=4,
                       start_index=2, end_index=18),
             "c": dict(sequence_length=5, batch_size=None)}
    for name, kw in cases.items():
        ds = keras.utils.timeseries_dataset_from_array(data, targets, **kw)
        xs, ys = zip(*[(a.numpy(), b.numpy()) for a, b in ds])
        if kw.get("batch_size", 128) is None:
            out[f"ts_{name}__x"], out[f"ts_{name}__y"] = np.stack(xs), np.stack(ys)
        else:
            out[f"ts_{name}__x"], out[f"ts_{name}__y"] = np.concatenate(xs), np.concatenate(ys)
            out[f"ts_{name}__batches"] = np.array([len(a) for a in xs])
    # split_dataset
    left, right = keras.utils.split_dataset(np.arange(10), left_size=0.7)
    out["split__left"] = np.array(list(left.as_numpy_iterator()))
    out["split__right"] = np.array(list(right.as_numpy_iterator()))
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    np.savez_compressed(OUT, **out)
    print(f"wrote {OUT}: {len(out)} arrays")


if __name__ == "__main__":
    main()
