"""Rewriting one checkpoint prefix in place without ever tearing it, and reading it back whole.

The tutorial's ``ModelCheckpoint("training_1/cp.ckpt")`` writes the same prefix every epoch. A
bundle is two files (``P.index`` and ``P.data-00000-of-00001``) and no filesystem renames two files
at once, so the new bundle is first written complete under a *staging* prefix beside ``P``
(``P.staged-0`` or ``P.staged-1``) and only then linked over ``P``'s files. The states and
transitions (docs/RELIABILITY.md has the full argument)::

    save of new contents N into P (old contents O), state file in P's directory:
      1. pick the staging prefix S that is not the "truth" (below); delete S's stale files
      2. write S whole (data, then index; each a temp file renamed in)   P=O whole  state->P or T
      3. state file -> S                                                 latest = S (N)
      4. P.data  <- link of S.data                                       P torn (N data, O index)
      5. P.index <- link of S.index                                      P=N whole
      6. state file -> P                                                 latest = P (N)
      7. delete both staging prefixes (index first, then data)

The *truth* of the family is what a reader of ``P`` falls back to when ``P`` is torn: the staging
prefix the state file names, else the newest staging prefix whose index exists. Step 1 never
deletes it and the state file never names ``P`` while ``P`` is torn, so after any crash, and any
crash during the save that follows, ``P`` itself or the truth is a whole bundle holding the old or
the new contents; the state file always names a whole bundle.

A reader (:func:`read_whole`) tries the prefix it was given and, only if that fails as torn or
missing, the rest of the family in that order. It pins files by opening them, so a concurrent
save cannot change what it reads; if a concurrent save removed what it was about to read, it
tries the family again (a bounded number of rounds).

Example:
    >>> import numpy as np, tempfile, os
    >>> from savepoint.saving.formats.tf_checkpoint.reader import BundleReader
    >>> d = tempfile.mkdtemp(); p = os.path.join(d, "cp.ckpt")
    >>> for value in (1.0, 2.0):
    ...     save_bundle(p, {"w": np.full(2, value, np.float32)}, state_dir=d)
    >>> read_whole(p, lambda q: BundleReader(q).get_tensor("w").tolist())
    [2.0, 2.0]
    >>> sorted(os.listdir(d))
    ['checkpoint', 'cp.ckpt.data-00000-of-00001', 'cp.ckpt.index']
"""

from __future__ import annotations

import os
import re
import threading
from typing import Any, Callable, Mapping, Optional, TypeVar

from savepoint.errors import CheckpointNotFoundError, FormatError
from savepoint.saving import storage
from savepoint.saving.formats.tf_checkpoint import layout, state_file
from savepoint.saving.formats.tf_checkpoint.bundle import write_bundle

T = TypeVar("T")
_STAGED = re.compile(r"^(?P<base>.+)\.staged-[01]$")
_READ_ROUNDS = 8  # each failed round needs a whole concurrent save to have happened meanwhile
_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


def staging_prefixes(prefix: str) -> tuple[str, str]:
    """The two staging prefixes of ``prefix``.

    Example:
        >>> staging_prefixes("training_1/cp.ckpt")
        ('training_1/cp.ckpt.staged-0', 'training_1/cp.ckpt.staged-1')
    """
    return f"{prefix}.staged-0", f"{prefix}.staged-1"


def family_base(prefix: str) -> str:
    """The prefix a staging prefix stands in for (any other prefix is its own base).

    Example:
        >>> family_base("d/cp.ckpt.staged-1"), family_base("d/cp-0005.ckpt")
        ('d/cp.ckpt', 'd/cp-0005.ckpt')
    """
    match = _STAGED.match(prefix)
    return match.group("base") if match else prefix


def _has_index(prefix: str) -> bool:
    return storage.exists(layout.index_path(prefix))


def _state_named(base: str, state_dir: Optional[str]) -> Optional[str]:
    """The staging prefix of ``base`` that the state file names, if it names one."""
    if state_dir is None:
        return None
    try:
        state = state_file.get_checkpoint_state(state_dir)
    except (FormatError, CheckpointNotFoundError):
        return None  # a damaged state file names nothing we can trust; readers report it
    if state is None:
        return None
    named = os.path.normpath(state.model_checkpoint_path)
    for staged in staging_prefixes(base):
        if os.path.normpath(staged) == named:
            return staged
    return None


def _newest_staged(base: str) -> list[str]:
    """Staging prefixes of ``base`` whose index exists, newest index first."""
    found = []
    for staged in staging_prefixes(base):
        stamp = storage.mtime_ns(layout.index_path(staged))  # None: no index
        if stamp is not None:
            found.append((stamp, staged))
    return [staged for _, staged in sorted(found, reverse=True)]


