"""The untrusted half of the trusted compare: call notebook functions, write plain data.

Runs in two places with the same code: in the student's sandboxed kernel after nbgrader
has executed their notebook (one cell per graded test cell, appended by
``grader.trusted``), and in the grader's reference subprocess on the solution's
definitions. It never decides a grade; ``grader.trusted`` compares what it wrote.

- **Plain data only.** A value is encoded to JSON plus arrays for an ``.npz`` file
  (``np.savez``: no pickle): ``None``, ``bool``, ``int``, ``float``, ``str``, ``bytes``,
  ``list``, ``tuple``, ``dict``, ``np.ndarray`` (not object dtype), numpy scalars and
  ``torch.Tensor``. Types are checked exactly (``type(x) is float``): a subclass of
  ``float``, ``ndarray`` or ``Tensor``, or any other object (one whose ``__eq__`` is always
  true) is not plain data and fails its case.
- **Tags.** JSON objects are tagged nodes: ``{"tuple": [...]}``, ``{"bytes": "<hex>"}``,
  ``{"dict": [[key, value], ...]}``, ``{"array": "a0"}``, ``{"scalar": "a1"}`` (a 0-d
  array keeps the numpy dtype), ``{"tensor": "a2", "dtype": "torch.float32"}``; a case's
  record is ``{"value": ...}``, ``{"raised": "ValueError"}`` or ``{"error": "..."}``.
- Light: numpy is imported only when a value needs it (a fork bomb that left the process
  limit reached still lets the runner of an int-only lesson work; importing numpy starts
  threads).
- **Drivers.** A call that starts with ``@`` runs a function of ``grader.trusted_drivers``
  (imported only then) with the namespace first: glue that builds modules with given
  weights, parameters with gradients, files or iterators from plain inputs.
- One file pair per test cell (``<grade_id>.json``, ``<grade_id>.npz``), written at the end
  of the cell: a cell cut by the timeout leaves none, and its cases fail.

Tested in ``grader/tests/test_trusted.py``.
"""
from __future__ import annotations

import json
import os
import sys

MAX_DEPTH = 32
SCALARS = (bool, int, float, str)


class NotPlain(TypeError):
    """A value that is not plain data."""


def describe(value) -> str:
    kind = type(value)
    return f"{kind.__module__}.{kind.__qualname__}"[:80]


def _torch():
    return sys.modules.get("torch")  # never imported here: a tensor means torch is loaded


def _numpy():
    return sys.modules.get("numpy")  # likewise: an array means numpy is loaded


def encode(value, arrays: dict, depth: int = 0):
    """``value`` as a JSON-able tree; arrays go into ``arrays`` (``NotPlain`` if impossible)."""
    if depth > MAX_DEPTH:
        raise NotPlain("nested too deeply")
    kind = type(value)
    if value is None or kind in SCALARS:
        return value
    if kind is list:
        return [encode(v, arrays, depth + 1) for v in value]
    if kind is tuple:
        return {"tuple": [encode(v, arrays, depth + 1) for v in value]}
    if kind is bytes:
        return {"bytes": value.hex()}
    if kind is dict:
        return {"dict": [[encode(k, arrays, depth + 1), encode(v, arrays, depth + 1)]
                         for k, v in value.items()]}
    np = _numpy()
    if np is not None and (kind is np.ndarray or (isinstance(value, np.generic)
                                                  and kind.__module__ == "numpy")):
        array = np.asarray(value)
        if array.dtype.kind not in "biufcUS" or type(array) is not np.ndarray:
            raise NotPlain(f"an array of dtype {array.dtype}")
        key = f"a{len(arrays)}"
        arrays[key] = array
        return {"array" if kind is np.ndarray else "scalar": key}
    torch = _torch()
    if torch is not None and kind is torch.Tensor:
        tensor = value.detach().cpu()
        dtype = str(tensor.dtype)
        if tensor.dtype == torch.bfloat16:  # numpy has no bfloat16: exact in float32
            tensor = tensor.float()
        key = f"a{len(arrays)}"
        arrays[key] = tensor.resolve_conj().resolve_neg().numpy().copy()
        return {"tensor": key, "dtype": dtype}
    raise NotPlain(describe(value))


