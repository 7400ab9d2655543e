"""Child process for tests/saving/test_crash_consistency.py: a fork server that trains and saves.

It imports torch and savepoint once, prints ``ready``, then for each stdin line
``<mode> <directory> <generation>`` forks a trainer (printing ``pid <pid>``) that saves
checkpoints every 2 batches forever, waits for it (the test SIGKILLs it at a random moment) and
prints ``status <waitpid status>``. Forking makes each trial start in milliseconds instead of
the seconds an import of torch takes.

Modes: ``model_checkpoint`` (``ModelCheckpoint(save_freq=2)``, a new file name per save, as
``cp-{epoch}-{batch}.ckpt``), ``fixed`` (``ModelCheckpoint`` rewriting one ``cp.ckpt``), and
``manager`` (``CheckpointManager.save()`` every 2 ``train_on_batch`` steps), ``fixed_mixed``
(an async ``ModelCheckpoint`` of ``cp.ckpt`` every batch and a synchronous ``save_weights`` of the
same prefix every 3 batches); ``backup`` runs a
fixed fit with ``BackupAndRestore`` to its end (rerun after a kill, it resumes).
"""

import os
import sys

import numpy as np
import torch

torch.set_num_threads(1)

import savepoint as keras  # noqa: E402


def make_model():
    """The model the test loads checkpoints into (same architecture)."""
    model = keras.Sequential([keras.layers.Dense(32, activation="relu", input_shape=(8,)),
                              keras.layers.Dropout(0.2), keras.layers.Dense(4)])
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def train_forever(mode: str, directory: str, generation: int) -> None:
    keras.utils.set_random_seed(generation)
    x = np.random.rand(64, 8).astype("float32")
    y = np.random.randint(0, 4, 64)
    model = make_model()
    if mode == "manager":
        manager = keras.train.CheckpointManager(
            keras.train.Checkpoint(model=model, optimizer=model.optimizer), directory,
            max_to_keep=2)
        while True:
            for i in range(0, 64, 8):
                model.train_on_batch(x[i:i + 8], y[i:i + 8])
                if i % 16 == 8:
                    manager.save()
    if mode == "fixed_mixed":
        prefix = os.path.join(directory, "cp.ckpt")
        sync_save = keras.callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: (
            model.save_weights(prefix) if batch % 3 == 2 else None))
        checkpoint = keras.callbacks.ModelCheckpoint(prefix, save_freq=1, save_weights_only=True,
                                                     save_async=True)
        model.fit(x, y, batch_size=8, epochs=10**6, callbacks=[checkpoint, sync_save],
                  verbose=0)
    name = "cp.ckpt" if mode == "fixed" else f"g{generation:04d}-cp-{{epoch:06d}}-{{batch}}.ckpt"
    checkpoint = keras.callbacks.ModelCheckpoint(os.path.join(directory, name), save_freq=2,
                                                 save_weights_only=True, max_to_keep=3)
    model.fit(x, y, batch_size=8, epochs=10**6, callbacks=[checkpoint], verbose=0)


def train_with_backup(directory: str) -> None:
    """A fixed 4-epoch fit with Dropout, shuffling, validation and a backup every 3 batches;
    the final weights go to ``<directory>/weights.npz``."""
    keras.utils.set_random_seed(5)
    x = np.random.rand(64, 8).astype("float32")
    y = np.random.randint(0, 4, 64)
    model = make_model()
    backup = keras.callbacks.BackupAndRestore(os.path.join(directory, "backup"), save_freq=3)
    model.fit(x, y, batch_size=8, epochs=4, shuffle=True, validation_data=(x[:16], y[:16]),
              callbacks=[backup], verbose=0)
    np.savez(os.path.join(directory, "weights.npz"), *model.get_weights())


def main() -> None:
    print("ready", flush=True)
    for line in sys.stdin:
        mode, directory, generation = line.split()
        pid = os.fork()
        if pid == 0:
            try:
                if mode == "backup":
                    train_with_backup(directory)
                    os._exit(0)
                train_forever(mode, directory, int(generation))
            finally:
                os._exit(3)
        print(f"pid {pid}", flush=True)
        _, status = os.waitpid(pid, 0)
        print(f"status {status}", flush=True)


if __name__ == "__main__":
    main()
