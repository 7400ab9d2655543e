"""Lowerings of the preprocessing layers' inference pass: Rescaling, Normalization, Resizing,
CenterCrop, the Random* augmentations, CategoryEncoding and Discretization.

At inference the augmentations are the identity, except RandomCrop, which (as tf.keras 2)
crops the centered box of the target aspect ratio and resizes it (``smart_resize``). Resizes
are TF's ``ResizeBilinear``/``ResizeNearestNeighbor`` with ``half_pixel_centers`` (what
``tf.image.resize`` runs); bicubic and area resizes are refused. Normalization reads its adapted
``mean``/``variance`` variables (given statistics become constants). CategoryEncoding is
``OneHot`` summed over the tokens; ids outside ``[0, num_tokens)`` count nothing there, where
savepoint and tf.keras raise. Discretization counts the boundaries ``<= x``
(GreaterEqual, summed), which is TF's ``Bucketize``.

Example:
    >>> import savepoint as keras
    >>> from savepoint.exports.lowering import lower_model
    >>> m = keras.Sequential([keras.layers.Rescaling(1 / 255, input_shape=(2,)),
    ...                       keras.layers.RandomFlip()])
    >>> [n.op for n in lower_model(m).function.nodes]
    ['Const', 'Const', 'Mul', 'AddV2', 'Identity']
"""

from __future__ import annotations

from typing import Any

import numpy as np

from savepoint.exports.lowering.builder import FunctionBuilder
from savepoint.exports.lowering.layers import T, _identity, _refuse, _variables, lowers
from savepoint.exports.lowering.spatial_more import static
from savepoint.saving.formats.saved_model.schema import DT_BOOL, DT_FLOAT, DT_INT32, DT_INT64
from savepoint.saving.formats.tf_checkpoint.dtypes import tf_enum_for

_EPSILON = 1e-7  # tf.keras's backend.epsilon(), Normalization's smallest standard deviation


def _float_input(b: FunctionBuilder, x: str) -> str:
    """``x`` as float32: integer pixels or features are cast first, as the layers do."""
    dtype = tf_enum_for(b.node_dtypes[0])
    return x if dtype == DT_FLOAT else b.op("Cast", [x], SrcT=dtype, DstT=DT_FLOAT)


@lowers("Rescaling")
def _rescaling(b, layer, xs, shapes, outs):
    config = layer.get_config()
    scale, offset = (b.const(np.asarray(config[n], np.float32)) for n in ("scale", "offset"))
    y = b.op("Mul", [_float_input(b, xs[0]), scale], T=T)
    return [b.op("AddV2", [y, offset], T=T)]


@lowers("Normalization")
def _normalization(b, layer, xs, shapes, outs):
    """``(x - mean) / max(sqrt(variance), 1e-7)`` (``mean + x * std`` when inverted), the
    statistics reshaped to broadcast over the axes that are not kept."""
    if 0 in layer._keep:
        raise _refuse(layer, "an axis other than the batch axis (received axis "
                             f"{layer.get_config()['axis']})")
    shape = b.ints(layer._broadcast)
    v = _variables(layer)
    if "mean" in v:
        mean, var = b.variable(v["mean"]), b.variable(v["variance"])
    else:
        mean, var = (b.const(t.numpy()) for t in (layer._mean_t, layer._var_t))
    mean, var = (b.op("Reshape", [t, shape], T=T, Tshape=DT_INT32) for t in (mean, var))
    std = b.op("Maximum", [b.op("Sqrt", [var], T=T), b.scalar(_EPSILON)], T=T)
    x = _float_input(b, xs[0])
    if layer.get_config().get("invert"):
        return [b.op("AddV2", [mean, b.op("Mul", [x, std], T=T)], T=T)]
    return [b.op("RealDiv", [b.op("Sub", [x, mean], T=T), std], T=T)]


def _image_dims(layer: Any, shape: tuple) -> tuple[int, int]:
    if len(shape) != 4:
        raise _refuse(layer, f"batched images (batch, height, width, channels) (received "
                             f"shape {tuple(shape)})")
    height, width, _ = static(layer, shape)
    return height, width


def resize(b: FunctionBuilder, x: str, size: tuple[int, int], method: str) -> str:
    """``tf.image.resize(x, size, method)`` for ``bilinear`` or ``nearest``."""
    op = "ResizeBilinear" if method == "bilinear" else "ResizeNearestNeighbor"
    return b.op(op, [x, b.ints(list(size))], T=T, half_pixel_centers=True)


def crop(b: FunctionBuilder, x: str, top: int, left: int, height: int, width: int) -> str:
    """The ``height x width`` window of images ``x`` at ``(top, left)``: one StridedSlice."""
    return b.op("StridedSlice", [x, b.ints([0, top, left, 0]),
                                 b.ints([0, top + height, left + width, 0]), b.ints([1] * 4)],
                T=T, Index=DT_INT32, begin_mask=0b1001, end_mask=0b1001)


def smart_resize(b: FunctionBuilder, x: str, dims: tuple[int, int], size: tuple[int, int],
                 method: str = "bilinear") -> str:
    """Keras's ``smart_resize``: the largest centered box of the target aspect ratio, resized."""
    from savepoint.layers.preprocessing.resizing import crop_box
    top, left, height, width = crop_box(*dims, *size)
    if (height, width) != dims:
        x = crop(b, x, top, left, height, width)
    return resize(b, x, size, method)


