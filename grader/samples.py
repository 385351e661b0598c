"""``python -m grader samples``: sample submissions made from a lesson's solution notebook.

Each sample is deterministic and exercises one path of the autograder:

=============  ================================================================  ===========
student        notebook                                                          toy score
=============  ================================================================  ===========
``solution``   the solution notebook itself                                      full marks
``untouched``  the student notebook as released                                  0
``partial``    exercises 2, 4, ... put back to nbgrader's stub                   odd ones
``raises``     exercise 1's solution region raises ``RuntimeError``              all but 1st
``endless``    the last exercise's solution region loops forever (``while        all but last
               True: pass``) on its first call, and raises on later ones
=============  ================================================================  ===========

(The toy scores assume independent exercises, as in ``grader/tests/fixtures/99_toy.ipynb``.)
Written as ``<out>/<student>/<lesson>.ipynb``, the layout ``autograde`` reads.

The ``endless`` sample hangs one cell: the first call of the exercise loops until the cell's
timeout cuts it, and later calls fail at once (a flag in ``builtins`` remembers the first call
for the kernel's life; a fresh worker process, as lesson 05 starts, loops again until its
launcher's timeout). Looping on every call would cost one timeout per cell that uses the
exercise, and score the same: those cells fail either way.

Run: ``python -m grader samples 01`` (writes ``build/samples/01_.../``).
"""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Callable

from nbformat import NotebookNode

from grader import ipynb
from grader.course import Course
from grader.errors import GraderError
from grader.paths import Layout

RAISES = 'raise RuntimeError("sample submission that raises")'
# The loop runs at the lowest CPU priority (os.nice): it still spins until the cell's timeout,
# but the samples graded beside it and the lesson executing meanwhile keep their CPU share.
ENDLESS = """\
import builtins  # a sample submission: loops forever on its first call, then fails at once
if not getattr(builtins, "_lmkit_sample_looped", False):
    builtins._lmkit_sample_looped = True
    import os
    os.nice(19)
    while True: pass
raise RuntimeError("sample submission that looped forever")"""
SAMPLES = ("solution", "untouched", "partial", "raises", "endless")


def make_samples(layout: Layout, lesson: str, *, out_dir: Path | None = None) -> dict[str, Path]:
    """Write the sample submissions of ``lesson``; return ``{student: notebook path}``.

    ``out_dir`` defaults to ``build/samples/<lesson>``. The student notebook is generated
    afresh (as ``generate`` does), so the samples match the current solution.
    """
    course = Course(layout.generate_course, layout.root)
    solution = ipynb.strip(ipynb.read(layout.solution(lesson)))
    released = ipynb.read(course.generate_assignment(lesson, layout.solution(lesson),
                                                     record=False))
    if not ipynb.exercises(solution):
        raise GraderError(f"{layout.relative(layout.solution(lesson))} has no exercise cells")
    stubs = {ipynb.grade_id(cell): cell.source for cell in ipynb.exercises(released)}

    def stub_even(exercises: list[NotebookNode]) -> None:
        for cell in exercises[1::2]:  # exercises 2, 4, ...
            cell.source = stubs[ipynb.grade_id(cell)]

    def raise_first(exercises: list[NotebookNode]) -> None:
        exercises[0].source = ipynb.replace_region(exercises[0].source, RAISES)

    def loop_last(exercises: list[NotebookNode]) -> None:
        exercises[-1].source = ipynb.replace_region(exercises[-1].source, ENDLESS)

    notebooks = {
        "solution": solution,
        "untouched": ipynb.strip(released),
        "partial": edited(solution, stub_even),
        "raises": edited(solution, raise_first),
        "endless": edited(solution, loop_last),
    }
    out_dir = out_dir or layout.samples / lesson
    paths = {}
    for student, nb in notebooks.items():
        paths[student] = out_dir / student / f"{lesson}.ipynb"
        ipynb.write(nb, paths[student])
    return paths


def edited(nb: NotebookNode, edit: Callable[[list[NotebookNode]], None]) -> NotebookNode:
    """A copy of ``nb`` whose exercise cells went through ``edit``."""
    nb = copy.deepcopy(nb)
    edit(ipynb.exercises(nb))
    return nb
