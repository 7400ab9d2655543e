"""Loading a model directory never runs code from the files: Lambda bytecode only with
safe_mode=False, no module named in a file is imported, the inference program is validated,
no pickle; damaged, tampered, foreign and future directories fail with clear errors."""

import json
import os
import pickle
import sys

import numpy as np
import pytest
import torch

import savepoint as keras
from savepoint.errors import ConfigError, FormatError, UnknownObjectError
from savepoint.layers.core.lambda_layer import Lambda
from savepoint.saving.handlers import fingerprint
from savepoint.exports import inference
from savepoint.saving.handlers import model_dir
from savepoint.serialization import deserialize, serialize

X = np.random.default_rng(0).random((4, 3), dtype=np.float32)


def saved(tmp_path, model=None):
    model = model or keras.Sequential([keras.layers.Dense(2, input_shape=(3,))])
    path = str(tmp_path / "m")
    model.save(path)
    return model, path


def edit_meta(path, change):
    meta_path = os.path.join(path, "saved_model.json")
    meta = json.load(open(meta_path))
    change(meta)
    open(meta_path, "w").write(json.dumps(meta))
    fingerprint.write_fingerprint(path)  # a crafted file: the fingerprint matches it


# ----------------------------------------------------------------------------- Lambda
def lambda_model():
    return keras.Sequential([keras.layers.Dense(2, input_shape=(3,)),
                             keras.layers.Lambda(lambda t: t * 3.0 + 1.0)])


def test_lambda_refused_in_safe_mode_and_loaded_when_unsafe(tmp_path):
    model, path = saved(tmp_path, lambda_model())
    with pytest.raises(ConfigError, match=r"arbitrary code execution.*safe_mode=False"):
        keras.models.load_model(path)
    loaded = keras.models.load_model(path, safe_mode=False)
    np.testing.assert_array_equal(loaded.predict(X, verbose=0), model.predict(X, verbose=0))


def test_lambda_config_is_keras_func_dump_and_round_trips():
    layer = Lambda(lambda t, k=2.0: t * k, output_shape=(3,), arguments={"k": 4.0})
    config = layer.get_config()
    assert config["function_type"] == "lambda" and config["output_shape_type"] == "raw"
    code, defaults, closure = config["function"]
    assert isinstance(code, str) and defaults == [2.0] and closure is None
    rebuilt = Lambda.from_config(config)
    assert rebuilt.get_config() == config
    x = torch.ones(2, 3)
    assert torch.equal(rebuilt(x), layer(x)) and torch.equal(layer(x), x * 4.0)
    assert layer.compute_output_shape((None, 3)) == (None, 3)
    clone = deserialize(serialize(layer))
    assert torch.equal(clone(x), x * 4.0)


def test_lambda_passes_training_and_infers_shape():
    seen = []
    layer = Lambda(lambda t, training=None: seen.append(training) or t[:, :1])
    model = keras.Sequential([keras.layers.Dense(2, input_shape=(3,)), layer])
    assert layer.output_shape == (None, 1)
    model.predict(X, verbose=0)
    assert seen[-1] is False


def scale_by_two(t):
    return t * 2.0


def test_named_function_only_from_custom_objects(tmp_path):
    model = keras.Sequential([keras.layers.Dense(2, input_shape=(3,)), Lambda(scale_by_two)])
    config = model.layers[1].get_config()
    assert config["function"] == "scale_by_two" and config["function_type"] == "function"
    assert config["module"] == __name__
    _, path = saved(tmp_path, model)
    with pytest.raises(UnknownObjectError, match=r"Could not locate the Lambda function "
                                                 r"'scale_by_two'.*never imports a module"):
        edit_meta(path, lambda m: m["inference"].update(available=False))
        keras.models.load_model(path)
    loaded = keras.models.load_model(path, custom_objects={"scale_by_two": scale_by_two})
    np.testing.assert_array_equal(loaded.predict(X, verbose=0), model.predict(X, verbose=0))


def test_lambda_bad_arguments_and_bytecode():
    with pytest.raises(ConfigError, match=r"Lambda expected a callable"):
        Lambda(3)
    with pytest.raises(ConfigError, match=r"does not propagate masks"):
        Lambda(lambda t: t, mask=lambda t, m: m)
    config = Lambda(lambda t: t).get_config()
    config["function"] = ["bm90IG1hcnNoYWw=", None, None]
    with pytest.raises(ConfigError, match=r"stored bytecode is unreadable"):
        Lambda.from_config(config)
    config["function_type"] = "exec"
    with pytest.raises(ConfigError, match=r"Unknown Lambda function_type 'exec'"):
        Lambda.from_config(config)


