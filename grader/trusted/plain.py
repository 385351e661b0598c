"""Plain data: the only values that cross between the student's kernel and the grader.

A value is encoded to JSON plus arrays for an ``.npz`` file (``np.savez``: no pickle):
``None``, ``bool``, ``int``, ``float``, ``str``, ``bytes``, ``list``, ``tuple``, ``dict``,
``np.ndarray`` (not object dtype), numpy scalars and ``torch.Tensor``. Types are checked
exactly (``type(x) is float``): a subclass of ``float``, ``ndarray`` or ``Tensor``, or any
other object (one whose ``__eq__`` is always true) is not plain data and fails its case.

- **Tags.** JSON objects are tagged nodes: ``{"tuple": [...]}``, ``{"bytes": "<hex>"}``,
  ``{"dict": [[key, value], ...]}``, ``{"array": "a0"}``, ``{"scalar": "a1"}`` (a 0-d
  array keeps the numpy dtype), ``{"tensor": "a2", "dtype": "torch.float32"}``.
- **Light**: numpy is imported only when a value needs it (a fork bomb that left the
  process limit reached still lets the runner of an int-only lesson work; importing numpy
  starts threads). Kernel side: imported into the student's kernel by the runner.
- One file pair per name (``<name>.json``, ``<name>.npz`` only if there are arrays).

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

        dtype = getattr(torch, node["dtype"].split(".")[-1])
        return torch.from_numpy(np.array(arrays[node["tensor"]])).to(dtype)
    raise ValueError(f"unknown tag {tag!r}")


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
