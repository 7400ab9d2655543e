"""``compile``/``fit``/``evaluate``/``predict``: a thin Keras training loop over torch autograd.

The loop keeps metrics in device tensors and reads them once per epoch; batch logs are lazy, so
nothing forces a host sync per step unless a callback asks for a value.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import torch

from savepoint import optimizers as optimizers_lib
from savepoint.callbacks.base import CallbackList, History, LazyLogs, ProgbarLogger
from savepoint.errors import ConfigError, NotCompiledError
from savepoint.metrics.base import Mean
from savepoint.mixed_precision import model_autocast
from savepoint.layers import base as layer_base
from savepoint.trainer.compile_utils import CompiledLoss, CompiledMetrics
from savepoint.trainer.data_adapters import make_adapter, takes_strings, unpack_validation
from savepoint.trainer.legacy import LegacyGeneratorMethods
from savepoint.trainer.step_data import (apply_class_weight, class_weight_table,
                                         pack_x_y_sample_weight, unpack_x_y_sample_weight)
from savepoint.utils.structure import concat_batches


class Trainer(LegacyGeneratorMethods):
    """Mixin giving a model Keras's training API (see ``fit``)."""

    def __init__(self) -> None:
        self.compiled = False
        self.optimizer = None
        self.loss = None
        self.stop_training = False
        self.history = None
        self._compile_config: dict | None = None
        self._run_eagerly = False

    @property
    def run_eagerly(self) -> bool:
        """Accepted for Keras 2 code: savepoint always runs eagerly (PyTorch), so it only
        records what was set."""
        return self._run_eagerly

    @run_eagerly.setter
    def run_eagerly(self, value: bool) -> None:
        self._run_eagerly = bool(value)

    @property
    def compiled_loss(self) -> CompiledLoss:
        """Keras 2's ``self.compiled_loss(y, y_pred, sample_weight, regularization_losses)``
        for custom ``train_step``s; it updates the ``loss`` metric."""
        self._assert_compiled("compiled_loss")
        return self._compiled_loss

    @property
    def compiled_metrics(self) -> CompiledMetrics:
        """Keras 2's ``self.compiled_metrics.update_state(y, y_pred, sample_weight)``."""
        self._assert_compiled("compiled_metrics")
        return self._compiled_metrics

    # ----- compile --------------------------------------------------------------------------
    def compile(self, optimizer: Any = "rmsprop", loss: Any = None, metrics: Any = None,
                loss_weights: Any = None, weighted_metrics: Any = None,
                run_eagerly: bool | None = None, steps_per_execution: int | None = None,
                jit_compile: Any = None, **kwargs: Any) -> None:
        """Set the optimizer, loss(es) and metrics used by ``fit`` and ``evaluate``.

        Example:
            >>> import savepoint as keras
            >>> m = keras.Sequential([keras.layers.Dense(1, input_shape=(2,))])
            >>> m.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
        """
        if kwargs:
            raise ConfigError(f"compile() got unexpected keyword argument(s) {sorted(kwargs)}.")
        opt = optimizers_lib.get(optimizer)
        names = self._output_names_for_compile()
        tracker = Mean(name="loss")
        compiled_loss = CompiledLoss(loss, names, loss_weights, loss_tracker=tracker)
        compiled_metrics = CompiledMetrics(metrics, names, compiled_loss.losses,
                                           weighted_metrics)
        self.optimizer, self.loss = opt, loss
        self._compiled_loss, self._compiled_metrics = compiled_loss, compiled_metrics
        self._loss_tracker = tracker
        self._run_eagerly = bool(run_eagerly)
        self._step_logs = None
        self._compile_config = {"optimizer": optimizer, "loss": loss, "metrics": metrics,
                                "loss_weights": loss_weights,
                                "weighted_metrics": weighted_metrics}
        self.compiled = True

    def _output_names_for_compile(self) -> list[str]:
        names = list(getattr(self, "output_names", []) or [])
        return names if len(names) > 1 else ["output_1"]

    @property
    def metrics(self) -> list:
        """Keras's order: the loss trackers, compiled metrics, then ``add_metric`` ones."""
        added = [m for layer in self._flat_layers(include_self=True)
                 for m in layer.__dict__.get("_added_metrics", {}).values()]
        if not self.compiled:
            return added
        return ([self._loss_tracker] + self._compiled_loss.trackers +
                self._compiled_metrics.flat + added)

    @property
    def metrics_names(self) -> list[str]:
        return [m.name for m in self.metrics]

    def reset_metrics(self) -> None:
        for m in self.metrics:
            m.reset_state()

    def _assert_compiled(self, what: str) -> None:
        if not self.compiled:
            raise NotCompiledError(
                f"You must call `compile()` before calling `{what}()` on model '{self.name}'. "
                f"For example: model.compile(optimizer='adam', loss='mse').")

    # ----- steps ----------------------------------------------------------------------------
    def compute_loss(self, x: Any = None, y: Any = None, y_pred: Any = None,
                     sample_weight: Any = None) -> torch.Tensor:
        """The compiled loss plus ``add_loss``/regularization losses (updates ``loss``)."""
        extra = self.losses if (getattr(self, "_has_extra_losses", True) or
                                layer_base._ADD_LOSS_USED[0]) else None
        return self._compiled_loss(y, y_pred, sample_weight, regularization_losses=extra)

    def compute_metrics(self, x: Any, y: Any, y_pred: Any, sample_weight: Any = None) -> Any:
        """Update the compiled metrics; returns the logs ``{name: result}`` (read lazily)."""
        self._compiled_metrics.update_state(y, y_pred, sample_weight)
        return self.get_metrics_result()

    def get_metrics_result(self) -> Any:
        """``{name: result}`` for every metric, computed only when a value is read."""
        # Built once per fit/evaluate (each resets it): walking the layers for their
        # add_metric trackers at every step would cost the hot loop.
        if getattr(self, "_step_logs", None) is None:
            self._step_logs = self._lazy_logs()
        return self._step_logs

    def train_step(self, data: Any) -> Any:
        """One optimization step. ``data`` is what the dataset yields (``x``, ``(x, y)`` or
        ``(x, y, sample_weight)``); returns the metric logs, as in Keras 2.

        Overriding it, Keras 2 style (torch autograd replaces ``tf.GradientTape``):

            >>> import savepoint as keras
            >>> class MyModel(keras.Model):
            ...     def train_step(self, data):
            ...         x, y = data
            ...         y_pred = self(x, training=True)
            ...         loss = self.compiled_loss(y, y_pred, regularization_losses=self.losses)
            ...         variables = self.trainable_variables
            ...         grads = torch.autograd.grad(loss, [v.value for v in variables])
            ...         self.optimizer.apply_gradients(zip(grads, variables))
            ...         self.compiled_metrics.update_state(y, y_pred)
            ...         return {m.name: m.result() for m in self.metrics}
        """
        x, y, sw = unpack_x_y_sample_weight(data)
        with model_autocast(self):  # a mixed_* policy: half-precision compute, fp32 weights
            y_pred = self(x, training=True)
            loss = self.compute_loss(x, y, y_pred, sw)
        if self._train_params:  # a fully frozen model only computes loss and metrics
            for p in self._train_params:
                p.grad = None
            scaled = getattr(self.optimizer, "get_scaled_loss", None)  # LossScaleOptimizer
            (loss if scaled is None else scaled(loss)).backward()
            self.optimizer.step(self._train_vars)
        return self.compute_metrics(x, y, y_pred, sw)

    def test_step(self, data: Any) -> Any:
        """Loss and metrics on one batch without updating weights; returns the metric logs."""
        x, y, sw = unpack_x_y_sample_weight(data)
        with model_autocast(self):
            y_pred = self(x, training=False)
            self.compute_loss(x, y, y_pred, sw)
        return self.compute_metrics(x, y, y_pred, sw)

    def predict_step(self, data: Any) -> Any:
        x, _, _ = unpack_x_y_sample_weight(data)
        with model_autocast(self):
            return self(x, training=False)

    def _logs_now(self) -> dict[str, float]:
        return {m.name: _to_float(m.result()) for m in self.metrics}

    def _lazy_logs(self) -> LazyLogs:
        return LazyLogs({m.name: m.result for m in self.metrics})

    # ----- fit --------------------------------------------------------------------------------
    def fit(self, x: Any = None, y: Any = None, batch_size: int | None = None, epochs: int = 1,
            verbose: Any = "auto", callbacks: list | None = None, validation_split: float = 0.0,
            validation_data: Any = None, shuffle: bool = True, class_weight: Any = None,
            sample_weight: Any = None, initial_epoch: int = 0, steps_per_epoch: int | None = None,
            validation_steps: int | None = None, validation_batch_size: int | None = None,
            validation_freq: int = 1, max_queue_size: int = 10, workers: int = 1,
            use_multiprocessing: bool = False) -> History:
        """Train for ``epochs`` epochs; returns a ``History`` whose ``history`` maps each metric
        (and ``val_`` metric) to its per-epoch values. ``class_weight`` ({class id: weight})
        scales each sample's loss by its class's weight (times ``sample_weight``).
        ``max_queue_size``/``workers``/``use_multiprocessing`` are accepted for Keras 2 code:
        data is read in this process.

        Example:
            >>> import savepoint as keras
            >>> m = keras.Sequential([keras.layers.Dense(1, input_shape=(2,))])
            >>> m.compile("sgd", "mse")
            >>> h = m.fit(np.zeros((4, 2)), np.zeros((4, 1)), epochs=2, verbose=0)
            >>> len(h.history["loss"])
            2
        """
        self._assert_compiled("fit")
        self._class_weights = class_weight_table(class_weight)
        train = make_adapter(x, y, sample_weight, batch_size, shuffle, steps_per_epoch,
                             strings=takes_strings(self))
        if self._class_weights is not None:
            _check_class_ids(self._class_weights, getattr(train, "y", None))
        val = None
        if validation_split and validation_data is None:
            if not hasattr(train, "split"):
                raise ConfigError("validation_split is only supported for arrays and tensors. "
                                  "Pass validation_data instead.")
            train, val = train.split(validation_split)
            train.shuffle, val.shuffle = shuffle, False
        elif validation_data is not None:
            vx, vy, vsw = unpack_validation(validation_data)
            val = make_adapter(vx, vy, vsw, validation_batch_size or batch_size or 32, False,
                               validation_steps, strings=takes_strings(self))
        verbose = 1 if verbose == "auto" else int(verbose)
        self._prepare_training(train)
        history = History()
        # Keras 2's order: the user's callbacks, History, then the progress bar, so the epoch
        # line shows what callbacks add to the logs (``lr`` from the LR schedulers).
        cbs = list(callbacks or []) + [history]
        if verbose:
            cbs.append(ProgbarLogger(verbose=verbose))
        cblist = CallbackList(cbs, model=self, params={
            "verbose": verbose, "epochs": epochs, "steps": train.num_batches})
        return self._run_epochs(train, val, cblist, history, epochs, initial_epoch,
                                validation_freq)

    def _prepare_training(self, train) -> None:
        if not self.built:
            first = next(iter(train.epoch(self._device())))
            self(first[0], training=False)
        self._has_trained = True
        self._track_function("train")
        self._train_vars = self.trainable_weights
        self._train_params = [v.value for v in self._train_vars]
        if not self._train_params:
            warnings.warn("The model does not have any trainable weights: training computes the "
                          "loss and metrics but changes nothing. Set `trainable = True` on the "
                          "layers you want to train.", stacklevel=3)
        self._has_extra_losses = any(l._regularizers or l._own_losses
                                     for l in self._flat_layers(include_self=True))

    def _run_epochs(self, train, val, cblist, history, epochs, initial_epoch, validation_freq):
        self.stop_training = False
        device = self._device()
        self._train_data = train
        cblist.on_train_begin({})
        initial_epoch, resume = self._resume_point(train, initial_epoch)
        logs: dict = {}
        want_begin = cblist.wants("on_train_batch_begin")
        want_end = cblist.wants("on_train_batch_end")
        lazy = self._step_logs = self._lazy_logs()
        class_weights = getattr(self, "_class_weights", None)
        for epoch in range(initial_epoch, epochs):
            self.reset_metrics()
            cblist.on_epoch_begin(epoch, {})
            self.train()
            batches, first = train.epoch(device), 0  # lazy: nothing is drawn before the loop
            if resume is not None:
                first, resume = resume.step, resume.restore_state()
            step_logs = None
            for step, batch in enumerate(batches, first):
                if want_begin:
                    cblist.on_train_batch_begin(step, {})
                if class_weights is not None:
                    batch = (batch[0], batch[1],
                             apply_class_weight(class_weights, batch[1], batch[2]))
                step_logs = self.train_step(pack_x_y_sample_weight(*batch))
                if want_end:
                    cblist.on_train_batch_end(step, self._batch_logs(step_logs, lazy))
                if self.stop_training:
                    break
            self.eval()
            if getattr(train, "exhausted", False):
                break
            logs = self._epoch_logs(step_logs)
            if val is not None and (epoch + 1) % validation_freq == 0:
                cblist.on_test_begin({})
                val_logs = self._evaluate_adapter(val, cblist)
                cblist.on_test_end(val_logs)
                logs.update({f"val_{k}": v for k, v in val_logs.items()})
            cblist.on_epoch_end(epoch, logs)
            if self.stop_training:
                break
        cblist.on_train_end(logs)
        self.history = history
        return history

    def _batch_logs(self, step_logs: Any, lazy: LazyLogs) -> Any:
        """A custom step's own dict, else the live metrics (read lazily)."""
        if step_logs is None or isinstance(step_logs, LazyLogs):
            return lazy
        return step_logs

    def _epoch_logs(self, step_logs: Any) -> dict[str, float]:
        """Keras 2's epoch logs: what the last step returned (a custom ``train_step``'s dict),
        as floats; the metrics when the step returned nothing."""
        if step_logs is None or isinstance(step_logs, LazyLogs):
            return self._logs_now()
        if not isinstance(step_logs, dict):
            raise ConfigError(f"Expected train_step/test_step to return a dict of metric "
                              f"values (or None). Received: {type(step_logs).__name__}. Fix: "
                              f"return {{m.name: m.result() for m in self.metrics}}.")
        return {k: _to_float(v) for k, v in step_logs.items()}

    def _resume_point(self, train, initial_epoch: int) -> tuple[int, Any]:
        """The epoch to start at, and the resume point a backup callback (``BackupAndRestore``)
        left in ``on_train_begin``: the data is replayed to it now; its RNG and metric states
        are put back just before the resumed epoch draws its first batch."""
        resume = getattr(self, "_pending_resume", None)
        if resume is None:
            return initial_epoch, None
        self._pending_resume = None
        if hasattr(train, "restore_position"):
            train.restore_position(resume.data, resume.step)
        return resume.epoch, resume

    def _evaluate_adapter(self, adapter, cblist: CallbackList | None = None) -> dict[str, float]:
        self._track_function("test")
        self.reset_metrics()
        device = self._device()
        want = cblist is not None and cblist.wants("on_test_batch_end")
        want_begin = cblist is not None and cblist.wants("on_test_batch_begin")
        lazy = self._step_logs = self._lazy_logs()
        step_logs = None
        with torch.no_grad():
            for step, batch in enumerate(adapter.epoch(device)):
                if want_begin:
                    cblist.on_test_batch_begin(step, {})
                step_logs = self.test_step(pack_x_y_sample_weight(*batch))
                if want:
                    cblist.on_test_batch_end(step, self._batch_logs(step_logs, lazy))
        return self._epoch_logs(step_logs)

    # ----- evaluate / predict -----------------------------------------------------------------
    def evaluate(self, x: Any = None, y: Any = None, batch_size: int | None = None,
                 verbose: Any = "auto", sample_weight: Any = None, steps: int | None = None,
                 callbacks: list | None = None, return_dict: bool = False, **kwargs: Any) -> Any:
        """Loss and metrics on data: a scalar loss, ``[loss, *metrics]``, or a dict.

        Example:
            >>> import savepoint as keras
            >>> m = keras.Sequential([keras.layers.Dense(1, input_shape=(2,))])
            >>> m.compile("sgd", "mse"); m.evaluate(np.zeros((4, 2)), np.zeros((4, 1)), verbose=0)
            0.0
        """
        self._assert_compiled("evaluate")
        adapter = make_adapter(x, y, sample_weight, batch_size, False, steps,
                               strings=takes_strings(self))
        verbose = 1 if verbose == "auto" else int(verbose)
        self._has_extra_losses = any(l._regularizers or l._own_losses
                                     for l in self._flat_layers(include_self=True))
        cbs = ([ProgbarLogger(verbose=verbose)] if verbose else []) + list(callbacks or [])
        cblist = CallbackList(cbs, model=self, params={"verbose": verbose,
                                                       "steps": adapter.num_batches})
        cblist.on_test_begin({})
        logs = self._evaluate_adapter(adapter, cblist)
        cblist.on_test_end(logs)
        if return_dict:
            return logs
        values = [logs[n] for n in self.metrics_names]
        return values[0] if len(values) == 1 else values

    def predict(self, x: Any, batch_size: int | None = None, verbose: Any = "auto",
                steps: int | None = None, callbacks: list | None = None,
                max_queue_size: int = 10, workers: int = 1,
                use_multiprocessing: bool = False) -> Any:
        """Model outputs for ``x`` as numpy arrays (same structure as the model's outputs).

        Example:
            >>> import savepoint as keras
            >>> m = keras.Sequential([keras.layers.Dense(3, input_shape=(2,))])
            >>> m.predict(np.zeros((5, 2)), verbose=0).shape
            (5, 3)
        """
        adapter = make_adapter(x, None, None, batch_size, False, steps,
                               strings=takes_strings(self))
        verbose = 1 if verbose == "auto" else int(verbose)
        cbs = ([ProgbarLogger(verbose=verbose)] if verbose else []) + list(callbacks or [])
        cblist = CallbackList(cbs, model=self, params={"verbose": verbose,
                                                       "steps": adapter.num_batches})
        want_begin = cblist.wants("on_predict_batch_begin")
        device = self._device()
        outputs = []
        self._track_function("predict")
        cblist.on_predict_begin({})
        was_training = self.training
        self.eval()
        with torch.no_grad():
            for step, batch in enumerate(adapter.epoch(device)):
                if want_begin:
                    cblist.on_predict_batch_begin(step, {})
                outputs.append(self.predict_step(pack_x_y_sample_weight(*batch)))
                cblist.on_predict_batch_end(step, {"outputs": outputs[-1]})
        self.train(was_training)
        cblist.on_predict_end({})
        if not outputs:
            raise ConfigError("predict() received no data: the input is empty.")
        return concat_batches(outputs)

    def predict_on_batch(self, x: Any) -> Any:
        """The outputs for one batch as numpy (a scalar output as a Python number, as
        tf.keras's ``sync_to_numpy_or_python_type`` gives it)."""
        self._track_function("predict")
        with torch.no_grad():
            return concat_batches([self(x, training=False)])

    def train_on_batch(self, x: Any, y: Any = None, sample_weight: Any = None,
                       class_weight: Any = None, reset_metrics: bool = True,
                       return_dict: bool = False) -> Any:
        """One step on one batch; returns the batch's loss and metrics."""
        self._assert_compiled("train_on_batch")
        adapter = make_adapter(x, y, sample_weight, None, False, None,
                               strings=takes_strings(self))
        adapter.batch_size = max(adapter.n, 1)
        self._prepare_training(adapter)
        if reset_metrics:
            self.reset_metrics()
        self.train()
        batch = next(iter(adapter.epoch(self._device())))
        table = class_weight_table(class_weight)
        if table is not None:
            _check_class_ids(table, batch[1])
            batch = (batch[0], batch[1], apply_class_weight(table, batch[1], batch[2]))
        step_logs = self.train_step(pack_x_y_sample_weight(*batch))
        self.eval()
        return _batch_result(self._epoch_logs(step_logs), return_dict)

    def test_on_batch(self, x: Any, y: Any = None, sample_weight: Any = None,
                      return_dict: bool = False) -> Any:
        """Loss and metrics of one batch, without updating the weights.

        Example:
            >>> import savepoint as keras
            >>> m = keras.Sequential([keras.layers.Dense(2, input_shape=(2,))])
            >>> m.compile("adam", "sparse_categorical_crossentropy")
            >>> isinstance(m.test_on_batch(np.ones((3, 2)), np.zeros(3)), float)
            True
        """
        self._assert_compiled("test_on_batch")
        adapter = make_adapter(x, y, sample_weight, None, False, None,
                               strings=takes_strings(self))
        adapter.batch_size = max(adapter.n, 1)
        self._has_extra_losses = any(l._regularizers or l._own_losses
                                     for l in self._flat_layers(include_self=True))
        return _batch_result(self._evaluate_adapter(adapter), return_dict)


def _batch_result(logs: dict, return_dict: bool) -> Any:
    if return_dict:
        return logs
    values = list(logs.values())
    return values[0] if len(values) == 1 else values


def _to_float(value: Any) -> Any:
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        return float(value.detach())
    if isinstance(value, (np.ndarray, np.generic)) and np.size(value) == 1:
        return float(value)
    if isinstance(value, torch.Tensor):  # a per-class metric (F1Score(average=None)): numpy,
        return value.detach().cpu().numpy()  # as in tf.keras's logs
    return value


def _check_class_ids(table: torch.Tensor, y: Any) -> None:
    """Every class id in the (host) targets has a weight: one check before training, so
    no step pays a device sync for it."""
    if not isinstance(y, torch.Tensor) or y.device.type != "cpu" or not y.numel():
        return
    classes = y.argmax(dim=1) if y.dim() == 2 and y.shape[1] > 1 else y.reshape(-1)
    low, high = int(classes.min()), int(classes.max())
    if low < 0 or high >= table.numel():
        raise ConfigError(f"Expected every class id in y to have a `class_weight` entry "
                          f"(0..{table.numel() - 1}). Received class ids from {low} to {high}. "
                          f"Fix: add a weight for each class.")
