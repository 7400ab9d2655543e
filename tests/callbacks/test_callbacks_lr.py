"""LearningRateScheduler and ReduceLROnPlateau change the optimizer's learning rate per epoch."""

import re

import numpy as np
import pytest
import torch

import savepoint as keras
from savepoint.callbacks import LambdaCallback, LearningRateScheduler, ReduceLROnPlateau
from savepoint.errors import ConfigError


def _lr_recorder(model, seen):
    """Records the learning rate in force at each epoch's first batch."""
    return LambdaCallback(on_train_batch_begin=lambda batch, logs: seen.append(
        model.optimizer.learning_rate) if batch == 0 else None)


# ----- LearningRateScheduler -------------------------------------------------------------------
def test_scheduler_sets_lr_each_epoch(data, make_model):
    model = make_model(lr=0.1)
    seen, calls = [], []

    def schedule(epoch, lr):
        calls.append((epoch, lr))
        return 0.1 * 0.5 ** epoch

    h = model.fit(*data, batch_size=8, epochs=3, verbose=0,
                  callbacks=[LearningRateScheduler(schedule), _lr_recorder(model, seen)])
    expected = [0.1, 0.05, 0.025]
    assert seen == expected
    assert h.history["lr"] == expected
    assert calls == [(0, 0.1), (1, 0.1), (2, 0.05)]  # each call sees the current rate
    assert model.optimizer.learning_rate == 0.025


def test_scheduler_rate_is_what_the_optimizer_uses(data, make_model):
    model = make_model(lr=0.1)
    model.fit(*data, batch_size=8, epochs=1, verbose=0,
              callbacks=[LearningRateScheduler(lambda epoch, lr: 0.0)])
    before = model.get_weights()
    model.fit(*data, batch_size=8, epochs=2, verbose=0,
              callbacks=[LearningRateScheduler(lambda epoch, lr: 0.0)])
    after = model.get_weights()
    assert all(a.tobytes() == b.tobytes() for a, b in zip(before, after))
    model.fit(*data, batch_size=8, epochs=1, verbose=0,
              callbacks=[LearningRateScheduler(lambda epoch, lr: 0.5)])
    assert not np.array_equal(model.get_weights()[0], after[0])


def test_one_argument_schedule_is_supported(data, make_model):
    model = make_model()
    h = model.fit(*data, batch_size=8, epochs=2, verbose=0,
                  callbacks=[LearningRateScheduler(lambda epoch: 0.01 * (epoch + 1))])
    assert h.history["lr"] == [0.01, 0.02]


@pytest.mark.parametrize("value,expected", [(np.float32(0.25), 0.25), (np.float64(0.5), 0.5),
                                            (torch.tensor(0.125), 0.125),
                                            (np.array(0.75, dtype="float32"), 0.75)])
def test_schedule_may_return_numpy_or_torch_floats(data, make_model, value, expected):
    model = make_model()
    model.fit(*data, batch_size=8, epochs=1, verbose=0,
              callbacks=[LearningRateScheduler(lambda epoch, lr: value)])
    assert model.optimizer.learning_rate == expected


def test_scheduler_verbose_message(data, make_model, capsys):
    model = make_model()
    model.fit(*data, batch_size=8, epochs=2, verbose=0,
              callbacks=[LearningRateScheduler(lambda e, lr: [0.5, 0.25][e], verbose=1)])
    assert capsys.readouterr().out == (
        "\nEpoch 1: LearningRateScheduler setting learning rate to 0.5.\n"
        "\nEpoch 2: LearningRateScheduler setting learning rate to 0.25.\n")


@pytest.mark.parametrize("value,shown", [(1, "1 of type int"), ("0.1", "'0.1' of type str"),
                                         (torch.tensor(1), "tensor(1) of type Tensor")])
def test_non_float_schedule_output_raises(data, make_model, value, shown):
    model = make_model()
    with pytest.raises(ConfigError, match=re.escape(
            f'The output of the "schedule" function should be float. Received: {shown}. '
            f"Return a float, e.g. `return float(lr)`.")):
        model.fit(*data, batch_size=8, epochs=1, verbose=0,
                  callbacks=[LearningRateScheduler(lambda epoch, lr: value)])


def test_schedule_must_be_callable():
    with pytest.raises(ConfigError, match=re.escape(
            "LearningRateScheduler expected `schedule` to be a function schedule(epoch, lr) "
            "-> float. Received: 0.1 of type float.")):
        LearningRateScheduler(0.1)


def test_scheduler_needs_an_optimizer():
    class NoOptimizer:
        optimizer = None

    cb = LearningRateScheduler(lambda epoch, lr: lr)
    cb.set_model(NoOptimizer())
    with pytest.raises(ConfigError, match=re.escape(
            "LearningRateScheduler needs a model whose optimizer has a `learning_rate`. "
            "Received optimizer: None. Call model.compile(optimizer=...) before fit().")):
        cb.on_epoch_begin(0)


# ----- ReduceLROnPlateau -----------------------------------------------------------------------
def _reference_lrs(values, lr, factor, patience, cooldown=0, min_lr=0.0, min_delta=0.0):
    """Keras's rule, written out independently: lrs logged per epoch and the final lr."""
    best, wait, cool, logged = np.inf, 0, 0, []
    for value in values:
        logged.append(lr)
        if cool > 0:
            cool, wait = cool - 1, 0
        if value < best - min_delta:
            best, wait = value, 0
        elif cool == 0:
            wait += 1
            if wait >= patience and np.float32(lr) > np.float32(min_lr):
                # Keras computes in float32 (its rate is a float32 variable).
                lr = float(max(np.float32(lr) * np.float32(factor), np.float32(min_lr)))
                cool, wait = cooldown, 0
    return logged, lr


