"""Helper threads for the bundle's GIL-releasing work (crc32c, numpy copies, fsync).

Plain threads, not ``concurrent.futures``: an async checkpoint may be persisted from an
``atexit`` handler, where executors refuse new work. Where no thread can start (interpreter
shutdown), the work runs inline, so callers always get their result.

Example:
    >>> pending = start(lambda: 6 * 7)
    >>> pending.result()
    42
    >>> done = []
    >>> run_all([(10, lambda: done.append("small")), (2 << 20, lambda: done.append("big"))])
    >>> sorted(done)
    ['big', 'small']
"""

from __future__ import annotations

import collections
import os
import threading
from typing import Any, Callable

THREADS = max(1, min(4, os.cpu_count() or 1))  # memory bandwidth, not cores, is the limit
BIG_TASK_BYTES = 1 << 20  # smaller tasks are mostly Python overhead (GIL-bound): run inline


class Pending:
    """``fn()`` running on a helper thread (or already run inline); :meth:`result` joins it.

    Example:
        >>> Pending(lambda: "done").result()
        'done'
    """

    def __init__(self, fn: Callable[[], Any]) -> None:
        self._fn = fn
        self._value: Any = None
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = threading.Thread(
            target=self._call, name="savepoint-io", daemon=True)
        try:
            self._thread.start()
        except RuntimeError:  # "can't create new thread at interpreter shutdown"
            self._thread = None
            self._call()

    def _call(self) -> None:
        try:
            self._value = self._fn()
        except BaseException as e:  # re-raised by result(), in the caller's thread
            self._error = e

    def result(self) -> Any:
        """Wait for ``fn`` and return its value, or raise what it raised."""
        if self._thread is not None:
            self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value


def start(fn: Callable[[], Any]) -> Pending:
    """Start ``fn()`` on a helper thread.

    Example:
        >>> start(lambda: 1).result()
        1
    """
    return Pending(fn)


def run_all(tasks: list[tuple[int, Callable[[], None]]]) -> None:
    """Run ``(bytes, fn)`` tasks: the big ones on up to ``THREADS`` helper threads, biggest
    first, the small ones inline meanwhile. Raises the first error once all have stopped.

    Example:
        >>> out = []
        >>> run_all([(1, lambda: out.append(1))]); out
        [1]
    """
    big = collections.deque(fn for _, fn in sorted((t for t in tasks if t[0] >= BIG_TASK_BYTES),
                                                   key=lambda t: -t[0]))
    if len(big) < 2 or THREADS == 1:
        for _, fn in tasks:
            fn()
        return

    def drain() -> None:
        while True:
            try:
                fn = big.popleft()  # deque operations are atomic
            except IndexError:
                return
            fn()

    workers = [start(drain) for _ in range(min(THREADS, len(big)))]
    try:
        for n, fn in tasks:
            if n < BIG_TASK_BYTES:
                fn()
    finally:
        errors = []
        for worker in workers:
            try:
                worker.result()
            except BaseException as e:
                errors.append(e)
    if errors:
        raise errors[0]
