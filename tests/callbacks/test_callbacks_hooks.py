"""Hook order in fit/evaluate/predict, batch-hook dispatch, LambdaCallback, History, TerminateOnNaN."""

import re
from collections.abc import Mapping

import numpy as np
import pytest

import savepoint as keras
from savepoint.callbacks import (Callback, CallbackList, History, LambdaCallback, LazyLogs,
                                 TerminateOnNaN)
from savepoint.errors import ConfigError

_BATCH = ("on_train_batch_begin", "on_train_batch_end", "on_test_batch_begin",
          "on_test_batch_end", "on_predict_batch_begin", "on_predict_batch_end")
_OTHER = ("on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end", "on_test_begin",
          "on_test_end", "on_predict_begin", "on_predict_end")


class Recorder(Callback):
    """Records (hook, index) for every hook it receives, and the logs it was given."""

    def __init__(self):
        super().__init__()
        self.calls, self.logs = [], []


def _make_hook(name):
    takes_index = name in _BATCH or "epoch" in name

    def hook(self, *args, **kwargs):
        self.calls.append((name, args[0]) if takes_index else (name,))
        logs = args[-1] if len(args) == (2 if takes_index else 1) else "missing"
        # Batch logs are lazy views of the live metrics: snapshot them now.
        self.logs.append((name, dict(logs) if isinstance(logs, LazyLogs) else logs))
    return hook


for _name in _BATCH + _OTHER:
    setattr(Recorder, _name, _make_hook(_name))


def _epoch(e, n_train=2, n_val=2):
    calls = [("on_epoch_begin", e)]
    for b in range(n_train):
        calls += [("on_train_batch_begin", b), ("on_train_batch_end", b)]
    if n_val:
        calls.append(("on_test_begin",))
        for b in range(n_val):
            calls += [("on_test_batch_begin", b), ("on_test_batch_end", b)]
        calls.append(("on_test_end",))
    return calls + [("on_epoch_end", e)]


def test_fit_calls_every_hook_in_keras_order(data, make_model):
    rec = Recorder()
    model = make_model()
    model.fit(*data, batch_size=8, epochs=2, verbose=0, validation_data=data, callbacks=[rec])
    assert rec.calls == [("on_train_begin",)] + _epoch(0) + _epoch(1) + [("on_train_end",)]
    assert rec.model is model
    assert rec.params == {"verbose": 0, "epochs": 2, "steps": 2}


def test_fit_without_validation_and_with_initial_epoch(data, make_model):
    rec = Recorder()
    make_model().fit(*data, batch_size=8, epochs=3, initial_epoch=1, verbose=0, callbacks=[rec])
    assert rec.calls == [("on_train_begin",)] + _epoch(1, n_val=0) + _epoch(2, n_val=0) + \
        [("on_train_end",)]


def test_validation_freq_runs_test_hooks_only_on_validated_epochs(data, make_model):
    rec = Recorder()
    make_model().fit(*data, batch_size=8, epochs=2, verbose=0, validation_data=data,
                     validation_freq=2, callbacks=[rec])
    assert rec.calls == [("on_train_begin",)] + _epoch(0, n_val=0) + _epoch(1) + \
        [("on_train_end",)]


def test_evaluate_and_predict_hook_order(data, make_model):
    model = make_model()
    rec = Recorder()
    model.evaluate(*data, batch_size=8, verbose=0, callbacks=[rec])
    assert rec.calls == [("on_test_begin",), ("on_test_batch_begin", 0),
                         ("on_test_batch_end", 0), ("on_test_batch_begin", 1),
                         ("on_test_batch_end", 1), ("on_test_end",)]
    rec = Recorder()
    model.predict(data[0], batch_size=8, verbose=0, callbacks=[rec])
    assert rec.calls == [("on_predict_begin",), ("on_predict_batch_begin", 0),
                         ("on_predict_batch_end", 0), ("on_predict_batch_begin", 1),
                         ("on_predict_batch_end", 1), ("on_predict_end",)]
    outputs = [logs for name, logs in rec.logs if name == "on_predict_batch_end"]
    got = np.concatenate([o["outputs"].numpy() for o in outputs])
    np.testing.assert_array_equal(got, model.predict(data[0], batch_size=8, verbose=0))


