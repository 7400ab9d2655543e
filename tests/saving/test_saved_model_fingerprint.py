"""fingerprint.pb: FarmHash against TF's own values, every hash against the fingerprint.pb real
TensorFlow wrote for its fixtures, the writers, and verify's checks (issue 10: fingerprint.pb).

No TensorFlow here: the goldens are tests/fixtures/farmhash64.json (tools/make_farmhash_goldens.py,
``tf.fingerprint``) and the fingerprint.pb files inside tests/fixtures/saved_models/*.tar.gz that
TF 2.21, 2.15 and 2.12 wrote. tests/interop/test_saved_model_fingerprint_interop.py has TF read
and recompute the fingerprints of savepoint's own SavedModels.
"""

from __future__ import annotations

import json
import os
import tarfile

import numpy as np
import pytest

import savepoint as keras
from savepoint.errors import FormatError
from savepoint.saving.formats.saved_model import fingerprint_pb as fpb
from savepoint.saving.formats.saved_model.canonical import canonical
from savepoint.saving.formats.saved_model.farmhash import fingerprint64, fingerprint_cat64
from savepoint.saving.formats.tf_checkpoint.proto import put_len, put_str
from savepoint.saving.handlers.saved_model_writer import write_saved_model
from savepoint.train import verify

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures")
TF221 = ["mlp", "mlp_legacy", "cnn_bn", "cnn_legacy_rmsprop", "two_input", "embedding", "rnn",
         "mobilenet", "plain_module", "custom_layer", "subclassed"]
OLDER = ["mlp_tf2_15", "cnn_bn_tf2_15", "mlp_tf2_12", "cnn_bn_tf2_12"]
FIELDS = ["saved_model_checksum", "graph_def_program_hash", "signature_def_hash",
          "saved_object_graph_hash", "checkpoint_hash"]


@pytest.fixture(scope="module")
def unpacked(tmp_path_factory) -> str:
    root = str(tmp_path_factory.mktemp("fingerprinted"))
    for name in TF221 + OLDER:
        with tarfile.open(os.path.join(FIXTURES, "saved_models", f"{name}.tar.gz")) as tar:
            tar.extractall(root, filter="data")
    return root


def recorded(directory: str) -> fpb.Fingerprint:
    path = os.path.join(directory, "fingerprint.pb")
    return fpb.decode_fingerprint(open(path, "rb").read(), path)


def test_fingerprint64_equals_tensorflows_on_every_length_branch():
    with open(os.path.join(FIXTURES, "farmhash64.json")) as f:
        pairs = json.load(f)["hex_and_fingerprint64"]
    lengths = {len(bytes.fromhex(h)) for h, _ in pairs}
    assert {0, 1, 3, 4, 8, 16, 17, 32, 33, 64, 65, 128, 129, 10007} <= lengths
    for data, value in pairs:
        assert fingerprint64(bytes.fromhex(data)) == int(value), len(bytes.fromhex(data))


def test_fingerprint_cat64_is_order_sensitive_and_64_bit():
    a, b = fingerprint64(b"a"), fingerprint64(b"b")
    assert fingerprint_cat64(a, b) != fingerprint_cat64(b, a)
    assert 0 <= fingerprint_cat64(a, b) < 1 << 64


@pytest.mark.parametrize("name", TF221 + ["mlp_tf2_15", "cnn_bn_tf2_15"])
def test_every_hash_equals_the_fingerprint_tensorflow_wrote(unpacked, name):
    d = os.path.join(unpacked, name)
    tf, ours = recorded(d), fpb.fingerprint_directory(d)
    for field in FIELDS:
        assert getattr(ours, field) == getattr(tf, field), field
    assert ours.uuid.isdigit() and ours.uuid != tf.uuid


@pytest.mark.parametrize("name", ["mlp_tf2_12", "cnn_bn_tf2_12"])
def test_tf_2_12_differs_only_in_its_signature_hash_without_keys(unpacked, name):
    d = os.path.join(unpacked, name)
    tf, ours = recorded(d), fpb.fingerprint_directory(d)
    assert tf.producer == 1 and tf.uuid == ""
    for field in FIELDS:
        assert (getattr(ours, field) == getattr(tf, field)) == (field != "signature_def_hash")


def test_tf_files_are_not_canonical_and_canonical_sorts_integer_map_keys(unpacked):
    raw = open(os.path.join(unpacked, "mlp", "saved_model.pb"), "rb").read()
    again = canonical("SavedModel", raw)
    assert again != raw and sorted(again) == sorted(raw)  # the same bytes, reordered
    assert canonical("SavedModel", again) == again
    assert fingerprint64(again) == recorded(os.path.join(unpacked, "mlp")).saved_model_checksum


