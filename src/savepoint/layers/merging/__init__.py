"""Merge layers (Keras's ``layers/merging`` family): Concatenate, Add, Subtract, Multiply,
Average, Maximum, Minimum, Dot, and the lower-case functions that build and call them.

Example:
    >>> import torch
    >>> add([torch.ones(1, 2), torch.ones(1, 2)]).tolist()
    [[2.0, 2.0]]
"""

from savepoint.layers.merging.concatenate import Concatenate
from savepoint.layers.merging.dot import Dot
from savepoint.layers.merging.elementwise import (Add, Average, Maximum, Minimum, Multiply,
                                                  Subtract)
from savepoint.layers.merging.functions import (add, average, concatenate, dot, maximum, minimum,
                                                multiply, subtract)

__all__ = ["Add", "Average", "Concatenate", "Dot", "Maximum", "Minimum", "Multiply", "Subtract",
           "add", "average", "concatenate", "dot", "maximum", "minimum", "multiply", "subtract"]
