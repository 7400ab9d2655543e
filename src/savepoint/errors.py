"""The exception hierarchy: every error savepoint raises on purpose is a ``SavepointError``."""

from __future__ import annotations


class SavepointError(Exception):
    """Base class of every error savepoint raises on purpose.

    Example:
        >>> try:
        ...     raise ShapeError("Expected (None, 784). Received (None, 28).")
        ... except SavepointError as e:
        ...     print(type(e).__name__)
        ShapeError
    """


class ShapeError(SavepointError, ValueError):
    """An input or a variable has the wrong shape."""


class DTypeError(SavepointError, TypeError):
    """An input has a dtype savepoint cannot use."""


class ConfigError(SavepointError, ValueError):
    """A bad argument, alias or configuration (unknown name, wrong type, wrong value)."""


class NotCompiledError(SavepointError, RuntimeError):
    """``fit``/``evaluate`` called before ``compile``."""


class NotBuiltError(SavepointError, RuntimeError):
    """A model or layer was asked for its weights before it knows its input shape."""


class GraphModeError(SavepointError, RuntimeError):
    """A TensorFlow graph-mode API (``K.gradients``) called in eager mode, where tf.keras 2
    raises too; the message names the torch idiom that replaces it."""


class FormatError(SavepointError, ValueError):
    """A file is not in the format it claims to be, or is damaged."""


class CheckpointNotFoundError(SavepointError, FileNotFoundError):
    """A path or prefix names no checkpoint."""


class UnknownObjectError(SavepointError, ValueError):
    """A configuration names a class or function savepoint cannot resolve."""


class OverwriteError(SavepointError, FileExistsError):
    """A save would replace an existing file and ``overwrite=False`` was passed."""


class AsyncSaveError(SavepointError, RuntimeError):
    """A checkpoint save running in the background failed; ``__cause__`` is the original error."""


class StorageError(SavepointError, OSError):
    """Writing or reading a file failed (disk full, read-only file system, I/O error,
    permissions); ``errno`` is the system's code, ``__cause__`` the original ``OSError``, and a
    failed write leaves the previous file, if any, intact."""


class MissingDependencyError(SavepointError, ImportError):
    """An optional package or program a function needs (pydot, graphviz, Pillow) is missing."""
