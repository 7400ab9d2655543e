"""Shared setup of the checkpoint CLI tests: a trained model saved in every format the
registry writes, the loopback S3 server of ``tests/storage`` (its fixtures, reused), and
``run_cli`` (``savepoint.cli.main`` in process, stdout and stderr captured)."""

import importlib.util
import json
import os
import sys

import numpy as np
import pytest

import savepoint as keras
from savepoint import cli

TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TESTS, "saving"))

import saving_model_families as families  # noqa: E402


def _storage_conftest():
    spec = importlib.util.spec_from_file_location(
        "storage_conftest_for_cli", os.path.join(TESTS, "storage", "conftest.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_s3 = _storage_conftest()
s3_endpoint = _s3.s3_endpoint
bucket = _s3.bucket

# file name -> registry format of every format savepoint writes (weights, then whole models)
WEIGHTS = {"cp.ckpt": "tf_checkpoint", "w.h5": "h5_weights", "w.weights.h5": "keras_weights_h5",
           "w.safetensors": "safetensors"}
MODELS = {"my_model": "model_directory", "m.h5": "h5", "m.keras": "keras"}


class Result:
    def __init__(self, code, out, err):
        self.code, self.out, self.err = code, out, err

    def json(self):
        return json.loads(self.out)


@pytest.fixture
def run_cli(capsys):
    """``run_cli("inspect", path, ...)``: the exit status, stdout and stderr of ``main``."""
    def run(*argv):
        capsys.readouterr()
        code = cli.main([str(a) for a in argv])
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)
    return run


def save_everywhere(model, directory):
    """``model`` in every written format under ``directory`` (and its JSON as model.json)."""
    for name in WEIGHTS:
        model.save_weights(os.path.join(directory, name))
    for name in MODELS:
        model.save(os.path.join(directory, name))
    with open(os.path.join(directory, "model.json"), "w") as f:
        f.write(model.to_json())
    return directory


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A trained Sequential (Adam state built) saved in every format: ``(model, x, dir)``."""
    model, x = families.trained(families.sequential)
    directory = str(tmp_path_factory.mktemp("saved"))
    return model, x, save_everywhere(model, directory)


def optimizer_arrays(model):
    return [np.array(v.numpy()) for v in model.optimizer.variables]
