"""Unit tests of ``grader.feedback``: hidden lines leave tracebacks, the rest stays; what a
feedback page shows (issue 20, class 6), sanitized HTML, CSV cells that are not formulas.

Run: ``pytest grader/tests/test_feedback.py``.
"""
from __future__ import annotations

import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_output

from grader.feedback import FEEDBACK_CONFIG, FeedbackView, HideHiddenTests, scrub
from grader.gradebook import cell

# A frame as IPython 9 writes it (ANSI colors included) for a failing visible assert.
FRAME = ("\x1b[36mCell\x1b[39m\x1b[32mIn[6]\x1b[39m\x1b[32m, line 1\x1b[39m\n"
         "\x1b[32m----> \x1b[39m\x1b[32m1\x1b[39m "
         "\x1b[38;5;28;01massert\x1b[39;00m mul(2, 3) == 6\n"
         "\x1b[32m      2\x1b[39m \x1b[38;5;66;03m### BEGIN HIDDEN TESTS\x1b[39;00m\n"
         "\x1b[32m      3\x1b[39m _secret = [(7, 6, 42)]\n")
SOURCE = ("assert mul(2, 3) == 6\n"
          "### BEGIN HIDDEN TESTS\n_secret = [(7, 6, 42)]\n### END HIDDEN TESTS")


def test_scrub_drops_quoted_hidden_lines_and_markers_only():
    kept = scrub(FRAME, {"_secret = [(7, 6, 42)]"})
    assert "_secret" not in kept and "HIDDEN" not in kept
    assert "mul(2, 3) == 6" in kept and "In[6]" in kept


def test_preprocessor_clears_source_and_traceback():
    meta = {"nbgrader": {"grade": True, "solution": False, "grade_id": "test_mul", "points": 2,
                         "locked": True, "schema_version": 3}}
    error = new_output("error", ename="AssertionError", evalue="", traceback=[FRAME])
    cell = new_code_cell(SOURCE, metadata=meta, outputs=[error])
    cell, _ = HideHiddenTests().preprocess_cell(cell, {}, 0)
    assert cell.source == "assert mul(2, 3) == 6"
    assert "_secret" not in "".join(cell.outputs[0].traceback)


# --- issue 20, class 6: what a feedback page shows ------------------------------------------

TEST_META = {"nbgrader": {"grade": True, "solution": False, "grade_id": "test_mul",
                          "points": 2, "locked": True, "schema_version": 3}}


def view(cell):
    """``cell`` as ``FeedbackView`` leaves it."""
    processor = FeedbackView()
    processor._total = 0
    return processor.preprocess_cell(cell, {}, 0)[0]


@pytest.mark.parametrize("ename, evalue, shown", [
    ("AssertionError", "mul(2, 3) should be 6", "AssertionError: mul(2, 3) should be 6"),
    ("AssertionError", "got 5 from mul", "AssertionError: got {…} from mul"),  # f-string
    ("AssertionError", "mul(7, 6) should be 42", "the test failed (AssertionError)"),  # hidden
    ("AssertionError", "_secret = [(7, 6, 42)]", "the test failed (AssertionError)"),
    ("Sneaky_secret_7_6_42", "", "the test failed (an exception)"),  # not a built-in name
    ("TrustedCheckFailed", "hidden checks outside your kernel: 1 of 3 case(s) failed "
     "(wrong result)", "TrustedCheckFailed: hidden checks outside your kernel: 1 of 3 "
     "case(s) failed (wrong result)"),
    ("TrustedCheckFailed", "_secret = [(7, 6, 42)]", "the test failed (an exception)"),
    ("TrustedCheckFailed", "hidden checks outside your kernel: 2 of 6 case(s) failed (wrong "
     "value): hint: eps goes inside the square root", "TrustedCheckFailed: hidden checks "
     "outside your kernel: 2 of 6 case(s) failed (wrong value): hint: eps goes inside the "
     "square root"),  # a case's hint (grader.trusted.verdict)
    ("TrustedCheckFailed", "hidden checks outside your kernel: 1 of 3 case(s) failed (wrong "
     "value): hint: <img src=x onerror=alert(1)>", "the test failed (an exception)"),
    ("TrustedCheckFailed", "hidden checks outside your kernel: 1 of 3 case(s) failed (wrong "
     "value): hint: " + "x" * 600, "the test failed (an exception)"),  # longer than hints
])
def test_a_failed_test_shows_only_the_graders_verdict(ename, evalue, shown):
    source = ('assert mul(2, 3) == 6, "mul(2, 3) should be 6"\n'
              'assert mul(1, 5) == 5, f"got {mul(1, 5)} from mul"\n' + SOURCE.split("\n", 1)[1])
    outputs = [new_output("stream", name="stdout", text="RECORDED: _secret = [(7, 6, 42)]"),
               new_output("display_data", data={"text/html": "<script>alert(1)</script>"}),
               new_output("error", ename=ename, evalue=evalue, traceback=[FRAME])]
    cell = view(new_code_cell(source, metadata=TEST_META, outputs=outputs))
    assert [o.text for o in cell.outputs] == [shown + "\n"]
    assert "_secret" not in cell.source


def test_students_cells_keep_their_source_but_no_outputs_and_sources_are_cut():
    outputs = [new_output("stream", name="stdout", text="INPUTS: [40, 2]")]
    cell = view(new_code_cell("print(open('inputs.json').read())", outputs=outputs))
    assert cell.outputs == [] and cell.source.startswith("print(")
    long = view(new_markdown_cell("*a* " * 100_000))
    assert len(long.source) < 100_000 and "cut in feedback" in long.source


def test_csv_cells_cannot_start_a_formula():
    assert cell('=HYPERLINK("http://x")') == '\'=HYPERLINK("http://x")'
    assert [cell(v) for v in ("+1", "@SUM(A1)", "-2+3", "ok", 3.0, -1.0)] == \
        ["'+1", "'@SUM(A1)", "'-2+3", "ok", 3.0, -1.0]


def test_feedback_html_is_sanitized():
    """The preprocessors ``FEEDBACK_CONFIG`` lists drop scripts and event handlers from
    markdown (nbgrader's feedback template would render them as they are)."""
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors.sanitize import SanitizeHTML
    from nbformat.v4 import new_notebook

    assert "nbconvert.preprocessors.sanitize.SanitizeHTML" in FEEDBACK_CONFIG
    nb = new_notebook(cells=[new_markdown_cell(
        '<script>alert("md")</script><a href="#" onclick="alert(3)">x</a>'
        '<img src=x onerror="alert(4)"> [link](javascript:alert(5))')])
    nb.cells[0] = view(nb.cells[0])
    nb, _ = SanitizeHTML().preprocess(nb, {})
    html, _ = HTMLExporter().from_notebook_node(nb)
    assert "<script>alert" not in html and "onclick=" not in html  # escaped, or dropped
    assert "onerror" not in html and 'href="javascript' not in html
