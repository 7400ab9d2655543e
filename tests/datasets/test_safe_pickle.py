"""The dataset pickle parser: every protocol's array, container and scalar opcodes, as data only."""

import os
import pickle  # only to make test input; savepoint itself never imports it

import numpy as np
import pytest

from savepoint.datasets import safe_pickle
from savepoint.errors import FormatError

VALUE = {b"data": np.arange(12, dtype=np.uint8).reshape(3, 4), "labels": [1, 2, 3],
         "scalar": np.float32(2.5), "ragged": np.array([[1, 2], [3]], dtype=object),
         "misc": (1, -70000, 2 ** 70, None, True, 1.5, "text"),
         "big_endian": np.arange(6, dtype=">i4"),
         "fortran": np.asfortranarray(np.arange(6.0).reshape(2, 3))}


@pytest.mark.parametrize("protocol", range(6))
def test_every_protocol_parses_to_the_same_values(protocol):
    got = safe_pickle.loads(pickle.dumps(VALUE, protocol=protocol))
    assert set(got) == set(VALUE)
    for key in (b"data", "big_endian", "fortran"):
        np.testing.assert_array_equal(got[key], VALUE[key])
        assert got[key].dtype == VALUE[key].dtype
    assert got["labels"] == [1, 2, 3] and got["misc"] == VALUE["misc"]
    assert got["scalar"] == np.float32(2.5) and got["scalar"].dtype == np.float32
    assert [list(x) for x in got["ragged"]] == [[1, 2], [3]]


def test_python2_strings_decode_as_asked():
    data = pickle.dumps({b"k": b"v"}, protocol=2)
    assert safe_pickle.loads(data, encoding="bytes") == {b"k": b"v"}


@pytest.mark.parametrize("protocol", [0, 2, 4])
def test_a_global_that_is_not_numpys_is_refused_and_nothing_runs(tmp_path, protocol):
    marker = tmp_path / "ran"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    with pytest.raises(FormatError, match=r"names (posix|os)\.system, which savepoint does not "
                                          r"load \(no code runs on load\)"):
        safe_pickle.loads(pickle.dumps({"data": Evil()}, protocol=protocol))
    assert not marker.exists()


def test_truncated_or_unknown_bytes_are_format_errors():
    with pytest.raises(FormatError, match=r"Received damaged data \(EOFError"):
        safe_pickle.loads(pickle.dumps([1, 2, 3], protocol=2)[:-3])
    with pytest.raises(FormatError, match=r"uses opcode b'\\xff'"):
        safe_pickle.loads(b"\x80\x02\xff")


def test_the_module_does_not_import_pickle():
    source = open(safe_pickle.__file__).read()
    assert "\nimport pickle" not in source and "from pickle" not in source
