"""A quiet local HTTP server for the download tests (get_file, the dataset loaders)."""

from __future__ import annotations

import contextlib
import functools
import http.server
import threading


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    requests: list | None = None

    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.requests is not None:
            self.requests.append(self.path)
        super().do_GET()


@contextlib.contextmanager
def serve_directory(directory: str, requests: list | None = None):
    """Serve ``directory`` on 127.0.0.1 from a thread; yields ``http://127.0.0.1:<port>``.

    Each GET's path is appended to ``requests`` when one is given."""
    handler = type("Handler", (_QuietHandler,), {"requests": requests})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                            functools.partial(handler, directory=directory))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
