"""Tests of the demo's verdict and table (the steps it chains are tested in test_grader.py).

Run: ``pytest grader/tests/test_demo.py``.
"""
from __future__ import annotations

from pathlib import Path

from grader.autograde import Result
from grader.demo import Demo
from grader.execute import Run


def results(lesson: str, **scores: float) -> list[Result]:
    return [Result(lesson, student, "timeout" if student == "endless" else "graded", score, 3.0)
            for student, score in scores.items()]


def test_a_healthy_lesson_passes_and_tabulates():
    scores = results("99_toy", solution=3, untouched=0, partial=1, raises=2, endless=0)
    demo = Demo([Run("99_toy", Path("x.ipynb"), 1.0)], {"99_toy": scores})
    assert demo.problems() == []
    assert demo.table().splitlines() == [
        "lesson  solution  untouched  partial  raises  endless",
        "99_toy  3/3       0/3        1/3      2/3     0/3 (timeout)",
    ]


def test_broken_lessons_are_reported():
    demo = Demo([Run("01_a", Path("x.ipynb"), 1.0, "cell [3]: ValueError: bad")],
                {"01_a": results("01_a", solution=2, untouched=1, partial=1, raises=1, endless=0)})
    assert demo.problems() == [
        "01_a: the solution notebook failed: cell [3]: ValueError: bad",
        "01_a: the solution scores 2/3, not full marks (graded)",
        "01_a: the untouched student notebook scores 1, not 0",
    ]
