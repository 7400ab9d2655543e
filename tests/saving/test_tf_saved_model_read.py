"""SavedModels written by real tf-keras 2.21 (and TF 2.12, 2.15) load in savepoint without TF.

Fixtures: tests/fixtures/saved_models/<name>.tar.gz (the directory tf-keras wrote) and
<name>.npz (what TensorFlow computed), made by tools/make_saved_model_fixtures.py. Checked here:
predictions within 1e-5 of TF's, every weight bit for bit (sha256 of TF's bytes), ``evaluate``
equal to TF's, the optimizer state (TF2 and legacy optimizer_v2 layouts), training on and saving
in every format, ``detect``/``verify``, and the refusals: a SavedModel without Keras metadata
lists its signatures; damaged, truncated or hostile files raise ``FormatError``.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import tarfile
import warnings

import numpy as np
import pytest

import savepoint as keras
from savepoint.errors import ConfigError, FormatError, SavepointError, UnknownObjectError
from savepoint.saving import registry
from savepoint.saving.formats.saved_model import keras_metadata
from savepoint.saving.formats.tf_checkpoint.proto import put_int, put_len, put_str
from savepoint.train import verify

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                        "fixtures", "saved_models")
KERAS_MODELS = ["mlp", "mlp_legacy", "cnn_bn", "cnn_legacy_rmsprop", "two_input", "embedding",
                "rnn", "mobilenet",
                # written by older TF (tools/make_older_saved_model_fixtures.sh): 2.4 (Keras
                # JSON inside saved_model.pb, no keras_metadata.pb), 2.9 and 2.12 with their
                # built-in Keras, 2.15 with tf-keras 2.15
                "mlp_tf2_4", "cnn_bn_tf2_4", "mlp_tf2_9", "cnn_bn_tf2_9", "mlp_tf2_12",
                "cnn_bn_tf2_12", "mlp_tf2_15", "cnn_bn_tf2_15",
                # adapted lookup layers: the vocabulary is read from the graph's constants
                "string_lookup", "integer_lookup", "text_vectorization"]
LOOKUPS = ["string_lookup", "integer_lookup", "text_vectorization"]
UNCOMPILED = {"mobilenet"}  # saved with include_optimizer=False
LEGACY_SLOTS = {"rms": "velocity", "mg": "average_gradient"}  # optimizer_v2 RMSprop -> TF2's


@pytest.fixture(scope="module")
def unpacked(tmp_path_factory) -> str:
    root = str(tmp_path_factory.mktemp("saved_models"))
    for name in KERAS_MODELS + ["plain_module", "custom_layer", "subclassed"]:
        with tarfile.open(os.path.join(FIXTURES, f"{name}.tar.gz")) as tar:
            tar.extractall(root, filter="data")
    return root


def expected(name: str) -> dict:
    with np.load(os.path.join(FIXTURES, f"{name}.npz")) as f:
        return {k: f[k] for k in f.files}


def inputs(data: dict):
    xs = [data[k] for k in sorted(data) if k.startswith("x")]
    return xs if len(xs) > 1 else xs[0]


def load(path: str, **kwargs) -> keras.Model:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the uncompiled application warns, as in tf.keras
        return keras.models.load_model(path, **kwargs)


def copy_of(unpacked: str, name: str, tmp_path) -> str:
    target = str(tmp_path / name)
    shutil.copytree(os.path.join(unpacked, name), target)
    return target


def sha256s(model: keras.Model) -> list[str]:
    return [hashlib.sha256(w.numpy().tobytes()).hexdigest() for w in model.weights]


def slot_key(tf_name: str) -> tuple[str, str]:
    """(slot, variable) of tf.keras's optimizer variable names, both layouts:
    ``Adam/m/dense/kernel:0`` and the legacy ``Adam/dense/kernel/m:0``."""
    parts = tf_name.split(":")[0].split("/")
    if parts[1] in ("m", "v", "momentum", "velocity", "average_gradient", "accumulator"):
        return parts[1], "/".join(parts[2:])
    return LEGACY_SLOTS.get(parts[-1], parts[-1]), "/".join(parts[1:-1])


# ----- loading what tf-keras wrote ----------------------------------------------------------
@pytest.mark.parametrize("name", KERAS_MODELS)
def test_predictions_weights_and_evaluate_equal_tensorflows(unpacked, name):
    data = expected(name)
    model = load(os.path.join(unpacked, name))
    assert [w.name.split(":")[0].split("/")[-1] for w in model.weights] == \
        [str(n).split(":")[0].split("/")[-1] for n in data["weight_names"]]
    assert sha256s(model) == [str(s) for s in data["weight_sha256"]]  # bit for bit
    np.testing.assert_allclose(model.predict(inputs(data), verbose=0), data["pred"], atol=1e-5)
    if name in UNCOMPILED:
        assert model.optimizer is None
        model.compile(loss="sparse_categorical_crossentropy",
                      metrics=["sparse_categorical_accuracy"])
    loss, metric = model.evaluate(inputs(data), data["y"], verbose=0)
    np.testing.assert_allclose(loss, data["eval"][0], rtol=1e-5)
    assert metric == pytest.approx(data["eval"][1], abs=1e-7)  # the same accuracy


@pytest.mark.parametrize("name", [n for n in KERAS_MODELS if n not in UNCOMPILED])
def test_optimizer_state_is_restored(unpacked, name):
    data = expected(name)
    model = load(os.path.join(unpacked, name))
    optimizer = model.optimizer
    assert int(optimizer.iterations.numpy()) == int(data["iterations"]) > 0
    optimizer.build(model.trainable_weights)
    ours = {}
    for var in optimizer.variables[1:]:
        _, slot, owner = var.path.split("/", 2)
        ours[(slot, owner)] = var.numpy()
    names = [str(n) for n in data["opt_names"]]
    tf_slots = {slot_key(n): data[f"opt{i}"] for i, n in enumerate(names)
                if not n.startswith(("iter", "Adam/iter", "RMSprop/iter"))
                and slot_key(n)[0] != "iter"}
    assert len(tf_slots) == len(ours) > 0
    # tf.keras and savepoint may number layers differently: pair slots by order of the model
    for (slot, _), value in tf_slots.items():
        assert any(s == slot and np.array_equal(v, value) for (s, _), v in ours.items())
    assert all(np.any(v != 0) for (s, _), v in ours.items() if s in ("m", "v"))


def test_legacy_optimizer_slots_land_on_their_variables(unpacked):
    data = expected("mlp_legacy")
    model = load(os.path.join(unpacked, "mlp_legacy"))
    names = [str(n) for n in data["opt_names"]]
    by_name = {slot_key(n): data[f"opt{i}"] for i, n in enumerate(names)}
    tf_layers = sorted({owner.split("/")[0] for _, owner in by_name if owner})
    weighted = [layer for layer in model.layers if layer.weights]
    assert len(weighted) == len(tf_layers) == 2
    for layer, tf_layer in zip(weighted, tf_layers):
        for weight in layer.weights:
            attr = weight.path.split("/")[-1]
            for slot in ("m", "v"):
                np.testing.assert_array_equal(model.optimizer.slot(weight, slot).cpu().numpy(),
                                              by_name[(slot, f"{tf_layer}/{attr}")])


@pytest.mark.filterwarnings("ignore:Checkpoint .* value\\(s\\) were not used")
@pytest.mark.parametrize("name", KERAS_MODELS)
def test_it_trains_on_and_saves_again_in_every_format(unpacked, name, tmp_path):
    data = expected(name)
    model = load(os.path.join(unpacked, name))
    if name in UNCOMPILED:
        model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    before = sha256s(model)
    model.fit(inputs(data), data["y"], epochs=1, batch_size=16, verbose=0)
    assert sha256s(model) != before
    want = model.predict(inputs(data), verbose=0)
    for target in ("again", "again.h5", "again.keras"):
        path = str(tmp_path / target)
        model.save(path)
        back = load(path)
        assert sha256s(back) == sha256s(model), target
        np.testing.assert_array_equal(back.predict(inputs(data), verbose=0), want)
    for target in ("w.weights.h5", "ckpt/cp.ckpt"):
        path = str(tmp_path / target)
        model.save_weights(path)
        fresh = load(os.path.join(unpacked, name), compile=False)
        fresh.load_weights(path)
        assert sha256s(fresh) == sha256s(model), target


def test_compile_false_gives_an_uncompiled_model_with_the_weights(unpacked):
    model = load(os.path.join(unpacked, "mlp"), compile=False)
    assert model.optimizer is None
    assert sha256s(model) == [str(s) for s in expected("mlp")["weight_sha256"]]


def test_a_savedmodel_without_training_config_warns_not_compiled(unpacked):
    with pytest.warns(UserWarning, match=r"No training configuration found .* \*not\* compiled"):
        keras.models.load_model(os.path.join(unpacked, "mobilenet"))


# ----- detect, verify, the registry ---------------------------------------------------------
@pytest.mark.parametrize("name", KERAS_MODELS + ["plain_module"])
def test_detect_and_verify_report_tf_saved_model(unpacked, name):
    path = os.path.join(unpacked, name)
    assert registry.detect(path).name == "tf_saved_model"
    report = verify(path)
    assert (report.format, report.path) == ("tf_saved_model", path)
    assert report.n_tensors > 1 and report.bytes_checked > 0


def test_savepoints_own_directory_is_still_the_model_directory(tmp_path):
    model = keras.Sequential([keras.layers.Dense(2, input_shape=(3,))])
    model.save(str(tmp_path / "mine"))
    assert registry.detect(str(tmp_path / "mine")).name == "model_directory"


def test_the_format_is_read_only():
    spec = registry.get("tf_saved_model")
    assert spec.read_only and spec.kind == "model" and spec.suffixes == ()
    with pytest.raises(ConfigError, match=r"Expected model.save\('dir'\) to pick the format .* "
                       r"read-only 'tf_saved_model' format .* Fix: call model.save"):
        spec.save(None, "my_model")
    assert registry.for_path("my_model", "model").name == "model_directory"  # saves stay ours


def test_verify_finds_a_damaged_tensor(unpacked, tmp_path):
    path = copy_of(unpacked, "cnn_bn", tmp_path)
    data_file = os.path.join(path, "variables", "variables.data-00000-of-00001")
    raw = bytearray(open(data_file, "rb").read())
    raw[100] ^= 0xFF
    open(data_file, "wb").write(bytes(raw))
    with pytest.raises(FormatError, match=r"(?i)checksum|crc"):
        verify(path)
    with pytest.raises(FormatError, match=r"(?i)checksum|crc"):
        keras.models.load_model(path)


# ----- refusals -----------------------------------------------------------------------------
def test_a_plain_tf_module_lists_its_signatures(unpacked):
    with pytest.raises(FormatError, match=(
            r"Expected a SavedModel written by tf.keras \(with keras_metadata.pb\) at .*"
            r"Received a SavedModel without Keras metadata \(root object _generic_user_object"
            r".*its signatures are: serving_default\(features: float32\[-1, 3\]\) -> "
            r"\(scores: float32\[-1, 2\]\)\. .* Fix: call it in TensorFlow")):
        keras.models.load_model(os.path.join(unpacked, "plain_module"))


def test_missing_variables_are_refused(unpacked, tmp_path):
    path = copy_of(unpacked, "mlp", tmp_path)
    shutil.rmtree(os.path.join(path, "variables"))
    with pytest.raises(FormatError, match=r"Expected the SavedModel .* to hold its variables in "
                       r"variables/variables.index\. .* Fix: copy the whole SavedModel"):
        keras.models.load_model(path)


def test_variables_of_another_architecture_are_refused(unpacked, tmp_path):
    path = copy_of(unpacked, "mlp", tmp_path)
    shutil.rmtree(os.path.join(path, "variables"))
    shutil.copytree(os.path.join(unpacked, "cnn_bn", "variables"), os.path.join(path, "variables"))
    with pytest.raises(SavepointError, match=r"Shape mismatch|does not match|no value"):
        keras.models.load_model(path)


def test_a_directory_without_saved_model_pb_is_not_a_savedmodel(tmp_path):
    from savepoint.saving.handlers import tf_saved_model
    assert not tf_saved_model.present(str(tmp_path))
    with pytest.raises(FormatError, match=r"Expected a TensorFlow SavedModel directory at .* "
                       r"Received a directory without it\. Fix"):
        tf_saved_model.load(str(tmp_path))


@pytest.mark.parametrize("victim", ["keras_metadata.pb", "saved_model.pb"])
def test_truncated_protos_raise_format_error(unpacked, tmp_path, victim):
    path = copy_of(unpacked, "two_input", tmp_path)
    file = os.path.join(path, victim)
    raw = open(file, "rb").read()
    for cut in (1, 7, len(raw) // 3, len(raw) // 2, len(raw) - 3):
        open(file, "wb").write(raw[:cut])
        with pytest.raises(FormatError):
            keras.models.load_model(path)
        with pytest.raises(FormatError):
            verify(path)


def _metadata_file(path: str, metadata: str, length: int | None = None) -> None:
    node = bytearray()
    put_int(node, 2, 0)
    put_str(node, 3, "root")
    put_str(node, 5, metadata)
    out = bytearray()
    if length is None:
        put_len(out, 1, node)
    else:  # a hostile length prefix: the field claims ``length`` bytes
        out += b"\x0a" + _varint(length) + bytes(node)
    open(os.path.join(path, keras_metadata.FILE_NAME), "wb").write(bytes(out))


def _varint(value: int) -> bytes:
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    return bytes(out + bytes([value]))


@pytest.mark.parametrize("length", [2**31, 2**62, 2**64 - 1])
def test_hostile_varint_lengths_fail_fast(unpacked, tmp_path, length):
    path = copy_of(unpacked, "mlp", tmp_path)
    _metadata_file(path, "{}", length)
    with pytest.raises(FormatError, match=r"claims \d+ bytes but only \d+ remain"):
        keras.models.load_model(path)
    sm = os.path.join(path, "saved_model.pb")
    open(sm, "wb").write(b"\x08\x01\x12" + _varint(length) + b"\x00" * 8)
    with pytest.raises(FormatError, match=r"claims \d+ bytes but only \d+ remain"):
        verify(path)


def test_deeply_nested_metadata_json_is_refused(unpacked, tmp_path):
    path = copy_of(unpacked, "mlp", tmp_path)
    _metadata_file(path, "[" * 200_000 + "]" * 200_000)
    with pytest.raises(FormatError, match=r"Expected JSON in the Keras metadata of .*"
                       r"RecursionError"):
        keras.models.load_model(path)


def test_metadata_without_a_root_or_a_config_is_refused(unpacked, tmp_path):
    path = copy_of(unpacked, "mlp", tmp_path)
    _metadata_file(path, json.dumps({"class_name": "Sequential"}))
    with pytest.raises(FormatError, match=r"Expected the root node of .* to hold a JSON object "
                       r"with a 'config' object\. Received dict without one"):
        keras.models.load_model(path)
    open(os.path.join(path, keras_metadata.FILE_NAME), "wb").write(b"")
    with pytest.raises(FormatError, match=r"Expected a 'root' node in the Keras metadata .* "
                       r"Received 0 nodes"):
        keras.models.load_model(path)


def test_metadata_from_a_newer_keras_is_refused():
    node = bytearray()
    put_str(node, 3, "root")
    put_len(node, 6, b"\x08\x05\x10\x04")  # producer 5, min_consumer 4
    out = bytearray()
    put_len(out, 1, node)
    with pytest.raises(FormatError, match=r"Received min_consumer 4: it was written by a newer "
                       r"Keras\. Fix"):
        keras_metadata.decode_saved_metadata(bytes(out), "k.pb")


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("victim", ["keras_metadata.pb", "saved_model.pb",
                                    "variables/variables.index"])
def test_random_mutations_raise_only_savepoint_errors(unpacked, tmp_path, victim):
    data = expected("cnn_bn")
    path = copy_of(unpacked, "cnn_bn", tmp_path)
    file = os.path.join(path, victim)
    raw = open(file, "rb").read()
    rng = random.Random(victim)
    for _ in range(25):
        mutated = bytearray(raw)
        for _ in range(rng.randint(1, 4)):
            mutated[rng.randrange(len(mutated))] = rng.randrange(256)
        open(file, "wb").write(bytes(mutated))
        try:
            model = keras.models.load_model(path)
        except SavepointError:
            continue
        # a harmless mutation (an unused field, a name) must not change what was loaded
        assert sha256s(model) == [str(s) for s in data["weight_sha256"]]


# ----- other writers ------------------------------------------------------------------------
def test_tf_2_4_layout_reads_the_root_json_from_saved_model_pb(unpacked, tmp_path):
    """Before keras_metadata.pb (TF 2.5), tf.keras kept the root's JSON in the object graph's
    ``user_object.metadata``: the same bytes, placed there, load the same model."""
    path = copy_of(unpacked, "mlp", tmp_path)
    meta_file = os.path.join(path, keras_metadata.FILE_NAME)
    root = [n for n in keras_metadata.read_keras_metadata(meta_file) if n.node_path == "root"][0]
    os.remove(meta_file)
    user, node, objects, info, meta, saved = (bytearray() for _ in range(6))
    put_str(user, 1, "_tf_keras_sequential")
    put_str(user, 3, root.metadata)
    put_len(node, 4, user)
    put_len(objects, 1, node)
    put_str(info, 4, "serve")
    put_len(meta, 1, info)
    put_len(meta, 7, objects)
    put_int(saved, 1, 1)
    put_len(saved, 2, meta)
    open(os.path.join(path, "saved_model.pb"), "wb").write(bytes(saved))
    model = keras.models.load_model(path)
    assert sha256s(model) == [str(s) for s in expected("mlp")["weight_sha256"]]
    assert int(model.optimizer.iterations.numpy()) == int(expected("mlp")["iterations"])


def test_savepoints_savedmodel_writer_round_trips_through_this_reader(tmp_path):
    from savepoint.saving.handlers.saved_model_writer import write_saved_model
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.layers.Dense(8, activation="relu", input_shape=(5,)),
                              keras.layers.Dropout(0.2), keras.layers.Dense(3)])
    model.compile(optimizer="adam", metrics=["sparse_categorical_accuracy"],
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    x = np.random.default_rng(0).random((16, 5)).astype("float32")
    model.fit(x, np.arange(16) % 3, verbose=0)
    path = str(tmp_path / "sm")
    write_saved_model(model, path)
    assert registry.detect(path).name == "tf_saved_model"
    back = keras.models.load_model(path)
    assert sha256s(back) == sha256s(model)
    np.testing.assert_array_equal(back.predict(x, verbose=0), model.predict(x, verbose=0))
    back.optimizer.build(back.trainable_weights)
    for ours, theirs in zip(back.optimizer.variables, model.optimizer.variables):
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


# ----- custom classes -----------------------------------------------------------------------
class Scale(keras.layers.Layer):
    """savepoint's twin of the fixture's ``fixtures>Scale`` layer."""

    def build(self, input_shape):
        self.scale = self.add_weight(name="scale", shape=(input_shape[-1],), initializer="ones")

    def call(self, inputs):
        return inputs * self.scale


class Net(keras.Model):
    """savepoint's twin of the fixture's subclassed model (no get_config in tf.keras either)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.dense = keras.layers.Dense(2)

    def call(self, inputs):
        return self.dense(inputs)


