"""Unit tests of lesson names: ``01``, ``01_topic``, paths; clear errors otherwise.

Run: ``pytest grader/tests/test_paths.py``.
"""
from __future__ import annotations

import pytest

from grader.errors import GraderError
from grader.paths import Layout


@pytest.fixture
def layout(tmp_path):
    (tmp_path / "solutions").mkdir()
    for stem in ("01_bpe_tokenizer", "02_transformer", "notes"):
        (tmp_path / "solutions" / f"{stem}.ipynb").write_text("{}")
    return Layout(tmp_path)


def test_lessons_are_the_numbered_solution_notebooks(layout):
    assert layout.lessons() == ["01_bpe_tokenizer", "02_transformer"]


@pytest.mark.parametrize("name", ["01", "01_bpe_tokenizer", "solutions/01_bpe_tokenizer.ipynb",
                                  "notebooks/01_bpe_tokenizer.ipynb", "01_bpe_tokenizer.ipynb"])
def test_resolve_accepts_number_stem_or_path(layout, name):
    assert layout.resolve([name]) == ["01_bpe_tokenizer"]


def test_resolve_defaults_to_all_and_dedupes(layout):
    assert layout.resolve([]) == ["01_bpe_tokenizer", "02_transformer"]
    assert layout.resolve(["02", "02_transformer"]) == ["02_transformer"]


@pytest.mark.parametrize("name", ["03", "tokenizer", "1"])
def test_unknown_lessons_are_listed(layout, name):
    with pytest.raises(GraderError, match="lessons: 01_bpe_tokenizer, 02_transformer"):
        layout.resolve([name])


def test_a_kit_without_lessons_says_so(tmp_path):
    with pytest.raises(GraderError, match="no lessons found"):
        Layout(tmp_path).resolve([])
