"""What ``compile`` sets up: losses and metrics matched to the model's outputs."""

from __future__ import annotations

from typing import Any

import torch

from savepoint import losses as losses_lib
from savepoint import metrics as metrics_lib
from savepoint.errors import ConfigError
from savepoint.layers.symbolic import flatten, map_structure
from savepoint.metrics.base import Mean


def _detach(t: Any) -> Any:
    if not isinstance(t, torch.Tensor):
        return t
    mask = getattr(t, "_keras_mask", None)
    d = t.detach()
    if mask is not None:  # the metrics weigh by it (a detached tensor loses attributes)
        d._keras_mask = mask
    return d


def apply_mask(y_pred: torch.Tensor, sample_weight: Any, mask: torch.Tensor | None) -> Any:
    """tf.keras 2's ``losses_utils.apply_mask``: the output's Keras mask as a sample weight
    (times ``sample_weight``, a per-sample weight broadcast over the masked steps).

    Example:
        >>> apply_mask(torch.zeros(2, 3), torch.tensor([1.0, 2.0]),
        ...            torch.tensor([[True, False, False], [True, True, False]])).tolist()
        [[1.0, 0.0, 0.0], [2.0, 2.0, 0.0]]
    """
    if mask is None:
        return sample_weight
    dtype = y_pred.dtype if y_pred.is_floating_point() else torch.float32
    mask = mask.to(device=y_pred.device, dtype=dtype)
    if sample_weight is None:
        return mask
    sw = torch.as_tensor(sample_weight, device=mask.device).to(dtype)
    # Keras's squeeze_or_expand_dimensions: (batch,) weights gain trailing axes to meet the mask.
    if sw.dim() == mask.dim() + 1 and sw.shape[-1] == 1:
        sw = sw.squeeze(-1)
    while sw.dim() < mask.dim():
        sw = sw.unsqueeze(-1)
    return sw * mask


class CompiledLoss:
    """One loss per output (a single loss is shared), weighted and summed: Keras 2's
    ``model.compiled_loss``. Calling it also updates the ``loss`` tracker, so a custom
    ``train_step`` that calls ``self.compiled_loss(y, y_pred)`` reports ``loss`` as in Keras.

    Example:
        >>> cl = CompiledLoss("mse", ["output_1"])
        >>> float(cl(torch.zeros(2, 1), torch.ones(2, 1)))
        1.0
    """

    def __init__(self, loss: Any, output_names: list[str], loss_weights: Any = None,
                 loss_tracker: Mean | None = None):
        self.output_names = output_names
        self.loss_tracker = loss_tracker if loss_tracker is not None else Mean(name="loss")
        self.losses = _per_output(loss, output_names, "loss", losses_lib.get)
        weights = _per_output(loss_weights, output_names, "loss_weights", float) \
            if loss_weights is not None else [1.0] * len(output_names)
        self.weights = weights
        self.trackers = [Mean(name=f"{n}_loss") for n in output_names] if len(output_names) > 1 \
            else []

    @property
    def metrics(self) -> list:
        """The trackers this object updates: ``loss``, then one per output for several."""
        return [self.loss_tracker] + self.trackers

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None,
                 regularization_losses: list | None = None) -> torch.Tensor:
        total = self._compiled(y_true, y_pred, sample_weight, bool(regularization_losses))
        if regularization_losses:
            extra = torch.stack([torch.as_tensor(l).to(flatten(y_pred)[0].dtype).reshape(())
                                 for l in regularization_losses]).sum()
            total = extra if total is None else total + extra.to(total.dtype)
        if total is None:
            raise ConfigError("The model computed no loss: compile() was given no loss for "
                              "its outputs and no add_loss() or regularization loss exists. "
                              "Fix: pass loss=... to compile().")
        batch = flatten(y_pred)[0].shape[0] if flatten(y_pred) else 1
        self.loss_tracker.update_state(total.detach(), sample_weight=batch)
        return total

    def _compiled(self, y_true: Any, y_pred: Any, sample_weight: Any,
                  has_extra: bool) -> torch.Tensor | None:
        if len(self.output_names) == 1:
            fn = self.losses[0]
            if fn is None or y_true is None:
                if has_extra:  # Keras trains on add_loss()/regularization losses alone
                    return None
                raise ConfigError("compile() was given no loss; pass loss=... to compile()."
                                  if fn is None else
                                  "The model was compiled with a loss but received no targets "
                                  "`y`. Fix: pass y to fit() or yield (x, y) batches.")
            y_true = y_true[0] if isinstance(y_true, (list, tuple)) and len(y_true) == 1 else y_true
            y_pred = y_pred[0] if isinstance(y_pred, (list, tuple)) and len(y_pred) == 1 else y_pred
            mask = getattr(y_pred, "_keras_mask", None)  # the only cost without a mask
            sw = sample_weight if mask is None else apply_mask(y_pred, sample_weight, mask)
            value = fn(y_true, y_pred, sw)
            return value * self.weights[0] if self.weights[0] != 1.0 else value
        trues, preds = _match(y_true, self.output_names), _match(y_pred, self.output_names)
        total = None
        for fn, w, t, p, tracker in zip(self.losses, self.weights, trues, preds, self.trackers):
            if fn is None or t is None:
                continue
            mask = getattr(p, "_keras_mask", None)
            value = fn(t, p, sample_weight if mask is None else apply_mask(p, sample_weight, mask))
            tracker.update_state(value.detach())
            total = value * w if total is None else total + value * w
        return total


