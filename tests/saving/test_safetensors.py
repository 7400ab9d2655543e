"""safetensors, the registry's proof format: the real ``safetensors`` library reads what we write
and we read what it writes; keys follow Keras 3's naming (the ``.weights.h5`` dataset paths);
every tensor is checksummed; hostile headers fail fast with ``FormatError``."""

from __future__ import annotations

import json
import os
import struct

import h5py
import numpy as np
import pytest
import torch
from safetensors.numpy import load_file, save_file

import savepoint as keras
from savepoint.errors import ConfigError, FormatError, ShapeError
from savepoint.saving.formats import safetensors as st_format


def model(units: int = 3) -> keras.Model:
    keras.utils.set_random_seed(0)
    m = keras.Sequential([keras.layers.Dense(units, input_shape=(4,)),
                          keras.layers.BatchNormalization(), keras.layers.Dense(2)])
    m.compile(optimizer="adam", loss="mse")
    m.fit(np.ones((8, 4), "float32"), np.ones((8, 2), "float32"), epochs=1, verbose=0)
    return m


def test_the_safetensors_library_reads_our_file_with_keras3_keys(tmp_path):
    m = model()
    m.save_weights(str(tmp_path / "w.safetensors"))
    m.save_weights(str(tmp_path / "w.weights.h5"))
    ours = load_file(str(tmp_path / "w.safetensors"))
    with h5py.File(tmp_path / "w.weights.h5") as f:
        h5_keys = []
        f.visititems(lambda name, obj: h5_keys.append(name)
                     if isinstance(obj, h5py.Dataset) else None)
        for key in h5_keys:
            np.testing.assert_array_equal(ours[key], f[key][()])
    assert sorted(ours) == sorted(h5_keys)
    assert "layers/dense/vars/0" in ours and "optimizer/vars/0" in ours


def test_we_read_a_file_the_safetensors_library_wrote(tmp_path):
    m = model()
    m.save_weights(str(tmp_path / "ours.safetensors"))
    theirs = {k: np.asarray(v + 1) for k, v in load_file(str(tmp_path / "ours.safetensors")).items()}
    save_file(theirs, str(tmp_path / "theirs.safetensors"))  # no savepoint checksums
    fresh = model()
    fresh.load_weights(str(tmp_path / "theirs.safetensors"))
    np.testing.assert_array_equal(fresh.weights[0].numpy(),
                                  theirs["layers/dense/vars/0"])


def test_bfloat16_and_scalars_round_trip(tmp_path):
    path = str(tmp_path / "x.safetensors")
    bf = torch.tensor([1.5, -2.25], dtype=torch.bfloat16)
    from savepoint.saving.formats.tf_checkpoint.dtypes import BFloat16Array
    st_format.write(path, {"s": np.array(3, np.int64),
                           "bf": BFloat16Array(bf.view(torch.int16).numpy().view(np.uint16))})
    arrays, _ = st_format.read(path)
    assert arrays["s"].shape == () and int(arrays["s"]) == 3
    assert torch.from_numpy(arrays["bf"].bits.copy()).view(torch.bfloat16).tolist() == [1.5, -2.25]
    from safetensors.torch import load_file as load_torch
    loaded = load_torch(path)
    assert loaded["s"].shape == () and loaded["bf"].dtype == torch.bfloat16
    assert torch.equal(loaded["bf"], bf)


def test_a_flipped_byte_names_the_tensor(tmp_path):
    path = str(tmp_path / "w.safetensors")
    st_format.write(path, {"a": np.zeros(4, np.float32), "b": np.ones(4, np.float32)})
    data = bytearray(open(path, "rb").read())
    data[-1] ^= 0x01
    open(path, "wb").write(bytes(data))
    with pytest.raises(FormatError, match=r"tensor 'b' fails its CRC-32C check"):
        st_format.read(path)


def _with_header(path, header: dict, data: bytes = b"", declared: int | None = None) -> str:
    text = json.dumps(header).encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text) if declared is None else declared) + text + data)
    return str(path)


@pytest.mark.parametrize("header, data, declared, match", [
    ({}, b"", 2**62, r"header declares 4611686018427387904 bytes; expected at most"),
    ({"a": {"dtype": "F32", "shape": [2**41, 2**41], "data_offsets": [0, 8]}}, b"\0" * 8,
     None, r"tensor 'a': expected a shape of non-negative ints"),
    ({"a": {"dtype": "F32", "shape": [1000], "data_offsets": [0, 4000]}}, b"\0" * 8, None,
     r"tensor 'a': expected data_offsets \[0, 4000\] inside the 8 data bytes"),
    ({"a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}, b"\0" * 8, None,
     r"expected data_offsets \[0, 4\]"),
    ({"a": {"dtype": "X9", "shape": [1], "data_offsets": [0, 4]}}, b"\0" * 4, None,
     r"expected a dtype in"),
    ({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}, b"\0" * 12, None,
     r"the tensors cover 4 bytes, but the data section holds 12"),
    ({"__metadata__": {"k": 1}}, b"", None, r"expected '__metadata__' to map strings"),
])
def test_hostile_headers_fail_fast(tmp_path, header, data, declared, match):
    path = _with_header(tmp_path / "h.safetensors", header, data, declared)
    with pytest.raises(FormatError, match=match):
        st_format.read(path)


def test_truncated_file(tmp_path):
    path = tmp_path / "t.safetensors"
    path.write_bytes(b"\1\0")
    with pytest.raises(FormatError, match=r"expected at least 8 bytes .* Received 2 bytes"):
        st_format.read(str(path))


def test_mismatched_architecture_and_by_name_are_refused(tmp_path):
    path = str(tmp_path / "w.safetensors")
    model(units=3).save_weights(path)
    other = model(units=5)
    before = [w.numpy().copy() for w in other.weights]
    with pytest.raises(ShapeError, match=r"tensor 'layers/dense/vars/0' has shape \(4, 3\); "
                                         r"expected \(4, 5\)"):
        other.load_weights(path)
    assert all(np.array_equal(a, w.numpy()) for a, w in zip(before, other.weights))
    with pytest.raises(ConfigError, match=r"by_name=True is not supported for safetensors"):
        other.load_weights(path, by_name=True)
    smaller = keras.Sequential([keras.layers.Dense(3, input_shape=(4,))])
    with pytest.raises(FormatError, match=r"does not match model .* are not in the model"):
        smaller.load_weights(path)


def test_an_unbuilt_optimizer_gets_its_slots_at_its_first_step(tmp_path):
    trained = model()
    path = str(tmp_path / "w.safetensors")
    trained.save_weights(path)
    fresh = model()
    fresh.compile(optimizer="adam", loss="mse")  # a new, unbuilt optimizer
    fresh.load_weights(path)
    x, y = np.ones((8, 4), "float32"), np.ones((8, 2), "float32")
    trained.fit(x, y, epochs=1, verbose=0, shuffle=False)
    fresh.fit(x, y, epochs=1, verbose=0, shuffle=False)
    for a, b in zip(trained.weights, fresh.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert os.path.exists(path)
