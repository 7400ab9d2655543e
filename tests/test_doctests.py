"""Every module's ``>>>`` examples run in the suite: one test per module of ``src/savepoint``.

A docstring example is documentation a reader copies; one that no longer runs is worse than
none. Examples that need files use ``tempfile``; none touches the network.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import savepoint

FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE

# How many modules carried runnable examples when this test was written (issue 9). Modules come
# and go as the package is reorganised, but the count must not drop: a module that loses its
# examples, or one split into parts without them, shows up here.
MIN_MODULES_WITH_EXAMPLES = 266


def _module_names() -> list[str]:
    names = ["savepoint"]

    def onerror(name: str) -> None:
        # walk_packages swallows import errors of packages unless told; a module that cannot be
        # imported must fail its own test below, not vanish from the list.
        names.append(name)

    names += [m.name for m in pkgutil.walk_packages(savepoint.__path__, "savepoint.",
                                                    onerror=onerror)]
    return sorted(set(names))


MODULES = _module_names()


def _doctests(name: str) -> list[doctest.DocTest]:
    module = importlib.import_module(name)
    # DocTestFinder skips objects re-exported from other modules, so each example runs once,
    # under the module that defines it.
    return [t for t in doctest.DocTestFinder().find(module, name) if t.examples]


@pytest.fixture
def _isolated(tmp_path, monkeypatch):
    """Examples run in an empty directory and leave the library's global settings as found."""
    from savepoint import backend, mixed_precision, serialization
    monkeypatch.chdir(tmp_path)
    policy, floatx = mixed_precision.global_policy(), backend.floatx()
    epsilon, data_format = backend.epsilon(), backend.image_data_format()
    custom = dict(serialization.get_custom_objects())
    yield
    mixed_precision.set_global_policy(policy)
    backend.set_floatx(floatx)
    backend.set_epsilon(epsilon)
    backend.set_image_data_format(data_format)
    serialization.get_custom_objects().clear()
    serialization.get_custom_objects().update(custom)


@pytest.mark.usefixtures("_isolated")
@pytest.mark.parametrize("name", MODULES)
def test_module_examples_run(name):
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    report: list[str] = []
    for test in _doctests(name):
        runner.run(test, out=report.append)
    assert runner.failures == 0, "".join(report)


def test_modules_keep_their_examples():
    with_examples = [name for name in MODULES if _doctests(name)]
    assert len(with_examples) >= MIN_MODULES_WITH_EXAMPLES, (
        f"Expected at least {MIN_MODULES_WITH_EXAMPLES} modules with >>> examples. Received "
        f"{len(with_examples)}. Fix: give new or split modules an example in their docstring.")


# Package __init__ files that only re-export may go without; __main__ is only `python -m`'s hook.
NO_EXAMPLE_NEEDED = {"savepoint.__main__"}


def test_every_module_has_an_example():
    missing = [name for name in MODULES if name not in NO_EXAMPLE_NEEDED
               and not hasattr(importlib.import_module(name), "__path__") and not _doctests(name)]
    assert not missing, (
        f"Expected every module of src/savepoint (package __init__ files aside) to show a >>> "
        f"example. Received none in: {', '.join(missing)}. Fix: add one to the module's or a "
        f"function's docstring.")

