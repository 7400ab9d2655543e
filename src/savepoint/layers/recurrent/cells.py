"""The recurrent cells: SimpleRNNCell, LSTMCell and GRUCell (one time step each, Keras layout).

A cell holds ``kernel`` ``(input_dim, gates * units)``, ``recurrent_kernel``
``(units, gates * units)`` and ``bias`` in Keras's gate order (LSTM ``i, f, c, o``; GRU
``z, r, h``), so every save format keeps Keras's names and shapes. ``call(inputs, states)`` is
Keras's one-step contract; the RNN layers use ``_project`` (the input half of every step, one
matmul for the whole sequence) and ``_step`` (the recurrent half) instead, or torch's fused kernels
(``recurrent/fused.py``) when the configuration allows.

Example:
    >>> import torch
    >>> cell = LSTMCell(3)
    >>> out, (h, c) = cell(torch.ones(2, 4), [torch.zeros(2, 3), torch.zeros(2, 3)])
    >>> tuple(out.shape), tuple(c.shape)
    ((2, 3), (2, 3))
"""

from __future__ import annotations

from typing import Any

import torch

from savepoint import backend
from savepoint.errors import ConfigError, ShapeError
from savepoint.layers import activations, constraints, initializers, regularizers
from savepoint.layers.base import Layer
from savepoint.serialization import builtin, serialize

_CONSTRAINTS = ("kernel_constraint", "recurrent_constraint", "bias_constraint")


def check_units(owner: str, units: Any) -> int:
    """``units`` if it is a positive int, else a ``ConfigError`` naming ``owner``.

    Example:
        >>> check_units("LSTM", 4)
        4
    """
    if not isinstance(units, int) or isinstance(units, bool) or units <= 0:
        raise ConfigError(f"{owner} expected `units` to be a positive int. Received: "
                          f"units={units!r}. Fix: pass e.g. units=32.")
    return units


