"""The toy kit the end-to-end tests run on: one lesson, ``99_toy``, in a temporary directory.

The toy lesson (``fixtures/99_toy.ipynb``) has a parameters cell and two exercises, ``add``
(test worth 1 point) and ``mul`` (2 points), each with visible and hidden tests and trusted
cases (``fixtures/trusted/99_toy.py``), so every pipeline step runs on it in seconds without
touching the real ``solutions/`` or ``notebooks/``.
"""
from __future__ import annotations

import copy
import shutil
from pathlib import Path

from nbformat import NotebookNode

from grader import ipynb
from grader.paths import Layout

FIXTURES = Path(__file__).parent / "fixtures"
TOY = "99_toy"


def make_kit(root: Path, trusted: bool = True) -> Layout:
    """A kit at ``root`` whose only lesson is the toy, with its trusted cases
    (``fixtures/trusted/99_toy.py``, see ``grader.trusted``) unless ``trusted`` is False."""
    (root / "solutions").mkdir(parents=True)
    shutil.copy(FIXTURES / f"{TOY}.ipynb", root / "solutions")
    if trusted:
        (root / "solutions" / "trusted").mkdir()
        shutil.copy(FIXTURES / "trusted" / f"{TOY}.py", root / "solutions" / "trusted")
    return Layout(root)


def toy_notebook() -> NotebookNode:
    return ipynb.read(FIXTURES / f"{TOY}.ipynb")


def with_solution(nb: NotebookNode, exercise: str, code: str) -> NotebookNode:
    """A copy of ``nb`` whose exercise ``exercise`` has ``code`` as its solution region."""
    nb = copy.deepcopy(nb)
    [cell] = [c for c in ipynb.exercises(nb) if ipynb.grade_id(c) == exercise]
    cell.source = ipynb.replace_region(cell.source, code)
    return nb
