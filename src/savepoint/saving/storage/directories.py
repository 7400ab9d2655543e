"""Directory-level storage: stale temporary files, whole directories committed by rename.

A killed writer leaves ``.<name>.tmp-<pid>-<hex>`` behind (a file, or a directory being
assembled). Every writer of a target first removes the temporaries of that target whose process
is dead (``remove_stale_temps_of``), so kills never pile up full-size copies. The one exception
is a directory ``commit_directory`` had set aside (``...<hex>.aside``) when the kill came between
its two renames: while the target is missing it is the only copy, so it is put back instead.

Example:
    >>> import tempfile, os
    >>> target = os.path.join(tempfile.mkdtemp(), "m")
    >>> t = temp_dir_for(target); commit_directory(t, target); os.path.isdir(target)
    True
"""

from __future__ import annotations

import os
import re

from savepoint.saving.storage.failures import storage_error
from savepoint.saving.storage.paths import (_OPEN_TEMPS, _TMP_MARKER, PathLike, _fspath, _remote,
                                            fsync_dir, is_temp_name, temp_name_for)

_ASIDE = ".aside"  # suffix of an old directory commit_directory renamed out of the way
_TEMP_TAIL = re.compile(r"^(?:\d+-)?[0-9a-f]+(?:\.aside)?$")  # after ``.<name>.tmp-``


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
    if _remote(directory) is not None:
        return []  # object stores publish whole objects: a killed writer leaves no temporary
    from savepoint.saving import storage  # the package builds on this module
    removed = [n for n in storage.listdir(directory) if is_temp_name(n) and
               os.path.join(_fspath(directory), n) not in _OPEN_TEMPS and not _writer_alive(n)]
    for name in removed:
        _discard(os.path.join(_fspath(directory), name))
    return removed


def remove_stale_temps_of(path: PathLike) -> list[str]:
    """Delete the temporaries killed writers of ``path`` left beside it; return their names.

    Only names made by ``temp_name_for(path)`` count (not those of other targets in the same
    directory), and only those of dead processes that no writer of this process has open. It
    never raises: a directory that cannot be listed or cleaned is the save's to report.

    Example:
        >>> import tempfile, os
        >>> d = tempfile.mkdtemp(); stale = os.path.join(d, ".m.h5.tmp-999999999-abc")
        >>> _ = open(stale, "wb").write(b"x"); _ = open(os.path.join(d, ".n.h5.tmp-1-abc"), "wb")
        >>> from savepoint.saving.storage import listdir
        >>> remove_stale_temps_of(os.path.join(d, "m.h5")), sorted(os.listdir(d))
        (['.m.h5.tmp-999999999-abc'], ['.n.h5.tmp-1-abc'])
    """
    if _remote(path) is not None:
        return []
    directory, name = os.path.split(_fspath(path))
    head = f".{name}{_TMP_MARKER}"
    try:
        names = sorted(n for n in os.listdir(directory or ".")
                       if n.startswith(head) and _TEMP_TAIL.match(n[len(head):]))
    except OSError:
        return []
    removed = []
    for n in names:
        full = os.path.join(directory, n)
        if full in _OPEN_TEMPS or _writer_alive(n):
            continue
        try:
            _discard(full)
        except OSError:
            continue
        removed.append(n)
    return removed


def _discard(temp: str) -> None:
    """Delete a stale temporary, or put back the old directory a killed commit set aside."""
    if temp.endswith(_ASIDE):
        directory, name = os.path.split(temp)
        target = os.path.join(directory, name[1:].rsplit(_TMP_MARKER, 1)[0])
        if not os.path.lexists(target):
            os.rename(temp, target)
            return
    from savepoint.saving import storage  # the package builds on this module
    if os.path.isdir(temp) and not os.path.islink(temp):
        storage.remove_tree(temp)
    else:
        storage.remove(temp)


