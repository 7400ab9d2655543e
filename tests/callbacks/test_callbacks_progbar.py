"""Keras 2 progress output: ``Epoch i/n`` and the bar (verbose=1) or one line (verbose=2)."""

import io
import re
import sys

import numpy as np
import pytest

from savepoint.callbacks import EarlyStopping, LazyLogs, LearningRateScheduler
from savepoint.utils.progbar import Progbar, format_time_per_unit, format_value

NUM = r"-?\d+\.\d{4}"
TIME = r"\d+(?:s|ms|us)"
BAR1 = (rf"^2/2 \[={{30}}\] - \d+s {TIME}/step - loss: (?P<loss>{NUM})"
        rf" - val_loss: (?P<val_loss>{NUM})$")
LINE2 = (rf"^2/2 - \d+s - loss: (?P<loss>{NUM}) - val_loss: (?P<val_loss>{NUM})"
         rf" - {TIME}/epoch - {TIME}/step$")


class TTY(io.StringIO):
    def isatty(self):
        return True


def _fit(make_model, data, verbose, epochs=2, **kwargs):
    return make_model().fit(*data, batch_size=8, epochs=epochs, verbose=verbose,
                            validation_data=data, **kwargs)


@pytest.mark.parametrize("verbose,pattern", [(1, BAR1), (2, LINE2)])
def test_non_tty_prints_one_line_per_epoch(make_model, data, capsys, verbose, pattern):
    h = _fit(make_model, data, verbose)
    out = capsys.readouterr().out
    assert "\r" not in out and "\b" not in out
    lines = out.split("\n")
    assert lines[-1] == "" and len(lines) == 5
    assert lines[0] == "Epoch 1/2" and lines[2] == "Epoch 2/2"
    for epoch, line in enumerate([lines[1], lines[3]]):
        m = re.match(pattern, line)
        assert m, line
        assert m["loss"] == f"{h.history['loss'][epoch]:.4f}"
        assert m["val_loss"] == f"{h.history['val_loss'][epoch]:.4f}"


def test_single_epoch_has_no_epoch_header(make_model, data, capsys):
    _fit(make_model, data, 1, epochs=1)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1 and re.match(BAR1, lines[0])


def test_verbose_auto_is_1_and_0_is_silent(make_model, data, capsys):
    _fit(make_model, data, "auto", epochs=1)
    assert re.match(BAR1, capsys.readouterr().out.splitlines()[0])
    _fit(make_model, data, 0)
    assert capsys.readouterr().out == ""


def test_tty_redraws_in_place(make_model, data, monkeypatch):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(20, 3)).astype("float32")
    y = x[:, :1].copy()
    stream = TTY()
    monkeypatch.setattr(sys, "stdout", stream)
    h = make_model().fit(x, y, batch_size=2, epochs=2, verbose=1)
    out = stream.getvalue()
    epochs = out.split("Epoch ")[1:]
    assert [e.split("\n", 1)[0] for e in epochs] == ["1/2", "2/2"]
    for epoch, text in enumerate(epochs):
        body = text.split("\n", 1)[1]
        assert body.endswith("\n") and body.count("\n") == 1
        # Each redraw is "\b" * previous width + "\r" + the new frame.
        frames = [f.rstrip(" \n\b") for f in body.split("\r")[1:]]
        # The first step always draws (an ETA frame); the last frame is the epoch's summary.
        assert re.match(rf"^ 1/10 \[==>\.{{27}}\] - ETA: \d+s - loss: {NUM}$", frames[0])
        last = frames[-1]
        m = re.match(rf"^10/10 \[={{30}}\] - \d+s {TIME}/step - loss: (?P<loss>{NUM})$", last)
        assert m, last
        assert m["loss"] == f"{h.history['loss'][epoch]:.4f}"


