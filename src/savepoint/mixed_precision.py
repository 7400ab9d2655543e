"""``keras.mixed_precision``: the global dtype ``Policy`` (``mixed_float16``/``mixed_bfloat16``
run the forward pass of ``fit``/``evaluate``/``predict`` under ``torch.autocast`` while
weights stay float32) and ``LossScaleOptimizer`` (dynamic loss scaling, as tf.keras does it).

Example:
    >>> set_global_policy("mixed_bfloat16"); global_policy().compute_dtype
    'bfloat16'
    >>> set_global_policy("float32")
"""

from __future__ import annotations

import contextlib
from typing import Any, Iterator

import torch

from savepoint import backend
from savepoint.errors import ConfigError
from savepoint.optimizers.base import Optimizer
from savepoint.mixed_precision_policy import GLOBAL as _GLOBAL
from savepoint.mixed_precision_policy import Policy
from savepoint.serialization import builtin

def global_policy() -> Policy:
    """The policy new work runs under (``float32`` unless set).

    Example:
        >>> global_policy().name
        'float32'
    """
    return _GLOBAL[0]


def set_global_policy(policy: str | Policy | None) -> None:
    """Set the global policy (``None`` resets to ``float32``). A plain float policy also sets
    ``backend.floatx()``; a ``mixed_*`` policy keeps float32 weights and autocasts compute.

    Example:
        >>> set_global_policy("mixed_float16"); set_global_policy(None)
    """
    policy = Policy("float32" if policy is None else policy)
    _GLOBAL[0] = policy
    backend.set_floatx(policy.variable_dtype)


@contextlib.contextmanager
def autocast(device: torch.device | str | None = None) -> Iterator[None]:
    """``torch.autocast`` at the global policy's compute dtype when the policy is mixed (a
    no-op otherwise); ``fit``/``evaluate``/``predict`` enter it around the forward pass.

    Example:
        >>> with autocast("cpu"): pass
    """
    policy = _GLOBAL[0]
    if not policy.is_mixed:
        yield
        return
    device_type = torch.device(device).type if device is not None else \
        backend.get_device().type
    with torch.autocast(device_type=device_type, dtype=getattr(torch, policy.compute_dtype)):
        yield


def model_autocast(model: Any) -> Any:
    """``autocast`` on the device of ``model``'s first parameter (or the default device).

    Example:
        >>> with model_autocast(None): pass
    """
    if not _GLOBAL[0].is_mixed:
        return contextlib.nullcontext()
    device = None
    params = getattr(model, "parameters", None)
    if params is not None:
        first = next(iter(params()), None)
        device = first.device if first is not None else None
    return autocast(device)


