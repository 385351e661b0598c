"""Loading a lesson's spec: ``solutions/trusted/<lesson>.py`` and its ``CASES``.

A spec is instructor code: it runs in the reference subprocess (``grader.trusted.expected``)
and in tests, never in the grader process (which reads only the reference's plain-data
files) and never in a student's kernel.

Tested in ``grader/tests/test_trusted.py``.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

from grader.errors import GraderError
from grader.trusted.cases import Case


def spec_path(root: Path, lesson: str) -> Path:
    return Path(root) / "solutions" / "trusted" / f"{lesson}.py"


def load_spec_module(path: Path):
    """The spec file as a module."""
    module_spec = importlib.util.spec_from_file_location(f"trusted_{Path(path).stem}", path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module


def load_spec(path: Path) -> dict[str, list[Case]]:
    """The ``CASES`` of a spec file: ``{test grade_id: [Case, ...]}``."""
    cases = getattr(load_spec_module(path), "CASES", None)
    if not isinstance(cases, dict) or not all(
            isinstance(v, list) and v and all(isinstance(c, Case) for c in v)
            for v in cases.values()):
        raise GraderError(f"{path}: CASES must be {{test grade_id: [Case(...), ...]}}")
    return cases
