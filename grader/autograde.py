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

Grading is idempotent and resumable (``grader.results``): each submission's result is
stored atomically under a hash of the submission, the lesson source and the settings, and
a rerun skips up-to-date students; ``regrade`` (``--regrade STUDENT``) grades only the
named students, always. Kernels run confined by ``grader.sandbox``, each submission in
its own temporary folder (``$TMPDIR/lmkit-grade-*``), with the limits and late policy of
``grader.settings``.

Statuses: ``graded`` (scored by the tests), ``missing`` (a folder without the lesson's
notebook), ``invalid`` (not a notebook), ``timeout`` and ``error`` (nbgrader failed, e.g.
the kernel died): all but ``graded`` score 0 and carry a one-line reason.

Run: ``python -m grader autograde 01 path/to/submissions --workers 2``.
"""
from __future__ import annotations

import os
import re
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import nbformat
import psutil

from grader import gradebook, ipynb, proc, results, trusted
from grader.course import Course
from grader.errors import GraderError
from grader.feedback import write_failure_page
from grader.kernel import ensure_kernel
from grader.paths import REPO_ROOT, Layout
from grader.sandbox import NOGROUP, Isolation
from grader.settings import DEFAULT_NOTEBOOK_TIMEOUT, Settings, submission_time
from grader.settings import load as load_settings

__all__ = ["DEFAULT_NOTEBOOK_TIMEOUT", "Result", "Submission", "autograde", "find_submissions"]
STUDENT_RE = re.compile(r"^[\w][\w .@+-]*$")  # safe in paths and in nbgrader's globs
WORKDIR_PREFIX = "lmkit-grade-"


@dataclass(frozen=True)
class Submission:
    """One student's notebook for a lesson (``path`` None: their folder lacks it)."""

    student: str
    path: Path | None
    folder: Path | None = None  # the student's folder (None in the flat layout)


@dataclass
class Result:
    """The outcome of grading one submission."""

    lesson: str
    student: str
    status: str  # graded | missing | invalid | timeout | error
    score: float  # the final score: raw_score - penalty
    max_score: float
    tests: dict[str, float] = field(default_factory=dict)  # {test grade_id: score}
    reason: str = ""  # why the score is 0 when status is not "graded"
    seconds: float = 0.0
    feedback: Path | None = None  # the feedback HTML
    raw_score: float | None = None  # the tests' score before a late penalty (None: = score)
    penalty: float = 0.0
    late_seconds: float = 0.0
    timestamp: str | None = None  # when it was handed in (ISO 8601, UTC)
    checks: dict[str, str] = field(default_factory=dict)  # {test grade_id: why the trusted
    #   compare failed} (grader.trusted); those tests score 0

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
            submission = Submission(entry.name, notebook if notebook.is_file() else None, entry)
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


def problem_with(submission: Submission, lesson: str,
                 expected: set[str] = frozenset()) -> tuple[str, str] | None:
    """``(status, reason)`` when a submission cannot be autograded at all, else None.

    ``expected``: the lesson's graded cell ids (solution and test cells); a notebook with
    none of them belongs to another lesson, one with others had its ids edited.
    """
    if not STUDENT_RE.match(submission.student):
        return "invalid", f"student id {submission.student!r} is not usable as a folder name"
    if submission.path is None:
        others = sorted(p.name for p in submission.folder.glob("*.ipynb")) if submission.folder else []
        found = f" (found {', '.join(others)}: rename it?)" if others else ""
        return "missing", f"no {lesson}.ipynb in the student's folder{found}"
    try:
        nb = ipynb.read(submission.path)
        nbformat.validate(nb)
    except GraderError as err:
        return "invalid", str(err).split(": ", 1)[-1]
    except nbformat.ValidationError as err:
        return "invalid", f"not a valid notebook ({ipynb.first_line(err.message)})"
    ids = {ipynb.grade_id(c) for c in nb.cells} - {""}
    if not ids or (expected and not ids & expected):
        return "invalid", (f"none of the graded cells of {lesson}: a notebook of another "
                           "lesson, or its cells were deleted")
    strange = sorted(ids - expected) if expected else []
    if strange:  # nbgrader would fail with "the nbgrader metadata may be corrupted"
        return "invalid", (f"graded cells with ids that are not in {lesson}: "
                           f"{', '.join(strange)} (copy them back from the released notebook)")
    return None


