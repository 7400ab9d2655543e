"""Regenerate tests/fixtures/goldens/losses_metrics/ with REAL tf-keras losses and metrics.

Run from the repository root: ``TF_USE_LEGACY_KERAS=1 .venvs/tf/bin/python
tools/make_loss_metric_goldens.py``. Writes ``cases.json`` (each case: kind, class name,
constructor kwargs, which inputs) and ``values.npz`` (the inputs; for each loss case its value,
its unreduced values and its gradient w.r.t. y_pred; for each metric case its result after a
first and a second weighted ``update_state``, and its variables).
"""

from __future__ import annotations

import json
import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf_keras as keras  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "goldens", "losses_metrics")

LOSSES = [
    ("bfce", "BinaryFocalCrossentropy", {}, ("bin_true", "bin_prob")),
    ("bfce_args", "BinaryFocalCrossentropy",
     {"apply_class_balancing": True, "alpha": 0.4, "gamma": 3.0}, ("bin_true", "bin_prob")),
    ("bfce_logits", "BinaryFocalCrossentropy",
     {"from_logits": True, "label_smoothing": 0.1, "gamma": 1.5}, ("bin_true", "logits")),
    ("bfce_sum", "BinaryFocalCrossentropy", {"reduction": "sum"}, ("bin_true", "bin_prob")),
    ("chinge", "CategoricalHinge", {}, ("onehot", "scores")),
]
METRICS = [
    ("miou", "MeanIoU", {"num_classes": 4}, ("cls_true", "cls_pred")),
    ("miou_ignore", "MeanIoU", {"num_classes": 4, "ignore_class": 0}, ("cls_true", "cls_pred")),
    ("miou_dense", "MeanIoU", {"num_classes": 4, "sparse_y_true": False,
                               "sparse_y_pred": False}, ("onehot", "scores_pos")),
    ("f1_none", "F1Score", {}, ("multi_true", "multi_prob")),
    ("f1_micro", "F1Score", {"average": "micro", "threshold": 0.5},
     ("multi_true", "multi_prob")),
    ("f1_macro", "F1Score", {"average": "macro"}, ("onehot", "scores_pos")),
    ("f1_weighted", "F1Score", {"average": "weighted", "threshold": 0.4},
     ("multi_true", "multi_prob")),
    ("fbeta", "FBetaScore", {"average": "macro", "beta": 2.0, "threshold": 0.3},
     ("multi_true", "multi_prob")),
    ("r2", "R2Score", {}, ("reg_true", "reg_pred")),
    ("r2_var", "R2Score", {"class_aggregation": "variance_weighted_average"},
     ("reg_true", "reg_pred")),
    ("r2_none", "R2Score", {"class_aggregation": None}, ("reg_true", "reg_pred")),
    ("r2_adj", "R2Score", {"num_regressors": 2}, ("reg_true", "reg_pred")),
    ("chinge_metric", "CategoricalHinge", {}, ("onehot", "scores")),
]


def inputs() -> dict:
    rng = np.random.default_rng(17)
    n = 8
    logits = rng.standard_normal((n, 3)).astype("float32") * 2
    labels = rng.integers(0, 4, n)
    return {
        "bin_true": rng.integers(0, 2, (n, 3)).astype("float32"),
        "bin_prob": (1 / (1 + np.exp(-logits))).astype("float32"),
        "logits": logits,
        "onehot": np.eye(4, dtype="float32")[labels],
        "scores": rng.standard_normal((n, 4)).astype("float32"),
        "scores_pos": rng.uniform(0, 1, (n, 4)).astype("float32"),
        "cls_true": labels.astype("int64"),
        "cls_pred": rng.integers(0, 4, n).astype("int64"),
        "multi_true": rng.integers(0, 2, (n, 4)).astype("float32"),
        "multi_prob": rng.uniform(0, 1, (n, 4)).astype("float32"),
        "reg_true": rng.standard_normal((n, 3)).astype("float32"),
        "reg_pred": rng.standard_normal((n, 3)).astype("float32"),
        "sw": rng.uniform(0.2, 2.0, n).astype("float32"),
    }


def main() -> None:
    data = inputs()
    out = {f"in__{k}": v for k, v in data.items()}
    half = len(data["sw"]) // 2
    for case, cls, kwargs, (t, p) in LOSSES:
        loss = getattr(keras.losses, cls)(**kwargs)
        y_true, y_pred = tf.constant(data[t]), tf.Variable(data[p])
        with tf.GradientTape() as tape:
            value = loss(y_true, y_pred)
        out[f"{case}__value"] = value.numpy()
        out[f"{case}__grad"] = tape.gradient(value, y_pred).numpy()
        out[f"{case}__weighted"] = loss(y_true, y_pred, sample_weight=data["sw"]).numpy()
        none = getattr(keras.losses, cls)(**{**kwargs, "reduction": "none"})
        out[f"{case}__none"] = none(y_true, y_pred).numpy()
    for case, cls, kwargs, (t, p) in METRICS:
        metric = getattr(keras.metrics, cls)(**kwargs)
        metric.update_state(data[t][:half], data[p][:half])
        out[f"{case}__first"] = np.asarray(metric.result().numpy())
        metric.update_state(data[t][half:], data[p][half:], sample_weight=data["sw"][half:])
        out[f"{case}__second"] = np.asarray(metric.result().numpy())
        for i, v in enumerate(metric.variables):
            out[f"{case}__var{i}"] = v.numpy()
        out[f"{case}__varnames"] = np.array([v.name.split(":")[0] for v in metric.variables])
    os.makedirs(OUT, exist_ok=True)
    np.savez_compressed(os.path.join(OUT, "values.npz"), **out)
    cases = [{"kind": "loss", "case": c, "class_name": k, "kwargs": kw, "inputs": list(io)}
             for c, k, kw, io in LOSSES]
    cases += [{"kind": "metric", "case": c, "class_name": k, "kwargs": kw, "inputs": list(io),
               "config": _config(getattr(keras.metrics, k)(**kw))} for c, k, kw, io in METRICS]
    cases[:len(LOSSES)] = [dict(c, config=getattr(keras.losses, c["class_name"])(
        **c["kwargs"]).get_config()) for c in cases[:len(LOSSES)]]
    with open(os.path.join(OUT, "cases.json"), "w") as f:
        json.dump(cases, f, indent=1)
    print(f"wrote {len(out)} arrays, {len(cases)} cases")


def _config(metric) -> dict:
    config = metric.get_config()
    config["dtype"] = str(config.get("dtype"))
    return config


if __name__ == "__main__":
    main()
