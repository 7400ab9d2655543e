"""Plain ``torch.nn`` modules inside a Layer: their parameters and buffers as Keras weights.

A Layer (or a subclassed Model) that holds ``torch.nn.Linear`` and friends tracks them: their
parameters become trainable weights, their persistent buffers non-trainable ones, named
``<layer>/<module path>/<tensor>``, and they join the TF object graph as nested nodes, so every
format saves them.

Example:
    >>> import torch
    >>> from savepoint.layers.base import Layer
    >>> class Wrapper(Layer):
    ...     def __init__(self):
    ...         super().__init__(name="wrapper")
    ...         self.proj = torch.nn.Linear(2, 3)
    ...     def call(self, x):
    ...         return self.proj(x)
    >>> [w.path for w in Wrapper().weights]
    ['wrapper/proj/weight', 'wrapper/proj/bias']
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterator

import torch

from savepoint.layers.variable import Variable

if TYPE_CHECKING:
    from savepoint.layers.base import Layer


def _layer_class() -> type:
    # layers.base imports this module at its end: taking Layer at call time, not import time,
    # keeps the module-level import graph acyclic
    from savepoint.layers.base import Layer
    return Layer


class _ModuleVariable(Variable):
    """A weight held by a plain torch submodule: its parameter or persistent buffer."""

    __slots__ = ("_layer", "_buffer")

    @property
    def value(self) -> torch.Tensor:
        store = self._owner._buffers if self._buffer else self._owner._parameters
        return store[self._attr]

    @property
    def trainable(self) -> bool:
        return self._trainable and self._layer.trainable


def _torch_submodules(layer: Layer) -> Iterator[tuple[str, torch.nn.Module]]:
    """``(path, module)`` for every plain torch module under ``layer``, not inside a Layer."""
    layer_class = _layer_class()
    def walk(module: torch.nn.Module, prefix: str):
        yield prefix, module
        for name, child in module._modules.items():
            if child is not None and not isinstance(child, layer_class):
                yield from walk(child, f"{prefix}/{name}")
    for name, module in layer._modules.items():
        if module is None or isinstance(module, layer_class):
            continue
        if isinstance(module, (torch.nn.ModuleList, torch.nn.ModuleDict)):
            items = module.items() if isinstance(module, torch.nn.ModuleDict) else \
                ((str(i), m) for i, m in enumerate(module))
            for key, child in items:
                if not isinstance(child, layer_class):
                    yield from walk(child, f"{name}/{key}")
        else:
            yield from walk(module, name)


def _plain_torch_modules(layer: Layer) -> list[torch.nn.Module]:
    """Direct torch children that are not layers (nor lists of layers only)."""
    layer_class = _layer_class()
    found = []
    for module in layer._modules.values():
        if module is None or isinstance(module, layer_class):
            continue
        if isinstance(module, (torch.nn.ModuleList, torch.nn.ModuleDict)):
            items = module.values() if isinstance(module, torch.nn.ModuleDict) else module
            if all(isinstance(m, layer_class) for m in items):
                continue
        found.append(module)
    return found


def _module_tensors(module: torch.nn.Module) -> Iterator[tuple[str, torch.Tensor, bool]]:
    for name, param in module._parameters.items():
        if param is not None:
            yield name, param, False
    for name, buf in module._buffers.items():
        if buf is not None and name not in module._non_persistent_buffers_set:
            yield name, buf, True


class _TorchModuleNode:
    """A torch submodule in a checkpoint's object graph: its tensors and submodules by name."""

    def __init__(self, children: list[tuple[str, Any]]):
        self._children = children

    def _trackable_children(self) -> list[tuple[str, Any]]:
        return self._children


def _layers_in_torch_modules(layer: Layer) -> list[tuple[str, Layer]]:
    """``(path, layer)`` for Keras layers held inside plain torch containers
    (``self.block = torch.nn.Sequential(Dense(4), torch.nn.ReLU())``)."""
    layer_class = _layer_class()
    found: list[tuple[str, Layer]] = []
    def walk(module: torch.nn.Module, prefix: str) -> None:
        for name, child in module._modules.items():
            if isinstance(child, layer_class):
                found.append((f"{prefix}/{name}", child))
            elif child is not None:
                walk(child, f"{prefix}/{name}")
    for name, module in layer._modules.items():
        if module is not None and not isinstance(module, (layer_class, torch.nn.ModuleList,
                                                          torch.nn.ModuleDict)):
            walk(module, name)
    return found


def _torch_children(torch_vars: list, nested: list | None = None,
                    owner: str = "") -> list[tuple[str, Any]]:
    """Checkpoint children for torch submodules: nested nodes named by attribute path."""
    root: dict = {}
    entries = [(var.path.split("/")[1:], var) for var in torch_vars]
    entries += [(path.split("/"), layer) for path, layer in nested or []]
    for parts, obj in entries:
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = obj
    def build(tree: dict) -> list[tuple[str, Any]]:
        out = []
        for name, child in tree.items():
            if isinstance(child, dict):
                out.append((name, _TorchModuleNode(build(child))))
            else:
                out.append((name, child))
        return out
    return build(root)
