"""Regenerate tests/fixtures/goldens/utils/text_dataset.json with REAL tf-keras
``text_dataset_from_directory`` on the small tree of tests/utils/directory_spec.py.

Run from the repository root: ``TF_USE_LEGACY_KERAS=1 .venvs/tf/bin/python
tools/make_directory_dataset_goldens.py``. For each case: class names (file
paths are not exposed by tf-keras 2.21's text datasets) and every batch's texts and labels.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "utils"))

import tf_keras as keras  # noqa: E402

import directory_spec  # noqa: E402

OUT = os.path.join(ROOT, "tests", "fixtures", "goldens", "utils", "text_dataset.json")


def main() -> None:
    root = tempfile.mkdtemp()
    directory_spec.make_tree(root)
    out = {}
    for case, kwargs in directory_spec.CASES.items():
        ds = keras.utils.text_dataset_from_directory(root, **kwargs)
        batches = []
        for x, y in ds:
            texts = x.numpy()
            texts = [texts] if isinstance(texts, bytes) else list(texts.reshape(-1))
            batches.append({"x": [t.decode() for t in texts],
                            "y": y.numpy().tolist(), "x_shape": list(x.shape)})
        # shuffled datasets also pass through a tf.data shuffle buffer: only the set of
        # samples (which depends on the seeded file order and the split) is comparable then
        out[case] = {"class_names": list(ds.class_names), "batches": batches,
                     "ordered": not kwargs.get("shuffle", True)}
    with open(OUT, "w") as f:
        json.dump(out, f, indent=1)
    print(json.dumps(out)[:500])


if __name__ == "__main__":
    main()
