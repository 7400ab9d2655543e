"""tf_checkpoint.state_file: the ``checkpoint`` text proto, as TensorFlow writes and reads it."""

from __future__ import annotations

import os

import numpy as np
import pytest

from savepoint.errors import FormatError
from savepoint.saving.formats.tf_checkpoint.bundle import write_bundle
from savepoint.saving.formats.tf_checkpoint.state_file import (CheckpointState, format_state,
                                                               get_checkpoint_state,
                                                               latest_checkpoint, parse_state,
                                                               read_state, write_state)

# Written by TensorFlow 2.21's CheckpointManager(max_to_keep=2) after three saves.
TF_MANAGER_TEXT = """model_checkpoint_path: "ckpt-4"
all_model_checkpoint_paths: "ckpt-3"
all_model_checkpoint_paths: "ckpt-4"
all_model_checkpoint_timestamps: 1795695618.5011528
all_model_checkpoint_timestamps: 1795695618.5112896
last_preserved_timestamp: 1795695617.4749908
"""


def test_round_trip_of_tensorflow_text_is_exact():
    state = parse_state(TF_MANAGER_TEXT)
    assert state == CheckpointState("ckpt-4", ["ckpt-3", "ckpt-4"],
                                    [1795695618.5011528, 1795695618.5112896], 1795695617.4749908)
    assert format_state(state) == TF_MANAGER_TEXT


def test_escapes_match_protobuf_text_format():
    # text_format.MessageToString output for this path (checked against protobuf 7.36)
    tricky = "a\"b\\c\n\u00e9'"
    text = format_state(CheckpointState(tricky, [tricky], [1.0, 1e20, float("inf")], 2.0))
    assert text == ('model_checkpoint_path: "a\\"b\\\\c\\n\u00e9\\\'"\n'
                    'all_model_checkpoint_paths: "a\\"b\\\\c\\n\u00e9\\\'"\n'
                    "all_model_checkpoint_timestamps: 1.0\n"
                    "all_model_checkpoint_timestamps: 1e+20\n"
                    "all_model_checkpoint_timestamps: inf\n"
                    "last_preserved_timestamp: 2.0\n")
    assert parse_state(text).model_checkpoint_path == tricky


def test_parser_accepts_text_format_variants():
    text = ("# comment\nmodel_checkpoint_path: 'a' \"b\"\n"
            "all_model_checkpoint_paths: [\"x\", 'y\\101\\x42']\n"
            "all_model_checkpoint_timestamps: 3; last_preserved_timestamp: -inf")
    state = parse_state(text)
    assert state.model_checkpoint_path == "ab"
    assert state.all_model_checkpoint_paths == ["x", "yAB"]
    assert state.all_model_checkpoint_timestamps == [3.0]
    assert state.last_preserved_timestamp == float("-inf")


@pytest.mark.parametrize("text,message", [
    ("bogus_field: 1", "Unknown field 'bogus_field'"),
    ("model_checkpoint_path \"a\"", "Expected ':' after model_checkpoint_path"),
    ("model_checkpoint_path: 12", "Expected a quoted string for model_checkpoint_path"),
    ("all_model_checkpoint_timestamps: \"x\"", "Expected a number for all_model_checkpoint"),
    ("model_checkpoint_path: \"unterminated", "Unexpected text"),
    ("all_model_checkpoint_paths: [\"a\"", "Unterminated '\\[' list"),
    ("\x00\x01binary", "Unexpected text"),
    ("model_checkpoint_path: \"\\q\"", "Invalid escape"),
])
def test_garbage_is_rejected(text, message):
    with pytest.raises(FormatError, match=message):
        parse_state(text, "'dir/checkpoint'")


def test_write_state_relativizes_like_tensorflow(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_state("training_1", "training_1/cp.ckpt", ["training_1/cp.ckpt"])
    assert open("training_1/checkpoint").read() == ('model_checkpoint_path: "cp.ckpt"\n'
                                                    'all_model_checkpoint_paths: "cp.ckpt"\n')
    absolute = str(tmp_path / "training_2")
    write_state(absolute, os.path.join(absolute, "cp-0002.ckpt"),
                [os.path.join(absolute, "cp-0001.ckpt")], [1.5, 2.5], 1.0)
    state = read_state(absolute)
    assert state == CheckpointState("cp-0002.ckpt", ["cp-0001.ckpt", "cp-0002.ckpt"],
                                    [1.5, 2.5], 1.0)
    write_state(absolute, "cp-3.ckpt")  # relative to an absolute dir: kept as given
    assert read_state(absolute).model_checkpoint_path == "cp-3.ckpt"
    assert os.listdir(absolute) == ["checkpoint"]  # written atomically: no temp left


def test_write_state_checks_timestamps(tmp_path):
    with pytest.raises(ValueError, match="Expected one timestamp per checkpoint path \\(2\\). "
                                         "Received 1"):
        write_state(str(tmp_path), "b", ["a"], [1.0])


def test_latest_checkpoint_follows_state_and_index(tmp_path):
    d = str(tmp_path)
    assert latest_checkpoint(d) is None and read_state(d) is None
    write_state(d, os.path.join(d, "cp-1"))
    assert latest_checkpoint(d) is None  # the state points at a bundle that does not exist
    write_bundle(os.path.join(d, "cp-1"), {"x": np.int8(1)})
    assert latest_checkpoint(d) == os.path.join(d, "cp-1")
    state = get_checkpoint_state(d)
    assert state.all_model_checkpoint_paths == [os.path.join(d, "cp-1")]


def test_non_utf8_state_file(tmp_path):
    (tmp_path / "checkpoint").write_bytes(b"\xff\xfe")
    with pytest.raises(FormatError, match="Expected UTF-8 text in .*checkpoint"):
        read_state(str(tmp_path))
