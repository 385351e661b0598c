"""``python -m grader autograde``: grade a folder of submissions with nbgrader.

Pipeline for one lesson (submissions' layout: ``grader.intake``):

0. Intake (``grader.intake``): each submission is validated (a regular file, never a link,
   under a size cap) and copied once into ``<course>/intake/<lesson>/``; everything below
   reads only that copy. Submission times come from the instructor's manifest.

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
   ``feedback/<student>/<lesson>/<lesson>.html`` (``grader.feedback.FeedbackView``: hidden
   tests and the kernel's outputs left out, HTML sanitized; under a time cap, per student
   where the class's run does not finish), and a submission nbgrader could not grade gets a
   page there with its score and reason. Reasons are the grader's own words.
5. ``grader.rules``: a test whose forbidden functions the submission's source uses scores 0.

Grading is idempotent and resumable (``grader.results``): each submission's result is
stored atomically under a hash of the submission, the lesson source and the settings, and
a rerun skips up-to-date students; ``regrade`` (``--regrade STUDENT``) grades only the
named students, always. Kernels run confined by ``grader.sandbox``, each submission in
its own temporary folder (``$TMPDIR/lmkit-grade-*``), with the limits and late policy of
``grader.settings``.

Statuses: ``graded`` (scored by the tests), ``missing`` (a folder without the lesson's
notebook), ``invalid`` (not a notebook, a link, too big), ``timeout`` and ``error`` (the
kernel died, or the grader failed: ``Result.grader_fault``, never stored as final): all but
``graded`` score 0 and carry a one-line reason.

Run: ``python -m grader autograde 01 path/to/submissions --workers 2``.
"""
from __future__ import annotations

import os
import re
import shutil
import tempfile
import traceback
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Iterator

import nbformat
import psutil

from grader import gradebook, ipynb, proc, results, rules, trusted
from grader.course import Course
from grader.errors import GraderError
from grader.feedback import FEEDBACK_CONFIG, write_failure_page
from grader.intake import STUDENT_RE, Submission, intake
from grader.jupyter_kernel import ensure_kernel
from grader.paths import REPO_ROOT, Layout
from grader.result import Result
from grader.sandbox import NOGROUP, Isolation, answer_modules, sweep_ipc
from grader.settings import DEFAULT_NOTEBOOK_TIMEOUT, Settings, load_times
from grader.settings import load as load_settings

__all__ = ["DEFAULT_NOTEBOOK_TIMEOUT", "Result", "Submission", "autograde"]
WORKDIR_PREFIX = "lmkit-grade-"
FEEDBACK_TIMEOUT = 60  # seconds for one student's feedback page (nbgrader's start: ~4 s)
FEEDBACK_PER_STUDENT = 5  # seconds more per student for the class's run
# nbgrader failures a submission causes (the rest are the grader's: retried on a rerun)
STUDENT_FAILURES = {"DeadKernelError": "Kernel died"}


def problem_with(submission: Submission, lesson: str,
                 expected: set[str] = frozenset()) -> tuple[str, str] | None:
    """``(status, reason)`` when a submission cannot be autograded at all, else None.

    ``expected``: the lesson's graded cell ids (solution and test cells); a notebook with
    none of them belongs to another lesson, one with others had its ids edited.
    """
    if submission.problem or submission.path is None:  # intake refused it
        return submission.problem or ("missing", f"no {lesson}.ipynb")
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


def kit_roots(layout: Layout) -> list[Path]:
    """The kit the kernel imports from (read-only in the sandbox): this layout's and the
    grader's own checkout (``grader.trusted.runner``)."""
    return sorted({layout.root.resolve(), REPO_ROOT})


def hidden_paths(layout: Layout, course: Course, submissions_dir: Path,
                 answers: list[Path] = ()) -> list[Path]:
    """What a sandboxed kernel must not see inside the kit: solutions, history, builds,
    tests, gradebooks, the submissions, and the modules that answer this or later lessons
    (everything outside the kit is absent anyway: ``grader.sandbox``)."""
    roots = kit_roots(layout)
    paths = [root / name for root in roots for name in ("solutions", ".git", "build")]
    paths += [root / "grader" / "tests" for root in roots]
    return paths + [course.root.resolve(), Path(submissions_dir).resolve(), *answers]


def tested_modules(course: Course, lesson: str) -> set[str]:
    """``helpers`` modules (dotted names) the lesson's test cells import: an answer among them
    cannot be hidden (every student would fail); the instructor should move that check into
    trusted cases (``solutions/README.md``)."""
    found = set()
    for cell in ipynb.read(course.source(lesson)).cells:
        if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("grade"):
            found |= set(re.findall(r"\bhelpers(?:\.\w+)+", cell.source))
    return found


