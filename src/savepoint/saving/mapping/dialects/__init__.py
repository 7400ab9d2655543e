"""Dialects: translations between savepoint's native configs and other libraries' config JSON.

``keras2`` speaks tf.keras 2 (the ``.h5`` whole-model attributes ``model_config`` and
``training_config``); ``keras3`` speaks Keras 3 (the ``.keras`` ``config.json`` and
``metadata.json``). A dialect only reshapes JSON; it never resolves or imports classes (``keras3``
only checks a function reference against the registry and ``custom_objects`` to refuse it).

Example:
    >>> from savepoint.saving.mapping.dialects import keras2
    >>> keras2.optimizer_class_name("Adam")
    'Custom>Adam'
"""
