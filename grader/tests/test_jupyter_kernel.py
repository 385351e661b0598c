"""Tests of the ``lmkit`` kernelspec and of the environment headless runs get.

Run: ``pytest grader/tests/test_jupyter_kernel.py``.
"""
from __future__ import annotations

import json
import os
import sys

from grader import jupyter_kernel as kernel
from grader.paths import REPO_ROOT


def test_kernel_runs_this_interpreter_from_inside_the_environment():
    where = kernel.ensure_kernel()
    spec = json.loads((where / "kernel.json").read_text())
    assert spec["argv"][0] == sys.executable
    assert where.is_relative_to(sys.prefix)  # --sys-prefix, never the user's home


def test_kernel_env(tmp_path, monkeypatch):
    monkeypatch.delenv("TRITON_INTERPRET", raising=False)
    monkeypatch.delenv("MPLBACKEND", raising=False)
    monkeypatch.setenv("PYTHONPATH", "/elsewhere")
    env = kernel.kernel_env(tmp_path)
    assert env["PYTHONPATH"].split(os.pathsep) == [str(tmp_path), str(REPO_ROOT), "/elsewhere"]
    assert env["PATH"].split(os.pathsep)[0] == str(os.path.dirname(sys.executable))
    assert env["MPLBACKEND"] == kernel.INLINE_BACKEND
    assert env.get("TRITON_INTERPRET") == (None if kernel.has_cuda() else "1")
    monkeypatch.setenv("TRITON_INTERPRET", "0")
    assert kernel.kernel_env(tmp_path)["TRITON_INTERPRET"] == "0"  # the user's choice wins
    grading = kernel.grading_env(tmp_path)  # grading: CPU only, whatever the machine or user
    assert grading["TRITON_INTERPRET"] == "1" and grading["CUDA_VISIBLE_DEVICES"] == ""
