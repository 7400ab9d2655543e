"""CSVLogger: header, one flushed row per epoch, NA for missing values, append mode."""

import csv
import re

import pytest

import savepoint as keras
from savepoint.callbacks import CSVLogger, LambdaCallback, LearningRateScheduler
from savepoint.errors import ConfigError


def _read(path):
    with open(path, newline="") as f:
        return f.read()


def _rows(path, sep=","):
    with open(path, newline="") as f:
        return list(csv.reader(f, delimiter=sep))


def test_header_and_rows_match_history(tmp_path, data, make_model):
    path = tmp_path / "log.csv"
    model = make_model(metrics=["accuracy"])
    h = model.fit(*data, batch_size=8, epochs=3, verbose=0, validation_data=data,
                  callbacks=[CSVLogger(path)])
    keys = ["accuracy", "loss", "val_accuracy", "val_loss"]
    expected = "epoch," + ",".join(keys) + "\r\n" + "".join(
        f"{epoch}," + ",".join(repr(h.history[k][epoch]) for k in keys) + "\r\n"
        for epoch in range(3))
    assert _read(path) == expected


def test_without_validation_val_columns_are_na(tmp_path, data, make_model):
    path = tmp_path / "log.csv"
    h = make_model().fit(*data, batch_size=8, epochs=2, verbose=0, callbacks=[CSVLogger(path)])
    assert _rows(path) == [["epoch", "loss", "val_loss"],
                           ["0", repr(h.history["loss"][0]), "NA"],
                           ["1", repr(h.history["loss"][1]), "NA"]]


def test_validation_freq_leaves_na_on_epochs_without_validation(tmp_path, data, make_model):
    path = tmp_path / "log.csv"
    h = make_model().fit(*data, batch_size=8, epochs=4, verbose=0, validation_data=data,
                         validation_freq=2, callbacks=[CSVLogger(path)])
    rows = _rows(path)
    assert rows[0] == ["epoch", "loss", "val_loss"]
    assert [r[2] for r in rows[1:]] == ["NA", repr(h.history["val_loss"][0]), "NA",
                                        repr(h.history["val_loss"][1])]


def test_rows_are_flushed_at_each_epoch_end(tmp_path, data, make_model):
    path = tmp_path / "log.csv"
    lines_seen = []
    peek = LambdaCallback(on_epoch_end=lambda epoch, logs: lines_seen.append(
        len(_read(path).splitlines())))
    make_model().fit(*data, batch_size=8, epochs=3, verbose=0,
                     callbacks=[CSVLogger(path), peek])
    assert lines_seen == [2, 3, 4]


def test_append_mode_writes_the_header_once(tmp_path, data, make_model):
    path = tmp_path / "log.csv"
    model = make_model()
    h1 = model.fit(*data, batch_size=8, epochs=2, verbose=0, callbacks=[CSVLogger(path,
                                                                                  append=True)])
    h2 = model.fit(*data, batch_size=8, epochs=3, initial_epoch=2, verbose=0,
                   callbacks=[CSVLogger(path, append=True)])
    rows = _rows(path)
    assert rows[0] == ["epoch", "loss", "val_loss"]
    assert [r[0] for r in rows[1:]] == ["0", "1", "2"]
    assert [r[1] for r in rows[1:]] == [repr(v) for v in h1.history["loss"] + h2.history["loss"]]


def test_append_to_empty_file_writes_header(tmp_path, data, make_model):
    path = tmp_path / "log.csv"
    path.write_text("")
    make_model().fit(*data, batch_size=8, epochs=1, verbose=0,
                     callbacks=[CSVLogger(path, append=True)])
    assert _rows(path)[0] == ["epoch", "loss", "val_loss"]


def test_without_append_the_file_is_overwritten(tmp_path, data, make_model):
    path = tmp_path / "log.csv"
    path.write_text("old,content\n")
    logger = CSVLogger(str(path))
    model = make_model()
    model.fit(*data, batch_size=8, epochs=1, verbose=0, callbacks=[logger])
    model.fit(*data, batch_size=8, epochs=1, verbose=0, callbacks=[logger])
    rows = _rows(path)
    assert len(rows) == 2 and rows[0] == ["epoch", "loss", "val_loss"]
    assert logger.csv_file.closed


def test_separator_and_lr_column(tmp_path, data, make_model):
    path = tmp_path / "log.csv"
    make_model().fit(*data, batch_size=8, epochs=2, verbose=0,
                     callbacks=[LearningRateScheduler(lambda e, lr: 0.5 / (e + 1)),
                                CSVLogger(path, separator=";")])
    rows = _rows(path, sep=";")
    assert rows[0] == ["epoch", "loss", "lr", "val_loss", "val_lr"]
    assert [r[2] for r in rows[1:]] == ["0.5", "0.25"]
    assert _read(path).startswith("epoch;loss;lr;val_loss;val_lr\r\n")


def test_list_values_are_written_as_one_cell(tmp_path):
    path = tmp_path / "log.csv"
    logger = CSVLogger(path)
    logger.on_train_begin()
    logger.on_epoch_end(0, {"loss": 0.5, "val_loss": 0.25, "sizes": [1, 2]})
    logger.on_train_end()
    assert _rows(path) == [["epoch", "loss", "sizes", "val_loss"],
                           ["0", "0.5", "[1, 2]", "0.25"]]


@pytest.mark.parametrize("kwargs,message", [
    (dict(filename="log.csv", separator=",,"),
     "CSVLogger expected `separator` to be a single character. Received: separator=',,'. "
     "Use e.g. separator=';'."),
    (dict(filename=3), "CSVLogger expected `filename` to be a path. Received: 3 of type int."),
])
def test_bad_arguments_raise(kwargs, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        CSVLogger(**kwargs)


def test_config_round_trip(tmp_path):
    a = CSVLogger(tmp_path / "a.csv", separator="\t", append=True)
    config = a.get_config()
    assert config == {"filename": str(tmp_path / "a.csv"), "separator": "\t", "append": True}
    config_b = dict(config, filename=str(tmp_path / "b.csv"))
    b = keras.saving.deserialize({"class_name": "CSVLogger", "config": config_b}, "callbacks")
    assert type(b) is CSVLogger and b.get_config() == config_b
    assert keras.saving.deserialize(keras.saving.serialize(a), "callbacks").get_config() == config
    for logger in (a, b):
        logger.on_train_begin()
        for epoch in range(2):
            logger.on_epoch_end(epoch, {"loss": 1.0 / (epoch + 1)})
        logger.on_train_end()
    assert _read(tmp_path / "a.csv") == _read(tmp_path / "b.csv") == \
        "epoch\tloss\tval_loss\r\n0\t1.0\tNA\r\n1\t0.5\tNA\r\n"
