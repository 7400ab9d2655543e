"""``fingerprint.json``: the sha256 of every file of a model directory, written last, checked first.

A fingerprint catches truncation, bit rot and edits made after saving (anyone can recompute
it, so it is an integrity check, not a signature: loading stays safe by never running code).
The fingerprint covers itself too: ``self_sha256`` is the sha256 of its canonical JSON
(``{"algorithm", "files"}``, sorted keys, no spaces), so damage to it is never mistaken for a
damaged model file (fingerprints without the field, from older savepoint versions, still load).
sha256 runs at a few hundred MB/s, so big files are hashed in helper threads (hashlib releases
the GIL): ``Pending`` lets a save hash the variables while it writes the rest, and a load verify
every file while it rebuilds the model (``verify_in_background``).

Example:
    >>> import tempfile, os
    >>> from savepoint.saving import storage
    >>> d = tempfile.mkdtemp(); storage.write_bytes_atomically(os.path.join(d, "a.txt"), b"hi")
    >>> write_fingerprint(d); verify_fingerprint(d)
    ['a.txt']
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from typing import Any, Callable

from savepoint.errors import FormatError
from savepoint.saving import storage

FINGERPRINT_FILE = "fingerprint.json"
_CHUNK = 8 << 20


def sha256_file(path: str) -> str:
    """The hex sha256 of the file at ``path`` (read through a memory map, in chunks).

    Example:
        >>> import tempfile, os
        >>> from savepoint.saving import storage
        >>> p = os.path.join(tempfile.mkdtemp(), "x"); storage.write_bytes_atomically(p, b"")
        >>> sha256_file(p)[:8]
        'e3b0c442'
    """
    digest = hashlib.sha256()
    view = storage.map_file(path)
    for start in range(0, len(view), _CHUNK):
        digest.update(view[start:start + _CHUNK])
    return digest.hexdigest()


def list_files(directory: str) -> list[str]:
    """Every file below ``directory`` as sorted '/'-separated relative paths (not the
    fingerprint itself)."""
    return [rel for rel in storage.list_tree(directory) if rel != FINGERPRINT_FILE]


class Pending:
    """``fn()`` running in a helper thread; ``result()`` waits and returns or re-raises.

    Example:
        >>> Pending(lambda: 2 + 2).result()
        4
    """

    def __init__(self, fn: Callable[[], Any]):
        self._value: Any = None
        self._error: BaseException | None = None

        def run() -> None:
            try:
                self._value = fn()
            except BaseException as e:  # handed to result()
                self._error = e
        self._thread = threading.Thread(target=run, name="savepoint-fingerprint", daemon=True)
        self._thread.start()

    def result(self) -> Any:
        """Wait for ``fn``; its return value, or its exception raised here."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value


def write_fingerprint(directory: str, known: dict[str, Pending] | None = None) -> None:
    """Write ``fingerprint.json``: ``{"algorithm": "sha256", "files": {path: hexdigest}}``.
    ``known`` maps relative paths to digests already being computed (``Pending`` sha256_file)."""
    known = known or {}
    files = {rel: known[rel].result() if rel in known else
             sha256_file(os.path.join(directory, rel)) for rel in list_files(directory)}
    document = {"algorithm": "sha256", "files": files}
    document["self_sha256"] = _self_sha256(document)
    text = json.dumps(document, indent=1, sort_keys=True)
    storage.replace_text_atomically(os.path.join(directory, FINGERPRINT_FILE), text + "\n")


def verify_fingerprint(directory: str, trust_checksummed: tuple[str, ...] = ()) -> list[str]:
    """Check every file against ``fingerprint.json``; return the verified paths.

    Files whose relative path starts with one of ``trust_checksummed`` are checked for presence
    only: ``load_model`` passes the variables' data shards, whose every tensor the bundle reader
    verifies by crc32c as it reads it, so hashing them again would read 1 GB twice.
    ``savepoint.train.verify`` checks them all. Raises ``FormatError`` naming the first missing,
    extra or changed file.
    """
    recorded = _read(directory)
    present = list_files(directory)
    for rel in sorted(recorded):
        if rel not in present:
            raise FormatError(
                f"Model directory {directory!r} is incomplete: {rel!r} is listed in "
                f"{FINGERPRINT_FILE} but missing. Fix: copy the whole directory again or re-save "
                f"the model.")
    for rel in present:
        if rel not in recorded:
            raise FormatError(
                f"Model directory {directory!r} holds {rel!r}, which {FINGERPRINT_FILE} does not "
                f"list (a file added after saving). Fix: remove it, or re-save the model.")
        if trust_checksummed and rel.startswith(trust_checksummed):
            continue
        if sha256_file(os.path.join(directory, rel)) != recorded[rel]:
            raise FormatError(
                f"File {rel!r} in model directory {directory!r} does not match its sha256 in "
                f"{FINGERPRINT_FILE}: it was truncated, corrupted or modified after saving. "
                f"Fix: copy the directory again from its source or re-save the model.")
    return present


def verify_in_background(directory: str, trust_checksummed: tuple[str, ...] = ()) -> Pending:
    """``verify_fingerprint`` in a helper thread (``result()`` raises its error)."""
    return Pending(lambda: verify_fingerprint(directory, trust_checksummed))


def _self_sha256(document: dict) -> str:
    canonical = json.dumps({"algorithm": document.get("algorithm"), "files": document.get("files")},
                           sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _read(directory: str) -> dict[str, str]:
    path = os.path.join(directory, FINGERPRINT_FILE)
    raw = storage.read_bytes(path)  # a directory or FIFO in its place: storage's own error
    try:
        data = json.loads(raw.decode("utf-8"))
        files = data["files"]
        if data.get("algorithm") != "sha256" or not isinstance(files, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in files.items()):
            raise ValueError("unexpected fields")
        if "self_sha256" in data and data["self_sha256"] != _self_sha256(data):
            raise ValueError("its content does not match its own self_sha256 (damaged)")
    except (ValueError, KeyError, TypeError, UnicodeDecodeError, RecursionError) as e:
        raise FormatError(
            f"Expected {path!r} to be a savepoint fingerprint (JSON with algorithm 'sha256' and "
            f"a 'files' map). Received an unreadable file ({e}). Fix: re-save the model.") from None
    return files
