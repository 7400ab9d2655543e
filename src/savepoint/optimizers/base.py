"""``Optimizer``: Keras optimizer semantics (named slot variables, schedules, clipping) on torch.

State lives in named tensors so a checkpoint can address each one: ``iteration`` first, then
the slots each subclass creates in ``build``, in tf.keras's ``optimizer/_variables`` order (for
Adam: ``m`` and ``v`` interleaved per variable; for RMSprop: every ``velocity``, then every
``momentum``). One step is one fused ``torch._foreach_*`` pass over all parameters; the step
counter lives on the host, so stepping never waits for the accelerator.
"""

from __future__ import annotations

import re
from typing import Any, Iterable, Sequence

import torch

from savepoint.errors import ConfigError, ShapeError
from savepoint.layers.variable import Variable
from savepoint.optimizers.arguments import check_keras_only_kwargs, check_lr, check_non_negative
from savepoint.optimizers.clipping import clip_gradients
from savepoint.optimizers.learning_rate_value import LearningRateValue
from savepoint.optimizers.schedules import LearningRateSchedule
from savepoint.serialization import deserialize, serialize


class Optimizer:
    """Base class. Subclasses name their slots in ``_slot_names`` and implement
    ``update(params, grads, slots, lr, step)`` with in-place ``torch._foreach_*`` ops.

    ``weight_decay`` (any optimizer, as in Keras 2.11+/Keras 3) applies
    ``w -= w * weight_decay * lr`` before the update, to every variable not excluded with
    ``exclude_from_weight_decay``.

    Example:
        >>> from savepoint.optimizers import SGD
        >>> w = torch.nn.Parameter(torch.ones(2))
        >>> v = Variable(w, name="w", path="w", trainable=True)
        >>> opt = SGD(learning_rate=0.5); _ = opt.apply_gradients([(torch.ones(2), v)])
        >>> w.tolist()
        [0.5, 0.5]
    """

    _slot_names: tuple[str, ...] = ()

    def __init__(self, learning_rate: Any = 0.001, weight_decay: float | None = None,
                 clipnorm: float | None = None, clipvalue: float | None = None,
                 global_clipnorm: float | None = None, name: str | None = None, **kwargs: Any):
        if "lr" in kwargs:
            learning_rate = kwargs.pop("lr")
        check_keras_only_kwargs(type(self).__name__, kwargs)
        if clipnorm is not None and global_clipnorm is not None:
            raise ConfigError("Only one of clipnorm and global_clipnorm can be set. Received: "
                              f"clipnorm={clipnorm}, global_clipnorm={global_clipnorm}. Remove "
                              f"one of them.")
        self.name = name or type(self).__name__.lower()
        self._learning_rate = check_lr(learning_rate)
        self.weight_decay = check_non_negative("weight_decay", weight_decay)
        self.clipnorm = check_non_negative("clipnorm", clipnorm)
        self.clipvalue = check_non_negative("clipvalue", clipvalue)
        self.global_clipnorm = check_non_negative("global_clipnorm", global_clipnorm)
        self._iterations = torch.zeros((), dtype=torch.int64)  # stays on the host, by design
        self._step, self._seen_version = 0, self._iterations._version
        self._tracked: list[Variable] = []
        self._slots: dict[str, list[torch.Tensor]] = {}
        self._index: dict[int, int] = {}
        self._decay_mask: list[bool] = []
        self._exclude_ids: set[int] = set()
        self._exclude_names: list[str] = []
        self._key: tuple | None = None
        self._key_indices: list[int] = []
        self._key_full = False
        self._pending: dict[int, Any] = {}
        self.built = False

    # ----- learning rate -------------------------------------------------------------------
    @property
    def learning_rate(self) -> float:
        """The current learning rate (a schedule is evaluated at the current ``iterations``),
        as a float that ``backend.set_value``/``.assign`` can change, as in tf.keras."""
        return LearningRateValue(self._lr_at(self._sync_step()), self)

    @learning_rate.setter
    def learning_rate(self, value: Any) -> None:
        if isinstance(self._learning_rate, LearningRateSchedule) and \
                not isinstance(value, LearningRateSchedule):
            raise ConfigError(
                f"{self.name} was created with a LearningRateSchedule as its learning_rate, so "
                f"its learning rate cannot be set to {value!r}. Create the optimizer with a "
                f"float learning_rate if it must be settable.")
        self._learning_rate = check_lr(value)

    lr = learning_rate

    def learning_rate_at(self, step: int) -> float:
        """The learning rate the update of 0-based step ``step`` uses.

        Example:
            >>> from savepoint.optimizers import SGD, schedules
            >>> SGD(schedules.PiecewiseConstantDecay([1], [1.0, 0.5])).learning_rate_at(2)
            0.5
        """
        return self._lr_at(int(step))

    def _lr_at(self, step: int) -> float:
        lr = self._learning_rate
        if isinstance(lr, LearningRateSchedule):
            return float(lr(step))
        return float(lr()) if callable(lr) else lr

    @property
    def iterations(self) -> Variable:
        """The number of steps taken, as a named int64 scalar variable (``iteration``)."""
        return Variable(self._iterations, name="iteration", path="iteration")

    def set_iterations(self, value: int) -> None:
        """Set the step counter (used when restoring state).

        Example:
            >>> from savepoint.optimizers import Adam
            >>> opt = Adam(); opt.set_iterations(7); int(opt.iterations.numpy())
            7
        """
        self._iterations.fill_(int(value))
        self._sync_step()

    def _sync_step(self) -> int:
        # ``iterations`` may be assigned from outside (checkpoint restore); its version counter
        # tells us, and reading a host scalar never waits for an accelerator.
        if self._iterations._version != self._seen_version:
            self._step = int(self._iterations)
            self._seen_version = self._iterations._version
        return self._step

    # ----- state ---------------------------------------------------------------------------
    def build(self, variables: Sequence[Variable]) -> None:
        """Create zero slot tensors for ``variables`` (done by the first step; calling it again
        with other variables keeps the slots of the variables it already knew).

        Example:
            >>> from savepoint.optimizers import Adam
            >>> v = Variable(torch.zeros(3), name="w", path="w")
            >>> opt = Adam(); opt.build([v]); [x.name for x in opt.variables]
            ['iteration', 'w_m', 'w_v']
        """
        variables = list(variables)
        if self.built:
            if [id(v.value) for v in variables] != [id(v.value) for v in self._tracked]:
                self._rebuild_for(variables)
            return
        self._tracked = variables
        self._slots = {name: [self._new_slot(name, v.value) for v in variables]
                       for name in self._slot_names}
        self._index = {id(v.value): i for i, v in enumerate(variables)}
        self._decay_mask = [self._use_weight_decay(v) for v in variables]
        self._key = None
        self.built = True
        if self._pending:
            pending, self._pending = self._pending, {}
            self._restore_positions(pending)

    def _new_slot(self, name: str, value: torch.Tensor) -> torch.Tensor:
        """A fresh slot for a variable: zeros (Adagrad and Ftrl start accumulators higher)."""
        return _zeros_like(value)

    def _rebuild_for(self, variables: list[Variable]) -> None:
        old_tracked, old_slots, old_index = self._tracked, self._slots, self._index
        new_ids = {id(v.value) for v in variables}
        self.built = False
        self.build(variables)
        for j, var in enumerate(variables):
            i = old_index.get(id(var.value))
            if i is None and j < len(old_tracked) and id(old_tracked[j].value) not in new_ids \
                    and old_tracked[j].path == var.path and old_tracked[j].shape == var.shape:
                i = j  # the same weight, re-created (for example by a load that swaps tensors)
            if i is not None:
                for name in self._slot_names:
                    self._slots[name][j] = old_slots[name][i].to(var.value.device,
                                                                 var.value.dtype)

    def _slot_groups(self) -> tuple[tuple[str, ...], ...]:
        """How ``variables`` orders slots: each group interleaved per variable, groups in
        sequence. Override to follow tf.keras where it creates slot lists one after another."""
        return (self._slot_names,)

    @property
    def variables(self) -> list[Variable]:
        """``iteration`` then every slot, in tf.keras's ``optimizer/_variables`` order."""
        out = [self.iterations]
        for group in self._slot_groups():
            for i, var in enumerate(self._tracked):
                base = var.path.replace("/", "_")
                for name in group:
                    out.append(Variable(self._slots[name][i], name=f"{base}_{name}",
                                        path=f"{type(self).__name__}/{name}/{var.path}"))
        return out

    # ----- checkpoint structure -------------------------------------------------------------
    _tf_slot_lists: dict[str, str] = {}

    def _trackable_children(self) -> list[tuple[str, Any]]:
        """tf.keras's optimizer children: ``_variables`` (iteration then slots), ``_iterations``,
        ``_learning_rate`` and, once built, one list per slot kind (``_momentums`` ...)."""
        from savepoint.trackable import Placeholder, TrackableList
        variables = self.variables
        children: list[tuple[str, Any]] = [("_variables", TrackableList(variables)),
                                           ("_iterations", variables[0])]
        if not callable(self._learning_rate):
            children.append(("_learning_rate", self._learning_rate_variable()))
        if self.built:
            children.append(("_index_dict", Placeholder()))
            by_tensor = {id(v.value): v for v in variables}
            for slot, list_name in self._tf_slot_lists.items():
                if slot in self._slots:
                    children.append((list_name, TrackableList(
                        by_tensor[id(t)] for t in self._slots[slot])))
        return children

    def _learning_rate_variable(self) -> Variable:
        """The learning rate as a float32 variable; restoring it sets the learning rate."""
        var = Variable(torch.tensor(float(self._learning_rate), dtype=torch.float32),
                       name="learning_rate", path="learning_rate")
        var._on_assign = self._restore_learning_rate
        return var

    def _restore_learning_rate(self, value: torch.Tensor) -> None:
        # The file holds float32; keep our exact float when it rounds to the same value, so a
        # resumed run computes bit for bit what the uninterrupted one does.
        current = self._learning_rate
        if callable(current) or torch.tensor(float(current), dtype=torch.float32) != value:
            self.learning_rate = float(value)

    def slot(self, variable: Variable, name: str) -> torch.Tensor:
        """The slot tensor ``name`` (for example ``"m"``) of a model variable."""
        i = self._index.get(id(variable.value))
        if i is None or name not in self._slots:
            raise ConfigError(f"Variable '{variable.path}' has no '{name}' slot in {self.name}: "
                              f"the optimizer has slots {list(self._slot_names)} for "
                              f"{[v.path for v in self._tracked]}.")
        return self._slots[name][i]

    # ----- restore before build ------------------------------------------------------------
    def _check_deferred(self, values: dict[int, Any]) -> None:
        """Validate slot values a checkpoint holds for positions of ``variables`` (0 is
        ``iteration``) before anything is assigned; shapes are checked now if built."""
        for position in values:
            if not isinstance(position, int) or position < 1:
                raise ConfigError(f"Expected optimizer variable positions >= 1 (0 is "
                                  f"'iteration'). Received position {position!r}.")
        if self.built:
            self._validate_positions(values)

    def _defer_restore(self, values: dict[int, Any]) -> None:
        """Assign ``values`` (position in ``variables`` -> array) now if built, else when the
        optimizer builds (its first step), as tf.keras restores slots lazily."""
        self._check_deferred(values)
        if self.built:
            self._restore_positions(values)
        else:
            self._pending.update(values)

    def _validate_positions(self, values: dict[int, Any]) -> list[Variable]:
        variables = self.variables
        for position, value in values.items():
            if position >= len(variables):
                raise ConfigError(
                    f"The checkpoint holds optimizer variable #{position} but {self.name} has "
                    f"only {len(variables)} variables ({type(self).__name__} built for "
                    f"{len(self._tracked)} model variables). Restore into the same optimizer "
                    f"type and configuration the checkpoint was saved with.")
            shape = tuple(getattr(value, "shape", ()))
            if shape != variables[position].shape:
                raise ShapeError(f"Shape mismatch for optimizer variable "
                                 f"'{variables[position].path}' (#{position}): checkpoint has "
                                 f"{shape}, optimizer has {variables[position].shape}.")
        return variables

    def _restore_positions(self, values: dict[int, Any]) -> None:
        variables = self._validate_positions(values)
        for position, value in values.items():
            variables[position].assign(value)

    # ----- weight decay --------------------------------------------------------------------
    def exclude_from_weight_decay(self, var_list: Iterable[Variable] | None = None,
                                  var_names: Iterable[str] | None = None) -> None:
        """Exempt variables from ``weight_decay``: those in ``var_list``, and those whose path
        matches (``re.search``) any pattern in ``var_names``. Call before the optimizer is built.

        Example:
            >>> from savepoint.optimizers import AdamW
            >>> AdamW().exclude_from_weight_decay(var_names=["bias"])
        """
        if self.built:
            raise ConfigError(f"exclude_from_weight_decay() must be called before {self.name} "
                              f"is built, but it is already built for "
                              f"{len(self._tracked)} variables. Call it before training.")
        self._exclude_ids = {id(v.value) for v in (var_list or [])}
        self._exclude_names = list(var_names or [])

    def _use_weight_decay(self, variable: Variable) -> bool:
        if id(variable.value) in self._exclude_ids:
            return False
        return not any(re.search(p, variable.path) for p in self._exclude_names)

    # ----- stepping ------------------------------------------------------------------------
    def apply_gradients(self, grads_and_vars: Iterable[tuple[Any, Variable]]) -> Variable:
        """Apply one step to ``(gradient, Variable)`` pairs; a ``None`` gradient leaves its
        variable untouched. Returns ``iterations``.

        Example:
            >>> from savepoint.optimizers import SGD
            >>> v = Variable(torch.ones(1), name="w", path="w")
            >>> int(SGD().apply_gradients([(torch.ones(1), v)]).numpy())
            1
        """
        pairs = list(grads_and_vars)
        self.apply([g for g, _ in pairs], [v for _, v in pairs])
        return self.iterations

    def apply(self, grads: Sequence[Any], variables: Sequence[Variable]) -> None:
        """Apply one step to ``variables`` with ``grads`` (same order, ``None`` skipped)."""
        grads, variables = list(grads), list(variables)
        if len(grads) != len(variables):
            raise ConfigError(f"Expected one gradient per variable. Received {len(grads)} "
                              f"gradients for {len(variables)} variables.")
        checked = []
        for g, v in zip(grads, variables):
            if g is not None:
                p = v.value
                g = torch.as_tensor(g, dtype=p.dtype, device=p.device)
                if g.shape != p.shape:
                    raise ShapeError(f"Gradient for variable '{v.path}' has shape "
                                     f"{tuple(g.shape)}, expected {tuple(p.shape)}.")
            checked.append(g)
        self._apply(checked, variables)

    def step(self, variables: Sequence[Variable]) -> None:
        """Apply one step using each variable's ``.grad`` (what ``fit`` calls after backward)."""
        self._apply([v.value.grad for v in variables], variables)

    def _apply(self, grads: list, variables: Sequence[Variable]) -> None:
        indices, full = self._indices_for(variables)
        if any(g is None for g in grads):
            keep = [k for k, g in enumerate(grads) if g is not None]
            if not keep:
                return
            grads, indices, full = [grads[k] for k in keep], [indices[k] for k in keep], False
        params = [self._tracked[i].value for i in indices]
        slots = self._slots if full else {n: [s[i] for i in indices]
                                          for n, s in self._slots.items()}
        grads = clip_gradients(grads, self.clipnorm, self.global_clipnorm, self.clipvalue)
        step = self._sync_step()
        lr = self._lr_at(step)
        with torch.no_grad():
            if self.weight_decay:
                decayed = [p for p, i in zip(params, indices) if self._decay_mask[i]]
                if decayed:
                    delta = torch._foreach_mul(decayed, self.weight_decay)
                    torch._foreach_mul_(delta, lr)
                    torch._foreach_sub_(decayed, delta)
            self.update(params, grads, slots, lr, step + 1)
            for param, constraint in self._constraints_of(indices):
                param.copy_(constraint(param))  # tf.keras projects right after the update
        self._iterations.add_(1)
        self._step, self._seen_version = step + 1, self._iterations._version

    def _constraints_of(self, indices: list[int]) -> list[tuple[torch.Tensor, Any]]:
        """``(parameter, constraint)`` for the tracked variables at ``indices`` whose layer
        gave them a constraint (``add_weight(constraint=...)``); memoised per index list."""
        memo = self.__dict__.get("_constraint_memo")
        if memo is not None and memo[0] is indices:
            return memo[1]
        pairs = []
        for i in indices:
            var = self._tracked[i]
            owner = getattr(var, "_owner", None)
            table = owner.__dict__.get("_weight_constraints") if owner is not None else None
            if table and var._attr in table:
                pairs.append((var.value, table[var._attr]))
        self._constraint_memo = (indices, pairs)
        return pairs

    def _indices_for(self, variables: Sequence[Variable]) -> tuple[list[int], bool]:
        key = tuple(id(v.value) for v in variables)
        if key != self._key:
            if not self.built:
                self.build(variables)
            elif any(k not in self._index for k in key):
                self._rebuild_for(list(variables))
            self._key, self._key_indices = key, [self._index[k] for k in key]
            self._key_full = self._key_indices == list(range(len(self._tracked)))
            self._follow_devices(range(len(self._tracked)))
        elif self._tracked:
            self._follow_devices((0, len(self._tracked) - 1))
        return self._key_indices, self._key_full

    def _follow_devices(self, positions: Iterable[int]) -> None:
        """Move slots after their variable moved (``model.to("cuda")``) or changed dtype."""
        for i in positions:
            p = self._tracked[i].value
            for name in self._slot_names:
                s = self._slots[name][i]
                if s.device != p.device or s.dtype != p.dtype:
                    for j, var in enumerate(self._tracked):
                        q = var.value
                        for n in self._slot_names:
                            self._slots[n][j] = self._slots[n][j].to(q.device, q.dtype)
                    return

    def update(self, params: list[torch.Tensor], grads: list[torch.Tensor],
               slots: dict[str, list[torch.Tensor]], lr: float, step: int) -> None:
        """Update ``params`` in place from ``grads``; ``slots[name][k]`` belongs to
        ``params[k]``; ``step`` counts from 1. Subclasses must override this."""
        raise NotImplementedError(f"{type(self).__name__} must implement update().")

    # ----- config ---------------------------------------------------------------------------
    def get_config(self) -> dict:
        """The constructor arguments, in tf.keras's optimizer config shape.

        Example:
            >>> from savepoint.optimizers import Adam
            >>> Adam(learning_rate=0.01).get_config()["learning_rate"]
            0.01
        """
        lr = self._learning_rate
        if isinstance(lr, LearningRateSchedule):
            lr = serialize(lr)
        elif callable(lr):
            lr = float(lr())
        return {"name": self.name, "weight_decay": self.weight_decay, "clipnorm": self.clipnorm,
                "global_clipnorm": self.global_clipnorm, "clipvalue": self.clipvalue,
                "use_ema": False, "ema_momentum": 0.99, "ema_overwrite_frequency": None,
                "jit_compile": False, "is_legacy_optimizer": False, "learning_rate": lr}

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None) -> "Optimizer":
        """Rebuild an optimizer (without its state) from ``get_config()``."""
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = deserialize(config["learning_rate"], "schedules",
                                                  custom_objects)
        return cls(**config)


def _zeros_like(t: torch.Tensor) -> torch.Tensor:
    return torch.zeros_like(t, memory_format=torch.preserve_format).detach()
