"""``Callback`` with every Keras hook, ``CallbackList``, ``History`` and ``ProgbarLogger``."""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from savepoint.utils.progbar import Progbar

_BATCH_HOOKS = ("on_batch_begin", "on_batch_end", "on_train_batch_begin", "on_train_batch_end",
                "on_test_batch_begin", "on_test_batch_end", "on_predict_batch_begin",
                "on_predict_batch_end")


class Callback:
    """Base class of callbacks: override the hooks you need; ``self.model`` is set by ``fit``.

    Example:
        >>> class Count(Callback):
        ...     def on_epoch_end(self, epoch, logs=None): print(epoch, sorted(logs))
    """

    def __init__(self) -> None:
        self.model = None
        self.params: dict = {}

    def set_model(self, model: Any) -> None:
        self.model = model

    def set_params(self, params: dict) -> None:
        self.params = params

    def on_batch_begin(self, batch, logs=None): pass
    def on_batch_end(self, batch, logs=None): pass
    def on_epoch_begin(self, epoch, logs=None): pass
    def on_epoch_end(self, epoch, logs=None): pass
    def on_train_batch_begin(self, batch, logs=None): self.on_batch_begin(batch, logs)
    def on_train_batch_end(self, batch, logs=None): self.on_batch_end(batch, logs)
    def on_test_batch_begin(self, batch, logs=None): pass
    def on_test_batch_end(self, batch, logs=None): pass
    def on_predict_batch_begin(self, batch, logs=None): pass
    def on_predict_batch_end(self, batch, logs=None): pass
    def on_train_begin(self, logs=None): pass
    def on_train_end(self, logs=None): pass
    def on_test_begin(self, logs=None): pass
    def on_test_end(self, logs=None): pass
    def on_predict_begin(self, logs=None): pass
    def on_predict_end(self, logs=None): pass

    def _implements(self, hook: str) -> bool:
        """Whether this callback does something in ``hook`` (batch hooks are skipped if not)."""
        if self._overrides(hook):
            return True
        legacy = {"on_train_batch_begin": "on_batch_begin", "on_train_batch_end": "on_batch_end"}
        return hook in legacy and self._overrides(legacy[hook])

    def _overrides(self, hook: str) -> bool:
        # A hook set on the instance (LambdaCallback) counts as much as one defined by a subclass.
        return hook in self.__dict__ or getattr(type(self), hook) is not getattr(Callback, hook)


class CallbackList:
    """Dispatches each hook to every callback; skips batch hooks nobody implements."""

    def __init__(self, callbacks: Iterable[Callback] | None = None, model: Any = None,
                 params: dict | None = None):
        self.callbacks = list(callbacks or [])
        for cb in self.callbacks:
            if not isinstance(cb, Callback):
                from savepoint.errors import ConfigError
                raise ConfigError(f"Expected callbacks to be savepoint Callback instances. "
                                  f"Received: {cb!r} of type {type(cb).__name__}.")
            if model is not None:
                cb.set_model(model)
            if params is not None:
                cb.set_params(params)
        self._wants = {hook: [cb for cb in self.callbacks if cb._implements(hook)]
                       for hook in _BATCH_HOOKS}

    def wants(self, hook: str) -> bool:
        return bool(self._wants[hook])

    def _call_batch(self, hook: str, batch: int, logs: Any) -> None:
        logs = {} if logs is None else logs
        for cb in self._wants[hook]:
            getattr(cb, hook)(batch, logs)

    def on_train_batch_begin(self, batch, logs=None): self._call_batch("on_train_batch_begin", batch, logs)
    def on_train_batch_end(self, batch, logs=None): self._call_batch("on_train_batch_end", batch, logs)
    def on_test_batch_begin(self, batch, logs=None): self._call_batch("on_test_batch_begin", batch, logs)
    def on_test_batch_end(self, batch, logs=None): self._call_batch("on_test_batch_end", batch, logs)
    def on_predict_batch_begin(self, batch, logs=None): self._call_batch("on_predict_batch_begin", batch, logs)
    def on_predict_batch_end(self, batch, logs=None): self._call_batch("on_predict_batch_end", batch, logs)

    def __getattr__(self, hook: str):
        if not hook.startswith("on_"):
            raise AttributeError(hook)
        takes_index = "epoch" in hook or "batch" in hook

        def dispatch(*args: Any, logs: Any = None) -> None:
            # As in Keras, every callback gets a logs dict, never None.
            index = list(args[:1]) if takes_index else []
            rest = args[1:] if takes_index else args
            logs = rest[0] if rest else logs
            args = index + [{} if logs is None else logs]
            for cb in self.callbacks:
                getattr(cb, hook)(*args)
        return dispatch