class CompiledMetrics:
    """Metrics per output, named as Keras names them (``out_accuracy`` for several outputs):
    Keras 2's ``model.compiled_metrics``.

    Example:
        >>> cm = CompiledMetrics(["mae"], ["output_1"], [None])
        >>> cm.update_state(torch.zeros(2, 1), torch.ones(2, 1))
        >>> [float(m.result()) for m in cm.metrics]
        [1.0]
    """

    def __init__(self, metrics: Any, output_names: list[str], losses: list,
                 weighted_metrics: Any = None):
        self.output_names = output_names
        self.per_output = self._resolve(metrics, losses, "metrics", set())
        taken = {m.name for m in self.flat}
        # Keras 2: only weighted_metrics see sample (and class) weights; a name that a plain
        # metric already has gets the "weighted_" prefix.
        self.weighted = self._resolve(weighted_metrics, losses, "weighted_metrics", taken)

    def _resolve(self, metrics: Any, losses: list, what: str, taken: set) -> list[list]:
        per_output = _per_output(metrics, self.output_names, what, lambda m: m,
                                 list_means_shared=True)
        output_names = self.output_names
        resolved_all: list[list] = []
        for name, ms, loss in zip(output_names, per_output, losses):
            ms = ms if isinstance(ms, (list, tuple)) else ([] if ms is None else [ms])
            resolved = [metrics_lib.get(m, loss=loss) for m in ms]
            for m in resolved:
                # ``taken`` holds the final (output-prefixed) names of the plain metrics.
                full = f"{name}_{m.name}" if len(output_names) > 1 else m.name
                if full in taken:
                    m.name = f"weighted_{m.name}"
                if len(output_names) > 1:
                    m.name = f"{name}_{m.name}"
            resolved_all.append(resolved)
        return resolved_all

    @property
    def flat(self) -> list:
        return [m for ms in self.per_output + getattr(self, "weighted", []) for m in ms]

    @property
    def metrics(self) -> list:
        return self.flat

    def reset_state(self) -> None:
        for m in self.flat:
            m.reset_state()

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        """Update every metric (predictions are detached: metrics never need gradients)."""
        if y_true is None:
            return
        self.update(y_true, map_structure(_detach, y_pred), sample_weight)

    def update(self, y_true: Any, y_pred: Any, sample_weight: Any) -> None:
        if len(self.output_names) == 1:
            y_true = y_true[0] if isinstance(y_true, (list, tuple)) and len(y_true) == 1 else y_true
            y_pred = y_pred[0] if isinstance(y_pred, (list, tuple)) and len(y_pred) == 1 else y_pred
            _update_one(self.per_output[0], self.weighted[0], y_true, y_pred, sample_weight)
            return
        for ms, wms, t, p in zip(self.per_output, self.weighted,
                                 _match(y_true, self.output_names),
                                 _match(y_pred, self.output_names)):
            if t is None:
                continue
            _update_one(ms, wms, t, p, sample_weight)


def _update_one(metrics: list, weighted: list, y_true: Any, y_pred: Any,
                sample_weight: Any) -> None:
    # tf.keras 2 (CompiledMetrics.update_state): plain metrics are weighted by the output's
    # mask alone, weighted metrics by the mask times sample_weight.
    mask = getattr(y_pred, "_keras_mask", None)
    if mask is None:
        for m in metrics:
            m.update_state(y_true, y_pred)
        for m in weighted:
            m.update_state(y_true, y_pred, sample_weight)
        return
    sw = apply_mask(y_pred, sample_weight, mask)
    mask = apply_mask(y_pred, None, mask)
    for m in metrics:
        m.update_state(y_true, y_pred, mask)
    for m in weighted:
        m.update_state(y_true, y_pred, sw)


def _per_output(value: Any, names: list[str], what: str, convert, list_means_shared=False) -> list:
    if isinstance(value, dict):
        unknown = set(value) - set(names)
        if unknown:
            raise ConfigError(f"Unknown output name(s) {sorted(unknown)} in `{what}`. Expected "
                              f"keys among the model's outputs: {names}.")
        return [convert(value[n]) if n in value and value[n] is not None else None for n in names]
    if isinstance(value, (list, tuple)) and not list_means_shared and len(names) > 1:
        if len(value) != len(names):
            raise ConfigError(f"Expected `{what}` to have {len(names)} entries, one per output "
                              f"{names}. Received {len(value)}.")
        return [convert(v) if v is not None else None for v in value]
    if isinstance(value, (list, tuple)) and list_means_shared and len(names) > 1 and \
            len(value) == len(names) and all(isinstance(v, (list, tuple)) for v in value):
        return list(value)
    if value is None:
        return [None] * len(names)
    return [convert(value) for _ in names] if not list_means_shared else [value] * len(names)


def _match(values: Any, names: list[str]) -> list:
    if isinstance(values, dict):
        return [values.get(n) for n in names]
    if isinstance(values, (list, tuple)):
        if len(values) != len(names):
            raise ConfigError(f"Expected {len(names)} targets/outputs ({names}). Received "
                              f"{len(values)}.")
        return list(values)
    raise ConfigError(f"Expected a list or dict of {len(names)} targets for outputs {names}. "
                      f"Received a single {type(values).__name__}.")
