"""``python -m grader check``: what CI runs before anything else.

Problems reported, one line each, for every lesson (or the ones named):
- ``notebooks/<lesson>.ipynb`` is missing or stale: regenerating it into a temporary
  folder does not give the committed bytes;
- a committed notebook (``solutions/`` or ``notebooks/``) has outputs, execution counts or
  is otherwise not in canonical form (``python -m grader strip`` fixes it);
- lesson structure: kernelspec ``lmkit``; a ``parameters``-tagged cell assigning ``scale``,
  ``device`` and ``seed``; every exercise ``X`` has a test cell ``test_X``; every test cell
  has points and a hidden-test region.

Tested in ``grader/tests/test_grader.py`` (staleness) and ``test_check.py`` (structure).
"""
from __future__ import annotations

import ast
import tempfile
from pathlib import Path
from typing import Iterable

from nbformat import NotebookNode

from grader import ipynb
from grader.errors import GraderError
from grader.generate import generate
from grader.jupyter_kernel import KERNEL_NAME
from grader.paths import Layout

REQUIRED_PARAMETERS = ("scale", "device", "seed")


def check(layout: Layout, lessons: Iterable[str] = ()) -> list[str]:
    """All problems found (empty when everything is fine)."""
    names = list(lessons)
    lessons = layout.resolve(names)
    problems = []
    for lesson in lessons:
        source = layout.solution(lesson)
        problems += committed_form(layout, source)
        try:
            problems += [f"{layout.relative(source)}: {p}" for p in structure(ipynb.read(source))]
        except GraderError as err:
            problems.append(str(err))
        problems += staleness(layout, lesson)
    if not names:  # a full check also covers notebooks without a source
        for path in sorted(layout.notebooks.glob("*.ipynb")):
            if path.stem not in lessons:
                source = layout.relative(layout.solution(path.stem))
                problems.append(f"{layout.relative(path)}: no source {source} "
                                "(delete it or add the lesson)")
    return problems


def staleness(layout: Layout, lesson: str) -> list[str]:
    """Regenerate ``lesson`` into a temporary directory and compare with ``notebooks/``."""
    committed = layout.student_notebook(lesson)
    fix = f"run: python -m grader generate {lesson}"
    with tempfile.TemporaryDirectory(prefix="grader-check-") as tmp:
        try:
            generate(layout, [lesson], out_dir=Path(tmp))
        except GraderError as err:
            return [f"{lesson}: cannot generate the student notebook: {err}"]
        fresh = (Path(tmp) / f"{lesson}.ipynb").read_bytes()
    if not committed.exists():
        return [f"{layout.relative(committed)} is missing ({fix})"]
    problems = committed_form(layout, committed)
    if committed.read_bytes() != fresh:
        problems.append(f"{layout.relative(committed)} is stale: it differs from what "
                        f"{layout.relative(layout.solution(lesson))} generates ({fix})")
    return problems


def committed_form(layout: Layout, path: Path) -> list[str]:
    """Problems with how a committed notebook is stored (outputs, counts, formatting)."""
    try:
        nb = ipynb.read(path)
    except GraderError as err:
        return [str(err)]
    name = layout.relative(path)
    leftovers = ipynb.run_leftovers(nb)
    if leftovers:
        return [f"{name}: {', '.join(leftovers)} (run: python -m grader strip {name})"]
    if path.read_text(encoding="utf-8") != ipynb.dumps(ipynb.strip(nb)):
        return [f"{name}: not in canonical form (run: python -m grader strip {name})"]
    return []


def structure(nb: NotebookNode) -> list[str]:
    """Problems with a lesson's cells: kernel, parameters, exercises and their tests."""
    problems = []
    kernel = nb.metadata.get("kernelspec", {}).get("name")
    if kernel != KERNEL_NAME:
        problems.append(f"kernelspec is {kernel!r}, not {KERNEL_NAME!r}")
    problems += parameters_problems(nb)
    tests = {ipynb.grade_id(c): (i, c) for i, c in enumerate(nb.cells) if ipynb.is_test(c)}
    for index, cell in enumerate(nb.cells):
        if ipynb.is_exercise(cell) and f"test_{ipynb.grade_id(cell)}" not in tests:
            problems.append(f"cell {index} ({ipynb.grade_id(cell)}): exercise without a test "
                            f"cell whose grade_id is 'test_{ipynb.grade_id(cell)}'")
    for name, (index, cell) in tests.items():
        if not ipynb.nbgrader(cell).get("points"):
            problems.append(f"cell {index} ({name}): test cell without points")
        if not any(line.strip() for line in ipynb.hidden_lines(cell.source)):
            problems.append(f"cell {index} ({name}): no hidden tests "
                            f"(### {ipynb.BEGIN_HIDDEN} ... ### {ipynb.END_HIDDEN})")
    return problems


def parameters_problems(nb: NotebookNode) -> list[str]:
    cells = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    if len(cells) != 1:
        return [f"{len(cells)} cells tagged 'parameters' (papermill needs exactly one)"]
    try:
        tree = ast.parse(cells[0].source)
    except SyntaxError as err:
        return [f"the parameters cell does not parse: {err.msg} (line {err.lineno})"]
    assigned = {t.id for node in tree.body if isinstance(node, (ast.Assign, ast.AnnAssign))
                for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
                if isinstance(t, ast.Name)}
    missing = [name for name in REQUIRED_PARAMETERS if name not in assigned]
    return [f"the parameters cell does not set {', '.join(missing)}"] if missing else []
