"""The Keras 3 ``.keras`` whole-model format: layout, round trips per model family, exact resume,
golden files from real Keras 3, custom objects, safety and bad archives."""

import io
import json
import os
import struct
import warnings
import zipfile

import h5py
import numpy as np
import pytest
import torch

import savepoint as keras
from savepoint.errors import (CheckpointNotFoundError, ConfigError, FormatError, NotBuiltError,
                              OverwriteError, SavepointError, UnknownObjectError)
from savepoint.saving.handlers import h5_weights
from savepoint.saving.handlers import model_keras
from savepoint.saving.mapping.dialects import keras3
from savepoint.saving.formats import keras_zip
from savepoint.saving.engine.model_config import model_to_config
from savepoint.utils import set_random_seed

RNG = np.random.default_rng(0)
FIXTURES = os.path.join(os.path.dirname(os.path.dirname(__file__)), "fixtures", "keras")


from saving_model_families import (conv_sequential, functional,  # noqa: E402
                                   sequential, subclassed, targets_for, trained)


class Scale(keras.layers.Layer):
    """A custom layer (not registered) with one weight and a config."""

    def __init__(self, factor=2.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def build(self, input_shape):
        self.w = self.add_weight("w", (input_shape[-1],), initializer="ones")
        super().build(input_shape)

    def call(self, x):
        return x * self.w * self.factor

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


def custom_layer_model():
    return keras.Sequential([keras.layers.Dense(4, input_shape=(5,)), Scale(3.0),
                             keras.layers.Dense(2)])


def flat(outputs):
    return outputs if isinstance(outputs, list) else [outputs]


def architecture(model):
    """The native config minus ``batch_input_shape`` on layers after an InputLayer (Keras 3
    keeps the input shape on the InputLayer only)."""
    def strip(value):
        if isinstance(value, list):
            return [strip(v) for v in value]
        if not isinstance(value, dict):
            return value
        out = {k: strip(v) for k, v in value.items()}
        if value.get("class_name") not in ("InputLayer", None) and \
                isinstance(out.get("config"), dict):
            out["config"].pop("batch_input_shape", None)
        return out
    return strip(model_to_config(model))


def assert_same_state(model, loaded):
    assert len(loaded.weights) == len(model.weights)
    for a, b in zip(model.weights, loaded.weights):
        assert a.shape == b.shape and np.array_equal(a.numpy(), b.numpy()), a.path
    ours, theirs = model.optimizer.variables, loaded.optimizer.variables
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        assert np.array_equal(a.numpy(), b.numpy()), a.path


# ----------------------------------------------------------------------------- round trips
FAMILIES = [sequential, conv_sequential, functional, subclassed, custom_layer_model]


@pytest.mark.parametrize("factory", FAMILIES)
def test_round_trip_every_family(tmp_path, factory):
    model, x = trained(factory)
    path = str(tmp_path / "m.keras")
    model.save(path)
    keras.backend.clear_session()
    loaded = keras.models.load_model(path, custom_objects={"Scale": Scale})
    assert type(loaded) is type(model)
    assert [l.name for l in loaded.layers] == [l.name for l in model.layers]
    for a, b in zip(flat(model.predict(x, verbose=0)), flat(loaded.predict(x, verbose=0))):
        np.testing.assert_array_equal(a, b)
    loaded.predict(x, verbose=0)  # builds nothing new: the optimizer state is already there
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    assert int(loaded.optimizer.iterations.numpy()) == int(model.optimizer.iterations.numpy())
    assert architecture(loaded) == architecture(model)
    assert os.listdir(tmp_path) == ["m.keras"]


@pytest.mark.parametrize("factory", [sequential, functional, custom_layer_model])
def test_continuing_fit_matches_the_original_bit_for_bit(tmp_path, factory):
    model, x = trained(factory)
    y = targets_for(model)
    path = str(tmp_path / "m.keras")
    model.save(path)
    loaded = keras.models.load_model(path, custom_objects={"Scale": Scale})
    set_random_seed(11)
    model.fit(x, y, epochs=2, batch_size=4, verbose=0)
    set_random_seed(11)
    loaded.fit(x, y, epochs=2, batch_size=4, verbose=0)
    assert_same_state(model, loaded)


def test_layout_matches_keras3(tmp_path):
    model, _ = trained(sequential)
    path = str(tmp_path / "m.keras")
    model.save(path)
    with zipfile.ZipFile(path) as zf:
        infos = zf.infolist()
        assert [i.filename for i in infos] == ["metadata.json", "config.json", "model.weights.h5"]
        assert {i.compress_type for i in infos} == {zipfile.ZIP_STORED}
        meta = json.loads(zf.read("metadata.json"))
        config = json.loads(zf.read("config.json"))
        weights = h5py.File(io.BytesIO(zf.read("model.weights.h5")), "r")
    assert meta["keras_version"] == keras3.KERAS_VERSION and "@" in meta["date_saved"]
    assert (config["module"], config["class_name"], config["registered_name"]) == \
        ("keras", "Sequential", None)
    first, dense = config["config"]["layers"][:2]
    assert first["class_name"] == "InputLayer" and first["config"]["batch_shape"] == [None, 5]
    assert dense["module"] == "keras.layers" and dense["registered_name"] is None
    assert dense["config"]["dtype"] == {"module": "keras", "class_name": "DTypePolicy",
                                        "config": {"name": "float32"}, "registered_name": None}
    assert dense["config"]["kernel_initializer"]["module"] == "keras.initializers"
    assert "batch_input_shape" not in dense["config"]
    compiled = config["compile_config"]
    assert compiled["optimizer"]["module"] == "keras.optimizers"
    assert "jit_compile" not in compiled["optimizer"]["config"]
    assert compiled["loss"]["config"]["from_logits"] is True
    assert compiled["metrics"] == ["accuracy"]
    assert sorted(weights["layers"]) == ["dense", "dense_1", "dropout"]
    assert weights["layers/dense/vars/0"].shape == (5, 8)
    assert weights["optimizer/vars"].attrs["name"] == "adam"
    assert len(weights["optimizer/vars"]) == 2 + 2 * 4  # iteration, lr, m and v per variable


def test_functional_config_uses_keras3_nodes(tmp_path):
    model, _ = trained(functional)
    config = keras3.to_keras3(model_to_config(model), None)
    assert (config["module"], config["class_name"]) == ("keras.src.models.functional",
                                                        "Functional")
    assert config["config"]["input_layers"] == [["image", 0, 0], ["tokens", 0, 0]]
    conv = next(l for l in config["config"]["layers"] if l["class_name"] == "Conv2D")
    arg = conv["inbound_nodes"][0]["args"][0]
    assert arg["class_name"] == "__keras_tensor__" and arg["config"]["keras_history"] == \
        ["image", 0, 0]
    norm = next(l for l in config["config"]["layers"] if l["class_name"] == "BatchNormalization")
    assert norm["config"]["axis"] == 3
    single = keras.Model(*(lambda i: (i, keras.layers.Dense(2)(i)))(keras.Input((3,))))
    config = keras3.to_keras3(model_to_config(single), None)
    assert config["config"]["input_layers"] == [single.layers[0].name, 0, 0]


def test_include_optimizer_false_and_compile_false(tmp_path):
    model, x = trained(sequential)
    path = str(tmp_path / "m.keras")
    model.save(path, include_optimizer=False)
    with zipfile.ZipFile(path) as zf:
        assert "compile_config" not in json.loads(zf.read("config.json"))
        assert "optimizer" not in h5py.File(io.BytesIO(zf.read("model.weights.h5")), "r")
    with pytest.warns(UserWarning, match=r"No training configuration found"):
        loaded = keras.models.load_model(path)
    assert loaded.optimizer is None
    model.save(path)
    inference = keras.models.load_model(path, compile=False)
    assert inference.optimizer is None
    np.testing.assert_array_equal(inference.predict(x, verbose=0), model.predict(x, verbose=0))


def test_save_format_keras_and_model_checkpoint(tmp_path):
    model, x = trained(sequential)
    model.save(str(tmp_path / "plain"), save_format="keras")
    assert zipfile.is_zipfile(tmp_path / "plain")
    callback = keras.callbacks.ModelCheckpoint(str(tmp_path / "ep{epoch}.keras"),
                                               save_weights_only=False)
    model.fit(x, targets_for(model), epochs=1, batch_size=4, verbose=0, callbacks=[callback])
    loaded = keras.models.load_model(str(tmp_path / "ep1.keras"))
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


# ----------------------------------------------------------------------------- golden Keras 3
def golden(name):
    return os.path.join(FIXTURES, f"{name}.keras"), np.load(os.path.join(FIXTURES, f"{name}.npz"))


@pytest.mark.parametrize("name", ["tutorial", "functional"])
def test_golden_keras3_files_load_with_same_predictions_and_state(name):
    path, expected = golden(name)
    model = keras.models.load_model(path)
    inputs = [expected[k] for k in sorted(expected.files) if k.startswith("x")]
    got = model.predict(inputs if len(inputs) > 1 else inputs[0], verbose=0)
    np.testing.assert_allclose(got, expected["y"], rtol=1e-5, atol=1e-5)
    weights = model.get_weights()
    assert len(weights) == len([k for k in expected.files if k.startswith("w")])
    for i, w in enumerate(weights):
        assert w.tobytes() == expected[f"w{i}"].tobytes(), f"weight {i}"
    opt = model.optimizer
    assert int(opt.iterations.numpy()) == int(expected["iterations"]) == 1
    assert np.float32(opt.learning_rate) == np.float32(expected["learning_rate"])
    model.fit(inputs if len(inputs) > 1 else inputs[0],  # applies the deferred Adam slots
              np.zeros((len(inputs[0]),), "int64") if name == "tutorial"
              else np.zeros((len(inputs[0]), 3), "float32"), epochs=0, verbose=0)


def test_golden_tutorial_compile_config_and_adam_slots():
    path, expected = golden("tutorial")
    model = keras.models.load_model(path)
    loss = model._compile_config["loss"]
    assert type(loss).__name__ == "SparseCategoricalCrossentropy" and loss.from_logits is True
    assert [type(m).__name__ for m in model._compile_config["metrics"]] == \
        ["SparseCategoricalAccuracy"]
    assert type(model.optimizer).__name__ == "Adam"
    x = expected["x0"]
    model.optimizer.build(model.trainable_variables)
    slots = [v.numpy() for v in model.optimizer.variables[1:]]
    keras3_slots = [expected[f"opt{i}"] for i in range(2, len(slots) + 2)]
    assert len(slots) == len(keras3_slots) == 2 * len(model.trainable_variables)
    for ours, theirs in zip(slots, keras3_slots):
        assert ours.tobytes() == theirs.tobytes()
    assert model.predict(x, verbose=0).shape == (6, 10)


# ----------------------------------------------------------------------------- custom objects
def test_custom_layer_via_custom_objects_scope_and_registration(tmp_path):
    model, x = trained(custom_layer_model)
    path = str(tmp_path / "m.keras")
    model.save(path)
    with pytest.raises(UnknownObjectError, match=r"Could not locate layer 'Scale'.*"
                                                 r"custom_objects=\{'Scale': Scale\}"):
        keras.models.load_model(path)
    with keras.saving.custom_object_scope({"Scale": Scale}):
        scoped = keras.models.load_model(path)
    np.testing.assert_array_equal(scoped.predict(x, verbose=0), model.predict(x, verbose=0))
    assert scoped.layers[1].factor == 3.0
    registered = keras.saving.register_serializable("test_model_keras_reg")(
        type("Scale2", (Scale,), {}))
    m2 = keras.Sequential([registered(1.5, input_shape=(2,))])
    m2.save(str(tmp_path / "r.keras"))
    with zipfile.ZipFile(tmp_path / "r.keras") as zf:
        entry = json.loads(zf.read("config.json"))["config"]["layers"][1]
    assert entry["registered_name"] == "test_model_keras_reg>Scale2"
    assert entry["config"]["dtype"]["class_name"] == "DTypePolicy"
    again = keras.models.load_model(str(tmp_path / "r.keras"), compile=False)
    assert type(again.layers[0]) is registered and again.layers[0].factor == 1.5


def test_lambda_code_loads_only_outside_safe_mode(tmp_path):
    model = keras.Sequential([keras.layers.Dense(2, input_shape=(3,)),
                              keras.layers.Lambda(lambda t: t * 3 + 1)])
    path = str(tmp_path / "m.keras")
    model.save(path)
    with zipfile.ZipFile(path) as zf:
        entry = json.loads(zf.read("config.json"))["config"]["layers"][2]
    assert entry["config"]["function"]["class_name"] == "__lambda__"
    assert "function_type" not in entry["config"]
    with pytest.raises(ConfigError, match=r"arbitrary code execution.*safe_mode=False"):
        keras.models.load_model(path)
    loaded = keras.models.load_model(path, safe_mode=False, compile=False)
    x = RNG.random((4, 3), dtype=np.float32)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def rewrite(path, edit_config=None, edit_meta=None, extra=(), drop=(), rename=None):
    """Rebuild the archive at ``path`` with its JSON edited and members added or dropped."""
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    if edit_config:
        config = json.loads(members["config.json"])
        edit_config(config)
        members["config.json"] = json.dumps(config).encode()
    if edit_meta:
        members["metadata.json"] = json.dumps(edit_meta).encode()
    for name in drop:
        members.pop(name)
    if rename:
        members[rename[1]] = members.pop(rename[0])
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in list(members.items()) + list(extra):
            zf.writestr(name, data)


def small_saved(tmp_path, **kwargs):
    model = keras.Sequential([keras.layers.Dense(3, input_shape=(2,)), keras.layers.Dense(1)])
    model.compile("adam", "mse")
    path = str(tmp_path / "m.keras")
    model.save(path)
    return path


def test_config_naming_an_arbitrary_module_or_function_is_refused(tmp_path):
    path = small_saved(tmp_path)

    def evil_activation(config):
        config["config"]["layers"][1]["config"]["activation"] = {
            "module": "os", "class_name": "function", "config": "system",
            "registered_name": "function"}
    rewrite(path, edit_config=evil_activation)
    with pytest.raises(UnknownObjectError, match=r"function 'system' of module 'os'.*never "
                                                 r"imports"):
        keras.models.load_model(path)

    def evil_class(config):
        config["config"]["layers"][1].update(module="subprocess", class_name="Popen",
                                             registered_name=None)
    path = small_saved(tmp_path)
    rewrite(path, edit_config=evil_class)
    with pytest.raises(UnknownObjectError, match=r"Could not locate layer 'Popen'"):
        keras.models.load_model(path)


def test_keras3_settings_savepoint_lacks_are_refused_not_dropped(tmp_path):
    path = small_saved(tmp_path)
    rewrite(path, edit_config=lambda c: c["config"]["layers"][1]["config"].update(
        quantization_config={"mode": "int8"}))
    with pytest.raises(ConfigError, match=r"Dense in this Keras 3 file sets "
                                          r"quantization_config=.*does not support"):
        keras.models.load_model(path)


# ----------------------------------------------------------------------------- assets
class Vocabulary(keras.layers.Layer):
    """Holds a vocabulary shipped as an asset."""

    def __init__(self, vocabulary=None, **kwargs):
        super().__init__(**kwargs)
        self.vocabulary = list(vocabulary or [])

    def call(self, x):
        return x * float(len(self.vocabulary))

    def get_assets(self):
        return {"vocabulary.txt": "\n".join(self.vocabulary).encode()}

    def load_assets(self, files):
        self.vocabulary = files["vocabulary.txt"].decode().split("\n")


def test_assets_round_trip_under_the_layer_path(tmp_path):
    model = keras.Sequential([Vocabulary(["a", "b", "c"], input_shape=(2,))])
    path = str(tmp_path / "m.keras")
    model.save(path)
    with zipfile.ZipFile(path) as zf:
        assert zf.read("assets/layers/vocabulary/vocabulary.txt") == b"a\nb\nc"
    loaded = keras.models.load_model(path, custom_objects={"Vocabulary": Vocabulary},
                                     compile=False)
    assert loaded.layers[0].vocabulary == ["a", "b", "c"]


# ----------------------------------------------------------------------------- bad input
def test_missing_path_unbuilt_model_and_directory_target(tmp_path):
    with pytest.raises(CheckpointNotFoundError, match=r"Expected a saved model"):
        keras.models.load_model(str(tmp_path / "none.keras"))
    with pytest.raises(NotBuiltError, match=r"cannot be saved before it is built"):
        keras.Sequential([keras.layers.Dense(2)]).save(str(tmp_path / "u.keras"))
    os.mkdir(tmp_path / "d.keras")
    with pytest.raises(OverwriteError, match=r"Received an existing directory"):
        sequential().save(str(tmp_path / "d.keras"))


def test_not_a_zip_and_truncated(tmp_path):
    path = str(tmp_path / "x.keras")
    open(path, "wb").write(b"not a zip at all" * 10)
    with pytest.raises(FormatError, match=r"cannot be read as a zip file"):
        keras.models.load_model(path)
    good = small_saved(tmp_path)
    data = open(good, "rb").read()
    for cut in (len(data) // 2, len(data) - 10):
        open(path, "wb").write(data[:cut])
        with pytest.raises(FormatError, match=r"cannot be read as a zip file|truncated"):
            keras.models.load_model(path)


def test_corrupted_weights_fail_the_crc(tmp_path):
    path = small_saved(tmp_path)
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("model.weights.h5")
        start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    data = bytearray(open(path, "rb").read())
    data[start + info.file_size - 20] ^= 0xFF
    open(path, "wb").write(bytes(data))
    with pytest.raises(FormatError, match=r"member 'model.weights.h5' is damaged.*CRC"):
        keras.models.load_model(path)


@pytest.mark.parametrize("name,message", [
    ("../evil.txt", r"member '../evil.txt' points outside the archive's root"),
    ("/etc/evil", r"member '/etc/evil' points outside the archive's root"),
    ("assets/../../evil", r"points outside the archive's root"),
    ("C:/evil", r"points outside the archive's root"),
    ("extra.txt", r"unexpected member 'extra.txt'; expected only"),
])
def test_entries_outside_the_root_or_unexpected_are_refused(tmp_path, name, message):
    path = small_saved(tmp_path)
    rewrite(path, extra=[(name, b"x")])
    with pytest.raises(FormatError, match=message):
        keras.models.load_model(path)
    assert sorted(os.listdir(tmp_path)) == ["m.keras"]


def test_missing_members_duplicates_and_npz_weights(tmp_path):
    path = small_saved(tmp_path)
    rewrite(path, drop=["model.weights.h5"])
    with pytest.raises(FormatError, match=r"\['model.weights.h5'\] is missing"):
        keras.models.load_model(path)
    path = small_saved(tmp_path)
    rewrite(path, rename=("model.weights.h5", "model.weights.npz"))
    with pytest.raises(FormatError, match=r"weights_format='npz'"):
        keras.models.load_model(path)
    path = small_saved(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate name
        rewrite(path, extra=[("config.json", b"{}")])
    with pytest.raises(FormatError, match=r"member 'config.json' appears twice"):
        keras.models.load_model(path)


def set_central_sizes(path, member, uncompressed):
    """Patch the central directory's uncompressed size of ``member`` (a forged header)."""
    data = bytearray(open(path, "rb").read())
    at = 0
    while True:
        at = data.index(b"PK\x01\x02", at)
        name_len = struct.unpack_from("<H", data, at + 28)[0]
        if data[at + 46:at + 46 + name_len].decode() == member:
            struct.pack_into("<I", data, at + 24, uncompressed)
            break
        at += 4
    open(path, "wb").write(bytes(data))


def test_absurd_sizes_are_refused_before_reading(tmp_path):
    path = small_saved(tmp_path)
    set_central_sizes(path, "config.json", 0xFFFFFFF0)
    with pytest.raises(FormatError, match=r"'config.json' declares 4294967280 bytes "
                                          r"uncompressed .*zip bomb"):
        keras.models.load_model(path)
    path = small_saved(tmp_path)
    rewrite(path, extra=[])
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("assets/big.bin", b"\0" * 2_000_000)
    set_central_sizes(path, "assets/big.bin", 0xFFFFFFF0)
    with pytest.raises(FormatError, match=r"'assets/big.bin' declares .*zip bomb"):
        keras.models.load_model(path)
    with pytest.raises(FormatError, match=r"more than the 1073741824 allowed"):
        archive = keras_zip.KerasArchive.__new__(keras_zip.KerasArchive)
        archive.path, archive._size = path, 1 << 62
        info = zipfile.ZipInfo("assets/huge")
        info.header_offset = 0
        info.file_size = info.compress_size = (1 << 30) + 1
        archive._check_size(info)


def test_future_format_and_bad_json(tmp_path):
    path = small_saved(tmp_path)
    rewrite(path, edit_meta={"keras_version": "4.0.0", "date_saved": "2031-01-01@00:00:00"})
    with pytest.raises(FormatError, match=r"saved by Keras 4.0.0; this savepoint reads "
                                          r"'.keras' files of Keras 3.x.*upgrade savepoint"):
        keras.models.load_model(path)
    rewrite(path, edit_meta={"date_saved": "x"})
    with pytest.raises(FormatError, match=r"'keras_version' such as '3.15.1'. Received None"):
        keras.models.load_model(path)
    path = small_saved(tmp_path)
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    members["config.json"] = b"{not json"
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    with pytest.raises(FormatError, match=r"config.json is not valid UTF-8 JSON"):
        keras.models.load_model(path)


def test_weights_that_do_not_fit_the_config_leave_nothing_half_loaded(tmp_path):
    path = small_saved(tmp_path)
    rewrite(path, edit_config=lambda c: c["config"]["layers"][1]["config"].update(units=4))
    with pytest.raises(SavepointError, match=r"shape|Shape"):
        keras.models.load_model(path)
    assert sorted(os.listdir(tmp_path)) == ["m.keras"]


def test_failed_save_keeps_the_previous_file_and_leaves_no_temp(tmp_path, monkeypatch):
    path = small_saved(tmp_path)
    before = open(path, "rb").read()

    def boom(*args, **kwargs):
        raise OSError("disk full")
    monkeypatch.setattr(keras_zip.MemberWindow, "write", boom)  # h5py writes in place
    with pytest.raises(OSError, match="disk full"):
        sequential().save(path)
    assert open(path, "rb").read() == before
    assert os.listdir(tmp_path) == ["m.keras"]


def test_extracted_weights_live_in_a_private_temp_dir_removed_on_close(tmp_path):
    path = small_saved(tmp_path)
    with keras_zip.KerasArchive(path) as archive:
        extracted = archive.extract_weights()
        assert os.path.dirname(extracted) != str(tmp_path) and os.path.exists(extracted)
        assert archive.asset_names == []
        with pytest.raises(FormatError, match=r"it has no asset 'x'"):
            archive.read_asset("x")
    assert not os.path.exists(os.path.dirname(extracted))


def test_asset_names_are_checked_on_write(tmp_path):
    weights = str(tmp_path / "w.h5")
    open(weights, "wb").close()
    with pytest.raises(FormatError, match=r"Cannot write asset '../x'"):
        keras_zip.write_archive(str(tmp_path / "m.keras"), {}, {}, weights, {"../x": b""})
    assert os.listdir(tmp_path) == ["w.h5"]


# ----------------------------------------------------------------------------- dialect
@pytest.mark.parametrize("factory", [sequential, conv_sequential, functional])
def test_dialect_round_trip_is_lossless(factory):
    model = factory()
    native = model_to_config(model)
    back, compiled = keras3.from_keras3(json.loads(json.dumps(keras3.to_keras3(native, None))))
    keras.backend.clear_session()
    rebuilt = keras.models.Model.from_config(back["config"]) if back["class_name"] == "Model" \
        else keras.Sequential.from_config(back["config"])
    assert compiled is None
    assert architecture(rebuilt)["config"] == architecture(model)["config"]


def test_check_metadata_rejects_pre_keras3_versions():
    with pytest.raises(FormatError, match=r"claims Keras 2.15.0, which never wrote"):
        keras3.check_metadata({"keras_version": "2.15.0"}, "m.keras")
    with pytest.raises(FormatError, match=r"Expected config.json to describe a model"):
        keras3.from_keras3({"layers": []})


def test_weights_are_written_in_place_and_a_deflated_copy_loads_the_same(tmp_path):
    model = sequential()
    model.compile("adam", "mse")
    x = np.random.default_rng(0).random((4, 5), dtype=np.float32)
    model.train_on_batch(x, np.zeros((4, 3), np.float32))
    path = str(tmp_path / "m.keras")
    model.save(path)
    assert sorted(os.listdir(tmp_path)) == ["m.keras"]  # no temporary .h5 beside it
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None  # every CRC-32 patched in matches
        members = {name: zf.read(name) for name in zf.namelist()}
    deflated = str(tmp_path / "d.keras")
    with zipfile.ZipFile(deflated, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    for loaded in (keras.models.load_model(path), keras.models.load_model(deflated)):
        np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
        for ours, theirs in zip(loaded.optimizer.variables, model.optimizer.variables):
            np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_member_window_reads_and_writes_only_its_range(tmp_path):
    path = str(tmp_path / "f.bin")
    with open(path, "w+b") as f:
        f.write(b"head")
        window = keras_zip.MemberWindow(f.fileno(), 4)
        assert window.write(b"0123456789") == 10 and window.end == 10
        window.seek(2)
        window.write(b"xy")
        window.truncate(8)
        reader = keras_zip.MemberWindow(f.fileno(), 4, 8)
        assert reader.read() == b"01xy4567"
        reader.seek(-3, 2)
        assert reader.read(10) == b"567"
        with pytest.raises(io.UnsupportedOperation, match="read-only member window"):
            reader.write(b"z")
    assert open(path, "rb").read() == b"head01xy4567"
