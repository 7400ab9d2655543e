"""Directory-level storage: stale temporary files, whole directories committed by rename.

Example:
    >>> import tempfile, os
    >>> target = os.path.join(tempfile.mkdtemp(), "m")
    >>> t = temp_dir_for(target); commit_directory(t, target); os.path.isdir(target)
    True
"""

from __future__ import annotations

import os

from savepoint.saving.storage import (_OPEN_TEMPS, _TMP_MARKER, PathLike, _fspath, fsync_dir,
                                      is_temp_name, listdir, makedirs, remove, remove_tree,
                                      temp_name_for, write_bytes_atomically)


def _writer_alive(name: str) -> bool:
    """Whether another running process may still be writing the temporary file ``name``."""
    pid_text, sep, _ = name.rsplit(_TMP_MARKER, 1)[1].partition("-")
    if not sep or not pid_text.isdigit() or int(pid_text) == os.getpid():
        return False  # no pid (older name), or ours: only our open writers are live
    try:
        os.kill(int(pid_text), 0)
    except PermissionError:
        return True
    except (OSError, OverflowError):
        return False
    return True


def remove_stale_temp_files(directory: PathLike) -> list[str]:
    """Delete temporary files a crashed writer left in ``directory``; return their names.
    Files of writers still open in this process, or named by a process still running, stay.

    Example:
        >>> import tempfile
        >>> remove_stale_temp_files(tempfile.mkdtemp())
        []
    """
    removed = [n for n in listdir(directory) if is_temp_name(n) and
               os.path.join(_fspath(directory), n) not in _OPEN_TEMPS and not _writer_alive(n)]
    for name in removed:
        full = os.path.join(_fspath(directory), name)
        remove_tree(full) if os.path.isdir(full) else remove(full)
    return removed


def temp_dir_for(path: PathLike) -> str:
    """Create and return an empty temporary directory beside ``path`` (``.<name>.tmp-<hex>``),
    where a whole directory is assembled before :func:`commit_directory` puts it in place.

    Example:
        >>> import tempfile, os
        >>> d = temp_dir_for(os.path.join(tempfile.mkdtemp(), "my_model"))
        >>> is_temp_name(os.path.basename(d)), listdir(d)
        (True, [])
    """
    path = _fspath(path)
    makedirs(os.path.dirname(path))
    temp = temp_name_for(path)
    os.mkdir(temp)
    return temp


def _fsync_tree(directory: str) -> None:
    for parent, _, _ in os.walk(directory):
        fsync_dir(parent)


def commit_directory(temp_dir: PathLike, path: PathLike) -> None:
    """Put the finished directory ``temp_dir`` in place as ``path`` by renaming.

    An existing ``path`` is renamed aside first, the new directory renamed in, then the old one
    deleted: a reader sees the old directory or the new one, never a mix. If the second rename
    fails the old directory is renamed back. (A crash between the two renames leaves the old
    directory beside ``path`` under a ``.tmp-`` name, not lost.)

    Example:
        >>> import tempfile, os
        >>> target = os.path.join(tempfile.mkdtemp(), "m")
        >>> t = temp_dir_for(target); write_bytes_atomically(os.path.join(t, "a"), b"1")
        >>> commit_directory(t, target); listdir(target)
        ['a']
    """
    temp_dir, path = _fspath(temp_dir), _fspath(path)
    _fsync_tree(temp_dir)
    parent = os.path.dirname(path)
    if not os.path.lexists(path):
        os.rename(temp_dir, path)
        fsync_dir(parent)
        return
    aside = temp_name_for(path)
    os.rename(path, aside)
    try:
        os.rename(temp_dir, path)
    except BaseException:
        os.rename(aside, path)
        raise
    fsync_dir(parent)
    if os.path.isdir(aside) and not os.path.islink(aside):
        remove_tree(aside)
    else:
        os.remove(aside)


def list_tree(directory: PathLike) -> list[str]:
    """Every file below ``directory`` as sorted '/'-separated relative paths.

    Example:
        >>> import tempfile, os
        >>> d = tempfile.mkdtemp(); makedirs(os.path.join(d, "a"))
        >>> write_bytes_atomically(os.path.join(d, "a", "b"), b""); list_tree(d)
        ['a/b']
    """
    directory = _fspath(directory)
    found = []
    for parent, _, names in os.walk(directory):
        for name in names:
            found.append(os.path.relpath(os.path.join(parent, name), directory)
                         .replace(os.sep, "/"))
    return sorted(found)
