"""``model.export(path, format="tf_saved_model")``: a serving-only TensorFlow SavedModel.

Unlike ``model.save(dir)``, which keeps going without a serving signature when a layer cannot be
lowered (tf.keras still rebuilds it from the Keras metadata), an export exists to be served, so a
layer without a TensorFlow lowering is an error naming it. The directory holds what TF Serving,
``saved_model_cli`` and ``tf.saved_model.load`` read (``saved_model.pb``, ``variables/``,
``assets/``, ``fingerprint.pb``), and no Keras metadata or optimizer state.

Example:
    >>> import savepoint as keras, tempfile, os
    >>> m = keras.Sequential([keras.layers.Dense(2, input_shape=(3,))])
    >>> d = os.path.join(tempfile.mkdtemp(), "serving"); export(m, d)
    >>> sorted(os.listdir(d))
    ['assets', 'fingerprint.pb', 'saved_model.pb', 'variables']
"""

from __future__ import annotations

from typing import Any

from savepoint.errors import ConfigError


def export(model: Any, filepath: str, input_signature: Any = None) -> None:
    """Write the serving SavedModel of ``model`` to the directory ``filepath``."""
    if input_signature is not None:
        raise ConfigError("model.export(format='tf_saved_model'): expected input_signature=None "
                          "(the signature follows the model's Input layers, batch dynamic). "
                          f"Received {input_signature!r}. Fix: build the model with the input "
                          "shapes to serve.")
    from savepoint.saving.handlers.saved_model_writer import export_serving_saved_model
    export_serving_saved_model(model, filepath)


__all__ = ["export"]
