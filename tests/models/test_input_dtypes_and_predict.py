"""Model input dtypes (an int ``Input`` stays int) and ``predict`` outputs without a batch axis,
beyond the tf.keras goldens of test_graph_goldens.py."""

import numpy as np
import pytest
import torch

import savepoint as keras
from savepoint.errors import ShapeError

IDS = np.array([[1, 2, 3], [4, 5, 6]])


class RecordDtype(keras.layers.Layer):
    """Records the dtype its call receives; like tf.keras layers, it does not cast ints."""

    _autocast_inputs = False

    def call(self, x):
        self.seen = x.dtype
        return x


def test_functional_int_input_reaches_layers_as_int32():
    # tf.keras 2: Input(dtype="int32") casts int64 and float data to int32 before any layer.
    probe = RecordDtype()
    i = keras.Input((3,), dtype="int32")
    model = keras.Model(i, probe(i))
    for data in (IDS, IDS.astype("float32"), torch.tensor(IDS)):
        model.predict(data, verbose=0)
        assert probe.seen == torch.int32
        model(data)
        assert probe.seen == torch.int32


def test_float_input_still_casts_ints_to_float32():
    probe = RecordDtype()
    i = keras.Input((3,))
    keras.Model(i, probe(i)).predict(IDS, verbose=0)
    assert probe.seen == torch.float32


def test_sequential_with_an_int_input_and_built_on_int_data():
    probe = RecordDtype()
    seq = keras.Sequential([keras.Input((3,), dtype="int32"), probe])
    seq.predict(IDS.astype("float64"), verbose=0)
    assert probe.seen == torch.int32
    probe = RecordDtype()
    inferred = keras.Sequential([probe])
    inferred(IDS)  # tf.keras builds the Input with the data's dtype
    assert inferred.input.dtype == "int64" and probe.seen == torch.int64
    inferred(IDS.astype("float32"))
    assert probe.seen == torch.int64


def test_subclassed_model_keeps_ints_and_casts_floats():
    # tf.keras's autocast touches floats only: a subclassed model's layers get int64 ids.
    class Sub(keras.Model):
        def __init__(self):
            super().__init__()
            self.probe = RecordDtype()

        def call(self, x):
            return self.probe(x)

    model = Sub()
    model(IDS)
    assert model.probe.seen == torch.int64
    model(IDS.astype("float64"))
    assert model.probe.seen == torch.float32


def test_int_input_survives_model_to_float64():
    i = keras.Input((3,), dtype="int32")
    f = keras.Input((3,))
    out = keras.layers.Concatenate()([keras.layers.Embedding(10, 2)(i)[:, :, 0], f])
    model = keras.Model([i, f], out).to(torch.float64)
    assert model([IDS, IDS.astype("float32")]).dtype == torch.float64


def test_large_ids_are_not_rounded_through_float32():
    # 2**24 + 1 is not a float32: casting ids through float32 would look up row 2**24.
    i = keras.Input((1,), dtype="int64")
    model = keras.Model(i, i + 0)
    assert int(model.predict(np.array([[2 ** 24 + 1]]), verbose=0)[0, 0]) == 2 ** 24 + 1


def test_predict_refuses_outputs_whose_inner_shape_changes_between_batches():
    # tf.keras returns a RaggedTensor here; numpy has none, so savepoint says so.
    i = keras.Input((None,))
    model = keras.Model(i, i * 2)

    def batches():
        yield np.ones((2, 3), "float32")
        yield np.ones((2, 5), "float32")

    with pytest.raises(ShapeError, match=r"predict\(\) expected every batch's output to have "
                                         r"the same shape after the batch axis\. Received "
                                         r"\[\(3,\), \(5,\)\].*Fix: pad the outputs"):
        model.predict(batches(), verbose=0)


def test_predict_of_a_scalar_output_per_batch():
    K = keras.backend
    i = keras.Input((2,))
    model = keras.Model(i, keras.layers.Lambda(lambda t: K.sum(t))(i))
    x = np.ones((5, 2), "float32")
    one = model.predict(x, verbose=0)
    assert isinstance(one, float) and one == 10.0
    np.testing.assert_array_equal(model.predict(x, batch_size=2, verbose=0), [4.0, 4.0, 2.0])
    on_batch = model.predict_on_batch(x)  # tf.keras: a Python float here too
    assert isinstance(on_batch, float) and on_batch == 10.0


def test_sequential_starting_with_embedding_is_built_before_data():
    # tf.keras 2's Embedding declares input_shape=(None,): summary() works at once
    model = keras.Sequential([keras.layers.Embedding(10, 3), keras.layers.LSTM(4),
                              keras.layers.Dense(1)])
    assert model.built and model.input_shape == (None, None)
    lines = []
    model.summary(print_fn=lines.append)
    assert any("Total params: 163" in line for line in lines)  # tf.keras's count


def test_a_shape_without_known_dimensions_only_warns_about_rank():
    model = keras.Sequential([keras.layers.Embedding(10, 3)])
    with pytest.warns(UserWarning, match=r"Model was constructed with shape \(None, None\) for "
                                         r"input \"sequential\w*\", but it was called on an "
                                         r"input with incompatible shape \(2, 4, 5\)"):
        out = model.predict(np.ones((2, 4, 5), "int32"), verbose=0)
    assert out.shape == (2, 4, 5, 3)  # tf.keras runs the layers on the data as it is
    dense = keras.Sequential([keras.layers.Dense(2, input_shape=(3,))])
    with pytest.raises(ShapeError, match=r"expected shape=\(None, 3\), found shape=\(2, 4\)"):
        dense.predict(np.ones((2, 4), "float32"), verbose=0)
