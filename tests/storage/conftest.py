"""A real S3-API server on loopback for the remote-storage tests (moto's server mode).

The server is started once per session on 127.0.0.1 with a free port; the standard AWS
environment (``AWS_ENDPOINT_URL``, keys, region) points s3fs at it, exactly as a user's would.
Each test gets its own bucket (``bucket`` fixture, an ``s3://`` URL).
"""

import logging
import os
import socket
import uuid

import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def s3_endpoint():
    """Start moto's S3 server on loopback and set the AWS environment; yield its URL."""
    from moto.server import ThreadedMotoServer
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    env = {"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "testing",
           "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
           "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield endpoint
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        server.stop()


@pytest.fixture
def bucket(s3_endpoint):
    """A fresh, empty bucket on the loopback server, as ``s3://<name>``."""
    from savepoint.saving.storage.backend import backend_for
    name = f"sp-{uuid.uuid4().hex[:12]}"
    backend_for("s3://x").fs.call_s3("create_bucket", Bucket=name)
    yield f"s3://{name}"


@pytest.fixture
def in_tmp_cwd(tmp_path, monkeypatch):
    """Run the test in an empty working directory (to catch a URL written as a local path)."""
    monkeypatch.chdir(tmp_path)
    return tmp_path
