"""``python -m grader autograde``: grade a folder of submissions with nbgrader.

Submissions (``SUBMISSIONS_DIR``), either layout or both; names starting with ``.`` are
ignored::

    SUBMISSIONS_DIR/alice/01_bpe_tokenizer.ipynb   one folder per student (other files ignored)
    SUBMISSIONS_DIR/bob.ipynb                      or a flat folder of <student>.ipynb

Pipeline for one lesson:

1. ``nbgrader generate_assignment`` in ``build/course``: source and gradebook match the
   current solution notebook.
2. Each submission is checked to be a notebook, then autograded by ``nbgrader autograde``
   (which re-executes it; never ``--no-execute``) in a private copy of the course with its
   own SQLite gradebook, so ``--workers N`` run in parallel without concurrent writers.
   nbgrader cuts each cell after ``--timeout-cell`` seconds; the grader kills the whole
   process tree after ``--timeout-notebook`` seconds.
3. The course's gradebook is then written by this process alone: results are merged one
   by one and the ``submitted/`` and ``autograded/`` notebooks copied in.
4. The gradebook goes to ``grades.csv``; ``nbgrader generate_feedback`` writes
   ``feedback/<student>/<lesson>/<lesson>.html`` (hidden tests removed, ``grader.feedback``),
   and a submission nbgrader could not grade gets a page there with its score and reason.

Statuses: ``graded`` (scored by the tests), ``missing`` (a folder without the lesson's
notebook), ``invalid`` (not a notebook), ``timeout`` and ``error`` (nbgrader failed, e.g.
the kernel died): all but ``graded`` score 0 and carry a one-line reason.

Run: ``python -m grader autograde 01 path/to/submissions --workers 2``.
"""
from __future__ import annotations

import re
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from grader import gradebook, ipynb, proc
from grader.course import DEFAULT_CELL_TIMEOUT, Course
from grader.errors import GraderError
from grader.feedback import write_failure_page
from grader.kernel import ensure_kernel
from grader.paths import Layout

DEFAULT_NOTEBOOK_TIMEOUT = 1200  # seconds for a whole submission, nbgrader's startup included
STUDENT_RE = re.compile(r"^[\w][\w .@+-]*$")  # safe in paths and in nbgrader's globs


@dataclass(frozen=True)
class Submission:
    """One student's notebook for a lesson (``path`` None: their folder lacks it)."""

    student: str
    path: Path | None


@dataclass
class Result:
    """The outcome of grading one submission."""

    lesson: str
    student: str
    status: str  # graded | missing | invalid | timeout | error
    score: float
    max_score: float
    tests: dict[str, float] = field(default_factory=dict)  # {test grade_id: score}
    reason: str = ""  # why the score is 0 when status is not "graded"
    seconds: float = 0.0
    feedback: Path | None = None  # the feedback HTML

    @classmethod
    def zero(cls, lesson: str, student: str, status: str, reason: str,
             points: dict[str, float], seconds: float = 0.0) -> Result:
        """A submission that could not be graded: 0 on every test, and why."""
        return cls(lesson, student, status, 0.0, sum(points.values()),
                   dict.fromkeys(points, 0.0), reason, seconds)


def find_submissions(folder: Path, lesson: str) -> list[Submission]:
    """The submissions in ``folder`` for ``lesson``, sorted by student."""
    folder = Path(folder)
    if not folder.is_dir():
        raise GraderError(f"{folder}: not a directory of submissions")
    found: dict[str, Submission] = {}
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            notebook = entry / f"{lesson}.ipynb"
            submission = Submission(entry.name, notebook if notebook.is_file() else None)
        elif entry.suffix == ".ipynb":
            submission = Submission(entry.stem, entry)
        else:
            continue
        if submission.student in found:
            raise GraderError(f"{folder}: two submissions for student {submission.student!r}")
        found[submission.student] = submission
    if not found:
        raise GraderError(f"{folder}: no submissions (expected <student>/{lesson}.ipynb "
                          "or <student>.ipynb)")
    return list(found.values())


def problem_with(submission: Submission, lesson: str) -> tuple[str, str] | None:
    """``(status, reason)`` when a submission cannot be autograded at all, else None."""
    if not STUDENT_RE.match(submission.student):
        return "invalid", f"student id {submission.student!r} is not usable as a folder name"
    if submission.path is None:
        return "missing", f"no {lesson}.ipynb in the student's folder"
    try:
        nbformat.validate(ipynb.read(submission.path))
    except GraderError as err:
        return "invalid", str(err).split(": ", 1)[-1]
    except nbformat.ValidationError as err:
        return "invalid", f"not a valid notebook ({ipynb.first_line(err.message)})"
    return None


def autograde(lesson: str, submissions_dir: Path, *, layout: Layout = Layout(),
              course_root: Path | None = None, cell_timeout: int = DEFAULT_CELL_TIMEOUT,
              notebook_timeout: float = DEFAULT_NOTEBOOK_TIMEOUT,
              workers: int = 1, report=print) -> list[Result]:
    """Grade every submission of ``lesson`` in ``submissions_dir``; results by student.

    The course directory is ``build/course`` unless ``course_root`` says otherwise.
    """
    [lesson] = layout.resolve([lesson])
    submissions = find_submissions(submissions_dir, lesson)
    ensure_kernel()
    course = Course(course_root or layout.course, layout.root, cell_timeout)
    course.generate_assignment(lesson, layout.solution(lesson))
    points = gradebook.max_scores(course, lesson)
    with tempfile.TemporaryDirectory(prefix=".autograde-", dir=course.root) as tmp:
        results = grade_all(submissions, lesson, course, Path(tmp), notebook_timeout, points,
                            workers, report)
        for submission, result in zip(submissions, results, strict=True):
            record(course, Path(tmp) / submission.student, submission, result)
    gradebook.save_status(course, lesson, {r.student: {"status": r.status, "reason": r.reason}
                                           for r in results})
    gradebook.export_csv(course)
    write_feedback(course, lesson, results)
    return results


