"""``RemoteMonitor``: POST each epoch's logs to a server as JSON, as tf.keras does."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
import warnings
from typing import Any

import numpy as np

from savepoint.callbacks.base import Callback
from savepoint.serialization import builtin


@builtin("callbacks", "remote_monitor")
class RemoteMonitor(Callback):
    """At each epoch end POST ``{"epoch": epoch, **logs}`` to ``root + path``: as a form field
    ``field`` holding the JSON text (the default), or as a JSON body when ``send_as_json``. An
    unreachable server gives a warning, not an error (as in tf.keras).

    Example:
        >>> RemoteMonitor(root="http://127.0.0.1:9000").path
        '/publish/epoch/end/'
    """

    def __init__(self, root: str = "http://localhost:9000", path: str = "/publish/epoch/end/",
                 field: str = "data", headers: dict | None = None,
                 send_as_json: bool = False, timeout: float = 10.0):
        super().__init__()
        self.root, self.path, self.field = root, path, field
        self.headers, self.send_as_json, self.timeout = headers, send_as_json, timeout

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        send: dict[str, Any] = {"epoch": epoch}
        for key, value in (logs or {}).items():
            if isinstance(value, (np.ndarray, np.generic)) or hasattr(value, "item"):
                value = value.item()
            send[key] = value
        headers = dict(self.headers or {})
        if self.send_as_json:
            body = json.dumps(send).encode()
            headers.setdefault("Content-Type", "application/json")
        else:
            body = urllib.parse.urlencode({self.field: json.dumps(send)}).encode()
            headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        request = urllib.request.Request(self.root + self.path, data=body, headers=headers,
                                         method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                response.read()
        except (urllib.error.URLError, OSError, ValueError):
            warnings.warn(f"Warning: could not reach RemoteMonitor root server at "
                          f"{self.root}", stacklevel=2)


__all__ = ["RemoteMonitor"]
