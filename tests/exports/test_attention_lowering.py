"""The attention, mask, TF-op and remaining layers' lowerings without TensorFlow: the ops they
emit, where masks flow, and every refusal's message (the live checks in TF are
tests/interop/test_saved_model_attention_lowering_interop.py)."""

from __future__ import annotations

import pytest

import savepoint as keras
from savepoint.exports.lowering import LoweringError, lower_model
from savepoint.exports.lowering.misc import DERIVED, trace_masks

L = keras.layers


def _ops(model: keras.Model) -> list[str]:
    return [node.op for node in lower_model(model).function.nodes]


def _refused(model: keras.Model, *phrases: str) -> str:
    with pytest.raises(LoweringError) as info:
        lower_model(model)
    message = str(info.value)
    for phrase in phrases + ("cannot be lowered to TensorFlow ops", "Fix:"):
        assert phrase in message, message
    return message


# ----------------------------------------------------------------------------- emitted ops
def test_einsum_dense_is_matmul_transpose_reshape_never_einsum():
    x = keras.Input((4, 6))
    e = L.EinsumDense("abc,cde->abde", output_shape=(4, 2, 3), bias_axes="de")(x)
    e = L.EinsumDense("abcd,cde->abe", output_shape=(4, 5), bias_axes="e")(e)
    ops = _ops(keras.Model(x, L.EinsumDense("ab,bc->ac", 3)(L.Flatten()(e))))
    assert "Einsum" not in ops and ops.count("MatMul") == 3
    assert ops.count("AddV2") == 2  # the two biases; the last layer has none


def test_einsum_with_an_axis_shared_by_input_kernel_and_output_is_a_batched_matmul():
    x = keras.Input((4, 6))
    ops = _ops(keras.Model(x, L.EinsumDense("abc,bcd->abd", output_shape=(4, 5))(x)))
    assert ops.count("BatchMatMulV2") == 1 and "MatMul" not in ops


def test_transformer_block_lowers_to_plain_ops():
    x = keras.Input((6, 8))
    a = L.MultiHeadAttention(2, 4)(x, x)
    ops = _ops(keras.Model(x, L.LayerNormalization()(L.Add()([x, a]))))
    assert ops.count("BatchMatMulV2") == 2 and ops.count("Softmax") == 1
    assert ops.count("MatMul") == 4 and "Einsum" not in ops


def test_relu_with_a_threshold_is_lowered():
    x = keras.Input((3,))
    ops = _ops(keras.Model(x, L.ReLU(threshold=0.5, negative_slope=0.1, max_value=2.0)(x)))
    assert "Greater" in ops and "Minimum" in ops and ops.count("Relu") == 1


def test_masking_before_layers_that_ignore_masks_is_a_multiply():
    x = keras.Input((3, 4))
    h = L.Masking(name="m")(x)
    ops = _ops(keras.Model(x, L.Dense(2)(L.Flatten()(L.Dense(5)(h)))))
    assert "NotEqual" in ops and "Squeeze" not in ops  # the mask itself is never used


def test_trace_masks_follows_pass_through_layers_and_merges():
    q, v = keras.Input((3, 4)), keras.Input((3, 4))
    mq, mv = L.Masking()(q), L.Masking()(v)
    d = L.Dense(4)(mq)
    merged, added = L.Concatenate()([d, mv]), L.Add()([d, mq])
    model = keras.Model([q, v], [L.Flatten()(merged), added])
    masks = trace_masks(model._graph)
    assert masks[id(d)] == masks[id(mq)] == id(mq)
    assert masks[id(added)] == id(mq)
    assert masks[id(merged)] == DERIVED
    assert id(model.outputs[0]) not in masks


# ----------------------------------------------------------------------------- refusals
def test_lambda_is_refused_as_python_code():
    x = keras.Input((3,))
    with pytest.raises(LoweringError) as info:
        lower_model(keras.Model(x, L.Lambda(lambda t: t * 2, name="double")(x)))
    message = str(info.value)
    assert "'double' (Lambda)" in message and "Python code" in message
    assert "Fix: replace it by built-in layers or TF-op calls" in message


def test_a_mask_reaching_global_average_pooling_is_lowered_as_a_masked_mean():
    x = keras.Input((3, 4))
    h = L.Dense(4)(L.Masking(name="pad")(x))
    ops = _ops(keras.Model(x, L.GlobalAveragePooling1D(name="gap")(h)))
    assert "RealDiv" in ops and ops.count("Sum") == 2 and "Mean" not in ops
    ops = _ops(keras.Model(x, L.GlobalAveragePooling1D()(x)))
    assert "Mean" in ops and "RealDiv" not in ops  # no mask: spatial's lowering