def decode(node, arrays, depth: int = 0):
    """The value ``encode`` wrote (inputs of a case: built by the grader, trusted)."""
    if depth > MAX_DEPTH:
        raise ValueError("nested too deeply")
    if node is None or type(node) in SCALARS:
        return node
    if type(node) is list:
        return [decode(v, arrays, depth + 1) for v in node]
    tag = next(iter(node))  # {"tensor": key, "dtype": ...} has two keys, the tag first
    body = node[tag]
    if tag == "tuple":
        return tuple(decode(v, arrays, depth + 1) for v in body)
    if tag == "bytes":
        return bytes.fromhex(body)
    if tag == "dict":
        return {decode(k, arrays, depth + 1): decode(v, arrays, depth + 1) for k, v in body}
    import numpy as np

    if tag == "array":
        return np.array(arrays[body])
    if tag == "scalar":
        return np.array(arrays[body])[()]
    if tag == "tensor":
        import torch

        return torch.from_numpy(np.array(arrays[node["tensor"]])).to(getattr(torch, node["dtype"].split(".")[-1]))
    raise ValueError(f"unknown tag {tag!r}")


def lookup(namespace: dict, call: str):
    """``namespace["Tokenizer"].encode`` for ``"Tokenizer.encode"``."""
    head, *rest = call.split(".")
    if head not in namespace:
        raise NameError(f"{head} is not defined")
    target = namespace[head]
    for name in rest:
        target = getattr(target, name)
    return target


def run_case(namespace: dict, case: dict, inputs, arrays: dict) -> dict:
    """Call one case; its record (``value``, ``raised`` or ``error``)."""
    try:
        args = decode(case["args"], inputs)
        kwargs = decode(case["kwargs"], inputs)
        if case["call"].startswith("@"):  # a driver (grader.trusted_drivers) builds the call
            from grader import trusted_drivers

            name = case["call"][1:]
            if name.startswith("_") or not callable(getattr(trusted_drivers, name, None)):
                raise NameError(f"no driver {name!r}")
            driver = getattr(trusted_drivers, name)
            function = lambda *a, **k: driver(namespace, *a, **k)  # noqa: E731
        elif case.get("init") is not None:  # an instance method: build the object first
            init_args, init_kwargs = decode(case["init"], inputs)
            head, method = case["call"].rsplit(".", 1)
            function = getattr(lookup(namespace, head)(*init_args, **init_kwargs), method)
        else:
            function = lookup(namespace, case["call"])
        result = function(*args, **kwargs)
        if case.get("attrs"):
            result = {name: getattr(result, name) for name in case["attrs"]}
    except Exception as err:  # noqa: BLE001 - the student's exception is the case's result
        return {"raised": type(err).__name__[:80]}
    mark = len(arrays)
    try:
        return {"value": encode(result, arrays)}
    except NotPlain as err:
        for key in list(arrays)[mark:]:
            del arrays[key]
        return {"error": f"returned {err}, not plain data"}
    except Exception as err:  # noqa: BLE001 - a hostile object's __getattr__, len, ...
        return {"error": f"returned a value that could not be read ({type(err).__name__})"}


def write(folder: str, grade_id: str, records: dict, arrays: dict) -> None:
    """``<grade_id>.npz`` (only if there are arrays) then ``<grade_id>.json``."""
    if arrays:
        import numpy as np

        with open(os.path.join(folder, f"{grade_id}.npz"), "wb") as f:
            np.savez(f, **arrays)
    with open(os.path.join(folder, f"{grade_id}.json"), "w") as f:
        json.dump(records, f, allow_nan=True)


def load_inputs(folder: str):
    with open(os.path.join(folder, "inputs.json")) as f:
        cases = json.load(f)
    if not os.path.exists(os.path.join(folder, "inputs.npz")):
        return cases, {}
    import numpy as np

    with np.load(os.path.join(folder, "inputs.npz"), allow_pickle=False) as npz:
        arrays = {key: npz[key] for key in npz.files}
    return cases, arrays


_LOADED: dict = {}  # the inputs this kernel read: {(folder, mtime): (cases, arrays)}


class CaseTimeout(BaseException):
    """A case ran past its limit (a ``BaseException``: ``except Exception`` does not stop it)."""


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
        records.append({"raised": "CaseTimeout"} if stopped else timed_case(namespace, case, inputs, arrays))
    write(os.path.join(folder, "out"), grade_id, {"records": records}, arrays)
    failed = sum("value" not in r and "raised" not in r for r in records)
    print(f"hidden checks of {grade_id}: {len(records)} run" + (f", {failed} not plain data" if failed else ""))

