"""Import a notebook's definitions as a module, without running its heavy cells.

The loader lives in ``helpers.nbmodule`` (helpers use it too, and helpers never import the
grader); the grader and its tests import it from here or from there, the same function.

Tested in ``grader/tests/test_nbmodule.py``.
"""
from __future__ import annotations

from helpers.nbmodule import load_notebook

__all__ = ["load_notebook"]