# ----------------------------------------------------------------------------- configs
def test_config_naming_a_module_is_never_imported(tmp_path, monkeypatch):
    evil = tmp_path / "evil_module_sp.py"
    evil.write_text("import builtins\nbuiltins.EVIL_IMPORTED = True\n"
                    "class Payload:\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    _, path = saved(tmp_path)

    def plant(meta):
        layer = meta["model_config"]["config"]["layers"][1]
        layer.update(module="evil_module_sp", class_name="Payload",
                     registered_name="evil_module_sp>Payload")
        meta["inference"] = {"available": False, "reason": "removed"}
    edit_meta(path, plant)
    with pytest.raises(UnknownObjectError, match=r"Could not locate layer 'Payload'.*"
                                                 r"custom_objects=\{'Payload': Payload\}"):
        keras.models.load_model(path)
    assert "evil_module_sp" not in sys.modules
    assert not hasattr(__import__("builtins"), "EVIL_IMPORTED")


def test_unknown_extension_is_refused(tmp_path):
    model = keras.Sequential([keras.layers.Dense(2, input_shape=(3,))])
    with pytest.raises(ConfigError, match=r"Unknown model file extension '.pkl'"):
        model.save(str(tmp_path / "model.pkl"))


# ----------------------------------------------------------------------------- damaged files
def test_tampered_variables_file_names_the_file(tmp_path):
    _, path = saved(tmp_path)
    data_file = os.path.join(path, "variables", "variables.data-00000-of-00001")
    data = bytearray(open(data_file, "rb").read())
    data[5] ^= 0xFF
    open(data_file, "wb").write(bytes(data))
    # load_model leaves the data shards to the per-tensor crc32c it checks while reading
    # (no second pass over a large file); the message names the tensor and the file.
    with pytest.raises(FormatError, match=r"Checksum mismatch for tensor \"layer_with_weights-0/"
                                          r"kernel/.*variables.data-00000-of-00001' is damaged"):
        keras.models.load_model(path)


def test_truncated_index_and_missing_and_extra_files(tmp_path):
    _, path = saved(tmp_path)
    index = os.path.join(path, "variables", "variables.index")
    open(index, "r+b").truncate(20)
    with pytest.raises(FormatError, match=r"'variables/variables.index'.*does not match"):
        keras.models.load_model(path)
    os.remove(index)
    with pytest.raises(FormatError, match=r"incomplete: 'variables/variables.index' is listed"):
        keras.models.load_model(path)
    _, path = saved(tmp_path / "b")
    open(os.path.join(path, "assets", "new.txt"), "w").write("x")
    with pytest.raises(FormatError, match=r"'assets/new.txt', which fingerprint.json does not"):
        keras.models.load_model(path)


def test_truncated_variables_with_matching_fingerprint(tmp_path):
    _, path = saved(tmp_path)
    data_file = os.path.join(path, "variables", "variables.data-00000-of-00001")
    open(data_file, "r+b").truncate(10)
    fingerprint.write_fingerprint(path)
    with pytest.raises(FormatError, match=r"data file is truncated"):
        keras.models.load_model(path, compile=False)


def test_future_format_version(tmp_path):
    _, path = saved(tmp_path)
    edit_meta(path, lambda m: m.update(format_version=2))
    with pytest.raises(FormatError, match=r"format_version 2.*reads format_version up to 1\. "
                                          r"Fix: upgrade savepoint"):
        keras.models.load_model(path)
    edit_meta(path, lambda m: m.update(format_version="1"))
    with pytest.raises(FormatError, match=r"Expected an integer format_version"):
        keras.models.load_model(path)
    edit_meta(path, lambda m: m.update(format="other"))
    with pytest.raises(FormatError, match=r"declare format 'savepoint.model'. Received 'other'"):
        keras.models.load_model(path)


def test_not_a_model_directory(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(FormatError, match=r"is not a savepoint model directory: expected "
                                          r"saved_model.json"):
        keras.models.load_model(str(tmp_path / "empty"))
    (tmp_path / "tf").mkdir()
    (tmp_path / "tf" / "saved_model.pb").write_bytes(b"\x08\x01")
    # a SavedModel goes to the SavedModel reader, which names what is missing
    with pytest.raises(FormatError, match=r"Expected the SavedModel .* to hold its variables in "
                                          r"variables/variables.index. Received \['saved_model.pb'\]"):
        keras.models.load_model(str(tmp_path / "tf"))
    (tmp_path / "afile").write_bytes(b"x")
    with pytest.raises(FormatError, match=r"Received a file"):
        keras.models.load_model(str(tmp_path / "afile"))
    with pytest.raises(keras.errors.CheckpointNotFoundError, match=r"does not exist"):
        keras.models.load_model(str(tmp_path / "nowhere"))
    _, path = saved(tmp_path)
    os.remove(os.path.join(path, "fingerprint.json"))
    with pytest.raises(FormatError, match=r"has no fingerprint.json"):
        keras.models.load_model(path)
    open(os.path.join(path, "fingerprint.json"), "w").write("[1]")
    with pytest.raises(FormatError, match=r"to be a savepoint fingerprint"):
        keras.models.load_model(path)


def test_bad_meta_json(tmp_path):
    _, path = saved(tmp_path)
    open(os.path.join(path, "saved_model.json"), "w").write("{not json")
    fingerprint.write_fingerprint(path)
    with pytest.raises(FormatError, match=r"Expected JSON in .*saved_model.json"):
        keras.models.load_model(path)


# ----------------------------------------------------------------------------- program checks
def program_doc(tmp_path):
    _, path = saved(tmp_path)
    return json.load(open(os.path.join(path, "inference", "program.json"))), path


@pytest.mark.parametrize("poison, message", [
    (lambda d: d["graph_module"]["graph"]["nodes"][0].update(target="torch.save"),
     r"a call of 'torch.save'"),
    (lambda d: d["graph_module"]["graph"]["nodes"][0].update(target="builtins.eval"),
     r"a call of 'builtins.eval'"),
    (lambda d: d.update(guards_code=["__import__('os').system('x')"]), r"guard code"),
    (lambda d: d["graph_module"]["graph"]["nodes"][0].update(name="x; import os"),
     r"the name 'x; import os'"),
    (lambda d: d["graph_module"]["graph"]["nodes"][0]["inputs"][0]["arg"].update(
        as_custom_obj={"name": "o", "class_fqn": "os.system"}), r"'as_custom_obj' entry"),
    (lambda d: d["graph_module"]["graph"]["nodes"][0].update(
        extra={"expr_str": "__import__('os').getcwd()"}), r"shape expression"),
    (lambda d: d["graph_module"]["graph"]["nodes"][0].update(
        extra={"expr_str": "Symbol('s0').func.__globals__"}), r"shape expression"),
])
def test_program_validation_refuses_code(tmp_path, poison, message):
    doc, path = program_doc(tmp_path)
    inference.check_program(json.loads(json.dumps(doc)), "p")  # the real program passes
    poison(doc)
    with pytest.raises(FormatError, match=message):
        inference.check_program(doc, "p")
    open(os.path.join(path, "inference", "program.json"), "w").write(json.dumps(doc))
    fingerprint.write_fingerprint(path)
    with pytest.raises(FormatError, match=message):
        model_dir.load_inference(path, model_dir.read_meta(path))


def test_symbolic_shape_expressions_are_accepted():
    for expr in ["Symbol('s52', positive=True, integer=True)", "2*s0 + 1", "Max(1, s0)",
                 "FloorDiv(s1, 2)"]:
        inference._check_expr(expr, "p")


def test_no_pickle_or_torch_load_while_loading(tmp_path, monkeypatch):
    model, path = saved(tmp_path)

    def forbidden(*args, **kwargs):
        raise AssertionError("unpickling attempted")
    monkeypatch.setattr(torch, "load", forbidden)
    monkeypatch.setattr(pickle, "loads", forbidden)
    monkeypatch.setattr(pickle, "load", forbidden)
    monkeypatch.setattr(pickle, "Unpickler", forbidden)
    loaded = keras.models.load_model(path)
    program = model_dir.load_inference(path, model_dir.read_meta(path))
    expected = model.predict(X, verbose=0)
    np.testing.assert_array_equal(loaded.predict(X, verbose=0), expected)
    np.testing.assert_allclose(program.predict(X, verbose=0), expected, rtol=1e-6, atol=1e-6)
    for name in ("saved_model.json", "fingerprint.json", "inference/program.json"):
        head = open(os.path.join(path, name), "rb").read(2)
        assert head[:1] in (b"{", b"["), name