def test_embedding_mask_zero_is_lowered_with_its_mask():
    ids = keras.Input((5,), dtype="int32")
    e = L.Embedding(10, 4, mask_zero=True)(ids)
    ops = _ops(keras.Model(ids, L.GlobalAveragePooling1D()(e)))
    assert ops.count("NotEqual") == 1 and "GatherV2" in ops and "RealDiv" in ops


def test_a_mask_reaching_a_layer_that_would_use_it_is_refused():
    ids = keras.Input((5,), dtype="int32")
    e = L.Embedding(10, 4, mask_zero=True, name="emb")(ids)
    _refused(keras.Model(ids, L.Softmax(name="sm")(e)), "'sm' (Softmax)",
             "expected no Keras mask on its inputs", "received the mask of Embedding layer "
             "'emb'")


def test_a_mask_reaching_softmax_is_refused():
    x = keras.Input((3, 4))
    _refused(keras.Model(x, L.Softmax(name="sm")(L.Masking(name="pad")(x))),
             "'sm' (Softmax)", "received the mask of Masking layer 'pad'")


def test_a_merged_mask_reaching_attention_is_refused():
    q, v = keras.Input((3, 4)), keras.Input((3, 4))
    merged = L.Concatenate(axis=1)([L.Masking()(q), L.Masking()(v)])
    _refused(keras.Model([q, v], L.Attention(name="att")([merged, merged])),
             "'att' (Attention)", "a Keras mask straight from a Masking or Embedding layer",
             "received a mask a merge or concatenation computed")


def test_a_mask_reaching_a_layer_in_a_nested_model_is_refused():
    inner_x = keras.Input((3, 4))
    inner = keras.Model(inner_x, L.Softmax(name="inner_sm")(inner_x))
    x = keras.Input((3, 4))
    _refused(keras.Model(x, inner(L.Masking(name="pad")(x))), "'inner_sm' (Softmax)",
             "received the mask of Masking layer 'pad'")


def test_mha_over_chosen_attention_axes_folds_the_other_axes_into_the_batch():
    x = keras.Input((3, 4, 5))
    ops = _ops(keras.Model(x, L.MultiHeadAttention(2, 2, attention_axes=[2])(x, x)))
    assert ops.count("BatchMatMulV2") == 2 and ops.count("Transpose") == 4
    assert "Einsum" not in ops


def test_mha_robust_masking_is_refused():
    x = keras.Input((3, 4))
    mha = L.MultiHeadAttention(2, 2, softmax_robust_masking=True, name="mha")
    _refused(keras.Model(x, mha(x, x)), "softmax_robust_masking False")


def test_mha_masks_on_rank_4_inputs_are_refused():
    x, mask = keras.Input((2, 3, 4)), keras.Input((2, 3, 2, 3))
    mha = L.MultiHeadAttention(2, 2, name="mha")
    _refused(keras.Model([x, mask], mha(x, x, attention_mask=mask)),
             "masks on rank-3 inputs (batch, steps, features) only",
             "received a query of shape (None, 2, 3, 4)")


def test_mha_attention_mask_with_a_heads_axis_is_refused():
    x, mask = keras.Input((3, 4)), keras.Input((2, 3, 3))
    mha = L.MultiHeadAttention(2, 2, name="mha")
    _refused(keras.Model([x, mask], mha(x, x, attention_mask=mask)),
             "an attention_mask of shape (batch, T, S) (received (None, 2, 3, 3))")


def test_attention_with_an_explicit_mask_argument_is_refused():
    q, qm, vm = keras.Input((3, 4)), keras.Input((3,)), keras.Input((3,))
    att = L.Attention(name="att")([q, q], mask=[qm, vm])
    _refused(keras.Model([q, qm, vm], att), "'att' (Attention)",
             "masks from Masking layers, not an explicit mask= argument")


def test_attention_on_rank_4_inputs_is_refused():
    q = keras.Input((2, 3, 4))
    _refused(keras.Model(q, L.AdditiveAttention(name="add")([q, q])),
             "'add' (AdditiveAttention)", "rank-3 inputs (batch, steps, features)")


def test_einsum_with_a_summed_out_input_axis_is_refused():
    x = keras.Input((4, 6))
    _refused(keras.Model(x, L.EinsumDense("abc,cd->ad", output_shape=5, name="ed")(x)),
             "'ed' (EinsumDense)", "summed-out input axes (received 'abc,cd->ad')")


