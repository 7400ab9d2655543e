"""Datasets with the Keras API: ``mnist``, ``fashion_mnist``, ``cifar10``, ``cifar100``,
``imdb``, ``reuters`` and ``boston_housing`` (each ``load_data()``)."""

from savepoint.datasets import (boston_housing, cifar10, cifar100, fashion_mnist, imdb, mnist,
                                reuters)

__all__ = ["boston_housing", "cifar10", "cifar100", "fashion_mnist", "imdb", "mnist", "reuters"]
