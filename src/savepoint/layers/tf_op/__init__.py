"""TF-op layers: tf.keras 2's ``TFOpLambda``/``SlicingOpLambda`` over a whitelist of TF functions.

Example:
    >>> import torch
    >>> TFOpLambda("math.negative")(torch.ones(1)).tolist()
    [-1.0]
"""

from savepoint.layers.tf_op.layer import SlicingOpLambda, TFOpLambda
from savepoint.layers.tf_op.ops import OPS
from savepoint import backend as _backend
from savepoint.layers.tf_op import backend_ops as _backend_ops

_backend_ops.install(_backend)  # K.mean(x) on a KerasTensor records a tf.math.reduce_mean layer


__all__ = ["OPS", "SlicingOpLambda", "TFOpLambda"]
