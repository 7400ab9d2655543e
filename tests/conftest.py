"""Shared test setup: one torch thread (tiny models run faster and steadier) and fresh names."""

import pytest
import torch
from http_server import serve_directory

torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _fresh_session():
    import savepoint
    savepoint.backend.clear_session()
    yield


@pytest.fixture
def http_server(tmp_path):
    """Serve tmp_path/www on 127.0.0.1; yields (base_url, www_dir, request_log)."""
    www = tmp_path / "www"
    www.mkdir()
    requests = []
    with serve_directory(str(www), requests) as base:
        yield base, www, requests


def pytest_collection_modifyitems(config, items):
    """Long runs marked ``slow`` are deselected (not skipped) unless asked for: ``-m slow``."""
    if "slow" in (config.getoption("-m") or ""):
        return
    slow = [item for item in items if "slow" in item.keywords]
    if slow:
        config.hook.pytest_deselected(items=slow)
        items[:] = [item for item in items if "slow" not in item.keywords]
