"""``python -m grader demo``: the kit's end-to-end check, on every lesson.

1. Execute each solution notebook headlessly with its default (CPU-sized) parameters.
2. Make the sample submissions of each lesson (``grader.samples``) and autograde them.
3. Print one table, lesson x sample -> score/max, and where the grades and feedback are.

Time (what ``make test`` spends most of its time on):

- The executions run one at a time in a background thread while the samples of the lessons
  executed already are graded (``workers`` at a time): grading never needs the executed copy,
  and its one-process stretches (nbgrader's generate, the trusted reference run, feedback)
  leave a core free.
- Each lesson's samples get a cell timeout fitted to the lesson (``fitted_cell_timeout``):
  ``FIT_FACTOR`` times the slowest cell of the solution's execution, at least ``FIT_FLOOR``
  seconds. A lesson of quick cells cuts its ``endless`` sample after seconds, not minutes;
  a slow machine (or one shared with other work) gets proportionally longer timeouts, so
  the solution's own long cells are not cut. An explicit ``cell_timeout`` overrides it.

Its nbgrader course is ``build/demo`` (rebuilt on every run, so changed lessons never clash
with old grades), apart from ``build/course`` where real submissions are graded.

It fails (exit 1) when a solution notebook does not run, when the ``solution`` sample is
not full marks, or when the ``untouched`` sample is not 0: the three ways a lesson or the
grader can be broken. Other samples are informative (lessons whose exercises build on each
other score lower than the toy's independent exercises).

Run: ``python -m grader demo --lessons 01 --workers 2``.
"""
from __future__ import annotations

import math
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Iterable

import nbformat

from grader import proc
from grader.autograde import DEFAULT_NOTEBOOK_TIMEOUT, Result, autograde
from grader.execute import Run, execute
from grader.jupyter_kernel import ensure_kernel
from grader.paths import Layout
from grader.samples import SAMPLES, make_samples

# A sample's cell may run FIT_FACTOR times slower than the solution's own execution: samples
# are graded `workers` at a time beside the next lesson's execution, sandboxed, with hidden
# tests and trusted cases added.
FIT_FACTOR = 5
# Seconds: quick cells slow down most under load (imports, allocation). At 60, an 8 s cell of
# lesson 06's raises sample was cut once in CI (11 of 14 points) while lesson 07 executed.
FIT_FLOOR = 90
FIT_FALLBACK = 60  # seconds, when the solution's execution has no timings (it failed)


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


def fitted_cell_timeout(run: Run) -> int:
    """Seconds per cell for the samples of ``run``'s lesson: ``FIT_FACTOR`` x the slowest cell
    of the solution's execution (papermill's per-cell durations), at least ``FIT_FLOOR``;
    ``FIT_FALLBACK`` when the execution failed or left no timings."""
    try:
        cells = nbformat.read(str(run.output), as_version=4).cells
    except Exception:  # papermill never wrote it
        return FIT_FALLBACK
    seconds = [cell.metadata.get("papermill", {}).get("duration") for cell in cells
               if cell.cell_type == "code"]
    seconds = [s for s in seconds if isinstance(s, (int, float))]
    if not run.ok or not seconds:
        return FIT_FALLBACK
    return max(FIT_FLOOR, math.ceil(FIT_FACTOR * max(seconds)))


def demo(layout: Layout = Layout(), lessons: Iterable[str] = (), *, workers: int = 1,
         cell_timeout: int | None = None,
         notebook_timeout: float = DEFAULT_NOTEBOOK_TIMEOUT, report=print) -> Demo:
    """Execute, sample and autograde each lesson (all by default). ``cell_timeout``: seconds
    per cell for every sample; None fits it to each lesson (``fitted_cell_timeout``)."""
    lessons = layout.resolve(lessons)
    shutil.rmtree(layout.demo_course, ignore_errors=True)  # lessons may have changed since
    ensure_kernel()  # once, before two threads start kernels
    found = Demo()
    report(f"== execute {len(lessons)} lesson(s) with default parameters, "
           f"beside the grading of those done")
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="execute")
    try:
        executions = [executor.submit(execute, layout, [lesson], report=report)
                      for lesson in lessons]
        for lesson, execution in zip(lessons, executions, strict=True):
            [run] = execution.result()
            found.runs.append(run)
            timeout = cell_timeout or fitted_cell_timeout(run)
            report(f"== autograde the samples of {lesson} (cell timeout {timeout} s)")
            samples = make_samples(layout, lesson)
            found.results[lesson] = autograde(
                lesson, samples["solution"].parent.parent, layout=layout,
                course_root=layout.demo_course, cell_timeout=timeout,
                notebook_timeout=notebook_timeout, workers=workers, report=report)
    except BaseException:  # Ctrl-C, or a grader error: stop the executions too
        executor.shutdown(wait=False, cancel_futures=True)
        proc.kill_all()
        raise
    executor.shutdown()
    return found
