"""The trusted compare: hidden tests that do not trust the student's kernel.

nbgrader runs hidden tests in the kernel that ran the student's code, so that code can
defeat them (an object equal to everything, a patched ``numpy.testing``, errors swallowed
by ``set_custom_exc``). For a lesson with ``solutions/trusted/<lesson>.py``, the grader
calls the notebook's functions on hidden inputs in the student's kernel, takes back plain
data only, and judges it outside the kernel. One job per module:

    cases      what a spec is written with: ``Case`` and one keyword builder per driver
    spec       loading a spec file and its ``CASES``
    expected   the solution's answers, in a subprocess (``python -m grader.trusted``)
    plain      plain data: encoding, decoding, files (kernel side)
    calls      names in a notebook's namespace, the case time limit (kernel side)
    drivers    glue for APIs beyond ``f(*args)``: modules, optimizers, files, kernels, ranks
    runner     what runs in the student's kernel: calls the cases, writes plain data
    comparison reading the kernel's outputs as untrusted data, comparing, the cell's verdict
    verdict    the line a student reads when cases fail, with the cases' hints
    grading    prepare, set up, append runner cells, apply, annotate (``grader.autograde``)

Imports go one way (cases -> plain, verdict; runner -> calls, plain, drivers -> calls;
comparison -> plain, verdict; expected -> spec, runner, comparison; grading -> comparison,
spec, plain): no cycles. This file imports none of them: the student's kernel imports
``runner`` without numpy, and the names below load on first use (``from grader.trusted
import Case``).

Guides: ``solutions/README.md`` (writing cases), ``grader/README.md`` (the threat model).
Tested in ``grader/tests/test_trusted.py`` and ``test_hostile.py``.
"""
from __future__ import annotations

import importlib

_EXPORTS = {
    "cases": ("Case", "Args", "args", "recipe", "module_case", "with_module_case",
              "autograd_case", "optimizer_steps_case", "clip_gradients_case",
              "with_files_case", "iterate_case", "with_objects_case", "checkpoint_case",
              "launch_case", "with_service_case", "with_statistic_case", "with_clock_case",
              "on_ranks_case"),
    "spec": ("spec_path", "load_spec_module", "load_spec"),
    "expected": ("reference", "case_limit", "CASE_LIMIT_MIN_S", "CASE_LIMIT_FACTOR"),
    "comparison": ("read_output", "compare", "check_record", "check_cell", "MAX_OUTPUT_BYTES"),
    "grading": ("Trusted", "prepare", "setup", "runner_cells", "without_runner_cells",
                "apply", "annotate", "MARKER"),
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module 'grader.trusted' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"grader.trusted.{_WHERE[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
