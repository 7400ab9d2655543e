"""Models: ``Sequential``, functional and subclassed ``Model``."""

from savepoint.models.model import Model
from savepoint.models.sequential import Sequential

__all__ = ["Model", "Sequential"]
