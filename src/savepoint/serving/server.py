"""Runs ``savepoint serve``: loads the models, then serves the REST app with uvicorn until
SIGTERM/SIGINT, when uvicorn stops accepting, finishes the requests in flight and exits 0.

Example:
    >>> import tempfile, os, savepoint as keras
    >>> from savepoint.serving.config import ModelConfig
    >>> base = tempfile.mkdtemp()
    >>> keras.Sequential([keras.layers.Dense(1, input_shape=(2,))]).save(os.path.join(base, "1"))
    >>> registry, app = prepare([ModelConfig("m", base)], poll_wait_seconds=0)
    >>> registry.get("m").version
    1
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

from savepoint.serving.batcher import Batcher
from savepoint.serving.config import BatchingParameters, ModelConfig
from savepoint.serving.registry import ModelRegistry

log = logging.getLogger("savepoint.serving")


def prepare(configs: list[ModelConfig], poll_wait_seconds: float = 1.0,
            batching: BatchingParameters | None = None, num_threads: int = 0
            ) -> tuple[ModelRegistry, Any]:
    """The registry (after a first, synchronous poll) and the ASGI app over it."""
    from savepoint.serving.app import build_app
    registry = ModelRegistry(configs, poll_wait_seconds)
    registry.check_base_paths()
    registry.poll()
    for name in registry.names:
        try:
            registry.get(name)
        except Exception:
            log.warning("model '%s': no loadable version yet; waiting for one to appear",
                        name)
    batcher = Batcher(batching) if batching is not None else None
    threads = num_threads or 4 * (os.cpu_count() or 1)   # TF Serving's default
    return registry, build_app(registry, threads, batcher)


def _graceful_server_class(uvicorn: Any) -> type:
    class GracefulServer(uvicorn.Server):
        """uvicorn's server, minus re-raising the caught signal once it has shut down (which
        would end the process "killed by SIGTERM"): a graceful stop exits 0."""

        def handle_exit(self, sig: int, frame: Any) -> None:
            super().handle_exit(sig, frame)
            captured = getattr(self, "_captured_signals", None)
            if captured is not None:
                captured.clear()
    return GracefulServer


def serve(configs: list[ModelConfig], port: int = 8501, host: str = "0.0.0.0",
          poll_wait_seconds: float = 1.0, batching: BatchingParameters | None = None,
          num_threads: int = 0) -> int:
    """Serve until a signal stops the server; returns the exit status."""
    import uvicorn
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(name)s: %(message)s")
    registry, app = prepare(configs, poll_wait_seconds, batching, num_threads)
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on",
                            access_log=False)
    server = _graceful_server_class(uvicorn)(config)
    print(f"Exporting HTTP/REST API at:{host}:{port} ...", file=sys.stderr, flush=True)
    server.run()
    print("savepoint serve: stopped", file=sys.stderr, flush=True)
    return 0


__all__ = ["prepare", "serve"]
