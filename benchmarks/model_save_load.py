"""Benchmark: whole-model save/load with Adam state: savepoint's formats vs Keras 3 and torch.

The model: a Sequential of 6 Dense(W) layers on W inputs (W=4096: 100.7M parameters), compiled
with Adam and trained one step so that the slots exist (weights + m + v: ~1.2 GB of float32).
Every library saves and loads the same architecture with the same state:

* savepoint ``model.save`` / ``load_model`` in each format (``directory``, ``.h5``, ``.keras``);
* Keras 3 (torch backend, ``.venvs/keras3``) ``model.save("m.keras")`` / ``load_model``, timed
  inside a subprocess that builds and trains the same model (its start-up is not timed);
* torch: ``torch.save({"model": state_dict, "optimizer": state_dict})``; load = build the
  ``nn.Sequential`` + ``torch.optim.Adam`` in code, ``torch.load(weights_only=True)``,
  ``load_state_dict`` both (what ``load_model`` must do: construct the model, then fill it).

savepoint's saves are durable (temporary files fsynced, renamed, directory fsynced); the peers'
are not, so each peer is also shown with an ``fsync`` of its file added ("+fsync"), and the save
goal compares against the fastest peer's durable variant (the raw ratio is printed too). Loads
read files the save just wrote (page cache warm for everyone). Files live in one temporary
directory on the target disk (``--dir``); old files are removed and ``os.sync()`` runs before
each timed save, outside the timings. Runs are interleaved in --pairs rounds, order rotated
each round; printed values are medians.

Goals (issue 4, "Speed"): savepoint's save and load <= 1.0x the fastest peer; ``load_model`` to
the first prediction <= 1.2x building the model in code (compiled), ``load_weights`` of a
checkpoint (``save_weights`` TF prefix, with the optimizer like tf.keras's), then predicting.

    .venv/bin/python benchmarks/model_save_load.py                      # 100M params, 3 pairs
    .venv/bin/python benchmarks/model_save_load.py --params 25e6 --formats directory,h5

Then, unless ``--no-saved-model``, issue 10's two SavedModel ratios on the same model size (by
``saved_model_write.py`` and ``saved_model_load.py``): ``model.save(dir)`` with TensorFlow's files
vs savepoint's directory alone (goal <= 1.1x), and ``load_model`` of a SavedModel tf.keras wrote
vs ``load_weights`` of its variables (goal <= 1.2x; needs ``.venvs/tf``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from typing import Callable

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
K3_PYTHON = os.path.join(ROOT, ".venvs", "keras3", "bin", "python")
LAYERS = 6
BATCH = 8
FORMATS = {"directory": "model", "h5": "model.h5", "keras": "model.keras"}
GOALS = {"save": 1.0, "load": 1.0, "first_prediction": 1.2}

KERAS3_SCRIPT = r'''
import json, os, sys, time
import numpy as np
spec = json.loads(sys.argv[1])
import keras
w, n, path = spec["width"], spec["layers"], spec["path"]
model = keras.Sequential([keras.Input((w,))] + [keras.layers.Dense(w) for _ in range(n)])
model.compile(optimizer="adam", loss="mse")
x = np.random.default_rng(0).random((spec["batch"], w), dtype=np.float32)
model.train_on_batch(x, x)
if os.path.exists(path):
    os.remove(path)
os.sync()
t0 = time.perf_counter(); model.save(path); save = time.perf_counter() - t0
t0 = time.perf_counter()
fd = os.open(path, os.O_RDONLY); os.fsync(fd); os.close(fd)
fsync = time.perf_counter() - t0
del model
t0 = time.perf_counter(); loaded = keras.models.load_model(path); load = time.perf_counter() - t0
loaded.predict_on_batch(x); first = time.perf_counter() - t0
print(json.dumps({"save": save, "fsync": fsync, "load": load, "first_prediction": first}))
'''


def fsync_path(path: str) -> None:
    """fsync one file."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remove(path: str) -> None:
    """Remove a file or directory if present."""
    if os.path.isdir(path):
        shutil.rmtree(path)
    elif os.path.exists(path):
        os.remove(path)


def width_for(params: float) -> int:
    """The Dense width W with LAYERS * (W*W + W) closest to ``params``."""
    return max(8, int(round(math.sqrt(params / LAYERS))))


# ---------------------------------------------------------------------------- savepoint
def build_savepoint(width: int, seed: int = 0):
    """The benchmark model in savepoint, built and compiled with Adam."""
    import savepoint as keras
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.layers.Dense(width, input_shape=(width,))] +
                             [keras.layers.Dense(width) for _ in range(LAYERS - 1)])
    model.compile(optimizer="adam", loss="mse")
    return model


