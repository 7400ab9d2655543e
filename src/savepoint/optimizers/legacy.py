"""``optimizers.legacy``: Keras 2's legacy names, aliases of the optimizers savepoint has.

tf.keras 2.11+ keeps its pre-2.11 optimizers under ``optimizers.legacy``; code that names them
runs here on the same classes as ``optimizers`` (tf.keras's current update rules and slot
names), so ``legacy.Adam(lr=1e-3)`` trains and saves like ``Adam``.

Example:
    >>> from savepoint.optimizers import legacy
    >>> type(legacy.Adagrad()).__name__
    'Adagrad'
"""

from savepoint.optimizers.adadelta import Adadelta
from savepoint.optimizers.adagrad import Adagrad
from savepoint.optimizers.adam import Adam
from savepoint.optimizers.adamax import Adamax
from savepoint.optimizers.base import Optimizer
from savepoint.optimizers.ftrl import Ftrl
from savepoint.optimizers.nadam import Nadam
from savepoint.optimizers.rmsprop import RMSprop
from savepoint.optimizers.sgd import SGD

__all__ = ["Adadelta", "Adagrad", "Adam", "Adamax", "Ftrl", "Nadam", "Optimizer", "RMSprop",
           "SGD"]
