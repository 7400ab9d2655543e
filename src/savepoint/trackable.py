"""The trackable protocol: objects name their children with ``_trackable_children()``.

A child is another trackable object or a ``Variable``. Layers, models and optimizers implement
the protocol; ``saving.mapping.object_graph`` walks it to name every variable as TensorFlow
does. These two helper nodes live here so that model code never imports ``saving``.

Example:
    >>> [name for name, _ in TrackableList(["a", "b"])._trackable_children()]
    ['0', '1']
"""

from __future__ import annotations

from typing import Any, Iterable


class TrackableList:
    """A list node (``_variables``, ``_momentums``, a Python list of layers): children ``"0"``..."""

    def __init__(self, items: Iterable[Any]):
        self.items = list(items)

    def _trackable_children(self) -> list[tuple[str, Any]]:
        return [(str(i), item) for i, item in enumerate(self.items)]


class Placeholder:
    """A node with no state, kept so our graph has the shape TensorFlow's has."""

    def _trackable_children(self) -> list[tuple[str, Any]]:
        return []
