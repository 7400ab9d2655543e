"""``TextVectorization``: strings -> standardized, split tokens -> indices (or encodings), with a
vocabulary given or adapted and saved with the model (see ``index_lookup``)."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import torch

from savepoint.errors import ConfigError
from savepoint.layers.preprocessing._utils import check_choice
from savepoint.layers.preprocessing.index_lookup import OUTPUT_MODES, StringLookup, as_strings
from savepoint.serialization import builtin

# tf.keras's DEFAULT_STRIP_REGEX: ASCII punctuation
_PUNCTUATION = re.compile(r'[!"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~\']')
STANDARDIZE = (None, "lower_and_strip_punctuation", "lower", "strip_punctuation")
SPLIT = (None, "whitespace", "character")


def standardize(text: str, mode: str | None) -> str:
    """One string standardized as tf.keras does (``lower`` folds case, punctuation is removed).

    Example:
        >>> standardize("Hello, World!", "lower_and_strip_punctuation")
        'hello world'
    """
    if mode in ("lower", "lower_and_strip_punctuation"):
        text = text.lower()
    if mode in ("strip_punctuation", "lower_and_strip_punctuation"):
        text = _PUNCTUATION.sub("", text)
    return text


def split(text: str, mode: str | None) -> list[str]:
    """Tokens of one standardized string (``whitespace``: runs of whitespace separate).

    Example:
        >>> split(" a  b ", "whitespace")
        ['a', 'b']
    """
    if mode == "whitespace":
        return text.split()
    if mode == "character":
        return list(text)
    return [text]


def ngrams(tokens: list[str], widths: tuple[int, ...]) -> list[str]:
    """``tf.strings.ngrams`` with ``separator=" "``: all n-grams of each width, widths in order.

    Example:
        >>> ngrams(["a", "b", "c"], (1, 2))
        ['a', 'b', 'c', 'a b', 'b c']
    """
    return [" ".join(tokens[i:i + n]) for n in widths for i in range(len(tokens) - n + 1)]


def _ngram_widths(value: Any) -> tuple[int, ...] | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return tuple(range(1, value + 1))
    if isinstance(value, (list, tuple)) and value and all(
            isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value):
        return tuple(value)
    raise ConfigError(f"TextVectorization expected `ngrams` to be None, a positive int or a "
                      f"tuple of positive ints. Received: ngrams={value!r}.")


@builtin("layers")
class TextVectorization(StringLookup):
    """Turn strings into sequences of token indices (``output_mode="int"``, padded with 0 to the
    longest row or to ``output_sequence_length``) or into multi-hot/count/tf-idf vectors.

    Inputs are numpy string arrays of shape ``(batch,)`` or ``(batch, 1)``.

    Example:
        >>> layer = TextVectorization(vocabulary=["a", "b"], output_sequence_length=4)
        >>> layer(np.array(["a b z", "B"])).tolist()
        [[2, 3, 1, 0], [3, 0, 0, 0]]
    """

    def __init__(self, max_tokens: int | None = None,
                 standardize: str | None = "lower_and_strip_punctuation",
                 split: str | None = "whitespace", ngrams: Any = None, output_mode: str = "int",
                 output_sequence_length: int | None = None, pad_to_max_tokens: bool = False,
                 vocabulary: Any = None, idf_weights: Any = None, sparse: bool = False,
                 ragged: bool = False, encoding: str = "utf-8", **kwargs: Any):
        check_choice("TextVectorization", "standardize", standardize, STANDARDIZE)
        check_choice("TextVectorization", "split", split, SPLIT)
        self._widths = _ngram_widths(ngrams)
        if self._widths is not None and split is None:
            raise ConfigError("TextVectorization expected a `split` with `ngrams`. Received "
                              "split=None.")
        check_choice("TextVectorization", "ragged", ragged, (False,))
        check_choice("TextVectorization", "output_mode", output_mode, OUTPUT_MODES[:1] +
                     OUTPUT_MODES[2:])
        if output_sequence_length is not None and output_mode != "int":
            raise ConfigError(f"TextVectorization expected `output_sequence_length` only with "
                              f"output_mode='int'. Received output_mode={output_mode!r}.")
        if output_sequence_length is not None and (
                not isinstance(output_sequence_length, int) or output_sequence_length <= 0):
            raise ConfigError(f"TextVectorization expected `output_sequence_length` to be a "
                              f"positive int. Received: {output_sequence_length!r}.")
        kwargs.pop("vocabulary_size", None)
        if kwargs.get("dtype") in (None, "string"):
            kwargs["dtype"] = "string"
        self.standardize, self.split = standardize, split
        self.ngrams = list(ngrams) if isinstance(ngrams, (list, tuple)) else ngrams
        self.output_sequence_length = output_sequence_length
        super().__init__(max_tokens=max_tokens, num_oov_indices=1,
                         mask_token="" if output_mode == "int" else None, oov_token="[UNK]",
                         vocabulary=vocabulary, idf_weights=idf_weights, encoding=encoding,
                         output_mode=output_mode, sparse=sparse,
                         pad_to_max_tokens=pad_to_max_tokens, **kwargs)
        self._out_dtype = torch.int64 if output_mode == "int" else torch.float32

    def _rows(self, inputs: Any) -> list[list[str]]:
        texts = as_strings(inputs)
        if texts.ndim == 2 and texts.shape[1] == 1:
            texts = texts[:, 0]
        if texts.ndim != 1:
            raise ConfigError(f"Layer '{self.name}' expected strings of shape (batch,) or "
                              f"(batch, 1). Received shape {texts.shape}.")
        rows = [split(standardize(t, self.standardize), self.split) for t in texts]
        return rows if self._widths is None else [ngrams(r, self._widths) for r in rows]

    def _adapt_tokens(self, batch: Any) -> list[list]:
        return self._rows(batch)

    def call(self, inputs: Any) -> torch.Tensor:
        rows = self._rows(inputs.detach().cpu().numpy() if isinstance(inputs, torch.Tensor)
                          else inputs)
        if self.output_mode != "int":
            width = max((len(r) for r in rows), default=0)
            padded = np.array([r + [""] * (width - len(r)) for r in rows], dtype=object)
            ids = torch.from_numpy(self.lookup(padded).reshape(len(rows), width))
            keep = torch.from_numpy(padded != "").to(torch.float32)
            depth = self.max_tokens if self.pad_to_max_tokens else self.vocabulary_size()
            out = torch.zeros((len(rows), depth), dtype=torch.float32)
            out.scatter_add_(1, ids, keep)
            if self.output_mode == "multi_hot":
                out = (out > 0).to(torch.float32)
            elif self.output_mode == "tf_idf":
                idf = np.zeros(depth, np.float32)
                idf[:len(self._idf)] = self._idf
                out = out * torch.from_numpy(idf)
            return out
        width = self.output_sequence_length or max((len(r) for r in rows), default=0)
        out = np.zeros((len(rows), width), np.int64)
        for i, row in enumerate(rows):
            row = row[:width]
            if row:
                out[i, :len(row)] = self.lookup(np.array(row, dtype=object))
        return torch.from_numpy(out)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        if self.output_mode == "int":
            return (input_shape[0], self.output_sequence_length)
        depth = self.max_tokens if self.pad_to_max_tokens else self.vocabulary_size()
        return (input_shape[0], depth)

    def get_config(self) -> dict:
        base = super().get_config()
        return {"name": base["name"], "trainable": base["trainable"], "dtype": "string",
                **({"batch_input_shape": base["batch_input_shape"]}
                   if "batch_input_shape" in base else {}),
                "max_tokens": self.max_tokens, "standardize": self.standardize,
                "split": self.split, "ngrams": self.ngrams, "output_mode": self.output_mode,
                "output_sequence_length": self.output_sequence_length,
                "pad_to_max_tokens": self.pad_to_max_tokens, "sparse": False, "ragged": False,
                "vocabulary": base["vocabulary"], "idf_weights": base["idf_weights"],
                "encoding": "utf-8", "vocabulary_size": base["vocabulary_size"]}
