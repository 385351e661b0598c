"""Fixtures of the grader's tests (see ``toy.py`` for the toy kit).

Run: ``pytest grader/tests`` (the grader's own tests take about a minute on 2 cores).
"""
from __future__ import annotations

import threading
from pathlib import Path

import pytest
import torch
from http_server import LocalServer
from toy import make_kit

from grader.paths import Layout


@pytest.fixture
def kit(tmp_path: Path) -> Layout:
    """A fresh toy kit for one test."""
    return make_kit(tmp_path / "kit")


@pytest.fixture(scope="module")
def one_thread():
    """Tiny models: one torch thread is faster, and immune to oversubscribed CPUs."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def server():
    """A local HTTP server for the downloaders' tests (``http_server.LocalServer``)."""
    srv = LocalServer()
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.01},
                              daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


# Markers (registered in pyproject.toml): `pytest -m "not slow"` is the inner loop (about a
# minute); `make test` runs everything. A module lands here when its tests take minutes on 2
# cores: they execute whole lessons, grade submissions, start process groups or a browser.
SLOW_MODULES = {"test_lessons", "test_jupyterlab", "test_hostile", "test_integrity",
                "test_grader", "test_cluster", "test_trusted", "test_ddp", "test_grpo",
                "test_cc_filtering", "test_demo", "test_release"}


def pytest_collection_modifyitems(config, items):
    """Mark the slow modules' tests ``slow``; skip ``gpu`` tests where no CUDA GPU is visible."""
    no_gpu = pytest.mark.skip(reason="needs a CUDA GPU")
    for item in items:
        if item.module is not None and item.module.__name__.rsplit(".", 1)[-1] in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)
        if item.get_closest_marker("gpu") and not torch.cuda.is_available():
            item.add_marker(no_gpu)
