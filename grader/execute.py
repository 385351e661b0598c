"""``python -m grader execute``: run lessons headlessly with papermill.

- Each lesson runs in a ``python -m papermill`` subprocess on the ``lmkit`` kernel, with
  the kit's root as working directory (relative paths and ``import helpers`` work) and the
  environment of ``grader.jupyter_kernel.kernel_env``. Cell outputs and the kernel's own messages
  go to ``<lesson>.log`` next to the executed copy (``tail -f`` it during a long run).
- Parameters go to the cell tagged ``parameters``: ``-p scale full`` is all a GPU user
  types. Values are Python literals when they parse as one (``-p seed 1`` is an int),
  strings otherwise (``-p device cuda:0``); they reach papermill as JSON, types intact.
- Executed copies go to ``build/executed/<lesson>.ipynb``. A failure is summarized as the
  failing cell and its exception, and the run goes on with the next lesson.

Run: ``python -m grader execute 01 -p scale smoke``.
"""
from __future__ import annotations

import ast
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import nbformat

from grader import proc
from grader.ipynb import first_line
from grader.jupyter_kernel import KERNEL_NAME, ensure_kernel, kernel_env
from grader.paths import Layout


@dataclass(frozen=True)
class Run:
    """One executed lesson: where its copy is, how long it took, and why it failed (if so)."""

    lesson: str
    output: Path
    seconds: float
    error: str = ""  # "cell [12]: ValueError: ..." when the run failed

    @property
    def ok(self) -> bool:
        return not self.error


def parse_value(text: str) -> object:
    """A parameter value as typed on the command line: a Python literal, else the string."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def execute(layout: Layout, lessons: Iterable[str] = (), *, parameters: dict | None = None,
            source: str = "solutions", out_dir: Path | None = None,
            cell_timeout: int | None = None, report=print) -> list[Run]:
    """Execute each lesson's notebook from ``source`` ("solutions" or "notebooks")."""
    lessons = layout.resolve(lessons)
    ensure_kernel()
    folder = layout.solutions if source == "solutions" else layout.notebooks
    out_dir = out_dir or layout.executed
    runs = []
    for lesson in lessons:
        output = out_dir / f"{lesson}.ipynb"
        output.unlink(missing_ok=True)  # never report a stale copy
        cmd = [sys.executable, "-m", "papermill", str(folder / f"{lesson}.ipynb"), str(output),
               "--kernel", KERNEL_NAME, "--cwd", str(layout.root), "--no-progress-bar",
               "--log-output", "--parameters_yaml", json.dumps(parameters or {})]
        if cell_timeout:
            cmd += ["--execution-timeout", str(cell_timeout)]
        done = proc.run(cmd, cwd=layout.root, env=kernel_env(layout.root),
                        log=out_dir / f"{lesson}.log")
        error = "" if done.ok else failure(output) or f"{done.error_summary()} (log: {done.log})"
        runs.append(Run(lesson, output, done.seconds, error))
        report(f"{lesson:<28} {done.seconds:7.1f} s  {'ok' if done.ok else 'FAILED  ' + error}")
    return runs


def failure(executed: Path) -> str:
    """The first error in an executed notebook, as ``cell [N]: Name: message`` ("" if none)."""
    try:
        nb = nbformat.read(str(executed), as_version=4)
    except Exception:  # papermill failed before writing it
        return ""
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                message = first_line(output.evalue)
                return f"cell [{cell.execution_count}]: {output.ename}: {message}".rstrip(": ")
    return ""
