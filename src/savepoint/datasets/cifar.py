"""``load_batch``: one batch file of Keras's CIFAR-10/100 python archives, unpickled without
running code (``safe_pickle``)."""

from __future__ import annotations

import numpy as np

from savepoint.datasets import safe_pickle
from savepoint.errors import FormatError
from savepoint.saving import storage


def load_batch(fpath: str, label_key: str = "labels") -> tuple[np.ndarray, list]:
    """``(data, labels)``: data as ``(n, 3, 32, 32)`` uint8 (channels first, as stored).

    Example:
        >>> import pickle, tempfile, os
        >>> p = os.path.join(tempfile.mkdtemp(), "b")
        >>> _ = open(p, "wb").write(pickle.dumps({b"data": np.zeros((1, 3072), np.uint8),
        ...                                        b"labels": [7]}))
        >>> data, labels = load_batch(p); data.shape, labels
        ((1, 3, 32, 32), [7])
    """
    batch = safe_pickle.loads(storage.read_bytes(fpath), encoding="bytes")
    if not isinstance(batch, dict):
        raise FormatError(f"Expected a CIFAR batch (a pickled dict). Received "
                          f"{type(batch).__name__} in {fpath}.")
    batch = {k.decode("utf8") if isinstance(k, bytes) else k: v for k, v in batch.items()}
    if "data" not in batch or label_key not in batch:
        raise FormatError(f"Expected a CIFAR batch with 'data' and '{label_key}'. Received keys "
                          f"{sorted(batch)} in {fpath}. Fix: delete the extracted directory so "
                          f"it is downloaded again.")
    data = np.asarray(batch["data"], np.uint8)
    return data.reshape(data.shape[0], 3, 32, 32), batch[label_key]


__all__ = ["load_batch"]
