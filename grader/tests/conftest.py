"""Fixtures of the grader's tests (see ``toy.py`` for the toy kit).

Run: ``pytest grader/tests`` (the grader's own tests take about a minute on 2 cores).
"""
from __future__ import annotations

from pathlib import Path

import pytest
from toy import make_kit

from grader.paths import Layout


@pytest.fixture
def kit(tmp_path: Path) -> Layout:
    """A fresh toy kit for one test."""
    return make_kit(tmp_path / "kit")
