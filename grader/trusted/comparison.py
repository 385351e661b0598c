"""The comparer: the kernel's plain-data outputs against the reference, in the grader process.

After the student's kernel is gone, each test cell's output files are read without
following links, size-capped, with ``json.load`` and ``np.load(..., allow_pickle=False)``
(``read_output``), type-checked node by node and compared with the expected records
(``compare``, ``check_record``). A cell passes only if every case matches; otherwise its
verdict (``grader.trusted.verdict``) names the counts, the kinds of failure and the failed
cases' hints, never inputs or expected values.

Tested in ``grader/tests/test_trusted.py`` and ``test_hostile.py``.
"""
from __future__ import annotations

import io
import json
import math
import os
import stat
import zipfile
from pathlib import Path

import numpy as np

from grader.trusted import verdict
from grader.trusted.plain import MAX_DEPTH

MAX_OUTPUT_BYTES = 64 << 20   # per file the kernel writes; more is a failed case, never read


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
    if depth > MAX_DEPTH:
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
        same = want.dtype.kind == got.dtype.kind and np.array_equal(want, got)
        return None if same else "wrong value"
    try:
        if options.get("factor"):
            same = _within_factor(want, got, options["factor"])
        elif options["rtol"] is None:
            nan = want.dtype.kind in "fc" and got.dtype.kind in "fc"
            same = np.array_equal(want, got, equal_nan=nan)
        else:
            same = np.allclose(got, want, rtol=options["rtol"], atol=options["atol"],
                               equal_nan=True)
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


def compare(want, got, want_arrays: dict, got_arrays: dict, options: dict,
            depth: int = 0) -> str | None:
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
        plain = "plain data" in str(got["error"])
        return "did not return plain data" if plain else "unreadable result"
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


def check_cell(trusted, out: Path, gid: str) -> str | None:
    """None if every case of test cell ``gid`` matched, else a one-line reason (the verdict).
    ``trusted``: the lesson's prepared cases (``grading.Trusted``: its reference ``folder``)."""
    want, want_arrays = read_output(trusted.folder / "expected", gid)
    total = len(want["records"])
    try:
        got, got_arrays = read_output(out, gid)
    except (ValueError, UnicodeDecodeError, zipfile.BadZipFile, OSError, EOFError):
        return verdict.no_result(total)
    records = got["records"]
    reasons, hints = [], []
    for n, expected in enumerate(want["records"]):
        record = records[n] if n < len(records) else None
        options = want["options"][n]
        reason = check_record(expected, record, want_arrays, got_arrays, options)
        if reason:
            reasons.append(reason)
            hints.append(options.get("hint"))
    if not reasons:
        return None
    return verdict.failed(len(reasons), total, reasons, hints)
