"""Asynchronous checkpointing: snapshot into reusable host buffers, persist in a background thread.

A save is split as DESIGN.md 4 says. The *snapshot* copies every tensor into host buffers (the
only part that blocks training); the *persist* (write bundle, fsync, atomic commit, then the
caller's follow-up: state file, pruning) runs in one background thread per saver, in submission
order, and writes exactly the bytes a synchronous save writes.

- The persist writes its files with ``O_DIRECT`` where the file system allows it
  (``storage.background_writes``): same bytes, same fsync + rename commit, less CPU taken from
  training.
- Buffers are pooled by ``(shape, dtype)``: after the first save of a state, saving it again
  allocates nothing. On CUDA they are pinned and filled with ``non_blocking`` copies; the worker
  waits on a CUDA event before writing, and later kernels on the stream are ordered after the copy.
- At most ``max_in_flight`` snapshots exist per saver; the next save waits for one to be written
  (back-pressure, never unbounded memory).
- A background failure is kept and raised, as :class:`AsyncSaveError` naming the path with the
  original error as ``__cause__``, by the next ``save``, by ``wait()`` (``ModelCheckpoint`` waits at
  the end of ``fit``), or printed at process exit. Pending saves finish before the process exits.

Example:
    >>> import savepoint as keras, tempfile, os
    >>> model = keras.Sequential([keras.layers.Dense(2, input_shape=(3,))])
    >>> saver = AsyncSaver(max_in_flight=2)
    >>> prefix = os.path.join(tempfile.mkdtemp(), "ckpt")
    >>> saver.save_tree(model, prefix)    # returns once the snapshot is taken
    >>> saver.wait()                      # the files are committed now
    >>> os.path.exists(prefix + ".index")
    True
"""

from __future__ import annotations

import atexit
import collections
import functools
import sys
import threading
import weakref
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import torch

from savepoint.errors import AsyncSaveError
from savepoint.saving import storage
from savepoint.saving.engine import checkpoint_io, frozen
from savepoint.saving.options import CheckpointOptions

_SAVERS: "weakref.WeakSet[AsyncSaver]" = weakref.WeakSet()
_OWNED: "weakref.WeakKeyDictionary[Any, AsyncSaver]" = weakref.WeakKeyDictionary()
_REGISTRY_LOCK = threading.Lock()
_IN_WORKER = threading.local()  # set while a worker thread runs a job
_IDLE_EXIT_S = 10.0  # an idle worker thread exits after this long


class HostBuffers:
    """One set of host buffers a snapshot is copied into, reused by the next snapshot.

    Buffers are looked up by ``(shape, dtype, pinned)``; a state whose tensors have the same
    shapes and dtypes as last time reuses every buffer (``allocations`` stops growing). The copy
    plan (which memory goes into which buffer, and how) is kept while the tensors' memory stays
    where it was: a snapshot of an unchanged model is one prepared copy per tensor (half the
    time of building the views per snapshot, on the training thread).

    Example:
        >>> bufs = HostBuffers()
        >>> out = bufs.copy_in([torch.ones(2), torch.zeros(3)])
        >>> _ = bufs.copy_in([torch.ones(2), torch.zeros(3)])
        >>> [t.tolist() for t in out], bufs.allocations
        ([[1.0, 1.0], [0.0, 0.0, 0.0]], 2)
    """

    def __init__(self) -> None:
        self._pool: dict[tuple, list[torch.Tensor]] = {}
        self._events: list[Any] = []
        self.allocations = 0
        self._plan: tuple[list, list[torch.Tensor], list[Callable[[], Any]]] | None = None

    def copy_in(self, tensors: list[torch.Tensor]) -> list[torch.Tensor]:
        """Copy ``tensors`` into this set's buffers; return the buffers (same order)."""
        where = _memory_layout(tensors)
        if self._plan is None or self._plan[0] != where:
            self._plan = (where, *self._make_plan(tensors))
        _, out, copies = self._plan
        with torch.no_grad():
            for copy in copies:
                copy()
        self._events = _record_cuda_events(tensors)
        return list(out)

    def _make_plan(self, tensors: list[torch.Tensor]
                   ) -> tuple[list[torch.Tensor], list[Callable[[], Any]]]:
        used: dict[tuple, int] = collections.defaultdict(int)
        out, copies = [], []
        for tensor in tensors:
            tensor = tensor.detach()
            pinned = tensor.device.type == "cuda"
            key = (tuple(tensor.shape), tensor.dtype, pinned)
            buffer = self._buffer(key, used[key])
            used[key] += 1
            out.append(buffer)
            copies.append(_copier(buffer, tensor, pinned))
        return out, copies

    def _buffer(self, key: tuple, index: int) -> torch.Tensor:
        buffers = self._pool.setdefault(key, [])
        if index == len(buffers):
            shape, dtype, pinned = key
            buffers.append(torch.empty(shape, dtype=dtype, pin_memory=pinned))
            self.allocations += 1
        return buffers[index]

    def wait_ready(self) -> None:
        """Block until the (possibly asynchronous) device-to-host copies have landed."""
        for event in self._events:
            event.synchronize()
        self._events = []

    @property
    def nbytes(self) -> int:
        """Bytes held by this set's buffers."""
        return sum(b.numel() * b.element_size() for bufs in self._pool.values() for b in bufs)


