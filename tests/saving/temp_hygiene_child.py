"""Child process for tests/saving/test_temp_hygiene.py: a fork server whose children save one
model to one path in a loop until they are killed.

It imports torch and savepoint once, builds the model, saves it once in every format (so the
model directory's torch.export is cached before any fork), prints ``ready``, then for each stdin
line ``<format> <path>`` forks a saver: the saver saves once, prints ``saving <pid>`` and keeps
saving to the same path until the test SIGKILLs it. The server prints ``status <waitpid status>``
once the saver is gone.
"""

import os
import sys
import tempfile

import numpy as np
import torch

torch.set_num_threads(1)

import savepoint as keras  # noqa: E402

FORMATS = ("keras", "h5", "weights_h5", "directory", "tf_prefix")


def make_model():
    """The model every format saves (the test loads the files into the same architecture)."""
    model = keras.Sequential([keras.layers.Dense(256, activation="relu", input_shape=(64,)),
                              keras.layers.Dense(256, activation="relu"),
                              keras.layers.Dense(4)])
    model.compile("adam", "sparse_categorical_crossentropy")
    model.train_on_batch(np.zeros((8, 64), "float32"), np.zeros(8, "int64"))  # Adam slots exist
    return model


def save(model, fmt: str, path: str) -> None:
    """Save ``model`` to ``path`` in format ``fmt``."""
    if fmt in ("keras", "h5", "directory"):
        model.save(path)
    else:
        model.save_weights(path)


def main() -> None:
    model = make_model()
    warm = tempfile.mkdtemp()
    save(model, "directory", os.path.join(warm, "model"))
    print("ready", flush=True)
    for line in sys.stdin:
        fmt, path = line.split()
        pid = os.fork()
        if pid == 0:
            try:
                save(model, fmt, path)
                print(f"saving {os.getpid()}", flush=True)
                while True:
                    save(model, fmt, path)
            finally:
                os._exit(3)
        _, status = os.waitpid(pid, 0)
        print(f"status {status}", flush=True)


if __name__ == "__main__":
    main()
