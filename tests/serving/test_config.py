"""The text-proto files of ``savepoint serve`` (TF Serving's model config and batching
parameters) and its flags, in process: what parses, and the error for each mistake."""

from __future__ import annotations

import argparse

import pytest

from savepoint.cli import build_parser
from savepoint.cli.serve_command import batching_parameters, model_configs
from savepoint.errors import ConfigError
from savepoint.serving.config import (BatchingParameters, ModelConfig, parse_batching_parameters,
                                      parse_model_config, parse_text_proto)

TF_SERVING_CONFIG = """
# the example of TF Serving's configuration guide, plus labels and policies
model_config_list {
  config {
    name: 'my_first_model'
    base_path: '/tmp/my_first_model/'
    model_platform: 'tensorflow'
  }
  config: {
    name: "my_second_model",
    base_path: "/tmp/my_second_model/";
    model_version_policy: { specific { versions: 42 versions: 43 } }
    version_labels { key: 'stable' value: 42 }
    version_labels { key: 'canary' value: 43 }
  }
  config < name: "third" base_path: "/m/\\"q\\"" model_version_policy { all: {} } >
  config { name: "fourth" base_path: "/m/4" model_version_policy { latest { num_versions: 2 } } }
}
"""


def test_tf_serving_model_config_parses():
    configs = parse_model_config(TF_SERVING_CONFIG)
    assert configs == [
        ModelConfig("my_first_model", "/tmp/my_first_model/"),
        ModelConfig("my_second_model", "/tmp/my_second_model/", "tensorflow",
                    ("specific", (42, 43)), {"stable": 42, "canary": 43}),
        ModelConfig("third", '/m/"q"', "tensorflow", ("all",)),
        ModelConfig("fourth", "/m/4", "tensorflow", ("latest", 2))]


def test_text_proto_scalars():
    fields = parse_text_proto('a: -3 b: 2.5 c: true d: False e: ENUM f: "x\\ny" g: 1e-3')
    assert [(f.name, f.value) for f in fields] == [
        ("a", -3), ("b", 2.5), ("c", True), ("d", False), ("e", "ENUM"), ("f", "x\ny"),
        ("g", 0.001)]


MODEL_CONFIG_ERRORS = [
    ("", ["expected at least one model_config_list { config { ... } }. Received none."]),
    ("model_config_list {}", ["expected at least one model_config_list"]),
    ("model_config_list { config { name: \"a\" base_path: \"/x\" }",
     ["expected '}' to close a message. Received the end of the file."]),
    ("model_config_list { config { name: \"a\" base_path: \"/x\" } } }",
     [":1: expected a field name. Received '}'."]),
    ("model_config_list { config { name: \"a\" base_path }",
     ["expected a value (a quoted string, a number, true or false). Received '}'"]),
    ("model_config_list {\n config {\n name: \"a\"\n path: \"/x\" } }",
     [":4: expected one of the fields ['base_path', 'model_platform', 'model_version_policy', "
      "'name', 'version_labels'] in config. Received 'path'."]),
    ("model_config_list { config { name: 3 base_path: \"/x\" } }",
     [":1: expected 'name' in config to be str. Received 3. Fix: write name: <str>."]),
    ("model_config_list { config { base_path: \"/x\" } }",
     ["expected a non-empty 'name' in config. Received None."]),
    ("model_config_list { config { name: \"a\" } }",
     ["expected 'base_path' in config 'a'. Received no base_path. Fix: add base_path: "
      "\"/models/a\"."]),
    ("model_config_list { config { name: \"a\" base_path: \"/x\" model_platform: \"onnx\" } }",
     ["expected model_platform \"tensorflow\" for 'a'. Received 'onnx'."]),
    ("model_config_list { config { name: \"a\" base_path: \"/x\" }"
     " config { name: \"a\" base_path: \"/y\" } }",
     ["expected distinct model names. Received ['a'] more than once."]),
    ("model_config_list { config { name: \"a\" base_path: \"/x\" version_labels { key: \"s\" } } }",
     ["expected version_labels { key: \"stable\" value: 1 }. Received ['key']."]),
    ("model_config_list { config { name: \"a\" base_path: \"/x\" model_version_policy { "
     "latest { num_versions: 0 } } } }", ["expected num_versions >= 1. Received 0."]),
    ("model_config_list { config { name: \"a\" base_path: \"/x\" model_version_policy { "
     "specific {} } } }", ["expected at least one 'versions: N' in specific. Received none."]),
    ("model_config_list { config { name: \"a\" base_path: \"/x\" model_version_policy { "
     "all {} latest {} } } }", ["expected one of latest/all/specific in model_version_policy. "
                                "Received ['all', 'latest']."]),
    ("model_config_list { config { name: \"a\" base_path: \"/x\" @ } }",
     ["expected a field name, a value, '{', '}' or ':'. Received '@ } }'"]),
]


