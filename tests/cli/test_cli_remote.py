"""The four checkpoint subcommands on ``s3://`` URLs (the loopback S3 server of
``tests/storage``): the same answers as on a local disk, conversions bit for bit."""

import os
import subprocess
import sys

import numpy as np

from conftest import families
from savepoint.saving import storage


def test_inspect_verify_convert_diff_on_s3(saved, run_cli, bucket, tmp_path):
    model, x, directory = saved
    run = f"{bucket}/run"
    model.save_weights(f"{run}/cp.ckpt")
    model.save(f"{run}/m.keras")
    model.save(f"{run}/my_model")

    # inspect: the listing of the local copy, the values bit for bit
    remote = run_cli("inspect", f"{run}/cp.ckpt", "--json").json()
    local = run_cli("inspect", os.path.join(directory, "cp.ckpt"), "--json").json()
    assert remote["source"] == f"{run}/cp.ckpt" and remote["format"] == "tf_checkpoint"
    assert remote["variables"] == local["variables"]
    assert run_cli("inspect", run, "--json").json()["source"] == f"{run}/cp.ckpt"
    kernel = run_cli("inspect", f"{run}/m.keras", "--tensor", "layers/dense/vars/0",
                     "--json").json()
    np.testing.assert_array_equal(np.array(kernel["values"], np.float32),
                                  model.weights[0].numpy())
    assert run_cli("inspect", f"{run}/my_model", "--json").json()["signatures"][0]["name"] == \
        "serving_default"

    # verify: every object of the model directory, then a damaged one
    found = run_cli("verify", f"{run}/my_model", "--json").json()
    assert found["ok"] is True and found["format"] == "model_directory"
    assert f"{run}/my_model/variables/variables.index" in [f["path"] for f in found["files"]]
    data = f"{run}/cp.ckpt.data-00000-of-00001"
    good = storage.read_bytes(data)
    storage.write_bytes_atomically(data, good[:20] + bytes([good[20] ^ 0xFF]) + good[21:])
    damaged = run_cli("verify", f"{run}/cp.ckpt", "--json")
    assert damaged.code == 1
    assert [f["status"] for f in damaged.json()["files"]] == ["damaged", "not checked"]
    assert "Checksum mismatch" in damaged.json()["error"]
    storage.write_bytes_atomically(data, good)
    assert run_cli("verify", f"{run}/cp.ckpt").code == 0

    # convert: URL -> URL, URL -> local with a remote --model
    converted = run_cli("convert", f"{run}/m.keras", f"{run}/w.safetensors")
    assert converted.code == 0, converted.err
    local_out = tmp_path / "from_s3.weights.h5"
    converted = run_cli("convert", f"{run}/cp.ckpt", local_out, "--model", f"{run}/m.keras")
    assert converted.code == 0, converted.err
    for path in (f"{run}/w.safetensors", str(local_out)):
        fresh = families.sequential()
        fresh.load_weights(path)
        for a, b in zip(model.weights, fresh.weights):
            np.testing.assert_array_equal(a.numpy(), b.numpy())
        np.testing.assert_array_equal(model.predict(x, verbose=0), fresh.predict(x, verbose=0))
    refused = run_cli("convert", f"{run}/m.keras", f"{run}/w.safetensors")
    assert refused.code == 1
    assert f"Expected '{run}/w.safetensors' not to exist." in refused.err

    # diff: URL against URL and against a local file of another format
    assert run_cli("diff", f"{run}/cp.ckpt", f"{run}/my_model").code == 0
    across = run_cli("diff", f"{run}/w.safetensors", os.path.join(directory, "cp.ckpt"),
                     "--model", f"{run}/m.keras", "--json")
    assert across.code == 0, across.out + across.err
    assert across.json()["compared"] == 13


def test_inspect_s3_as_a_subprocess(saved, bucket):
    model, _, _ = saved
    model.save_weights(f"{bucket}/sub/w.weights.h5")
    result = subprocess.run([sys.executable, "-m", "savepoint", "inspect",
                             f"{bucket}/sub/w.weights.h5"],
                            capture_output=True, text=True, timeout=300, env=dict(os.environ))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1] == f"Path: {bucket}/sub/w.weights.h5"
    assert "Total: 14 tensors, 912 bytes" in result.stdout
