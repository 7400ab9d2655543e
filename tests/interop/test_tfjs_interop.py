"""LIVE: the real TensorFlow.js (@tensorflow/tfjs 4.22 in node, CPU backend; .venvs/tfjs from
tools/setup_interop_venvs.sh) loads savepoint's ``model.export(format="tfjs")`` directories with
``tf.loadLayersModel`` and predicts what savepoint predicts, within 1e-4 of the output scale, at
batch 1 and 8, for every family TF.js Layers implements (tests/exports/export_families.py), a
transfer-learning model with both MobileNets nested, and weights split over many shards."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from venv_runners import ROOT

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "exports"))
from export_families import TFJS_FAMILIES, build, input_names, inputs_for  # noqa: E402
from test_saved_model_write_interop import nested_applications  # noqa: E402

TFJS_MODULES = os.path.join(ROOT, ".venvs", "tfjs", "node_modules")


def _node() -> str:
    """node and .venvs/tfjs; skip only with SAVEPOINT_SKIP_INTEROP=1, else fail loudly."""
    if os.environ.get("SAVEPOINT_SKIP_INTEROP") == "1":
        pytest.skip("SAVEPOINT_SKIP_INTEROP=1: live TensorFlow.js interop tests skipped")
    node = shutil.which("node")
    if node is None or not os.path.isdir(os.path.join(TFJS_MODULES, "@tensorflow", "tfjs")):
        pytest.fail(f"Expected node and @tensorflow/tfjs in {TFJS_MODULES}. Received node="
                    f"{node!r}. Fix: run `bash tools/setup_interop_venvs.sh` (or set "
                    "SAVEPOINT_SKIP_INTEROP=1 to skip live interop tests).", pytrace=False)
    return node


def _case(tmp_path, name: str, model, **options) -> dict:
    d = str(tmp_path / name)
    model.export(d, format="tfjs", **options)
    runs = []
    for n in (1, 8):
        xs = inputs_for(model, n, seed=n)
        inputs = []
        for i, x in enumerate(xs):
            f = str(tmp_path / f"{name}.b{n}.x{i}.bin")
            x.astype(x.dtype.newbyteorder("<")).tofile(f)
            inputs.append({"file": f, "shape": list(x.shape),
                           "dtype": "int32" if x.dtype.kind == "i" else "float32"})
        want = model.predict(xs if len(xs) > 1 else xs[0], verbose=0)
        runs.append({"inputs": inputs, "outputs_prefix": str(tmp_path / f"{name}.b{n}.y"),
                     "want": want if isinstance(want, list) else [want]})
    return {"name": name, "dir": d, "runs": runs, "model": model}


def test_tfjs_loads_and_predicts_every_family(tmp_path):
    node = _node()
    cases = [_case(tmp_path, name, build(factory)) for name, factory in TFJS_FAMILIES.items()]
    cases.append(_case(tmp_path, "nested_applications", build(nested_applications)))
    cases.append(_case(tmp_path, "many_shards", build(TFJS_FAMILIES["tutorial_mlp"]),
                       shard_size_bytes=300_000))
    assert len(os.listdir(cases[-1]["dir"])) == 7  # 1.6 MB in 6 shards + model.json
    spec = {"tfjs": TFJS_MODULES, "cases": [
        {"name": c["name"], "dir": c["dir"],
         "runs": [{k: r[k] for k in ("inputs", "outputs_prefix")} for r in c["runs"]]}
        for c in cases]}
    proc = subprocess.run([node, os.path.join(os.path.dirname(__file__), "tfjs_check.js"),
                           json.dumps(spec)], capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-4000:]
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    assert [line["name"] for line in lines] == [c["name"] for c in cases]
    for line, case in zip(lines, cases):
        model = case["model"]
        assert line["tfjs"] == "4.22.0" and line["backend"] == "cpu"
        assert line["inputs"] == input_names(model), line["name"]
        assert line["outputs"] == list(model.output_names), line["name"]
        assert line["weights"] == len(model.weights), line["name"]
        for run, shapes in zip(case["runs"], line["output_shapes"]):
            assert len(shapes) == len(run["want"])
            for i, (want, shape) in enumerate(zip(run["want"], shapes)):
                assert tuple(shape) == want.shape, line["name"]
                got = np.fromfile(f"{run['outputs_prefix']}.{i}.bin", "<f4").reshape(shape)
                np.testing.assert_allclose(got, want, rtol=0, atol=1e-4 * np.abs(want).max(),
                                           err_msg=line["name"])