def hidden_paths(layout: Layout, course: Course, submissions_dir: Path) -> list[Path]:
    """What a sandboxed kernel must not see: solutions, history, builds, tests, gradebooks,
    the other submissions."""
    roots = {layout.root.resolve(), REPO_ROOT}
    paths = [root / name for root in roots for name in ("solutions", ".git", "build")]
    paths += [root / "grader" / "tests" for root in roots]
    return paths + [course.root.resolve(), Path(submissions_dir).resolve()]


def data_paths(layout: Layout) -> list[Path]:
    """Caches lessons may write to: writable in the sandbox through a private overlay."""
    data = os.environ.get("LMKIT_DATA_DIR")
    return [Path(data)] if data else [root / "datasets" / "data"
                                      for root in {layout.root.resolve(), REPO_ROOT}]


def autograde(lesson: str, submissions_dir: Path, *, layout: Layout = Layout(),
              course_root: Path | None = None, cell_timeout: int | None = None,
              notebook_timeout: float | None = None, workers: int = 1, report=print,
              settings: Settings | None = None, config: Path | None = None,
              regrade: list[str] | None = None, executor=None,
              cluster_dir: Path | None = None) -> list[Result]:
    """Grade the submissions of ``lesson`` in ``submissions_dir``; results by student.

    The course directory is ``build/course`` unless ``course_root`` says otherwise.
    ``settings`` default to ``grader.settings.load`` (``config`` or ``grading.toml``), with
    ``cell_timeout`` and ``notebook_timeout`` on top. Up-to-date results are reused;
    ``regrade`` lists students to grade again (and only them). ``executor`` (a submitit
    executor, ``grader.cluster``) runs the jobs instead of ``workers`` threads, each in
    ``cluster_dir/<student>`` (a folder the cluster's nodes share).
    """
    [lesson] = layout.resolve([lesson])
    settings = settings or load_settings(lesson, config, layout.root, cell_timeout=cell_timeout,
                                         notebook_timeout=notebook_timeout)
    submissions = find_submissions(submissions_dir, lesson)
    if regrade:
        unknown = sorted(set(regrade) - {s.student for s in submissions})
        if unknown:
            raise GraderError(f"--regrade: no submission for {', '.join(map(repr, unknown))} "
                              f"in {submissions_dir}")
    ensure_kernel()
    course = Course(course_root or layout.course, layout.root, settings.cell_timeout)
    course.generate_assignment(lesson, layout.solution(lesson))
    if os.geteuid() == 0:
        course.root.chmod(0o700)  # hidden tests, solutions and grades: root's alone
    points = gradebook.max_scores(course, lesson)
    source_hash = results.file_hash(course.source(lesson))
    cases = trusted.prepare(layout.root, lesson, layout.solution(lesson), course.root,
                            settings.notebook_timeout)
    settings_key = settings.grading_key() + (f"\ntrusted {cases.key}" if cases else "")
    keys = {s.student: results.grading_key(results.file_hash(s.path), source_hash,
                                           settings_key) for s in submissions}
    done: dict[str, Result] = {}
    todo: list[Submission] = []
    for submission in submissions:
        stored = results.load(course.root, lesson, submission.student)
        if regrade and submission.student in regrade:
            todo.append(submission)
        elif stored and (regrade or stored[0] == keys[submission.student]):
            done[submission.student] = stored[1]
        elif not regrade:
            todo.append(submission)
    if done and not regrade:
        report(f"  {lesson}: {len(done)} submission(s) up to date, {len(todo)} to grade")
    isolation = Isolation.choose(settings.sandbox, settings.network, settings.limits,
                                 hidden_paths(layout, course, submissions_dir),
                                 data_paths(layout))
    if todo:
        report(f"  {isolation.describe()}")
    sweep_workdirs()
    graded_now = []
    with tempfile.TemporaryDirectory(prefix=f"{WORKDIR_PREFIX}{os.getpid()}-",
                                     dir=cluster_dir) as tmp:
        Path(tmp).chmod(0o711)  # sandboxed kernels reach their own folder, and nothing else
        if executor is not None:
            from grader.cluster import grade_jobs

            jobs = grade_jobs(executor, todo, lesson, course, Path(tmp), settings, points,
                              isolation, cases)
            report(f"  {lesson}: {len(todo)} job(s) submitted to {type(executor).__name__}")
        else:
            jobs = grade_all(todo, lesson, course, Path(tmp), settings, points, isolation,
                             workers, report, cases)
        for submission, result in jobs:
            if executor is not None:
                report(line(result))
            late(result, submission, settings)
            record(course, Path(tmp) / submission.student / "course", submission, result)
            results.save(course.root, result, keys[submission.student])  # the commit point
            shutil.rmtree(Path(tmp) / submission.student, ignore_errors=True)
            done[submission.student] = result
            graded_now.append(result)
    for submission in submissions:  # the due date may have changed since: penalties again
        result = done.get(submission.student)
        if result is not None and submission not in todo and late(result, submission, settings):
            results.save(course.root, result, keys[submission.student])
    final = [done[s.student] for s in submissions if s.student in done]
    gradebook.save_status(course, lesson, {r.student: {"status": r.status, "reason": r.reason}
                                           for r in final})
    gradebook.export_csv(course)
    write_feedback(course, lesson, final)
    return final