def test_logs_passed_to_hooks(data, make_model):
    rec = Recorder()
    model = make_model(metrics=["accuracy"])
    h = model.fit(*data, batch_size=8, epochs=1, verbose=0, validation_data=data,
                  callbacks=[rec])
    logs = dict(rec.logs)
    batch_logs = [l for n, l in rec.logs if n == "on_train_batch_end"]
    assert all(isinstance(l, Mapping) for l in batch_logs)
    # The last batch's (lazy) logs are the epoch's running means: the epoch's logs.
    assert dict(batch_logs[-1]) == {"loss": h.history["loss"][0],
                                    "accuracy": h.history["accuracy"][0]}
    assert logs["on_test_end"] == {"loss": h.history["val_loss"][0],
                                   "accuracy": h.history["val_accuracy"][0]}
    assert logs["on_epoch_end"] == {k: v[0] for k, v in h.history.items()}
    assert logs["on_train_end"] == logs["on_epoch_end"]
    assert logs["on_train_begin"] == {} and logs["on_epoch_begin"] == {}
    assert all(l is not None for _, l in rec.logs)  # Keras passes {} where it has no logs


def test_lazy_logs_compute_only_when_read():
    reads = []
    logs = LazyLogs({"loss": lambda: reads.append("loss") or 0.5, "acc": 0.25})
    assert reads == [] and len(logs) == 2 and list(logs) == ["loss", "acc"]
    assert logs["loss"] == 0.5 and reads == ["loss"]
    assert dict(logs) == {"loss": 0.5, "acc": 0.25}


def test_stop_training_in_a_batch_hook_ends_fit_mid_epoch(data, make_model):
    model = make_model()
    rec = Recorder()

    class StopAtBatch0(Callback):
        def on_train_batch_end(self, batch, logs=None):
            self.model.stop_training = True

    h = model.fit(*data, batch_size=8, epochs=3, verbose=0, callbacks=[StopAtBatch0(), rec])
    assert [c for c in rec.calls if c[0] == "on_train_batch_end"] == [("on_train_batch_end", 0)]
    assert len(h.history["loss"]) == 1


# ----- batch-hook dispatch ---------------------------------------------------------------------
def test_batch_hooks_dispatch_only_to_callbacks_that_implement_them():
    class EpochOnly(Callback):
        def on_epoch_end(self, epoch, logs=None):
            pass

    class Legacy(Callback):
        def on_batch_end(self, batch, logs=None):
            pass

    assert not any(CallbackList([EpochOnly(), History()]).wants(h) for h in _BATCH)
    legacy = CallbackList([Legacy()])
    assert [h for h in _BATCH if legacy.wants(h)] == ["on_train_batch_end"]
    lam = CallbackList([LambdaCallback(on_epoch_end=lambda e, l: None)])
    assert not any(lam.wants(h) for h in _BATCH)
    lam = CallbackList([LambdaCallback(on_batch_begin=lambda b, l: None,
                                       on_test_batch_end=lambda b, l: None)])
    assert [h for h in _BATCH if lam.wants(h)] == ["on_train_batch_begin", "on_test_batch_end"]


def test_callback_list_rejects_non_callbacks():
    with pytest.raises(ConfigError, match=re.escape(
            "Expected callbacks to be savepoint Callback instances. Received: 'stop' of "
            "type str.")):
        CallbackList(["stop"])


# ----- LambdaCallback --------------------------------------------------------------------------
def test_lambda_callback_hooks_get_the_right_epochs_and_batches(data, make_model):
    seen = []
    cb = LambdaCallback(
        on_train_begin=lambda logs: seen.append(("train_begin", logs)),
        on_epoch_begin=lambda epoch, logs: seen.append(("epoch_begin", epoch)),
        on_batch_begin=lambda batch, logs: seen.append(("batch_begin", batch)),
        on_batch_end=lambda batch, logs: seen.append(("batch_end", batch, round(logs["loss"], 6))),
        on_epoch_end=lambda epoch, logs: seen.append(("epoch_end", epoch, round(logs["loss"], 6))),
        on_train_end=lambda logs: seen.append(("train_end", sorted(logs))))
    model = make_model()
    h = model.fit(*data, batch_size=8, epochs=2, verbose=0, callbacks=[cb])
    loss = [round(v, 6) for v in h.history["loss"]]
    batch_end = [s for s in seen if s[0] == "batch_end"]
    assert [s[:2] for s in batch_end] == [("batch_end", 0), ("batch_end", 1)] * 2
    assert [batch_end[1][2], batch_end[3][2]] == loss  # last batch's running loss
    assert [s for s in seen if s[0] != "batch_end"] == [
        ("train_begin", {}), ("epoch_begin", 0), ("batch_begin", 0), ("batch_begin", 1),
        ("epoch_end", 0, loss[0]), ("epoch_begin", 1), ("batch_begin", 0), ("batch_begin", 1),
        ("epoch_end", 1, loss[1]), ("train_end", ["loss"])]
    seen.clear()
    model.evaluate(*data, batch_size=8, verbose=0, callbacks=[cb])
    assert seen == []  # on_batch_* are training hooks, as in Keras


