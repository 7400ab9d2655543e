"""Turns what users pass to ``fit`` (arrays, tensors, dicts, Datasets, DataLoaders, generators)
into an iterator of device batches ``(x, y, sample_weight)``."""

from __future__ import annotations

import math
import warnings
from typing import Any, Iterator

import numpy as np
import torch

from savepoint import backend
from savepoint.errors import ConfigError, FormatError
from savepoint.layers.symbolic import flatten, map_structure

Batch = tuple[Any, Any, Any]


def _is_strings(value: Any) -> bool:
    """A numpy array of text (``str``/``bytes``/``object``): batched as numpy, never a tensor."""
    return isinstance(value, np.ndarray) and value.dtype.kind in "OUS"


def takes_strings(model: Any) -> bool:
    """Whether ``model`` declares a ``dtype="string"`` input: then text arrays in ``x`` stay
    numpy arrays (batched by slicing) and reach its StringLookup/TextVectorization layers.

    Example:
        >>> takes_strings(object())
        False
    """
    try:
        inputs = getattr(model, "inputs", None) or []
    except Exception:  # a subclassed model that is not built has no inputs yet
        return False
    return any(getattr(t, "dtype", None) == "string" for t in inputs)


def _to_tensor(value: Any, what: str, strings: bool = False) -> torch.Tensor | np.ndarray:
    if strings and _is_strings(value):
        return value  # text flows as numpy arrays to StringLookup/TextVectorization
    t = backend.to_tensor(value, what=what)
    return t.to(torch.float32) if t.dtype == torch.float64 else t


def _as_structure(value: Any) -> Any:
    """A list of numbers (or nested lists of numbers) is one array, not a list of inputs."""
    if isinstance(value, (list, tuple)) and not any(
            isinstance(v, (np.ndarray, torch.Tensor, dict)) for v in value):
        return np.asarray(value)
    return value


def _num_samples(structure: Any) -> list[int]:
    return [int(t.shape[0]) for t in flatten(structure)
            if isinstance(t, torch.Tensor) or _is_strings(t)]


