"""The TFLite flatbuffer writer: hand-written table builders for TFLite's published schema.fbs.

Field slots, enum numbers and the ``BuiltinOptions`` union order follow
``tensorflow/compiler/mlir/lite/schema/schema.fbs`` (file identifier ``TFL3``, schema version 3);
the interop test compares every number here with the interpreter's own generated schema. Only
the tables a float or weight-quantized inference graph needs are written: Model, OperatorCode,
SubGraph, Tensor (with QuantizationParameters), Operator (builtin options), Buffer and
SignatureDef. A table is built from ``flatbuffers.Builder``'s slot primitives with defaults
forced, so every value given is written, whatever the schema's default.

Example:
    >>> g = ModelDef(buffers=[b""], opcodes=["RELU"], tensors=[
    ...     TensorDef("x", (1, 2), (-1, 2), "float32"), TensorDef("y", (1, 2), (-1, 2), "float32")],
    ...     ops=[OpDef("RELU", [0], [1])], inputs=[0], outputs=[1],
    ...     signature=({"x": 0}, {"y": 1}))
    >>> data = write_model(g)
    >>> data[4:8], len(data) > 100
    (b'TFL3', True)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

SCHEMA_VERSION = 3
FILE_IDENTIFIER = b"TFL3"
_PLACEHOLDER_FOR_GREATER_OP_CODES = 127

# enum TensorType : byte
TENSOR_TYPES = {"float32": 0, "float16": 1, "int32": 2, "uint8": 3, "int64": 4, "string": 5,
                "bool": 6, "int16": 7, "int8": 9, "float64": 10}

# enum ActivationFunctionType : byte (the fused activations)
ACTIVATIONS = {"NONE": 0, "RELU": 1, "RELU_N1_TO_1": 2, "RELU6": 3, "TANH": 4}
PADDINGS = {"SAME": 0, "VALID": 1}

# enum BuiltinOperator: code, and the options table (None: the op has no options to write)
BUILTINS: dict[str, tuple[int, str | None]] = {
    "ADD": (0, "AddOptions"), "AVERAGE_POOL_2D": (1, "Pool2DOptions"),
    "CONCATENATION": (2, "ConcatenationOptions"), "CONV_2D": (3, "Conv2DOptions"),
    "DEPTHWISE_CONV_2D": (4, "DepthwiseConv2DOptions"),
    "DEPTH_TO_SPACE": (5, "DepthToSpaceOptions"), "FLOOR": (8, None),
    "FULLY_CONNECTED": (9, "FullyConnectedOptions"), "LOGISTIC": (14, None),
    "MAX_POOL_2D": (17, "Pool2DOptions"), "MUL": (18, "MulOptions"), "RELU": (19, None),
    "RELU6": (21, None), "RESHAPE": (22, "ReshapeOptions"),
    "RESIZE_BILINEAR": (23, "ResizeBilinearOptions"), "SOFTMAX": (25, "SoftmaxOptions"),
    "SPACE_TO_DEPTH": (26, "SpaceToDepthOptions"), "TANH": (28, None),
    "PAD": (34, "PadOptions"), "GATHER": (36, "GatherOptions"),
    "TRANSPOSE": (39, "TransposeOptions"), "MEAN": (40, "ReducerOptions"),
    "SUB": (41, "SubOptions"), "DIV": (42, "DivOptions"), "SQUEEZE": (43, "SqueezeOptions"),
    "STRIDED_SLICE": (45, "StridedSliceOptions"), "EXP": (47, None),
    "SPLIT": (49, "SplitOptions"), "LOG_SOFTMAX": (50, None), "CAST": (53, "CastOptions"),
    "MAXIMUM": (55, "MaximumMinimumOptions"), "MINIMUM": (57, "MaximumMinimumOptions"),
    "NEG": (59, None), "SLICE": (65, None), "TRANSPOSE_CONV": (67, "TransposeConvOptions"),
    "TILE": (69, None), "EXPAND_DIMS": (70, None), "LOG": (73, None),
    "SUM": (74, "ReducerOptions"), "SQRT": (75, None), "RSQRT": (76, None),
    "SHAPE": (77, "ShapeOptions"), "POW": (78, None), "REDUCE_PROD": (81, "ReducerOptions"),
    "REDUCE_MAX": (82, "ReducerOptions"), "PACK": (83, "PackOptions"),
    "UNPACK": (88, "UnpackOptions"), "REDUCE_MIN": (89, "ReducerOptions"),
    "SQUARE": (92, None), "FILL": (94, None),
    "RESIZE_NEAREST_NEIGHBOR": (97, "ResizeNearestNeighborOptions"),
    "LEAKY_RELU": (98, "LeakyReluOptions"), "SQUARED_DIFFERENCE": (99, None),
    "MIRROR_PAD": (100, "MirrorPadOptions"), "ABS": (101, None),
    "SPLIT_V": (102, "SplitVOptions"), "ELU": (111, None), "HARD_SWISH": (117, None),
    "SELECT_V2": (123, None), "BATCH_MATMUL": (126, "BatchMatMulOptions"),
    "CUMSUM": (128, "CumsumOptions"), "BROADCAST_TO": (130, None),
    "CONV_3D": (132, "Conv3DOptions"), "GELU": (150, "GeluOptions"), "SIGN": (158, None),
    "CONV_3D_TRANSPOSE": (141, "Conv3DOptions"), "BUCKETIZE": (147, "BucketizeOptions"),
    "ONE_HOT": (85, "OneHotOptions"), "GREATER": (61, None), "GREATER_EQUAL": (62, None),
    "NOT_EQUAL": (72, None),
    "SIN": (66, None), "COS": (108, None), "PADV2": (60, None),
}

# union BuiltinOptions: the table's 1-based position, then its fields in slot order
# (``b`` byte/enum, ``i`` int32, ``f`` float32, ``?`` bool, ``[i]``/``[f]`` int32/float32 vectors)
OPTIONS: dict[str, tuple[int, tuple[str, ...]]] = {
    "Conv2DOptions": (1, ("padding:b", "stride_w:i", "stride_h:i", "fused_activation_function:b",
                          "dilation_w_factor:i", "dilation_h_factor:i")),
    "DepthwiseConv2DOptions": (2, ("padding:b", "stride_w:i", "stride_h:i", "depth_multiplier:i",
                                   "fused_activation_function:b", "dilation_w_factor:i",
                                   "dilation_h_factor:i")),
    "Pool2DOptions": (5, ("padding:b", "stride_w:i", "stride_h:i", "filter_width:i",
                          "filter_height:i", "fused_activation_function:b")),
    "FullyConnectedOptions": (8, ("fused_activation_function:b", "weights_format:b",
                                  "keep_num_dims:?", "asymmetric_quantize_inputs:?")),
    "SoftmaxOptions": (9, ("beta:f",)),
    "ConcatenationOptions": (10, ("axis:i", "fused_activation_function:b")),
    "AddOptions": (11, ("fused_activation_function:b",)),
    "ResizeBilinearOptions": (15, ("new_height:i", "new_width:i", "align_corners:?",
                                   "half_pixel_centers:?")),
    "ReshapeOptions": (17, ("new_shape:[i]",)),
    "SpaceToDepthOptions": (19, ("block_size:i",)),
    "MulOptions": (21, ("fused_activation_function:b",)),
    "PadOptions": (22, ()),
    "GatherOptions": (23, ("axis:i", "batch_dims:i")),
    "TransposeOptions": (26, ()),
    "ReducerOptions": (27, ("keep_dims:?",)),
    "SubOptions": (28, ("fused_activation_function:b",)),
    "DivOptions": (29, ("fused_activation_function:b",)),
    "SqueezeOptions": (30, ("squeeze_dims:[i]",)),
    "StridedSliceOptions": (32, ("begin_mask:i", "end_mask:i", "ellipsis_mask:i",
                                 "new_axis_mask:i", "shrink_axis_mask:i", "offset:?")),
    "SplitOptions": (35, ("num_splits:i",)),
    "CastOptions": (37, ("in_data_type:b", "out_data_type:b")),
    "MaximumMinimumOptions": (39, ()),
    "TransposeConvOptions": (49, ("padding:b", "stride_w:i", "stride_h:i",
                                  "fused_activation_function:b")),
    "ShapeOptions": (55, ("out_type:b",)),
    "PackOptions": (59, ("values_count:i", "axis:i")),
    "UnpackOptions": (64, ("num:i", "axis:i")),
    "ResizeNearestNeighborOptions": (74, ("align_corners:?", "half_pixel_centers:?")),
    "LeakyReluOptions": (75, ("alpha:f",)),
    "MirrorPadOptions": (77, ("mode:b",)),
    "SplitVOptions": (79, ("num_splits:i",)),
    "DepthToSpaceOptions": (94, ("block_size:i",)),
    "BatchMatMulOptions": (101, ("adj_x:?", "adj_y:?", "asymmetric_quantize_inputs:?")),
    "CumsumOptions": (102, ("exclusive:?", "reverse:?")),
    "Conv3DOptions": (106, ("padding:b", "stride_d:i", "stride_w:i", "stride_h:i",
                            "fused_activation_function:b", "dilation_d_factor:i",
                            "dilation_w_factor:i", "dilation_h_factor:i")),
    "GeluOptions": (116, ("approximate:?",)),
    "OneHotOptions": (61, ("axis:i",)),
    "BucketizeOptions": (115, ("boundaries:[f]",)),
}


@dataclass
class Quantization:
    """Symmetric int8 parameters: one scale per slice along ``dimension``, zero points 0."""

    scales: np.ndarray
    dimension: int = 0


@dataclass
class TensorDef:
    """A tensor: ``shape`` at batch 1, ``signature`` with -1 for the dynamic (batch) dims;
    ``buffer`` 0 for a computed tensor, else the index of its constant bytes."""

    name: str
    shape: tuple
    signature: tuple
    dtype: str
    buffer: int = 0
    quantization: Quantization | None = None


@dataclass
class OpDef:
    """An operator: a ``BUILTINS`` name, tensor indices (-1: an omitted optional input) and
    its options by field name (fields left out are written as 0/False)."""

    op: str
    inputs: list[int]
    outputs: list[int]
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class ModelDef:
    """One subgraph with its buffers (buffer 0 is the empty sentinel) and one signature:
    ``(inputs, outputs)`` as ``{name: tensor index}``."""

    buffers: list[bytes]
    opcodes: list[str]
    tensors: list[TensorDef]
    ops: list[OpDef]
    inputs: list[int]
    outputs: list[int]
    signature: tuple[dict[str, int], dict[str, int]]
    signature_key: str = "serving_default"
    description: str = "savepoint"


def _ints(b: Any, values: Any) -> int:
    return b.CreateNumpyVector(np.asarray(list(values), dtype=np.int32))


def _offsets(b: Any, offsets: list[int]) -> int:
    b.StartVector(4, len(offsets), 4)
    for off in reversed(offsets):
        b.PrependUOffsetTRelative(off)
    return b.EndVector()


def _table(b: Any, slots: list[tuple[int, str, Any]]) -> int:
    """One table from ``(slot, kind, value)``: kinds ``b`` int8, ``B`` uint8, ``i`` int32,
    ``I`` uint32, ``f`` float32, ``?`` bool, ``o`` an offset already built."""
    put = {"b": b.PrependInt8Slot, "B": b.PrependUint8Slot, "i": b.PrependInt32Slot,
           "I": b.PrependUint32Slot, "f": b.PrependFloat32Slot, "?": b.PrependBoolSlot,
           "o": b.PrependUOffsetTRelativeSlot}
    b.StartObject(max((s for s, _, _ in slots), default=-1) + 1)
    for slot, kind, value in slots:
        put[kind](slot, value, 0)
    return b.EndObject()


def _options(b: Any, name: str, values: dict[str, Any]) -> tuple[int, int]:
    """The options table ``name`` (its union position, offset); unknown fields raise."""
    position, fields = OPTIONS[name]
    names = [f.split(":")[0] for f in fields]
    unknown = set(values) - set(names)
    if unknown:
        raise ValueError(f"{name} has no fields {sorted(unknown)}")
    slots, vectors = [], {}
    for slot, spec in enumerate(fields):
        key, kind = spec.split(":")
        if key in values and kind.startswith("["):
            vectors[key] = b.CreateNumpyVector(np.asarray(
                list(values[key]), np.float32 if kind == "[f]" else np.int32))
    for slot, spec in enumerate(fields):
        key, kind = spec.split(":")
        if key in values:
            slots.append((slot, "o", vectors[key]) if kind.startswith("[") else
                         (slot, kind, bool(values[key]) if kind == "?" else
                          float(values[key]) if kind == "f" else int(values[key])))
    return position, _table(b, slots)


def _buffer(b: Any, data: bytes) -> int:
    if not data:
        return _table(b, [])
    b.StartVector(1, len(data), 16)  # the schema asks 16-byte alignment (mmap-friendly)
    b.head = b.head - len(data)
    b.Bytes[b.head:b.head + len(data)] = data
    return _table(b, [(0, "o", b.EndVector())])


def _tensor(b: Any, t: TensorDef) -> int:
    name, shape, sig = b.CreateString(t.name), _ints(b, t.shape), _ints(b, t.signature)
    slots = [(0, "o", shape), (1, "b", TENSOR_TYPES[t.dtype]), (2, "I", t.buffer),
             (3, "o", name), (7, "o", sig), (8, "?", True)]
    if t.quantization is not None:
        scales = np.asarray(t.quantization.scales, np.float32).reshape(-1)
        scale = b.CreateNumpyVector(scales)
        zeros = b.CreateNumpyVector(np.zeros(scales.shape, np.int64))
        quant = _table(b, [(2, "o", scale), (3, "o", zeros),
                           (6, "i", t.quantization.dimension)])
        slots.append((4, "o", quant))
    return _table(b, slots)


def _operator(b: Any, op: OpDef, opcode_index: int) -> int:
    inputs, outputs = _ints(b, op.inputs), _ints(b, op.outputs)
    slots = [(0, "I", opcode_index), (1, "o", inputs), (2, "o", outputs)]
    options = BUILTINS[op.op][1]
    if options is not None:
        position, table = _options(b, options, op.options)
        slots += [(3, "B", position), (4, "o", table)]
    elif op.options:
        raise ValueError(f"{op.op} takes no options, received {sorted(op.options)}")
    return _table(b, slots)


def _opcode(b: Any, name: str) -> int:
    code = BUILTINS[name][0]
    # codes past 127 live only in builtin_code; the byte field then holds the placeholder
    return _table(b, [(0, "b", min(code, _PLACEHOLDER_FOR_GREATER_OP_CODES)), (2, "i", 1),
                      (3, "i", code)])


def _tensor_maps(b: Any, mapping: dict[str, int]) -> int:
    maps = []
    for key, index in mapping.items():
        name = b.CreateString(key)
        maps.append(_table(b, [(0, "o", name), (1, "I", index)]))
    return _offsets(b, maps)


def write_model(model: ModelDef) -> bytes:
    """The ``.tflite`` bytes of ``model`` (a ``ModelDef``)."""
    import flatbuffers

    size = sum(len(d) for d in model.buffers)
    b = flatbuffers.Builder(size + 1024 * (len(model.tensors) + 16))
    b.ForceDefaults(True)
    buffers = _offsets(b, [_buffer(b, d) for d in model.buffers])
    index = {name: i for i, name in enumerate(model.opcodes)}
    ops = _offsets(b, [_operator(b, op, index[op.op]) for op in model.ops])
    tensors = _offsets(b, [_tensor(b, t) for t in model.tensors])
    inputs, outputs, name = _ints(b, model.inputs), _ints(b, model.outputs), b.CreateString("main")
    subgraph = _table(b, [(0, "o", tensors), (1, "o", inputs), (2, "o", outputs), (3, "o", ops),
                          (4, "o", name)])
    subgraphs = _offsets(b, [subgraph])
    opcodes = _offsets(b, [_opcode(b, n) for n in model.opcodes])
    sig_in, sig_out = _tensor_maps(b, model.signature[0]), _tensor_maps(b, model.signature[1])
    key = b.CreateString(model.signature_key)
    signature = _table(b, [(0, "o", sig_in), (1, "o", sig_out), (2, "o", key), (4, "I", 0)])
    signatures = _offsets(b, [signature])
    description = b.CreateString(model.description)
    root = _table(b, [(0, "I", SCHEMA_VERSION), (1, "o", opcodes), (2, "o", subgraphs),
                      (3, "o", description), (4, "o", buffers), (7, "o", signatures)])
    b.Finish(root, file_identifier=FILE_IDENTIFIER)
    return bytes(b.Output())


__all__ = ["ACTIVATIONS", "BUILTINS", "OPTIONS", "PADDINGS", "TENSOR_TYPES", "ModelDef", "OpDef",
           "Quantization", "TensorDef", "write_model"]
