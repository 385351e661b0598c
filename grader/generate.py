"""Student notebooks: ``generate`` them from solutions, ``strip`` committed notebooks.

- ``solutions/<lesson>.ipynb`` goes through ``nbgrader generate_assignment --no-db`` in a
  course directory of its own (``build/generate``), and the released notebook is written
  to ``notebooks/<lesson>.ipynb`` in canonical form (``grader.ipynb``), so running
  ``generate`` twice gives identical bytes and CI can diff (``python -m grader check``).

Run: ``python -m grader generate [LESSON...]``, ``python -m grader strip [PATH...]``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

from grader import ipynb
from grader.course import Course
from grader.paths import Layout


def generate(layout: Layout, lessons: Iterable[str] = (), *,
             out_dir: Path | None = None) -> dict[str, bool]:
    """Write the student notebook of each lesson to ``out_dir`` (default ``notebooks/``);
    return ``{lesson: changed}``.

    nbgrader runs in a course directory of its own, ``build/generate``, without a gradebook,
    so what was autograded in ``build/course`` never blocks generating a changed lesson.
    """
    course = Course(layout.generate_course, layout.root)
    out_dir = out_dir or layout.notebooks
    changed = {}
    for lesson in layout.resolve(lessons):
        released = course.generate_assignment(lesson, layout.solution(lesson), record=False)
        student_nb = ipynb.strip(ipynb.read(released))
        changed[lesson] = ipynb.write(student_nb, out_dir / f"{lesson}.ipynb")
    return changed


def committed_notebooks(layout: Layout) -> list[Path]:
    """Every committed notebook: ``solutions/*.ipynb`` and ``notebooks/*.ipynb``."""
    return sorted(layout.solutions.glob("*.ipynb")) + sorted(layout.notebooks.glob("*.ipynb"))


def strip_files(paths: Iterable[Path]) -> list[Path]:
    """Strip each notebook in place (canonical form); return the ones that changed."""
    return [path for path in paths if ipynb.write(ipynb.strip(ipynb.read(path)), path)]