@pytest.mark.parametrize("values,kwargs,expected_lrs", [
    ([1, 1, 1, 0.5, 0.5, 0.5], dict(factor=0.5, patience=1),
     [0.1, 0.1, 0.05, 0.025, 0.025, 0.0125]),
    ([1] * 6, dict(factor=0.5, patience=1, cooldown=2), [0.1, 0.1, 0.05, 0.05, 0.025, 0.025]),
    ([1] * 4, dict(factor=0.1, patience=1, min_lr=0.05), [0.1, 0.1, 0.05, 0.05]),
    ([1, 0.99995, 0.9998, 0.5], dict(factor=0.5, patience=1, min_delta=1e-4),
     [0.1, 0.1, 0.05, 0.05]),
    ([3, 2, 2, 2, 1], dict(factor=0.5, patience=3), [0.1] * 5),
])
def test_reduce_on_plateau_schedule(data, make_model, scripted, values, kwargs, expected_lrs):
    model = make_model(lr=0.1)
    cb = ReduceLROnPlateau(monitor="score", **kwargs)
    h = model.fit(*data, batch_size=8, epochs=len(values), verbose=0,
                  callbacks=[scripted("score", values), cb])
    ref_logged, ref_final = _reference_lrs(values, 0.1, **kwargs)
    assert h.history["lr"] == pytest.approx(expected_lrs, rel=1e-6)
    assert h.history["lr"] == ref_logged
    assert model.optimizer.learning_rate == ref_final


def test_reduce_on_plateau_maximizes_accuracy_in_auto_mode(data, make_model, scripted):
    model = make_model(lr=0.1)
    cb = ReduceLROnPlateau(monitor="val_acc", factor=0.5, patience=1)
    h = model.fit(*data, batch_size=8, epochs=3, verbose=0,
                  callbacks=[scripted("val_acc", [0.1, 0.2, 0.3]), cb])
    assert h.history["lr"] == [0.1, 0.1, 0.1]
    model2 = make_model(lr=0.1)
    cb2 = ReduceLROnPlateau(monitor="score", factor=0.5, patience=1, mode="max")
    model2.fit(*data, batch_size=8, epochs=2, verbose=0,
               callbacks=[scripted("score", [0.2, 0.1]), cb2])
    assert model2.optimizer.learning_rate == pytest.approx(0.05)


def test_reduce_on_plateau_verbose_message(data, make_model, scripted, capsys):
    model = make_model(lr=0.1)
    cb = ReduceLROnPlateau(monitor="score", factor=0.5, patience=1, verbose=1)
    model.fit(*data, batch_size=8, epochs=2, verbose=0, callbacks=[scripted("score", [1, 1]), cb])
    # As in tf.keras, the float32 rate is formatted as a Python float.
    assert capsys.readouterr().out == \
        "\nEpoch 2: ReduceLROnPlateau reducing learning rate to 0.05000000074505806.\n"


def test_reduce_on_plateau_missing_metric_warns(data, make_model):
    model = make_model()
    with pytest.warns(UserWarning, match=re.escape(
            "Learning rate reduction is conditioned on metric `val_loss` which is not "
            "available. Available metrics are: loss,lr")):
        model.fit(*data, batch_size=8, epochs=1, verbose=0, callbacks=[ReduceLROnPlateau()])


def test_reduce_on_plateau_argument_errors_and_warnings():
    with pytest.raises(ConfigError, match=re.escape(
            "ReduceLROnPlateau does not support a factor >= 1.0 or < 0. Received: factor=1.0. "
            "Pass a factor in [0, 1), e.g. factor=0.1.")):
        ReduceLROnPlateau(factor=1.0)
    with pytest.raises(ConfigError, match=re.escape(
            "ReduceLROnPlateau got unexpected keyword argument(s) ['patiense'].")):
        ReduceLROnPlateau(patiense=3)
    with pytest.raises(ConfigError, match=re.escape(
            "ReduceLROnPlateau expected `cooldown` to be a non-negative integer. "
            "Received: cooldown=-1.")):
        ReduceLROnPlateau(cooldown=-1)
    with pytest.warns(UserWarning, match=re.escape(
            "`epsilon` argument is deprecated and will be removed, use `min_delta` instead.")):
        cb = ReduceLROnPlateau(epsilon=0.01)
    assert cb.min_delta == 0.01
    with pytest.warns(UserWarning, match=re.escape(
            "Learning rate reduction mode up is unknown, fallback to auto mode.")):
        assert ReduceLROnPlateau(mode="up").mode == "auto"


def test_reduce_on_plateau_config_round_trip(data, make_model, scripted):
    cb = ReduceLROnPlateau(monitor="score", factor=0.5, patience=1, verbose=0, mode="min",
                           min_delta=0.0, cooldown=1, min_lr=0.01)
    config = cb.get_config()
    rebuilt = keras.saving.deserialize(keras.saving.serialize(cb), "callbacks")
    assert type(rebuilt) is ReduceLROnPlateau and rebuilt.get_config() == config
    lrs = []
    for callback in (cb, rebuilt):
        model = make_model(lr=0.1)
        h = model.fit(*data, batch_size=8, epochs=5, verbose=0,
                      callbacks=[scripted("score", [1] * 5), callback])
        lrs.append(h.history["lr"])
    assert lrs[0] == lrs[1] and lrs[0][-1] < 0.1
