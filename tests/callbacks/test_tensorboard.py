"""TensorBoard and RemoteMonitor: summaries byte-identical to TensorFlow's tf.summary, the
callback's files/tags/steps as tf-keras's callback writes them (tools/make_tensorboard_goldens.py),
values equal to the history and weights; RemoteMonitor against a local HTTP server."""

import glob
import http.server
import json
import os
import threading
import urllib.parse

import numpy as np
import pytest

import savepoint as keras
from savepoint.callbacks import tensorboard_events as ev
from savepoint.errors import ConfigError, FormatError

DIR = os.path.join(os.path.dirname(__file__), "..", "fixtures", "goldens", "tensorboard")
with open(os.path.join(DIR, "events.json")) as f:
    EVENTS = json.load(f)
with open(os.path.join(DIR, "callback.json")) as f:
    LAYOUT = json.load(f)
ARRAYS = np.load(os.path.join(DIR, "events.npz"))


def test_summaries_are_byte_identical_to_tensorflow():
    ours = [ev.scalar_summary("epoch_loss", 0.123456789), ev.scalar_summary("epoch_loss", 2.5),
            ev.histogram_summary("dense/kernel_0/histogram", ARRAYS["hist"]),
            ev.histogram_summary("dense/kernel_0/histogram", ARRAYS["hist64"]),
            ev.histogram_summary("const/histogram", ARRAYS["const"]),
            ev.histogram_summary("five", ARRAYS["hist"], 5)]
    assert EVENTS[0]["file_version"] == "brain.Event:2"
    assert [s.hex() for s in ours] == [e["summary"] for e in EVENTS[1:]]


def _events(logdir, sub):
    [path] = glob.glob(os.path.join(logdir, sub, "events.out.tfevents.*.v2"))
    return ev.read_events(path)


def _layout(events):
    out = []
    for e in events:
        if e["file_version"]:
            out.append({"file_version": e["file_version"]})
        for v in e["values"]:
            out.append({"step": e["step"], "tag": v["tag"], "plugin": v["plugin"],
                        "dtype": v["dtype"], "shape": list(v["shape"])})
    return out


def test_callback_writes_what_tf_keras_writes(tmp_path):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, name="dense"),
                              keras.layers.Dense(1, name="out")])
    model.compile("adam", "mse", metrics=["mae"])
    rng = np.random.default_rng(0)
    x = rng.standard_normal((8, 3)).astype("float32")
    y = rng.standard_normal((8, 1)).astype("float32")
    logdir = str(tmp_path / "logs")
    history = model.fit(x, y, epochs=2, validation_data=(x, y), verbose=0,
                        callbacks=[keras.callbacks.TensorBoard(logdir, histogram_freq=1)])
    assert sorted(os.listdir(logdir)) == LAYOUT["files"]
    train, val = _events(logdir, "train"), _events(logdir, "validation")
    assert _layout(train) == LAYOUT["train"]
    assert _layout(val) == LAYOUT["validation"]
    by_tag = {(e["step"], v["tag"]): v for e in train for v in e["values"]}
    val_tags = {(e["step"], v["tag"]): v for e in val for v in e["values"]}
    for epoch in range(2):
        assert float(by_tag[(epoch, "epoch_loss")]["array"]) == pytest.approx(
            history.history["loss"][epoch], rel=1e-6)
        assert float(val_tags[(epoch, "epoch_mae")]["array"]) == pytest.approx(
            history.history["val_mae"][epoch], rel=1e-6)
    graph = json.loads(by_tag[(0, "keras")]["strings"][0])
    assert graph["class_name"] == "Sequential"
    kernel = model.layers[0].kernel.detach().numpy()
    np.testing.assert_array_equal(by_tag[(1, "dense/kernel_0/histogram")]["array"],
                                  ev.histogram_buckets(kernel))
    name = os.path.basename(glob.glob(os.path.join(logdir, "train", "*"))[0])
    assert name.startswith("events.out.tfevents.") and name.endswith(".v2")


def test_update_freq_batches_and_steps_per_second(tmp_path):
    model = keras.Sequential([keras.layers.Dense(1, input_shape=(2,))])
    model.compile("sgd", "mse")
    x = np.zeros((8, 2), "float32")
    logdir = str(tmp_path)
    model.fit(x, x[:, :1], batch_size=2, epochs=1, verbose=0,
              callbacks=[keras.callbacks.TensorBoard(logdir, update_freq=2, write_graph=False,
                                                     write_steps_per_second=True)])
    steps = [(e["step"], v["tag"]) for e in _events(logdir, "train") for v in e["values"]]
    assert [s for s, t in steps if t == "batch_loss"] == [2, 4]
    assert (0, "epoch_steps_per_second") in steps


def test_read_events_detects_damage(tmp_path):
    writer = ev.EventFileWriter(str(tmp_path))
    writer.scalar("a", 1.0, 1)
    writer.close()
    data = bytearray(open(writer.path, "rb").read())
    data[-6] ^= 0xFF
    open(writer.path, "wb").write(bytes(data))
    with pytest.raises(FormatError, match="Expected a TFRecord with matching crc32c"):
        ev.read_events(writer.path)


def test_tensorboard_errors():
    with pytest.raises(ConfigError, match="TensorBoard does not support write_images=True"):
        keras.callbacks.TensorBoard(write_images=True)
    with pytest.raises(ConfigError, match="Expected update_freq to be 'epoch', 'batch' or a "
                                          "positive int. Received: update_freq=0"):
        keras.callbacks.TensorBoard(update_freq=0)
    with pytest.raises(ConfigError, match=r"Unrecognized arguments in `TensorBoard` Callback: "
                                          r"\['colour'\]"):
        keras.callbacks.TensorBoard(colour=1)


@pytest.fixture
def post_server():
    received = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((self.path, self.headers["Content-Type"], body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", received
    httpd.shutdown()
    httpd.server_close()


def test_remote_monitor_posts_epoch_logs(post_server):
    root, received = post_server
    model = keras.Sequential([keras.layers.Dense(1, input_shape=(2,))])
    model.compile("sgd", "mse")
    x = np.ones((4, 2), "float32")
    history = model.fit(x, x[:, :1], epochs=2, verbose=0, callbacks=[
        keras.callbacks.RemoteMonitor(root=root),
        keras.callbacks.RemoteMonitor(root=root, path="/json", send_as_json=True)])
    forms = [r for r in received if r[0] == "/publish/epoch/end/"]
    jsons = [r for r in received if r[0] == "/json"]
    assert len(forms) == 2 and len(jsons) == 2
    assert forms[0][1] == "application/x-www-form-urlencoded"
    sent = json.loads(urllib.parse.parse_qs(forms[1][2].decode())["data"][0])
    assert sent["epoch"] == 1 and sent["loss"] == pytest.approx(history.history["loss"][1])
    assert jsons[0][1] == "application/json" and json.loads(jsons[0][2])["epoch"] == 0


def test_remote_monitor_warns_when_unreachable():
    model = keras.Sequential([keras.layers.Dense(1, input_shape=(2,))])
    model.compile("sgd", "mse")
    with pytest.warns(UserWarning, match="could not reach RemoteMonitor root server at "
                                         "http://127.0.0.1:9"):
        model.fit(np.ones((2, 2)), np.ones((2, 1)), epochs=1, verbose=0,
                  callbacks=[keras.callbacks.RemoteMonitor(root="http://127.0.0.1:9",
                                                           timeout=2)])
