"""``keras.preprocessing.text``: Keras 2's ``Tokenizer`` (word counts -> frequency-ranked
indices -> sequences or matrices, JSON round trip) and ``text_to_word_sequence``,
``one_hot``, ``hashing_trick``, with tf.keras's exact rules."""

from __future__ import annotations

import collections
import hashlib
import json
from typing import Any, Callable, Iterable, Iterator

import numpy as np

from savepoint.errors import ConfigError

FILTERS = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n'


def text_to_word_sequence(input_text: str, filters: str = FILTERS, lower: bool = True,
                          split: str = " ") -> list[str]:
    """Lower-case, replace every ``filters`` character by ``split``, split, drop empties.

    Example:
        >>> text_to_word_sequence("Hello, World!")
        ['hello', 'world']
    """
    if lower:
        input_text = input_text.lower()
    input_text = input_text.translate(str.maketrans({c: split for c in filters}))
    return [w for w in input_text.split(split) if w]


def hashing_trick(text: str, n: int, hash_function: Any = None, filters: str = FILTERS,
                  lower: bool = True, split: str = " ",
                  analyzer: Callable | None = None) -> list[int]:
    """Each word hashed into ``1 .. n-1`` (``hash_function``: ``None`` for Python's ``hash``,
    ``"md5"`` for a stable hash, or a callable).

    Example:
        >>> hashing_trick("a b a", 10, "md5")[0] == hashing_trick("a", 10, "md5")[0]
        True
    """
    if hash_function is None:
        hash_function = hash
    elif hash_function == "md5":
        hash_function = lambda w: int(hashlib.md5(w.encode()).hexdigest(), 16)  # noqa: E731
    seq = text_to_word_sequence(text, filters, lower, split) if analyzer is None \
        else analyzer(text)
    return [hash_function(w) % (n - 1) + 1 for w in seq]


def one_hot(input_text: str, n: int, filters: str = FILTERS, lower: bool = True,
            split: str = " ", analyzer: Callable | None = None) -> list[int]:
    """``hashing_trick`` with Python's ``hash`` (not stable across processes, as in Keras).

    Example:
        >>> len(one_hot("a b c", 5))
        3
    """
    return hashing_trick(input_text, n, hash, filters, lower, split, analyzer)