def savepoint_runs(model, x: np.ndarray, directory: str, fmt: str) -> dict[str, float]:
    """One durable save and one load (+ first prediction) in ``fmt``."""
    import savepoint as keras
    path = os.path.join(directory, FORMATS[fmt])
    remove(path)
    os.sync()
    t0 = time.perf_counter()
    model.save(path)
    save = time.perf_counter() - t0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        loaded = keras.models.load_model(path)
        load = time.perf_counter() - t0
        loaded.predict_on_batch(x)
        first = time.perf_counter() - t0
    return {"save": save, "load": load, "first_prediction": first}


def savepoint_baseline(width: int, x: np.ndarray, prefix: str) -> float:
    """Build the model in code (compiled), load_weights of a checkpoint, predict."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        model = build_savepoint(width, seed=1)
        model.load_weights(prefix)
        model.predict_on_batch(x)
        return time.perf_counter() - t0


# ---------------------------------------------------------------------------- torch
def build_torch(width: int) -> tuple[torch.nn.Module, torch.optim.Optimizer]:
    """The same architecture as an ``nn.Sequential`` with ``torch.optim.Adam``."""
    model = torch.nn.Sequential(*[torch.nn.Linear(width, width) for _ in range(LAYERS)])
    return model, torch.optim.Adam(model.parameters(), lr=1e-3)


def torch_runs(model: torch.nn.Module, optimizer: torch.optim.Optimizer, width: int,
               x: np.ndarray, directory: str) -> dict[str, float]:
    """torch.save of both state dicts (+ fsync) and a load into a model built in code."""
    path = os.path.join(directory, "model.pt")
    remove(path)
    os.sync()
    t0 = time.perf_counter()
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict()}, path)
    save = time.perf_counter() - t0
    t0 = time.perf_counter()
    fsync_path(path)
    fsync = time.perf_counter() - t0
    t0 = time.perf_counter()
    new_model, new_optimizer = build_torch(width)
    state = torch.load(path, weights_only=True)
    new_model.load_state_dict(state["model"])
    new_optimizer.load_state_dict(state["optimizer"])
    load = time.perf_counter() - t0
    with torch.no_grad():
        new_model(torch.from_numpy(x))
    first = time.perf_counter() - t0
    return {"save": save, "fsync": fsync, "load": load, "first_prediction": first}


# ---------------------------------------------------------------------------- Keras 3
def keras3_runs(width: int, directory: str, script: str) -> dict[str, float]:
    """One save + load timed inside a Keras 3 subprocess (start-up and training untimed)."""
    spec = {"width": width, "layers": LAYERS, "batch": BATCH,
            "path": os.path.join(directory, "keras3_model.keras")}
    env = dict(os.environ, KERAS_BACKEND="torch", CUDA_VISIBLE_DEVICES="", PYTHONPATH="",
               TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run([K3_PYTHON, script, json.dumps(spec)], capture_output=True, text=True,
                          env=env, timeout=900)
    if proc.returncode != 0:
        raise RuntimeError(f"Keras 3 run failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    remove(spec["path"])
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------------- driver
def run(args: argparse.Namespace) -> None:
    width = width_for(args.params)
    params = LAYERS * (width * width + width)
    print(f"model: {LAYERS} x Dense({width}) = {params / 1e6:.1f}M parameters, Adam state "
          f"(weights+m+v = {3 * params * 4 / 1e9:.2f} GB); {args.pairs} interleaved pairs; "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    x = np.random.default_rng(0).random((BATCH, width), dtype=np.float32)
    directory = tempfile.mkdtemp(prefix="model_save_load-", dir=args.dir)
    script = os.path.join(directory, "keras3_run.py")
    with open(script, "w") as f:
        f.write(KERAS3_SCRIPT)
    try:
        model = build_savepoint(width)
        model.train_on_batch(x, x)
        prefix = os.path.join(directory, "ckpt", "cp.ckpt")
        model.save_weights(prefix)
        tmodel, topt = build_torch(width)
        torch.nn.functional.mse_loss(tmodel(torch.from_numpy(x)), torch.from_numpy(x)).backward()
        topt.step()
        runs: dict[str, Callable[[], dict]] = {
            f"savepoint {f}": (lambda f=f: savepoint_runs(model, x, directory, f))
            for f in args.formats}
        runs["torch"] = lambda: torch_runs(tmodel, topt, width, x, directory)
        if not args.no_keras3:
            runs["keras3"] = lambda: keras3_runs(width, directory, script)
        runs["baseline"] = lambda: {"first_prediction": savepoint_baseline(width, x, prefix)}
        results: dict[str, list[dict]] = {name: [] for name in runs}
        names = list(runs)
        for p in range(args.pairs):
            order = names[p % len(names):] + names[:p % len(names)]
            for name in order:
                results[name].append(runs[name]())
                print(f"  pair {p + 1} {name}: " + ", ".join(
                    f"{k} {v:.2f}s" for k, v in results[name][-1].items()), flush=True)
        report(results, args.formats)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def med(results: list[dict], key: str) -> float:
    """Median of one measurement across pairs."""
    return statistics.median(r[key] for r in results)


def durable(results: list[dict]) -> float:
    """Median of save + fsync across pairs."""
    return statistics.median(r["save"] + r.get("fsync", 0.0) for r in results)


def verdict(value: float, goal: float) -> str:
    return f"{value:.2f}x ({'meets' if value <= goal else 'MISSES'} <= {goal}x)"


def report(results: dict[str, list[dict]], formats: list[str]) -> None:
    """Print the per-library medians and savepoint's ratios."""
    peers = [n for n in ("torch", "keras3") if n in results]
    print("\nmedians (s):          save   +fsync    load   load->1st prediction")
    for name in peers:
        r = results[name]
        print(f"  {name:18s} {med(r, 'save'):6.2f}  {durable(r):6.2f}  {med(r, 'load'):6.2f}"
              f"  {med(r, 'first_prediction'):6.2f}")
    for f in formats:
        r = results[f"savepoint {f}"]
        print(f"  savepoint {f:9s} {'':6s}  {med(r, 'save'):6.2f}  {med(r, 'load'):6.2f}"
              f"  {med(r, 'first_prediction'):6.2f}   (saves are durable)")
    base = med(results["baseline"], "first_prediction")
    print(f"  baseline: build in code + compile + load_weights(checkpoint) + predict: {base:.2f}")
    fast_save = min(peers, key=lambda n: durable(results[n]))
    fast_raw = min(peers, key=lambda n: med(results[n], "save"))
    fast_load = min(peers, key=lambda n: med(results[n], "load"))
    print(f"\nfastest peer: save+fsync {fast_save} ({durable(results[fast_save]):.2f}s), save "
          f"without fsync {fast_raw} ({med(results[fast_raw], 'save'):.2f}s), load "
          f"{fast_load} ({med(results[fast_load], 'load'):.2f}s)")
    for f in formats:
        r = results[f"savepoint {f}"]
        save = med(r, "save")
        print(f"savepoint {f}:")
        print(f"  save vs fastest durable peer: {verdict(save / durable(results[fast_save]), 1.0)}"
              f"; vs fastest peer without fsync: {save / med(results[fast_raw], 'save'):.2f}x")
        print(f"  load vs fastest peer:         "
              f"{verdict(med(r, 'load') / med(results[fast_load], 'load'), 1.0)}")
        print(f"  load_model->1st prediction vs baseline: "
              f"{verdict(med(r, 'first_prediction') / base, 1.2)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", type=float, default=100e6,
                        help="model parameters (6 Dense layers; default 100e6)")
    parser.add_argument("--pairs", type=int, default=3, help="interleaved rounds (default 3)")
    parser.add_argument("--formats", default="directory,h5,keras",
                        help="savepoint formats, comma-separated (directory,h5,keras)")
    parser.add_argument("--dir", default=None, help="where temporary files go (default: TMPDIR)")
    parser.add_argument("--no-keras3", action="store_true", help="skip the Keras 3 peer")
    parser.add_argument("--no-saved-model", action="store_true",
                        help="skip the two SavedModel ratios (issue 10)")
    args = parser.parse_args()
    args.formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    unknown = [f for f in args.formats if f not in FORMATS]
    if unknown:
        parser.error(f"unknown formats {unknown}; expected some of {sorted(FORMATS)}")
    if not args.no_keras3 and not os.access(K3_PYTHON, os.X_OK):
        parser.error(f"no Keras 3 venv at {K3_PYTHON} (run tools/setup_interop_venvs.sh, or "
                     f"pass --no-keras3)")
    run(args)
    if not args.no_saved_model:
        saved_model_ratios(args)


def saved_model_ratios(args: argparse.Namespace) -> dict[str, float]:
    """Issue 10's two SavedModel ratios, by ``saved_model_write.py`` and ``saved_model_load.py``
    on the same model size: the directory save with TF's files vs without them (goal <= 1.1x),
    and ``load_model`` of a SavedModel tf.keras wrote vs ``load_weights`` (goal <= 1.2x)."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import saved_model_load
    import saved_model_write
    print("\n== SavedModel save: model.save(dir) with TF's files vs savepoint's directory alone")
    save = saved_model_write.report(args.params, args.pairs, args.dir)
    print("\n== SavedModel load: load_model of a tf.keras SavedModel vs load_weights")
    load = saved_model_load.report(args.params, args.pairs, args.dir)
    print(f"\nSavedModel ratios: save {save:.3f}x (goal <= {saved_model_write.GOAL}x), "
          f"load {load:.3f}x (goal <= {saved_model_load.GOAL}x)")
    return {"save": save, "load": load}


if __name__ == "__main__":
    sys.exit(main())