def test_einsum_and_group_norm_and_dot_need_static_shapes():
    x = keras.Input((None, 6))
    _refused(keras.Model(x, L.EinsumDense("abc,cd->abd", output_shape=(None, 2),
                                          name="ed")(x)),
             "'ed' (EinsumDense)", "a static input shape besides the batch")
    _refused(keras.Model(x, L.GroupNormalization(3, name="gn")(x)), "'gn' (GroupNormalization)",
             "a static input shape besides the batch (received (None, None, 6))")
    _refused(keras.Model(x, L.Dot(axes=2, name="dot")([x, x])), "'dot' (Dot)",
             "static input shapes besides the batch")


def test_tf_ops_outside_the_lowered_set_are_refused():
    x = keras.Input((3,))
    _refused(keras.Model(x, L.TFOpLambda("math.cumsum", name="cs")(x, axis=1)),
             "'cs' (TFOpLambda)", "a float32 TF op among", "received tf.math.cumsum")
    y = keras.Input((3,))
    _refused(keras.Model(y, L.TFOpLambda("math.greater", name="gt")(y, y=0.0)),
             "received tf.math.greater giving bool")


def test_tf_op_with_a_non_int_axis_is_refused():
    x = keras.Input((3,))
    y = L.TFOpLambda("expand_dims", name="ed")(x, axis=1.0)
    _refused(keras.Model(x, y), "'ed' (TFOpLambda)", "a constant axis of ints (received 1.0)")


def test_tf_op_arguments_missing_are_refused():
    x = keras.Input((3, 4))
    y = L.TFOpLambda("transpose", name="tr")(x)
    model = keras.Model(x, L.TFOpLambda("reshape", name="rs")(y, [-1, 12]))
    assert "Reshape" in _ops(model)
    node = model.get_layer("rs")._inbound_nodes[0]
    node.args = node.args[:1]  # as if the config had lost the shape
    _refused(model, "'rs' (TFOpLambda)", "the arguments of tf.reshape")


def test_saving_a_model_with_a_lambda_warns_without_a_signature(tmp_path):
    from savepoint.saving.handlers.saved_model_writer import write_saved_model
    x = keras.Input((3,))
    model = keras.Model(x, L.Lambda(lambda t: t + 1, name="plus")(x))
    with pytest.warns(UserWarning, match="'plus' \\(Lambda\\) cannot be lowered"):
        write_saved_model(model, str(tmp_path / "m"))


def test_a_masked_channels_first_average_pooling_applies_the_mask():
    x = keras.Input((3, 3))  # the mask (3 long) weighs the channels_first steps (axis 2)
    h = L.GlobalAveragePooling1D(data_format="channels_first")(L.Masking()(x))
    ops = _ops(keras.Model(x, h))
    assert "RealDiv" in ops and ops.count("Sum") == 2


def test_tf_op_on_a_non_float_tensor_is_refused():
    x, ids = keras.Input((3,)), keras.Input((2,), dtype="int32")
    y = L.TFOpLambda("concat", name="cat")([x, ids], axis=1)
    _refused(keras.Model([x, ids], y), "'cat' (TFOpLambda)", "float32 tensors (received int32)")


def test_tf_op_constant_that_is_not_a_number_is_refused():
    from savepoint.exports.lowering.builder import FunctionBuilder
    from savepoint.exports.lowering.tf_ops import _tf_value
    layer = L.TFOpLambda("math.add", name="add")
    with pytest.raises(LoweringError, match="'add' \\(TFOpLambda\\).*tensors or numbers as the "
                                            "arguments \\(received 'a'\\)"):
        _tf_value(FunctionBuilder("f"), layer, "a", {})


def test_log_softmax_over_another_axis_is_refused():
    x = keras.Input((3, 4))
    y = L.TFOpLambda("nn.log_softmax", name="ls")(x, axis=1)
    _refused(keras.Model(x, y), "'ls' (TFOpLambda)", "log_softmax over the last axis")


def test_an_attention_mask_that_is_not_a_graph_tensor_is_refused():
    import numpy as np
    x = keras.Input((3, 4))
    mha = L.MultiHeadAttention(2, 2, name="mha")
    y = mha(x, x, attention_mask=np.ones((1, 3, 3), bool))
    _refused(keras.Model(x, y), "'mha' (MultiHeadAttention)",
             "an attention_mask tensor of the graph")
