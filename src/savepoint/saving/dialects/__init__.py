"""Dialects: translations between savepoint's native configs and other libraries' config JSON.

``keras2`` speaks tf.keras 2 (the ``.h5`` whole-model attributes ``model_config`` and
``training_config``). A dialect only reshapes JSON; it never resolves or imports classes.

Example:
    >>> from savepoint.saving.dialects import keras2
    >>> keras2.optimizer_class_name("Adam")
    'Custom>Adam'
"""
