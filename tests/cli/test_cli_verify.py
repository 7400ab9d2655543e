"""``savepoint verify``: every format's files reported ok (exit 0), damage in each kind of file
found and pinned on the damaged file (exit 1), a missing save and a usage error, JSON output,
and one run as ``python -m savepoint``."""

import os
import shutil
import subprocess
import sys

import pytest

from conftest import MODELS, WEIGHTS


def flip_byte(path, offset):
    with open(path, "r+b") as f:
        f.seek(offset)
        byte = f.read(1)
        f.seek(offset)
        f.write(bytes([byte[0] ^ 0xFF]))


@pytest.fixture
def copy_of(saved, tmp_path):
    """A private copy of one of the saves (``copy_of("cp.ckpt")``), to damage."""
    _, _, directory = saved

    def copy(name):
        for entry in os.listdir(directory):
            if entry == name or entry.startswith(name + ".") or entry == "checkpoint":
                source = os.path.join(directory, entry)
                if os.path.isdir(source):
                    shutil.copytree(source, tmp_path / entry)
                else:
                    shutil.copy(source, tmp_path / entry)
        return str(tmp_path / name)
    return copy


def expected_files(directory, name):
    path = os.path.join(directory, name)
    if name == "cp.ckpt":
        return [f"{path}.data-00000-of-00001", f"{path}.index"]
    if name == "my_model":
        return [os.path.join(path, f) for f in sorted(
            os.path.relpath(os.path.join(r, n), path) for r, _, ns in os.walk(path) for n in ns)]
    return [path]


@pytest.mark.parametrize("name,fmt", list(WEIGHTS.items()) + list(MODELS.items()))
def test_verify_every_format_ok(saved, run_cli, name, fmt):
    _, _, directory = saved
    path = os.path.join(directory, name)
    result = run_cli("verify", path, "--json")
    assert result.code == 0, result.err
    found = result.json()
    assert found["ok"] is True and found["format"] == fmt and found["error"] == ""
    assert [f["path"] for f in found["files"]] == expected_files(directory, name)
    assert all(f["status"] == "ok" and f["size"] == os.path.getsize(f["path"])
               for f in found["files"])
    listed = run_cli("inspect", path, "--json").json()
    assert found["tensors"] == listed["total_tensors"]
    assert found["bytes_checked"] == listed["total_bytes"]
    text = run_cli("verify", path)
    assert text.code == 0
    assert text.out.splitlines()[0] == f"Format: {fmt}"
    assert text.out.splitlines()[-1] == (f"OK: {listed['total_tensors']} tensors, "
                                         f"{listed['total_bytes']:,} bytes checked")


def test_verify_checkpoint_directory_lists_its_state_file(saved, run_cli):
    _, _, directory = saved
    found = run_cli("verify", directory, "--json").json()
    assert found["ok"] is True and found["format"] == "tf_checkpoint"
    assert [os.path.basename(f["path"]) for f in found["files"]] == [
        "checkpoint", "cp.ckpt.data-00000-of-00001", "cp.ckpt.index"]


def test_verify_damaged_checkpoint_data(copy_of, run_cli):
    prefix = copy_of("cp.ckpt")
    flip_byte(prefix + ".data-00000-of-00001", 20)
    result = run_cli("verify", prefix)
    assert result.code == 1
    lines = result.out.splitlines()
    data_row = next(l for l in lines if l.startswith(prefix + ".data"))
    index_row = next(l for l in lines if l.startswith(prefix + ".index"))
    assert data_row.split()[-1] == "damaged"
    assert index_row.split()[-2:] == ["not", "checked"]
    assert lines[-1].startswith("DAMAGED: Checksum mismatch for tensor ")
    assert f"The data file '{prefix}.data-00000-of-00001' is damaged." in lines[-1]
    found = run_cli("verify", prefix, "--json")
    assert found.code == 1
    report = found.json()
    assert report["ok"] is False and report["error"] == lines[-1][len("DAMAGED: "):]
    assert [f["status"] for f in report["files"]] == ["damaged", "not checked"]


def test_verify_damaged_checkpoint_index(copy_of, run_cli):
    prefix = copy_of("cp.ckpt")
    flip_byte(prefix + ".index", 30)
    report = run_cli("verify", prefix, "--json")
    assert report.code == 1
    found = report.json()
    assert found["ok"] is False and found["error"]
    statuses = {os.path.basename(f["path"]): f["status"] for f in found["files"]}
    assert statuses["cp.ckpt.index"] == "damaged"


@pytest.mark.parametrize("name", ["w.weights.h5", "w.h5", "m.h5", "m.keras", "w.safetensors"])
def test_verify_damaged_single_file(copy_of, run_cli, name):
    path = copy_of(name)
    flip_byte(path, os.path.getsize(path) - 40)  # inside the last tensor or the trailer
    result = run_cli("verify", path, "--json")
    assert result.code == 1, result.out
    found = result.json()
    assert found["ok"] is False
    [only] = found["files"]
    assert only["path"] == path and only["status"] == "damaged"
    assert only["detail"] == found["error"] and found["error"]


def test_verify_damaged_model_directory(copy_of, run_cli):
    path = copy_of("my_model")
    data = os.path.join(path, "variables", "variables.data-00000-of-00001")
    flip_byte(data, 8)
    result = run_cli("verify", path, "--json")
    assert result.code == 1
    found = result.json()
    damaged = [f for f in found["files"] if f["status"] == "damaged"]
    assert [f["path"] for f in damaged] == [data]
    assert "variables/variables.data-00000-of-00001" in found["error"]
    assert all(f["status"] == "not checked" for f in found["files"] if f["path"] != data)


def test_verify_missing_shard(copy_of, run_cli):
    prefix = copy_of("cp.ckpt")
    os.remove(prefix + ".data-00000-of-00001")
    result = run_cli("verify", prefix)
    assert result.code == 1
    assert "DAMAGED: " in result.out and "cp.ckpt.data-00000-of-00001" in result.out


def test_verify_nothing_there_and_usage(run_cli, tmp_path):
    missing = run_cli("verify", tmp_path / "cp.ckpt")
    assert missing.code == 1 and missing.out == ""
    assert missing.err.startswith(f"savepoint: error: Expected a save at "
                                  f"'{tmp_path / 'cp.ckpt'}'")
    with pytest.raises(SystemExit) as usage:
        run_cli("verify")
    assert usage.value.code == 2


def test_verify_help_has_examples(capsys):
    from savepoint import cli
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["verify", "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "examples:" in out and "savepoint verify training_1/cp.ckpt" in out
    assert "Exit status: 0 intact, 1 damaged or missing, 2 usage error." in out


def test_verify_as_a_subprocess(copy_of):
    prefix = copy_of("cp.ckpt")
    good = subprocess.run([sys.executable, "-m", "savepoint", "verify", prefix],
                          capture_output=True, text=True, timeout=300)
    assert good.returncode == 0, good.stderr
    assert good.stdout.splitlines()[-1].startswith("OK: ")
    flip_byte(prefix + ".data-00000-of-00001", 20)
    bad = subprocess.run([sys.executable, "-m", "savepoint", "verify", prefix],
                         capture_output=True, text=True, timeout=300)
    assert bad.returncode == 1
    assert bad.stdout.splitlines()[-1].startswith("DAMAGED: Checksum mismatch")
    usage = subprocess.run([sys.executable, "-m", "savepoint", "verify"],
                           capture_output=True, text=True, timeout=300)
    assert usage.returncode == 2 and "the following arguments are required: path" in usage.stderr
