"""Keras 2's deprecated generator methods (``fit_generator`` ...), kept for old code."""

from __future__ import annotations

import warnings
from typing import Any


class LegacyGeneratorMethods:
    """``fit_generator``/``evaluate_generator``/``predict_generator``: tf.keras 2 kept them as
    deprecated aliases of ``fit``/``evaluate``/``predict``, which accept generators.

    Example:
        >>> import numpy as np, savepoint as keras
        >>> m = keras.Sequential([keras.layers.Dense(1, input_shape=(2,))]); m.compile("sgd", "mse")
        >>> gen = ((np.zeros((2, 2)), np.zeros((2, 1))) for _ in range(4))
        >>> len(m.fit_generator(gen, steps_per_epoch=2, epochs=2, verbose=0).history["loss"])
        2
    """

    def fit_generator(self, generator: Any, steps_per_epoch: int | None = None,
                      epochs: int = 1, verbose: Any = 1, callbacks: list | None = None,
                      validation_data: Any = None, validation_steps: int | None = None,
                      validation_freq: int = 1, class_weight: Any = None,
                      max_queue_size: int = 10, workers: int = 1,
                      use_multiprocessing: bool = False, shuffle: bool = True,
                      initial_epoch: int = 0) -> Any:
        """Deprecated: ``fit`` accepts generators (tf.keras 2 says the same)."""
        _deprecated("fit_generator", "fit")
        return self.fit(generator, steps_per_epoch=steps_per_epoch, epochs=epochs,
                        verbose=verbose, callbacks=callbacks, validation_data=validation_data,
                        validation_steps=validation_steps, validation_freq=validation_freq,
                        class_weight=class_weight, shuffle=shuffle, initial_epoch=initial_epoch)

    def evaluate_generator(self, generator: Any, steps: int | None = None,
                           callbacks: list | None = None, max_queue_size: int = 10,
                           workers: int = 1, use_multiprocessing: bool = False,
                           verbose: Any = 0) -> Any:
        """Deprecated: ``evaluate`` accepts generators."""
        _deprecated("evaluate_generator", "evaluate")
        return self.evaluate(generator, steps=steps, callbacks=callbacks, verbose=verbose)

    def predict_generator(self, generator: Any, steps: int | None = None,
                          callbacks: list | None = None, max_queue_size: int = 10,
                          workers: int = 1, use_multiprocessing: bool = False,
                          verbose: Any = 0) -> Any:
        """Deprecated: ``predict`` accepts generators."""
        _deprecated("predict_generator", "predict")
        return self.predict(generator, steps=steps, callbacks=callbacks, verbose=verbose)


def _deprecated(old: str, new: str) -> None:
    warnings.warn(f"`Model.{old}` is deprecated and will be removed in a future version. "
                  f"Please use `Model.{new}`, which supports generators.", DeprecationWarning,
                  stacklevel=3)


__all__ = ["LegacyGeneratorMethods"]
