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

``FeedbackView`` (``HideHiddenTests`` and more) decides what a student's feedback page shows,
since everything the kernel printed may carry what it recorded while the hidden tests and
the trusted runner ran (their sources, the trusted cases' inputs):

- every cell's source, the student's own and the visible part of the tests, each cut to
  ``max_source`` characters (markdown too; ``max_total`` for the whole page);
- no output of any cell (students have their own run of their notebook), except, in a test
  cell that failed, one line of the grader's: the exception's name when it is a built-in
  one (else "an exception"), and its message only when the test's *visible* source holds it
  (a string literal, or an f-string whose fields are shown as ``{…}``) or it is the trusted
  compare's verdict (``hidden checks outside your kernel: ...``, with the failed cases'
  hints: ``grader.trusted.verdict``), or ``grader.rules``' ``rules checked outside your
  kernel: ...``;
- markdown rendered and sanitized here (``safe_markdown``: bleach, a short list of tags,
  links to http(s) and mailto only), then nbconvert's ``SanitizeHTML`` on the whole
  notebook (nbgrader's feedback template ignores ``HTMLExporter.sanitize_html``).

``FEEDBACK_CONFIG`` turns it on; ``grader.autograde`` makes each student's page apart, under a
time limit, in the student's private course copy.

``write_failure_page`` writes the feedback of a submission nbgrader could not grade (not a
notebook, timed out, ...): the score and the reason, where nbgrader would have written its own.

Configured in ``grader.course`` (``GenerateFeedback.preprocessors``); tested in
``grader/tests/test_grader.py`` (feedback HTML) and ``test_feedback.py``.
"""
from __future__ import annotations

import ast
import builtins
import html
import re
from pathlib import Path

from nbconvert.exporters.exporter import ResourcesDict
from nbformat import NotebookNode
from nbformat.v4 import new_output
from nbgrader.preprocessors import ClearHiddenTests, LimitOutput
from traitlets import Integer

from grader import ipynb
from grader.result import Result
from grader.trusted.verdict import VERDICT as TRUSTED_VERDICT

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


FEEDBACK_CONFIG = """
# Feedback pages (grader.feedback.FeedbackView): sources without hidden tests, no kernel
# outputs but the grader's verdict line, sanitized HTML.
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "grader.feedback.FeedbackView",
    "nbconvert.preprocessors.sanitize.SanitizeHTML",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
c.HTMLExporter.sanitize_html = True  # nbgrader's feedback template ignores it: SanitizeHTML
"""
BUILTIN_ERRORS = {name for name, value in vars(builtins).items()
                  if isinstance(value, type) and issubclass(value, BaseException)}
# the trusted compare's verdict, with its cases' hints (grader.trusted.verdict), or the rules'
VERDICT = re.compile(rf"{TRUSTED_VERDICT.pattern}"
                     r"|rules checked outside your kernel: [^\n]{0,300}")


def messages(source: str) -> list[tuple[re.Pattern, str]]:
    """``(pattern, shown)`` for each string literal of ``source``: an f-string's fields
    match anything and are shown as ``{…}``."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            found.append((re.compile(re.escape(node.value)), node.value))
        elif isinstance(node, ast.JoinedStr):
            parts = [(re.escape(v.value), v.value) if isinstance(v, ast.Constant)
                     else ("(?s:.*?)", "{…}") for v in node.values]
            found.append((re.compile("".join(p for p, _ in parts)),
                          "".join(t for _, t in parts)))
    return found


def verdict(output, source: str) -> str:
    """The one line a failed test cell shows in feedback (module docstring)."""
    ename = output.get("ename", "")
    evalue = str(output.get("evalue", ""))
    if ename == "TrustedCheckFailed" and VERDICT.fullmatch(evalue):
        return f"{ename}: {evalue}"
    name = ename if ename in BUILTIN_ERRORS else "an exception"
    for pattern, shown in messages(source):
        if pattern.fullmatch(evalue):
            return f"{name}: {shown}"
    return f"the test failed ({name})"


SAFE_TAGS = {"a", "abbr", "b", "blockquote", "br", "code", "del", "div", "em", "h1", "h2",
             "h3", "h4", "h5", "h6", "hr", "i", "img", "li", "ol", "p", "pre", "span",
             "strong", "sub", "sup", "table", "tbody", "td", "th", "thead", "tr", "ul"}
SAFE_ATTRIBUTES = {"a": ["href", "title"], "img": ["src", "alt", "title"],
                   "span": ["class"], "div": ["class"], "code": ["class"]}


def safe_markdown(source: str) -> str:
    """A markdown cell as sanitized HTML (markdown passes HTML through unchanged): tags and
    attributes from a short list, links only to http(s) and mailto (bleach)."""
    import bleach
    from nbconvert.filters.markdown import markdown2html

    html = bleach.clean(markdown2html(source), tags=SAFE_TAGS, attributes=SAFE_ATTRIBUTES,
                        protocols={"http", "https", "mailto"}, strip=True)
    # the page renders this as markdown again: brackets as entities, so that no text left
    # by the first pass (``[x](javascript:...)``) becomes a link in the second
    return html.replace("[", "&#91;").replace("]", "&#93;")


class FeedbackView(HideHiddenTests):
    """What a feedback page shows (module docstring): sources without hidden tests, cut;
    outputs replaced by the grader's verdict line in failed test cells."""

    max_source = Integer(20_000, help="characters of one cell's source").tag(config=True)
    max_total = Integer(2_000_000, help="characters of all sources").tag(config=True)

    def preprocess(self, nb, resources):
        self._total = 0
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell: NotebookNode, resources: ResourcesDict,
                        cell_index: int) -> tuple[NotebookNode, ResourcesDict]:
        cell, resources = super().preprocess_cell(cell, resources, cell_index)
        source = cell.source if isinstance(cell.source, str) else "".join(cell.source)
        left = max(0, self.max_total - self._total)
        cut = min(self.max_source, left)
        if len(source) > cut:
            source = source[:cut] + f"\n... ({len(source):,} characters: cut in feedback)"
        self._total += len(source)
        cell.source = safe_markdown(source) if cell.cell_type == "markdown" else source
        cell.pop("attachments", None)
        if cell.cell_type == "code":
            errors = [o for o in cell.outputs if o.get("output_type") == "error"]
            test = cell.metadata.get("nbgrader", {}).get("grade") and \
                not cell.metadata.get("nbgrader", {}).get("solution")
            cell.outputs = [new_output("stream", name="stdout",
                                       text=verdict(errors[-1], source) + "\n")] \
                if test and errors else []
        return cell, resources


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
<p>{why}: {reason}.</p>
</body></html>
"""


def write_failure_page(path: Path, result: Result, reason: str | None = None) -> None:
    """Feedback for a submission that was not graded: its score and the reason (or, with
    ``reason``, for a graded one whose page nbgrader could not make)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    why = "Your notebook could not be graded" if reason is None else "Note"
    fields = {"lesson": result.lesson, "student": result.student,
              "reason": result.reason if reason is None else reason}
    path.write_text(PAGE.format(score=result.score, max_score=result.max_score, why=why,
                                **{k: html.escape(v) for k, v in fields.items()}))
