"""The static table of TensorFlow raw ops the lowering emits: output-arg names and attr types.

Inside a FunctionDef an edge names the producing op's *output arg* (``MatMul:product:0``), and
every attr must carry the type its OpDef declares (``Shape.out_type`` is a type, not an int), so
the writer cannot guess either: this table copies them from TensorFlow 2.21's OpDef registry
(``tests/interop/tf_check_saved_model.py`` compares every entry with the real registry). An attr
marked ``?`` has a default in its OpDef and may be left out (the MetaGraph says
``stripped_default_attrs``, so TF fills it in). The same table serves any later lowering (TFLite).

Example:
    >>> OPS["MatMul"].outputs, OPS["MatMul"].attrs["T"]
    (('product',), 'type')
    >>> sorted(OPS["MatMul"].required)
    ['T']
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class OpSpec:
    """One op: its output-arg names in order and its attr types (``kind``)."""

    name: str
    outputs: tuple[str, ...]
    attrs: dict[str, str]
    required: frozenset = field(default_factory=frozenset)


def _op(name: str, outputs: str, **attrs: str) -> OpSpec:
    kinds = {k: v.rstrip("?") for k, v in attrs.items()}
    required = frozenset(k for k, v in attrs.items() if not v.endswith("?"))
    return OpSpec(name, tuple(outputs.split()), kinds, required)


_UNARY = {"Relu": "activations", "Relu6": "activations", "Elu": "activations",
          "Selu": "activations", "Softplus": "activations", "Sigmoid": "y", "Tanh": "y",
          "Erf": "y", "Rsqrt": "y", "Exp": "y", "Neg": "y", "Sqrt": "y", "Square": "y",
          "Softmax": "softmax", "Identity": "output"}
_BINARY = ("AddV2", "Mul", "Sub", "RealDiv", "SquaredDifference", "Maximum", "Minimum")
_CONV = dict(T="type", strides="list(int)", padding="string", explicit_paddings="list(int)?",
             data_format="string?", dilations="list(int)?")

OPS: dict[str, OpSpec] = {spec.name: spec for spec in [
    *(_op(name, out, T="type") for name, out in _UNARY.items()),
    *(_op(name, "z", T="type") for name in _BINARY),
    _op("LeakyRelu", "activations", alpha="float?", T="type?"),
    _op("MatMul", "product", T="type", transpose_a="bool?", transpose_b="bool?"),
    _op("BatchMatMulV2", "output", T="type", adj_x="bool?", adj_y="bool?"),
    _op("BiasAdd", "output", T="type", data_format="string?"),
    _op("ReadVariableOp", "value", dtype="type"),
    _op("Const", "output", value="tensor", dtype="type"),
    _op("Cast", "y", SrcT="type", DstT="type", Truncate="bool?"),
    _op("Reshape", "output", T="type", Tshape="type?"),
    _op("Shape", "output", T="type", out_type="type?"),
    _op("StridedSlice", "output", T="type", Index="type", begin_mask="int?", end_mask="int?",
        ellipsis_mask="int?", new_axis_mask="int?", shrink_axis_mask="int?"),
    _op("Pack", "output", N="int", T="type", axis="int?"),
    _op("ConcatV2", "output", N="int", T="type", Tidx="type?"),
    _op("Transpose", "y", T="type", Tperm="type?"),
    _op("Pad", "output", T="type", Tpaddings="type?"),
    _op("ExpandDims", "output", T="type", Tdim="type?"),
    _op("Squeeze", "output", T="type", squeeze_dims="list(int)?"),
    _op("Mean", "output", T="type", Tidx="type?", keep_dims="bool?"),
    _op("Max", "output", T="type", Tidx="type?", keep_dims="bool?"),
    _op("Conv2D", "output", use_cudnn_on_gpu="bool?", **_CONV),
    _op("DepthwiseConv2dNative", "output", **_CONV),
    _op("MaxPool", "output", T="type?", ksize="list(int)", strides="list(int)", padding="string",
        explicit_paddings="list(int)?", data_format="string?"),
    _op("AvgPool", "output", T="type", ksize="list(int)", strides="list(int)", padding="string",
        data_format="string?"),
    _op("FusedBatchNormV3", "y batch_mean batch_variance reserve_space_1 reserve_space_2 "
        "reserve_space_3", T="type", U="type", epsilon="float?", exponential_avg_factor="float?",
        data_format="string?", is_training="bool?"),
    _op("GatherV2", "output", Tparams="type", Tindices="type", Taxis="type", batch_dims="int?"),
    # --- recurrent layers (exports/lowering/recurrent.py)
    _op("Split", "output", num_split="int", T="type"),
    _op("Unpack", "output", num="int", T="type", axis="int?"),
    # --- more spatial layers: 3-D, transposed convs, cropping, upsampling, resizing
    _op("Conv3D", "output", T="type", strides="list(int)", padding="string",
        data_format="string?", dilations="list(int)?"),
    _op("Conv2DBackpropInput", "output", use_cudnn_on_gpu="bool?", **_CONV),
    _op("Conv3DBackpropInputV2", "output", T="type", strides="list(int)", padding="string",
        data_format="string?", dilations="list(int)?", Tshape="type?"),
    *(_op(name, "output", T="type", ksize="list(int)", strides="list(int)", padding="string",
          data_format="string?") for name in ("MaxPool3D", "AvgPool3D")),
    _op("Tile", "output", T="type", Tmultiples="type?"),
    *(_op(name, "resized_images", T="type", align_corners="bool?", half_pixel_centers="bool?")
      for name in ("ResizeBilinear", "ResizeNearestNeighbor")),
    _op("OneHot", "output", T="type", TI="type?", axis="int?"),
    _op("Sum", "output", T="type", Tidx="type?", keep_dims="bool?"),
    _op("GreaterEqual", "z", T="type"),
    # --- attention, masks and the remaining layers
    *(_op(name, out, T="type") for name, out in (
        ("Greater", "z"), ("Pow", "z"), ("Abs", "y"), ("Log", "y"), ("Sin", "y"), ("Cos", "y"),
        ("Floor", "y"), ("Sign", "y"), ("Reciprocal", "y"), ("Softsign", "activations"),
        ("LogSoftmax", "logsoftmax"))),
    _op("NotEqual", "z", T="type", incompatible_shape_error="bool?"),
    _op("Min", "output", T="type", Tidx="type?", keep_dims="bool?"),  # Sum, Tile: above
    # the outer graph
    _op("Placeholder", "output", dtype="type", shape="shape?"),
    _op("VarHandleOp", "resource", dtype="type", shape="shape", container="string?",
        shared_name="string?", debug_name="string?", allowed_devices="list(string)?"),
    _op("StatefulPartitionedCall", "output", Tin="list(type)", Tout="list(type)", f="func",
        config="string?", config_proto="string?", executor_type="string?"),
    _op("RestoreV2", "tensors", dtypes="list(type)"),
    _op("SaveV2", "", dtypes="list(type)"),
    _op("AssignVariableOp", "", dtype="type", validate_shape="bool?"),
    _op("NoOp", ""),
]}

__all__ = ["OPS", "OpSpec"]
