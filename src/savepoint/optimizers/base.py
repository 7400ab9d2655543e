"""``Optimizer``: Keras optimizer semantics (named slot variables, schedules, clipping) on torch.

State lives in named tensors so a checkpoint can address each one: ``iterations`` first, then
the slots each subclass creates in ``build`` (for Adam: ``m`` and ``v`` per variable, in variable
order, as tf.keras orders ``optimizer/_variables``).
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import torch

from savepoint.errors import ConfigError
from savepoint.layers.variable import Variable
from savepoint.saving.serialization import deserialize, serialize


class Optimizer:
    """Base class. Subclasses implement ``build_slots`` and ``update(params, grads, slots, lr)``.

    Example:
        >>> from savepoint.optimizers import SGD
        >>> w = torch.nn.Parameter(torch.ones(2)); w.grad = torch.ones(2)
        >>> v = Variable(w, name="w", path="w", trainable=True)
        >>> opt = SGD(learning_rate=0.5); opt.apply_gradients([(w.grad, v)]); w.tolist()
        [0.5, 0.5]
    """

    _slot_names: tuple[str, ...] = ()

    def __init__(self, learning_rate: Any = 0.001, weight_decay: float | None = None,
                 clipnorm: float | None = None, clipvalue: float | None = None,
                 global_clipnorm: float | None = None, name: str | None = None, **kwargs: Any):
        kwargs.pop("use_ema", None), kwargs.pop("ema_momentum", None)
        kwargs.pop("ema_overwrite_frequency", None), kwargs.pop("jit_compile", None)
        kwargs.pop("is_legacy_optimizer", None), kwargs.pop("loss_scale_factor", None)
        kwargs.pop("gradient_accumulation_steps", None)
        if "lr" in kwargs:
            learning_rate = kwargs.pop("lr")
        if kwargs:
            raise ConfigError(f"{type(self).__name__} got unexpected keyword argument(s) "
                              f"{sorted(kwargs)}. Check the spelling of the optimizer arguments.")
        if sum(x is not None for x in (clipnorm, clipvalue, global_clipnorm)) > 1:
            raise ConfigError("Only one of clipnorm, clipvalue and global_clipnorm can be set. "
                              f"Received clipnorm={clipnorm}, clipvalue={clipvalue}, "
                              f"global_clipnorm={global_clipnorm}.")
        self.name = name or type(self).__name__.lower()
        self._learning_rate = _check_lr(learning_rate)
        self.weight_decay = weight_decay
        self.clipnorm, self.clipvalue, self.global_clipnorm = clipnorm, clipvalue, global_clipnorm
        self._step = 0
        self._iterations = torch.zeros((), dtype=torch.int64)
        self._built_for: list[int] | None = None
        self._slots: dict[str, list[torch.Tensor]] = {}
        self._tracked: list[Variable] = []

    # ----- learning rate -------------------------------------------------------------------
    @property
    def learning_rate(self) -> float:
        """The current learning rate (a schedule is evaluated at the current step)."""
        lr = self._learning_rate
        return float(lr(self._step)) if callable(lr) else float(lr)

    @learning_rate.setter
    def learning_rate(self, value: Any) -> None:
        self._learning_rate = _check_lr(value)

    lr = learning_rate

    @property
    def iterations(self) -> Variable:
        """The number of steps taken, as a named int64 variable."""
        return Variable(self._iterations, name="iterations", path=f"{self.name}/iterations")

    # ----- state ---------------------------------------------------------------------------
    def build(self, variables: Sequence[Variable]) -> None:
        """Create the slot tensors for ``variables`` (once; called by the first step)."""
        self._slots = {name: [] for name in self._slot_names}
        self._tracked = list(variables)
        for var in variables:
            for name in self._slot_names:
                self._slots[name].append(torch.zeros_like(var.value, memory_format=torch.
                                                          preserve_format).detach())
        self._iterations = self._iterations.to(variables[0].value.device) if variables else \
            self._iterations
        self._built_for = [id(v.value) for v in variables]

    @property
    def built(self) -> bool:
        return self._built_for is not None

    @property
    def variables(self) -> list[Variable]:
        """``iterations`` then every slot, per model variable in order (Keras's ordering)."""
        out = [self.iterations]
        for i, var in enumerate(self._tracked):
            base = var.path.replace("/", "_")
            for name in self._slot_names:
                out.append(Variable(self._slots[name][i], name=f"{base}_{name}",
                                    path=f"{self.name}/{base}_{name}"))
        return out

    def slot(self, variable: Variable, name: str) -> torch.Tensor:
        """The slot tensor ``name`` (for example ``"m"``) of a model variable."""
        for i, var in enumerate(self._tracked):
            if var is variable or var.value is variable.value:
                return self._slots[name][i]
        raise ConfigError(f"Variable '{variable.path}' has no '{name}' slot in {self.name}: "
                          f"the optimizer was built for {[v.path for v in self._tracked]}.")

    def set_iterations(self, value: int) -> None:
        """Set the step counter (used when restoring state)."""
        self._step = int(value)
        self._iterations.fill_(int(value))

    # ----- stepping ------------------------------------------------------------------------
    def apply_gradients(self, grads_and_vars: Sequence[tuple[Any, Variable]]) -> None:
        """Apply one step; ``grads_and_vars`` is a list of ``(gradient, Variable)`` pairs."""
        pairs = [(g, v) for g, v in grads_and_vars if g is not None]
        self.apply([g for g, _ in pairs], [v for _, v in pairs])

    def apply(self, grads: list[torch.Tensor], variables: Sequence[Variable]) -> None:
        """Apply one step to ``variables`` with ``grads`` (same order)."""
        if self._built_for is None or len(self._built_for) != len(variables) or any(
                id(v.value) != i for v, i in zip(variables, self._built_for)):
            if self._built_for is not None:
                self._rebuild_for(variables)
            else:
                self.build(variables)
        params = [v.value for v in variables]
        grads = self._clip(list(grads))
        self._step += 1
        lr = self.learning_rate_at(self._step - 1)
        with torch.no_grad():
            if self.weight_decay:
                torch._foreach_mul_(params, 1.0 - lr * self.weight_decay)
            self.update(params, grads, self._slots, lr, self._step)
            self._iterations.add_(1)

    def step(self, variables: Sequence[Variable]) -> None:
        """Apply one step using each variable's ``.grad`` (what ``fit`` calls after backward)."""
        self.apply([v.value.grad if v.value.grad is not None else torch.zeros_like(v.value)
                    for v in variables], variables)

    def learning_rate_at(self, step: int) -> float:
        lr = self._learning_rate
        return float(lr(step)) if callable(lr) else float(lr)

    def _rebuild_for(self, variables: Sequence[Variable]) -> None:
        old = {id(v.value): i for i, v in enumerate(self._tracked)}
        old_slots = self._slots
        self.build(variables)
        for j, var in enumerate(variables):
            if id(var.value) in old:
                for name in self._slot_names:
                    self._slots[name][j] = old_slots[name][old[id(var.value)]]

    def _clip(self, grads: list[torch.Tensor]) -> list[torch.Tensor]:
        if self.clipvalue is not None:
            return [g.clamp(-self.clipvalue, self.clipvalue) for g in grads]
        if self.clipnorm is not None:
            out = []
            for g in grads:
                norm = torch.linalg.vector_norm(g)
                out.append(g * torch.clamp(self.clipnorm / torch.clamp(norm, min=1e-12), max=1.0))
            return out
        if self.global_clipnorm is not None:
            norms = torch.stack([torch.linalg.vector_norm(g) for g in grads])
            total = torch.linalg.vector_norm(norms)
            scale = torch.clamp(self.global_clipnorm / torch.clamp(total, min=1e-12), max=1.0)
            return [g * scale for g in grads]
        return grads

    def update(self, params: list, grads: list, slots: dict, lr: float, step: int) -> None:
        raise NotImplementedError

    # ----- config ---------------------------------------------------------------------------
    def get_config(self) -> dict:
        lr = self._learning_rate
        return {"name": self.name,
                "learning_rate": serialize(lr) if callable(lr) else float(lr),
                "weight_decay": self.weight_decay, "clipnorm": self.clipnorm,
                "global_clipnorm": self.global_clipnorm, "clipvalue": self.clipvalue}

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None) -> "Optimizer":
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = deserialize(config["learning_rate"], "schedules",
                                                  custom_objects)
        return cls(**config)


def _check_lr(value: Any) -> Any:
    if callable(value):
        return value
    try:
        lr = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"Expected learning_rate to be a float or a schedule. Received: "
                          f"{value!r}.") from None
    if not math.isfinite(lr) or lr < 0:
        raise ConfigError(f"Expected learning_rate to be a non-negative finite float. "
                          f"Received: {value!r}.")
    return lr