class ArrayAdapter:
    """In-memory arrays: converted to tensors once, shuffled by index each epoch."""

    def __init__(self, x: Any, y: Any = None, sample_weight: Any = None, batch_size: int = 32,
                 shuffle: bool | str = False, steps: int | None = None, strings: bool = False):
        self.strings = strings
        self.x = map_structure(lambda v: _to_tensor(v, "x", strings), _as_structure(x))
        self.y = None if y is None else map_structure(lambda v: _to_tensor(v, "y"),
                                                      _as_structure(y))
        self.sw = None if sample_weight is None else _to_tensor(sample_weight, "sample_weight")
        sizes = {"x": _num_samples(self.x), "y": _num_samples(self.y),
                 "sample_weight": _num_samples(self.sw)}
        distinct = {n for v in sizes.values() for n in v}
        if len(distinct) > 1:
            detail = "\n".join(f"  {k} sizes: {', '.join(map(str, v))}" for k, v in sizes.items() if v)
            raise ConfigError("Data cardinality is ambiguous:\n" + detail +
                              "\nMake sure all arrays contain the same number of samples.")
        self.n = distinct.pop() if distinct else 0
        if batch_size is None:
            batch_size = 32
        if not isinstance(batch_size, (int, np.integer)) or isinstance(batch_size, bool) or \
                batch_size <= 0:
            raise ConfigError(f"Expected batch_size to be a positive int. Received: {batch_size!r}.")
        batch_size = int(batch_size)
        self.batch_size, self.shuffle, self.steps = batch_size, shuffle, steps
        self._order_rng: torch.Tensor | None = None  # torch's RNG state this epoch's order used
        self._resume: int | None = None

    def _order(self) -> torch.Tensor | None:
        if not self.shuffle:
            return None
        if self._resume is not None and self._order_rng is not None:
            generator = torch.Generator()  # the resumed epoch's order, global RNG untouched
            generator.set_state(self._order_rng)
            return torch.randperm(self.n, generator=generator)
        self._order_rng = torch.get_rng_state()
        return torch.randperm(self.n)

    def position_state(self) -> dict[str, np.ndarray]:
        """What regenerates this epoch's sample order: torch's RNG state when it was drawn."""
        if self.shuffle and self._order_rng is not None:
            return {"order_rng": self._order_rng.numpy()}
        return {}

    def restore_position(self, state: dict[str, np.ndarray], step: int) -> None:
        """Make the next ``epoch()`` repeat a saved epoch's order from batch ``step`` on."""
        if step:
            if self.shuffle and "order_rng" not in state:
                raise FormatError("The backup resumes a shuffled epoch mid-way but holds no "
                                  "'order_rng' state. Fix: delete the backup directory.")
            self._order_rng = torch.from_numpy(np.array(state["order_rng"], copy=True)) \
                if self.shuffle else None
            self._resume = int(step)

    @property
    def num_batches(self) -> int:
        full = math.ceil(self.n / self.batch_size)
        return min(full, self.steps) if self.steps else full

    def epoch(self, device: torch.device) -> Iterator[Batch]:
        order, first = self._order(), 0
        if self._resume is not None:
            first, self._resume = self._resume, None
        def take(t, start, stop):
            if _is_strings(t):
                return t[start:stop] if order is None else t[order[start:stop].numpy()]
            part = t[start:stop] if order is None else t[order[start:stop]]
            return part.to(device, non_blocking=True) if part.device != device else part
        for i in range(first, self.num_batches):
            start, stop = i * self.batch_size, min((i + 1) * self.batch_size, self.n)
            pick = lambda t: take(t, start, stop)  # noqa: E731
            yield (map_structure(pick, self.x),
                   None if self.y is None else map_structure(pick, self.y),
                   None if self.sw is None else pick(self.sw))

    def split(self, fraction: float) -> tuple["ArrayAdapter", "ArrayAdapter"]:
        """Keras's ``validation_split``: the last ``fraction`` of samples, taken before shuffling."""
        if not 0.0 < fraction < 1.0:
            raise ConfigError(f"Expected validation_split in (0, 1). Received: {fraction!r}.")
        cut = int(self.n * (1.0 - fraction))
        if cut == 0 or cut == self.n:
            raise ConfigError(f"validation_split={fraction} leaves an empty training or "
                              f"validation set for {self.n} samples.")
        head = lambda t: t[:cut]  # noqa: E731
        tail = lambda t: t[cut:]  # noqa: E731
        def part(f):
            return ArrayAdapter(map_structure(f, self.x),
                                None if self.y is None else map_structure(f, self.y),
                                None if self.sw is None else f(self.sw), self.batch_size,
                                self.shuffle, self.steps, self.strings)
        return part(head), part(tail)


class IterableAdapter:
    """A torch ``DataLoader``, a ``Dataset`` or a Python generator of batches."""

    def __init__(self, source: Any, batch_size: int | None, shuffle: bool, steps: int | None,
                 strings: bool = False):
        if isinstance(source, torch.utils.data.Dataset) and not isinstance(
                source, torch.utils.data.IterableDataset):
            source = torch.utils.data.DataLoader(source, batch_size=batch_size or 32,
                                                 shuffle=bool(shuffle))
        self.source, self.steps, self.strings = source, steps, strings
        self._reiterable = not hasattr(source, "__next__")
        self._iterator = None if self._reiterable else source
        self.exhausted = False
        self.consumed = 0  # batches drawn from a one-shot iterator since fit began
        self._order_rng: torch.Tensor | None = None
        self._resume: tuple[Any, int] | None = None

    @property
    def num_batches(self) -> int | None:
        if self.steps:
            return self.steps
        try:
            return len(self.source)
        except TypeError:
            return None

    def position_state(self) -> dict[str, np.ndarray]:
        """What finds the current batch again: the torch RNG state the epoch's iterator was made
        with (a shuffling ``DataLoader`` draws its order from it) and the batches a one-shot
        generator has yielded."""
        state = {"consumed": np.asarray(self.consumed, dtype=np.int64)}
        if self._order_rng is not None:
            state["order_rng"] = self._order_rng.numpy()
        return state

    def restore_position(self, state: dict[str, np.ndarray], step: int) -> None:
        """Replay to a saved position now (before the caller restores the RNGs): a one-shot
        generator skips the batches it had yielded; a re-iterable source restarts the epoch with
        the saved RNG state and skips ``step`` batches."""
        if not self._reiterable:
            target = int(state.get("consumed", 0))
            for _ in range(target - self.consumed):  # this run may already have drawn a few
                next(self._iterator)
            self.consumed = target
            self._resume = (self._iterator, int(step)) if step else None
        elif step:
            if "order_rng" in state:
                torch.set_rng_state(torch.from_numpy(np.array(state["order_rng"], copy=True)))
            self._order_rng = torch.get_rng_state()
            it = iter(self.source)
            for _ in range(int(step)):
                next(it)
            self._resume = (it, int(step))

    def epoch(self, device: torch.device) -> Iterator[Batch]:
        count = 0
        if self._resume is not None:
            (it, count), self._resume = self._resume, None
        elif self._reiterable:
            self._order_rng = torch.get_rng_state()
            it = iter(self.source)
        else:
            it = self._iterator
        while self.steps is None or count < self.steps:
            try:
                batch = next(it)
            except StopIteration:
                if self.steps is not None:
                    if not self._reiterable or count == 0:
                        self._run_out()
                        return
                    it = iter(self.source)
                    continue
                if count == 0 and not self._reiterable:
                    self._run_out()
                return
            count += 1
            self.consumed += 1
            yield _unpack(batch, device, self.strings)


    def _run_out(self) -> None:
        self.exhausted = True
        warnings.warn("Your input ran out of data; interrupting training. Make sure the dataset "
                      "or generator can produce at least `steps_per_epoch * epochs` batches.",
                      stacklevel=4)


