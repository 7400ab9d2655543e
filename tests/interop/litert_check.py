"""Run in .venvs/litert: the real LiteRT interpreter (ai-edge-litert) runs savepoint's files.

Usage: litert_check.py '<json spec>' with ``{"schema": {...}, "cases": [...]}``. ``schema`` holds
savepoint's enum tables (BUILTINS codes, OPTIONS union positions and field names, TENSOR_TYPES),
compared here with the interpreter's own generated schema (schema_py_generated). Each case is
``{"name", "tflite", "npz"}``: the npz holds ``in:<key>@<n>`` inputs and ``out:<key>@<n>``
predictions (savepoint's) for each batch size n, and ``labels@<n>`` for accuracy. For each batch
size the script resizes the inputs (``resize_tensor_input`` + ``allocate_tensors``), runs the
``serving_default`` signature runner, and prints one JSON line per case and batch size with
the largest error, the output scale, the signature's names, the inputs' shape signatures,
opcodes, the int8 weight tensors and the accuracy where labels exist.
"""

from __future__ import annotations

import json
import os
import re
import sys

import numpy as np
from ai_edge_litert import schema_py_generated as fb
from ai_edge_litert.interpreter import Interpreter


def check_schema(schema: dict) -> list:
    """Mismatches between savepoint's hand-written enums and the generated schema."""
    bad = []
    for name, code in schema["builtins"].items():
        if getattr(fb.BuiltinOperator, name, None) != code:
            bad.append(["builtin", name, code])
    for name, (position, fields) in schema["options"].items():
        cls = getattr(fb, name, None)
        if getattr(fb.BuiltinOptions, name, None) != position or cls is None:
            bad.append(["options", name, position])
            continue
        import inspect
        source = inspect.getsource(cls)
        for slot, key in enumerate(fields):
            camel = "".join(p[:1].upper() + p[1:] for p in key.split("_"))
            m = re.search(r"def %s\(self.*?Offset\((\d+)\)" % camel, source, re.S)
            deprecated = m is None and name == "ResizeBilinearOptions" and slot < 2
            if not deprecated and (m is None or int(m.group(1)) != 4 + 2 * slot):
                bad.append(["field", name, key, slot])
    for name, code in schema["tensor_types"].items():
        if getattr(fb.TensorType, name.upper(), None) != code:
            bad.append(["tensor_type", name, code])
    return bad


def structure(path: str) -> dict:
    """What the generated schema reads back: version, opcodes, int8 weights."""
    with open(path, "rb") as f:
        data = f.read()
    model = fb.Model.GetRootAs(data, 0)
    names = {v: k for k, v in vars(fb.BuiltinOperator).items() if not k.startswith("_")}
    opcodes = [names[model.OperatorCodes(i).BuiltinCode()]
               for i in range(model.OperatorCodesLength())]
    graph = model.Subgraphs(0)
    int8 = []
    for i in range(graph.TensorsLength()):
        t = graph.Tensors(i)
        if t.Type() == fb.TensorType.INT8:
            q = t.Quantization()
            int8.append({"shape": t.ShapeAsNumpy().tolist(), "scales": q.ScaleLength(),
                         "dim": q.QuantizedDimension()})
    return {"version": model.Version(), "identifier": data[4:8].decode(), "opcodes": opcodes,
            "int8": int8, "size": len(data), "ops": graph.OperatorsLength()}


def run_case(case: dict) -> list[dict]:
    arrays = np.load(case["npz"])
    batches = sorted({int(k.split("@")[1]) for k in arrays.files if k.startswith("in:")})
    interpreter = Interpreter(model_path=case["tflite"])
    signature = interpreter.get_signature_list()["serving_default"]
    details = {d["name"]: d for d in interpreter.get_input_details()}
    lines = []
    for n in batches:
        feeds = {k[3:].split("@")[0]: arrays[k] for k in arrays.files
                 if k.startswith("in:") and k.endswith(f"@{n}")}
        for key, x in feeds.items():
            interpreter.resize_tensor_input(details[key]["index"], list(x.shape))
        interpreter.allocate_tensors()
        outputs = interpreter.get_signature_runner("serving_default")(**feeds)
        errors, scales, shapes = {}, {}, {}
        for key, y in outputs.items():
            want = arrays[f"out:{key}@{n}"]
            shapes[key] = list(y.shape)
            errors[key] = float(np.abs(y - want).max())
            scales[key] = float(np.abs(want).max())
        line = {"name": case["name"], "batch": n, "errors": errors, "scales": scales,
                "shapes": shapes, "inputs": sorted(signature["inputs"]),
                "outputs": sorted(signature["outputs"]),
                "shape_signatures": {k: d["shape_signature"].tolist()
                                     for k, d in details.items()}}
        if f"labels@{n}" in arrays.files:
            (y,) = outputs.values()
            line["accuracy"] = float((y.argmax(-1) == arrays[f"labels@{n}"]).mean())
        lines.append(line)
    lines[0]["structure"] = structure(case["tflite"])
    return lines


def main() -> None:
    spec = json.loads(sys.argv[1])
    print(json.dumps({"schema_mismatches": check_schema(spec["schema"])}))
    for case in spec["cases"]:
        try:
            for line in run_case(case):
                print(json.dumps(line))
        except Exception as e:  # noqa: BLE001 (reported per case, the test fails on it)
            print(json.dumps({"name": case["name"], "error": f"{type(e).__name__}: {e}"}))
    sys.stdout.flush()
    os._exit(0)  # skip the interpreter's slow teardown


if __name__ == "__main__":
    main()
