"""An nbgrader course directory, driven through ``python -m nbgrader`` subprocesses.

- Layout (nbgrader's own): ``source/<lesson>/<lesson>.ipynb`` (the solution notebook),
  ``release/`` (student version), ``submitted/<student>/<lesson>/``, ``autograded/``,
  ``feedback/<student>/<lesson>/<lesson>.html`` and ``gradebook.db`` (SQLite). The
  assignment name is the lesson stem, and so is the notebook's.
- ``nbgrader_config.py`` is written by ``write_config`` on every use, never by hand: the
  course id, root and database, the per-cell timeout, and the two changes to nbgrader's
  defaults that this kit relies on (both verified against nbgrader 0.9.6):
  * ``IgnorePattern.enabled = True`` with a pattern matching any text: stderr outputs are
    dropped after execution and before grading, because ``nbgrader.utils.determine_grade``
    scores a test cell 0 when it wrote anything to stderr (a harmless warning, a progress
    bar). A test fails by raising, as in pytest.
  * ``Autograde.autograde_preprocessors``: nbgrader's, with ``LimitOutput`` replaced by
    ``grader.feedback.LimitOutputSize`` (also caps one gigantic output line).
  * ``GenerateFeedback.preprocessors`` gains ``grader.feedback.HideHiddenTests``: by
    default nbgrader shows hidden tests in the feedback HTML (jupyter/nbgrader#917).
- nbgrader runs as a subprocess (``grader.proc``) rather than through its Python API: its
  apps keep global traitlets state, and a subprocess can be killed on a timeout.

Tested in ``grader/tests/test_grader.py``.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from grader import ipynb, proc
from grader.errors import GraderError
from grader.jupyter_kernel import grading_env

COURSE_ID = "lmkit"
DEFAULT_CELL_TIMEOUT = 120  # seconds; smoke-scale cells take seconds, an endless loop forever

CONFIG = '''\
# Written by grader/course.py each time the grader uses this directory: edit that file.
c = get_config()
c.CourseDirectory.course_id = {course_id!r}
c.CourseDirectory.root = {root!r}
c.CourseDirectory.db_url = {db_url!r}

# Seconds a cell may run while autograding; the grader limits whole notebooks itself.
c.Execute.timeout = {cell_timeout}

# A test fails by raising: drop stderr outputs before grading, since nbgrader scores
# any stderr output (a warning, a progress bar) as a failed test. Off by default.
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = r"(?s)."

# Cut huge outputs (nbgrader's LimitOutput caps lines only, not one gigantic line).
c.Autograde.autograde_preprocessors = [
    "nbgrader.preprocessors.Execute",
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "grader.feedback.LimitOutputSize",
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]

# Keep hidden tests out of the feedback HTML (nbgrader shows them by default).
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "grader.feedback.HideHiddenTests",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
'''


@dataclass(frozen=True)
class Course:
    """The nbgrader course directory at ``root``; ``kit_root`` is where notebooks import from."""

    root: Path
    kit_root: Path
    cell_timeout: int = DEFAULT_CELL_TIMEOUT
    extra_config: str = ""  # appended to nbgrader_config.py (the sandbox's kernel settings)
    env: dict[str, str] = field(default_factory=dict, compare=False)  # added to grading_env

    @property
    def db(self) -> Path:
        return self.root / "gradebook.db"

    @property
    def db_url(self) -> str:
        return f"sqlite:///{self.db}"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    def source(self, lesson: str) -> Path:
        return self.root / "source" / lesson / f"{lesson}.ipynb"

    def released(self, lesson: str) -> Path:
        return self.root / "release" / lesson / f"{lesson}.ipynb"

    def submitted(self, student: str, lesson: str) -> Path:
        return self.root / "submitted" / student / lesson / f"{lesson}.ipynb"

    def autograded(self, student: str, lesson: str) -> Path:
        return self.root / "autograded" / student / lesson / f"{lesson}.ipynb"

    def feedback(self, student: str, lesson: str) -> Path:
        return self.root / "feedback" / student / lesson / f"{lesson}.html"

    def write_config(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "nbgrader_config.py").write_text(CONFIG.format(
            course_id=COURSE_ID, root=str(self.root), db_url=self.db_url,
            cell_timeout=int(self.cell_timeout)) + self.extra_config)

    def nbgrader(self, *args: str, log: Path, timeout: float | None = None) -> proc.Completed:
        """Run ``nbgrader ARGS`` in this course, output to ``log``, killed after ``timeout`` s."""
        self.write_config()
        cmd = [sys.executable, "-m", "nbgrader", *args, "--log-level=INFO"]
        env = {**grading_env(self.kit_root), **self.env}  # CPU only: the same verdicts anywhere
        return proc.run(cmd, cwd=self.root, env=env, log=log, timeout=timeout)

    def generate_assignment(self, lesson: str, solution: Path, *, record: bool = True) -> Path:
        """Copy ``solution`` into ``source/`` and run ``nbgrader generate_assignment``.

        With ``record`` the assignment's cells and points also go to the gradebook (needed
        to autograde); without it (``--no-db``) the gradebook is not touched, so student
        notebooks can be generated whatever was graded before. Returns the released notebook.
        """
        ipynb.write(ipynb.strip(ipynb.read(solution)), self.source(lesson))
        args = ["generate_assignment", lesson, "--force", *([] if record else ["--no-db"])]
        done = self.nbgrader(*args, log=self.logs / f"generate-{lesson}.log")
        if not done.ok:
            summary = done.error_summary()
            hint = ""
            if "there are submissions" in summary:  # the lesson's cells changed since grading
                hint = f"; to grade the new version, delete {self.root} (and its grades)"
            raise GraderError(f"nbgrader generate_assignment {lesson} failed: {summary} "
                              f"(log: {done.log}{hint})")
        return self.released(lesson)