_POOL_COPY_BYTES = 16 << 20


def _memory_layout(tensors: list[torch.Tensor]) -> list[tuple]:
    """Where and how each tensor's memory lies: a copy plan stays valid while this is equal (a
    plan's views keep their tensors alive, so no other tensor can take the same address)."""
    return [(t.data_ptr(), t.shape, t.stride(), t.dtype, t.device) for t in tensors]


def _copier(buffer: torch.Tensor, tensor: torch.Tensor, pinned: bool) -> Callable[[], Any]:
    """Device tensors: an async copy into pinned memory. CPU tensors: one plain memcpy of the
    bytes (``torch.copy_`` would wake the intra-op thread pool, which on a busy machine costs
    far more than the copy itself)."""
    if pinned or not tensor.is_contiguous() or tensor.numel() == 0 or \
            tensor.numel() * tensor.element_size() >= _POOL_COPY_BYTES:
        # big tensors: worth the thread pool
        return functools.partial(buffer.copy_, tensor, non_blocking=pinned)
    return functools.partial(np.copyto, buffer.reshape(-1).view(torch.uint8).numpy(),
                             tensor.reshape(-1).view(torch.uint8).numpy())


def _record_cuda_events(tensors: list[torch.Tensor]) -> list[Any]:
    devices = {t.device for t in tensors if t.device.type == "cuda"}
    events = []
    for device in devices:
        event = torch.cuda.Event()
        event.record(torch.cuda.current_stream(device))
        events.append(event)
    return events


@dataclass
class _Job:
    path: str
    write: Callable[[], None]  # persists the snapshot (it holds the copies in its closure)
    buffers: HostBuffers
    then: Callable[[], None] | None


