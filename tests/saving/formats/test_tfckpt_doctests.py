"""The examples in the docstrings of the storage and tf_checkpoint modules run and are right."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["savepoint.saving.storage", "savepoint.saving.storage.directories",
           "savepoint.saving.storage.reading", "savepoint.saving.storage.direct",
           "savepoint.saving.storage.failures"] + [
    f"savepoint.saving.formats.tf_checkpoint{suffix}"
    for suffix in ["", ".crc", ".proto", ".table", ".dtypes", ".layout", ".bundle", ".reader",
                   ".state_file", ".object_graph"]]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0, f"{result.failed} doctest(s) failed in {name}"
    assert result.attempted > 0
