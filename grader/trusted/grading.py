"""What the grader does with a lesson's trusted cases, around nbgrader's run of a submission.

1. ``prepare``: the reference (``grader.trusted.expected``, in a subprocess) into
   ``<course>/trusted/<lesson>/`` (root's, 0700, hidden from kernels), cached by the hashes
   of the spec, the solution and this package's code.
2. ``setup`` and ``runner_cells``: the inputs copied into the submission's folder, readable
   by its kernel, and one runner cell per test cell with cases appended to the copy of the
   submission nbgrader executes (same kernel, sandbox and limits, after the student's cells;
   ``grader.trusted.runner`` writes to ``<workdir>/trusted/out/``).
3. ``apply``: after the kernel is gone, each such cell keeps nbgrader's score only if every
   case matches (``grader.trusted.comparison``); otherwise 0 and its verdict.
4. ``annotate``: the runner cells removed from the autograded notebook; a failed check told
   in its test cell (a ``TrustedCheckFailed`` line that ``grader.feedback`` shows).

Tested in ``grader/tests/test_trusted.py`` and ``test_hostile.py``.
"""
from __future__ import annotations

import copy
import hashlib
import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

from grader import ipynb
from grader.errors import GraderError
from grader.trusted.comparison import check_cell
from grader.trusted.plain import load_inputs
from grader.trusted.spec import spec_path

MARKER = "# lmkit trusted compare:"  # first line of a runner cell
RUNNER = MARKER + ''' {grade_id} (added by the grader; not part of your notebook)
import grader.trusted.runner as _lmkit_runner
_lmkit_runner.run_cell(get_ipython().user_ns, {folder!r}, {grade_id!r})
'''


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
    from grader.jupyter_kernel import grading_env

    spec = spec_path(kit_root, lesson)
    if not spec.is_file():
        return None
    code = [p.read_bytes() for p in sorted(Path(__file__).parent.glob("*.py"))]  # the package
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
    cases, _ = load_inputs(str(folder))
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


def apply(trusted: Trusted, folder: Path,
          tests: dict[str, float]) -> tuple[dict[str, float], dict[str, str]]:
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
