"""``keras.preprocessing``: the Keras 2 preprocessing helpers (``sequence``)."""

from savepoint.preprocessing import sequence

__all__ = ["sequence"]