def _truth(base: str, state_dir: Optional[str]) -> Optional[str]:
    """The staging prefix a reader of a torn ``base`` falls back to first."""
    named = _state_named(base, state_dir)
    if named is not None:
        return named
    newest = _newest_staged(base)
    return newest[0] if newest else None


def candidates(prefix: str) -> list[str]:
    """Prefixes to try, in order, for a read of ``prefix``: itself, then its family's truth,
    the base prefix and the other staging prefixes.

    Example:
        >>> candidates("/nonexistent/cp.ckpt")
        ['/nonexistent/cp.ckpt']
    """
    base = family_base(prefix)
    state_dir = os.path.dirname(base) or "."
    order = [prefix, _state_named(base, state_dir), base, *_newest_staged(base)]
    seen: list[str] = []
    for candidate in order:
        if candidate is not None and candidate not in seen:
            seen.append(candidate)
    return seen


def read_whole(prefix: str, read: Callable[[str], T]) -> T:
    """``read(prefix)``, or, when ``prefix`` is torn or gone because a save of its family was
    interrupted or is running, ``read`` of the first whole member of the family.

    ``read`` must validate everything it returns and change nothing when it raises (a restore
    checks every checksum before assigning). Only ``FormatError`` and
    ``CheckpointNotFoundError`` move on to the next candidate; if no candidate reads, the error
    of ``prefix`` itself is raised.

    Example:
        >>> read_whole("/nonexistent/cp.ckpt", lambda p: p)
        '/nonexistent/cp.ckpt'
    """
    first: Optional[BaseException] = None
    for _ in range(_READ_ROUNDS):
        before = _identity(prefix)
        try:
            return read(prefix)  # the common case: no family to look up
        except (FormatError, CheckpointNotFoundError) as e:
            first = first or e
        others = candidates(prefix)[1:]
        for candidate in others:
            try:
                return read(candidate)
            except (FormatError, CheckpointNotFoundError) as e:
                first = first or e
        if not others and _identity(prefix) == before:
            break  # no staging copy and no concurrent rewrite: the error is real
    assert first is not None
    raise first


def _identity(prefix: str) -> tuple:
    """Which files ``prefix`` names right now: a rewrite links new inodes (or, on an object
    store, copies new objects with new ETags) in."""
    return tuple(storage.identity(path)
                 for path in (layout.index_path(prefix), layout.data_path(prefix, 0, 1)))


def _remove_bundle(prefix: str) -> None:
    """Delete a single-shard bundle we staged: index first, so a half-removed one never looks
    whole."""
    storage.remove(layout.index_path(prefix))
    storage.remove(layout.data_path(prefix, 0, 1))


def _lock_for(base: str) -> threading.Lock:
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(os.path.abspath(base), threading.Lock())


def save_bundle(prefix: str, tensors: Mapping[str, Any], state_dir: Optional[str] = None) -> None:
    """Write ``tensors`` at ``prefix`` so that it is never torn (see the module docstring), and
    with ``state_dir`` make it that directory's latest checkpoint.

    Example:
        >>> import numpy as np, tempfile, os
        >>> d = tempfile.mkdtemp(); p = os.path.join(d, "cp.ckpt")
        >>> save_bundle(p, {"w": np.zeros(1, np.float32)}, state_dir=d)
        >>> state_file.latest_checkpoint(d) == p
        True
    """
    prefix = os.fspath(prefix)
    with _lock_for(prefix):  # one process, two threads (async and sync saves): one at a time
        if not _has_index(prefix) and not _newest_staged(prefix):
            write_bundle(prefix, tensors)  # nothing to tear: the first save of this prefix
            if state_dir is not None:
                state_file.write_state(state_dir, prefix, [prefix])
            return
        _rewrite(prefix, tensors, state_dir)


def _rewrite(prefix: str, tensors: Mapping[str, Any], state_dir: Optional[str]) -> None:
    truth = _truth(prefix, state_dir)
    stage = next(s for s in staging_prefixes(prefix) if s != truth)
    _remove_bundle(stage)
    write_bundle(stage, tensors)
    if state_dir is not None:
        state_file.write_state(state_dir, stage, [stage])
    # one directory fsync for both links: until it, the state file names ``stage`` either way
    storage.link_replace(layout.data_path(stage, 0, 1), layout.data_path(prefix, 0, 1),
                         sync_dir=False)
    storage.link_replace(layout.index_path(stage), layout.index_path(prefix))
    if state_dir is not None:
        state_file.write_state(state_dir, prefix, [prefix])
    for staged in staging_prefixes(prefix):
        _remove_bundle(staged)
