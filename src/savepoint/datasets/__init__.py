"""Datasets with the Keras API: ``mnist.load_data()``."""

from savepoint.datasets import mnist

__all__ = ["mnist"]