def test_evaluate_and_predict_bars(make_model, data, capsys):
    model = make_model()
    loss = model.evaluate(*data, batch_size=8, verbose=1)
    model.predict(data[0], batch_size=8, verbose=1)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    m = re.match(rf"^2/2 \[={{30}}\] - \d+s {TIME}/step - loss: (?P<loss>{NUM})$", lines[0])
    assert m and m["loss"] == f"{loss:.4f}"
    assert re.match(rf"^2/2 \[={{30}}\] - \d+s {TIME}/step$", lines[1])


def test_evaluate_verbose_2_prints_a_summary_line(make_model, data, capsys):
    make_model().evaluate(*data, batch_size=8, verbose=2)
    line, = capsys.readouterr().out.splitlines()
    assert re.match(rf"^2/2 - \d+s - loss: {NUM} - {TIME}/epoch - {TIME}/step$", line)


def test_callback_messages_interleave_like_keras(make_model, data, scripted, capsys):
    # Real tf.keras 2.21 runs the user's callbacks before its progress bar (History and the
    # bar are appended last), so the scheduler's message precedes "Epoch 1/3" and the bar's
    # epoch line shows the ``lr`` the scheduler added to the logs.
    cbs = [LearningRateScheduler(lambda e, lr: 0.01, verbose=1),
           scripted("score", [1.0, 2.0, 3.0]), EarlyStopping(monitor="score", verbose=1)]
    h = make_model().fit(*data, batch_size=8, epochs=3, verbose=1, callbacks=cbs)
    lines = capsys.readouterr().out.split("\n")
    assert lines[0:3] == ["", "Epoch 1: LearningRateScheduler setting learning rate to 0.01.",
                          "Epoch 1/3"]
    assert re.match(rf"^2/2 \[={{30}}\] - \d+s {TIME}/step - loss: {NUM} - lr: {NUM} - "
                    rf"score: {NUM}$", lines[3])
    assert lines[4:7] == ["", "Epoch 2: LearningRateScheduler setting learning rate to 0.01.",
                          "Epoch 2/3"]
    assert re.match(rf"^2/2 \[={{30}}\] - \d+s {TIME}/step - loss: {NUM} - lr: {NUM} - "
                    rf"score: {NUM}$", lines[7])
    assert lines[8:] == ["Epoch 2: early stopping", ""]
    assert h.history["lr"] == [0.01, 0.01]


def test_number_and_time_formats():
    assert format_value(0.5) == " 0.5000"
    assert format_value(-12.345678) == " -12.3457"
    assert format_value(1e-5) == " 1.0000e-05"
    assert format_value(0.001) == " 1.0000e-03"
    assert format_value(0.0) == " 0.0000e+00"
    assert [format_time_per_unit(t, "step") for t in (2.4, 0.013, 5e-4, 0.0)] == \
        ["2s/step", "13ms/step", "500us/step", "0s/step"]


def test_lazy_values_are_read_only_for_the_final_line():
    reads = []
    logs = LazyLogs({"loss": lambda: reads.append(1) or 0.25})
    out = io.StringIO()
    bar = Progbar(4, stream=out)
    for step in range(1, 4):
        bar.update(step, logs, finalize=False)
    assert reads == [] and out.getvalue() == ""
    bar.update(4, logs, finalize=True)
    assert reads == [1]
    assert re.match(rf"^4/4 \[={{30}}\] - \d+s {TIME}/step - loss: 0\.2500\n$", out.getvalue())


def test_unknown_target():
    out = io.StringIO()
    Progbar(None, stream=out).update(3, {"loss": 2.0}, finalize=True)
    assert re.match(rf"^      3/Unknown - \d+s {TIME}/step - loss: 2\.0000\n$", out.getvalue())
    out = io.StringIO()
    Progbar(None, verbose=2, stream=out).update(3, {"loss": 2.0}, finalize=True)
    assert re.match(rf"^3 - \d+s - loss: 2\.0000 - {TIME}/epoch - {TIME}/step\n$",
                    out.getvalue())
