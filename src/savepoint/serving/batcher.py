"""Server-side batching for ``savepoint serve --enable_batching``: requests for the same model
version that arrive together are concatenated into one forward pass and the rows split back.

It follows TF Serving's ``BatchingParameters``: a batch closes when it holds
``max_batch_size`` rows or when its oldest request has waited ``batch_timeout_micros``; the
batch threads (``num_batch_threads``, default the CPU count) run batches concurrently. With the
default timeout of 0 a free thread takes everything queued, so requests batch exactly when they
pile up behind busy threads. A request larger than ``max_batch_size`` runs alone. When more than
``max_enqueued_batches`` batches' worth of rows wait, new requests get 503 as in TF Serving.

Example:
    >>> import numpy as np
    >>> from savepoint.serving.config import BatchingParameters
    >>> class Double:
    ...     def run(self, arrays): return {"y": arrays["x"] * 2}
    >>> b = Batcher(BatchingParameters(max_batch_size=8, batch_timeout_micros=1000))
    >>> futures = [b.submit(Double(), {"x": np.full((1, 2), i, np.float32)}) for i in range(3)]
    >>> [f.result()["y"].tolist() for f in futures]
    [[[0.0, 0.0]], [[2.0, 2.0]], [[4.0, 4.0]]]
    >>> b.close()
"""

from __future__ import annotations

import concurrent.futures
import os
import threading
import time
from collections import deque
from typing import Any

import numpy as np

from savepoint.serving.config import BatchingParameters
from savepoint.serving.servable import ServingError


class _Task:
    __slots__ = ("servable", "arrays", "rows", "future", "arrived")

    def __init__(self, servable: Any, arrays: dict[str, np.ndarray]):
        self.servable, self.arrays = servable, arrays
        self.rows = len(next(iter(arrays.values())))
        self.future: concurrent.futures.Future = concurrent.futures.Future()
        self.arrived = time.monotonic()


class Batcher:
    """Queues per (servable, input shapes) and the threads that run their batches."""

    def __init__(self, params: BatchingParameters):
        self.params = params
        self._cond = threading.Condition()
        self._queues: dict[tuple, deque] = {}
        self._queued_rows = 0
        self._closing = False
        self.batches_run = 0   # batches, requests and rows served (logged at shutdown)
        self.tasks_run = 0
        self.rows_run = 0
        count = params.num_batch_threads or os.cpu_count() or 1
        self._threads = [threading.Thread(target=self._loop, name=f"savepoint-batch-{i}",
                                          daemon=True) for i in range(count)]
        for t in self._threads:
            t.start()

    def submit(self, servable: Any, arrays: dict[str, np.ndarray]) -> concurrent.futures.Future:
        """Queue one request; the future gets its named output arrays."""
        task = _Task(servable, arrays)
        key = (id(servable),) + tuple((n, a.shape[1:], a.dtype.str)
                                      for n, a in sorted(arrays.items()))
        with self._cond:
            limit = self.params.max_enqueued_batches * self.params.max_batch_size
            if self._closing or self._queued_rows + task.rows > limit:
                task.future.set_exception(ServingError(
                    503, "The batch scheduling queue to which this task was submitted is full"
                    if not self._closing else "The server is shutting down"))
                return task.future
            self._queues.setdefault(key, deque()).append(task)
            self._queued_rows += task.rows
            self._cond.notify()
        return task.future

    def close(self) -> None:
        """Finish what is queued, then stop the threads."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        for t in self._threads:
            t.join(timeout=60)

    def _loop(self) -> None:
        while True:
            batch = self._next_batch()
            if batch is None:
                return
            self._run(batch)

    def _next_batch(self) -> list[_Task] | None:
        timeout = self.params.batch_timeout_micros / 1e6
        with self._cond:
            while True:
                key = self._oldest_key()
                if key is None:
                    if self._closing:
                        return None
                    self._cond.wait()
                    continue
                queue = self._queues[key]
                wait = queue[0].arrived + timeout - time.monotonic()
                full = sum(t.rows for t in queue) >= self.params.max_batch_size
                if wait > 0 and not full and not self._closing:
                    self._cond.wait(wait)
                    continue
                return self._take(key, queue)

    def _oldest_key(self) -> tuple | None:
        live = [(q[0].arrived, k) for k, q in self._queues.items() if q]
        return min(live)[1] if live else None

    def _take(self, key: tuple, queue: deque) -> list[_Task]:
        batch = [queue.popleft()]
        rows = batch[0].rows
        while queue and rows + queue[0].rows <= self.params.max_batch_size:
            rows += queue[0].rows
            batch.append(queue.popleft())
        if not queue:
            del self._queues[key]
        self._queued_rows -= rows
        return batch

    def _run(self, batch: list[_Task]) -> None:
        try:
            if len(batch) == 1:
                outputs = [batch[0].servable.run(batch[0].arrays)]
            else:
                names = list(batch[0].arrays)
                joined = {n: np.concatenate([t.arrays[n] for t in batch]) for n in names}
                result = batch[0].servable.run(joined)
                outputs, start = [], 0
                for t in batch:
                    outputs.append({n: a[start:start + t.rows] for n, a in result.items()})
                    start += t.rows
        except Exception as e:  # every request of the batch gets the error
            for t in batch:
                t.future.set_exception(e)
            return
        with self._cond:
            self.batches_run += 1
            self.tasks_run += len(batch)
            self.rows_run += sum(t.rows for t in batch)
        for t, out in zip(batch, outputs):
            t.future.set_result(out)


__all__ = ["Batcher"]
