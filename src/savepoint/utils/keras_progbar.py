"""``keras.utils.Progbar``: the public progress bar, averaging non-stateful values over steps."""

from __future__ import annotations

from typing import Any, Iterable, TextIO

from savepoint.utils import progbar as _progbar


class Progbar(_progbar.Progbar):
    """``tf.keras.utils.Progbar``: ``update(current, values)`` with ``values`` a list of
    ``(name, value)`` pairs; values not in ``stateful_metrics`` are shown as their average over
    the steps seen (weighted by the steps each update covers), as Keras does.

    Example:
        >>> import io; out = io.StringIO()
        >>> bar = Progbar(2, stream=out)
        >>> bar.update(1, [("loss", 1.0)]); bar.update(2, [("loss", 3.0)])
        >>> out.getvalue().strip().endswith("loss: 2.0000")
        True
    """

    def __init__(self, target: int | None, width: int = 30, verbose: int = 1,
                 interval: float = 0.05, stateful_metrics: Iterable[str] | None = None,
                 unit_name: str = "step", stream: TextIO | None = None):
        super().__init__(target, width=width, verbose=verbose, interval=interval,
                         unit_name=unit_name, stream=stream)
        self.stateful_metrics = set(stateful_metrics or ())
        self._sums: dict[str, list[float]] = {}
        self._order: list[str] = []
        self._seen_so_far = 0

    def update(self, current: int, values: Any = None, finalize: bool | None = None) -> None:
        """Record ``values`` at step ``current`` and redraw (throttled unless final).

        Example:
            >>> import io; bar = Progbar(None, stream=io.StringIO()); bar.update(3)
        """
        items = values.items() if hasattr(values, "items") else (values or [])
        base = max(current - self._seen_so_far, 1)
        for name, value in items:
            if name not in self._order:
                self._order.append(name)
            value = float(value)
            if name in self.stateful_metrics:
                self._sums[name] = [value, 1]
            elif name in self._sums:
                self._sums[name][0] += value * base
                self._sums[name][1] += base
            else:
                self._sums[name] = [value * base, base]
        self._seen_so_far = current
        shown = [(k, self._sums[k][0] / max(1, self._sums[k][1])) for k in self._order]
        super().update(current, shown, finalize)

    def add(self, n: int, values: Any = None) -> None:
        """Advance by ``n`` steps.

        Example:
            >>> import io; bar = Progbar(4, stream=io.StringIO()); bar.add(2)
        """
        self.update(self._seen_so_far + n, values)


__all__ = ["Progbar"]
