"""Subclassed models: layers as attributes, ``call(inputs, training)``, build on first call."""

import numpy as np
import pytest
import torch

import savepoint as keras
from savepoint import layers as L
from savepoint.errors import NotBuiltError


class TwoLayer(keras.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.hidden = L.Dense(8, activation="relu")
        self.drop = L.Dropout(0.5)
        self.out = L.Dense(3)
        self.seen_training = []

    def call(self, inputs, training=False):
        self.seen_training.append(training)
        return self.out(self.drop(self.hidden(inputs), training=training))


def test_builds_on_first_call_and_tracks_layers_in_attribute_order():
    model = TwoLayer()
    assert not model.built
    with pytest.raises(NotBuiltError, match=r"This model has not yet been built"):
        model.summary()
    out = model(np.ones((2, 5)))
    assert out.shape == (2, 3) and model.built
    assert [l.name for l in model.layers] == ["dense", "dropout", "dense_1"]
    assert [w.path for w in model.weights] == ["dense/kernel", "dense/bias", "dense_1/kernel",
                                               "dense_1/bias"]
    assert model.count_params() == 5 * 8 + 8 + 8 * 3 + 3
    lines = []
    model.summary(print_fn=lines.append)
    assert " dense (Dense)               multiple                  48        " in lines


def test_training_argument_reaches_call_and_dropout():
    model = TwoLayer()
    x = np.random.RandomState(0).rand(16, 5).astype("float32")
    inference = model(x).detach().numpy()
    np.testing.assert_array_equal(model(x, training=False).detach().numpy(), inference)
    torch.manual_seed(0)
    assert not np.allclose(model(x, training=True).detach().numpy(), inference)
    assert model.seen_training == [False, False, True]
    h = np.maximum(x @ model.hidden.kernel.detach().numpy() + model.hidden.bias.detach().numpy(), 0)
    expected = h @ model.out.get_weights()[0] + model.out.get_weights()[1]
    np.testing.assert_allclose(inference, expected, rtol=1e-5, atol=1e-6)


def test_fit_passes_training_true_and_predict_false():
    model = TwoLayer()
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    x = np.random.RandomState(1).rand(8, 5).astype("float32")
    model.fit(x, np.arange(8) % 3, batch_size=4, epochs=1, verbose=0)
    # the first (unbuilt) call builds the model in inference mode, then two training steps
    assert model.seen_training[-2:] == [True, True]
    model.seen_training.clear()
    model.predict(x, batch_size=8, verbose=0)
    model.evaluate(x, np.arange(8) % 3, batch_size=8, verbose=0)
    assert model.seen_training == [False, False]


def test_build_with_input_shape():
    model = TwoLayer()
    model.build((None, 4))
    assert model.built and model.count_params() == 4 * 8 + 8 + 8 * 3 + 3


def test_model_without_call_explains_itself():
    with pytest.raises(NotImplementedError, match=r"Model 'model' has no call\(\): subclass "
                                                  r"Model and define call\(inputs\)"):
        keras.Model()(np.ones((1, 2)))


def test_layers_in_a_list_attribute_are_tracked():
    class Stack(keras.Model):
        def __init__(self):
            super().__init__()
            self.blocks = torch.nn.ModuleList([L.Dense(4), L.Dense(2)])

        def call(self, x):
            for block in self.blocks:
                x = block(x)
            return x

    model = Stack()
    model(np.ones((1, 3)))
    assert [l.name for l in model.layers] == ["dense", "dense_1"]
    assert model.count_params() == 3 * 4 + 4 + 4 * 2 + 2
