"""``grader.rules``: forbidden functions checked in the source, outside the kernel (issue 20,
class 5), on a small lesson and on lesson 02's own notebooks (seconds).

Run: ``pytest grader/tests/test_rules.py``.
"""
from __future__ import annotations

import copy

import pytest
from nbformat.v4 import new_code_cell, new_notebook

from grader import ipynb, rules
from grader.paths import Layout


def graded(gid, source, solution=False):
    meta = {"nbgrader": {"grade": not solution, "solution": solution, "grade_id": gid,
                         "locked": not solution, "points": 0 if solution else 1,
                         "schema_version": 3}}
    return new_code_cell(source, metadata=meta)


SOURCE = new_notebook(cells=[
    graded("softmax", "def softmax(x, dim):\n    e = (x - x.max(dim, keepdim=True).values).exp()"
                      "\n    return e / e.sum(dim, keepdim=True)", solution=True),
    graded("test_softmax", '_NO = ("torch.softmax",\n       "torch.Tensor.softmax")\n'
                           "with _forbidden(*_NO):\n    softmax(x, -1)"),
    graded("adam", "class AdamW:\n    def step(self):\n        pass", solution=True),
    graded("test_adam", 'with _forbidden("torch.optim.AdamW.step"):\n    AdamW().step()'),
    new_code_cell("import torch  # given"),
])
RELEASED = copy.deepcopy(SOURCE)

# The attack: torch.softmax kept from before the test patches it, put back for the call.
ATTACKS = [
    "_saved = torch.softmax\ndef softmax(x, dim):\n    return _saved(x, dim)",
    "def softmax(x, dim):\n    return x.softmax(dim)",
    "from torch import softmax as s\ndef softmax(x, dim):\n    return s(x, dim)",
    'def softmax(x, dim):\n    return getattr(torch, "soft" + "max")(x, dim)',
    'def softmax(x, dim):\n    return getattr(torch, "softmax")(x, dim)',
    "def softmax(x, dim):\n    return eval('torch.soft' + 'max')(x, dim)",
    "import importlib\ndef softmax(x, dim):\n"
    "    return importlib.import_module('torch').softmax(x, dim)",
    "def softmax(x, dim):\n    return torch._C._VariableFunctions._softmax(x, dim, False)",
    "%time _saved = torch.softmax\ndef softmax(x, dim):\n    return _saved(x, dim)",
]


@pytest.mark.parametrize("attack", ATTACKS)
def test_forbidden_functions_are_found_in_the_source(attack):
    nb = copy.deepcopy(SOURCE)
    nb.cells[0].source = attack
    broken = rules.check(SOURCE, RELEASED, nb)
    assert set(broken) == {"test_softmax"}
    assert broken["test_softmax"].startswith("rules checked outside your kernel: this exercise "
                                             "must not use torch.")


def test_an_added_cell_counts_and_a_method_rule_needs_its_class():
    nb = copy.deepcopy(SOURCE)
    nb.cells.insert(0, new_code_cell("import torch\nOpt = torch.optim.AdamW"))
    assert set(rules.check(SOURCE, RELEASED, nb)) == {"test_adam"}
    assert rules.check(SOURCE, RELEASED, SOURCE) == {}  # own step(), own softmax(): fine


def test_rules_are_read_from_the_tests():
    found = rules.rules(SOURCE)
    assert found["test_softmax"] == {"names": ["torch.Tensor.softmax", "torch.softmax"],
                                     "cells": ["softmax"]}


def test_lesson_02_solution_and_student_notebook_break_no_rule():
    layout = Layout()
    lesson = "02_transformer_lm"
    source = ipynb.read(layout.solution(lesson))
    released = ipynb.read(layout.notebooks / f"{lesson}.ipynb")
    assert set(rules.rules(source)) >= {"test_softmax", "test_cross_entropy", "test_AdamW",
                                        "test_scaled_dot_product_attention"}
    assert rules.check(source, released, source) == {}
    assert rules.check(source, released, released) == {}
    attack = copy.deepcopy(source)
    [cell] = [c for c in attack.cells if ipynb.grade_id(c) == "softmax"]
    cell.source = "import torch\n_keep = torch.softmax\n" + cell.source.replace(
        "### BEGIN SOLUTION", "### BEGIN SOLUTION\n    return _keep(x, dim)")
    assert set(rules.check(source, released, attack)) == {"test_softmax"}
