"""``get_file``: download a URL once into savepoint's cache, verified by sha256/md5, extracted
on request; offline it fails with the URL and the cache path to fill by hand."""

from __future__ import annotations

import hashlib
import os
import socket
import tarfile
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile

from savepoint.errors import ConfigError, FormatError, StorageError
from savepoint.saving import storage

CONNECT_TIMEOUT_S = 10.0
_CHUNK = 1 << 16


def savepoint_home() -> str:
    """savepoint's cache root, Keras's ``~/.keras``: ``$SAVEPOINT_HOME`` or ``~/.savepoint``.

    Example:
        >>> os.path.isabs(savepoint_home())
        True
    """
    return os.environ.get("SAVEPOINT_HOME") or os.path.join(os.path.expanduser("~"),
                                                            ".savepoint")


def hash_file(fpath: str, algorithm: str = "sha256") -> str:
    """Hex digest of a file (``"sha256"`` or ``"md5"``), read in chunks.

    Example:
        >>> import tempfile
        >>> p = os.path.join(tempfile.mkdtemp(), "x"); _ = open(p, "wb").write(b"abc")
        >>> hash_file(p, "md5")
        '900150983cd24fb0d6963f7d28e17f72'
    """
    digest = hashlib.sha256() if algorithm == "sha256" else hashlib.md5()
    with storage.open_read(fpath) as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def validate_file(fpath: str, file_hash: str, algorithm: str = "auto") -> bool:
    """Whether the file's digest equals ``file_hash`` (``"auto"``: 64 hex digits = sha256).

    Example:
        >>> import tempfile
        >>> p = os.path.join(tempfile.mkdtemp(), "x"); _ = open(p, "wb").write(b"abc")
        >>> validate_file(p, "900150983cd24fb0d6963f7d28e17f72")
        True
    """
    return hash_file(fpath, _algorithm(algorithm, file_hash)) == str(file_hash).lower()


def _algorithm(algorithm: str, file_hash: str | None) -> str:
    if algorithm not in ("auto", "sha256", "md5"):
        raise ConfigError(f"Expected hash_algorithm 'auto', 'sha256' or 'md5'. Received: "
                          f"{algorithm!r}.")
    if algorithm == "auto":
        return "sha256" if file_hash is not None and len(file_hash) == 64 else "md5"
    return algorithm


def get_file(fname: str | None = None, origin: str | None = None, untar: bool = False,
             md5_hash: str | None = None, file_hash: str | None = None,
             cache_subdir: str = "datasets", hash_algorithm: str = "auto",
             extract: bool = False, archive_format: str = "auto",
             cache_dir: str | None = None, force_download: bool = False) -> str:
    """Download ``origin`` to ``<cache_dir>/<cache_subdir>/<fname>`` unless a verified copy is
    there, and return its path, as ``tf.keras.utils.get_file``.

    ``cache_dir`` defaults to ``savepoint_home()`` (``$SAVEPOINT_HOME`` or ``~/.savepoint``).
    The bytes go to a temporary name and appear only once their hash matched; a cached file
    whose hash does not match is downloaded again. With ``SAVEPOINT_OFFLINE=1`` or no network
    a missing file raises ``StorageError`` naming the URL and the path to put the file at.

    Example:
        >>> get_file("mnist.npz", "https://storage.googleapis.com/tensorflow/"
        ...          "tf-keras-datasets/mnist.npz")  # doctest: +SKIP
        '/home/me/.savepoint/datasets/mnist.npz'
    """
    if not origin:
        raise ConfigError("Expected the URL of the file to download in `origin`. Received: "
                          f"origin={origin!r}.")
    if archive_format not in ("auto", "tar", "zip", None) and not isinstance(archive_format,
                                                                          (list, tuple)):
        raise ConfigError(f"Expected archive_format 'auto', 'tar', 'zip' or None. Received: "
                          f"{archive_format!r}.")
    if md5_hash is not None and file_hash is None:
        file_hash, hash_algorithm = md5_hash, "md5"
    algorithm = _algorithm(hash_algorithm, file_hash)
    if not fname:
        fname = os.path.basename(urllib.parse.urlsplit(origin).path)
        if not fname:
            raise ConfigError(f"Can't parse the file name from the origin provided: "
                              f"'{origin}'. Please specify the `fname` argument.")
    datadir = os.path.join(os.path.expanduser(cache_dir or savepoint_home()), cache_subdir)
    fpath = os.path.join(datadir, os.fspath(fname))
    untar_fpath = fpath
    if untar:
        fpath = fpath + ".tar.gz"
    need = force_download or not os.path.isfile(fpath) or (
        file_hash is not None and not validate_file(fpath, file_hash, algorithm))
    if need:
        _download(origin, fpath, file_hash, algorithm)
    if untar:
        if not os.path.exists(untar_fpath):
            extract_archive(fpath, datadir, "tar")
        return untar_fpath
    if extract:
        extract_archive(fpath, datadir, archive_format)
    return fpath


