"""Child process of ``test_hostile_sizes``: load hostile files under an address-space limit.

Usage: ``python hostile_sizes_child.py CASES.json``. The file lists ``{"name", "api", "path"}``
objects. After importing torch and savepoint, the child caps its address space at what it
uses then plus ``HEADROOM`` bytes, runs every case through the public API named by ``api`` and
prints one JSON line per case: ``{"name", "error", "message", "peak_kb"}`` (``error`` is the
exception's class name, ``"none"`` when the load succeeded). A case that exhausts the cap shows
up as ``MemoryError`` (or kills the child), which the test reports as a failure.
"""

import json
import resource
import sys

import savepoint as keras
import savepoint.train

HEADROOM = 2 << 30


def _status(field: str) -> int:
    with open("/proc/self/status") as f:
        return int(f.read().split(f"{field}:")[1].split()[0])


def _load_weights(path: str) -> None:
    model = keras.Sequential([keras.layers.Dense(2, input_shape=(3,), name="dense")])
    model.load_weights(path)


APIS = {
    "verify": savepoint.train.verify,
    "list_variables": savepoint.train.list_variables,
    "load_checkpoint": lambda path: savepoint.train.load_checkpoint(path).get_variable_to_shape_map(),
    "load_weights": _load_weights,
    "load_model": keras.models.load_model,
}


def main() -> None:
    with open(sys.argv[1]) as f:
        cases = json.load(f)
    keras.Sequential([keras.layers.Dense(2, input_shape=(3,))])  # lazy imports before the cap
    limit = _status("VmSize") * 1024 + HEADROOM
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    for case in cases:
        try:
            APIS[case["api"]](case["path"])
            error, message = "none", ""
        except BaseException as e:  # the test asserts on the class: report, never hide
            error, message = type(e).__name__, str(e)
        print(json.dumps({"name": case["name"], "error": error, "message": message[:2000],
                          "peak_kb": _status("VmPeak")}), flush=True)


if __name__ == "__main__":
    main()
