"""Recurrent ``kernel_constraint``/``recurrent_constraint``/``bias_constraint``: kept in the
config (tf.keras's), on the layer and its cell, and applied by the optimizer after each update
(the numbers against tf.keras are tests/models/test_graph_goldens.py, case
``rnn_constraints``)."""

import numpy as np
import pytest

import savepoint as keras

C = keras.constraints


@pytest.mark.parametrize("cls", [keras.layers.LSTM, keras.layers.GRU, keras.layers.SimpleRNN])
def test_constraints_are_configured_and_round_trip(cls):
    layer = cls(3, kernel_constraint=C.MaxNorm(2.0), recurrent_constraint="non_neg",
                bias_constraint=C.UnitNorm(axis=0))
    config = layer.get_config()
    assert config["kernel_constraint"]["class_name"] == "MaxNorm"
    assert config["kernel_constraint"]["config"]["max_value"] == 2.0
    assert config["recurrent_constraint"]["class_name"] == "NonNeg"
    assert config["bias_constraint"]["class_name"] == "UnitNorm"
    clone = cls.from_config(config)
    assert isinstance(clone.kernel_constraint, C.MaxNorm)
    assert isinstance(clone.cell.recurrent_constraint, C.NonNeg)


def test_bidirectional_lstm_weights_obey_their_constraints_after_fit():
    model = keras.Sequential([
        keras.layers.Bidirectional(keras.layers.LSTM(
            4, recurrent_constraint=C.NonNeg(), kernel_constraint=C.MaxNorm(0.2)),
            input_shape=(6, 3)),
        keras.layers.Dense(1)])
    rng = np.random.default_rng(0)
    model.set_weights([rng.uniform(-1, 1, w.shape).astype("float32")
                       for w in model.get_weights()])
    model.compile(keras.optimizers.SGD(0.5), "mse")
    model.fit(rng.standard_normal((16, 6, 3)), rng.standard_normal((16, 1)), epochs=1,
              batch_size=8, verbose=0)
    for cell in (model.layers[0].forward_layer.cell, model.layers[0].backward_layer.cell):
        assert float(cell.recurrent_kernel.detach().min()) >= 0.0
        norms = np.sqrt((cell.kernel.detach().numpy() ** 2).sum(axis=0))
        assert norms.max() <= 0.2 + 1e-6
