"""Shared test setup: one torch thread (tiny models run faster and steadier) and fresh names."""

import pytest
import torch

torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _fresh_session():
    import savepoint
    savepoint.backend.clear_session()
    yield