@pytest.mark.parametrize("text,phrases", MODEL_CONFIG_ERRORS)
def test_model_config_errors_name_the_line_and_the_fix(text, phrases):
    with pytest.raises(ConfigError) as e:
        parse_model_config(text, "models.config")
    assert str(e.value).startswith("models.config")
    assert "Fix:" in str(e.value)
    for phrase in phrases:
        assert phrase in str(e.value), (phrase, str(e.value))


def test_batching_parameters_in_both_spellings():
    params = parse_batching_parameters(
        "max_batch_size { value: 128 }\nbatch_timeout_micros: 250\n"
        "num_batch_threads { value: 3 }\nmax_enqueued_batches { value: 7 }")
    assert params == BatchingParameters(128, 250, 3, 7)
    assert parse_batching_parameters("") == BatchingParameters(1000, 0, 0, 1000000)
    with pytest.raises(ConfigError, match=r"batching.config:2: expected max_batch_size >= 1. "
                                          r"Received 0. Fix: use a positive value."):
        parse_batching_parameters("\nmax_batch_size { value: 0 }", "batching.config")
    with pytest.raises(ConfigError, match=r"expected 'value' in max_batch_size to be int. "
                                          r"Received 'x'"):
        parse_batching_parameters('max_batch_size { value: "x" }')
    with pytest.raises(ConfigError, match=r"Received 'pad_variable_length_inputs'"):
        parse_batching_parameters("pad_variable_length_inputs: true")


def _args(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["serve", *argv])


def test_flags_use_tf_serving_names(tmp_path):
    args = _args("--rest_api_port=8600", "--model_name=my_model",
                 "--model_base_path=/models/my_model", "--file_system_poll_wait_seconds=5",
                 "--enable_batching=true", "--max_batch_size=32", "--batch_timeout_micros=100",
                 "--rest_api_num_threads=3")
    assert (args.rest_api_port, args.file_system_poll_wait_seconds, args.rest_api_num_threads) \
        == (8600, 5.0, 3)
    assert model_configs(args) == [ModelConfig("my_model", "/models/my_model")]
    assert batching_parameters(args) == BatchingParameters(32, 100)
    assert batching_parameters(_args("--model_base_path=/m")) is None
    assert batching_parameters(_args("--model_base_path=/m", "--enable_batching=false")) is None
    params = tmp_path / "batching.config"
    params.write_text("max_batch_size { value: 16 } batch_timeout_micros { value: 9 }")
    args = _args("--model_base_path=/m", "--enable_batching",
                 f"--batching_parameters_file={params}", "--batch_timeout_micros=0")
    assert batching_parameters(args) == BatchingParameters(16, 0)   # the flag wins
    config = tmp_path / "models.config"
    config.write_text('model_config_list { config { name: "a" base_path: "/a" } }')
    assert [c.name for c in model_configs(_args(f"--model_config_file={config}"))] == ["a"]
    with pytest.raises(ConfigError, match=r"Expected --model_config_file to name a readable "
                                          r"text file. Received '/nonexistent.config'"):
        model_configs(_args("--model_config_file=/nonexistent.config"))
    with pytest.raises(ConfigError, match=r"Expected --max_batch_size >= 1. Received 0."):
        batching_parameters(_args("--model_base_path=/m", "--enable_batching",
                                  "--max_batch_size=0"))


def test_serve_help_shows_examples(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["serve", "--help"])
    out = capsys.readouterr().out
    assert "savepoint serve --rest_api_port=8501 --model_name=my_model" in out
    assert "curl -d" in out and "--model_config_file" in out