def temp_dir_for(path: PathLike) -> str:
    """Create and return an empty temporary directory beside ``path`` (``.<name>.tmp-<hex>``),
    where a whole directory is assembled before :func:`commit_directory` puts it in place.

    Example:
        >>> import tempfile, os
        >>> d = temp_dir_for(os.path.join(tempfile.mkdtemp(), "my_model"))
        >>> from savepoint.saving.storage import listdir
        >>> is_temp_name(os.path.basename(d)), listdir(d)
        (True, [])
    """
    remote = _remote(path)
    if remote is not None:  # assembled on the local disk, uploaded by commit_directory
        return remote.temp_dir_for(os.fspath(path))
    from savepoint.saving import storage  # the package builds on this module
    path = _fspath(path)
    storage.makedirs(os.path.dirname(path))
    remove_stale_temps_of(path)
    temp = temp_name_for(path)
    try:
        os.mkdir(temp)
    except OSError as e:
        raise storage_error(e, path) from e
    _OPEN_TEMPS.add(temp)  # live until committed or removed: same-process writers keep off it
    return temp


def _fsync_tree(directory: str) -> None:
    for parent, _, _ in os.walk(directory):
        fsync_dir(parent)


def commit_directory(temp_dir: PathLike, path: PathLike, manifest: "str | None" = None) -> None:
    """Put the finished directory ``temp_dir`` in place as ``path`` by renaming (on an object
    store: by uploading it, with the top-level ``manifest`` file, by default the one written
    last, removed first and put last; see ``storage/remote.py``).

    An existing ``path`` is renamed aside first, the new directory renamed in, then the old one
    deleted: a reader sees the old directory or the new one, never a mix. If the second rename
    fails the old directory is renamed back. (A crash between the two renames leaves the old
    directory beside ``path`` under a ``.tmp-`` name, not lost.)

    Example:
        >>> import tempfile, os
        >>> target = os.path.join(tempfile.mkdtemp(), "m")
        >>> from savepoint.saving.storage import write_bytes_atomically
        >>> t = temp_dir_for(target); write_bytes_atomically(os.path.join(t, "a"), b"1")
        >>> from savepoint.saving.storage import listdir
        >>> commit_directory(t, target); listdir(target)
        ['a']
    """
    remote = _remote(path)
    if remote is not None:
        return remote.commit_directory(os.fspath(temp_dir), os.fspath(path), manifest)
    temp_dir, path = _fspath(temp_dir), _fspath(path)
    try:
        _swap_in(temp_dir, path)
    except OSError as e:
        raise storage_error(e, path) from e
    _OPEN_TEMPS.discard(temp_dir)


def _swap_in(temp_dir: str, path: str) -> None:
    _fsync_tree(temp_dir)
    parent = os.path.dirname(path)
    if not os.path.lexists(path):
        os.rename(temp_dir, path)
        fsync_dir(parent)
        return
    aside = temp_name_for(path) + _ASIDE
    _OPEN_TEMPS.add(aside)  # the only copy until the new one is in: no cleanup may touch it
    try:
        os.rename(path, aside)
        try:
            os.rename(temp_dir, path)
        except BaseException:
            os.rename(aside, path)
            raise
    finally:
        _OPEN_TEMPS.discard(aside)
    fsync_dir(parent)
    try:
        _discard(aside)
    except OSError:
        pass  # committed; the next save to ``path`` removes the leftover


def list_tree(directory: PathLike) -> list[str]:
    """Every file below ``directory`` as sorted '/'-separated relative paths.

    Example:
        >>> import tempfile, os
        >>> from savepoint.saving.storage import makedirs
        >>> d = tempfile.mkdtemp(); makedirs(os.path.join(d, "a"))
        >>> from savepoint.saving.storage import write_bytes_atomically
        >>> write_bytes_atomically(os.path.join(d, "a", "b"), b""); list_tree(d)
        ['a/b']
    """
    remote = _remote(directory)
    if remote is not None:
        return remote.list_tree(os.fspath(directory))
    directory = _fspath(directory)
    found = []
    for parent, _, names in os.walk(directory):
        for name in names:
            found.append(os.path.relpath(os.path.join(parent, name), directory)
                         .replace(os.sep, "/"))
    return sorted(found)
