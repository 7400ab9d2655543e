"""Benchmark: process start to first training step, resuming from a BackupAndRestore backup vs a
fresh start (issue 5, "Speed": goal <= 1.2x).

The tutorial model (Dense 512 relu, Dropout 0.2, Dense 10; Adam; the embedded MNIST sample's
first 1000 digits) is trained until a crash mid-epoch 2 with ``BackupAndRestore(save_freq=10)``,
which leaves a backup. Then each pair runs the same child script twice in rotating order: once
with an empty backup directory (fresh start) and once with a copy of the backup (restores model,
optimizer, RNGs and data position, then resumes mid-epoch). The child reports the wall-clock
time at the end of its first training step; the parent measures from just before it spawns the
process. The median of the per-pair ratios is printed.

    .venv/bin/python benchmarks/resume_startup.py --pairs 7
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def child(backup_dir: str, crash_at: int | None) -> None:
    """One run of the 'training script': everything a user's script does before training."""
    import warnings

    import savepoint as keras
    os.environ.setdefault("SAVEPOINT_OFFLINE", "1")
    keras.utils.set_random_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        (x, y), _ = keras.datasets.mnist.load_data()
    x = (x[:1000].reshape(-1, 784) / 255.0).astype("float32")
    model = keras.Sequential([keras.layers.Dense(512, activation="relu", input_shape=(784,)),
                              keras.layers.Dropout(0.2), keras.layers.Dense(10)])
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=[keras.metrics.SparseCategoricalAccuracy()])

    class FirstStep(keras.callbacks.Callback):
        seen = 0

        def on_train_batch_end(self, batch, logs=None):
            FirstStep.seen += 1
            if crash_at is None:  # report the first step, leave the backup as it is
                print(f"FIRST_STEP {time.time():.6f}", flush=True)
                os._exit(0)
            if FirstStep.seen == crash_at:
                os._exit(0)

    backup = keras.callbacks.BackupAndRestore(backup_dir, save_freq=10)
    model.fit(x, y[:1000], epochs=10, batch_size=32, verbose=0,
              callbacks=[backup, FirstStep()])


def run_child(backup_dir: str, crash_at: int | None = None) -> float:
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "src"))
    args = [sys.executable, os.path.abspath(__file__), "--child", backup_dir]
    if crash_at is not None:
        args += ["--crash-at", str(crash_at)]
    start = time.time()
    out = subprocess.run(args, capture_output=True, text=True, env=env, check=True).stdout
    if crash_at is not None:
        return 0.0
    stamp = next(line for line in out.splitlines() if line.startswith("FIRST_STEP"))
    return float(stamp.split()[1]) - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=7)
    parser.add_argument("--child")
    parser.add_argument("--crash-at", type=int)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.crash_at)
        return
    work = tempfile.mkdtemp()
    backup = os.path.join(work, "backup")
    run_child(backup, crash_at=45)  # mid-epoch 2 (32 batches per epoch); backup at batch 40
    assert os.path.isdir(os.path.join(backup, "chief")), "no backup was written"
    fresh_times, resume_times, ratios = [], [], []
    for pair in range(args.pairs):
        times = {}
        for kind in (("fresh", "resume") if pair % 2 == 0 else ("resume", "fresh")):
            target = os.path.join(work, f"{kind}-{pair}")
            if kind == "resume":
                shutil.copytree(backup, target)
            times[kind] = run_child(target)
        fresh_times.append(times["fresh"])
        resume_times.append(times["resume"])
        ratios.append(times["resume"] / times["fresh"])
        print(f"pair {pair}: fresh {times['fresh']:.3f} s, resume {times['resume']:.3f} s, "
              f"ratio {ratios[-1]:.3f}", flush=True)
    shutil.rmtree(work)
    print(f"median fresh start {statistics.median(fresh_times):.3f} s, median resumed start "
          f"{statistics.median(resume_times):.3f} s")
    print(f"resume_startup median ratio (resume / fresh): {statistics.median(ratios):.3f}x "
          f"(goal <= 1.2x)")


if __name__ == "__main__":
    main()
