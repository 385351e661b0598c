"""Validate's short report (``grader/validate.py``): one line per failing test, in order.

Unit tests on hand-made executed notebooks, then nbgrader's own Validator on lesson 01's
student notebook with one exercise right and one wrong (about 10 s).

Run: ``pytest grader/tests/test_validate.py``.
"""
from __future__ import annotations

import json
import subprocess
import sys

from nbformat.v4 import new_code_cell, new_notebook, new_output
from nbgrader.utils import compute_checksum

from grader import ipynb
from grader.jupyter_kernel import ensure_kernel, kernel_env
from grader.paths import REPO_ROOT
from grader.validate import MAX_CHARS, error_line, shorten


def cell(source: str, grade_id: str, test: bool, *outputs) -> object:
    meta = {"grade_id": grade_id, "grade": test, "solution": not test, "locked": test,
            "schema_version": 3, "cell_type": "code", **({"points": 2} if test else {})}
    made = new_code_cell(source, metadata={"nbgrader": meta}, outputs=list(outputs))
    made.metadata.nbgrader["checksum"] = compute_checksum(made)
    return made


def error(ename: str, evalue: str = "", traceback: tuple = ()) -> object:
    return new_output("error", ename=ename, evalue=evalue, traceback=list(traceback))


def test_one_line_per_test_with_knock_on_errors_explained():
    stderr = new_output("stream", name="stderr", text="a warning\n")
    nb = new_notebook(cells=[
        cell("def f(): ...", "f", False),
        cell("assert f() == 1, 'f must return 1'\n" * 20, "test_f", True,
             error("AssertionError", "f must return 1"), stderr),
        cell("def g(): raise NotImplementedError()", "g", False),
        cell("g()", "test_g", True, error("NotImplementedError")),
        new_code_cell("table = g()", outputs=[error("NotImplementedError")]),
        new_code_cell("row = table[0]", outputs=[error("NameError", "name 'table' is not...")]),
        cell("assert row", "test_row", True, error("NameError", "name 'row' is not defined")),
        cell("def h(:", "h", False, error("SyntaxError", "invalid syntax")),
        cell("h()", "test_h", True, error("NameError", "name 'h' is not defined")),
        cell("assert 1 == 1", "test_ok", True),
    ])
    changed = nb.cells[9]
    changed.source = "assert True  # a student edited a locked test"
    shorten(nb)
    tests = [c for c in nb.cells if ipynb.is_test(c)]
    assert [c.source for c in tests] == [f"test_{n} (2 points)" for n in ("f", "g", "row", "h",
                                                                        "ok")]
    assert [c.outputs[0].traceback[0] if c.outputs else None for c in tests] == [
        "AssertionError: f must return 1",
        "not done yet (an exercise it uses still raises NotImplementedError)",
        "not done yet (an exercise it uses still raises NotImplementedError)",
        "your cell h raised SyntaxError: invalid syntax",
        None]
    assert not any(o.get("name") == "stderr" for c in nb.cells for o in c.outputs)
    unchanged = tests[:4]
    assert all(c.metadata.nbgrader.checksum == compute_checksum(c) for c in unchanged)
    assert changed.metadata.nbgrader.checksum != compute_checksum(changed)  # still detected


def test_error_line_is_short_and_shows_the_failing_line_of_a_bare_assert():
    arrow = "\x1b[0;32m----> 3\x1b[0m \x1b[38;5;28massert\x1b[39m x \x1b[38;5;241m==\x1b[39m 2"
    assert error_line(error("AssertionError", "", ("Traceback", f"Cell In[4]\n{arrow}\n"))) \
        == "AssertionError: assert x == 2"
    assert len(error_line(error("ValueError", "v" * 1000))) == MAX_CHARS


VALIDATE = """
import json, sys
from grader.validate import install
from nbgrader.validator import Validator
install()
print(json.dumps(Validator().validate(sys.argv[1])))
"""


def test_nbgraders_validator_reports_only_the_wrong_exercise(tmp_path):
    ensure_kernel()
    nb = ipynb.read(REPO_ROOT / "notebooks" / "01_bpe_tokenizer.ipynb")
    cells = {ipynb.grade_id(c): c for c in nb.cells}
    cells["split_on_special_tokens"].source = (
        "def split_on_special_tokens(text, special_tokens):\n"
        "    pattern = '(' + '|'.join(re.escape(t) for t in sorted(special_tokens, key=len,"
        " reverse=True)) + ')'\n"
        "    return [p for p in re.split(pattern, text) if p] if special_tokens else [text]\n")
    cells["count_pretokens"].source = ("from collections import Counter\n"
                                       "def count_pretokens(text, special_tokens):\n"
                                       "    return Counter(text.encode().split())\n")
    path = tmp_path / "01_bpe_tokenizer.ipynb"
    ipynb.write(nb, path)
    done = subprocess.run([sys.executable, "-c", VALIDATE, str(path)], cwd=tmp_path,
                          env=kernel_env(REPO_ROOT), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    failed = json.loads(done.stdout.splitlines()[-1])["failed"]
    names = [f["source"] for f in failed]
    assert "test_split_on_special_tokens (2 points)" not in names
    wrong = [f for f in failed if not f["raw_error"].startswith("not done yet")]
    assert [f["source"] for f in wrong] == ["test_count_pretokens (2 points)"]
    assert "pre-tokens keep their leading space" in wrong[0]["raw_error"]
    ids = [name.split(" ")[0] for name in names]
    assert ids == [ipynb.grade_id(c) for c in nb.cells if ipynb.grade_id(c) in ids]  # in order
    assert sum(len(f["source"]) + len(f["raw_error"]) for f in failed) < 2_000