@pytest.mark.parametrize("name,cls", [("custom_layer", Scale), ("subclassed", Net)])
def test_custom_classes_need_custom_objects_then_load_like_tf(unpacked, name, cls):
    path = os.path.join(unpacked, name)
    with pytest.raises(UnknownObjectError, match=rf"Could not locate layer '{cls.__name__}'.*"
                       rf"custom_objects=\{{'{cls.__name__}': {cls.__name__}\}}.*savepoint never "
                       rf"imports modules named in a file"):
        keras.models.load_model(path)
    data = expected(name)
    model = keras.models.load_model(path, custom_objects={cls.__name__: cls})
    assert sha256s(model) == [str(s) for s in data["weight_sha256"]]
    np.testing.assert_allclose(model.predict(inputs(data), verbose=0), data["pred"], atol=1e-5)
    loss, metric = model.evaluate(inputs(data), data["y"], verbose=0)
    np.testing.assert_allclose(loss, data["eval"][0], rtol=1e-5)
    assert metric == pytest.approx(data["eval"][1], abs=1e-7)
    assert int(model.optimizer.iterations.numpy()) == int(data["iterations"])


@pytest.mark.parametrize("name", LOOKUPS)
def test_an_adapted_lookup_layer_gets_its_vocabulary_from_the_graph(unpacked, name):
    """tf.keras writes ``vocabulary: null`` for an adapted lookup layer; the vocabulary is the
    table initializer's constants in saved_model.pb. The same vocabulary as tf.keras's own
    loader restored (``get_vocabulary()``, special tokens included)."""
    data = expected(name)
    model = load(os.path.join(unpacked, name))
    assert [str(v) for v in model.layers[1].get_vocabulary()] == [str(v) for v in data["vocab"]]


