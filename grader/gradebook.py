"""Scores in and out of nbgrader's gradebook (SQLite, ``build/course/gradebook.db``).

- ``scores`` reads one student's per-test scores; ``merge`` copies them from a per-student
  course copy (where they were autograded in isolation) into the course's gradebook, the
  single writer; ``record_zero`` gives a submission that could not be graded 0 points.
  A score a human entered (nbgrader's ``manual_score``) is never overwritten; as in
  nbgrader's own ``SaveAutoGrades``, it is flagged for review instead.
- ``export_csv`` writes ``build/course/grades.csv`` (atomically): one row per (student,
  assignment) with ``status`` and ``reason``, ``score`` (the final score), ``max_score``,
  ``raw_score``, ``penalty``, ``late_by_hours`` and ``timestamp`` (from the stored results,
  ``grader.results``; ``status.json`` for older runs), then one column per test cell (its
  grade_id, e.g. ``test_train_bpe``) with the tests' scores. Text cells that start like a
  spreadsheet formula (``=``, ``+``, ``-``, ``@``) are prefixed with ``'``.

Tested in ``grader/tests/test_grader.py``.
"""
from __future__ import annotations

import contextlib
import csv
import io
import json
import warnings
from pathlib import Path
from typing import Iterator

from nbgrader.api import Gradebook
from sqlalchemy.exc import SAWarning

from grader import ipynb, results
from grader.atomic import write_atomic
from grader.course import COURSE_ID, Course
from grader.errors import GraderError


def open_gradebook(db_url: str) -> Gradebook:
    """nbgrader's gradebook of this course (use as a context manager)."""
    return Gradebook(db_url, COURSE_ID)


def max_scores(course: Course, lesson: str) -> dict[str, float]:
    """``{test grade_id: points}`` of a lesson, in notebook order."""
    with open_gradebook(course.db_url) as gb:
        cells = {c.name: c.max_score for nb in gb.find_assignment(lesson).notebooks
                 for c in nb.grade_cells}
    return {name: cells[name] for name in cell_order(course, lesson, cells)}


def scores(course: Course, lesson: str, student: str) -> dict[str, float]:
    """``{test grade_id: score}`` of a student's autograded submission, in notebook order."""
    with open_gradebook(course.db_url) as gb:
        grades = {g.name: float(g.score) for nb in gb.find_submission(lesson, student).notebooks
                  for g in nb.grades}
    return {name: grades[name] for name in cell_order(course, lesson, grades)}


def merge(worker: Course, course: Course, lesson: str, student: str) -> None:
    """Copy a student's autograde results from ``worker``'s gradebook into ``course``'s."""
    with _quiet(), open_gradebook(worker.db_url) as src, open_gradebook(course.db_url) as dst:
        submission = src.find_submission(lesson, student)
        dst.update_or_create_student(student)
        dst.update_or_create_submission(lesson, student, timestamp=submission.timestamp)
        for nb in submission.notebooks:
            for grade in nb.grades:
                mine = dst.find_grade(grade.name, nb.name, lesson, student)
                _set_auto_score(mine, grade.auto_score)
            for comment in nb.comments:
                mine = dst.find_comment(comment.name, nb.name, lesson, student)
                mine.auto_comment = comment.auto_comment
        dst.db.commit()


def set_scores(worker: Course, lesson: str, student: str, tests: dict[str, float]) -> None:
    """Overwrite the auto scores of a student's tests in a worker's own gradebook (the
    trusted compare's verdict, ``grader.trusted``), before ``merge`` copies them."""
    with open_gradebook(worker.db_url) as gb:
        for nb in gb.find_submission(lesson, student).notebooks:
            for grade in nb.grades:
                if grade.name in tests and grade.auto_score != tests[grade.name]:
                    _set_auto_score(grade, tests[grade.name])
        gb.db.commit()


