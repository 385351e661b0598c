"""The trusted compare: hidden tests that do not trust the student's kernel.

nbgrader runs hidden tests in the kernel that ran the student's code, so that code can
defeat them (an object equal to everything, a patched ``numpy.testing``, errors swallowed
by ``set_custom_exc``). For a lesson with ``solutions/trusted/<lesson>.py``:

1. **Cases** (the instructor's file, hidden like ``solutions/``): per graded test cell, the
   notebook function to call and its inputs, as plain data built in the file (numbers,
   strings, bytes, lists, dicts, arrays and tensors from seeded generators), and how to
   compare (``Case`` below)::

       from grader.trusted import Case
       CASES = {"test_add": [Case("add", -1, 1), Case("add", 0.1, 0.2).close(rtol=1e-12)]}

2. **Reference** (``prepare``): a subprocess (``python -m grader.trusted reference``) loads
   the spec and the solution's definitions (``grader.nbmodule``), writes the inputs and
   the expected outputs under the course folder (root's, 0700, hidden from kernels), cached
   by the hashes of the spec, the solution and this code. The grader process imports
   neither.
3. **Untrusted runner** (``runner_cells``): one cell per test cell with cases is appended to
   the copy of the submission nbgrader executes; in the student's kernel (same sandbox and
   limits, after all of their cells) it calls the functions and writes plain data
   (``grader.trusted_runner``) to ``<workdir>/trusted/out/``. The inputs
   (``<workdir>/trusted/inputs.*``) are readable by the kernel during its run; the expected
   outputs, the spec and the solution never are.
4. **Comparer** (``apply``): in the grader process, after the kernel is gone: the outputs are
   read without following links, size-capped, with ``json.load`` and ``np.load(...,
   allow_pickle=False)``, type-checked node by node, and compared with the reference. A test
   cell with cases keeps nbgrader's score only if every case matches; otherwise 0, and a
   reason that names neither inputs nor expected values. The runner cells are removed from
   the autograded notebook.

Tested in ``grader/tests/test_trusted.py`` and ``test_hostile.py``.
"""
from __future__ import annotations

import argparse
import copy
import hashlib
import importlib.util
import io
import json
import math
import os
import shutil
import stat
import sys
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from grader import ipynb
from grader import trusted_runner as runner
from grader.errors import GraderError

MAX_OUTPUT_BYTES = 64 << 20   # per file the kernel writes; more is a failed case, never read
MARKER = "# lmkit trusted compare:"  # first line of a runner cell
CASE_LIMIT_MIN_S, CASE_LIMIT_FACTOR = 10.0, 50.0  # see case_limit
RUNNER = MARKER + ''' {grade_id} (added by the grader; not part of your notebook)
import grader.trusted_runner as _lmkit_runner
_lmkit_runner.run_cell(get_ipython().user_ns, {folder!r}, {grade_id!r})
'''


# --- the spec: what a lesson author writes --------------------------------------------------

_SOLUTION = object()  # a case's answer is the solution's output unless .expect(value) says


