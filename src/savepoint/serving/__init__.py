"""``savepoint serve``: a model server speaking TensorFlow Serving's REST API.

Modules: ``config`` (the text-proto config files), ``servable`` (one loaded version),
``json_tensor`` (REST JSON <-> arrays), ``examples`` (classify/regress), ``registry`` (versions
and the poller), ``batcher`` (server-side batching), ``app`` (the Starlette endpoints),
``server`` (uvicorn).

Example:
    >>> from savepoint.serving import parse_model_config
    >>> parse_model_config('model_config_list { config { name: "m" base_path: "/m" } }')[0].name
    'm'
"""

from savepoint.serving.config import (BatchingParameters, ModelConfig, parse_batching_parameters,
                                      parse_model_config)
from savepoint.serving.registry import ModelRegistry
from savepoint.serving.servable import Servable, ServingError, load_servable

__all__ = ["BatchingParameters", "ModelConfig", "ModelRegistry", "Servable", "ServingError",
           "load_servable", "parse_batching_parameters", "parse_model_config"]
