"""Gradient clipping as Keras applies it (``clipnorm``, ``global_clipnorm``, ``clipvalue``).

Every function works on a list of gradients with ``torch._foreach_*`` ops: one fused pass, no
host synchronisation, and the caller's gradient tensors are never modified in place.
"""

from __future__ import annotations

import torch


def clip_by_norm(grads: list[torch.Tensor], clipnorm: float) -> list[torch.Tensor]:
    """Rescale each gradient to an L2 norm of at most ``clipnorm``:
    ``g * clipnorm / max(||g||, clipnorm)``, as ``tf.clip_by_norm`` does.

    Example:
        >>> clip_by_norm([torch.tensor([3.0, 4.0])], 1.0)[0].tolist()
        [0.6000000238418579, 0.800000011920929]
    """
    if not grads:
        return grads
    norms = torch._foreach_norm(grads)
    denominators = torch._foreach_maximum(norms, float(clipnorm))
    scaled = torch._foreach_mul(grads, float(clipnorm))
    torch._foreach_div_(scaled, denominators)
    return list(scaled)


def clip_by_global_norm(grads: list[torch.Tensor], clipnorm: float) -> list[torch.Tensor]:
    """Rescale all gradients together so their joint L2 norm is at most ``clipnorm``:
    ``g * clipnorm * min(1 / global_norm, 1 / clipnorm)`` (a NaN norm makes every gradient NaN,
    as ``tf.clip_by_global_norm`` does).

    Example:
        >>> out = clip_by_global_norm([torch.tensor([3.0]), torch.tensor([4.0])], 1.0)
        >>> [round(t.item(), 4) for t in out]
        [0.6, 0.8]
    """
    if not grads:
        return grads
    norms = torch._foreach_norm(grads)
    total = torch.linalg.vector_norm(torch.stack([n.to(torch.float32) for n in norms]))
    scale = clipnorm * torch.minimum(1.0 / total, torch.tensor(1.0 / clipnorm,
                                                               device=total.device))
    scale = scale + (total - total)
    return list(torch._foreach_mul(grads, scale))


def clip_by_value(grads: list[torch.Tensor], clipvalue: float) -> list[torch.Tensor]:
    """Clamp every gradient element to ``[-clipvalue, clipvalue]``.

    Example:
        >>> clip_by_value([torch.tensor([-3.0, 0.5, 2.0])], 1.0)[0].tolist()
        [-1.0, 0.5, 1.0]
    """
    if not grads:
        return grads
    out = torch._foreach_clamp_max(grads, float(clipvalue))
    torch._foreach_clamp_min_(out, -float(clipvalue))
    return list(out)


def clip_gradients(grads: list[torch.Tensor], clipnorm: float | None,
                   global_clipnorm: float | None, clipvalue: float | None) -> list[torch.Tensor]:
    """Apply the one clipping Keras would apply: ``clipnorm`` first, else ``global_clipnorm``,
    else ``clipvalue`` (the same precedence as ``tf.keras``'s ``_clip_gradients``).

    Example:
        >>> clip_gradients([torch.tensor([2.0])], None, None, 1.0)[0].tolist()
        [1.0]
    """
    if clipnorm is not None and clipnorm > 0:
        return clip_by_norm(grads, clipnorm)
    if global_clipnorm is not None and global_clipnorm > 0:
        return clip_by_global_norm(grads, global_clipnorm)
    if clipvalue is not None and clipvalue > 0:
        return clip_by_value(grads, clipvalue)
    return grads
