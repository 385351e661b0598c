"""Unit tests of notebook files: canonical form, stripping, nbgrader regions.

Run: ``pytest grader/tests/test_ipynb.py``.
"""
from __future__ import annotations

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output
from toy import FIXTURES, TOY

from grader import ipynb
from grader.errors import GraderError


def test_fixture_is_in_canonical_form():
    path = FIXTURES / f"{TOY}.ipynb"
    assert path.read_text() == ipynb.dumps(ipynb.strip(ipynb.read(path)))


def test_strip_removes_outputs_counts_and_run_metadata():
    cell = new_code_cell("print(1)", execution_count=3, outputs=[new_output("stream", text="1\n")],
                         metadata={"execution": {"iopub.status.busy": "..."}, "tags": ["keep"]})
    nb = new_notebook(cells=[cell], metadata={"papermill": {}, "language_info": {
        "name": "python", "version": "3.11.9"}})
    assert ipynb.run_leftovers(nb) == ["cell 0 has outputs", "cell 0 has an execution count"]
    ipynb.strip(nb)
    assert ipynb.run_leftovers(nb) == []
    assert nb.cells[0].metadata == {"tags": ["keep"]}
    assert nb.metadata == {"language_info": {"name": "python"}}


def test_dumps_is_jupyters_format_with_a_trailing_newline():
    text = ipynb.dumps(new_notebook(cells=[new_code_cell("x = 1")]))
    assert text.startswith('{\n "cells": [\n  {\n')  # 1-space indent, sorted keys
    assert text.endswith("}\n")


def test_write_reports_whether_the_file_changed(tmp_path):
    nb, path = new_notebook(cells=[new_code_cell("x = 1")]), tmp_path / "a" / "n.ipynb"
    assert ipynb.write(nb, path) is True
    assert ipynb.write(nb, path) is False


def test_read_rejects_non_notebooks(tmp_path):
    (tmp_path / "bad.ipynb").write_text("{not json")
    with pytest.raises(GraderError, match="not a valid notebook"):
        ipynb.read(tmp_path / "bad.ipynb")
    with pytest.raises(GraderError, match="no such notebook"):
        ipynb.read(tmp_path / "missing.ipynb")


def test_replace_region_keeps_the_indentation_of_the_begin_marker():
    source = ("def f(x):\n    '''Doc.'''\n"
              "    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION\n# after")
    assert ipynb.replace_region(source, "while True: pass") == \
        "def f(x):\n    '''Doc.'''\n    while True: pass\n# after"
    with pytest.raises(GraderError, match="no complete"):
        ipynb.replace_region("x = 1", "pass")


def test_hidden_lines_and_exercises_follow_nbgrader_metadata():
    nb = ipynb.read(FIXTURES / f"{TOY}.ipynb")
    assert [ipynb.grade_id(c) for c in ipynb.exercises(nb)] == ["add", "mul"]
    assert [ipynb.grade_id(c) for c in nb.cells if ipynb.is_test(c)] == ["test_add", "test_mul"]
    [test_add] = [c for c in nb.cells if ipynb.grade_id(c) == "test_add"]
    assert ipynb.hidden_lines(test_add.source)[0] == "_hidden_add_cases = [(-1, 1, 0), (40, 2, 42)]"
    assert nbformat.validate(nb) is None


def test_strip_undoes_what_jupyterlab_writes_on_opening_a_lesson():
    """JupyterLab records the kernel's language_info and its kernelspec when it opens a notebook;
    stripped, a lesson opened and saved is byte-identical to the committed one."""
    nb = new_notebook(cells=[new_code_cell("x = 1")], metadata={"kernelspec": {
        "display_name": "an older name", "language": "python", "name": "lmkit"}})
    committed = ipynb.dumps(ipynb.strip(nb))
    assert nb.metadata == {"kernelspec": ipynb.KERNEL_SPEC, "language_info": {"name": "python"}}
    opened = nbformat.reads(committed, as_version=4)
    opened.metadata.language_info = {"codemirror_mode": {"name": "ipython", "version": 3},
                                     "file_extension": ".py", "name": "python",
                                     "version": "3.11.7"}
    opened.metadata.kernelspec["display_name"] = "Python (lmkit)"
    assert ipynb.dumps(ipynb.strip(opened)) == committed
    other = new_notebook(metadata={"kernelspec": {"display_name": "Mine", "language": "python",
                                                  "name": "python3"}})
    assert ipynb.strip(other).metadata.kernelspec.display_name == "Mine"  # not the kit's
