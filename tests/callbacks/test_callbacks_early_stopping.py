"""EarlyStopping: stop epoch for scripted metric sequences, restore_best_weights, messages."""

import re

import numpy as np
import pytest

import savepoint as keras
from savepoint.callbacks import EarlyStopping
from savepoint.errors import ConfigError


class _Stub:
    """The part of a model EarlyStopping uses, with weights that are just the epoch number."""

    def __init__(self):
        self.stop_training = False
        self.weights = [np.zeros(1)]

    def get_weights(self):
        return [w.copy() for w in self.weights]

    def set_weights(self, weights):
        self.weights = [w.copy() for w in weights]


def _drive(es, values, key="score"):
    """Run the callback on synthetic logs the way fit does; returns the epochs run."""
    model = _Stub()
    es.set_model(model)
    es.on_train_begin()
    run = 0
    for epoch, value in enumerate(values):
        model.weights = [np.array([float(epoch)])]
        es.on_epoch_end(epoch, {key: value})
        run += 1
        if model.stop_training:
            break
    es.on_train_end()
    return run, model


# (values, kwargs, epochs run, stopped_epoch) worked out by hand from Keras's rules:
# improvement = op(value - min_delta, best); the wait check only runs on non-improving epochs
# after epoch 0; a baseline keeps the wait counting until it is beaten.
CASES = [
    ([5, 4, 4.5, 3], dict(patience=0), 3, 2),
    ([3, 2, 2.5, 2.1, 1.0, 0.5], dict(patience=2), 4, 3),
    ([3, 2.8, 2.6, 2.0, 1.0], dict(patience=1, min_delta=0.5), 2, 1),
    ([3, 2.8, 2.6, 2.0, 1.0], dict(patience=1, min_delta=-0.5), 2, 1),
    ([3, 2.8, 2.6, 2.0, 1.0], dict(patience=1), 5, 0),
    ([0.1, 0.2, 0.2, 0.3], dict(patience=1, mode="max"), 3, 2),
    ([0.1, 0.2, 0.2, 0.3], dict(patience=1, mode="min"), 2, 1),
    ([3, 3, 3, 3], dict(patience=2), 3, 2),
    ([3, 3, 3, 3], dict(patience=2, baseline=1.0), 2, 1),
    ([3, 2, 1.5, 1.2, 1.1, 0.9], dict(patience=2, baseline=1.0), 6, 0),
    ([1, 2, 3, 4, 5], dict(patience=0), 2, 1),
    ([1, 2, 3, 4, 5], dict(patience=0, start_from_epoch=2), 4, 3),
]


@pytest.mark.parametrize("values,kwargs,run,stopped", CASES)
def test_stop_epoch_driven_directly(values, kwargs, run, stopped):
    es = EarlyStopping(monitor="score", **kwargs)
    got, model = _drive(es, values)
    assert got == run
    assert es.stopped_epoch == stopped
    assert model.stop_training is (stopped > 0)


@pytest.mark.parametrize("values,kwargs,run,stopped", CASES)
def test_stop_epoch_inside_fit(values, kwargs, run, stopped, data, make_model, scripted):
    model = make_model()
    es = EarlyStopping(monitor="score", **kwargs)
    h = model.fit(*data, batch_size=8, epochs=len(values), verbose=0,
                  callbacks=[scripted("score", values), es])
    assert len(h.history["loss"]) == run
    assert h.history["score"] == values[:run]
    assert h.epoch == list(range(run))
    assert es.stopped_epoch == stopped


@pytest.mark.parametrize("monitor,expected", [("val_accuracy", "max"), ("acc", "max"),
                                              ("val_auc", "max"), ("loss", "min"),
                                              ("accuracy_gap", "min")])
def test_auto_mode_direction_follows_metric_name(monitor, expected):
    rising = [0.1, 0.2, 0.3, 0.4]
    es = EarlyStopping(monitor=monitor, patience=0)
    run, _ = _drive(es, rising, key=monitor)
    # Rising values never stop a maximizer; they stop a minimizer at epoch 1.
    assert run == (4 if expected == "max" else 2)


def test_restore_best_weights_is_bitwise_exact(data, make_model, scripted):
    model = make_model()
    per_epoch = []
    recorder = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: per_epoch.append(model.get_weights()))
    values = [3, 2, 2.5, 2.1, 2.2]
    es = EarlyStopping(monitor="score", patience=2, restore_best_weights=True)
    model.fit(*data, batch_size=8, epochs=5, verbose=0,
              callbacks=[scripted("score", values), recorder, es])
    assert es.stopped_epoch == 3 and es.best_epoch == 1 and len(per_epoch) == 4
    final = model.get_weights()
    # Training moved the weights after the best epoch, and restoring brought them back exactly.
    assert not np.array_equal(per_epoch[3][0], per_epoch[1][0])
    for got, want in zip(final, per_epoch[1]):
        assert got.dtype == want.dtype and got.tobytes() == want.tobytes()


def test_restore_without_any_improvement_uses_first_epoch(data, make_model, scripted):
    model = make_model()
    per_epoch = []
    recorder = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: per_epoch.append(model.get_weights()))
    es = EarlyStopping(monitor="score", patience=1, mode="max", restore_best_weights=True,
                       baseline=10.0)
    model.fit(*data, batch_size=8, epochs=4, verbose=0,
              callbacks=[scripted("score", [1, 0.5, 0.4, 0.3]), recorder, es])
    assert es.best_epoch == 0 and es.stopped_epoch == 1
    assert all(a.tobytes() == b.tobytes() for a, b in zip(model.get_weights(), per_epoch[0]))


