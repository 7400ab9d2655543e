"""``savepoint demo``'s crash step: a training process is SIGKILLed mid-epoch, rerun, and ends
with weights bitwise equal to a run that was never interrupted.

The child (``child(DIR)`` in a fresh interpreter) trains the tutorial model on the embedded
MNIST sample with ``BackupAndRestore(save_freq=8)``, prints one line per batch, and writes its
final weights to ``DIR/final.npz``. The parent kills it after ``KILL_AFTER`` batches, runs it
again (it resumes from the backup), runs an uninterrupted child elsewhere, and compares.

Example:
    >>> KILL_AFTER > BACKUP_EVERY
    True
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import numpy as np

EPOCHS = 3
BACKUP_EVERY = 8
KILL_AFTER = 45  # batches: mid-epoch 2, five batches after the last backup
# -c rather than -m: the package imports this module, and runpy warns when it runs a module that
# its package has already imported
_CHILD = "import sys; from savepoint.demo.resume import child; child(sys.argv[1])"


def child(workdir: str) -> None:
    """Train with a backup every ``BACKUP_EVERY`` batches; a rerun resumes where it died."""
    import savepoint as keras
    from savepoint.demo.steps import create_model
    keras.utils.set_random_seed(0)
    (x, y), _ = keras.datasets.mnist.load_data()
    x, y = x[:1000].reshape(-1, 784) / 255.0, y[:1000]
    model = create_model()
    seen = [0]

    def report(batch, logs):
        seen[0] += 1
        print(f"batch {seen[0]}", flush=True)
    model.fit(x, y, epochs=EPOCHS, verbose=0, callbacks=[
        keras.callbacks.BackupAndRestore(os.path.join(workdir, "backup"),
                                         save_freq=BACKUP_EVERY),
        keras.callbacks.LambdaCallback(on_batch_end=report)])
    np.savez(os.path.join(workdir, "final.npz"), *model.get_weights())


def _run(workdir: str, kill_after: int | None = None) -> int:
    """Run a child; with ``kill_after``, SIGKILL it after that many batches. Batches it ran."""
    env = {**os.environ, "SAVEPOINT_OFFLINE": "1", "PYTHONWARNINGS": "ignore"}
    proc = subprocess.Popen([sys.executable, "-c", _CHILD, workdir],
                            stdout=subprocess.PIPE, text=True, env=env)
    batches = 0
    for line in proc.stdout:
        batches += line.startswith("batch ")
        if kill_after is not None and batches >= kill_after:
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait()
    if kill_after is None and proc.returncode != 0:
        raise RuntimeError(f"the training process failed with exit code {proc.returncode}")
    return batches


def step_kill_and_resume(ctx) -> None:
    """Kill a training run mid-epoch, rerun it, and compare with an uninterrupted run."""
    crashed, clean = os.path.abspath("resume_crashed"), os.path.abspath("resume_clean")
    killed_at = _run(crashed, kill_after=KILL_AFTER)
    print(f"SIGKILL after {killed_at} batches (epoch {killed_at // 32 + 1}, batch "
          f"{killed_at % 32}); the last backup was taken at batch "
          f"{killed_at // BACKUP_EVERY * BACKUP_EVERY}")
    resumed = _run(crashed)
    print(f"rerun: resumed from the backup and ran the remaining {resumed} batches")
    _run(clean)
    a, b = np.load(os.path.join(crashed, "final.npz")), np.load(os.path.join(clean, "final.npz"))
    same = all(np.array_equal(a[k], b[k]) for k in a.files) and a.files == b.files
    print(f"Killed-and-resumed weights equal the uninterrupted run's bit for bit: {same}")
    ctx.results["resume_bitwise_equal"] = float(same)


if __name__ == "__main__":
    child(sys.argv[1])
