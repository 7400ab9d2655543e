"""Run in the TF venv (TF_USE_LEGACY_KERAS=1): TensorFlow's own TFLite converter consumes the
SavedModels savepoint writes, and TF's TFLite interpreter reproduces savepoint's predictions.

argv[1] is JSON ``{"cases": [{"name", "dir", "npz"}]}``. The npz holds the
inputs (``in:<key>``) and savepoint's ``model.predict`` outputs (``out:<key>``), keyed by the
serving signature's input and output names. For each case
``tf.lite.TFLiteConverter.from_saved_model(dir).convert()`` runs; ``tf.lite.Interpreter`` on the
flatbuffer runs the ``serving_default`` signature runner at the npz's batch and at batch 1 (the
batch stays dynamic), and the largest absolute error against savepoint's predictions is
reported with the builtin ops the flatbuffer uses and its input dtypes. Prints one JSON line
per case; a case that fails prints its ``error`` instead.

Example (in the TF venv)::

    python tf_check_converters.py '{"cases": []}'
"""

import json
import os
import sys

import numpy as np
import tensorflow as tf


def run_case(case: dict) -> dict:
    data = np.load(case["npz"])
    inputs = {k[3:]: data[k] for k in data.files if k.startswith("in:")}
    outputs = {k[4:]: data[k] for k in data.files if k.startswith("out:")}
    converter = tf.lite.TFLiteConverter.from_saved_model(case["dir"])
    flatbuffer = converter.convert()
    interpreter = tf.lite.Interpreter(model_content=flatbuffer)
    signature = interpreter.get_signature_list()["serving_default"]
    details = interpreter.get_input_details()
    # the signature runner resizes each input to the fed array (the batch is dynamic: -1)
    runner = interpreter.get_signature_runner("serving_default")
    got = runner(**inputs)
    errors = {key: float(np.max(np.abs(got[key].astype(np.float64) - want.astype(np.float64))))
              for key, want in outputs.items()}
    one = runner(**{key: x[:1] for key, x in inputs.items()})  # batch 1 after batch n
    for key, want in outputs.items():
        errors[key] = max(errors[key], float(np.max(np.abs(one[key] - want[:1]))))
    return {"name": case["name"], "inputs": sorted(signature["inputs"]),
            "outputs": sorted(signature["outputs"]), "errors": errors,
            "shapes": {key: list(got[key].shape) for key in outputs},
            "dtypes": {key: str(got[key].dtype) for key in outputs},
            "scales": {key: float(np.abs(want).max()) for key, want in outputs.items()},
            "size": len(flatbuffer), "input_dtypes": {d["name"]: str(d["dtype"]) for d in
                                                      details},
            "ops": sorted({op["op_name"] for op in interpreter._get_ops_details()}),
            "batch_dims": sorted({int(d["shape_signature"][0]) for d in details})}


def main() -> None:
    spec = json.loads(sys.argv[1])
    for case in spec["cases"]:
        try:
            line = run_case(case)
        except Exception as e:  # noqa: BLE001 (reported per case, the test fails on it)
            line = {"name": case["name"], "error": f"{type(e).__name__}: {e}"[-4000:]}
        print(json.dumps(line))
        sys.stdout.flush()
    os._exit(0)  # skip the interpreter's slow teardown


if __name__ == "__main__":
    main()