def _lookup_metadata(path: str, **config) -> None:
    layer = {"class_name": "TextVectorization",
             "config": dict({"name": "text_vectorization", "vocabulary": None,
                             "vocabulary_size": 8}, **config)}
    _metadata_file(path, json.dumps({"class_name": "Functional",
                                     "config": {"name": "m", "layers": [layer]}}))


def test_an_adapted_lookup_layer_without_its_table_is_refused_naming_the_fix(unpacked, tmp_path):
    path = copy_of(unpacked, "mlp", tmp_path)
    _lookup_metadata(path)
    with pytest.raises(FormatError, match=r"Expected one TextVectorization 'text_vectorization' "
                       r"in .*keras_metadata.pb \(its vocabulary is in the graph\). Received 0. "
                       r"Fix: in tf.keras, build the layer with "
                       r"vocabulary=layer.get_vocabulary\(\)"):
        keras.models.load_model(path)


def test_an_adapted_tf_idf_layer_is_refused_naming_the_fix(unpacked, tmp_path):
    path = copy_of(unpacked, "mlp", tmp_path)
    _lookup_metadata(path, output_mode="tf_idf")
    with pytest.raises(FormatError, match=r"Expected TextVectorization 'text_vectorization' in "
                       r".* an output mode other than tf_idf. Received an adapted tf_idf layer.*"
                       r"Fix: in tf.keras, save the model as '.keras'"):
        keras.models.load_model(path)