class Tokenizer:
    """Keras 2's text tokenizer: ``fit_on_texts`` ranks words by count (ties in first-seen
    order, index 1 is the most frequent, ``oov_token`` first when given), then
    ``texts_to_sequences``/``texts_to_matrix`` use the ``num_words - 1`` most frequent.

    Example:
        >>> t = Tokenizer(num_words=3); t.fit_on_texts(["a b b", "b c"])
        >>> t.word_index, t.texts_to_sequences(["b a c"])
        ({'b': 1, 'a': 2, 'c': 3}, [[1, 2]])
    """

    def __init__(self, num_words: int | None = None, filters: str = FILTERS, lower: bool = True,
                 split: str = " ", char_level: bool = False, oov_token: str | None = None,
                 analyzer: Callable | None = None, **kwargs: Any):
        if "nb_words" in kwargs:
            num_words = kwargs.pop("nb_words")
        document_count = kwargs.pop("document_count", 0)
        if kwargs:
            raise ConfigError(f"Unrecognized keyword arguments: {kwargs}. Expected num_words, "
                              f"filters, lower, split, char_level, oov_token or analyzer.")
        self.word_counts: dict[str, int] = collections.OrderedDict()
        self.word_docs: dict[str, int] = collections.defaultdict(int)
        self.filters, self.split, self.lower = filters, split, lower
        self.num_words, self.document_count = num_words, document_count
        self.char_level, self.oov_token, self.analyzer = char_level, oov_token, analyzer
        self.index_docs: dict[int, int] = collections.defaultdict(int)
        self.word_index: dict[str, int] = {}
        self.index_word: dict[int, str] = {}

    def _words(self, text: Any) -> Any:
        if self.char_level or isinstance(text, list):
            if self.lower:
                text = [t.lower() for t in text] if isinstance(text, list) else text.lower()
            return text
        if self.analyzer is None:
            return text_to_word_sequence(text, self.filters, self.lower, self.split)
        return self.analyzer(text)

    def fit_on_texts(self, texts: Iterable[Any]) -> None:
        """Count words (and the documents each occurs in) and rebuild ``word_index``."""
        for text in texts:
            self.document_count += 1
            seq = self._words(text)
            for w in seq:
                self.word_counts[w] = self.word_counts.get(w, 0) + 1
            for w in set(seq):
                self.word_docs[w] += 1
        ranked = sorted(self.word_counts.items(), key=lambda x: x[1], reverse=True)
        vocab = ([] if self.oov_token is None else [self.oov_token]) + [w for w, _ in ranked]
        self.word_index = dict(zip(vocab, range(1, len(vocab) + 1)))
        self.index_word = {c: w for w, c in self.word_index.items()}
        for w, c in list(self.word_docs.items()):
            self.index_docs[self.word_index[w]] = c

    def fit_on_sequences(self, sequences: list[list[int]]) -> None:
        """Count document frequencies of indices (for ``tfidf`` matrices)."""
        self.document_count += len(sequences)
        for seq in sequences:
            for i in set(seq):
                self.index_docs[i] += 1

    def texts_to_sequences(self, texts: Iterable[Any]) -> list[list[int]]:
        """Each text as word indices (rare or unknown words dropped, or ``oov_token``)."""
        return list(self.texts_to_sequences_generator(texts))

    def texts_to_sequences_generator(self, texts: Iterable[Any]) -> Iterator[list[int]]:
        """``texts_to_sequences`` one text at a time."""
        oov = self.word_index.get(self.oov_token)
        for text in texts:
            vect = []
            for w in self._words(text):
                i = self.word_index.get(w)
                if i is not None:
                    if self.num_words and i >= self.num_words:
                        if oov is not None:
                            vect.append(oov)
                    else:
                        vect.append(i)
                elif self.oov_token is not None:
                    vect.append(oov)
            yield vect

    def sequences_to_texts(self, sequences: Iterable[list[int]]) -> list[str]:
        """Word indices back to space-joined words."""
        return list(self.sequences_to_texts_generator(sequences))

    def sequences_to_texts_generator(self, sequences: Iterable[list[int]]) -> Iterator[str]:
        """``sequences_to_texts`` one sequence at a time."""
        oov = self.word_index.get(self.oov_token)
        for seq in sequences:
            vect = []
            for num in seq:
                word = self.index_word.get(num)
                if word is not None:
                    if self.num_words and num >= self.num_words:
                        if oov is not None:
                            vect.append(self.index_word[oov])
                    else:
                        vect.append(word)
                elif self.oov_token is not None:
                    vect.append(self.index_word[oov])
            yield " ".join(vect)

    def texts_to_matrix(self, texts: Iterable[Any], mode: str = "binary") -> np.ndarray:
        """``sequences_to_matrix(texts_to_sequences(texts), mode)``."""
        return self.sequences_to_matrix(self.texts_to_sequences(texts), mode=mode)

    def sequences_to_matrix(self, sequences: list[list[int]], mode: str = "binary") -> np.ndarray:
        """A ``(len(sequences), num_words)`` float64 matrix: ``binary``, ``count``, ``freq``
        or ``tfidf`` (``(1 + log c) * log(1 + docs / (1 + docs_with_word))``)."""
        if mode not in ("binary", "count", "freq", "tfidf"):
            raise ConfigError(f"Unknown vectorization mode: {mode!r}. Expected 'binary', "
                              f"'count', 'freq' or 'tfidf'.")
        if not self.num_words:
            if not self.word_index:
                raise ConfigError("Specify a dimension (`num_words` argument), or fit on some "
                                  "text data first.")
            num_words = len(self.word_index) + 1
        else:
            num_words = self.num_words
        if mode == "tfidf" and not self.document_count:
            raise ConfigError("Fit the Tokenizer on some data before using tfidf mode.")
        x = np.zeros((len(sequences), num_words))
        for i, seq in enumerate(sequences):
            if not seq:
                continue
            counts: dict[int, int] = collections.defaultdict(int)
            for j in seq:
                if j < num_words:
                    counts[j] += 1
            for j, c in list(counts.items()):
                if mode == "count":
                    x[i][j] = c
                elif mode == "freq":
                    x[i][j] = c / len(seq)
                elif mode == "binary":
                    x[i][j] = 1
                else:
                    idf = np.log(1 + self.document_count / (1 + self.index_docs.get(j, 0)))
                    x[i][j] = (1 + np.log(c)) * idf
        return x

    def get_config(self) -> dict:
        """The settings and the fitted tables (as JSON strings, as Keras stores them)."""
        return {"num_words": self.num_words, "filters": self.filters, "lower": self.lower,
                "split": self.split, "char_level": self.char_level,
                "oov_token": self.oov_token, "document_count": self.document_count,
                "word_counts": json.dumps(self.word_counts),
                "word_docs": json.dumps(self.word_docs),
                "index_docs": json.dumps(self.index_docs),
                "index_word": json.dumps(self.index_word),
                "word_index": json.dumps(self.word_index)}

    def to_json(self, **kwargs: Any) -> str:
        """``{"class_name": "Tokenizer", "config": get_config()}`` as JSON text."""
        return json.dumps({"class_name": type(self).__name__, "config": self.get_config()},
                          **kwargs)


def tokenizer_from_json(json_string: str) -> Tokenizer:
    """A ``Tokenizer`` from ``Tokenizer.to_json()`` (tf.keras's JSON too).

    Example:
        >>> t = Tokenizer(); t.fit_on_texts(["x y"])
        >>> tokenizer_from_json(t.to_json()).word_index
        {'x': 1, 'y': 2}
    """
    try:
        config = dict(json.loads(json_string)["config"])
        tables = {k: json.loads(config.pop(k)) for k in
                  ("word_counts", "word_docs", "index_docs", "index_word", "word_index")}
    except (ValueError, KeyError, TypeError) as e:
        raise ConfigError(f"Expected the JSON of Tokenizer.to_json(). Received text that is "
                          f"not ({type(e).__name__}: {e}).") from None
    tokenizer = Tokenizer(**config)
    tokenizer.word_counts = tables["word_counts"]
    tokenizer.word_docs = tables["word_docs"]
    tokenizer.index_docs = {int(k): v for k, v in tables["index_docs"].items()}
    tokenizer.word_index = tables["word_index"]
    tokenizer.index_word = {int(k): v for k, v in tables["index_word"].items()}
    return tokenizer


__all__ = ["Tokenizer", "tokenizer_from_json", "text_to_word_sequence", "one_hot",
           "hashing_trick"]