def _download(origin: str, fpath: str, file_hash: str | None, algorithm: str) -> None:
    fix = (f"Fix: connect to the network, or download {origin} yourself and place it at "
           f"{fpath}" + (f" (its {algorithm} must be {file_hash})." if file_hash else "."))
    if os.environ.get("SAVEPOINT_OFFLINE", "") not in ("", "0"):
        raise StorageError(f"Cannot download {origin} to {fpath}: offline mode "
                           f"(SAVEPOINT_OFFLINE is set). {fix}")
    digest = hashlib.sha256() if algorithm == "sha256" else hashlib.md5()
    try:
        storage.makedirs(os.path.dirname(fpath))
        with urllib.request.urlopen(origin, timeout=CONNECT_TIMEOUT_S) as response, \
                storage.atomic_writer(fpath) as out:
            for chunk in iter(lambda: response.read1(_CHUNK), b""):
                digest.update(chunk)
                out.write(chunk)
            if file_hash is not None and digest.hexdigest() != str(file_hash).lower():
                raise FormatError(
                    f"Incomplete or corrupted file downloaded from {origin}: expected "
                    f"{algorithm} {file_hash}, received {digest.hexdigest()}. The file was "
                    f"discarded. Fix: check the URL and the hash, then try again.")
    except (FormatError, StorageError):
        raise  # a hash mismatch, or a cache directory we cannot write: already explained
    except (OSError, urllib.error.URLError, socket.timeout, ValueError) as e:
        raise StorageError(f"Cannot download {origin} to {fpath}: {type(e).__name__}: {e}. "
                           f"{fix}") from e


def extract_archive(file_path: str, path: str = ".", archive_format: str | list = "auto") -> bool:
    """Extract a tar(.gz/.bz2) or zip archive into ``path``; members that would land outside
    ``path`` (absolute names, ``..``, links) are refused with ``FormatError``. Returns whether
    the file was an archive of an accepted format.

    Example:
        >>> import tempfile, io
        >>> d = tempfile.mkdtemp(); p = os.path.join(d, "a.zip")
        >>> with zipfile.ZipFile(p, "w") as z: z.writestr("a.txt", "hi")
        >>> extract_archive(p, d), open(os.path.join(d, "a.txt")).read()
        (True, 'hi')
    """
    if archive_format is None:
        return False
    formats = ["tar", "zip"] if archive_format == "auto" else (
        [archive_format] if isinstance(archive_format, str) else list(archive_format))
    root = os.path.realpath(path)
    for kind in formats:
        if kind == "tar" and tarfile.is_tarfile(file_path):
            with tarfile.open(file_path) as archive:
                for member in archive.getmembers():
                    _check_member(member.name, root, file_path)
                    if member.issym() or member.islnk() or member.isdev():
                        raise FormatError(f"Refusing to extract link or device "
                                          f"'{member.name}' from {file_path}.")
                archive.extractall(path, filter="data")
            return True
        if kind == "zip" and zipfile.is_zipfile(file_path):
            with zipfile.ZipFile(file_path) as archive:
                for name in archive.namelist():
                    _check_member(name, root, file_path)
                archive.extractall(path)
            return True
    return False


def _check_member(name: str, root: str, archive: str) -> None:
    target = os.path.realpath(os.path.join(root, name))
    if os.path.isabs(name) or not (target == root or target.startswith(root + os.sep)):
        raise FormatError(f"Expected archive members inside the extraction directory. Received "
                          f"'{name}' in {archive}, which would be written outside {root}. "
                          f"Fix: do not extract untrusted archives.")


__all__ = ["get_file", "hash_file", "validate_file", "extract_archive", "savepoint_home"]