def test_suffix_uids_follow_tensorflows_rules():
    assert fpb.suffix_uid(b"__inference_call_1234") == 1234
    assert fpb.suffix_uid(b"f_-5") == -5
    assert fpb.suffix_uid(b"f_99999999999999999999") is None  # beyond int64
    assert fpb.suffix_uid(b"no_uid_here") is None


def test_a_concrete_function_without_a_uid_is_refused():
    def saved_model(function_name: str) -> bytes:
        entry, graph, meta, out = bytearray(), bytearray(), bytearray(), bytearray()
        put_str(entry, 1, function_name)
        put_len(entry, 2, b"")
        put_len(graph, 2, bytes(entry))  # SavedObjectGraph.concrete_functions
        put_len(meta, 7, bytes(graph))   # MetaGraphDef.object_graph_def
        put_len(out, 2, bytes(meta))     # SavedModel.meta_graphs
        return bytes(out)
    assert fpb.compute_fingerprint(saved_model("__inference_f_12"), None).saved_object_graph_hash
    with pytest.raises(FormatError, match=r"end in a uid.*'noid!'.*Fix: name the function"):
        fpb.compute_fingerprint(saved_model("noid!"), None)


def mlp() -> keras.Model:
    model = keras.Sequential([keras.layers.Dense(4, activation="relu", input_shape=(5,)),
                              keras.layers.Dense(3)])
    model.compile("adam", "mse")
    x = np.random.default_rng(0).normal(size=(8, 5)).astype("float32")
    model.fit(x, np.zeros((8, 3), "float32"), epochs=1, verbose=0)
    return model


def test_every_writer_writes_a_fingerprint_of_its_own_files(tmp_path):
    model = mlp()
    dirs = {"write_saved_model": str(tmp_path / "sm"), "model.save": str(tmp_path / "dir"),
            "export": str(tmp_path / "export")}
    write_saved_model(model, dirs["write_saved_model"])
    model.save(dirs["model.save"])
    model.export(dirs["export"], format="tf_saved_model")
    for how, d in dirs.items():
        fp = recorded(d)
        again = fpb.fingerprint_directory(d)
        assert [getattr(fp, f) for f in FIELDS] == [getattr(again, f) for f in FIELDS], how
        assert all(getattr(fp, f) for f in FIELDS), how
        assert fp.producer == 4 and fp.uuid.isdigit(), how
    assert recorded(dirs["write_saved_model"]).uuid != recorded(dirs["export"]).uuid


def test_the_same_model_gives_the_same_fingerprint_but_a_new_uuid(tmp_path):
    model = mlp()
    write_saved_model(model, str(tmp_path / "a"))
    write_saved_model(model, str(tmp_path / "b"))
    a, b = recorded(str(tmp_path / "a")), recorded(str(tmp_path / "b"))
    assert [getattr(a, f) for f in FIELDS] == [getattr(b, f) for f in FIELDS]
    assert a.uuid != b.uuid


def test_verify_checks_saved_model_pb_against_the_fingerprint(unpacked, tmp_path):
    import shutil
    d = str(tmp_path / "mlp")
    shutil.copytree(os.path.join(unpacked, "mlp"), d)
    assert verify(d).format == "tf_saved_model"
    path = os.path.join(d, "saved_model.pb")
    data = bytearray(open(path, "rb").read())
    i = data.index(b"serving_default")  # still parses: a renamed signature
    data[i:i + 7] = b"SERVING"
    open(path, "wb").write(bytes(data))
    with pytest.raises(FormatError, match=r"Expected saved_model.pb in .* to match the "
                                          r"saved_model_checksum \d+ of fingerprint.pb. Received"
                                          r".*changed or damaged.*Fix: restore"):
        verify(d)


def test_verify_checks_variables_index_against_the_fingerprint(tmp_path):
    model = mlp()
    d = str(tmp_path / "sm")
    write_saved_model(model, d)
    assert verify(d).format == "tf_saved_model"
    fp_path = os.path.join(d, "fingerprint.pb")
    fp = recorded(d)
    fp.checkpoint_hash ^= 1
    open(fp_path, "wb").write(fpb.encode_fingerprint(fp))
    with pytest.raises(FormatError, match=r"Expected variables/variables.index .* checkpoint_hash"):
        verify(d)


def test_older_fingerprints_are_verified_too(unpacked):
    for name in OLDER:
        assert verify(os.path.join(unpacked, name)).format == "tf_saved_model"