def record_zero(course: Course, lesson: str, student: str) -> None:
    """Record a submission that could not be graded (invalid, timed out) with 0 points."""
    with _quiet(), open_gradebook(course.db_url) as gb:
        gb.update_or_create_student(student)
        submission = gb.update_or_create_submission(lesson, student)
        for nb in submission.notebooks:
            for grade in nb.grades:
                _set_auto_score(grade, 0.0)
        gb.db.commit()


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence the SQLAlchemy "not in session" warnings that nbgrader's ``add_submission``
    emits (``nbgrader autograde`` logs them too). Not thread-safe: main thread only."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SAWarning)
        yield


def _set_auto_score(grade, auto_score: float | None) -> None:
    grade.auto_score = auto_score
    grade.needs_manual_grade = grade.manual_score is not None or auto_score is None


def cell_order(course: Course, lesson: str, names) -> list[str]:
    """``names`` in the order of their cells in the lesson's source notebook."""
    try:
        order = [ipynb.grade_id(c) for c in ipynb.read(course.source(lesson)).cells]
    except GraderError:  # source gone: alphabetical
        order = []
    position = {name: i for i, name in enumerate(order)}
    return sorted(names, key=lambda name: (position.get(name, len(position)), name))


# --- status of the last autograde run of each submission ------------------------------------


def status_path(course: Course) -> Path:
    return course.root / "status.json"


def load_status(course: Course) -> dict[str, dict[str, dict[str, str]]]:
    """``{lesson: {student: {"status": ..., "reason": ...}}}`` from ``status.json``."""
    path = status_path(course)
    return json.loads(path.read_text()) if path.exists() else {}


def save_status(course: Course, lesson: str, statuses: dict[str, dict[str, str]]) -> None:
    """Record the latest status of each student graded for ``lesson``."""
    data = load_status(course)
    data.setdefault(lesson, {}).update(statuses)
    write_atomic(status_path(course), json.dumps(data, indent=1, sort_keys=True) + "\n")


COLUMNS = ["student", "assignment", "status", "reason", "score", "max_score", "raw_score",
           "penalty", "late_by_hours", "timestamp"]


FORMULA = ("=", "+", "-", "@", "\t", "\r", "\n")


def cell(value):
    """A CSV cell a spreadsheet will not run: text that starts like a formula gets a ``'``
    (OWASP's advice against CSV injection); numbers are kept."""
    if isinstance(value, str) and value.startswith(FORMULA):
        return "'" + value
    return value


def export_csv(course: Course, path: Path | None = None) -> Path:
    """Write every submission in the gradebook to ``path`` (default ``grades.csv``)."""
    path = path or course.root / "grades.csv"
    status = load_status(course)
    stored = results.load_all(course.root)
    rows, tests = [], []
    with open_gradebook(course.db_url) as gb:
        for assignment in sorted(gb.assignments, key=lambda a: a.name):
            names = cell_order(course, assignment.name,
                               [c.name for nb in assignment.notebooks for c in nb.grade_cells])
            tests += [n for n in names if n not in tests]
            for submission in sorted(assignment.submissions, key=lambda s: s.student.id):
                student = submission.student.id
                grades = {g.name: float(g.score) for nb in submission.notebooks for g in nb.grades}
                raw = sum(grades.values())
                info = status.get(assignment.name, {}).get(student, {})
                row = {"student": student, "assignment": assignment.name,
                       "status": info.get("status", "graded"), "reason": info.get("reason", ""),
                       "score": raw, "max_score": float(assignment.max_score), "raw_score": raw,
                       "penalty": 0.0, "late_by_hours": 0.0, "timestamp": ""}
                result = stored.get((assignment.name, student))
                if result is not None:
                    row.update(status=result.status, reason=result.reason,
                               score=round(raw - result.penalty, 6), penalty=result.penalty,
                               late_by_hours=round(result.late_seconds / 3600, 2),
                               timestamp=result.timestamp or "")
                rows.append({k: cell(v) for k, v in {**row, **grades}.items()})
    out = io.StringIO()
    writer = csv.DictWriter(out, [*COLUMNS, *tests], lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    write_atomic(path, out.getvalue())
    return path
