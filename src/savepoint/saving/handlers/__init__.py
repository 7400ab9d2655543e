"""One handler per user-visible format: naming + byte format + storage; each registers its
``FormatSpec`` in ``saving.registry`` when imported. Importing this package imports them all, in
the order the registry lists them.

Example:
    >>> from savepoint.saving import registry
    >>> [spec.name for spec in registry.formats("weights")]
    ['tf_checkpoint', 'keras_weights_h5', 'h5_weights', 'safetensors']
"""

from savepoint.saving.handlers import tf_checkpoint  # noqa: F401  (first: the weights fallback)
from savepoint.saving.handlers import h5_weights  # noqa: F401
from savepoint.saving.handlers import safetensors_weights  # noqa: F401
from savepoint.saving.handlers import model_dir  # noqa: F401
from savepoint.saving.handlers import model_h5  # noqa: F401
from savepoint.saving.handlers import model_keras  # noqa: F401
from savepoint.saving.handlers import tf_saved_model  # noqa: F401
from savepoint.saving.handlers import torch_export_dir  # noqa: F401
