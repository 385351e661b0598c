"""Unit tests of ``grader.feedback``: hidden lines leave tracebacks, the rest stays.

Run: ``pytest grader/tests/test_feedback.py``.
"""
from __future__ import annotations

from nbformat.v4 import new_code_cell, new_output

from grader.feedback import HideHiddenTests, scrub

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
