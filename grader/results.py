"""One JSON file per graded submission: what makes grading idempotent and resumable.

- ``<course>/results/<lesson>/<student>.json`` holds a submission's ``Result`` and its
  ``key``: a hash of the submission's bytes, the lesson's source notebook (solution and
  hidden tests) and the settings that change a grade (timeouts, limits). A rerun skips a
  student whose key is unchanged.
- A result the grader itself failed to produce (``Result.grader_fault``: disk, database,
  infrastructure) is stored with an empty key: never up to date, a rerun grades it again.
- Written atomically (``grader.atomic``), and only
  after the submission's gradebook rows and files are in place: a grader killed at any
  point leaves either the previous result or the new one, never half of one, and a
  submission without its new result file is simply graded again (gradebook rows are
  updated in place, never duplicated).

Tested in ``grader/tests/test_integrity.py``.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

from grader.atomic import write_atomic
from grader.result import Result


def file_hash(path: Path | None) -> str:
    if path is None or not path.is_file():
        return "absent"
    return hashlib.sha256(path.read_bytes()).hexdigest()


def grading_key(submission_hash: str, source_hash: str, settings_key: str) -> str:
    text = "\n".join([submission_hash, source_hash, settings_key])
    return hashlib.sha256(text.encode()).hexdigest()


def path_of(course_root: Path, lesson: str, student: str) -> Path:
    return course_root / "results" / lesson / f"{student}.json"


def save(course_root: Path, result: Result, key: str) -> None:
    data = dataclasses.asdict(result)
    data["feedback"] = str(result.feedback) if result.feedback else None
    key = "" if result.grader_fault else key  # never up to date: retried on the next run
    write_atomic(path_of(course_root, result.lesson, result.student),
                 json.dumps({"key": key, "result": data}, indent=1, sort_keys=True) + "\n")


def load(course_root: Path, lesson: str, student: str) -> tuple[str, Result] | None:
    """``(key, result)`` stored for a student, or None (none yet, or unreadable)."""
    path = path_of(course_root, lesson, student)
    try:
        data = json.loads(path.read_text())
        fields = data["result"]
        fields["feedback"] = Path(fields["feedback"]) if fields.get("feedback") else None
        return data["key"], Result(**fields)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def load_all(course_root: Path) -> dict[tuple[str, str], Result]:
    """Every stored result: ``{(lesson, student): result}``."""
    found = {}
    for path in sorted((course_root / "results").glob("*/*.json")):
        stored = load(course_root, path.parent.name, path.stem)
        if stored:
            found[(path.parent.name, path.stem)] = stored[1]
    return found
