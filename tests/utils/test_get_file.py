"""get_file against a local HTTP server: download, verify (sha256/md5), cache, extract, offline."""

import hashlib
import io
import os
import tarfile
import zipfile

import pytest

from savepoint.errors import FormatError, StorageError
from savepoint.utils import get_file


@pytest.fixture
def home(monkeypatch, tmp_path):
    monkeypatch.setenv("SAVEPOINT_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("SAVEPOINT_OFFLINE", raising=False)
    return tmp_path / "home"


def test_download_verify_and_cache(http_server, home):
    base, www, requests = http_server
    (www / "data.bin").write_bytes(b"hello world")
    sha = hashlib.sha256(b"hello world").hexdigest()
    path = get_file("data.bin", f"{base}/data.bin", file_hash=sha)
    assert path == str(home / "datasets" / "data.bin")
    assert open(path, "rb").read() == b"hello world"
    assert get_file("data.bin", f"{base}/data.bin", file_hash=sha) == path
    assert len(requests) == 1  # the verified cached copy is reused
    md5 = hashlib.md5(b"hello world").hexdigest()
    assert get_file(origin=f"{base}/data.bin", md5_hash=md5, cache_subdir="x") == \
        str(home / "x" / "data.bin")
    # a damaged cached copy is downloaded again
    open(path, "wb").write(b"junk")
    get_file("data.bin", f"{base}/data.bin", file_hash=sha)
    assert open(path, "rb").read() == b"hello world" and len(requests) == 3


def test_hash_mismatch_leaves_nothing(http_server, home):
    base, www, _ = http_server
    (www / "data.bin").write_bytes(b"tampered")
    with pytest.raises(FormatError, match="Incomplete or corrupted file downloaded from .*"
                                          "expected sha256 0{64}"):
        get_file("data.bin", f"{base}/data.bin", file_hash="0" * 64)
    assert not os.path.exists(home / "datasets" / "data.bin")
    assert os.listdir(home / "datasets") == []


def test_offline_and_unreachable_errors_name_url_and_path(http_server, home, monkeypatch):
    base, _, _ = http_server
    with pytest.raises(StorageError, match=r"Cannot download .*/missing.bin to .*missing.bin: "
                                           r"HTTPError.*Fix: connect to the network, or download"):
        get_file("missing.bin", f"{base}/missing.bin")
    monkeypatch.setenv("SAVEPOINT_OFFLINE", "1")
    target = str(home / "datasets" / "f.npz")
    with pytest.raises(StorageError, match=f"offline mode .*place it at {target}"):
        get_file("f.npz", "https://example.invalid/f.npz")


def test_extract_tar_and_zip(http_server, home):
    base, www, _ = http_server
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        info = tarfile.TarInfo("pkg/a.txt")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"hi"))
    (www / "pkg.tar.gz").write_bytes(buf.getvalue())
    path = get_file("pkg", f"{base}/pkg.tar.gz", untar=True)
    assert path == str(home / "datasets" / "pkg")
    assert open(os.path.join(path, "a.txt")).read() == "hi"
    zbuf = io.BytesIO()
    with zipfile.ZipFile(zbuf, "w") as z:
        z.writestr("inner/b.txt", "zip")
    (www / "z.zip").write_bytes(zbuf.getvalue())
    get_file("z.zip", f"{base}/z.zip", extract=True)
    assert open(home / "datasets" / "inner" / "b.txt").read() == "zip"


def test_extract_refuses_escaping_members(http_server, home):
    base, www, _ = http_server
    zbuf = io.BytesIO()
    with zipfile.ZipFile(zbuf, "w") as z:
        z.writestr("../evil.txt", "x")
    (www / "evil.zip").write_bytes(zbuf.getvalue())
    with pytest.raises(FormatError, match="Expected archive members inside the extraction "
                                          "directory. Received '../evil.txt'"):
        get_file("evil.zip", f"{base}/evil.zip", extract=True)
    assert not (home / "evil.txt").exists()
