"""The untrusted half of the trusted compare: call notebook functions, write plain data.

Runs in two places with the same code: in the student's sandboxed kernel after nbgrader
has executed their notebook (one cell per graded test cell, appended by
``grader.trusted.grading``), and in the reference subprocess (``grader.trusted.expected``)
on the solution's definitions. It never decides a grade; ``grader.trusted.comparison`` judges
what it wrote.

- A case's record is ``{"value": ...}`` (plain data, ``grader.trusted.plain``),
  ``{"raised": "ValueError"}`` or ``{"error": "..."}`` (a value that is not plain data).
- **Drivers.** A call that starts with ``@`` runs a function of ``grader.trusted.drivers``
  (imported only then) with the namespace first: glue that builds modules with given
  weights, parameters with gradients, files or iterators from plain inputs.
- One file pair per test cell (``<grade_id>.json``, ``<grade_id>.npz``), written at the end
  of the cell: a cell cut by the timeout leaves none, and its cases fail. Each case runs
  under its time limit (``"limit"``, from the reference's time).
- Light: imports only the standard library, ``calls`` and ``plain`` (numpy when a value
  needs it).

Tested in ``grader/tests/test_trusted.py`` and ``test_hostile.py``.
"""
from __future__ import annotations

import os

from grader.trusted.calls import CaseTimeout, lookup
from grader.trusted.plain import NotPlain, decode, encode, load_inputs, write

__all__ = ["CaseTimeout", "NotPlain", "decode", "encode", "load_inputs", "lookup", "run_case",
           "run_cell", "timed_case", "write"]


def _driver(name: str):
    """The driver ``name`` of ``grader.trusted.drivers`` (its public functions only)."""
    from grader.trusted import drivers

    if name.startswith("_") or name not in drivers.DRIVERS:
        raise NameError(f"no driver {name!r}")
    return getattr(drivers, name)


def run_case(namespace: dict, case: dict, inputs, arrays: dict) -> dict:
    """Call one case; its record (``value``, ``raised`` or ``error``)."""
    try:
        args = decode(case["args"], inputs)
        kwargs = decode(case["kwargs"], inputs)
        if case["call"].startswith("@"):  # a driver (grader.trusted.drivers) builds the call
            driver = _driver(case["call"][1:])

            def function(*a, **k):
                return driver(namespace, *a, **k)
        elif case.get("init") is not None:  # an instance method: build the object first
            init_args, init_kwargs = decode(case["init"], inputs)
            head, method = case["call"].rsplit(".", 1)
            function = getattr(lookup(namespace, head)(*init_args, **init_kwargs), method)
        else:
            function = lookup(namespace, case["call"])
        result = function(*args, **kwargs)
        if case.get("attrs"):
            result = {name: getattr(result, name) for name in case["attrs"]}
    except Exception as err:  # the student's exception is the case's result
        return {"raised": type(err).__name__[:80]}
    mark = len(arrays)
    try:
        return {"value": encode(result, arrays)}
    except NotPlain as err:
        for key in list(arrays)[mark:]:
            del arrays[key]
        return {"error": f"returned {err}, not plain data"}
    except Exception as err:  # a hostile object's __getattr__, len, ...
        return {"error": f"returned a value that could not be read ({type(err).__name__})"}


_LOADED: dict = {}  # the inputs this kernel read: {(folder, mtime): (cases, arrays)}


def _alarm(signum, frame):
    raise CaseTimeout


def timed_case(namespace: dict, case: dict, inputs, arrays: dict) -> dict:
    """``run_case`` under the case's time limit (``"limit"``, seconds, set by the grader from
    the reference's time): a function that runs past it is stopped (``{"raised":
    "CaseTimeout"}``), so an endless exercise costs its test cell's timeout once, not twice."""
    import signal
    import threading

    limit = case.get("limit")
    if not limit or threading.current_thread() is not threading.main_thread():
        return run_case(namespace, case, inputs, arrays)
    previous = signal.signal(signal.SIGALRM, _alarm)
    try:
        signal.setitimer(signal.ITIMER_REAL, float(limit))
        try:
            return run_case(namespace, case, inputs, arrays)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
    except CaseTimeout:
        return {"raised": "CaseTimeout"}
    finally:
        signal.signal(signal.SIGALRM, previous)


def run_cell(namespace: dict, folder: str, grade_id: str) -> None:
    """The kernel's entry point: one test cell's cases, inputs from ``folder``, outputs
    written to ``folder/out``. When ``folder`` cannot be reached by its absolute path (a
    grading folder under a directory other users cannot enter, e.g. a cluster dir in a 0700
    tree), ``../trusted`` from the kernel's working directory, its home, is tried."""
    if not os.access(os.path.join(folder, "inputs.json"), os.R_OK):
        folder = os.path.join(os.pardir, os.path.basename(folder))
    key = (folder, os.stat(os.path.join(folder, "inputs.json")).st_mtime_ns)
    if key not in _LOADED:  # read once per grading, not once per cell
        _LOADED.clear()
        _LOADED[key] = load_inputs(folder)
    cases, inputs = _LOADED[key]
    arrays: dict = {}
    records: list = []
    for case in cases[grade_id]:  # after a case timed out, the rest of the cell fail fast
        stopped = records and records[-1].get("raised") == "CaseTimeout"
        records.append({"raised": "CaseTimeout"} if stopped
                       else timed_case(namespace, case, inputs, arrays))
    write(os.path.join(folder, "out"), grade_id, {"records": records}, arrays)
    failed = sum("value" not in r and "raised" not in r for r in records)
    print(f"hidden checks of {grade_id}: {len(records)} run"
          + (f", {failed} not plain data" if failed else ""))