def late(result: Result, submission: Submission, settings: Settings) -> bool:
    """Set ``result``'s timestamp and late penalty from ``settings``; whether they changed."""
    before = (result.score, result.penalty, result.late_seconds, result.timestamp)
    raw = result.score + result.penalty if result.raw_score is None else result.raw_score
    moment, _ = submission_time(submission.path, submission.folder)
    result.timestamp = moment.isoformat() if moment else None
    result.raw_score = raw
    result.late_seconds = 0.0
    if settings.due is not None and moment is not None:
        result.late_seconds = max(0.0, (moment - settings.due).total_seconds())
    result.penalty = settings.late.penalty(raw, result.late_seconds)
    result.score = round(raw - result.penalty, 6)
    return before != (result.score, result.penalty, result.late_seconds, result.timestamp)


def sweep_workdirs() -> None:
    """Remove the temporary folders of graders that were killed (their pid is gone)."""
    for path in Path(tempfile.gettempdir()).glob(f"{WORKDIR_PREFIX}*-*"):
        pid = path.name[len(WORKDIR_PREFIX):].split("-", 1)[0]
        if pid.isdigit() and not psutil.pid_exists(int(pid)):
            shutil.rmtree(path, ignore_errors=True)


def grade_all(submissions: list[Submission], lesson: str, course: Course, tmp: Path,
              settings: Settings, points: dict[str, float], isolation: Isolation, workers: int,
              report, cases: trusted.Trusted | None = None) -> Iterator[tuple[Submission, Result]]:
    """Autograde submissions, ``workers`` at a time, each in ``tmp/<student>``; yield each
    ``(submission, result)`` as it is done (in this thread: the caller is the only writer)."""
    def grade(submission: Submission) -> Result:
        try:
            return grade_one(submission, lesson, course, tmp / submission.student, settings,
                             points, isolation, cases)
        except Exception as err:  # one odd submission must not stop the class's grading
            return Result.zero(lesson, submission.student, "error",
                               f"grader error: {ipynb.first_line(err)}", points)

    if not submissions:
        return
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(grade, s): s for s in submissions}
        try:
            for future in as_completed(futures):
                result = future.result()
                report(line(result))
                yield futures[future], result
        except BaseException:  # Ctrl-C, or the caller failed: nbgrader runs in its own session
            for future in futures:
                future.cancel()
            proc.kill_all()
            raise


def line(result: Result) -> str:
    """One line of progress for a graded submission."""
    reason = f": {result.reason}" if result.reason else ""
    return (f"  {result.lesson} {result.student:<20} {result.score:g}/{result.max_score:g}"
            f"  {result.status}{reason}  ({result.seconds:.1f} s)")


def write_feedback(course: Course, lesson: str, results_: list[Result]) -> None:
    """Feedback HTML for each result: nbgrader's for graded notebooks (those without one
    yet: a regraded student's was removed), a page with the reason for the others."""
    graded = [r for r in results_ if r.status == "graded"]
    missing = [r for r in graded if not course.feedback(r.student, lesson).exists()]
    if missing:  # nbgrader fails when there is nothing to do
        log = course.logs / f"feedback-{lesson}.log"
        student = ["--student", missing[0].student] if len(missing) == 1 else []
        done = course.nbgrader("generate_feedback", lesson, *student, log=log)
        if not done.ok:
            raise GraderError(
                f"nbgrader generate_feedback {lesson} failed: {done.error_summary()} (log: "
                f"{log}); the grades are in {course.root / 'grades.csv'}")
    for result in results_:
        if not STUDENT_RE.match(result.student):
            continue
        html = course.feedback(result.student, lesson)
        if result.status != "graded":
            write_failure_page(html, result)
        result.feedback = html if html.exists() else None