class Case:
    """One call of a notebook function on hidden inputs, and how to compare its result.

    ``Case("fit_power_law", x, y)`` calls ``fit_power_law(x, y)``; ``call`` may be dotted
    (``"Tokenizer.from_files"``). Options (each returns the case):

    - ``.close(rtol=..., atol=...)``: numbers and arrays within ``np.allclose`` tolerances
      (default: exact; NaN equals NaN);
    - ``.any_dtype()``: arrays and tensors of another dtype are accepted (shape always counts);
    - ``.attrs("a", "b")``: compare these attributes of the returned object (a dataclass)
      instead of the object itself;
    - ``.instance(*args, **kwargs)``: ``call`` is ``"Class.method"``; the method is called on
      ``Class(*args, **kwargs)``.

    A call that starts with ``@`` is a driver of ``grader.trusted_drivers``, called with the
    notebook's namespace first: ``Case("@module", "RMSNorm", (8,), {}, state, [x])`` builds
    ``RMSNorm(8)``, loads ``state`` and returns its output for ``x``; the others (gradients,
    optimizers, in-place updates, paths, iterators, objects, kernels, checkpoints) are listed
    in that module's docstring.

    - ``.raises("ValueError")``: the answer is an exception of that name; the solution must
      raise it, and so must the student's function. An exception the case does not declare
      stops the reference (a misspelt call, a broken input), so no case can expect one by
      accident.
    - ``.expect(value)``: the answer is ``value``, computed by the spec (a hidden truth, e.g.
      a simulated law's true optimum), not the solution's output; the solution must match it
      within the case's tolerances too, or the reference stops.
    - ``.within_factor(f)``: positive numbers and arrays match when within a factor ``f`` of
      the answer (``|ln(got / want)| <= ln f``); other values compare as usual.
    """

    def __init__(self, call: str, *args, **kwargs):
        self.call, self.args, self.kwargs = call, args, kwargs
        self.rtol: float | None = None
        self.atol = 0.0
        self.dtype = True
        self.attributes: tuple[str, ...] | None = None
        self.init: tuple[tuple, dict] | None = None
        self.raised: str | None = None
        self.expected = _SOLUTION
        self.factor: float | None = None

    def close(self, rtol: float = 1e-7, atol: float = 0.0) -> Case:
        self.rtol, self.atol = float(rtol), float(atol)
        return self

    def any_dtype(self) -> Case:
        self.dtype = False
        return self

    def attrs(self, *names: str) -> Case:
        self.attributes = names
        return self

    def raises(self, name: str) -> Case:
        """The answer is an exception of this class name (the solution must raise it)."""
        self.raised = name
        return self

    def expect(self, value) -> Case:
        """The answer is ``value`` (plain data), not the solution's output."""
        self.expected = value
        return self

    def within_factor(self, factor: float) -> Case:
        if not factor > 1:
            raise ValueError(f"within_factor needs a factor above 1, got {factor}")
        self.factor = float(factor)
        return self

    def instance(self, *args, **kwargs) -> Case:
        self.init = (args, kwargs)
        return self

    def inputs(self, arrays: dict) -> dict:
        """What the runner needs (``arrays`` collects the inputs' arrays)."""
        return {"call": self.call, "args": runner.encode(tuple(self.args), arrays),
                "kwargs": runner.encode(dict(self.kwargs), arrays),
                "init": None if self.init is None else runner.encode(self.init, arrays),
                "attrs": list(self.attributes) if self.attributes else None}

    def options(self) -> dict:
        return {"rtol": self.rtol, "atol": self.atol, "dtype": self.dtype, "factor": self.factor}


def spec_path(root: Path, lesson: str) -> Path:
    return Path(root) / "solutions" / "trusted" / f"{lesson}.py"


