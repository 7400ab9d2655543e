"""The REST front of ``savepoint serve``: TF Serving's ``/v1/models/...`` endpoints as a
Starlette ASGI app (status, metadata, predict, classify, regress), with its JSON error bodies.

URLs are matched with TF Serving's own patterns (``http_rest_api_util.cc``), so
``/v1/models/m/versions/2:predict`` and ``/v1/models/m/labels/stable/metadata`` mean what they
mean there. Every failure answers ``{"error": "..."}``: 400 for a bad request, 404 for an unknown
model or version, 503 when the batch queue is full, 500 for a model that fails (logged); no
request can stop the server. Forward passes run in a thread pool (torch releases the GIL) or in
the ``Batcher``; JSON work stays on the event loop.

Example:
    >>> import tempfile, os, savepoint as keras
    >>> from starlette.testclient import TestClient
    >>> from savepoint.serving.config import ModelConfig
    >>> from savepoint.serving.registry import ModelRegistry
    >>> base = tempfile.mkdtemp()
    >>> keras.Sequential([keras.layers.Dense(1, input_shape=(2,), kernel_initializer="ones",
    ...                   name="y")]).save(os.path.join(base, "1"))
    >>> reg = ModelRegistry([ModelConfig("m", base)]); reg.poll()
    >>> with TestClient(build_app(reg)) as client:
    ...     r = client.post("/v1/models/m:predict", json={"instances": [[1, 2]]})
    >>> r.status_code, r.json()
    (200, {'predictions': [[3.0]]})
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import re
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import unquote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from savepoint.serving import examples
from savepoint.serving import json_tensor as jt
from savepoint.serving.batcher import Batcher
from savepoint.serving.registry import ModelRegistry
from savepoint.serving.servable import SERVING_DEFAULT, Servable, ServingError

log = logging.getLogger("savepoint.serving")

_PREDICT = re.compile(r"/v1/models/([^/:]+)(?:(?:/versions/(\d+))|(?:/labels/([^/:]+)))?"
                      r":(classify|regress|predict)", re.IGNORECASE)
_STATUS = re.compile(r"/v1/models(?:/([^/:]+))?(?:(?:/versions/(\d+))|(?:/labels/([^/:]+)))?"
                     r"(?:/(metadata))?", re.IGNORECASE)


def _json(payload: Any, status: int = 200) -> Response:
    return Response(jt.to_json(payload), status_code=status, media_type="application/json")


class RestApi:
    """The request handlers over a registry, a thread pool and an optional batcher."""

    def __init__(self, registry: ModelRegistry, num_threads: int = 4,
                 batcher: Batcher | None = None):
        self.registry, self.batcher = registry, batcher
        self.pool = concurrent.futures.ThreadPoolExecutor(num_threads,
                                                          thread_name_prefix="savepoint-infer")

    async def handle(self, request: Request) -> Response:
        path, method = request.url.path, request.method
        try:
            if not path.lower().startswith("/v1/"):
                raise ServingError(404, f"Not found: {method} {path}. Expected a URL under "
                                        f"/v1/models/ (TF Serving's REST API).")
            if method == "POST" and (m := _PREDICT.fullmatch(path)):
                payload = await self._post(m, await request.body())
            elif method == "GET" and (m := _STATUS.fullmatch(path)):
                payload = self._get(m)
            else:
                raise ServingError(400, f"Malformed request: {method} {path}")
            return _json(payload)
        except ServingError as e:
            return _json({"error": str(e)}, e.status)
        except Exception as e:  # a model that fails on valid input: report it, keep serving
            log.exception("request %s %s failed", method, path)
            return _json({"error": f"{type(e).__name__}: {e}"}, 500)

    # -- GET -----------------------------------------------------------------------------------

    def _get(self, m: re.Match) -> dict:
        name, version, label, sub = m.group(1), _version(m.group(2)), m.group(3), m.group(4)
        if not name:
            raise ServingError(400, "Missing model name in request.")
        name, label = unquote(name), unquote(label) if label else None
        if sub:
            servable = self.registry.get(name, version, label)
            return {"model_spec": {"name": name, "signature_name": "",
                                   "version": str(servable.version)},
                    "metadata": {"signature_def": {"signature_def": servable.signature_def()}}}
        return self.registry.status(name, version, label)

    # -- POST ----------------------------------------------------------------------------------

    async def _post(self, m: re.Match, body: bytes) -> dict:
        name, version = unquote(m.group(1)), _version(m.group(2))
        label, verb = (unquote(m.group(3)) if m.group(3) else None), m.group(4).lower()
        servable = self.registry.get(name, version, label)
        doc = jt.parse_body(body)
        jt.signature_of(doc, {SERVING_DEFAULT}, verb)
        if verb == "predict":
            arrays, fmt = jt.decode_predict(doc, servable.inputs, body)
            return jt.encode_predict(await self._run(servable, arrays), fmt)
        check = _classify_output if verb == "classify" else _regress_output
        output = check(servable)
        arrays = examples.decode_examples(doc, servable.inputs, verb)
        values = (await self._run(servable, arrays))[output]
        return (examples.encode_classify(values) if verb == "classify"
                else examples.encode_regress(values))

    async def _run(self, servable: Servable, arrays: dict) -> dict:
        if self.batcher is not None:
            return await asyncio.wrap_future(self.batcher.submit(servable, arrays))
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.pool, servable.run, arrays)

    def close(self) -> None:
        if self.batcher is not None:
            self.batcher.close()
            b = self.batcher
            log.warning("batching: %d requests (%d rows) in %d forward passes", b.tasks_run,
                        b.rows_run, b.batches_run)
        self.pool.shutdown(wait=True)


def _version(text: str | None) -> int | None:
    if not text:
        return None
    version = int(text)   # the URL pattern admits digits only
    if version >= 2 ** 63:  # TF Serving's versions are int64
        raise ServingError(400, f"Failed to convert version: {text} to numeric.")
    return version


def _describe(servable: Servable) -> str:
    return ", ".join(f"'{s.name}': [{','.join('-1' if d is None else str(d) for d in s.shape)}]"
                     for s in servable.outputs)


def _classify_output(servable: Servable) -> str:
    outs = servable.outputs
    if len(outs) == 1 and len(outs[0].shape) == 2 and (outs[0].shape[1] or 0) >= 2:
        return outs[0].name
    raise ServingError(400, f"Expected a classification signature (one output of shape "
                            f"[-1,num_classes], num_classes >= 2; TF Serving's method_name "
                            f"tensorflow/serving/classify). Received outputs "
                            f"{{{_describe(servable)}}} of method_name tensorflow/serving/predict. "
                            f"Fix: call :predict.")


def _regress_output(servable: Servable) -> str:
    outs = servable.outputs
    if len(outs) == 1 and all(d == 1 for d in outs[0].shape[1:]):
        return outs[0].name
    raise ServingError(400, f"Expected a regression signature (one output of one value per "
                            f"example; TF Serving's method_name tensorflow/serving/regress). "
                            f"Received outputs {{{_describe(servable)}}} of method_name "
                            f"tensorflow/serving/predict. Fix: call :predict.")


def build_app(registry: ModelRegistry, num_threads: int = 4,
              batcher: Batcher | None = None) -> Starlette:
    """The ASGI app; its lifespan starts the version poller and, at shutdown, stops the poller
    and finishes queued batches."""
    api = RestApi(registry, num_threads, batcher)

    @asynccontextmanager
    async def lifespan(app: Starlette):
        registry.start()
        yield
        registry.stop()
        api.close()

    methods = ["GET", "POST", "PUT", "DELETE", "PATCH"]
    return Starlette(routes=[Route("/{path:path}", api.handle, methods=methods)],
                     lifespan=lifespan)


__all__ = ["RestApi", "build_app"]