def _unpack(batch: Any, device: torch.device, strings: bool = False) -> Batch:
    if isinstance(batch, dict) and ("x" in batch or "y" in batch):
        parts = (batch.get("x"), batch.get("y"), batch.get("sample_weight"))
    elif isinstance(batch, (tuple, list)) and 1 <= len(batch) <= 3:
        parts = tuple(batch) + (None,) * (3 - len(batch))
    else:
        parts = (batch, None, None)
    def move(v):
        if v is None or (strings and _is_strings(v)):
            return v
        t = _to_tensor(v, "batch") if not isinstance(v, torch.Tensor) else v
        t = t.to(torch.float32) if t.dtype == torch.float64 else t
        return t.to(device, non_blocking=True) if t.device != device else t
    return tuple(map_structure(move, p) if p is not None else None for p in parts)


def make_adapter(x: Any, y: Any = None, sample_weight: Any = None, batch_size: int | None = 32,
                 shuffle: bool = False, steps: int | None = None, strings: bool = False):
    """Pick the adapter for ``x``; ``strings``: keep text arrays in ``x`` as numpy arrays (a
    model with a ``dtype="string"`` input, see :func:`takes_strings`)."""
    if x is None:
        raise ConfigError("Expected input data `x`. Received None.")
    from savepoint.utils.data_sequence import Sequence, SequenceEpochs
    if isinstance(x, Sequence):  # keras.utils.Sequence: batches by index, on_epoch_end after each
        if y is not None:
            raise ConfigError("`y` argument is not supported when using a Sequence as input: "
                              "its __getitem__ must return (x, y) batches itself.")
        return IterableAdapter(SequenceEpochs(x, shuffle), None, False, steps)
    if isinstance(x, (torch.utils.data.DataLoader, torch.utils.data.Dataset)) or (
            hasattr(x, "__next__") and hasattr(x, "__iter__")):
        if y is not None:
            raise ConfigError(f"`y` argument is not supported when using a {type(x).__name__} "
                              f"as input: the batches must yield (x, y) themselves.")
        return IterableAdapter(x, batch_size, shuffle, steps, strings)
    if isinstance(x, (np.ndarray, torch.Tensor, list, tuple, dict)) or np.isscalar(x):
        return ArrayAdapter(x, y, sample_weight, batch_size if batch_size is not None else 32,
                            shuffle, steps, strings)
    raise ConfigError(f"Unrecognized data type: x={type(x).__name__}. Expected a numpy array, "
                      f"a torch tensor, a list/dict of them, a torch Dataset or DataLoader, or "
                      f"a Python generator yielding (x, y) batches.")


def unpack_validation(data: Any) -> tuple[Any, Any, Any]:
    """``validation_data`` as ``(x, y)`` or ``(x, y, sample_weight)``, or an iterable source."""
    if isinstance(data, (tuple, list)) and len(data) in (2, 3) and not isinstance(
            data[0], (int, float)):
        return tuple(data) + (None,) * (3 - len(data))
    return data, None, None
