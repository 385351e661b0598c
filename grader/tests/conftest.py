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