class AsyncSaver:
    """Snapshots checkpoints in the caller's thread and persists them in one background thread.

    Args:
        max_in_flight: how many snapshots may wait to be written before ``save`` blocks.

    Example:
        >>> saver = AsyncSaver(max_in_flight=1)
        >>> saver.in_flight
        0
    """

    def __init__(self, max_in_flight: int = 2) -> None:
        CheckpointOptions(max_in_flight=max_in_flight)  # validates
        self.max_in_flight = max_in_flight
        self._cond = threading.Condition()
        self._queue: collections.deque[_Job] = collections.deque()
        self._free: list[HostBuffers] = []
        self._sets: list[HostBuffers] = []
        self._pending = 0
        self._worker: threading.Thread | None = None
        self._errors: list[AsyncSaveError] = []
        with _REGISTRY_LOCK:
            _SAVERS.add(self)

    @property
    def in_flight(self) -> int:
        """Saves snapshotted but not yet fully persisted."""
        with self._cond:
            return self._pending

    @property
    def allocations(self) -> int:
        """Host buffers allocated so far, over all buffer sets (stops growing once warm)."""
        with self._cond:
            return sum(b.allocations for b in self._sets)

    def save_tree(self, root: Any, prefix: str, then: Callable[[], None] | None = None,
                  state_dir: str | None = None) -> None:
        """Snapshot ``root`` now; write it as a checkpoint at ``prefix`` in the background, then
        run ``then`` (state file, pruning) there if the write succeeded.

        Raises the :class:`AsyncSaveError` of an earlier failed save before taking a snapshot."""
        self.submit(str(prefix), lambda copy: functools.partial(
            checkpoint_io.persist, checkpoint_io.snapshot(root, copy=copy), str(prefix),
            state_dir), then)

    def save_with(self, save: Callable[[Any, str], None], model: Any, path: str,
                  then: Callable[[], None] | None = None) -> None:
        """Snapshot every variable of ``model`` now; run the format's ordinary
        ``save(model, path)`` in the background, reading the snapshot (``engine.frozen``),
        then ``then``. This is how every format other than the TF checkpoint saves async.

        Example:
            >>> import savepoint as keras, tempfile, os
            >>> from savepoint.saving.handlers.h5_weights import save_h5
            >>> model = keras.Sequential([keras.layers.Dense(2, input_shape=(3,))])
            >>> path = os.path.join(tempfile.mkdtemp(), "w.h5")
            >>> saver = AsyncSaver(); saver.save_with(save_h5, model, path); saver.wait()
            >>> os.path.exists(path)
            True
        """
        def take(copy: Callable) -> Callable[[], None]:
            values = frozen.capture(model, copy)

            def write() -> None:
                with frozen.writing_from(values):
                    save(model, path)
            return write
        self.submit(str(path), take, then)

    def submit(self, path: str, take: Callable[[Callable], Callable[[], None]],
               then: Callable[[], None] | None = None) -> None:
        """Run ``take(copy)`` now (it snapshots through ``copy``, which copies tensors into this
        saver's reusable host buffers, and returns the write); run the write, then ``then``, in
        the background. Raises the :class:`AsyncSaveError` of an earlier failed save first.

        Example:
            >>> saver = AsyncSaver(); written = []
            >>> saver.submit("x", lambda copy: lambda: written.append(1)); saver.wait()
            >>> written
            [1]
        """
        self.raise_error()
        buffers = self._acquire()
        try:
            write = take(buffers.copy_in)
        except BaseException:
            self._release(buffers)
            raise
        self._submit(_Job(path, write, buffers, then))

    def wait(self, raise_errors: bool = True) -> None:
        """Block until every pending save is committed; raise the first background error
        (unless ``raise_errors=False``: it is then kept for the next ``save`` or ``wait``)."""
        with self._cond:
            while self._pending:
                self._cond.wait()
        if raise_errors:
            self.raise_error()

    def raise_error(self) -> None:
        """Raise (once) the first background error since the last one raised, if any."""
        with self._cond:
            errors, self._errors = self._errors, []
        if errors:
            first = errors[0]
            if len(errors) > 1:
                first.args = (f"{first.args[0]} ({len(errors) - 1} later background save(s) "
                              f"failed too: {[str(e) for e in errors[1:]]})",)
            raise first

    # ----- internals --------------------------------------------------------------------------
    def _acquire(self) -> HostBuffers:
        with self._cond:
            while not self._free and len(self._sets) >= self.max_in_flight:
                self._cond.wait()
            if self._free:
                return self._free.pop()
            self._sets.append(HostBuffers())
            return self._sets[-1]

    def _release(self, buffers: HostBuffers) -> None:
        with self._cond:
            self._free.append(buffers)
            self._cond.notify_all()

    def _submit(self, job: _Job) -> None:
        with self._cond:
            self._queue.append(job)
            self._pending += 1
            self._cond.notify_all()
            if self._worker is not None:
                return
            # A daemon thread that outlives a save by _IDLE_EXIT_S (starting a thread per save
            # costs milliseconds on a busy machine); the atexit hook waits for pending saves.
            self._worker = threading.Thread(target=self._run, name="savepoint-async-save",
                                            daemon=True)
        try:
            self._worker.start()
        except RuntimeError:  # interpreter shutting down: no new threads, write here instead
            self._run(linger=0.0)

    def _run(self, linger: float = _IDLE_EXIT_S) -> None:
        while True:
            with self._cond:
                if not self._queue and linger > 0:
                    self._cond.wait_for(lambda: bool(self._queue), timeout=linger)
                if not self._queue:
                    self._worker = None
                    return
                job = self._queue.popleft()
            self._execute(job)

    def _execute(self, job: _Job) -> None:
        _IN_WORKER.active = True
        try:
            job.buffers.wait_ready()
            # O_DIRECT where the file system allows: the kernel's page-cache copy and
            # bookkeeping would take CPU from training (storage.direct)
            with storage.background_writes():
                job.write()
                if job.then is not None:
                    job.then()
        except BaseException as e:  # kept and raised in the training thread, never lost
            error = AsyncSaveError(
                f"Background checkpoint save to {job.path!r} failed: {type(e).__name__}: {e}. "
                f"The previous checkpoint and the 'checkpoint' state file were left as they "
                f"were. Fix: resolve the cause (e.g. free disk space) and save again.")
            error.__cause__ = e
            with self._cond:
                self._errors.append(error)
        finally:
            job.write = _done
            _IN_WORKER.active = False
            with self._cond:
                self._pending -= 1
                self._free.append(job.buffers)
                self._cond.notify_all()


