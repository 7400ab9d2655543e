"""Saving: the user API (``api/``), format-independent machinery (``engine/``), naming
(``mapping/``), one handler per format (``handlers/``), byte formats (``formats/``) and storage
(``storage/``). The serialization helpers are re-exported for tf.keras-style imports."""

from savepoint.serialization import (custom_object_scope, deserialize, get_custom_objects,
                                     register_serializable, serialize)

__all__ = ["custom_object_scope", "deserialize", "get_custom_objects",
           "register_serializable", "serialize"]
