"""``StringLookup`` and ``IntegerLookup``: tokens <-> indices over a vocabulary (given or adapted),
with tf.keras's layout ``[mask] + [OOV] * num_oov_indices + vocabulary`` and encodings.

Strings are not torch tensors: string inputs stay numpy arrays (``str``/``object``/``bytes``)
from ``predict``/``fit`` data to the first string layer, which returns int64 tensors. The
vocabulary is saved with the model: in the layer config (tf.keras 2 ``.h5`` keeps it there) and
as ``vocabulary.txt`` in the model's assets (Keras 3 ``.keras`` and the model directory).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import torch

from savepoint.errors import ConfigError, ShapeError
from savepoint.layers.base import Layer
from savepoint.layers.preprocessing._utils import check_choice
from savepoint.layers.preprocessing.category_encoding import encode
from savepoint.layers.preprocessing.farmhash import hash_bucket
from savepoint.layers.preprocessing.normalization import adapt_batches
from savepoint.layers.symbolic import KerasTensor
from savepoint.serialization import builtin

OUTPUT_MODES = ("int", "one_hot", "multi_hot", "count", "tf_idf")
VOCAB_FILE = "vocabulary.txt"


def as_strings(values: Any) -> np.ndarray:
    """``values`` (str, list, numpy str/bytes/object array) as a numpy array of ``str``.

    Example:
        >>> as_strings([b"a", "b"]).tolist()
        ['a', 'b']
    """
    array = np.asarray(values, dtype=object)
    flat = [v.decode("utf-8") if isinstance(v, bytes) else v for v in array.reshape(-1)]
    if not all(isinstance(v, str) for v in flat):
        raise ConfigError(f"Expected string inputs. Received values of types "
                          f"{sorted({type(v).__name__ for v in flat})}.")
    return np.array(flat, dtype=object).reshape(array.shape)


class IndexLookup(Layer):
    """The lookup machinery shared by ``StringLookup`` and ``IntegerLookup``."""

    _autocast_inputs = False
    _kind = "string"

    def __init__(self, max_tokens: int | None = None, num_oov_indices: int = 1,
                 mask_token: Any = None, oov_token: Any = "[UNK]", vocabulary: Any = None,
                 idf_weights: Any = None, invert: bool = False, output_mode: str = "int",
                 sparse: bool = False, pad_to_max_tokens: bool = False,
                 vocabulary_size: int | None = None, dtype: Any = None,
                 oov_method: str = "floormod", salt: Any = None, **kwargs: Any):
        name = type(self).__name__
        # Keras 3 records how it spreads OOV tokens over several OOV indices: "floormod" is
        # TensorFlow's (FarmHash buckets for strings, floor-mod for ints), which we do
        check_choice(name, "oov_method", oov_method, ("floormod",))
        check_choice(name, "salt", salt, (None,))
        output_mode = check_choice(name, "output_mode", output_mode, OUTPUT_MODES)
        if dtype is None or (output_mode == "int" and not invert and
                             str(dtype).startswith(("float", "bfloat"))):
            # int mode returns int64 ids; Keras 3 records its float32 policy here regardless
            dtype = "float32" if output_mode != "int" else "int64"
        # a string-valued output (invert=True) has no torch dtype: the layer computes in int64
        self._config_dtype = dtype
        super().__init__(dtype="int64" if dtype == "string" else dtype, **kwargs)
        if invert and output_mode != "int":
            raise ConfigError(f"{name} expected output_mode='int' with invert=True. Received: "
                              f"output_mode={output_mode!r}.")
        if max_tokens is not None and (not isinstance(max_tokens, int) or max_tokens <= 1):
            raise ConfigError(f"{name} expected `max_tokens` to be None or an int > 1. "
                              f"Received: max_tokens={max_tokens!r}.")
        if isinstance(num_oov_indices, bool) or not isinstance(num_oov_indices, int) or \
                num_oov_indices < 0:
            raise ConfigError(f"{name} expected `num_oov_indices` to be an int >= 0. Received: "
                              f"num_oov_indices={num_oov_indices!r}.")
        if mask_token is not None and output_mode != "int":
            raise ConfigError(f"{name} supports `mask_token` with output_mode='int' only. "
                              f"Received: mask_token={mask_token!r}, output_mode="
                              f"{output_mode!r}. Fix: drop the mask token.")
        check_choice(name, "sparse", sparse, (False,))
        self.max_tokens, self.num_oov_indices = max_tokens, int(num_oov_indices)
        self.mask_token, self.oov_token = self._token(mask_token), self._token(oov_token)
        self.invert, self.output_mode = bool(invert), output_mode
        self.pad_to_max_tokens = bool(pad_to_max_tokens)
        self._tokens: list = []
        self._idf: np.ndarray | None = None
        self._input_vocabulary = vocabulary is not None
        if vocabulary is not None:
            self.set_vocabulary(vocabulary, idf_weights)
        elif idf_weights is not None:
            raise ConfigError(f"{name} expected `idf_weights` only with `vocabulary`. "
                              f"Received idf_weights without a vocabulary.")

    # ----- tokens -------------------------------------------------------------------------
    def _token(self, value: Any) -> Any:
        return value.decode("utf-8") if isinstance(value, bytes) else value

    def _as_tokens(self, values: Any) -> np.ndarray:
        return as_strings(values)

    def _start(self) -> int:
        """Index of the first learned token: after the mask (int mode) and the OOV slots."""
        return (1 if self.mask_token is not None and self.output_mode == "int" else 0) + \
            self.num_oov_indices

    def get_vocabulary(self, include_special_tokens: bool = True) -> list:
        """The vocabulary in index order (mask and OOV tokens first).

        Example:
            >>> StringLookup(vocabulary=["a", "b"]).get_vocabulary()
            ['[UNK]', 'a', 'b']
        """
        special = ([self.mask_token] if self.mask_token is not None and
                   self.output_mode == "int" else []) + [self.oov_token] * self.num_oov_indices
        return (special if include_special_tokens else []) + list(self._tokens)

    def vocabulary_size(self) -> int:
        """The number of indices the layer produces (special tokens included)."""
        return self._start() + len(self._tokens)

    def set_vocabulary(self, vocabulary: Any, idf_weights: Any = None) -> None:
        """Use ``vocabulary`` (tokens, without or with the leading special tokens)."""
        if isinstance(vocabulary, str):
            raise ConfigError(f"{type(self).__name__} expected `vocabulary` as a list or array "
                              f"of tokens. Received the string {vocabulary[:80]!r}. Fix: read "
                              f"the file into a list first.")
        tokens = [self._token(t) for t in
                  self._as_tokens(np.asarray(vocabulary, dtype=object)).reshape(-1)]
        special = self.get_vocabulary()[:self._start()]
        if special and tokens[:len(special)] == special:
            tokens = tokens[len(special):]
        for token in (self.mask_token, self.oov_token):
            if token is not None and token in tokens:
                raise ConfigError(f"{type(self).__name__} found the special token {token!r} "
                                  f"inside `vocabulary`. Fix: remove it (mask and OOV tokens "
                                  f"are added in front).")
        if len(set(tokens)) != len(tokens):
            dup = [t for t, c in Counter(tokens).items() if c > 1][:5]
            raise ConfigError(f"{type(self).__name__} expected unique vocabulary tokens. "
                              f"Received repeated tokens {dup}.")
        if self.max_tokens is not None and self._start() + len(tokens) > self.max_tokens:
            raise ConfigError(f"{type(self).__name__} got a vocabulary of {len(tokens)} tokens "
                              f"plus {self._start()} special ones, more than max_tokens="
                              f"{self.max_tokens}.")
        if self.output_mode == "tf_idf":
            if idf_weights is None:
                raise ConfigError(f"{type(self).__name__} expected `idf_weights` with "
                                  f"output_mode='tf_idf' and a given vocabulary.")
            idf = np.asarray(idf_weights, np.float32).reshape(-1)
            if len(idf) == len(tokens):  # OOV slots get the mean weight, as tf.keras does
                idf = np.concatenate([np.full(self._start(), idf.mean(), np.float32), idf])
            self._idf = idf
        self._tokens = tokens
        self._index = {t: i + self._start() for i, t in enumerate(tokens)}

    # ----- adapt --------------------------------------------------------------------------
    def adapt(self, data: Any, batch_size: int | None = None, steps: int | None = None) -> None:
        """Learn the vocabulary from ``data``: tokens by descending frequency, ties broken by
        descending token (tf.keras's order), at most ``max_tokens`` in all."""
        if self._input_vocabulary:
            raise ConfigError(f"Layer '{self.name}' was given a `vocabulary`, so it cannot adapt. "
                              f"Fix: construct it without one to adapt.")
        counts: Counter = Counter()
        documents: Counter = Counter()
        rows = 0
        for batch in adapt_batches(data, batch_size, steps):
            tokens = self._adapt_tokens(batch)
            for row in tokens:
                counts.update(row)
                documents.update(set(row))
                rows += 1
        for token in (self.mask_token, self.oov_token):
            counts.pop(token, None)
            documents.pop(token, None)
        ordered = sorted(counts, key=lambda t: (counts[t], t), reverse=True)
        if self.max_tokens is not None:
            ordered = ordered[:max(self.max_tokens - self._start(), 0)]
        idf = None
        if self.output_mode == "tf_idf":
            idf = np.log(1 + rows / (1 + np.array([documents[t] for t in ordered], np.float64)))
        self._tokens = []
        self.set_vocabulary(ordered, idf)

    def _adapt_tokens(self, batch: Any) -> list[list]:
        """Rows of tokens from one adapt batch (each sample a row)."""
        tokens = self._as_tokens(batch)
        return [list(r.reshape(-1)) for r in tokens.reshape(len(tokens), -1)] \
            if tokens.ndim else [[tokens.item()]]

    # ----- calling ------------------------------------------------------------------------
    def _convert_inputs(self, inputs: Any) -> Any:
        return inputs  # strings stay numpy arrays; ids are handled in call

    def _infer_outputs(self, args: tuple, kwargs: dict) -> Any:
        shape = tuple(args[0].shape if args else kwargs["inputs"].shape)
        return KerasTensor(self.compute_output_shape(shape), dtype=self.dtype)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        if self.output_mode == "int":
            return tuple(input_shape)
        depth = self.max_tokens if self.pad_to_max_tokens else self.vocabulary_size()
        batch = input_shape[0] if len(input_shape) else None
        return (batch, depth) if len(input_shape) <= 2 else tuple(input_shape[:-1]) + (depth,)

    def _oov_indices(self, missing: np.ndarray) -> np.ndarray:
        """The OOV index of each out-of-vocabulary token, as TensorFlow picks it: FarmHash
        ``Fingerprint64 % num_oov_indices`` for strings (``tf.strings.to_hash_bucket_fast``),
        the floor-mod for ints, after the mask index."""
        first = 1 if self.mask_token is not None and self.output_mode == "int" else 0
        if self.num_oov_indices == 1:
            return np.full(missing.shape, first, np.int64)
        if self._kind == "string":
            return first + hash_bucket(missing, self.num_oov_indices)
        return first + np.mod(missing, self.num_oov_indices)

    def lookup(self, tokens: np.ndarray) -> np.ndarray:
        """Indices of ``tokens`` (any shape), OOV tokens at their OOV index."""
        flat = tokens.reshape(-1)
        index = self._index
        out = np.fromiter((index.get(t, -1) for t in flat), dtype=np.int64, count=flat.size)
        if self.mask_token is not None and self.output_mode == "int":
            out[flat == self.mask_token] = 0
        missing = out < 0
        if missing.any():
            if not self.num_oov_indices:
                raise ConfigError(f"Layer '{self.name}' has num_oov_indices=0 but received "
                                  f"out-of-vocabulary values such as {flat[missing][0]!r}.")
            out[missing] = self._oov_indices(flat[missing])
        return out.reshape(tokens.shape)

    def call(self, inputs: Any) -> torch.Tensor:
        if self.invert:
            return self._invert(inputs)
        tokens = self._as_tokens(inputs.detach().cpu().numpy() if isinstance(
            inputs, torch.Tensor) else inputs)
        ids = torch.from_numpy(self.lookup(tokens))
        if self.output_mode == "int":
            return ids.to(self._torch_dtype)
        depth = self.max_tokens if self.pad_to_max_tokens else self.vocabulary_size()
        mode = "count" if self.output_mode == "tf_idf" else self.output_mode
        out = encode(ids, depth, mode, self._torch_dtype, what=f"Layer '{self.name}'")
        if self.output_mode == "tf_idf":
            idf = np.zeros(depth, np.float32)
            idf[:len(self._idf)] = self._idf
            out = out * torch.from_numpy(idf)
        return out

    def _invert(self, inputs: Any) -> np.ndarray:
        ids = inputs.detach().cpu().numpy() if isinstance(inputs, torch.Tensor) else \
            np.asarray(inputs)
        if ids.dtype.kind not in "iu":
            raise ShapeError(f"Layer '{self.name}' (invert=True) expected integer indices. "
                             f"Received dtype {ids.dtype}.")
        vocab = np.array(self.get_vocabulary(), dtype=object)
        inside = (ids >= 0) & (ids < len(vocab))
        out = np.where(inside, vocab[np.clip(ids, 0, max(len(vocab) - 1, 0))], self.oov_token)
        return out.astype(object) if self._kind == "string" else torch.from_numpy(
            out.astype(np.int64))

    # ----- saving -------------------------------------------------------------------------
    def get_assets(self) -> dict[str, bytes]:
        """``vocabulary.txt``: the whole vocabulary, special tokens first, one per line (the
        file Keras 3 writes); empty before a vocabulary exists."""
        if not self._tokens:
            return {}
        return {VOCAB_FILE: "\n".join(str(t) for t in self.get_vocabulary()).encode("utf-8")}

    def load_assets(self, files: dict[str, bytes]) -> None:
        """Read ``vocabulary.txt`` when the config held no vocabulary (Keras 3 adapted layers)."""
        if VOCAB_FILE in files and not self._tokens:
            lines = files[VOCAB_FILE].decode("utf-8").split("\n")
            self.set_vocabulary(self._from_lines(lines), self._idf)

    def _from_lines(self, lines: list[str]) -> list:
        return lines

    def get_config(self) -> dict:
        config = {**super().get_config(), "dtype": self._config_dtype, "invert": self.invert,
                  "max_tokens": self.max_tokens,
                  "num_oov_indices": self.num_oov_indices, "oov_token": self.oov_token,
                  "mask_token": self.mask_token, "output_mode": self.output_mode,
                  "sparse": False, "pad_to_max_tokens": self.pad_to_max_tokens,
                  "idf_weights": None if self._idf is None else
                  [float(v) for v in self._idf[self._start():]],
                  "vocabulary": list(self._tokens) if self._tokens else None,
                  "vocabulary_size": self.vocabulary_size()}
        return config


@builtin("layers")
class StringLookup(IndexLookup):
    """Map strings to integer indices (``invert=True``: indices to strings).

    Example:
        >>> layer = StringLookup(vocabulary=["a", "b"])
        >>> layer(np.array([["a", "z"], ["b", "a"]])).tolist()
        [[1, 0], [2, 1]]
    """

    def __init__(self, max_tokens: int | None = None, num_oov_indices: int = 1,
                 mask_token: str | None = None, oov_token: str = "[UNK]",
                 vocabulary: Any = None, idf_weights: Any = None, encoding: str = "utf-8",
                 invert: bool = False, output_mode: str = "int", sparse: bool = False,
                 pad_to_max_tokens: bool = False, **kwargs: Any):
        check_choice("StringLookup", "encoding", encoding, ("utf-8",))
        super().__init__(max_tokens, num_oov_indices, mask_token, oov_token, vocabulary,
                         idf_weights, invert, output_mode, sparse, pad_to_max_tokens, **kwargs)

    def get_config(self) -> dict:
        return {**super().get_config(), "encoding": "utf-8"}


@builtin("layers")
class IntegerLookup(IndexLookup):
    """Map integer tokens to contiguous indices (``invert=True``: back to tokens).

    Example:
        >>> IntegerLookup(vocabulary=[12, 7])(np.array([7, 12, 5])).tolist()
        [2, 1, 0]
    """

    _kind = "int64"

    def __init__(self, max_tokens: int | None = None, num_oov_indices: int = 1,
                 mask_token: int | None = None, oov_token: int = -1, vocabulary: Any = None,
                 vocabulary_dtype: str = "int64", idf_weights: Any = None, invert: bool = False,
                 output_mode: str = "int", sparse: bool = False, pad_to_max_tokens: bool = False,
                 **kwargs: Any):
        check_choice("IntegerLookup", "vocabulary_dtype", vocabulary_dtype, ("int64",))
        super().__init__(max_tokens, num_oov_indices, mask_token, oov_token, vocabulary,
                         idf_weights, invert, output_mode, sparse, pad_to_max_tokens, **kwargs)

    def _token(self, value: Any) -> Any:
        return None if value is None else int(value)

    def _as_tokens(self, values: Any) -> np.ndarray:
        array = values.detach().cpu().numpy() if isinstance(values, torch.Tensor) else \
            np.asarray(values)
        if array.dtype == object:
            array = array.astype(np.int64)
        if array.dtype.kind == "f" and np.array_equal(array, np.round(array)):
            array = array.astype(np.int64)  # a model cast its int Input to float: whole numbers
        if array.dtype.kind not in "iu":
            raise ConfigError(f"IntegerLookup expected integer inputs. Received dtype "
                              f"{array.dtype}.")
        return array.astype(np.int64)

    def lookup(self, tokens: np.ndarray) -> np.ndarray:
        # vectorized: sorted vocabulary + searchsorted instead of a per-token dict
        vocab = np.asarray(self._tokens, np.int64)
        order = np.argsort(vocab, kind="stable")
        pos = np.clip(np.searchsorted(vocab[order], tokens), 0, max(len(vocab) - 1, 0))
        found = vocab[order][pos] == tokens if len(vocab) else np.zeros(tokens.shape, bool)
        out = np.where(found, order[pos] + self._start(), -1).astype(np.int64)
        if self.mask_token is not None and self.output_mode == "int":
            out[tokens == self.mask_token] = 0
        if (out < 0).any():
            if not self.num_oov_indices:
                raise ConfigError(f"Layer '{self.name}' has num_oov_indices=0 but received "
                                  f"out-of-vocabulary values such as {tokens[out < 0][0]!r}.")
            out[out < 0] = self._oov_indices(tokens[out < 0])
        return out

    def _from_lines(self, lines: list[str]) -> list:
        return [int(v) for v in lines]

    def get_config(self) -> dict:
        return {**super().get_config(), "vocabulary_dtype": "int64"}
