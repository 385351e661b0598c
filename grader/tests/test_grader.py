"""End-to-end tests of the pipeline on the toy lesson: generate, check, strip, execute,
samples and autograde (nbgrader and Jupyter kernels for real).

Run: ``pytest grader/tests/test_grader.py`` (about 50 s on 2 cores; Jupyter kernels dominate).
"""
from __future__ import annotations

import csv
import json
import time
from html import escape

import nbformat
import psutil
import pytest
from toy import TOY, make_kit, toy_notebook, with_solution

from grader import gradebook, ipynb
from grader.autograde import autograde
from grader.check import check
from grader.course import Course
from grader.execute import execute
from grader.generate import generate, strip_files
from grader.intake import intake
from grader.samples import make_samples

WARNS = ('import sys, warnings\nwarnings.warn("a harmless warning")\n'
         'print("progress 100%", file=sys.stderr)\nreturn a + b')
# student -> (score out of 3, status): the toy's test_add is worth 1 point, test_mul 2.
EXPECTED = {
    "solution": (3, "graded"),
    "untouched": (0, "graded"),
    "partial": (1, "graded"),      # mul left as nbgrader's stub
    "raises": (2, "graded"),       # add raises RuntimeError
    "endless": (1, "graded"),      # mul loops: its test is cut after the per-cell timeout
    "warns": (3, "graded"),        # add writes a warning and progress to stderr
    "dies": (0, "error"),          # add kills the kernel: nbgrader fails the notebook
    "corrupt": (0, "invalid"),     # not JSON
    "not_a_notebook": (0, "invalid"),
    "absent": (0, "missing"),      # a student folder without 99_toy.ipynb
}


def test_generate_is_byte_stable_and_hides_solutions(kit):
    assert generate(kit) == {TOY: True}
    assert generate(kit, ["99"]) == {TOY: False}  # same bytes again
    text = kit.student_notebook(TOY).read_text()
    assert "raise NotImplementedError()" in text and "return a + b" not in text
    assert "_hidden_add_cases" not in text and "BEGIN SOLUTION" not in text
    assert check(kit) == []


def test_check_reports_stale_unstripped_and_orphan_notebooks(kit):
    generate(kit)
    nb = ipynb.read(kit.solution(TOY))
    nb.cells[5].source = nb.cells[5].source.replace("should be 3", "must be 3")
    nb.cells[2].execution_count = 7
    nbformat.write(nb, str(kit.solution(TOY)))
    (kit.notebooks / "98_gone.ipynb").write_text(ipynb.dumps(toy_notebook()))
    problems = check(kit)
    assert len(problems) == 3, problems
    assert problems[0].startswith(
        "solutions/99_toy.ipynb: cell 2 has an execution count (run: python -m grader strip")
    assert "notebooks/99_toy.ipynb is stale" in problems[1]
    assert "(run: python -m grader generate 99_toy)" in problems[1]
    assert problems[2].startswith("notebooks/98_gone.ipynb: no source solutions/98_gone.ipynb")


def test_execute_passes_parameters_and_strip_cleans_the_copy(kit):
    [run] = execute(kit, parameters={"scale": "full", "seed": 3})
    assert run.ok and run.output == kit.executed / f"{TOY}.ipynb"
    cells = ipynb.read(run.output).cells
    outputs = [o.get("text", "") for c in cells for o in c.get("outputs", [])]
    assert "scale=full device=auto seed=3\n" in outputs
    assert "add then mul, repeated: [2, 4, 6]\n" in outputs  # REPEATS = 3 at full scale
    assert strip_files([run.output]) == [run.output] and strip_files([run.output]) == []
    assert ipynb.run_leftovers(ipynb.read(run.output)) == []


def test_execute_summarizes_the_failing_cell(kit):
    generate(kit)
    [run] = execute(kit, source="notebooks")
    assert run.error == "cell [4]: NotImplementedError"


