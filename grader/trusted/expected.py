"""The reference: the solution's answers to a spec's cases (a subprocess of the grader).

``python -m grader.trusted reference SPEC SOLUTION OUT`` (run by
``grader.trusted.grading.prepare``) loads the spec (``grader.trusted.spec``) and the
solution's definitions (``grader.nbmodule``), writes the cases' inputs (``OUT/inputs.*``,
what the student's kernel reads) and the expected records with each case's options and
hint (``OUT/expected/<grade_id>.*``, never in a kernel's sight), through the same runner
the kernel uses (``grader.trusted.runner``). The grader process imports neither the spec
nor the solution.

A case's time limit in the kernel comes from its time here (``case_limit``). The reference
stops, naming the case, when the solution raises an exception the case does not declare
(``.raises``), or misses the case's own ``.expect`` value.

Tested in ``grader/tests/test_trusted.py``.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

from grader import ipynb
from grader.errors import GraderError
from grader.trusted import plain
from grader.trusted.cases import SOLUTION
from grader.trusted.comparison import check_record
from grader.trusted.runner import run_case
from grader.trusted.spec import load_spec

CASE_LIMIT_MIN_S, CASE_LIMIT_FACTOR = 10.0, 50.0  # see case_limit


def reference(spec: Path, solution: Path, out: Path) -> None:
    """Write ``inputs.*`` and ``expected/<grade_id>.*`` for ``spec`` and ``solution``."""
    from grader.nbmodule import load_notebook

    cases = load_spec(spec)
    tests = {ipynb.grade_id(c) for c in ipynb.read(solution).cells if ipynb.is_test(c)}
    unknown = sorted(set(cases) - tests)
    if unknown:
        raise GraderError(f"{spec}: {', '.join(unknown)}: not graded test cells of {solution.name}")
    arrays: dict = {}
    inputs = {gid: [case.inputs(arrays) for case in cell] for gid, cell in cases.items()}
    out.mkdir(parents=True, exist_ok=True)
    plain.write(str(out), "inputs", inputs, arrays)
    module = load_notebook(solution)
    (out / "expected").mkdir(exist_ok=True)
    loaded, decoded = plain.load_inputs(str(out))  # exactly what the kernel reads
    for gid, cell in cases.items():
        found: dict = {}
        records = []
        for case in loaded[gid]:
            start = time.perf_counter()
            records.append(run_case(vars(module), case, decoded, found))
            inputs[gid][len(records) - 1]["limit"] = case_limit(time.perf_counter() - start)
        for n, record in enumerate(records):
            if "error" in record:
                raise GraderError(f"{spec}: {gid} case {n}: the solution {record['error']}")
            declared = cell[n].raised
            if record.get("raised") != declared:  # an exception is an answer only if declared
                got = f"raised {record['raised']}" if "raised" in record else "returned a value"
                says = (f"declares .raises({declared!r})" if declared else
                        "declares no exception (add .raises(name) if it is the answer)")
                raise GraderError(f"{spec}: {gid} case {n}: the solution {got}, but the case "
                                  + says)
        options = [case.options() for case in cell]
        for n, case in enumerate(cell):
            if case.expected is not SOLUTION:  # the spec's answer; the solution must meet it
                want = {"value": plain.encode(case.expected, found)}
                reason = check_record(want, records[n], found, found, options[n])
                if reason:
                    raise GraderError(f"{spec}: {gid} case {n}: the solution fails the case's "
                                      f"expected value ({reason})")
                records[n] = want
        plain.write(str(out / "expected"), gid, {"records": records, "options": options}, found)
    with open(out / "inputs.json", "w") as f:  # the same inputs, with each case's time limit
        json.dump(inputs, f, allow_nan=True)


def case_limit(reference_s: float) -> float:
    """A case's time limit in the student's kernel: generous (a correct but slower solution
    passes), yet an endless loop is cut long before the cell's timeout."""
    return round(max(CASE_LIMIT_MIN_S, CASE_LIMIT_FACTOR * reference_s), 1)