def grade_one(submission: Submission, lesson: str, course: Course, workdir: Path,
              settings: Settings, points: dict[str, float], isolation: Isolation,
              cases: trusted.Trusted | None = None) -> Result:
    """Autograde one submission in a private copy of ``course`` in ``workdir``/course;
    with ``cases``, the trusted compare decides the tests that have cases."""
    def failed(status: str, reason: str, seconds: float = 0.0) -> Result:
        return Result.zero(lesson, submission.student, status, reason, points, seconds)

    expected = {ipynb.grade_id(c) for c in ipynb.read(course.source(lesson)).cells} - {""}
    problem = problem_with(submission, lesson, expected)
    if problem:
        return failed(*problem)
    workdir.mkdir(mode=0o711)
    workdir.chmod(0o711)  # whatever the umask
    (workdir / "course").mkdir(mode=0o700)
    session = isolation.prepare(workdir)
    try:
        worker = Course(workdir / "course", course.kit_root, settings.cell_timeout,
                        session.extra_config, session.env)
        shutil.copytree(course.source(lesson).parent, worker.source(lesson).parent)
        shutil.copyfile(course.db, worker.db)
        worker.submitted(submission.student, lesson).parent.mkdir(parents=True)
        if cases is None:
            shutil.copyfile(submission.path, worker.submitted(submission.student, lesson))
        else:  # the runner cells go after the student's cells, in the same kernel
            io_dir = trusted.setup(cases, workdir, session.uid.uid if session.uid else None,
                                   NOGROUP)
            ipynb.write(trusted.runner_cells(ipynb.read(submission.path), cases, io_dir),
                        worker.submitted(submission.student, lesson))
        done = worker.nbgrader("autograde", lesson, "--student", submission.student,
                               log=course.logs / "autograde" / lesson / f"{submission.student}.log",
                               timeout=settings.notebook_timeout)
    finally:
        session.close()  # background processes, double forks: all of the sandbox's uid
    if done.timed_out:
        return failed("timeout", f"stopped after the {settings.notebook_timeout:g} s limit "
                      "per notebook", done.seconds)
    if not done.ok:
        return failed("error", f"nbgrader autograde failed: {done.error_summary()}", done.seconds)
    tests = gradebook.scores(worker, lesson, submission.student)
    checks = {}
    if cases is not None:  # after the kernel is gone: compare outside it
        passed = {name for name, score in tests.items() if score > 0}
        tests, checks = trusted.apply(cases, io_dir, tests)
        gradebook.set_scores(worker, lesson, submission.student, tests)
        autograded = worker.autograded(submission.student, lesson)
        ipynb.write(trusted.annotate(ipynb.read(autograded), checks, passed), autograded)
    return Result(lesson, submission.student, "graded", sum(tests.values()),
                  sum(points.values()), tests, "", done.seconds, checks=checks)


def record(course: Course, worker_root: Path, submission: Submission, result: Result) -> None:
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
        worker = Course(worker_root, course.kit_root, course.cell_timeout)
        # only the notebook nbgrader wrote: never files or links a kernel could have left
        target = course.autograded(student, lesson)
        target.parent.mkdir(parents=True)
        shutil.copyfile(worker.autograded(student, lesson), target, follow_symlinks=False)
        gradebook.merge(worker, course, lesson, student)
    else:
        gradebook.record_zero(course, lesson, student)


def format_table(results_: list[Result]) -> str:
    """A plain-text table: student, score, max, status and reason (and late penalties)."""
    width = max([len("student"), *(len(r.student) for r in results_)])
    lines = [f"{'student':<{width}}  {'score':>6}  {'max':>6}  status"]
    for r in results_:
        status = r.status + (f": {r.reason}" if r.reason else "")
        if r.penalty:
            status += f" (late {r.late_seconds / 3600:.1f} h: -{r.penalty:g})"
        lines.append(f"{r.student:<{width}}  {r.score:>6g}  {r.max_score:>6g}  {status}")
    return "\n".join(lines)
