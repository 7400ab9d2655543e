"""``keras.utils``: seeding, label and sequence helpers, ``Sequence``, ``get_file``, ``Progbar``
and the dataset builders; each lives in its own module and is re-exported here."""

from __future__ import annotations

import random

import numpy as np
import torch


def set_random_seed(seed: int) -> None:
    """Seed Python, numpy and torch (CPU and CUDA) so two runs give bitwise-equal weights on CPU.

    Example:
        >>> set_random_seed(1234)
    """
    if not isinstance(seed, int) or isinstance(seed, bool):
        from savepoint.errors import ConfigError
        raise ConfigError(f"Expected seed to be an int. Received: {seed!r} of type "
                          f"{type(seed).__name__}.")
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


from savepoint.utils.data_sequence import Sequence  # noqa: E402
from savepoint.utils.dataset_utils import (split_dataset,  # noqa: E402
                                           timeseries_dataset_from_array)
from savepoint.utils.file_utils import get_file  # noqa: E402
from savepoint.utils.keras_progbar import Progbar  # noqa: E402
from savepoint.utils.numerical_utils import normalize, to_categorical  # noqa: E402
from savepoint.utils.object_registration import (  # noqa: E402
    CustomObjectScope, custom_object_scope, deserialize_keras_object, get_custom_objects,
    get_registered_name, get_registered_object, register_keras_serializable,
    serialize_keras_object)
from savepoint.utils.sequence_utils import pad_sequences  # noqa: E402
from savepoint.utils.vis_utils import model_to_dot, plot_model  # noqa: E402


def __getattr__(name: str):  # the trainer's data helpers, imported late (utils loads first)
    if name in ("pack_x_y_sample_weight", "unpack_x_y_sample_weight"):
        from savepoint.trainer import step_data
        return getattr(step_data, name)
    raise AttributeError(f"module 'savepoint.utils' has no attribute '{name}'")

from savepoint.utils.directory_datasets import (image_dataset_from_directory,  # noqa: E402
                                                text_dataset_from_directory)
from savepoint.utils.image_utils import (array_to_img, img_to_array, load_img,  # noqa: E402
                                         save_img)
from savepoint.trainer.step_data import (pack_x_y_sample_weight,  # noqa: E402
                                         unpack_x_y_sample_weight)

__all__ = ["set_random_seed", "to_categorical", "normalize", "pad_sequences", "Sequence",
           "get_file", "Progbar", "timeseries_dataset_from_array", "split_dataset",
           "CustomObjectScope", "custom_object_scope", "deserialize_keras_object",
           "get_custom_objects", "get_registered_name", "get_registered_object",
           "register_keras_serializable", "serialize_keras_object", "model_to_dot",
           "plot_model", "image_dataset_from_directory", "text_dataset_from_directory",
           "array_to_img", "img_to_array", "load_img", "save_img", "pack_x_y_sample_weight",
           "unpack_x_y_sample_weight"]
