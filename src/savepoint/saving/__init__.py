"""Saving: configs and the registry now; formats and save/load dispatch live beside them."""

from savepoint.saving.serialization import (custom_object_scope, deserialize,
                                            get_custom_objects, register_serializable,
                                            serialize)

__all__ = ["custom_object_scope", "deserialize", "get_custom_objects",
           "register_serializable", "serialize"]
