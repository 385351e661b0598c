"""Unit tests of the lesson structure rules of ``python -m grader check``.

Run: ``pytest grader/tests/test_check.py``. (Staleness is tested end to end in
``test_grader.py``.)
"""
from __future__ import annotations

import copy

from toy import toy_notebook

from grader.check import structure


def cell(nb, grade_id):
    [found] = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id]
    return found


def test_the_toy_lesson_is_well_formed():
    assert structure(toy_notebook()) == []


def test_wrong_kernel_and_missing_parameters_are_reported():
    nb = toy_notebook()
    nb.metadata.kernelspec.name = "python3"
    [params] = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    params.source = 'scale = "smoke"'
    assert structure(nb) == ["kernelspec is 'python3', not 'lmkit'",
                             "the parameters cell does not set device, seed"]
    params.metadata.tags = []
    assert "0 cells tagged 'parameters' (papermill needs exactly one)" in structure(nb)


def test_an_exercise_needs_a_test_cell_named_after_it():
    nb = toy_notebook()
    nb.cells.remove(cell(nb, "test_mul"))
    assert structure(nb) == [
        "cell 7 (mul): exercise without a test cell whose grade_id is 'test_mul'"]


def test_a_test_cell_needs_hidden_tests_and_points():
    nb = copy.deepcopy(toy_notebook())
    test = cell(nb, "test_add")
    test.source = 'assert add(1, 2) == 3, "add(1, 2) should be 3"'
    test.metadata.nbgrader.points = 0
    assert structure(nb) == [
        "cell 5 (test_add): test cell without points",
        "cell 5 (test_add): no hidden tests (### BEGIN HIDDEN TESTS ... ### END HIDDEN TESTS)",
    ]
