"""``TensorBoard``: the tf.keras callback's event files (scalars, weight histograms, the Keras
model graph) under ``<log_dir>/train`` and ``<log_dir>/validation``, written without
TensorFlow (``tensorboard_events``) so that ``tensorboard --logdir`` shows them."""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np

from savepoint.callbacks.base import Callback
from savepoint.callbacks.tensorboard_events import EventFileWriter, keras_model_summary
from savepoint.errors import ConfigError
from savepoint.serialization import builtin

_IGNORED_KWARGS = ("write_grads", "embeddings_layer_names", "embeddings_data", "batch_size")


@builtin("callbacks", "tensorboard")
class TensorBoard(Callback):
    """Log what tf.keras's TensorBoard callback logs, with its tags and steps:
    ``epoch_<metric>`` per epoch (``validation/`` gets the ``val_`` metrics without prefix),
    ``batch_<metric>`` every ``update_freq`` steps, ``evaluation_<metric>_vs_iterations`` after
    each validation, ``<layer>/<weight>_0/histogram`` every ``histogram_freq`` epochs, and the
    model's JSON as the ``keras`` graph summary. ``write_images``, ``profile_batch`` and
    ``embeddings_freq`` need TensorFlow's profiler/projector and are refused.

    Example:
        >>> import numpy as np, os, tempfile, savepoint as keras
        >>> model = keras.Sequential([keras.layers.Dense(1, input_shape=(2,))])
        >>> model.compile("adam", "mse"); logs = tempfile.mkdtemp()
        >>> _ = model.fit(np.zeros((4, 2)), np.zeros((4, 1)), epochs=1, verbose=0,
        ...               callbacks=[TensorBoard(logs)])
        >>> sorted(os.listdir(logs))
        ['train']
    """

    def __init__(self, log_dir: str | os.PathLike = "logs", histogram_freq: int = 0,
                 write_graph: bool = True, write_images: bool = False,
                 write_steps_per_second: bool = False, update_freq: str | int = "epoch",
                 profile_batch: int = 0, embeddings_freq: int = 0,
                 embeddings_metadata: Any = None, **kwargs: Any):
        super().__init__()
        unknown = sorted(set(kwargs) - set(_IGNORED_KWARGS))
        if unknown:
            raise ConfigError(f"Unrecognized arguments in `TensorBoard` Callback: {unknown}. "
                              f"Expected the tf.keras 2 arguments (log_dir, histogram_freq, "
                              f"write_graph, update_freq, ...).")
        for name, value, default in (("write_images", write_images, False),
                                     ("profile_batch", profile_batch, 0),
                                     ("embeddings_freq", embeddings_freq, 0)):
            if value not in (default, None) and value != (0, 0):
                raise ConfigError(f"TensorBoard does not support {name}={value!r} in savepoint "
                                  f"(it needs TensorFlow's image/profiler/projector plugins). "
                                  f"Fix: leave {name}={default!r}.")
        if isinstance(histogram_freq, bool) or not isinstance(histogram_freq, int) or \
                histogram_freq < 0:
            raise ConfigError(f"Expected histogram_freq to be a non-negative int. Received: "
                              f"histogram_freq={histogram_freq!r}.")
        if update_freq == "batch":
            update_freq = 1
        if update_freq != "epoch" and (isinstance(update_freq, bool) or
                                       not isinstance(update_freq, int) or update_freq < 1):
            raise ConfigError(f"Expected update_freq to be 'epoch', 'batch' or a positive int. "
                              f"Received: update_freq={update_freq!r}.")
        self.log_dir = os.fspath(log_dir)
        self.histogram_freq, self.write_graph = histogram_freq, bool(write_graph)
        self.write_steps_per_second = bool(write_steps_per_second)
        self.update_freq = update_freq
        self.embeddings_metadata = embeddings_metadata
        self._writers: dict[str, EventFileWriter] = {}
        self._epoch_start = time.time()
        self._epoch_first_step = 0

    # ----- writers -------------------------------------------------------------------------
    def _writer(self, kind: str) -> EventFileWriter:
        if kind not in self._writers:
            self._writers[kind] = EventFileWriter(os.path.join(self.log_dir, kind))
        return self._writers[kind]

    def _close_writers(self) -> None:
        for writer in self._writers.values():
            writer.close()
        self._writers = {}

    def _step(self) -> int:
        optimizer = getattr(self.model, "optimizer", None)
        return int(optimizer.iterations.numpy()) if optimizer is not None else 0

    # ----- hooks ---------------------------------------------------------------------------
    def _implements(self, hook: str) -> bool:
        if hook in ("on_train_batch_end", "on_train_batch_begin"):
            return self.update_freq != "epoch"  # per-batch work only when asked for
        return super()._implements(hook)

    def set_model(self, model: Any) -> None:
        super().set_model(model)
        self._writers = {}
        if self.write_graph and type(model).__name__ in ("Sequential", "Functional", "Model") \
                and hasattr(model, "to_json"):
            try:
                text = model.to_json()
            except Exception:  # noqa: BLE001 - tf.keras also skips models it cannot serialize
                return
            writer = self._writer("train")
            writer.add(keras_model_summary("keras", text), 0)
            writer.flush()

    def on_train_begin(self, logs: dict | None = None) -> None:
        self._epoch_first_step = self._step()

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._epoch_start, self._epoch_first_step = time.time(), self._step()

    def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
        step = self._step()
        if step % self.update_freq:
            return
        writer = self._writer("train")
        for name, value in dict(logs or {}).items():
            self._scalar(writer, "batch_" + name, value, step)

    def on_test_end(self, logs: dict | None = None) -> None:
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is None or not logs:
            return
        writer, step = self._writer("validation"), self._step()
        for name, value in logs.items():
            self._scalar(writer, f"evaluation_{name}_vs_iterations", value, step)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = dict(logs or {})
        train = {k: v for k, v in logs.items() if not k.startswith("val_")}
        val = {k[4:]: v for k, v in logs.items() if k.startswith("val_")}
        optimizer = getattr(self.model, "optimizer", None)
        schedule = getattr(optimizer, "_learning_rate", None)
        if schedule is not None and callable(schedule):
            train["learning_rate"] = optimizer.learning_rate
        if self.write_steps_per_second:
            elapsed = max(time.time() - self._epoch_start, 1e-9)
            train["steps_per_second"] = (self._step() - self._epoch_first_step) / elapsed
        for kind, values in (("train", train), ("validation", val)):
            if values:
                writer = self._writer(kind)
                for name, value in values.items():
                    self._scalar(writer, "epoch_" + name, value, epoch)
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            self._log_weights(epoch)
        for writer in self._writers.values():
            writer.flush()

    @staticmethod
    def _scalar(writer: EventFileWriter, tag: str, value: Any, step: int) -> None:
        """A scalar, or for a per-class metric (F1Score(average=None)) one scalar per class
        as ``tag/<i>`` (tf.summary.scalar would refuse the vector)."""
        array = np.asarray(value, dtype=np.float64)
        if array.size == 1:
            writer.scalar(tag, float(array), step)
            return
        for i, item in enumerate(array.reshape(-1)):
            writer.scalar(f"{tag}/{i}", float(item), step)

    def _log_weights(self, epoch: int) -> None:
        writer = self._writer("train")
        for layer in self.model.layers:
            for weight in layer.weights:
                # tf.keras tags a weight by its variable name with ":" -> "_" (dense/kernel_0)
                writer.histogram(f"{weight.path}_0/histogram", weight.numpy(), epoch)

    def on_train_end(self, logs: dict | None = None) -> None:
        self._close_writers()

    def get_config(self) -> dict:
        return {"log_dir": self.log_dir, "histogram_freq": self.histogram_freq,
                "write_graph": self.write_graph,
                "write_steps_per_second": self.write_steps_per_second,
                "update_freq": self.update_freq}


__all__ = ["TensorBoard"]