def data_paths(layout: Layout) -> list[Path]:
    """Caches lessons may write to: writable in the sandbox through a private overlay."""
    data = os.environ.get("LMKIT_DATA_DIR")
    return [Path(data)] if data else [root / "datasets" / "data" for root in kit_roots(layout)]


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
    course_root = Path(course_root or layout.course)
    submissions = intake(submissions_dir, lesson, course_root / "intake" / lesson,
                         times=load_times(settings.times), student_times=settings.student_times,
                         max_bytes=settings.max_notebook_bytes)
    if regrade:
        unknown = sorted(set(regrade) - {s.student for s in submissions})
        if unknown:
            raise GraderError(f"--regrade: no submission for {', '.join(map(repr, unknown))} "
                              f"in {submissions_dir}")
    ensure_kernel()
    course = Course(course_root, layout.root, settings.cell_timeout)
    course.generate_assignment(lesson, layout.solution(lesson))
    if os.geteuid() == 0:
        course.root.chmod(0o700)  # hidden tests, solutions and grades: root's alone
    points = gradebook.max_scores(course, lesson)
    source_hash = results.file_hash(course.source(lesson))
    cases = trusted.prepare(layout.root, lesson, layout.solution(lesson), course.root,
                            settings.notebook_timeout)
    settings_key = settings.grading_key() + (f"\ntrusted {cases.key}" if cases else "")
    keys = {s.student: results.grading_key(s.sha256, source_hash, settings_key)
            for s in submissions}
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
    tested = tested_modules(course, lesson)
    answers = answer_modules(layout.root, lesson, keep=tested)
    isolation = Isolation.choose(settings.sandbox, settings.network, settings.limits,
                                 hidden_paths(layout, course, submissions_dir, answers),
                                 data_paths(layout), [*kit_roots(layout), *data_paths(layout)])
    if todo:
        report(f"  {isolation.describe()}")
        exposed = sorted(set(answer_modules(layout.root, lesson)) - set(answers))
        if exposed and isolation.drop_user:
            report(f"  note: {', '.join(p.name for p in exposed if p.suffix == '.py')} answer "
                   f"{lesson} but its test cells import them: not hidden from kernels")
    sweep_workdirs()
    graded_now = []
    with tempfile.TemporaryDirectory(prefix=f"{WORKDIR_PREFIX}{os.getpid()}-",
                                     dir=cluster_dir) as tmp:
        Path(tmp).chmod(0o711)  # sandboxed kernels reach their own folder, and nothing else
        if executor is not None:
            from grader.cluster import grade_jobs

            jobs = grade_jobs(executor, grade_one, todo, lesson, course, Path(tmp), settings,
                              points, isolation, cases)
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
    moment = submission.time
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
    sweep_ipc()
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
            log = course.logs / "autograde" / lesson / f"{submission.student}.grader-error.log"
            log.parent.mkdir(parents=True, exist_ok=True)
            log.write_text(traceback.format_exc())  # for the instructor, never the student
            return Result.zero(lesson, submission.student, "error",
                               f"grader error ({type(err).__name__}): not your notebook's "
                               "fault; it is graded again on the next run", points,
                               grader_fault=True)

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
    """Feedback HTML for each result (``grader.feedback.FeedbackView``): nbgrader's for graded
    notebooks (those without one yet: a regraded student's was removed), a page with the
    reason for the others. Time-capped: one run for the class (a few seconds a student),
    then, for whoever it did not reach, one run per student under ``FEEDBACK_TIMEOUT``; a
    student whose page still cannot be made gets a page of the grader's with the score."""
    view = Course(course.root, course.kit_root, course.cell_timeout, FEEDBACK_CONFIG)
    log = course.logs / "feedback" / lesson
    todo = [r for r in results_ if r.status == "graded" and STUDENT_RE.match(r.student)
            and not course.feedback(r.student, lesson).exists()]
    if len(todo) > 1:  # nbgrader fails when there is nothing to do
        view.nbgrader("generate_feedback", lesson, log=log / "class.log",
                      timeout=FEEDBACK_TIMEOUT + FEEDBACK_PER_STUDENT * len(todo))
    for result in todo:
        if not course.feedback(result.student, lesson).exists():
            done = view.nbgrader("generate_feedback", lesson, "--student", result.student,
                                 log=log / f"{result.student}.log", timeout=FEEDBACK_TIMEOUT)
            if not done.ok:
                write_failure_page(course.feedback(result.student, lesson), result,
                                   "your feedback page could not be made (over the grader's "
                                   "time limit); your score stands")
    for result in results_:
        if not STUDENT_RE.match(result.student):
            continue
        html = course.feedback(result.student, lesson)
        if result.status != "graded":
            write_failure_page(html, result)
        result.feedback = html if html.exists() else None


