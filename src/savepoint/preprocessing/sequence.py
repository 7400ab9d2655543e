"""``keras.preprocessing.sequence``: ``pad_sequences`` (the same function as in ``utils``).

Example:
    >>> pad_sequences([[1]], maxlen=2).tolist()
    [[0, 1]]
"""

from savepoint.utils.sequence_utils import pad_sequences

__all__ = ["pad_sequences"]