def test_restore_happens_at_train_end_even_without_stopping(data, make_model, scripted,
                                                            capsys):
    model = make_model()
    per_epoch = []
    recorder = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: per_epoch.append(model.get_weights()))
    es = EarlyStopping(monitor="score", patience=5, restore_best_weights=True, verbose=1)
    model.fit(*data, batch_size=8, epochs=3, verbose=0,
              callbacks=[scripted("score", [3, 2, 2.5]), recorder, es])
    assert es.stopped_epoch == 0
    assert capsys.readouterr().out == \
        "Restoring model weights from the end of the best epoch: 2.\n"
    assert all(a.tobytes() == b.tobytes() for a, b in zip(model.get_weights(), per_epoch[1]))


def test_verbose_messages_when_stopping(data, make_model, scripted, capsys):
    model = make_model()
    es = EarlyStopping(monitor="score", patience=2, restore_best_weights=True, verbose=1)
    model.fit(*data, batch_size=8, epochs=6, verbose=0,
              callbacks=[scripted("score", [3, 2, 2.5, 2.1, 1, 0]), es])
    assert capsys.readouterr().out == (
        "Epoch 4: early stopping\n"
        "Restoring model weights from the end of the best epoch: 2.\n")


def test_silent_when_verbose_is_zero(data, make_model, scripted, capsys):
    model = make_model()
    es = EarlyStopping(monitor="score", patience=0, restore_best_weights=True)
    model.fit(*data, batch_size=8, epochs=3, verbose=0,
              callbacks=[scripted("score", [1, 2, 3]), es])
    assert es.stopped_epoch == 1
    assert capsys.readouterr().out == ""


def test_missing_metric_warns_with_available_keys(data, make_model):
    model = make_model(metrics=["accuracy"])
    es = EarlyStopping(monitor="val_loss", patience=0)
    with pytest.warns(UserWarning, match=re.escape(
            "Early stopping conditioned on metric `val_loss` which is not available. "
            "Available metrics are: loss,accuracy")):
        h = model.fit(*data, batch_size=8, epochs=3, verbose=0, callbacks=[es])
    assert len(h.history["loss"]) == 3 and es.stopped_epoch == 0


def test_monitors_val_loss_by_default(data, make_model):
    model = make_model()
    es = EarlyStopping(patience=100)
    h = model.fit(*data, batch_size=8, epochs=3, verbose=0, callbacks=[es],
                  validation_data=data)
    assert es.best == min(h.history["val_loss"])
    assert es.best_epoch == int(np.argmin(h.history["val_loss"]))


def test_unknown_mode_warns_and_falls_back_to_auto():
    with pytest.warns(UserWarning, match=re.escape(
            "EarlyStopping mode bogus is unknown, fallback to auto mode.")):
        es = EarlyStopping(monitor="val_accuracy", mode="bogus")
    assert es.mode == "auto"
    assert _drive(EarlyStopping(monitor="val_accuracy", patience=0), [1, 2, 3],
                  key="val_accuracy")[0] == 3


@pytest.mark.parametrize("kwargs,message", [
    (dict(patience=-1), "EarlyStopping expected `patience` to be a non-negative integer. "
                        "Received: patience=-1."),
    (dict(patience=1.5), "EarlyStopping expected `patience` to be a non-negative integer. "
                         "Received: patience=1.5."),
    (dict(start_from_epoch=-2), "EarlyStopping expected `start_from_epoch` to be a "
                                "non-negative integer. Received: start_from_epoch=-2."),
    (dict(monitor=3), "EarlyStopping expected `monitor` to be the name of a logged metric, "
                      "such as 'val_loss'. Received: monitor=3."),
])
def test_bad_arguments_raise(kwargs, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        EarlyStopping(**kwargs)


def test_reusable_across_fits(data, make_model, scripted):
    model = make_model()
    es = EarlyStopping(monitor="score", patience=0)
    for _ in range(2):
        h = model.fit(*data, batch_size=8, epochs=4, verbose=0,
                      callbacks=[scripted("score", [2, 1, 3, 0]), es])
        assert len(h.history["loss"]) == 3 and es.stopped_epoch == 2


def test_config_round_trip():
    es = EarlyStopping(monitor="val_accuracy", min_delta=-0.01, patience=3, verbose=1,
                       mode="max", baseline=0.5, restore_best_weights=True, start_from_epoch=1)
    config = es.get_config()
    assert config == {"monitor": "val_accuracy", "min_delta": -0.01, "patience": 3,
                      "verbose": 1, "mode": "max", "baseline": 0.5,
                      "restore_best_weights": True, "start_from_epoch": 1}
    rebuilt = keras.saving.deserialize(keras.saving.serialize(es), "callbacks")
    assert type(rebuilt) is EarlyStopping and rebuilt.get_config() == config
    values = [0.4, 0.6, 0.61, 0.605, 0.7, 0.2]
    a, b = _drive(es, values, "val_accuracy"), _drive(rebuilt, values, "val_accuracy")
    assert a[0] == b[0] and es.stopped_epoch == rebuilt.stopped_epoch
    assert es.best == rebuilt.best and es.best_epoch == rebuilt.best_epoch
    assert keras.saving.deserialize("early_stopping", "callbacks").monitor == "val_loss"