def _done() -> None:
    """A finished job's ``write``: drops the snapshot it held."""


def saver_for(owner: Any, options: CheckpointOptions | None = None) -> AsyncSaver:
    """The saver of ``owner`` (a model, a ``Checkpoint``), created on first use. A different
    ``max_in_flight`` drains the old saver and starts a new one.

    Example:
        >>> class Owner: pass
        >>> o = Owner()
        >>> saver_for(o) is saver_for(o)
        True
    """
    limit = (options or CheckpointOptions()).max_in_flight
    with _REGISTRY_LOCK:
        saver = _OWNED.get(owner)
    if saver is not None and saver.max_in_flight == limit:
        return saver
    if saver is not None:
        saver.wait()
    saver = AsyncSaver(limit)
    with _REGISTRY_LOCK:
        _OWNED[owner] = saver
    return saver


def wait_for(owner: Any) -> None:
    """Wait for ``owner``'s pending saves (nothing to do if it never saved asynchronously).

    Example:
        >>> wait_for(object())
    """
    try:
        with _REGISTRY_LOCK:
            saver = _OWNED.get(owner)
    except TypeError:  # not weak-referenceable: it cannot own a saver
        return
    if saver is not None:
        saver.wait()


def wait_all(raise_errors: bool = True) -> None:
    """Wait for every saver's pending saves; raise the first background error (readers pass
    ``raise_errors=False``: they only need the files committed, errors stay with their saver).

    Example:
        >>> wait_all()
    """
    if getattr(_IN_WORKER, "active", False):
        return  # a background save's own code (a model directory's bundle) must not wait on itself
    with _REGISTRY_LOCK:
        savers = list(_SAVERS)
    first: AsyncSaveError | None = None
    for saver in savers:
        try:
            saver.wait(raise_errors)
        except AsyncSaveError as e:
            first = first or e
    if first is not None:
        raise first


def _wait_at_exit() -> None:
    try:
        wait_all()
    except AsyncSaveError as e:
        print(f"savepoint: {e}", file=sys.stderr, flush=True)


atexit.register(_wait_at_exit)


def save_async(spec: Any, model: Any, path: str, options: CheckpointOptions,
               then: Callable[[], None] | None = None) -> None:
    """Save ``model`` at ``path`` in the format ``spec`` (a registry record) in the background:
    the format's own snapshot/persist split where it has one, else ``save_with``.

    Example:
        >>> import savepoint as keras, tempfile, os
        >>> from savepoint.saving import registry
        >>> m = keras.Sequential([keras.layers.Dense(2, input_shape=(3,))])
        >>> path = os.path.join(tempfile.mkdtemp(), "w.safetensors")
        >>> save_async(registry.for_path(path, "weights"), m, path, CheckpointOptions())
        >>> wait_for(m); os.path.exists(path)
        True
    """
    saver = saver_for(model, options)
    if spec.snapshot is None:
        saver.save_with(spec.save, model, path, then)
        return
    saver.submit(str(path), lambda copy: functools.partial(
        spec.persist, spec.snapshot(model, copy), str(path)), then)
