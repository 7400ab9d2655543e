"""``keras.preprocessing``: the Keras 2 preprocessing helpers (``sequence``, ``text``,
``image``)."""

from savepoint.preprocessing import image, sequence, text

__all__ = ["image", "sequence", "text"]
