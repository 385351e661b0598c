"""nbgrader's Validate, made short: one line per failing test, in notebook order.

nbgrader's Validate (the JupyterLab toolbar button, or ``nbgrader validate NOTEBOOK``) executes
a student notebook and shows every failing test cell with its whole source and traceback: on a
partly done lesson, one dialog of thousands of lines. ``shorten`` runs after Validate has
executed the notebook (``install`` wraps the Validator's step that executes; grading never
uses it), and rewrites what Validate shows, without changing what passes or fails:

- a test cell's source is replaced by one header line, ``test_merge_word (1 point)``, and its
  error by one line: the exception and its message (``AssertionError: merge left to right``),
  or the failing line of a bare ``assert``, cut at ``MAX_CHARS``;
- knock-on errors say where they come from: a test of an exercise still raising
  ``NotImplementedError`` (or whose ``NameError`` comes from a cell above that raised it)
  reads "not done yet", and one whose exercise cell itself raised reports that cell's error
  instead of the test's ``NameError``;
- stderr is dropped, as the grader drops it before grading (``grader.course``): a warning or
  a progress bar does not fail a test;
- nbgrader's check that locked cells were not edited still works: a test cell's checksum is
  refreshed for the new header only when the cell was unchanged.

``grader.lab.install_lab_config`` (run by ``python -m grader install-kernel``) installs it for
every nbgrader in the environment: ``etc/jupyter/nbgrader_config.py`` calls ``install``.
Tested in ``grader/tests/test_validate.py``; end to end in ``grader/tests/browser/``.
"""
from __future__ import annotations

import re

from nbformat import NotebookNode
from nbformat.v4 import new_output

from grader import ipynb

MAX_CHARS = 240  # one screen line or two: the message says what to fix, not the whole value
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
NOT_DONE = "NotImplementedError"



def error_line(output: NotebookNode) -> str:
    """One line for an error output: ``Name: message``, or the failing line when no message."""
    message = " ".join(str(output.get("evalue", "")).split())
    if not message:  # a bare `assert x == y`: show the line that failed
        arrows = [ANSI.sub("", line) for line in output.get("traceback", [])]
        failing = [row for text in arrows for row in text.splitlines() if "---->" in row]
        if failing:
            message = failing[-1].split("---->", 1)[1].strip().lstrip("0123456789 ")
    text = f"{output.get('ename', 'Error')}: {message}" if message else output.get("ename", "")
    return text if len(text) <= MAX_CHARS else text[:MAX_CHARS - 3] + "..."


def first_error(cell: NotebookNode) -> NotebookNode | None:
    return next((o for o in cell.get("outputs", []) if o.output_type == "error"), None)


def summary(test: NotebookNode, exercise: NotebookNode | None,
            upstream: NotebookNode | None = None) -> str | None:
    """The one-line report of a test cell, or None when it raised nothing.

    ``upstream``: the latest error of an ordinary cell above, which explains a ``NameError``.
    """
    error = first_error(test)
    if error is None:
        return None
    own = first_error(exercise) if exercise is not None else None
    if own is not None and own.get("ename") != NOT_DONE:
        return f"your cell {ipynb.grade_id(exercise)} raised {error_line(own)}"
    if error.get("ename") == "NameError" and upstream is not None:
        error = upstream  # a name a failed cell above should have defined
    if error.get("ename") == NOT_DONE:
        return "not done yet (an exercise it uses still raises NotImplementedError)"
    return error_line(error)


def shorten(nb: NotebookNode) -> NotebookNode:
    """Rewrite an executed notebook's test cells for a one-line-per-failure report, in place."""
    from nbgrader.utils import compute_checksum

    exercises = {ipynb.grade_id(c): c for c in nb.cells if ipynb.is_exercise(c)}
    upstream = None  # the latest error of an ordinary (not graded) cell above
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        cell.outputs = [o for o in cell.outputs
                        if not (o.output_type == "stream" and o.get("name") == "stderr")]
        if not ipynb.is_test(cell):
            if not ipynb.is_exercise(cell):
                error = first_error(cell)
                if error and not (upstream and error.get("ename") == "NameError"):
                    upstream = error  # a NameError there is itself a knock-on
            continue
        meta = cell.metadata.nbgrader
        unchanged = meta.get("checksum") == compute_checksum(cell)
        name = ipynb.grade_id(cell)
        line = summary(cell, exercises.get(name.removeprefix("test_")), upstream)
        points = meta.get("points", 0)
        cell.source = f"{name} ({points:g} point{'s' if points != 1 else ''})"
        if line is not None:
            error = first_error(cell)
            cell.outputs = [new_output("error", ename=error.ename, evalue=error.evalue,
                                       traceback=[line])]
        if unchanged:
            meta["checksum"] = compute_checksum(cell)
    return nb


def install() -> None:
    """Make nbgrader's Validator report with ``shorten`` (idempotent; nbgrader_config.py calls it).

    ``Validator.preprocessors`` is not configurable and nbclient's hooks run before a cell's
    outputs arrive, so the one place to act is the Validator's ``_preprocess``, wrapped here.
    """
    from nbgrader.validator import Validator

    if getattr(Validator._preprocess, "shortened", False):
        return
    execute = Validator._preprocess

    def _preprocess(self, nb: NotebookNode) -> NotebookNode:
        return shorten(execute(self, nb))

    _preprocess.shortened = True
    Validator._preprocess = _preprocess