def failure(done) -> tuple[str, str, bool]:
    """``(status, reason, grader_fault)`` of an ``nbgrader autograde`` that failed, in the
    grader's words: the kernel's own output never reaches a reason."""
    with open(done.log, "rb") as f:  # the end of nbgrader's log, bounded
        f.seek(max(0, f.seek(0, os.SEEK_END) - (1 << 20)))
        lines = f.read().decode("utf-8", "replace").splitlines()
    names = [m.group(1)[:40] for m in map(proc.EXCEPTION.match, map(str.strip, lines)) if m]
    for name in names:
        if name in STUDENT_FAILURES:
            return "error", f"nbgrader autograde failed: {name}: {STUDENT_FAILURES[name]}", False
    what = names[-1] if names else f"exit status {done.returncode}"
    return "error", (f"grader error (nbgrader autograde: {what}): not your notebook's fault; "
                     "it is graded again on the next run"), True


def grade_one(submission: Submission, lesson: str, course: Course, workdir: Path,
              settings: Settings, points: dict[str, float], isolation: Isolation,
              cases: trusted.Trusted | None = None) -> Result:
    """Autograde one submission (its intake copy) in a private copy of ``course`` in
    ``workdir``/course, then write its feedback there; with ``cases``, the trusted compare
    decides the tests that have cases."""
    def failed(status: str, reason: str, seconds: float = 0.0, fault: bool = False) -> Result:
        return Result.zero(lesson, submission.student, status, reason, points, seconds, fault)

    expected = {ipynb.grade_id(c) for c in ipynb.read(course.source(lesson)).cells} - {""}
    problem = problem_with(submission, lesson, expected)
    if problem:
        return failed(*problem)
    student = submission.student
    workdir.mkdir(mode=0o711)
    workdir.chmod(0o711)  # whatever the umask
    (workdir / "course").mkdir(mode=0o700)
    session = isolation.prepare(workdir)
    checks: dict[str, str] = {}
    try:
        worker = Course(workdir / "course", course.kit_root, settings.cell_timeout,
                        session.extra_config, session.env)
        shutil.copytree(course.source(lesson).parent, worker.source(lesson).parent)
        shutil.copyfile(course.db, worker.db)
        worker.submitted(student, lesson).parent.mkdir(parents=True)
        if cases is None:
            shutil.copyfile(submission.path, worker.submitted(student, lesson))
        else:  # the runner cells go after the student's cells, in the same kernel
            io_dir = trusted.setup(cases, session.io, session.uid.uid if session.uid else None,
                                   NOGROUP)
            ipynb.write(trusted.runner_cells(ipynb.read(submission.path), cases, io_dir),
                        worker.submitted(student, lesson))
        done = worker.nbgrader("autograde", lesson, "--student", student,
                               log=course.logs / "autograde" / lesson / f"{student}.log",
                               timeout=settings.notebook_timeout)
        session.stop()  # nothing of the submission runs any more
        if done.timed_out:
            return failed("timeout", f"stopped after the {settings.notebook_timeout:g} s limit "
                          "per notebook", done.seconds)
        if not done.ok:
            status, reason, fault = failure(done)
            return failed(status, reason, done.seconds, fault)
        tests = gradebook.scores(worker, lesson, student)
        passed = {name for name, score in tests.items() if score > 0}
        if cases is not None:  # after the kernel is gone: compare outside it
            tests, checks = trusted.apply(cases, io_dir, tests)
        source = ipynb.read(course.source(lesson))
        if rules.rules(source):  # forbidden functions: in the source, outside the kernel
            broken = rules.check(source, ipynb.read(course.released(lesson)),
                                 ipynb.read(submission.path))
            for gid, why in broken.items():
                if gid in tests:
                    checks.setdefault(gid, why)
                    tests[gid] = 0.0
        if cases is not None or checks:
            gradebook.set_scores(worker, lesson, student, tests)
            autograded = worker.autograded(student, lesson)
            ipynb.write(trusted.annotate(ipynb.read(autograded), checks, passed), autograded)
    finally:
        session.close()  # background processes, double forks, files: all of the sandbox's uid
    return Result(lesson, student, "graded", sum(tests.values()), sum(points.values()),
                  tests, "", done.seconds, checks=checks)


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
