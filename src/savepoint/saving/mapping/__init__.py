"""Naming: how TF (object graph), Keras 2 and Keras 3 name a model's objects. No bytes, no I/O."""
