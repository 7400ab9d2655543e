"""Benchmark: savepoint's .tflite writer against TensorFlow's own TFLiteConverter.

Times ``model.export(path, format="litert")`` (lowering + op translation + flatbuffer) for
MobileNetV2 (224 x 224, alpha 1.0, 3.5M parameters), float32 and ``dynamic_int8``, and, in
.venvs/tf, ``tf.lite.TFLiteConverter.from_saved_model`` on the serving SavedModel savepoint
exports of the same model (float32 and ``Optimize.DEFAULT``, TF's dynamic-range int8), medians
of ``--runs`` each; prints both sizes and the ratios (savepoint / TF: below 1 is faster).

    .venv/bin/python benchmarks/litert_export.py             # 3 runs each
    .venv/bin/python benchmarks/litert_export.py --runs 5 --no-tf
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time

TF_PYTHON = os.path.join(os.path.dirname(__file__), "..", ".venvs", "tf", "bin", "python")
TF_SCRIPT = """
import json, statistics, sys, time
import tensorflow as tf
d, runs = sys.argv[1], int(sys.argv[2])
out = {}
for mode in ("float32", "dynamic_int8"):
    times, size = [], 0
    for _ in range(runs):
        c = tf.lite.TFLiteConverter.from_saved_model(d)
        if mode == "dynamic_int8":
            c.optimizations = [tf.lite.Optimize.DEFAULT]
        t0 = time.perf_counter(); size = len(c.convert()); times.append(time.perf_counter() - t0)
    out[mode] = [statistics.median(times), size]
print(json.dumps(out))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-tf", action="store_true")
    args = parser.parse_args()
    import savepoint as keras
    from savepoint.exports.litert import to_tflite
    model = keras.applications.MobileNetV2(weights=None)
    to_tflite(model)  # warm-up (imports, first lowering)
    ours = {}
    for mode in ("float32", "dynamic_int8"):
        times, size = [], 0
        for _ in range(args.runs):
            t0 = time.perf_counter()
            size = len(to_tflite(model, quantize=None if mode == "float32" else mode))
            times.append(time.perf_counter() - t0)
        ours[mode] = [statistics.median(times), size]
    theirs = {}
    if not args.no_tf and os.access(TF_PYTHON, os.X_OK):
        with tempfile.TemporaryDirectory() as directory:
            path = os.path.join(directory, "serving")
            model.export(path, format="tf_saved_model")
            proc = subprocess.run([TF_PYTHON, "-c", TF_SCRIPT, path, str(args.runs)],
                                  capture_output=True, text=True, check=True,
                                  env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3",
                                           CUDA_VISIBLE_DEVICES=""))
            theirs = json.loads(proc.stdout.strip().splitlines()[-1])
    for mode in ("float32", "dynamic_int8"):
        (t, size), line = ours[mode], f"{mode:>12}: savepoint {ours[mode][0]:.2f} s"
        line += f" ({size:,} bytes)"
        if mode in theirs:
            tf_t, tf_size = theirs[mode]
            line += f"; TFLiteConverter {tf_t:.2f} s ({tf_size:,} bytes); ratio {t / tf_t:.2f}x"
        print(line)


if __name__ == "__main__":
    main()
