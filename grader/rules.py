"""Forbidden functions, checked in the submission's source, outside the kernel.

A lesson's test cells forbid library functions while they call the student's code
(lesson 02: ``with _forbidden("torch.softmax", ...): softmax(x)``). That check runs in the
student's kernel, so code that puts the functions back for the duration of the call
defeats it (issue 20, class 5). The grader therefore reads the same rules from the lesson
source (the ``_forbidden(...)`` calls of each test cell, with tuple constants such as
``_NO_SOFTMAX = (...)`` resolved) and checks the student's *source*, in the grader process:

- which code: the solution cells of the exercise a test grades (those between the previous
  test cell and it, by ``grade_id``) and every code cell the student added or changed
  (not a graded cell, not identical to a cell of the released notebook);
- a use of a forbidden ``a.b.name``: an attribute ``.name`` (or one containing it, e.g.
  ``._softmax``), an import of it, or a call argument naming it in a string
  (``getattr(F, "softmax")``); for a method of a class (``torch.optim.Adam.step``), a
  reference to that class;
- lookups that hide what they fetch (``getattr`` with a computed name, ``eval``, ``exec``,
  ``__import__``, ``importlib``, ``sys.modules``, ``__dict__``, ``vars``, ``globals``,
  ``attrgetter``, ``torch.ops``, ``torch._C``, magics, ``pickle``...) count as using every
  forbidden function. Cells are read as IPython runs them (magics translated).

A test whose rule is broken scores 0, with the reason in its test cell and the result's
``checks``. Tested in ``grader/tests/test_rules.py`` (and on lesson 02's solution there).
"""
from __future__ import annotations

import ast

from IPython.core.inputtransformer2 import TransformerManager

DYNAMIC = {"eval", "exec", "__import__", "vars", "globals", "compile", "get_ipython",
           "run_line_magic", "run_cell_magic", "run_cell"}
HIDING_MODULES = {"importlib", "operator", "sys", "builtins", "pickle", "marshal", "ctypes",
                  "types", "inspect", "runpy"}
DYNAMIC_ATTRS = {"__dict__", "__getattribute__", "attrgetter", "modules", "ops", "_C",
                 "import_module"}


def _strings(node: ast.AST, constants: dict[str, tuple[str, ...]]) -> tuple[str, ...]:
    """The strings a tuple expression stands for (``("a",) + _NO_X``), else ()."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return (node.value,)
    if isinstance(node, (ast.Tuple, ast.List)):
        return tuple(s for elt in node.elts for s in _strings(elt, constants))
    if isinstance(node, ast.Name):
        return constants.get(node.id, ())
    if isinstance(node, ast.Starred):
        return _strings(node.value, constants)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _strings(node.left, constants) + _strings(node.right, constants)
    return ()


def _parse(source: str) -> ast.AST | None:
    try:
        return ast.parse(source)
    except SyntaxError:
        return None


def rules(nb) -> dict[str, dict[str, object]]:
    """``{test grade_id: {"names": forbidden dotted names, "cells": exercise grade_ids}}``
    from a lesson's source notebook (``_forbidden(...)`` calls in its test cells)."""
    constants: dict[str, tuple[str, ...]] = {}
    found: dict[str, dict[str, object]] = {}
    exercise: list[str] = []
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        gid = meta.get("grade_id", "")
        if cell.cell_type != "code":
            continue
        if meta.get("solution") and gid:
            exercise.append(gid)
        if not (meta.get("grade") and not meta.get("solution")):
            continue
        tree = _parse(cell.source)
        names: set[str] = set()
        for node in ast.walk(tree) if tree else ():
            if isinstance(node, ast.Assign) and len(node.targets) == 1 \
                    and isinstance(node.targets[0], ast.Name):
                value = _strings(node.value, constants)
                if value:
                    constants[node.targets[0].id] = value
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "_forbidden":
                names.update(s for arg in node.args for s in _strings(arg, constants))
        if names:
            found[gid] = {"names": sorted(names), "cells": list(exercise)}
        exercise = []
    return found


def _checked_code(nb, released, cells: list[str]) -> list[ast.AST]:
    given = {c.source.strip() for c in released.cells if c.cell_type == "code"}
    trees = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        meta = cell.metadata.get("nbgrader", {})
        gid = meta.get("grade_id", "")
        if gid in cells or (not gid and cell.source.strip() not in given):
            tree = _parse(TransformerManager().transform_cell(cell.source))
            if tree is not None:  # a cell that does not parse does not run either
                trees.append(tree)
    return trees


def uses(tree: ast.AST, name: str) -> str | None:
    """How ``tree`` uses the dotted ``name`` (or hides what it looks up), else None."""
    parts = name.split(".")
    last, owner = parts[-1], parts[-2] if len(parts) > 1 else ""
    is_method = owner[:1].isupper() and owner != "Tensor"
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            fname = getattr(func, "id", None) or getattr(func, "attr", None)
            if fname in DYNAMIC:
                return f"{fname}()"
            if fname == "getattr" and len(node.args) > 1 and not (
                    isinstance(node.args[1], ast.Constant)):
                return "getattr with a computed name"
            for arg in node.args:
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str) \
                        and last in arg.value and not is_method:
                    return f"the string {arg.value!r}"
        if isinstance(node, ast.Attribute):
            if node.attr in DYNAMIC_ATTRS:
                return f".{node.attr}"
            if is_method and node.attr == owner:
                return owner
            if not is_method and last in node.attr:
                return f".{node.attr}"
        if isinstance(node, ast.Name) and is_method and node.id == owner:
            return owner
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                if alias.name.split(".")[0] in HIDING_MODULES:
                    return f"import {alias.name}"
                if (not is_method and last in alias.name.split(".")[-1]) or \
                        (is_method and alias.name == owner):
                    return f"import {alias.name}"
    return None


def check(source_nb, released_nb, nb) -> dict[str, str]:
    """``{test grade_id: reason}`` for the tests whose rules the submission ``nb`` breaks."""
    broken = {}
    for gid, rule in rules(source_nb).items():
        trees = _checked_code(nb, released_nb, rule["cells"])
        for name in rule["names"]:
            how = next((u for u in (uses(t, name) for t in trees) if u), None)
            if how:
                broken[gid] = (f"rules checked outside your kernel: this exercise must not "
                               f"use {name} ({how[:60]} in your code)")
                break
    return broken