@lowers("Resizing")
def _resizing(b, layer, xs, shapes, outs):
    config = layer.get_config()
    method = config["interpolation"]
    if method not in ("bilinear", "nearest"):
        raise _refuse(layer, f"interpolation 'bilinear' or 'nearest' (received {method!r}; "
                             f"TF's bicubic and area kernels are not lowered)")
    dims, size = _image_dims(layer, shapes[0]), (config["height"], config["width"])
    x = _float_input(b, xs[0])
    if config.get("crop_to_aspect_ratio"):
        return [smart_resize(b, x, dims, size, method)]
    return [resize(b, x, size, method)]


@lowers("CenterCrop")
def _center_crop(b, layer, xs, shapes, outs):
    config = layer.get_config()
    (in_h, in_w), height, width = _image_dims(layer, shapes[0]), config["height"], \
        config["width"]
    x = _float_input(b, xs[0])
    if in_h < height or in_w < width:  # smaller images are upsized, as tf.keras does
        return [smart_resize(b, x, (in_h, in_w), (height, width))]
    return [crop(b, x, (in_h - height) // 2, (in_w - width) // 2, height, width)]


@lowers("RandomCrop")
def _random_crop(b, layer, xs, shapes, outs):
    config = layer.get_config()
    return [smart_resize(b, _float_input(b, xs[0]), _image_dims(layer, shapes[0]),
                         (config["height"], config["width"]))]


for _name in ("RandomFlip", "RandomContrast", "RandomRotation", "RandomZoom",
              "RandomTranslation"):
    lowers(_name)(_identity)  # augmentations pass their input through at inference


def _ids(b: FunctionBuilder, x: str) -> tuple[str, int]:
    """Integer ids: float ids truncate to int32, as the layers' cast does."""
    dtype = tf_enum_for(b.node_dtypes[0])
    if dtype in (DT_INT32, DT_INT64):
        return x, dtype
    return b.op("Cast", [x], SrcT=dtype, DstT=DT_INT32), DT_INT32


def encode(b: FunctionBuilder, layer: Any, ids: str, index: int, shape: tuple, depth: int,
           mode: str) -> str:
    """``one_hot``/``multi_hot``/``count`` vectors of ``depth`` slots for ids of ``shape``
    ``(batch,)`` or ``(batch, tokens)`` (``(batch, 1)`` for one_hot): OneHot, summed over the
    tokens, clipped to 1 unless counting."""
    rank = len(shape)
    if rank == 2 and mode == "one_hot":  # (batch, 1): the layers refuse other widths
        ids, rank = b.op("Squeeze", [ids], T=index, squeeze_dims=[1]), 1
    if rank not in (1, 2) or (rank == 1 and mode != "one_hot"):
        raise _refuse(layer, f"ids of shape (batch, tokens), or (batch,) for one_hot "
                             f"(received {tuple(shape)})")
    hot = b.op("OneHot", [ids, b.const(np.asarray(depth, np.int32)), b.scalar(1.0),
                          b.scalar(0.0)], T=T, TI=index, axis=-1)
    if rank == 1:
        return hot
    y = b.op("Sum", [hot, b.ints([1])], T=T, Tidx=DT_INT32, keep_dims=False)
    return y if mode == "count" else b.op("Minimum", [y, b.scalar(1.0)], T=T)


@lowers("CategoryEncoding")
def _category_encoding(b, layer, xs, shapes, outs):
    if len(xs) > 1:
        raise _refuse(layer, "no count_weights input")
    config = layer.get_config()
    ids, index = _ids(b, xs[0])
    return [encode(b, layer, ids, index, tuple(shapes[0]), int(config["num_tokens"]),
                   config["output_mode"])]


@lowers("Discretization")
def _discretization(b, layer, xs, shapes, outs):
    """Each value's bucket, the number of boundaries ``<= x`` (TF's Bucketize, as a
    GreaterEqual against the boundaries summed: the table's encoder writes no float lists);
    then the ids' encoding, or for ``output_mode='int'`` the ids in the output's dtype."""
    config = layer.get_config()
    bounds = np.asarray(config["bin_boundaries"] or [], np.float32)
    x = b.op("ExpandDims", [_float_input(b, xs[0]), b.const(np.asarray(-1, np.int32))], T=T,
             Tdim=DT_INT32)
    above = b.op("Cast", [b.op("GreaterEqual", [x, b.const(bounds)], T=T)], SrcT=DT_BOOL,
                 DstT=DT_FLOAT)
    count = b.op("Sum", [above, b.ints([-1])], T=T, Tidx=DT_INT32, keep_dims=False)
    # the result takes the dtype the layer graph records for the output (the signature's)
    out = tf_enum_for(str(b.node.output_tensors[0].dtype))
    if config["output_mode"] == "int":
        y = count
    else:
        ids = b.op("Cast", [count], SrcT=DT_FLOAT, DstT=DT_INT32)
        y = encode(b, layer, ids, DT_INT32, tuple(shapes[0]), len(bounds) + 1,
                   config["output_mode"])
    return [y if out == DT_FLOAT else b.op("Cast", [y], SrcT=DT_FLOAT, DstT=out)]


_discretization.any_dtype = True  # its int64 dtype passes the lowering's float32 rule


__all__ = ["crop", "encode", "resize", "smart_resize"]