def load_spec_module(path: Path):
    """The spec file as a module (instructor code: run in the reference subprocess and in
    tests, never in the grader process)."""
    module_spec = importlib.util.spec_from_file_location(f"trusted_{Path(path).stem}", path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module


def load_spec(path: Path) -> dict[str, list[Case]]:
    """The ``CASES`` of a spec file."""
    cases = getattr(load_spec_module(path), "CASES", None)
    if not isinstance(cases, dict) or not all(
            isinstance(v, list) and v and all(isinstance(c, Case) for c in v) for v in cases.values()):
        raise GraderError(f"{path}: CASES must be {{test grade_id: [Case(...), ...]}}")
    return cases


# --- the reference (a subprocess of the grader) ----------------------------------------------


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
    runner.write(str(out), "inputs", inputs, arrays)
    module = load_notebook(solution)
    (out / "expected").mkdir(exist_ok=True)
    loaded, decoded = runner.load_inputs(str(out))  # exactly what the kernel reads
    for gid, cell in cases.items():
        found: dict = {}
        records = []
        for case in loaded[gid]:
            start = time.perf_counter()
            records.append(runner.run_case(vars(module), case, decoded, found))
            inputs[gid][len(records) - 1]["limit"] = case_limit(time.perf_counter() - start)
        for n, record in enumerate(records):
            if "error" in record:
                raise GraderError(f"{spec}: {gid} case {n}: the solution {record['error']}")
            declared = cell[n].raised
            if record.get("raised") != declared:  # an exception is an answer only if declared
                got = f"raised {record['raised']}" if "raised" in record else "returned a value"
                raise GraderError(f"{spec}: {gid} case {n}: the solution {got}, but the case "
                                  + (f"declares .raises({declared!r})" if declared else
                                     "declares no exception (add .raises(name) if it is the answer)"))
        options = [case.options() for case in cell]
        for n, case in enumerate(cell):
            if case.expected is not _SOLUTION:  # the spec's answer; the solution must meet it
                want = {"value": runner.encode(case.expected, found)}
                reason = check_record(want, records[n], found, found, options[n])
                if reason:
                    raise GraderError(f"{spec}: {gid} case {n}: the solution fails the case's "
                                      f"expected value ({reason})")
                records[n] = want
        runner.write(str(out / "expected"), gid, {"records": records, "options": options}, found)
    with open(out / "inputs.json", "w") as f:  # the same inputs, with each case's time limit
        json.dump(inputs, f, allow_nan=True)


def case_limit(reference_s: float) -> float:
    """A case's time limit in the student's kernel: generous (a correct but slower solution
    passes), yet an endless loop is cut long before the cell's timeout."""
    return round(max(CASE_LIMIT_MIN_S, CASE_LIMIT_FACTOR * reference_s), 1)


# --- what the grader does -------------------------------------------------------------------


@dataclass(frozen=True)
class Trusted:
    """A lesson's prepared cases: the reference folder (hidden) and the spec's hash."""

    lesson: str
    folder: Path                    # <course>/trusted/<lesson>: inputs.*, expected/
    key: str                        # sha256 of the spec file: part of the grading key
    cells: dict[str, int] = field(default_factory=dict)  # {test grade_id: number of cases}


def _hash(*parts: bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(hashlib.sha256(part).digest())
    return digest.hexdigest()


def prepare(kit_root: Path, lesson: str, solution: Path, course_root: Path,
            timeout: float = 600) -> Trusted | None:
    """Inputs and expected outputs of ``lesson``'s trusted cases (None: it has none)."""
    from grader import proc
    from grader.kernel import grading_env

    spec = spec_path(kit_root, lesson)
    if not spec.is_file():
        return None
    drivers = Path(runner.__file__).with_name("trusted_drivers.py")
    code = [Path(__file__).read_bytes(), Path(runner.__file__).read_bytes(), drivers.read_bytes()]
    cache = _hash(spec.read_bytes(), Path(solution).read_bytes(), *code)
    folder = Path(course_root) / "trusted" / lesson
    stamp = folder / "cache-key.txt"
    if not (stamp.is_file() and stamp.read_text() == cache):
        shutil.rmtree(folder, ignore_errors=True)
        log = Path(course_root) / "logs" / f"trusted-{lesson}.log"
        done = proc.run([sys.executable, "-m", "grader.trusted", "reference", str(spec),
                         str(solution), str(folder)], cwd=Path(kit_root),
                        env=grading_env(Path(kit_root)), log=log, timeout=timeout)
        if not done.ok:
            why = "timed out" if done.timed_out else done.error_summary()
            raise GraderError(f"trusted cases of {lesson}: the reference run failed: {why} "
                              f"(log: {log})")
        stamp.write_text(cache)
    cases, _ = runner.load_inputs(str(folder))
    return Trusted(lesson, folder, _hash(spec.read_bytes()),
                   {gid: len(cell) for gid, cell in cases.items()})


def setup(trusted: Trusted, workdir: Path, uid: int | None, gid: int) -> Path:
    """``workdir/trusted``: the inputs (root's, readable) and ``out/`` for the kernel."""
    folder = workdir / "trusted"
    (folder / "out").mkdir(parents=True)
    folder.chmod(0o755)
    for name in ("inputs.json", "inputs.npz"):
        if not (trusted.folder / name).exists():  # no arrays, no .npz
            continue
        shutil.copyfile(trusted.folder / name, folder / name)
        (folder / name).chmod(0o644)
    (folder / "out").chmod(0o700)
    if uid is not None:
        os.chown(folder / "out", uid, gid)
    return folder


def runner_cells(nb, trusted: Trusted, folder: Path):
    """``nb`` with one runner cell per test cell with cases, at the end."""
    import nbformat

    nb = copy.deepcopy(nb)
    for gid in trusted.cells:
        nb.cells.append(nbformat.v4.new_code_cell(
            RUNNER.format(grade_id=gid, folder=str(folder))))
    return nb


def without_runner_cells(nb):
    nb.cells = [c for c in nb.cells if not (c.cell_type == "code" and c.source.startswith(MARKER))]
    return nb


def _read_capped(dir_fd: int, name: str) -> bytes:
    fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=dir_fd)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ValueError("not a regular file")
        if info.st_size > MAX_OUTPUT_BYTES:
            raise ValueError("too large")
        with os.fdopen(os.dup(fd), "rb") as f:
            data = f.read(MAX_OUTPUT_BYTES + 1)
        if len(data) > MAX_OUTPUT_BYTES:
            raise ValueError("too large")
        return data
    finally:
        os.close(fd)


def read_output(folder: Path, name: str) -> tuple[dict, dict]:
    """``(record tree, arrays)`` of ``folder/name.{json,npz}``, read as plain data only.

    Links are not followed (``O_NOFOLLOW``, the folder too), files are capped, the npz's
    members are checked before loading (no zip bomb) and loaded with ``allow_pickle=False``.
    Raises ``ValueError`` for anything else.
    """
    try:
        dir_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError as err:
        raise ValueError(f"no output folder ({type(err).__name__})") from None
    try:
        try:
            text = _read_capped(dir_fd, f"{name}.json")
        except OSError as err:
            raise ValueError(f"no output ({type(err).__name__})") from None
        try:
            blob = _read_capped(dir_fd, f"{name}.npz")
        except FileNotFoundError:
            blob = None  # no arrays
        except OSError as err:
            raise ValueError(f"no output ({type(err).__name__})") from None
    finally:
        os.close(dir_fd)
    tree = json.loads(text.decode("utf-8"))
    if not isinstance(tree, dict) or not isinstance(tree.get("records"), list):
        raise ValueError("malformed output")
    if blob is None:
        return tree, {}
    with zipfile.ZipFile(io.BytesIO(blob)) as z:
        if sum(i.file_size for i in z.infolist()) > 4 * MAX_OUTPUT_BYTES:
            raise ValueError("arrays too large")
    with np.load(io.BytesIO(blob), allow_pickle=False) as npz:
        arrays = {key: npz[key] for key in npz.files}
    for array in arrays.values():
        if type(array) is not np.ndarray or array.dtype.kind not in "biufcUS":
            raise ValueError("not a plain array")
    return tree, arrays


# --- comparing ------------------------------------------------------------------------------

_TAGS = {"tuple", "bytes", "dict", "array", "scalar", "tensor"}


def _kind(node, arrays: dict, depth: int = 0):
    """``(kind, payload)`` of a value node, checking its types; ``ValueError`` if malformed."""
    if depth > runner.MAX_DEPTH:
        raise ValueError("nested too deeply")
    if node is None:
        return "none", None
    if type(node) is bool:
        return "bool", node
    if type(node) in (int, float):
        return "number", node
    if type(node) is str:
        return "str", node
    if type(node) is list:
        return "seq", node
    if type(node) is not dict or len(node) not in (1, 2):
        raise ValueError("malformed value")
    tag = next(iter(node))
    if tag not in _TAGS or (len(node) == 2 and set(node) != {"tensor", "dtype"}):
        raise ValueError("malformed value")
    body = node[tag]
    if tag == "tuple" and type(body) is list:
        return "seq", body
    if tag == "bytes" and type(body) is str:
        return "bytes", body
    if tag == "dict" and type(body) is list and all(type(p) is list and len(p) == 2 for p in body):
        return "dict", body
    if tag in ("array", "scalar", "tensor") and type(body) is str and body in arrays:
        array = arrays[body]
        if tag == "tensor":
            if type(node["dtype"]) is not str:
                raise ValueError("malformed tensor")
            return "tensor", (array, node["dtype"])
        if tag == "scalar" or array.ndim == 0:
            if array.ndim != 0:
                raise ValueError("malformed scalar")
            value = array[()]
            if array.dtype.kind == "b":
                return "bool", bool(value)
            return ("number", complex(value) if array.dtype.kind == "c" else
                    (int(value) if array.dtype.kind in "iu" else float(value))) \
                if array.dtype.kind in "iufc" else ("str", str(value))
        return "array", array
    raise ValueError("malformed value")


def _within_factor(want, got, factor: float) -> bool:
    """Every ``got`` positive and within ``factor`` of ``want`` (arrays elementwise)."""
    with np.errstate(all="ignore"):
        want, got = np.asarray(want, float), np.asarray(got, float)
        return bool(np.all((want > 0) & (got > 0) & (np.abs(np.log(got / want)) <= np.log(factor))))


def _numbers_match(want, got, options) -> bool:
    if options.get("factor") and not isinstance(want, complex) and not isinstance(got, complex):
        return _within_factor(want, got, options["factor"])
    if options["rtol"] is None:
        return want == got or (isinstance(want, float) and isinstance(got, float)
                               and math.isnan(want) and math.isnan(got))
    return bool(np.isclose(got, want, rtol=options["rtol"], atol=options["atol"], equal_nan=True))


def _arrays_match(want: np.ndarray, got: np.ndarray, options) -> str | None:
    if want.shape != got.shape:
        return "wrong shape"
    if options["dtype"] and want.dtype != got.dtype:
        return "wrong dtype"
    if want.dtype.kind in "US" or got.dtype.kind in "US":
        return None if want.dtype.kind == got.dtype.kind and np.array_equal(want, got) else "wrong value"
    try:
        if options.get("factor"):
            same = _within_factor(want, got, options["factor"])
        elif options["rtol"] is None:
            nan = want.dtype.kind in "fc" and got.dtype.kind in "fc"
            same = np.array_equal(want, got, equal_nan=nan)
        else:
            same = np.allclose(got, want, rtol=options["rtol"], atol=options["atol"], equal_nan=True)
    except (TypeError, ValueError):
        return "wrong value"
    return None if same else "wrong value"


def _canonical(node, arrays) -> str:
    """A dict key as a string: keys are compared exactly."""
    kind, payload = _kind(node, arrays)
    if kind in ("array", "tensor"):
        raise ValueError("an array as a dict key")
    if kind == "seq":
        return json.dumps(["seq", [_canonical(v, arrays) for v in payload]])
    return json.dumps([kind, payload], default=str)


def compare(want, got, want_arrays: dict, got_arrays: dict, options: dict, depth: int = 0) -> str | None:
    """None if ``got`` matches ``want``, else a reason that reveals no value."""
    kind, expected = _kind(want, want_arrays, depth)
    try:
        got_kind, actual = _kind(got, got_arrays, depth)
    except ValueError:
        return "unreadable result"
    if kind == "number" and got_kind == "number":
        if type(expected) is int and type(actual) is not int:  # a count returned as 48.0
            return "wrong type"
        return None if _numbers_match(expected, actual, options) else "wrong value"
    if kind != got_kind:
        return "wrong type"
    if kind in ("none", "bool", "str", "bytes"):
        return None if expected == actual else "wrong value"
    if kind == "seq":
        if len(expected) != len(actual):
            return "wrong length"
        for w, g in zip(expected, actual):
            reason = compare(w, g, want_arrays, got_arrays, options, depth + 1)
            if reason:
                return reason
        return None
    if kind == "dict":
        try:
            mine = {_canonical(k, got_arrays): v for k, v in actual}
        except ValueError:
            return "unreadable result"
        theirs = {_canonical(k, want_arrays): v for k, v in expected}
        if set(mine) != set(theirs) or len(mine) != len(actual):
            return "wrong keys"
        for key, w in theirs.items():
            reason = compare(w, mine[key], want_arrays, got_arrays, options, depth + 1)
            if reason:
                return reason
        return None
    if kind == "tensor":
        if options["dtype"] and expected[1] != actual[1]:
            return "wrong dtype"
        return _arrays_match(expected[0], actual[0], options)
    return _arrays_match(expected, actual, options)


def check_record(want: dict, got, want_arrays, got_arrays, options) -> str | None:
    """One case: None when it matches, else why (never the inputs or expected values)."""
    if type(got) is not dict:
        return "unreadable result"
    if "error" in got:
        return "did not return plain data" if "plain data" in str(got["error"]) else "unreadable result"
    if "raised" in want:
        if type(got.get("raised")) is str and got["raised"] == want["raised"]:
            return None
        return "wrong result"
    if got.get("raised") == "CaseTimeout":
        return "timed out"
    if "raised" in got:
        name = got["raised"] if type(got["raised"]) is str else "?"
        return f"raised {name[:40]}"
    if "value" not in got:
        return "unreadable result"
    try:
        return compare(want["value"], got["value"], want_arrays, got_arrays, options)
    except (ValueError, TypeError, RecursionError):
        return "unreadable result"


def check_cell(trusted: Trusted, out: Path, gid: str) -> str | None:
    """None if every case of test cell ``gid`` matched, else a one-line reason."""
    want, want_arrays = read_output(trusted.folder / "expected", gid)
    total = len(want["records"])
    try:
        got, got_arrays = read_output(out, gid)
    except (ValueError, UnicodeDecodeError, zipfile.BadZipFile, OSError, EOFError):
        return (f"hidden checks outside your kernel: no result for {total} case(s) (the check "
                "did not run to completion: interrupted, timed out or blocked)")
    records = got["records"]
    reasons = []
    for n, expected in enumerate(want["records"]):
        record = records[n] if n < len(records) else None
        reason = check_record(expected, record, want_arrays, got_arrays, want["options"][n])
        if reason:
            reasons.append(reason)
    if not reasons:
        return None
    kinds = ", ".join(sorted(set(reasons)))
    return f"hidden checks outside your kernel: {len(reasons)} of {total} case(s) failed ({kinds})"


def apply(trusted: Trusted, folder: Path, tests: dict[str, float]) -> tuple[dict[str, float], dict[str, str]]:
    """Scores after the trusted compare, and ``{grade_id: reason}`` for failed cells."""
    tests, checks = dict(tests), {}
    for gid in trusted.cells:
        if gid not in tests:
            continue
        reason = check_cell(trusted, folder / "out", gid)
        if reason:
            checks[gid] = reason
            tests[gid] = 0.0
    return tests, checks


def annotate(nb, checks: dict[str, str], passed_in_kernel: set[str]):
    """The autograded notebook: runner cells removed; a failed check told in its test cell."""
    import nbformat

    nb = without_runner_cells(nb)
    for cell in nb.cells:
        gid = ipynb.grade_id(cell)
        if gid in checks and gid in passed_in_kernel:
            cell.outputs.append(nbformat.v4.new_output(
                "error", ename="TrustedCheckFailed", evalue=checks[gid],
                traceback=[f"TrustedCheckFailed: {checks[gid]}"]))
    return nb


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m grader.trusted")
    sub = parser.add_subparsers(dest="command", required=True)
    ref = sub.add_parser("reference", help="write inputs and expected outputs of a spec")
    ref.add_argument("spec", type=Path)
    ref.add_argument("solution", type=Path)
    ref.add_argument("out", type=Path)
    args = parser.parse_args(argv)
    from grader import trusted  # not __main__: the spec's Case must be this module's

    trusted.reference(args.spec, args.solution, args.out)


if __name__ == "__main__":
    main()
