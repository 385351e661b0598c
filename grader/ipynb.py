"""Notebook files: a normalized on-disk form, stripping, and nbgrader's cell markup.

- One canonical form for every committed notebook: nbformat v4, 1-space indent, sorted keys,
  a trailing newline (what Jupyter itself writes), no outputs, no execution counts, no
  per-run metadata, the kit's kernelspec as installed and ``language_info`` as its name only
  (what JupyterLab rewrites when it opens a notebook). Writing the same notebook twice gives
  the same bytes, so generated notebooks can be diffed in CI.
- nbgrader's conventions are read from cell metadata (``metadata.nbgrader``): a solution
  cell has ``solution: true``, a test cell ``grade: true`` and ``points``; regions are
  delimited by ``### BEGIN SOLUTION`` / ``### END SOLUTION`` and ``### BEGIN HIDDEN TESTS`` /
  ``### END HIDDEN TESTS`` (nbgrader matches the words, not the ``###``).

Tested in ``grader/tests/test_ipynb.py``.
"""
from __future__ import annotations

import re
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from grader.errors import GraderError
from grader.jupyter_kernel import KERNEL_SPEC

BEGIN_SOLUTION, END_SOLUTION = "BEGIN SOLUTION", "END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"

# Metadata written by a run (papermill, JupyterLab's timing, widget state), never committed.
RUN_CELL_METADATA = ("execution", "papermill", "ExecuteTime")
RUN_NOTEBOOK_METADATA = ("papermill", "widgets")


def read(path: Path) -> NotebookNode:
    """Read a notebook as nbformat v4; ``GraderError`` if it is not one."""
    try:
        return nbformat.read(str(path), as_version=4)
    except FileNotFoundError:
        raise GraderError(f"{path}: no such notebook") from None
    except Exception as err:  # JSON errors, schema errors, unknown versions, ...
        raise GraderError(f"{path}: not a valid notebook ({first_line(err)})") from None


def dumps(nb: NotebookNode) -> str:
    """The canonical text of a notebook (as Jupyter writes it, plus a trailing newline)."""
    text = nbformat.writes(nb, version=4)
    return text if text.endswith("\n") else text + "\n"


def write(nb: NotebookNode, path: Path) -> bool:
    """Write ``nb`` in canonical form; return whether the file changed."""
    text = dumps(nb)
    path = Path(path)
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return True


def strip(nb: NotebookNode) -> NotebookNode:
    """Remove outputs, execution counts and per-run metadata, in place; return ``nb``.

    What Jupyter writes when it merely opens a notebook is normalized too, so that opening and
    saving a lesson in JupyterLab or Notebook 7 changes nothing once stripped:
    ``language_info`` becomes just its name (Jupyter records the interpreter's version there,
    a diff on every machine), added when missing; the kit's kernelspec gets the installed
    kernel's display name (``grader.jupyter_kernel``), which Jupyter writes back on every start.
    """
    for key in RUN_NOTEBOOK_METADATA:
        nb.metadata.pop(key, None)
    kernelspec = nb.metadata.get("kernelspec")
    if kernelspec and kernelspec.get("name") == KERNEL_SPEC["name"]:
        nb.metadata.kernelspec = dict(KERNEL_SPEC)
    if kernelspec or "language_info" in nb.metadata:
        language = (nb.metadata.get("language_info") or {}).get("name") or (
            kernelspec or {}).get("language") or "python"
        nb.metadata.language_info = {"name": language}
    for cell in nb.cells:
        for key in RUN_CELL_METADATA:
            cell.metadata.pop(key, None)
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    return nb


def run_leftovers(nb: NotebookNode) -> list[str]:
    """Describe the outputs and execution counts left in ``nb`` (empty when stripped)."""
    found = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        if cell.get("outputs"):
            found.append(f"cell {index} has outputs")
        if cell.get("execution_count") is not None:
            found.append(f"cell {index} has an execution count")
    return found


# --- nbgrader markup ----------------------------------------------------------------------


def nbgrader(cell: NotebookNode) -> dict:
    """The cell's nbgrader metadata (empty for ordinary cells)."""
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def is_test(cell: NotebookNode) -> bool:
    """An autograded test cell (``grade: true``, code)."""
    return cell.cell_type == "code" and bool(nbgrader(cell).get("grade"))


def is_exercise(cell: NotebookNode) -> bool:
    """A cell the student writes (``solution: true``) that is graded by a separate test cell."""
    meta = nbgrader(cell)
    return cell.cell_type == "code" and bool(meta.get("solution")) and not meta.get("grade")


def exercises(nb: NotebookNode) -> list[NotebookNode]:
    """The exercise cells, in notebook order."""
    return [cell for cell in nb.cells if is_exercise(cell)]


def grade_id(cell: NotebookNode) -> str:
    return str(nbgrader(cell).get("grade_id", ""))


def replace_region(source: str, replacement: str, begin: str = BEGIN_SOLUTION,
                   end: str = END_SOLUTION) -> str:
    """Replace each ``begin``...``end`` region (markers included) with ``replacement``.

    The replacement is indented like the ``begin`` line, exactly as nbgrader's
    ``ClearSolutions`` places its stub, so a region inside a function body stays valid.
    """
    out, inside, found = [], False, False
    for line in source.split("\n"):
        if begin in line:
            if inside:
                raise GraderError(f"nested {begin!r} markers in:\n{source}")
            inside = found = True
            indent = re.match(r"\s*", line).group(0)
            out.extend(indent + new for new in replacement.split("\n"))
        elif end in line and inside:
            inside = False
        elif not inside:
            out.append(line)
    if inside or not found:
        raise GraderError(f"no complete {begin!r} ... {end!r} region in:\n{source}")
    return "\n".join(out)


def region_lines(source: str, begin: str, end: str) -> list[str]:
    """The lines inside ``begin`` ... ``end`` regions (markers excluded)."""
    lines, inside = [], False
    for line in source.split("\n"):
        if begin in line:
            inside = True
        elif end in line:
            inside = False
        elif inside:
            lines.append(line)
    return lines


def hidden_lines(source: str) -> list[str]:
    """The lines inside ``BEGIN HIDDEN TESTS`` ... ``END HIDDEN TESTS`` regions."""
    return region_lines(source, BEGIN_HIDDEN, END_HIDDEN)


def first_line(err: BaseException | str) -> str:
    """A one-line summary of an error message."""
    text = str(err).strip()
    line = text.splitlines()[0] if text else ""
    name = type(err).__name__ if isinstance(err, BaseException) else ""
    return f"{name}: {line}" if name and line else (name or line)
