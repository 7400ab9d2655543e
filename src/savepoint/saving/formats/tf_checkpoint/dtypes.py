"""TensorFlow ``DataType`` enum numbers <-> numpy dtypes, and ``BFloat16Array`` (numpy has no bfloat16).

bfloat16 tensors are represented without torch or ml_dtypes by :class:`BFloat16Array`, which
holds the raw 16-bit patterns in a ``uint16`` array (the upper half of a float32). Arrays whose
dtype is ``ml_dtypes.bfloat16`` are accepted too (recognised by dtype name). To get a torch
tensor: ``torch.from_numpy(a.bits.view(np.int16)).view(torch.bfloat16)``.

Example:
    >>> a = BFloat16Array.from_float32(np.array([1.0, -2.5], dtype=np.float32))
    >>> a.bits.tolist(), a.to_float32().tolist()
    ([16256, 49184], [1.0, -2.5])
    >>> tf_enum_for(np.dtype("float32")), dtype_name(14)
    (1, 'bfloat16')
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

import numpy as np

from savepoint.errors import DTypeError

DT_STRING = 7
DT_BFLOAT16 = 14

# DataType enum number -> (TensorFlow name, little-endian numpy dtype or None)
_TABLE: dict[int, tuple[str, Union[np.dtype, None]]] = {
    1: ("float32", np.dtype("<f4")),
    2: ("float64", np.dtype("<f8")),
    3: ("int32", np.dtype("<i4")),
    4: ("uint8", np.dtype("u1")),
    5: ("int16", np.dtype("<i2")),
    6: ("int8", np.dtype("i1")),
    7: ("string", None),
    8: ("complex64", np.dtype("<c8")),
    9: ("int64", np.dtype("<i8")),
    10: ("bool", np.dtype("?")),
    14: ("bfloat16", np.dtype("<u2")),
    17: ("uint16", np.dtype("<u2")),
    18: ("complex128", np.dtype("<c16")),
    19: ("float16", np.dtype("<f2")),
    22: ("uint32", np.dtype("<u4")),
    23: ("uint64", np.dtype("<u8")),
}
_BY_NAME = {name: num for num, (name, _) in _TABLE.items()}


@dataclass(frozen=True)
class BFloat16Array:
    """A bfloat16 tensor stored as its raw bits (``uint16``), free of torch and ml_dtypes.

    Example:
        >>> BFloat16Array(np.zeros((2, 3), np.uint16)).shape
        (2, 3)
    """

    bits: np.ndarray

    def __post_init__(self) -> None:
        if self.bits.dtype != np.uint16:
            raise DTypeError(f"Expected BFloat16Array bits of dtype uint16. Received "
                             f"{self.bits.dtype}. Fix: pass array.view(np.uint16) of the raw bits.")

    @property
    def shape(self) -> tuple[int, ...]:
        """The tensor's shape."""
        return tuple(self.bits.shape)

    @property
    def dtype(self) -> str:
        """Always ``"bfloat16"``."""
        return "bfloat16"

    def to_float32(self) -> np.ndarray:
        """Exact float32 values (bfloat16 is the top half of a float32)."""
        return (self.bits.astype(np.uint32) << 16).view(np.float32)

    @classmethod
    def from_float32(cls, values: np.ndarray) -> "BFloat16Array":
        """Round float32 values to bfloat16 (round-to-nearest-even, NaN kept NaN)."""
        f = np.ascontiguousarray(values, dtype=np.float32)
        u = f.view(np.uint32)
        rounded = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)
        rounded = np.where(np.isnan(f), np.uint16(0x7FC0), rounded).astype(np.uint16)
        return cls(rounded.reshape(f.shape))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, BFloat16Array) and np.array_equal(self.bits, other.bits)

    __hash__ = None  # type: ignore[assignment]


def dtype_name(tf_enum: int) -> str:
    """TensorFlow's name for a DataType enum number (``tf.DType.name``).

    Example:
        >>> dtype_name(1)
        'float32'
    """
    try:
        return _TABLE[tf_enum][0]
    except KeyError:
        raise DTypeError(f"Expected a supported TensorFlow DataType number "
                         f"({sorted(_TABLE)}). Received {tf_enum}.") from None


def is_known(tf_enum: int) -> bool:
    """Whether savepoint can read tensors of this DataType.

    Example:
        >>> is_known(1), is_known(21)
        (True, False)
    """
    return tf_enum in _TABLE


def numpy_dtype(tf_enum: int) -> np.dtype:
    """Little-endian numpy dtype holding one element's bytes (``uint16`` for bfloat16).

    Example:
        >>> numpy_dtype(19)
        dtype('float16')
    """
    np_dtype = _TABLE[tf_enum][1] if tf_enum in _TABLE else None
    if np_dtype is None:
        raise DTypeError(f"Expected a fixed-size TensorFlow DataType. Received {tf_enum} "
                         f"({_TABLE.get(tf_enum, ('unknown',))[0]}).")
    return np_dtype


def tf_enum_for(dtype: Union[np.dtype, str]) -> int:
    """The TensorFlow DataType number for a numpy dtype (or the names "bfloat16"/"string").

    Example:
        >>> tf_enum_for("bfloat16"), tf_enum_for(np.dtype(bool))
        (14, 10)
    """
    if isinstance(dtype, str) and dtype in ("bfloat16", "string"):
        return _BY_NAME[dtype]
    np_dtype = np.dtype(dtype)
    name = "bfloat16" if np_dtype.name == "bfloat16" else np_dtype.newbyteorder("=").name
    if name in _BY_NAME and name != "string":
        return _BY_NAME[name]
    raise DTypeError(f"Expected a dtype TensorFlow checkpoints store ({', '.join(_BY_NAME)}). "
                     f"Received {np_dtype}. Fix: cast the array, e.g. x.astype(np.float32).")