def test_lambda_callback_accepts_other_hooks_by_keyword(data, make_model):
    seen = []
    cb = LambdaCallback(on_test_begin=lambda logs: seen.append("test_begin"),
                        on_predict_batch_end=lambda batch, logs: seen.append(batch))
    model = make_model()
    model.evaluate(*data, batch_size=8, verbose=0, callbacks=[cb])
    model.predict(data[0], batch_size=8, verbose=0, callbacks=[cb])
    assert seen == ["test_begin", 0, 1]


def test_lambda_callback_errors():
    with pytest.raises(ConfigError, match=re.escape(
            "LambdaCallback got unknown hook name(s) ['on_epoch']. Expected names of Callback "
            "hooks: ")):
        LambdaCallback(on_epoch=print)
    with pytest.raises(ConfigError, match=re.escape(
            "LambdaCallback expected `on_epoch_end` to be a function. Received: 3 of type int.")):
        LambdaCallback(on_epoch_end=3)


# ----- History ---------------------------------------------------------------------------------
def test_history_contents(data, make_model):
    model = make_model(metrics=["accuracy"])
    epoch_logs = []
    spy = LambdaCallback(on_epoch_end=lambda epoch, logs: epoch_logs.append(dict(logs)))
    h = model.fit(*data, batch_size=8, epochs=3, verbose=0, validation_data=data,
                  callbacks=[spy])
    assert isinstance(h, History) and model.history is h
    assert h.epoch == [0, 1, 2]
    assert sorted(h.history) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert h.history == {k: [logs[k] for logs in epoch_logs] for k in epoch_logs[0]}
    assert all(type(v) is float for values in h.history.values() for v in values)
    assert h.history["val_loss"][-1] == pytest.approx(
        model.evaluate(*data, batch_size=8, verbose=0)[0], rel=1e-6)
    h2 = model.fit(*data, batch_size=8, epochs=1, verbose=0)
    assert h2.epoch == [0] and len(h2.history["loss"]) == 1 and model.history is h2


def test_history_sees_keys_added_by_other_callbacks(data, make_model):
    adds = LambdaCallback(on_epoch_end=lambda epoch, logs: logs.update(extra=epoch * 2.0))
    h = make_model().fit(*data, batch_size=8, epochs=2, verbose=0, callbacks=[adds])
    assert h.history["extra"] == [0.0, 2.0]


# ----- TerminateOnNaN --------------------------------------------------------------------------
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_terminate_on_nan(data, make_model, capsys, bad):
    x, y = data
    y = y.copy()
    y[10] = bad  # second batch of each epoch
    rec = Recorder()
    h = make_model().fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0,
                         callbacks=[TerminateOnNaN(), rec])
    assert capsys.readouterr().out == "Batch 1: Invalid loss, terminating training\n"
    assert len(h.history["loss"]) == 1 and not np.isfinite(h.history["loss"][0])
    assert [c for c in rec.calls if c[0] == "on_train_batch_end"] == \
        [("on_train_batch_end", 0), ("on_train_batch_end", 1)]


def test_terminate_on_nan_keeps_training_on_finite_loss(data, make_model, capsys):
    h = make_model().fit(*data, batch_size=8, epochs=2, verbose=0,
                         callbacks=[TerminateOnNaN()])
    assert len(h.history["loss"]) == 2 and capsys.readouterr().out == ""


def test_terminate_on_nan_config_round_trip():
    cb = TerminateOnNaN()
    rebuilt = keras.saving.deserialize(keras.saving.serialize(cb), "callbacks")
    assert type(rebuilt) is TerminateOnNaN and rebuilt.get_config() == cb.get_config() == {}
    assert type(keras.saving.deserialize("terminate_on_nan", "callbacks")) is TerminateOnNaN
