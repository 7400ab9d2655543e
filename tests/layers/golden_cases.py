"""Load the golden cases real tf-keras 2 wrote (tools/make_activation_goldens.py,
tools/make_attention_goldens.py) and check a savepoint layer built from the same config against
them: forward outputs, input and weight gradients, weight names, and the Keras 2 config."""

from __future__ import annotations

import glob
import json
import os

import numpy as np
import torch

from savepoint.layers import activations
from savepoint.saving.mapping.dialects import keras2
from savepoint.serialization import deserialize

GOLDENS = os.path.join(os.path.dirname(os.path.dirname(__file__)), "fixtures", "goldens")


def cases(family: str) -> list[str]:
    """The case names of one family, sorted."""
    paths = glob.glob(os.path.join(GOLDENS, family, "*.json"))
    assert paths, f"no golden cases in {family}: run the tools/make_*_goldens.py scripts"
    return sorted(os.path.basename(p)[:-5] for p in paths)


def load(family: str, case: str) -> tuple[dict, dict]:
    with open(os.path.join(GOLDENS, family, f"{case}.json")) as f:
        meta = json.load(f)
    with np.load(os.path.join(GOLDENS, family, f"{case}.npz")) as npz:
        arrays = {k: npz[k] for k in npz.files}
    return meta, arrays


def _indexed(arrays: dict, prefix: str) -> list:
    out, i = [], 0
    while f"{prefix}{i}" in arrays:
        out.append(arrays[f"{prefix}{i}"])
        i += 1
    return out


def build_layer(meta: dict):
    """The savepoint layer for a case, from tf-keras's own config (through the Keras 2 dialect)."""
    config = keras2._value_in(meta["config"])
    return deserialize({"class_name": meta["class_name"], "config": config}, "layers")


def check(family: str, case: str, rtol: float = 1e-5, atol: float = 1e-5) -> int:
    """Forward, gradients and names of ``case`` equal tf-keras's within tolerance; returns how
    many arrays (outputs and gradients) were compared."""
    meta, arrays = load(family, case)
    xs = [torch.tensor(x, requires_grad=x.dtype.kind == "f") for x in _indexed(arrays, "x")]
    kwargs = dict(meta["kwargs"])
    for name, count in meta["array_kwargs"].items():
        if count is None:
            kwargs[name] = torch.tensor(arrays[f"k_{name}"])
        else:
            kwargs[name] = [torch.tensor(arrays[f"k_{name}_{i}"]) if f"k_{name}_{i}" in arrays
                            else None for i in range(count)]
    if meta.get("function"):
        fn = activations.get(meta["function"])
        layer, run = None, (lambda: fn(xs[0], **meta.get("function_kwargs", {})))
    else:
        layer = build_layer(meta)

        def run():
            if meta["style"] == "single":
                return layer(xs[0], **kwargs)
            if meta["style"] == "list":
                return layer(list(xs), **kwargs)
            extra = {"key": xs[2]} if len(xs) > 2 else {}
            return layer(xs[0], xs[1], **extra, **kwargs)
        run()
        assert [w.path + ":0" for w in layer.weights] == meta["weight_names"]
        layer.set_weights(_indexed(arrays, "w"))
    out = run()
    outs = list(out) if isinstance(out, (list, tuple)) else [out]
    want = _indexed(arrays, "y")
    assert len(outs) == len(want)
    compared = len(want)
    for got, expected in zip(outs, want):
        np.testing.assert_allclose(got.detach().numpy(), expected, rtol=rtol, atol=atol)
    loss = sum((o * torch.tensor(c)).sum() for o, c in zip(outs, _indexed(arrays, "c")))
    params = [w.value for w in layer.trainable_weights] if layer is not None else []
    leaves = [x for x in xs if x.requires_grad]
    grads = torch.autograd.grad(loss, leaves + params, allow_unused=True) if leaves + params \
        else []
    for i, x in enumerate(leaves):
        expected = arrays.get(f"gx{i}")
        if expected is not None:
            got = grads[i] if grads[i] is not None else torch.zeros_like(x)
            np.testing.assert_allclose(got.numpy(), expected, rtol=rtol, atol=atol,
                                       err_msg=f"input {i} gradient")
            compared += 1
    for i, g in enumerate(grads[len(leaves):]):
        np.testing.assert_allclose(g.numpy(), arrays[f"gw{i}"], rtol=rtol, atol=atol,
                                   err_msg=f"weight {i} gradient")
        compared += 1
    if layer is not None:
        ours = keras2._value_out(json.loads(json.dumps(layer.get_config())))
        assert ours == meta["config"], (ours, meta["config"])
    return compared