def test_samples_are_deterministic(kit):
    first = {s: p.read_bytes() for s, p in make_samples(kit, TOY).items()}
    assert {s: p.read_bytes() for s, p in make_samples(kit, TOY).items()} == first
    sources = {s: text.decode() for s, text in first.items()}
    assert 'raise RuntimeError(\\"sample submission that raises\\")' in sources["raises"]
    assert "while True: pass" in sources["endless"]
    partial = ipynb.read(kit.samples / TOY / "partial" / f"{TOY}.ipynb")
    assert [("NotImplementedError" in c.source) for c in ipynb.exercises(partial)] == [False, True]


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Autograde the samples plus hand-made failures once, with 2 workers."""
    kit = make_kit(tmp_path_factory.mktemp("graded") / "kit")
    folder = kit.root / "submissions"
    make_samples(kit, TOY, out_dir=folder)
    ipynb.write(with_solution(toy_notebook(), "add", WARNS), folder / "warns" / f"{TOY}.ipynb")
    ipynb.write(with_solution(toy_notebook(), "add", "import os\nos._exit(1)"),
                folder / "dies" / f"{TOY}.ipynb")
    (folder / "corrupt.ipynb").write_text('{"cells": [')  # flat layout: <student>.ipynb
    (folder / "not_a_notebook.ipynb").write_text('{"hello": "world"}')
    (folder / "absent").mkdir()
    (folder / "absent" / "notes.txt").write_text("forgot the notebook")
    results = autograde(TOY, folder, layout=kit, cell_timeout=5, workers=2)
    return kit, {r.student: r for r in results}


def test_autograde_scores(graded):
    _, results = graded
    assert {s: (r.score, r.status) for s, r in results.items()} == EXPECTED
    assert all(r.max_score == 3 for r in results.values())
    assert results["raises"].tests == {"test_add": 0.0, "test_mul": 2.0}
    assert results["dies"].reason == "nbgrader autograde failed: DeadKernelError: Kernel died"
    assert results["corrupt"].reason.startswith("not a valid notebook (NotJSONError")
    assert results["absent"].reason == f"no {TOY}.ipynb in the student's folder"


def test_feedback_hides_hidden_tests_and_explains_zeros(graded):
    kit, results = graded
    course = Course(kit.course, kit.root)
    for student, result in results.items():
        assert result.feedback == course.feedback(student, TOY)
        html = result.feedback.read_text()
        if result.status != "graded":  # a page of ours with the reason
            assert "Score: 0 / 3" in html and escape(result.reason) in html
            continue
        assert "_hidden_add_cases" not in html and "HIDDEN TESTS" not in html, student
        assert "_hidden_add_cases" in course.autograded(student, TOY).read_text()
    assert "should be 6" in results["partial"].feedback.read_text()  # not a hidden line


def test_gradebook_and_csv_agree_with_the_results(graded):
    kit, results = graded
    course = Course(kit.course, kit.root)
    with open(kit.course / "grades.csv") as f:
        rows = {row["student"]: row for row in csv.DictReader(f)}
    assert set(rows) == set(results)  # failures are in the gradebook too, with 0 points
    for student, result in results.items():
        row = rows[student]
        assert (row["assignment"], row["status"]) == (TOY, result.status)
        assert row["reason"] == result.reason
        assert (float(row["score"]), float(row["max_score"])) == (result.score, 3.0)
        assert (float(row["test_add"]), float(row["test_mul"])) == \
            (result.tests["test_add"], result.tests["test_mul"])
        if result.status == "graded":
            assert gradebook.scores(course, TOY, student) == result.tests
    assert json.loads((kit.course / "status.json").read_text())[TOY]["dies"]["status"] == "error"


def test_notebook_timeout_kills_the_whole_run(kit, tmp_path):
    folder = tmp_path / "submissions"
    make_samples(kit, TOY, out_dir=folder)
    for student in ("solution", "untouched", "partial", "raises"):
        (folder / student / f"{TOY}.ipynb").unlink()
        (folder / student).rmdir()
    start = time.monotonic()
    [result] = autograde(TOY, folder, layout=kit, cell_timeout=600, notebook_timeout=8)
    assert (result.student, result.score, result.status) == ("endless", 0, "timeout")
    assert result.reason == "stopped after the 8 s limit per notebook"
    assert time.monotonic() - start < 60
    time.sleep(0.5)
    leftovers = [p for p in psutil.process_iter(["cmdline"])
                 if "ipykernel_launcher" in " ".join(p.info["cmdline"] or [])
                 and str(kit.root) in _environ(p).get("PYTHONPATH", "")]
    assert leftovers == []


def _environ(process: psutil.Process) -> dict[str, str]:
    try:
        return process.environ()
    except (psutil.AccessDenied, psutil.NoSuchProcess, psutil.ZombieProcess):
        return {}


def test_intake_reads_both_layouts(tmp_path):
    subs, dest = tmp_path / "subs", tmp_path / "copies"
    (subs / "alice").mkdir(parents=True)
    (subs / "alice" / f"{TOY}.ipynb").write_text("{}")
    (subs / "bob.ipynb").write_text("{ }")
    (subs / ".ipynb_checkpoints").mkdir()
    (subs / "README.md").write_text("ignored")
    found = intake(subs, TOY, dest)
    assert [(s.student, s.path) for s in found] == \
        [("alice", dest / "alice.ipynb"), ("bob", dest / "bob.ipynb")]
    assert (dest / "bob.ipynb").read_text() == "{ }"  # the grader's own copy
    (subs / "bob").mkdir()
    with pytest.raises(Exception, match="two submissions for student 'bob'"):
        intake(subs, TOY, dest)
