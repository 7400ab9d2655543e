"""Benchmark: ``load_model`` of a SavedModel tf.keras wrote vs ``load_weights`` of its variables.

tf.keras 2.21 (``.venvs/tf``, in a subprocess, not timed) builds the benchmark model of
``model_save_load.py`` (a Sequential of 6 Dense(W) layers on W inputs, Adam, one training step so
that the slots exist) and saves it with ``model.save(dir)``: a SavedModel. savepoint then loads it
two ways, interleaved over --pairs rounds (medians printed; the files stay in the page cache):

* ``load_model(dir)``: parse ``saved_model.pb`` and ``keras_metadata.pb``, rebuild from the
  config, compile from the training config, restore weights and Adam's slots;
* the baseline: ``load_weights(dir/variables/variables)`` (the same bundle, optimizer slots
  deferred as tf.keras does) into the same model already built in code and compiled (not timed);
  also shown: build + compile + ``load_weights`` timed together (what a user without the
  SavedModel would do; the build initializes every weight, which ``load_model`` skips).

Goal (issue 10, "Speed"): ``load_model`` <= 1.2x ``load_weights`` alone.

    .venv/bin/python benchmarks/saved_model_load.py                 # 25M params, 5 pairs
    .venv/bin/python benchmarks/saved_model_load.py --params 100e6 --pairs 3
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
import warnings

from model_save_load import LAYERS, build_savepoint, width_for

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TF_PYTHON = os.path.join(ROOT, ".venvs", "tf", "bin", "python")
GOAL = 1.2

TF_SCRIPT = r'''
import json, sys
import numpy as np
import tf_keras as k
spec = json.loads(sys.argv[1])
w, n = spec["width"], spec["layers"]
model = k.Sequential([k.layers.Dense(w, input_shape=(w,))] + [k.layers.Dense(w) for _ in range(n - 1)])
model.compile(optimizer="adam", loss="mse")
x = np.random.default_rng(0).random((8, w), dtype=np.float32)
model.train_on_batch(x, x)
model.save(spec["path"])
'''


def write_with_tf(width: int, path: str) -> None:
    env = dict(os.environ, TF_USE_LEGACY_KERAS="1", TF_CPP_MIN_LOG_LEVEL="3",
               CUDA_VISIBLE_DEVICES="", PYTHONPATH="")
    subprocess.run([TF_PYTHON, "-c", TF_SCRIPT, json.dumps(
        {"width": width, "layers": LAYERS, "path": path})], check=True, env=env)


def time_load_model(path: str) -> float:
    import savepoint as keras
    t0 = time.perf_counter()
    keras.models.load_model(path)
    return time.perf_counter() - t0


def time_load_weights(width: int, path: str, count_build: bool) -> float:
    t0 = time.perf_counter()
    model = build_savepoint(width, seed=1)
    if not count_build:
        t0 = time.perf_counter()
    model.load_weights(os.path.join(path, "variables", "variables"))
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", type=float, default=25e6)
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--dir", default=None, help="where the SavedModel is written")
    args = parser.parse_args()
    report(args.params, args.pairs, args.dir)


def report(params: float, pairs: int, where: str | None) -> float:
    """Time, print, and return the ratio (``model_save_load.py`` calls this too)."""
    width = width_for(params)
    directory = tempfile.mkdtemp(dir=where)
    path = os.path.join(directory, "saved_model")
    try:
        write_with_tf(width, path)
        times: dict[str, list[float]] = {"load_model": [], "load_weights": [], "build": []}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            time_load_model(path)  # warm-up: imports, page cache
            for i in range(pairs):
                runs = [("load_model", lambda: time_load_model(path)),
                        ("load_weights", lambda: time_load_weights(width, path, False)),
                        ("build", lambda: time_load_weights(width, path, True))]
                for name, fn in (runs if i % 2 == 0 else runs[::-1]):
                    times[name].append(fn())
        model_s = statistics.median(times["load_model"])
        weights_s = statistics.median(times["load_weights"])
        build_s = statistics.median(times["build"])
        ratio = model_s / weights_s
        params = LAYERS * (width * width + width)
        print(f"SavedModel written by tf.keras: {params / 1e6:.1f}M parameters (+ Adam's m, v), "
              f"W={width}, {pairs} pairs")
        print(f"  load_model(dir)                          {model_s:8.3f} s")
        print(f"  load_weights(variables) of a built model  {weights_s:7.3f} s")
        print(f"  build + compile + load_weights(variables) {build_s:7.3f} s "
              f"(load_model: {model_s / build_s:.2f}x)")
        print(f"  ratio to load_weights {ratio:.2f}x (goal <= {GOAL}x): "
              f"{'met' if ratio <= GOAL else 'NOT met'}")
        return ratio
    finally:
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
