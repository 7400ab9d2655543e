"""OS failures as ``StorageError``s that name the path, the reason and the fix.

Example:
    >>> import errno
    >>> read_error(OSError(errno.EACCES, "Permission denied"), "/d/x").errno == errno.EACCES
    True
"""

from __future__ import annotations

import errno

from savepoint.errors import StorageError


def storage_error(error: OSError, path: str) -> StorageError:
    """``error`` (a failed write, e.g. ENOSPC) as a ``StorageError`` naming ``path`` and a fix.

    Example:
        >>> import errno
        >>> e = storage_error(OSError(errno.ENOSPC, "No space left on device"), "/d/cp.index")
        >>> e.errno == errno.ENOSPC and "Could not write '/d/cp.index'" in str(e)
        True
    """
    fix = {errno.ENOSPC: "free space on that device or save to another directory",
           errno.EROFS: "save to a writable filesystem (this one is mounted read-only)",
           errno.EISDIR: "remove the directory in the way or choose another path",
           }.get(error.errno or 0, "check the path, its permissions and the device")
    return StorageError(error.errno, f"Could not write {path!r}: {_reason(error)}. Nothing was "
                        f"replaced: the previous file, if any, is intact. Fix: {fix}, then save "
                        f"again.")


def read_error(error: OSError, path: str) -> StorageError:
    """``error`` (a failed read, e.g. EIO or EACCES) as a ``StorageError`` naming ``path``.

    Example:
        >>> import errno
        >>> e = read_error(OSError(errno.EIO, "Input/output error"), "/d/cp.index")
        >>> e.errno == errno.EIO and "Could not read '/d/cp.index'" in str(e)
        True
    """
    return StorageError(error.errno, f"Could not read {path!r}: {_reason(error)}. Fix: check "
                        f"the path, its permissions and the device, then try again.")


def _reason(error: OSError) -> str:
    code = errno.errorcode.get(error.errno or 0, "")
    return f"{error.strerror or error}{f' ({code})' if code else ''}"
