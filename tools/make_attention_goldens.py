"""Regenerate the golden fixtures of the attention layers (MultiHeadAttention, Attention,
AdditiveAttention) with REAL tf-keras 2, in the format of ``tools/make_activation_goldens.py``.

Run from the repository root:

    TF_USE_LEGACY_KERAS=1 .venvs/tf/bin/python tools/make_attention_goldens.py

Cases cover a cross-attention with a separate key, self-attention, ``attention_mask``,
``use_causal_mask``, ``return_attention_scores``, ``value_dim``/``output_shape``/``use_bias``,
rank-4 inputs, and Attention/AdditiveAttention with masks, scales and ``concat`` scores.
"""

from __future__ import annotations

import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_activation_goldens import OUT, keras, normal, write  # noqa: E402


def main() -> None:
    keras.utils.set_random_seed(7)
    shutil.rmtree(os.path.join(OUT, "attention"), ignore_errors=True)
    L = keras.layers
    q, v, k = normal(1, 2, 4, 6), normal(2, 2, 5, 6), normal(3, 2, 5, 6)
    mask = normal(4, 2, 4, 5) > -0.3
    mask[1, 2] = False  # a fully masked query row: Keras's -1e9 keeps it uniform
    write("attention", "mha_cross", L.MultiHeadAttention(2, 3), [q, v, k], style="mha", seed=1)
    write("attention", "mha_self", L.MultiHeadAttention(3, 4), [q, q], style="mha", seed=2)
    write("attention", "mha_mask", L.MultiHeadAttention(2, 3), [q, v], style="mha",
          array_kwargs={"attention_mask": mask}, seed=3)
    write("attention", "mha_causal", L.MultiHeadAttention(2, 3), [q, q], style="mha",
          kwargs={"use_causal_mask": True}, seed=4)
    write("attention", "mha_scores", L.MultiHeadAttention(2, 3), [q, v], style="mha",
          kwargs={"return_attention_scores": True}, array_kwargs={"attention_mask": mask},
          seed=5)
    write("attention", "mha_value_dim", L.MultiHeadAttention(
        2, 3, value_dim=5, output_shape=7, use_bias=False), [q, v], style="mha", seed=6)
    write("attention", "mha_causal_mask_scores", L.MultiHeadAttention(2, 2), [q, q],
          style="mha", kwargs={"use_causal_mask": True, "return_attention_scores": True},
          array_kwargs={"attention_mask": normal(7, 2, 4, 4) > -0.5}, seed=7)
    write("attention", "mha_rank4", L.MultiHeadAttention(2, 3), [normal(8, 2, 2, 3, 4),
                                                                 normal(9, 2, 3, 2, 4)],
          style="mha", seed=8)
    x4, y4 = normal(15, 2, 3, 4, 6), normal(16, 2, 3, 5, 6)
    write("attention", "mha_axes2", L.MultiHeadAttention(2, 3, attention_axes=(2,)), [x4, y4],
          style="mha", kwargs={"return_attention_scores": True}, seed=15)
    write("attention", "mha_axes2_mask", L.MultiHeadAttention(2, 3, attention_axes=2),
          [x4, y4], style="mha", array_kwargs={"attention_mask": normal(17, 2, 3, 4, 5) > 0},
          seed=16)
    write("attention", "mha_axes1_rank4", L.MultiHeadAttention(2, 2, attention_axes=[1]),
          [normal(18, 2, 3, 4, 6), normal(19, 2, 5, 4, 6)], style="mha",
          kwargs={"return_attention_scores": True}, seed=17)
    write("attention", "mha_axes12_rank5", L.MultiHeadAttention(2, 2, attention_axes=(1, 3)),
          [normal(20, 2, 2, 3, 2, 4), normal(21, 2, 3, 3, 2, 4)], style="mha", seed=18)
    write("attention", "mha_value_mask_broadcast", L.MultiHeadAttention(2, 3), [q, v],
          style="mha", array_kwargs={"attention_mask": normal(22, 2, 1, 5) > 0}, seed=19)
    write("attention", "attention_dot", L.Attention(), [q, v], style="list", seed=9)
    write("attention", "attention_scale_key", L.Attention(use_scale=True), [q, v, k],
          style="list", seed=10)
    write("attention", "attention_concat", L.Attention(use_scale=True, score_mode="concat"),
          [q, v], style="list", seed=11)
    write("attention", "attention_masks", L.Attention(), [q, v], style="list",
          kwargs={"return_attention_scores": True, "use_causal_mask": True},
          array_kwargs={"mask": [normal(12, 2, 4) > -0.5, normal(13, 2, 5) > -0.5]}, seed=12)
    write("attention", "additive", L.AdditiveAttention(), [q, v], style="list", seed=13)
    write("attention", "additive_key_mask", L.AdditiveAttention(use_scale=False), [q, v, k],
          style="list", array_kwargs={"mask": [None, normal(14, 2, 5) > 0]}, seed=14)
    models()
    print("wrote", os.path.join(OUT, "attention"))


def models() -> None:
    """Whole models tf.keras saved as ``.h5`` (tests/interop/attention_layer_models.py), with
    their inputs, predictions and weights, so loading tf.keras's files is tested offline."""
    sys.path.insert(0, os.path.join(os.path.dirname(OUT), "..", "interop"))
    import attention_layer_models as zoo
    import numpy as np
    folder = os.path.join(OUT, "attention_models")
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    for name, build in zoo.BUILDERS.items():
        model = build(keras)
        zoo.set_weights(model, 4)
        x = zoo.data(name)
        model.save(os.path.join(folder, f"{name}.h5"))
        np.savez_compressed(os.path.join(folder, f"{name}.npz"),
                            **{f"x{i}": v for i, v in enumerate(x)},
                            y=model.predict(zoo.feed(x), verbose=0),
                            **{f"w{i}": w for i, w in enumerate(model.get_weights())})


if __name__ == "__main__":
    main()