class History(Callback):
    """Records every epoch's logs in ``history`` (``fit`` returns it).

    Example:
        >>> h = History(); h.on_train_begin(); h.on_epoch_end(0, {"loss": 1.0}); h.history
        {'loss': [1.0]}
    """

    def __init__(self) -> None:
        super().__init__()
        self.history: dict[str, list] = {}
        self.epoch: list[int] = []

    def on_train_begin(self, logs=None):
        self.epoch = []
        self.history = {}

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)
        if self.model is not None:
            self.model.history = self


class ProgbarLogger(Callback):
    """Prints ``Epoch 1/10`` and the Keras progress bar (verbose 1) or one line (verbose 2).

    ``fit``/``evaluate``/``predict`` add one when ``verbose`` is not 0. On a terminal the bar is
    redrawn in place; on a pipe or file only each epoch's final line is written. Validation
    inside ``fit`` is silent (its ``val_`` metrics end the epoch's line).

    Example:
        >>> import io
        >>> out = io.StringIO(); bar = ProgbarLogger(stream=out)
        >>> bar.set_params({"verbose": 2, "epochs": 1, "steps": 4})
        >>> bar.on_train_begin(); bar.on_epoch_begin(0)
        >>> bar.on_train_batch_end(3, {"loss": 0.5}); bar.on_epoch_end(0, {"loss": 0.25})
        >>> out.getvalue().split(" - ")[0], out.getvalue().split(" - ")[2]
        ('4/4', 'loss: 0.2500')
    """

    def __init__(self, count_mode: str = "steps", verbose: int = 1, stream: Any = None):
        super().__init__()
        self.verbose, self.stream = verbose, stream
        self.progbar: Progbar | None = None
        self.seen = 0
        self.epochs = 1
        self._called_in_fit = False

    def set_params(self, params):
        super().set_params(params)
        self.verbose = params.get("verbose", self.verbose)
        self.epochs = params.get("epochs", 1)
        self.target = params.get("steps")

    def _new_bar(self, target):
        self.seen = 0
        self.progbar = Progbar(target, verbose=self.verbose, stream=self.stream)

    def on_train_begin(self, logs=None):
        # Inside fit, validation is silent: the epoch's line shows the val_ metrics instead.
        self._called_in_fit = True

    def on_train_end(self, logs=None):
        self._called_in_fit = False

    def on_epoch_begin(self, epoch, logs=None):
        self._new_bar(self.params.get("steps"))
        if self.verbose and self.epochs > 1:
            print(f"Epoch {epoch + 1}/{self.epochs}", file=self.progbar.stream, flush=True)

    def on_train_batch_end(self, batch, logs=None):
        self.seen = batch + 1
        self.progbar.update(self.seen, logs, finalize=False)

    def on_epoch_end(self, epoch, logs=None):
        self.progbar.update(self.seen, logs, finalize=True)

    def on_test_begin(self, logs=None):
        if not self._train_running():
            self._new_bar(self.params.get("steps"))

    def on_test_batch_end(self, batch, logs=None):
        if not self._train_running():
            self.seen = batch + 1
            self.progbar.update(self.seen, logs, finalize=False)

    def on_test_end(self, logs=None):
        if not self._train_running():
            self.progbar.update(self.seen, logs, finalize=True)

    def on_predict_begin(self, logs=None):
        self._new_bar(self.params.get("steps"))

    def on_predict_batch_end(self, batch, logs=None):
        self.seen = batch + 1
        self.progbar.update(self.seen, None, finalize=False)

    def on_predict_end(self, logs=None):
        self.progbar.update(self.seen, None, finalize=True)

    def _train_running(self) -> bool:
        return self._called_in_fit


class LazyLogs(Mapping):
    """Batch logs whose values are computed (one host sync each) only when read.

    The values follow the live metrics: read them inside the hook, or keep ``dict(logs)``.

    Example:
        >>> logs = LazyLogs({"loss": lambda: 0.5}); dict(logs)
        {'loss': 0.5}
    """

    def __init__(self, sources: dict[str, Any]):
        self._sources = sources

    def __getitem__(self, key: str) -> float:
        value = self._sources[key]
        value = value() if callable(value) else value
        if hasattr(value, "numel") and value.numel() != 1:  # a per-class metric: numpy
            return value.detach().cpu().numpy()
        return float(value)

    def __iter__(self):
        return iter(self._sources)

    def __len__(self) -> int:
        return len(self._sources)

    def __repr__(self) -> str:
        return repr(dict(self.items()))
