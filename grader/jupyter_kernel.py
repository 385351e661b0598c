"""The ``lmkit`` Jupyter kernel and the environment that notebooks run in.

- Every notebook names the kernelspec ``lmkit``; ``install_kernel`` points it at the current
  interpreter with ``--sys-prefix`` semantics (inside the virtual environment, never in the
  user's home, where it would outlive the venv and be missing on CI).
- ``kernel_env`` is the environment of every headless run (papermill and nbgrader):
  the kit's root on ``PYTHONPATH`` (so ``import helpers`` works from any directory), the
  venv's ``bin/`` first on ``PATH`` (nbgrader calls ``alembic``), matplotlib's inline
  backend (headless, and figures stay in the executed notebook; ``Agg`` would drop them),
  and ``TRITON_INTERPRET=1`` when no CUDA GPU is visible. Variables the user set win.
- ``grading_env`` (nbgrader's autograde, the trusted compare's reference): the same, on the
  CPU only, whatever the machine.

Run: ``python -m grader install-kernel``.
"""
from __future__ import annotations

import functools
import os
import sys
from pathlib import Path

from grader.errors import GraderError
from grader.paths import REPO_ROOT

KERNEL_NAME = "lmkit"
DISPLAY_NAME = "Python 3 (lm-from-scratch-kit)"  # what the README tells students to pick
# The kernelspec every notebook of the kit carries: what JupyterLab writes back on opening one.
KERNEL_SPEC = {"display_name": DISPLAY_NAME, "language": "python", "name": KERNEL_NAME}
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"


def find_kernel() -> tuple[Path, str] | None:
    """Where Jupyter finds the ``lmkit`` kernelspec and the interpreter it runs, if anywhere."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        spec = KernelSpecManager().get_kernel_spec(KERNEL_NAME)
    except NoSuchKernel:
        return None
    return Path(spec.resource_dir), spec.argv[0] if spec.argv else ""


def install_kernel() -> Path:
    """Install (or refresh) the ``lmkit`` kernelspec for this interpreter under ``sys.prefix``."""
    from ipykernel.kernelspec import install

    return Path(install(kernel_name=KERNEL_NAME, display_name=DISPLAY_NAME, prefix=sys.prefix))


def ensure_kernel() -> Path:
    """The ``lmkit`` kernelspec directory, installed or refreshed here when needed.

    Raises ``GraderError`` when a kernelspec outside this environment (e.g. an old
    ``--user`` install) shadows it with another interpreter.
    """
    found = find_kernel()
    if found is None:
        return install_kernel()
    where, python = found
    if Path(python).absolute() == Path(sys.executable).absolute():
        return where
    if Path(sys.prefix).absolute() in where.absolute().parents:
        return install_kernel()  # ours, made by an older interpreter: refresh it
    raise GraderError(
        f"the Jupyter kernel {KERNEL_NAME!r} in {where} runs {python}, not this Python "
        f"({sys.executable}); remove it (jupyter kernelspec remove {KERNEL_NAME}) and run: "
        "python -m grader install-kernel")


@functools.cache
def has_cuda() -> bool:
    """Whether PyTorch sees a CUDA GPU (False when PyTorch is not installed)."""
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def kernel_env(root: Path) -> dict[str, str]:
    """The environment for headless runs of notebooks of the kit rooted at ``root``."""
    env = dict(os.environ)
    paths = [str(root), str(REPO_ROOT), *filter(None, env.get("PYTHONPATH", "").split(os.pathsep))]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))  # dedupe, keep order
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env.setdefault("MPLBACKEND", INLINE_BACKEND)
    if "TRITON_INTERPRET" not in env and not has_cuda():
        env["TRITON_INTERPRET"] = "1"  # Triton kernels run on the CPU, interpreted
    return env


def grading_env(root: Path) -> dict[str, str]:
    """``kernel_env`` for grading: CPU only (no GPU visible, Triton interpreted), whatever the
    machine. Verdicts then do not depend on the grader's hardware (tf32 dots, other kernels),
    the trusted compare's reference and the students' kernels compute on the same device,
    and a rerun on another machine gives the same gradebook."""
    env = kernel_env(root)
    env["CUDA_VISIBLE_DEVICES"] = ""
    env["TRITON_INTERPRET"] = "1"
    return env
