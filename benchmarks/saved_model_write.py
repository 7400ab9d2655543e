"""Benchmark: what TensorFlow's SavedModel files add to savepoint's model-directory save.

``model.save(dir)`` writes savepoint's files and, beside them, TF's ``saved_model.pb``,
``keras_metadata.pb`` and ``fingerprint.pb`` over the same ``variables/`` (issue 10). This times the durable directory
save of ``model_save_load``'s model (6 x Dense(W), Adam with slots: 100.7M parameters at the
default) with the TF files and without them (the writer patched out), interleaved, medians.
Goal (issue 10, "Speed"): <= 1.1x.

    .venv/bin/python benchmarks/saved_model_write.py                 # 100M params, 3 pairs
    .venv/bin/python benchmarks/saved_model_write.py --params 25e6 --pairs 5
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model_save_load import BATCH, build_savepoint, remove, width_for  # noqa: E402

GOAL = 1.1


def timed_save(model, path: str) -> float:
    remove(path)
    os.sync()
    t0 = time.perf_counter()
    model.save(path)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", type=float, default=100e6)
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--dir", default=None)
    args = parser.parse_args()
    report(args.params, args.pairs, args.dir)


def report(params: float, pairs: int, where: str | None) -> float:
    """Time, print, and return the ratio (``model_save_load.py`` calls this too)."""
    from savepoint.saving.handlers import model_dir
    width = width_for(params)
    model = build_savepoint(width)
    x = np.random.default_rng(0).normal(size=(BATCH, width)).astype("float32")
    model.train_on_batch(x, x)  # the Adam slots exist
    real = model_dir._write_tf_saved_model
    times: dict[str, list[float]] = {"with_tf": [], "without_tf": []}
    with tempfile.TemporaryDirectory(dir=where) as directory, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        path = os.path.join(directory, "model")
        timed_save(model, path)  # warm-up: the torch.export program is cached per model
        for i in range(pairs):
            for kind in (("with_tf", "without_tf") if i % 2 == 0 else ("without_tf", "with_tf")):
                model_dir._write_tf_saved_model = real if kind == "with_tf" else \
                    (lambda *a, **k: None)
                times[kind].append(timed_save(model, path))
        model_dir._write_tf_saved_model = real
        remove(path)
    with_tf, without = (statistics.median(times[k]) for k in ("with_tf", "without_tf"))
    ratio = with_tf / without
    print(f"params {6 * (width * width + width) / 1e6:.1f}M, {pairs} pairs (medians)")
    print(f"directory save with SavedModel files    {with_tf:7.3f} s")
    print(f"directory save without SavedModel files {without:7.3f} s")
    print(f"ratio {ratio:.3f}x (goal <= {GOAL}x): {'MET' if ratio <= GOAL else 'MISSED'}")
    return ratio


if __name__ == "__main__":
    main()