@builtin("optimizers")
class LossScaleOptimizer(Optimizer):
    """Wraps ``inner_optimizer``: ``fit`` backpropagates ``loss * loss_scale``; each step
    unscales the gradients, skips the update (and halves the scale) when any is inf/nan, and
    doubles the scale after ``dynamic_growth_steps`` finite steps, as tf.keras does.
    ``get_scaled_loss``/``get_unscaled_gradients`` serve custom training loops.

    Example:
        >>> from savepoint.optimizers import SGD
        >>> LossScaleOptimizer(SGD()).loss_scale
        32768.0
    """

    def __init__(self, inner_optimizer: Optimizer, dynamic: bool = True,
                 initial_scale: float | None = None, dynamic_growth_steps: int | None = None,
                 **kwargs: Any):
        if not isinstance(inner_optimizer, Optimizer):
            raise ConfigError(f'"inner_optimizer" must be an instance of Optimizer. Received: '
                              f"{inner_optimizer!r} of type {type(inner_optimizer).__name__}.")
        if isinstance(inner_optimizer, LossScaleOptimizer):
            raise ConfigError("LossScaleOptimizer cannot wrap another LossScaleOptimizer.")
        if not dynamic and initial_scale is None:
            raise ConfigError('"initial_scale" must be specified if "dynamic" is False')
        if not dynamic and dynamic_growth_steps is not None:
            raise ConfigError(f'"dynamic_growth_steps" must be None if "dynamic" is False, but '
                              f"got: {dynamic_growth_steps}")
        self.inner_optimizer, self.dynamic = inner_optimizer, bool(dynamic)
        self.initial_scale = float(initial_scale if initial_scale is not None else 2.0 ** 15)
        self.dynamic_growth_steps = int(dynamic_growth_steps or 2000)
        self._scale, self._good_steps = self.initial_scale, 0
        self.name = "loss_scale_optimizer"

    # ----- the inner optimizer's face -------------------------------------------------------
    def __getattr__(self, name: str) -> Any:
        if name in ("inner_optimizer", "__setstate__", "__getstate__"):
            raise AttributeError(name)
        return getattr(self.inner_optimizer, name)

    @property
    def learning_rate(self) -> float:  # type: ignore[override]
        return self.inner_optimizer.learning_rate

    @learning_rate.setter
    def learning_rate(self, value: Any) -> None:
        self.inner_optimizer.learning_rate = value

    lr = learning_rate

    @property
    def iterations(self):  # type: ignore[override]
        return self.inner_optimizer.iterations

    @property
    def built(self) -> bool:  # type: ignore[override]
        return self.inner_optimizer.built

    @property
    def _slot_names(self) -> tuple:  # type: ignore[override]
        return self.inner_optimizer._slot_names

    @property
    def variables(self):  # type: ignore[override]
        return self.inner_optimizer.variables

    def _trackable_children(self) -> list[tuple[str, Any]]:
        # tf.keras's LossScaleOptimizerV3: the inner optimizer's children, plus "loss_scale"
        # holding current_loss_scale (float32) and good_steps (int64)
        return self.inner_optimizer._trackable_children() + [("loss_scale", _LossScaleState(self))]

    @property
    def loss_scale(self) -> float:
        """The current loss scale."""
        return self._scale

    # ----- scaling --------------------------------------------------------------------------
    def get_scaled_loss(self, loss: Any) -> Any:
        """``loss * loss_scale``."""
        return loss * self._scale

    def get_unscaled_gradients(self, grads: list) -> list:
        """``g / loss_scale`` for each gradient (``None`` kept)."""
        return [None if g is None else g / self._scale for g in grads]

    def _finite_or_adjust(self, grads: list[torch.Tensor]) -> bool:
        finite = bool(torch.stack([torch.isfinite(g).all() for g in grads]).all()) \
            if grads else True  # one host sync per step: skipping the update needs it
        if not self.dynamic:
            return finite
        if finite:
            self._good_steps += 1
            if self._good_steps >= self.dynamic_growth_steps:
                self._scale, self._good_steps = self._scale * 2.0, 0
        else:
            self._scale, self._good_steps = max(self._scale / 2.0, 1.0), 0
        return finite

    def apply_gradients(self, grads_and_vars: Any) -> Any:
        """Apply already-unscaled gradients unless one is inf/nan (then adjust the scale)."""
        pairs = list(grads_and_vars)
        grads = [torch.as_tensor(g) for g, _ in pairs if g is not None]
        if self._finite_or_adjust(grads):
            return self.inner_optimizer.apply_gradients(pairs)
        return self.inner_optimizer.iterations

    def step(self, variables: Any) -> None:
        """``fit``'s step after ``get_scaled_loss(loss).backward()``: unscale ``.grad`` in
        place, then update (or skip)."""
        grads = [v.value.grad for v in variables if v.value.grad is not None]
        with torch.no_grad():
            torch._foreach_div_(grads, self._scale) if grads else None
        if self._finite_or_adjust(grads):
            self.inner_optimizer.step(variables)

    def get_config(self) -> dict:
        from savepoint.serialization import serialize
        return {"inner_optimizer": serialize(self.inner_optimizer), "dynamic": self.dynamic,
                "initial_scale": self.initial_scale,
                "dynamic_growth_steps": self.dynamic_growth_steps}

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None) -> "Optimizer":
        from savepoint.optimizers import deserialize
        config = dict(config)
        config["inner_optimizer"] = deserialize(config["inner_optimizer"], custom_objects)
        return cls(**config)


class _LossScaleState:
    """The ``loss_scale`` checkpoint node; restoring its variables sets the wrapper's state."""

    def __init__(self, owner: LossScaleOptimizer):
        self.owner = owner

    def _trackable_children(self) -> list[tuple[str, Any]]:
        from savepoint.layers.variable import Variable
        scale = Variable(torch.tensor(self.owner._scale, dtype=torch.float32),
                         name="current_loss_scale", path="current_loss_scale")
        steps = Variable(torch.tensor(self.owner._good_steps, dtype=torch.int64),
                         name="good_steps", path="good_steps")
        scale._on_assign = lambda value: setattr(self.owner, "_scale", float(value))
        steps._on_assign = lambda value: setattr(self.owner, "_good_steps", int(value))
        return [("current_loss_scale", scale), ("good_steps", steps)]


def _forward(name: str) -> Any:
    def method(self: LossScaleOptimizer, *args: Any, **kwargs: Any) -> Any:
        return getattr(self.inner_optimizer, name)(*args, **kwargs)
    method.__name__ = name
    method.__doc__ = f"``inner_optimizer.{name}``."
    return method


# Every Optimizer method this wrapper does not define acts on the inner optimizer's state.
for _name, _value in list(vars(Optimizer).items()):
    if callable(_value) and not _name.startswith("__") and _name not in vars(LossScaleOptimizer):
        setattr(LossScaleOptimizer, _name, _forward(_name))


__all__ = ["Policy", "global_policy", "set_global_policy", "autocast", "model_autocast",
           "LossScaleOptimizer"]
