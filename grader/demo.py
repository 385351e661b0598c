"""``python -m grader demo``: the kit's end-to-end check, on every lesson.

1. Execute each solution notebook headlessly with its default (CPU-sized) parameters.
2. Make the sample submissions of each lesson (``grader.samples``) and autograde them.
3. Print one table, lesson x sample -> score/max, and where the grades and feedback are.

Its nbgrader course is ``build/demo`` (rebuilt on every run, so changed lessons never clash
with old grades), apart from ``build/course`` where real submissions are graded.

It fails (exit 1) when a solution notebook does not run, when the ``solution`` sample is
not full marks, or when the ``untouched`` sample is not 0: the three ways a lesson or the
grader can be broken. Other samples are informative (lessons whose exercises build on each
other score lower than the toy's independent exercises).

Run: ``python -m grader demo --lessons 01 --workers 2``.
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from typing import Iterable

from grader.autograde import DEFAULT_NOTEBOOK_TIMEOUT, Result, autograde
from grader.course import DEFAULT_CELL_TIMEOUT
from grader.execute import Run, execute
from grader.paths import Layout
from grader.samples import SAMPLES, make_samples


@dataclass
class Demo:
    """Everything a demo run found."""

    runs: list[Run] = field(default_factory=list)
    results: dict[str, list[Result]] = field(default_factory=dict)  # {lesson: results}

    def problems(self) -> list[str]:
        found = [f"{run.lesson}: the solution notebook failed: {run.error}"
                 for run in self.runs if not run.ok]
        for lesson, results in self.results.items():
            by_student = {r.student: r for r in results}
            solution, untouched = by_student["solution"], by_student["untouched"]
            if solution.score != solution.max_score:
                found.append(f"{lesson}: the solution scores {solution.score:g}/"
                             f"{solution.max_score:g}, not full marks ({solution.status}"
                             f"{': ' + solution.reason if solution.reason else ''})")
            if untouched.score != 0:
                found.append(f"{lesson}: the untouched student notebook scores "
                             f"{untouched.score:g}, not 0")
        return found

    def table(self) -> str:
        """Lesson x sample: ``score/max``, with the status when it is not ``graded``."""
        rows = [["lesson", *SAMPLES]]
        for lesson, results in self.results.items():
            by_student = {r.student: r for r in results}
            rows.append([lesson, *(_cell(by_student[s]) for s in SAMPLES)])
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
                         for row in rows)


def _cell(result: Result) -> str:
    cell = f"{result.score:g}/{result.max_score:g}"
    return cell if result.status == "graded" else f"{cell} ({result.status})"


def demo(layout: Layout = Layout(), lessons: Iterable[str] = (), *, workers: int = 1,
         cell_timeout: int = DEFAULT_CELL_TIMEOUT,
         notebook_timeout: float = DEFAULT_NOTEBOOK_TIMEOUT, report=print) -> Demo:
    """Execute, sample and autograde each lesson (all by default)."""
    lessons = layout.resolve(lessons)
    shutil.rmtree(layout.demo_course, ignore_errors=True)  # lessons may have changed since
    found = Demo()
    report(f"== execute {len(lessons)} lesson(s) with default parameters")
    found.runs = execute(layout, lessons, report=report)
    for lesson in lessons:
        report(f"== autograde the samples of {lesson}")
        samples = make_samples(layout, lesson)
        found.results[lesson] = autograde(
            lesson, samples["solution"].parent.parent, layout=layout,
            course_root=layout.demo_course, cell_timeout=cell_timeout,
            notebook_timeout=notebook_timeout, workers=workers, report=report)
    return found