def check_rate(owner: str, name: str, value: Any) -> float:
    """A dropout rate in ``[0, 1)`` as a float, else a ``ConfigError``.

    Example:
        >>> check_rate("GRU", "dropout", 0)
        0.0
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise ConfigError(f"{owner} expected `{name}` to be a float in [0, 1). Received: "
                          f"{name}={value!r}. Fix: pass a rate such as 0.2.")
    return float(value)


class _Cell(Layer):
    """What the three cells share: arguments, weights, dropout masks and the step split."""

    _gates = 1

    def __init__(self, units: int, activation: Any = "tanh", use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, recurrent_regularizer: Any = None,
                 bias_regularizer: Any = None, kernel_constraint: Any = None,
                 recurrent_constraint: Any = None, bias_constraint: Any = None,
                 dropout: float = 0.0, recurrent_dropout: float = 0.0, seed: int | None = None,
                 implementation: int = 2, **kwargs: Any):
        super().__init__(**kwargs)
        owner = type(self).__name__
        self.units = check_units(owner, units)
        # projected by the optimizer after each update, as for every other layer's weights
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.recurrent_constraint = constraints.get(recurrent_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        if implementation not in (1, 2):
            raise ConfigError(f"{owner} expected `implementation` 1 or 2. Received: "
                              f"{implementation!r}.")
        self.implementation = implementation
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.dropout = check_rate(owner, "dropout", dropout)
        self.recurrent_dropout = check_rate(owner, "recurrent_dropout", recurrent_dropout)
        self.seed = seed
        self._dp_mask: torch.Tensor | None = None
        self._rec_dp_mask: torch.Tensor | None = None

    # ----- sizes and states ---------------------------------------------------------------
    @property
    def state_size(self) -> Any:
        return self.units

    @property
    def output_size(self) -> int:
        return self.units

    def get_initial_state(self, inputs: Any = None, batch_size: int | None = None,
                          dtype: Any = None, device: Any = None) -> list[torch.Tensor]:
        """Zero states, one ``(batch, size)`` tensor per entry of ``state_size``; Keras 2's
        signature (``inputs`` or ``batch_size``; a bare int is taken as the batch size).

        Example:
            >>> [tuple(s.shape) for s in LSTMCell(2).get_initial_state(batch_size=3)]
            [(3, 2), (3, 2)]
        """
        if isinstance(inputs, int):
            inputs, batch_size = None, inputs
        if inputs is not None:
            batch_size = inputs.shape[0]
            dtype = dtype or inputs.dtype
            device = device or inputs.device
        if batch_size is None:
            raise ConfigError(f"Cell '{self.name}' expected `inputs` or `batch_size` to size "
                              f"its initial state. Received neither.")
        tdtype = backend.torch_dtype(dtype) if isinstance(dtype, str) else dtype
        sizes = self.state_size if isinstance(self.state_size, (list, tuple)) \
            else [self.state_size]
        return [torch.zeros(batch_size, s, dtype=tdtype or self._torch_dtype,
                            device=device or self._device()) for s in sizes]

    # ----- weights ------------------------------------------------------------------------
    def build(self, input_shape: Any) -> None:
        in_dim = input_shape[-1]
        if in_dim is None:
            raise ShapeError(f"Layer '{self.name}' expected the last input dimension to be "
                             f"known. Received input_shape={tuple(input_shape)}.")
        width = self._gates * self.units
        self.kernel = self.add_weight("kernel", (int(in_dim), width), self.kernel_initializer,
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self.recurrent_kernel = self.add_weight("recurrent_kernel", (self.units, width),
                                                self.recurrent_initializer,
                                                regularizer=self.recurrent_regularizer,
                                                constraint=self.recurrent_constraint)
        if self.use_bias:
            self.bias = self.add_weight("bias", self._bias_shape(), self._bias_init(),
                                        regularizer=self.bias_regularizer,
                                        constraint=self.bias_constraint)
        else:
            self.bias = None
        self.built = True

    def _bias_shape(self) -> tuple:
        return (self._gates * self.units,)

    def _bias_init(self) -> Any:
        return self.bias_initializer

    # ----- dropout (Keras's DropoutRNNCellMixin, implementation 2: one mask per sequence) --
    def reset_dropout_mask(self) -> None:
        self._dp_mask = None

    def reset_recurrent_dropout_mask(self) -> None:
        self._rec_dp_mask = None

    def _masks(self, inputs: torch.Tensor, state: torch.Tensor, training: bool
               ) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        if not training:
            return None, None
        if self.dropout and self._dp_mask is None:
            self._dp_mask = _keep_mask(inputs.shape[0], inputs.shape[-1], self.dropout, inputs)
        if self.recurrent_dropout and self._rec_dp_mask is None:
            self._rec_dp_mask = _keep_mask(state.shape[0], state.shape[-1],
                                           self.recurrent_dropout, state)
        return (self._dp_mask if self.dropout else None,
                self._rec_dp_mask if self.recurrent_dropout else None)

    # ----- one step -----------------------------------------------------------------------
    def _project(self, inputs: torch.Tensor, dp_mask: torch.Tensor | None) -> torch.Tensor:
        """``inputs @ kernel (+ input bias)`` for one step ``(B, F)`` or a sequence ``(B, T, F)``
        (a dropout mask ``(B, F)`` applies to every step)."""
        if dp_mask is not None:
            inputs = inputs * (dp_mask if inputs.dim() == 2 else dp_mask[:, None])
        out = inputs @ self.kernel
        bias = self._input_bias()
        return out + bias if bias is not None else out

    def _input_bias(self) -> torch.Tensor | None:
        return self.bias

    def _step(self, projected: torch.Tensor, states: list, rec_mask: torch.Tensor | None
              ) -> tuple[torch.Tensor, list]:
        raise NotImplementedError

    def call(self, inputs: torch.Tensor, states: Any, training: bool = False) -> tuple:
        nested = isinstance(states, (list, tuple))
        states = list(states) if nested else [states]
        dp, rec = self._masks(inputs, states[0], training)
        out, new = self._step(self._project(inputs, dp), states, rec)
        if not training:
            self.reset_dropout_mask()
            self.reset_recurrent_dropout_mask()
        return out, (new if nested or len(new) > 1 else new[0])

    def _build_from(self, inputs: Any) -> None:
        self.build((None,) + tuple(inputs.shape[1:]))
        self.built = True

    def compute_output_shape(self, input_shape: Any) -> Any:
        raise NotImplementedError

    # ----- config -------------------------------------------------------------------------
    def get_config(self) -> dict:
        return {**super().get_config(), "units": self.units,
                "activation": activations.serialize(self.activation),
                "use_bias": self.use_bias,
                "kernel_initializer": serialize(self.kernel_initializer),
                "recurrent_initializer": serialize(self.recurrent_initializer),
                "bias_initializer": serialize(self.bias_initializer),
                "kernel_regularizer": serialize(self.kernel_regularizer),
                "recurrent_regularizer": serialize(self.recurrent_regularizer),
                "bias_regularizer": serialize(self.bias_regularizer),
                **{key: serialize(getattr(self, key)) for key in _CONSTRAINTS},
                "dropout": self.dropout,
                "recurrent_dropout": self.recurrent_dropout}


def _keep_mask(batch: int, width: int, rate: float, like: torch.Tensor) -> torch.Tensor:
    keep = torch.empty(batch, width, dtype=like.dtype, device=like.device).bernoulli_(1 - rate)
    return keep / (1 - rate)


@builtin("layers")
class SimpleRNNCell(_Cell):
    """``h = activation(x @ kernel + bias + h_prev @ recurrent_kernel)``.

    Example:
        >>> import torch
        >>> out, h = SimpleRNNCell(2)(torch.ones(1, 3), [torch.zeros(1, 2)])
        >>> tuple(out.shape)
        (1, 2)
    """

    def _step(self, projected: torch.Tensor, states: list, rec_mask: torch.Tensor | None
              ) -> tuple[torch.Tensor, list]:
        h = states[0]
        if rec_mask is not None:
            h = h * rec_mask
        out = self.activation(projected + h @ self.recurrent_kernel)
        return out, [out]


@builtin("layers")
class LSTMCell(_Cell):
    """Keras's LSTM step, gates ``i, f, c, o``; ``unit_forget_bias`` starts ``f``'s bias at 1.

    Example:
        >>> import torch
        >>> LSTMCell(2).state_size
        [2, 2]
    """

    _gates = 4

    def __init__(self, units: int, activation: Any = "tanh",
                 recurrent_activation: Any = "sigmoid", use_bias: bool = True,
                 unit_forget_bias: bool = True, **kwargs: Any):
        super().__init__(units, activation=activation, use_bias=use_bias, **kwargs)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.unit_forget_bias = bool(unit_forget_bias)

    @property
    def state_size(self) -> list[int]:
        return [self.units, self.units]

    def _bias_init(self) -> Any:
        if not self.unit_forget_bias:
            return self.bias_initializer
        base, units = self.bias_initializer, self.units

        def init(shape, dtype=torch.float32):
            parts = [base((units,), dtype=dtype), torch.ones(units, dtype=dtype),
                     base((2 * units,), dtype=dtype)]
            return torch.cat(parts)
        return init

    def _step(self, projected: torch.Tensor, states: list, rec_mask: torch.Tensor | None
              ) -> tuple[torch.Tensor, list]:
        h, c = states[0], states[1]
        if rec_mask is not None:
            h = h * rec_mask
        z = projected + h @ self.recurrent_kernel
        i, f, g, o = z.chunk(4, dim=-1)
        ra = self.recurrent_activation
        c = ra(f) * c + ra(i) * self.activation(g)
        h = ra(o) * self.activation(c)
        return h, [h, c]

    def get_config(self) -> dict:
        config = super().get_config()
        config["recurrent_activation"] = activations.serialize(self.recurrent_activation)
        config["unit_forget_bias"] = self.unit_forget_bias
        config["implementation"] = self.implementation
        return config


@builtin("layers")
class GRUCell(_Cell):
    """Keras's GRU step, gates ``z, r, h``; ``reset_after=True`` (tf.keras 2's default, what
    cuDNN and torch compute) keeps separate input and recurrent biases, ``bias`` ``(2, 3u)``.

    Example:
        >>> import torch
        >>> cell = GRUCell(2); _ = cell(torch.ones(1, 3), [torch.zeros(1, 2)])
        >>> tuple(cell.bias.shape)
        (2, 6)
    """

    _gates = 3

    def __init__(self, units: int, activation: Any = "tanh",
                 recurrent_activation: Any = "sigmoid", use_bias: bool = True,
                 reset_after: bool = True, **kwargs: Any):
        super().__init__(units, activation=activation, use_bias=use_bias, **kwargs)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.reset_after = bool(reset_after)

    def _bias_shape(self) -> tuple:
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def _input_bias(self) -> torch.Tensor | None:
        if self.bias is None:
            return None
        return self.bias[0] if self.reset_after else self.bias

    def _step(self, projected: torch.Tensor, states: list, rec_mask: torch.Tensor | None
              ) -> tuple[torch.Tensor, list]:
        h = states[0]
        hr = h * rec_mask if rec_mask is not None else h
        u, ra = self.units, self.recurrent_activation
        xz, xr, xh = projected.split(u, dim=-1)
        rk = self.recurrent_kernel
        if self.reset_after:
            inner = hr @ rk
            if self.bias is not None:
                inner = inner + self.bias[1]
            rz, rr, rh = inner.split(u, dim=-1)
            z, r = ra(xz + rz), ra(xr + rr)
            hh = self.activation(xh + r * rh)
        else:
            inner = hr @ rk[:, :2 * u]
            z, r = ra(xz + inner[:, :u]), ra(xr + inner[:, u:])
            hh = self.activation(xh + (r * hr) @ rk[:, 2 * u:])
        out = z * h + (1 - z) * hh
        return out, [out]

    def get_config(self) -> dict:
        config = super().get_config()
        config["recurrent_activation"] = activations.serialize(self.recurrent_activation)
        config["implementation"] = self.implementation
        config["reset_after"] = self.reset_after
        return config


__all__ = ["GRUCell", "LSTMCell", "SimpleRNNCell"]
