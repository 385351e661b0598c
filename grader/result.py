"""``Result``: the outcome of grading one submission (a module of its own: no import cycles).

``grader.autograde`` makes results, ``grader.results`` stores them, ``grader.gradebook``,
``grader.feedback``, ``grader.cluster`` and ``grader.demo`` read them; all import this module,
none imports ``grader.autograde`` for it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

# statuses: graded, or 0 points with a reason
STATUSES = ("graded", "missing", "invalid", "timeout", "error")


@dataclass
class Result:
    """The outcome of grading one submission."""

    lesson: str
    student: str
    status: str  # graded | missing | invalid | timeout | error
    score: float  # the final score: raw_score - penalty
    max_score: float
    tests: dict[str, float] = field(default_factory=dict)  # {test grade_id: score}
    reason: str = ""  # why the score is 0 when status is not "graded" (the grader's words)
    seconds: float = 0.0
    feedback: Path | None = None  # the feedback HTML
    raw_score: float | None = None  # the tests' score before a late penalty (None: = score)
    penalty: float = 0.0
    late_seconds: float = 0.0
    timestamp: str | None = None  # when it was handed in (ISO 8601, UTC)
    checks: dict[str, str] = field(default_factory=dict)  # {test grade_id: why the trusted
    #   compare failed} (grader.trusted); those tests score 0
    grader_fault: bool = False  # the grader failed, not the student: never final, retried

    @classmethod
    def zero(cls, lesson: str, student: str, status: str, reason: str,
             points: dict[str, float], seconds: float = 0.0,
             grader_fault: bool = False) -> Result:
        """A submission that could not be graded: 0 on every test, and why."""
        return cls(lesson, student, status, 0.0, sum(points.values()),
                   dict.fromkeys(points, 0.0), reason, seconds, grader_fault=grader_fault)
