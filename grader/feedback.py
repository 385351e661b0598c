"""Feedback without hidden tests: an nbgrader preprocessor for ``generate_feedback``.

nbgrader 0.9.6 puts hidden tests back into test cells when autograding and shows them in
the feedback HTML (by design, jupyter/nbgrader#917). Removing the regions from the cell
source (nbgrader's ``ClearHiddenTests``, as ``generate_assignment`` does) is not enough:
IPython tracebacks quote the lines around the failing one, so a failed *visible* assert
would still print the hidden lines below it. ``HideHiddenTests`` therefore also drops the
quoted lines of hidden code from error tracebacks, keeping the rest (the exception, the
student's own frames, the visible asserts).

``LimitOutputSize`` replaces nbgrader's ``LimitOutput`` in autograding: besides its cap on
lines, it cuts any single output text or data field to ``max_chars`` characters, so a
submission that prints one gigantic line (or a huge image) cannot bloat the autograded
notebook, the gradebook's files or the feedback page.

``write_failure_page`` writes the feedback of a submission nbgrader could not grade (not a
notebook, timed out, ...): the score and the reason, where nbgrader would have written its own.

Configured in ``grader.course`` (``GenerateFeedback.preprocessors``); tested in
``grader/tests/test_grader.py`` (feedback HTML) and ``test_feedback.py``.
"""
from __future__ import annotations

import html
import re
from pathlib import Path
from typing import TYPE_CHECKING

from nbconvert.exporters.exporter import ResourcesDict
from nbformat import NotebookNode
from nbgrader.preprocessors import ClearHiddenTests, LimitOutput
from traitlets import Integer

from grader import ipynb

if TYPE_CHECKING:
    from grader.autograde import Result

ANSI = re.compile(r"\x1b\[[0-9;]*m")
QUOTED = re.compile(r"^\s*(?:-*>\s*)?\d+\s(.*)$")  # "----> 12 code" or "     13 code"


class HideHiddenTests(ClearHiddenTests):
    """Remove hidden-test regions from test cells and their lines from tracebacks."""

    def preprocess_cell(self, cell: NotebookNode, resources: ResourcesDict,
                        cell_index: int) -> tuple[NotebookNode, ResourcesDict]:
        hidden = {line.strip() for line in ipynb.hidden_lines(cell.source) if line.strip()}
        if hidden and cell.cell_type == "code":
            for output in cell.outputs:
                if output.output_type == "error":
                    output.traceback = [scrub(entry, hidden) for entry in output.traceback]
        return super().preprocess_cell(cell, resources, cell_index)


def scrub(entry: str, hidden: set[str]) -> str:
    """``entry`` (one traceback frame, ANSI-colored) without quoted hidden lines and markers."""
    kept = []
    for line in entry.split("\n"):
        quoted = QUOTED.match(ANSI.sub("", line))
        code = quoted.group(1).strip() if quoted else ""
        if not (code in hidden or ipynb.BEGIN_HIDDEN in code or ipynb.END_HIDDEN in code):
            kept.append(line)
    return "\n".join(kept)


class LimitOutputSize(LimitOutput):
    """nbgrader's ``LimitOutput`` plus a cap on the characters of each output field."""

    max_chars = Integer(100_000, help="maximum characters of one output field").tag(config=True)

    def _cut(self, text):
        if isinstance(text, list):
            text = "".join(text)
        if not isinstance(text, str) or len(text) <= self.max_chars:
            return text
        return text[: self.max_chars] + f"\n... Output truncated ({len(text):,} characters) ..."

    def preprocess_cell(self, cell: NotebookNode, resources: ResourcesDict,
                        cell_index: int) -> tuple[NotebookNode, ResourcesDict]:
        if cell.cell_type == "code":
            for output in cell.outputs:
                if "text" in output:
                    output.text = self._cut(output.text)
                for mime, value in output.get("data", {}).items():
                    output.data[mime] = self._cut(value)
        return super().preprocess_cell(cell, resources, cell_index)


PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{lesson}: feedback for {student}</title></head>
<body>
<h1>{lesson}: feedback for {student}</h1>
<p>Score: {score:g} / {max_score:g}</p>
<p>Your notebook could not be graded: {reason}.</p>
</body></html>
"""


def write_failure_page(path: Path, result: Result) -> None:
    """Feedback for a submission that was not graded: its score and the reason."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fields = {"lesson": result.lesson, "student": result.student, "reason": result.reason}
    path.write_text(PAGE.format(score=result.score, max_score=result.max_score,
                                **{k: html.escape(v) for k, v in fields.items()}))
