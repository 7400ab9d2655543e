"""Shared helpers for optimizer tests: named variables over small tensors and fixed gradients."""

from __future__ import annotations

import numpy as np
import torch

from savepoint.layers.variable import Variable

W0 = [np.array([[0.5, -1.0], [2.0, 0.25]]), np.array([0.1, -0.3, 0.7])]
GRADS = [
    [np.array([[0.3, -0.2], [0.1, 0.4]]), np.array([-0.5, 0.2, 0.05])],
    [np.array([[-0.1, 0.6], [0.2, -0.3]]), np.array([0.4, -0.1, 0.3])],
    [np.array([[0.2, 0.1], [-0.4, 0.5]]), np.array([0.05, 0.3, -0.2])],
    [np.array([[0.7, -0.5], [0.3, 0.1]]), np.array([-0.2, -0.4, 0.6])],
]


def make_vars(values=W0, prefix="dense") -> list[Variable]:
    """Variables named like a Dense layer's ``kernel`` and ``bias``."""
    names = ["kernel", "bias", "extra"]
    return [Variable(torch.nn.Parameter(torch.tensor(v, dtype=torch.float32)), name=n,
                     path=f"{prefix}/{n}", trainable=True) for v, n in zip(values, names)]


def run(optimizer, steps: int, grads=GRADS, values=W0) -> list[np.ndarray]:
    """Apply ``steps`` gradient steps and return the variables as float64 arrays."""
    variables = make_vars(values)
    for k in range(steps):
        optimizer.apply_gradients([(torch.tensor(g, dtype=torch.float32), v)
                                   for g, v in zip(grads[k], variables)])
    return [v.numpy().astype(np.float64) for v in variables]
