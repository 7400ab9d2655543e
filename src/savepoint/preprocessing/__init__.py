"""``keras.preprocessing``: the Keras 2 preprocessing helpers (``sequence``, ``text``)."""

from savepoint.preprocessing import sequence, text

__all__ = ["sequence", "text"]
