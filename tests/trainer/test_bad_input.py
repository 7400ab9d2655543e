"""Bad input to compile/fit/evaluate/predict: each raises a SavepointError naming what was
expected, what was received and the fix; nothing is changed by a refused call."""

import numpy as np
import pytest
import torch

import savepoint as keras
from savepoint import layers as L
from savepoint.errors import ConfigError, DTypeError, NotCompiledError, SavepointError, ShapeError

X = np.random.RandomState(0).rand(10, 4).astype("float32")
Y = np.arange(10) % 3


def _model(compiled=True):
    model = keras.Sequential([L.Dense(3, input_shape=(4,))])
    if compiled:
        model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                      metrics=["accuracy"])
    return model


def test_wrong_input_shape_names_model_expected_and_received():
    model = _model()
    before = model.get_weights()
    msg = (r'Input "sequential" is incompatible with the model: expected shape=\(None, 4\), '
           r"found shape=\(10, 5\)\. Reshape the data")
    with pytest.raises(ShapeError, match=msg):
        model.fit(np.ones((10, 5)), Y, verbose=0)
    with pytest.raises(ShapeError, match=msg):
        model.evaluate(np.ones((10, 5)), Y, verbose=0)
    with pytest.raises(ShapeError, match=msg):
        model.predict(np.ones((10, 5)), verbose=0)
    with pytest.raises(ShapeError, match=r"expected shape=\(None, 4\), found shape=\(10, 4, 1\)"):
        model.fit(np.ones((10, 4, 1)), Y, verbose=0)
    for got, want in zip(model.get_weights(), before):
        np.testing.assert_array_equal(got, want)


def test_wrong_input_shape_for_a_functional_input_and_a_bare_layer():
    x = keras.Input((3,), name="features")
    model = keras.Model(x, L.Dense(2)(x))
    with pytest.raises(ShapeError, match=r'Input "features" is incompatible with the model: '
                                         r"expected shape=\(None, 3\), found shape=\(2, 6\)"):
        model.predict(np.ones((2, 6)), verbose=0)
    dense = L.Dense(2)
    dense(np.ones((1, 3)))
    with pytest.raises(ShapeError, match=r'Input 0 of layer "dense_1" is incompatible with the '
                                         r"layer: expected axis -1 of input shape to have value "
                                         r"3, but received input with shape \(1, 5\)"):
        dense(np.ones((1, 5)))


@pytest.mark.parametrize("data, dtype", [
    (np.array([["a", "b", "c", "d"]] * 10), "<U1"),
    (np.array([[1, None, 2, 3]] * 10, dtype=object), "object"),
])
def test_strings_and_object_arrays_are_refused(data, dtype):
    model = _model()
    msg = (rf"Expected x to be a numeric array or tensor\. Received an array of dtype {dtype} "
           rf"\(shape \(10, 4\)\)\. Convert strings to numbers first")
    with pytest.raises(DTypeError, match=msg):
        model.fit(data, Y, verbose=0)
    with pytest.raises(DTypeError, match=msg):
        model.predict(data, verbose=0)
    with pytest.raises(DTypeError, match=r"Expected the input of layer 'sequential' to be a "
                                         rf"numeric array or tensor\. Received an array of dtype "
                                         rf"{dtype}"):
        model(data)
    with pytest.raises(DTypeError, match=r"Expected y to be a numeric array or tensor\. "
                                         r"Received an array of dtype <U3 \(shape \(10,\)\)"):
        model.fit(X, np.array(["cat"] * 10), verbose=0)


@pytest.mark.parametrize("label", [3, -1])
def test_labels_out_of_range_for_the_loss(label):
    model = _model()
    before = model.get_weights()
    labels = Y.copy()
    labels[4] = label
    with pytest.raises(ConfigError, match=rf"Received a label value of {label} which is outside "
                                          r"the valid range of \[0, 2\] for sparse categorical "
                                          r"crossentropy with 3 classes\. Check the labels"):
        model.fit(X, labels, batch_size=10, verbose=0)
    for got, want in zip(model.get_weights(), before):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("call", [
    lambda m: m.fit(X, Y, verbose=0),
    lambda m: m.evaluate(X, Y, verbose=0),
    lambda m: m.train_on_batch(X, Y),
    lambda m: m.test_on_batch(X, Y),
])
def test_training_before_compile(call):
    model = _model(compiled=False)
    with pytest.raises(NotCompiledError, match=r"You must call `compile\(\)` before calling "
                                               r"`\w+\(\)` on model 'sequential'\. For example: "
                                               r"model.compile\(optimizer='adam', loss='mse'\)"):
        call(model)
    # predict needs no compile, as in Keras
    assert model.predict(X, verbose=0).shape == (10, 3)


