"""savepoint: the Keras API on PyTorch, with checkpoints TensorFlow can read.

Example:
    >>> import savepoint as keras
    >>> model = keras.Sequential([keras.layers.Dense(10, input_shape=(784,))])
    >>> model.count_params()
    7850
"""

from savepoint import (backend, callbacks, config, datasets, errors, layers, losses, metrics,
                       optimizers, saving, utils)
from savepoint.errors import SavepointError
from savepoint.layers import Input
from savepoint.models import Model, Sequential
from savepoint import models, train
from savepoint import preprocessing  # noqa: E402  (keras.preprocessing)
from savepoint import activations, constraints, initializers, regularizers  # noqa: E402
from savepoint import mixed_precision  # noqa: E402
from savepoint import applications  # noqa: E402  (keras.applications)

__version__ = "0.1.0"

__all__ = ["applications", "Input", "Model", "SavepointError", "Sequential", "backend",
           "callbacks", "config", "datasets", "errors", "layers", "losses", "metrics", "models",
           "optimizers", "saving", "train", "utils", "__version__"]
