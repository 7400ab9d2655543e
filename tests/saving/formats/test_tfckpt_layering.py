"""Layering (DESIGN.md section 2): storage and tf_checkpoint import no model, layer or torch code."""

from __future__ import annotations

import ast
import glob
import os

import savepoint.saving.formats.tf_checkpoint as tf_checkpoint
import savepoint.saving.storage as storage

ALLOWED_SAVEPOINT = ("savepoint.errors", "savepoint.saving.storage",
                     "savepoint.saving.formats.tf_checkpoint")
ALLOWED_THIRD_PARTY = {"numpy", "crc32c"}


def _imports(path: str) -> list[str]:
    tree = ast.parse(open(path).read())
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def test_only_storage_numpy_crc32c_and_stdlib_are_imported():
    files = [storage.__file__] + glob.glob(os.path.join(os.path.dirname(tf_checkpoint.__file__),
                                                        "*.py"))
    for path in files:
        for name in _imports(path):
            top = name.split(".")[0]
            if top == "savepoint":
                assert name.startswith(ALLOWED_SAVEPOINT) or name == "savepoint.saving", \
                    f"{path} imports {name}"
            else:
                assert top in ALLOWED_THIRD_PARTY or top in __import__("sys").stdlib_module_names \
                    or top == "__future__", f"{path} imports {name}"


def test_no_pickle_anywhere():
    files = [storage.__file__] + glob.glob(os.path.join(os.path.dirname(tf_checkpoint.__file__),
                                                        "*.py"))
    for path in files:
        assert "pickle" not in _imports(path) and "allow_pickle=True" not in open(path).read()