def grade_all(submissions: list[Submission], lesson: str, course: Course, tmp: Path,
              notebook_timeout: float, points: dict[str, float], workers: int,
              report) -> list[Result]:
    """Autograde submissions, ``workers`` at a time, each in ``tmp/<student>``."""
    def grade(submission: Submission) -> Result:
        try:
            return grade_one(submission, lesson, course, tmp / submission.student,
                             notebook_timeout, points)
        except Exception as err:  # one odd submission must not stop the class's grading
            return Result.zero(lesson, submission.student, "error",
                               f"grader error: {ipynb.first_line(err)}", points)

    results: dict[str, Result] = {}
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(grade, s) for s in submissions]
        try:
            for future in as_completed(futures):
                result = future.result()
                results[result.student] = result
                reason = f": {result.reason}" if result.reason else ""
                report(f"  {lesson} {result.student:<20} {result.score:g}/{result.max_score:g}"
                       f"  {result.status}{reason}  ({result.seconds:.1f} s)")
        except KeyboardInterrupt:  # nbgrader runs in its own session: stop it ourselves
            for future in futures:
                future.cancel()
            proc.kill_all()
            raise
    return [results[s.student] for s in submissions]


def write_feedback(course: Course, lesson: str, results: list[Result]) -> None:
    """Feedback HTML for each result: nbgrader's for graded notebooks, a page with the
    reason for the others (nbgrader has nothing to show for them)."""
    if any(r.status == "graded" for r in results):  # nbgrader fails when there is nothing to do
        log = course.logs / f"feedback-{lesson}.log"
        done = course.nbgrader("generate_feedback", lesson, "--force", log=log)
        if not done.ok:
            raise GraderError(
                f"nbgrader generate_feedback {lesson} failed: {done.error_summary()} (log: "
                f"{log}); the grades are in {course.root / 'grades.csv'}")
    for result in results:
        if not STUDENT_RE.match(result.student):
            continue
        html = course.feedback(result.student, lesson)
        if result.status != "graded":
            write_failure_page(html, result)
        result.feedback = html if html.exists() else None


def grade_one(submission: Submission, lesson: str, course: Course, workdir: Path,
              notebook_timeout: float, points: dict[str, float]) -> Result:
    """Autograde one submission in a private copy of ``course`` rooted at ``workdir``."""
    def failed(status: str, reason: str, seconds: float = 0.0) -> Result:
        return Result.zero(lesson, submission.student, status, reason, points, seconds)

    problem = problem_with(submission, lesson)
    if problem:
        return failed(*problem)
    worker = Course(workdir, course.kit_root, course.cell_timeout)
    shutil.copytree(course.source(lesson).parent, worker.source(lesson).parent)
    shutil.copyfile(course.db, worker.db)
    worker.submitted(submission.student, lesson).parent.mkdir(parents=True)
    shutil.copyfile(submission.path, worker.submitted(submission.student, lesson))
    done = worker.nbgrader("autograde", lesson, "--student", submission.student,
                           log=course.logs / "autograde" / lesson / f"{submission.student}.log",
                           timeout=notebook_timeout)
    if done.timed_out:
        return failed("timeout", f"stopped after the {notebook_timeout:g} s limit per notebook",
                      done.seconds)
    if not done.ok:
        return failed("error", f"nbgrader autograde failed: {done.error_summary()}", done.seconds)
    tests = gradebook.scores(worker, lesson, submission.student)
    return Result(lesson, submission.student, "graded", sum(tests.values()),
                  sum(points.values()), tests, "", done.seconds)


def record(course: Course, workdir: Path, submission: Submission, result: Result) -> None:
    """Write one result into the course: gradebook, submitted/ and autograded/ copies."""
    lesson, student = result.lesson, result.student
    if not STUDENT_RE.match(student):  # cannot name a folder: the table reports it
        return
    for path in (course.submitted(student, lesson), course.autograded(student, lesson),
                 course.feedback(student, lesson)):
        shutil.rmtree(path.parent, ignore_errors=True)  # results of an earlier run
    if submission.path is not None:
        course.submitted(student, lesson).parent.mkdir(parents=True)
        shutil.copyfile(submission.path, course.submitted(student, lesson))
    if result.status == "graded":
        worker = Course(workdir, course.kit_root, course.cell_timeout)
        shutil.copytree(worker.autograded(student, lesson).parent,
                        course.autograded(student, lesson).parent)
        gradebook.merge(worker, course, lesson, student)
    else:
        gradebook.record_zero(course, lesson, student)


def format_table(results: list[Result]) -> str:
    """A plain-text table: student, score, max, status and reason."""
    width = max([len("student"), *(len(r.student) for r in results)])
    lines = [f"{'student':<{width}}  {'score':>6}  {'max':>6}  status"]
    for r in results:
        status = r.status + (f": {r.reason}" if r.reason else "")
        lines.append(f"{r.student:<{width}}  {r.score:>6g}  {r.max_score:>6g}  {status}")
    return "\n".join(lines)