def test_unknown_aliases_in_compile():
    model = _model(compiled=False)
    with pytest.raises(ConfigError, match=r"Unknown optimizer 'adamm'\. Expected one of: "
                                          r"\[.*'adam'.*\] or an Optimizer instance"):
        model.compile("adamm", "sparse_categorical_crossentropy")
    with pytest.raises(ConfigError, match=r"Unknown loss 'sparse_crossentropy'\. Expected one "
                                          r"of: \[.*'sparse_categorical_crossentropy'.*\]"):
        model.compile("adam", "sparse_crossentropy")
    with pytest.raises(ConfigError, match=r"Unknown metric 'acuracy'\. Expected one of: "
                                          r"\[.*'accuracy'.*\].*, a Metric instance or a function"):
        model.compile("adam", "sparse_categorical_crossentropy", metrics=["acuracy"])
    with pytest.raises(ConfigError, match=r"compile\(\) got unexpected keyword argument\(s\) "
                                          r"\['lr'\]"):
        model.compile("adam", "sparse_categorical_crossentropy", lr=0.1)
    assert not model.compiled


def test_compile_without_loss_fails_at_fit():
    model = _model(compiled=False)
    model.compile("adam")
    with pytest.raises(ConfigError, match=r"compile\(\) was given no loss; pass loss=\.\.\. to "
                                          r"compile\(\)"):
        model.fit(X, Y, verbose=0)


def test_mismatched_x_y_lengths():
    model = _model()
    msg = (r"Data cardinality is ambiguous:\n  x sizes: 10\n  y sizes: 7\n"
           r"Make sure all arrays contain the same number of samples\.")
    with pytest.raises(ConfigError, match=msg):
        model.fit(X, Y[:7], verbose=0)
    with pytest.raises(ConfigError, match=msg):
        model.evaluate(X, Y[:7], verbose=0)
    with pytest.raises(ConfigError, match=r"Data cardinality is ambiguous:\n  x sizes: 10\n"
                                          r"  y sizes: 10\n  sample_weight sizes: 3"):
        model.fit(X, Y, sample_weight=np.ones(3), verbose=0)


def test_bad_fit_arguments():
    model = _model()
    with pytest.raises(ConfigError, match=r"Expected validation_split in \(0, 1\)\. "
                                          r"Received: 1\.5"):
        model.fit(X, Y, validation_split=1.5, verbose=0)
    with pytest.raises(ConfigError, match=r"validation_split=0\.95 leaves an empty training or "
                                          r"validation set for 10 samples"):
        model.fit(X, Y, validation_split=0.95, verbose=0)
    with pytest.raises(ConfigError, match=r"Expected batch_size to be a positive int\. "
                                          r"Received: 0"):
        model.fit(X, Y, batch_size=0, verbose=0)
    with pytest.raises(ConfigError, match=r"Expected batch_size to be a positive int\. "
                                          r"Received: 2\.5"):
        model.evaluate(X, Y, batch_size=2.5, verbose=0)
    with pytest.raises(ConfigError, match=r"Expected input data `x`\. Received None"):
        model.fit(None, Y, verbose=0)
    with pytest.raises(ConfigError, match=r"Unrecognized data type: x=set\. Expected a numpy "
                                          r"array, a torch tensor"):
        model.fit({1, 2}, Y, verbose=0)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.from_numpy(X)))
    with pytest.raises(ConfigError, match=r"`y` argument is not supported when using a "
                                          r"DataLoader as input"):
        model.fit(loader, Y, verbose=0)
    with pytest.raises(ConfigError, match=r"validation_split is only supported for arrays and "
                                          r"tensors\. Pass validation_data instead"):
        model.fit(loader, validation_split=0.2, verbose=0)


def test_every_error_is_a_savepoint_error_and_a_builtin_one():
    model = _model()
    with pytest.raises(SavepointError):
        model.fit(X, Y[:3], verbose=0)
    with pytest.raises(ValueError):
        model.fit(X, Y[:3], verbose=0)
    with pytest.raises(TypeError):
        model.fit(np.array([["a"] * 4] * 10), Y, verbose=0)
    with pytest.raises(RuntimeError):
        _model(compiled=False).fit(X, Y, verbose=0)


def test_exhausted_generator_warns_and_stops():
    model = _model()

    def three_batches():
        for i in range(0, 9, 3):
            yield X[i:i + 3], Y[i:i + 3]
    with pytest.warns(UserWarning, match=r"Your input ran out of data; interrupting training"):
        history = model.fit(three_batches(), epochs=3, verbose=0)
    assert len(history.history["loss"]) == 1
    with pytest.warns(UserWarning, match=r"Your input ran out of data; interrupting training"):
        history = model.fit(three_batches(), epochs=3, steps_per_epoch=2, verbose=0)
    assert len(history.history["loss"]) == 1


def test_numpy_int_batch_size_is_accepted():
    model = _model()
    history = model.fit(X, Y, batch_size=np.int64(4), epochs=1, verbose=0)
    assert history.params["steps"] == 3
