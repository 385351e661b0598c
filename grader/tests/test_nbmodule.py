"""Unit tests of ``grader.nbmodule``: definitions load, heavy cells and test cells do not run.

Run: ``pytest grader/tests/test_nbmodule.py``.
"""
from __future__ import annotations

import os
import sys
from textwrap import dedent

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
from toy import FIXTURES, TOY

from grader.nbmodule import load_notebook

TEST_CELL = {"nbgrader": {"grade": True, "solution": False, "locked": True,
                          "grade_id": "test_encode", "points": 1, "schema_version": 3}}
CELLS = [
    new_markdown_cell("# A lesson"),
    new_code_cell(dedent("""\
        from __future__ import annotations
        import math
        import re
        from dataclasses import dataclass""")),
    new_code_cell(dedent("""\
        %matplotlib inline
        !echo shell
        VOCAB_SIZE = 256
        NAME: str = "bpe"
        DOUBLE = VOCAB_SIZE * 2
        PAIR = (NAME, -1)
        TAU = math.tau
        limits = {"max": DOUBLE}
        NUMBER_RE = re.compile(r"\\d+")  # ALL_CAPS: a constant, whatever the value
        numbers = NUMBER_RE.findall("heavy 1 2 3")""")),
    new_code_cell(dedent("""\
        def add_to_class(cls):
            def wrap(fn):
                setattr(cls, fn.__name__, fn)
                return fn
            return wrap

        @dataclass
        class Config:
            device: NotDefinedAnywhere = None  # fine: annotations are strings (future import)

        class Tokenizer:
            pass""")),
    new_code_cell(dedent("""\
        @add_to_class(Tokenizer)
        def encode(self, text):
            return list(text.encode())""")),
    new_code_cell('raise RuntimeError("a heavy cell ran")'),
    new_code_cell(dedent("""\
        tokens = Tokenizer().encode("heavy")
        print(tokens)
        for _ in range(10**12):
            pass
        model = train(VOCAB_SIZE)
        _O = train(DOUBLE)  # a scratch name, not a constant, though "_O".isupper()
        math.pi = 3
        limits["max"] = 0""")),
    new_code_cell("%%time\nraise RuntimeError('a cell magic ran')"),
    new_code_cell('raise AssertionError("a test cell ran")', metadata=TEST_CELL),
]


@pytest.fixture
def notebook(tmp_path):
    path = tmp_path / "05_demo.ipynb"
    nbformat.write(new_notebook(cells=CELLS), str(path))
    return path


def test_definitions_and_constants_load(notebook):
    mod = load_notebook(notebook)
    assert (mod.VOCAB_SIZE, mod.NAME, mod.DOUBLE, mod.PAIR, mod.limits) == \
        (256, "bpe", 512, ("bpe", -1), {"max": 512})
    assert mod.TAU == mod.math.tau
    assert mod.NUMBER_RE.findall("a1b22") == ["1", "22"]
    assert mod.Tokenizer().encode("hi") == [104, 105]  # attached by the decorated def
    assert mod.Config().device is None


def test_heavy_cells_test_cells_and_magics_are_skipped(notebook):
    mod = load_notebook(notebook)  # would raise if any of them ran
    assert not any(hasattr(mod, name) for name in ("tokens", "model", "numbers", "_O"))
    assert mod.math.pi != 3


def test_module_is_named_registered_and_cached(notebook):
    mod = load_notebook(notebook)
    assert mod.__name__ == "nb_05_demo" and sys.modules["nb_05_demo"] is mod
    assert load_notebook(str(notebook)) is mod
    os.utime(notebook, ns=(0, notebook.stat().st_mtime_ns + 10**9))  # edited: reloaded
    assert load_notebook(notebook) is not mod
    assert load_notebook(notebook, name="custom").__name__ == "custom"


def test_errors_in_definitions_point_at_the_cell(tmp_path):
    path = tmp_path / "bad.ipynb"
    nbformat.write(new_notebook(cells=[new_code_cell("@undefined_decorator\ndef f():\n    pass")]),
                   str(path))
    with pytest.raises(NameError) as err:
        load_notebook(path)
    assert "<bad.ipynb cell 0>" in str(err.traceback[-1].path)
    assert "nb_bad" not in sys.modules


def test_the_toy_lesson_loads_without_running_its_tests():
    mod = load_notebook(FIXTURES / f"{TOY}.ipynb")
    assert (mod.add(2, 3), mod.mul(2, 3)) == (5, 6)
    assert mod.REPEATS == 1  # ALL_CAPS, from the default `scale` parameter
