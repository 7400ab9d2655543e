"""``CheckpointOptions``: how a checkpoint save runs (synchronously or in the background).

Mirrors ``tf.train.CheckpointOptions``: ``enable_async`` (and TensorFlow's older name
``experimental_enable_async_checkpoint``) makes a save take a snapshot of the state in host
memory and write it in a background thread; ``max_in_flight`` bounds how many snapshots may wait
to be written (the next save blocks until one is done, so memory stays bounded).

Example:
    >>> opts = CheckpointOptions(experimental_enable_async_checkpoint=True)
    >>> opts.enable_async, opts.max_in_flight
    (True, 2)
    >>> CheckpointOptions.from_config(opts.get_config()) == opts
    True
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Callable

from savepoint.errors import ConfigError
from savepoint.serialization import builtin


@builtin("checkpoint_options", "checkpoint_options")
@dataclass
class CheckpointOptions:
    """Options for ``Checkpoint.save/write``, ``CheckpointManager.save``, ``save_weights`` and
    ``ModelCheckpoint``.

    Args:
        enable_async: snapshot to host memory, then write in the background.
        max_in_flight: at most this many snapshots waiting to be written (back-pressure).
        experimental_io_device: accepted for TensorFlow compatibility; files are always written
            from this process.
        experimental_enable_async_checkpoint: TensorFlow's older name for ``enable_async``.
        experimental_write_callbacks: callables run (in the background for async saves) after
            a checkpoint is committed; each takes the saved prefix. Not part of ``get_config``.

    Example:
        >>> CheckpointOptions(enable_async=True, max_in_flight=1).max_in_flight
        1
    """

    enable_async: bool = False
    max_in_flight: int = 2
    experimental_io_device: str | None = None
    experimental_enable_async_checkpoint: bool = False
    experimental_write_callbacks: list[Callable[[str], Any]] | None = field(
        default=None, compare=False)

    def __post_init__(self) -> None:
        for name in ("enable_async", "experimental_enable_async_checkpoint"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"Expected CheckpointOptions {name} to be a bool. Received "
                                  f"{getattr(self, name)!r}. Fix: pass True or False.")
        if isinstance(self.max_in_flight, bool) or not isinstance(self.max_in_flight, int) \
                or self.max_in_flight < 1:
            raise ConfigError(f"Expected CheckpointOptions max_in_flight to be a positive int. "
                              f"Received {self.max_in_flight!r}. Fix: pass e.g. "
                              f"max_in_flight=2.")
        if self.experimental_io_device is not None and \
                not isinstance(self.experimental_io_device, str):
            raise ConfigError(f"Expected CheckpointOptions experimental_io_device to be a str "
                              f"or None. Received {self.experimental_io_device!r}.")
        callbacks = self.experimental_write_callbacks
        if callbacks is not None and (not isinstance(callbacks, (list, tuple))
                                      or not all(callable(c) for c in callbacks)):
            raise ConfigError(f"Expected CheckpointOptions experimental_write_callbacks to be a "
                              f"list of callables. Received {callbacks!r}.")
        # TensorFlow keeps both names in step.
        self.enable_async = self.enable_async or self.experimental_enable_async_checkpoint
        self.experimental_enable_async_checkpoint = self.enable_async

    def get_config(self) -> dict[str, Any]:
        """Every option except the write callbacks (code is never serialized).

        Example:
            >>> CheckpointOptions().get_config()["enable_async"]
            False
        """
        return {f.name: getattr(self, f.name) for f in fields(self)
                if f.name != "experimental_write_callbacks"}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "CheckpointOptions":
        """Rebuild from ``get_config()``.

        Example:
            >>> CheckpointOptions.from_config({"enable_async": True}).enable_async
            True
        """
        return cls(**config)

    def run_write_callbacks(self, prefix: str) -> None:
        """Call every ``experimental_write_callbacks`` entry with the committed prefix.

        Example:
            >>> seen = []
            >>> opts = CheckpointOptions(experimental_write_callbacks=[seen.append])
            >>> opts.run_write_callbacks("p")
            >>> seen
            ['p']
        """
        for callback in self.experimental_write_callbacks or ():
            callback(prefix)


def resolve(options: Any = None, save_async: bool | None = None) -> CheckpointOptions:
    """``options`` (``None``, a ``CheckpointOptions`` or its config dict) as ``CheckpointOptions``,
    with ``save_async=True`` turning async on.

    Example:
        >>> resolve(None, save_async=True).enable_async
        True
        >>> resolve({"max_in_flight": 3}).max_in_flight
        3
    """
    if options is None:
        opts = CheckpointOptions()
    elif isinstance(options, CheckpointOptions):
        opts = options
    elif isinstance(options, dict):
        opts = CheckpointOptions.from_config(options)
    elif _looks_like_tf_options(options):
        opts = CheckpointOptions(enable_async=bool(getattr(options, "enable_async", False)))
    else:
        raise ConfigError(f"Expected options to be a savepoint.train.CheckpointOptions (or its "
                          f"config dict). Received {type(options).__name__}: {options!r}. Fix: "
                          f"pass savepoint.train.CheckpointOptions(enable_async=True).")
    if save_async is not None and not isinstance(save_async, bool):
        raise ConfigError(f"Expected save_async to be a bool. Received {save_async!r}.")
    if save_async and not opts.enable_async:
        opts = CheckpointOptions(**{**opts.get_config(), "enable_async": True},
                                 experimental_write_callbacks=opts.experimental_write_callbacks)
    return opts


def _looks_like_tf_options(options: Any) -> bool:
    """A real ``tf.train.CheckpointOptions`` (or a look-alike with the same attributes)."""
    return type(options).__name__ == "CheckpointOptions" and hasattr(options, "enable_async")


def is_checkpoint_options(options: Any) -> bool:
    """Whether ``options`` is checkpoint options (ours, its config dict, or TensorFlow's), as
    opposed to ``None`` or whole-model save options.

    Example:
        >>> is_checkpoint_options(CheckpointOptions()), is_checkpoint_options(None)
        (True, False)
    """
    return isinstance(options, (CheckpointOptions, dict)) or _looks_like_tf_options(options)
