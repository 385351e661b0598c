"""Gradebook integrity: idempotent reruns, ``--regrade``, a grader killed midway, late penalties
and per-assignment settings.

Run: ``pytest grader/tests/test_integrity.py`` (about a minute on 2 cores).
"""
from __future__ import annotations

import csv
import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import psutil
import pytest
from toy import TOY, make_kit

from grader import results
from grader.autograde import Result, Submission, autograde, late
from grader.errors import GraderError
from grader.paths import REPO_ROOT
from grader.samples import make_samples
from grader.sandbox import GiB, Limits
from grader.settings import LatePolicy, Settings, load

DUE = datetime(2026, 12, 1, 23, 59, tzinfo=timezone.utc)
CONFIG = f"""\
[defaults]
timeout_cell = 5
late = {{ per_day = 10, cap = 15 }}

[assignments.{TOY}]
due = 2026-12-01T23:59:00Z
times = "collected.csv"
limits = {{ memory_bytes = "2G" }}
"""
EXPECTED = {"solution": "3", "partial": "1", "untouched": "0", "raises": "2"}


def samples(kit, folder: Path) -> None:
    make_samples(kit, TOY, out_dir=folder)
    for student in ("endless",):
        (folder / student / f"{TOY}.ipynb").unlink()
        (folder / student).rmdir()
    lines = ["student,timestamp"]  # the instructor's collection record (issue 20, class 2)
    for student in EXPECTED:  # on time, except the solution: 2 days and 1 minute late
        late_by = timedelta(days=2, minutes=1) if student == "solution" else -timedelta(hours=1)
        lines.append(f"{student},{(DUE + late_by).isoformat()}")
        (folder / student / "timestamp.txt").write_text(  # what a student may write: ignored
            (DUE - timedelta(days=1)).strftime("%Y-%m-%d %H:%M:%S.%f UTC"))
    (kit.root / "collected.csv").write_text("\n".join(lines) + "\n")


def rows(kit) -> dict[str, dict[str, str]]:
    with open(kit.course / "grades.csv") as f:
        return {row["student"]: row for row in csv.DictReader(f)}


def mtimes(kit) -> dict[str, int]:
    return {p.stem: p.stat().st_mtime_ns for p in (kit.course / "results" / TOY).glob("*.json")}


def test_killed_grader_rerun_regrade(tmp_path):
    """Kill a grading run midway (SIGKILL), rerun: the same gradebook as one clean run, no
    duplicate or partial rows; a rerun with nothing new grades nothing; ``--regrade``
    touches one student."""
    kit = make_kit(tmp_path / "kit")
    folder = tmp_path / "subs"
    samples(kit, folder)
    (kit.root / "grading.toml").write_text(CONFIG)
    cmd = [sys.executable, "-m", "grader", "--root", str(kit.root), "autograde", TOY,
           str(folder)]
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    grader = subprocess.Popen(cmd, cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while not mtimes(kit) and time.monotonic() < deadline and grader.poll() is None:
            time.sleep(0.2)
        assert grader.poll() is None, "the grader ended before it could be killed"
        os.kill(grader.pid, signal.SIGKILL)  # the grader only: its nbgrader is orphaned
        grader.wait()
        assert 1 <= len(mtimes(kit)) < len(EXPECTED)
    finally:
        _kill_leftovers(kit.root)

    reports: list[str] = []
    found = autograde(TOY, folder, layout=kit, report=reports.append)
    assert {r.student: r.status for r in found} == dict.fromkeys(EXPECTED, "graded")
    table = rows(kit)
    assert {s: row["raw_score"] for s, row in table.items()} == \
        {s: str(float(v)) for s, v in EXPECTED.items()}
    assert table["solution"]["penalty"] == "0.45"  # 3 days started, capped at 15% of 3
    assert table["solution"]["score"] == "2.55" and table["solution"]["late_by_hours"] == "48.02"
    assert table["partial"]["penalty"] == "0.0" and table["partial"]["score"] == "1.0"
    with sqlite3.connect(kit.course / "gradebook.db") as db:
        assert db.execute("select count(*) from submitted_assignment").fetchone()[0] == 4
        assert db.execute("select count(*) from grade").fetchone()[0] == 4 * 2
    first = (kit.course / "grades.csv").read_bytes()

    before = mtimes(kit)
    reports.clear()
    autograde(TOY, folder, layout=kit, report=reports.append)
    assert f"  {TOY}: 4 submission(s) up to date, 0 to grade" in reports
    assert mtimes(kit) == before and (kit.course / "grades.csv").read_bytes() == first

    autograde(TOY, folder, layout=kit, regrade=["partial"], report=reports.append)
    after = mtimes(kit)
    assert [s for s in after if after[s] != before[s]] == ["partial"]
    assert (kit.course / "grades.csv").read_bytes() == first
    with pytest.raises(GraderError, match="--regrade: no submission for 'nobody'"):
        autograde(TOY, folder, layout=kit, regrade=["nobody"])


def _kill_leftovers(root: Path) -> None:
    """The orphaned nbgrader of the killed grader (its kernel dies with it)."""
    for process in psutil.process_iter(["cmdline"]):
        if "nbgrader" in " ".join(process.info["cmdline"] or []):
            try:
                if str(root) in " ".join(process.environ().values()):
                    process.kill()
            except psutil.Error:
                pass


def test_results_are_written_atomically(tmp_path, monkeypatch):
    result = Result(TOY, "alice", "graded", 3.0, 3.0, {"test_add": 1.0, "test_mul": 2.0})
    results.save(tmp_path, result, "key-1")

    def crash(*args):
        raise KeyboardInterrupt  # the grader killed while writing
    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        results.save(tmp_path, Result(TOY, "alice", "error", 0.0, 3.0), "key-2")
    monkeypatch.undo()
    assert results.load(tmp_path, TOY, "alice") == ("key-1", result)
    assert [p.name for p in (tmp_path / "results" / TOY).iterdir()] == ["alice.json"]


@pytest.mark.parametrize("late_by, penalty", [
    (timedelta(minutes=-5), 0.0), (timedelta(minutes=10), 0.0),  # on time; within the grace
    (timedelta(hours=1), 1.0), (timedelta(days=1, minutes=20), 2.0), (timedelta(days=30), 5.0),
])
def test_late_penalty_per_started_day_with_a_cap_and_grace(tmp_path, late_by, penalty):
    settings = Settings(due=DUE, late=LatePolicy(per_day=10, cap=50, grace_minutes=15))
    result = Result(TOY, "alice", "graded", 10.0, 10.0)
    submission = Submission("alice", tmp_path / "alice.ipynb", time=DUE + late_by)
    late(result, submission, settings)
    assert (result.raw_score, result.penalty, result.score) == (10.0, penalty, 10.0 - penalty)
    assert late(result, submission, settings) is False


def test_trusted_file_times_count_when_the_instructor_says_so(tmp_path):
    from grader.intake import intake

    (tmp_path / "subs").mkdir()
    notebook = tmp_path / "subs" / "bob.ipynb"
    notebook.write_text("{}")
    moment = (DUE + timedelta(days=3)).timestamp()
    os.utime(notebook, (moment, moment))
    [submission] = intake(tmp_path / "subs", TOY, tmp_path / "copies", student_times=True)
    result = Result(TOY, "bob", "graded", 4.0, 4.0)
    late(result, submission, Settings(due=DUE, late=LatePolicy(per_day=25)))
    assert (result.penalty, result.score, result.late_seconds) == (3.0, 1.0, 3 * 86400)


def test_grader_failures_are_never_final(tmp_path):
    """Issue 20, class 3: a result the grader failed to make (disk, database) is stored
    with an empty key, so the next run grades that student again."""
    fault = Result.zero(TOY, "alice", "error", "grader error", {"test_add": 1.0}, 0.0, True)
    results.save(tmp_path, fault, "key-1")
    assert results.load(tmp_path, TOY, "alice")[0] == ""  # never equal to a grading key
    results.save(tmp_path, Result(TOY, "bob", "error", 0.0, 1.0), "key-2")
    assert results.load(tmp_path, TOY, "bob")[0] == "key-2"  # a student's failure stays


@pytest.mark.parametrize("log, reason, fault", [
    ("nbclient.exceptions.DeadKernelError: Kernel died\nValueError: =HYPERLINK(1)\n",
     "nbgrader autograde failed: DeadKernelError: Kernel died", False),
    ("sqlite3.OperationalError: database or disk is full\n",
     "grader error (nbgrader autograde: OperationalError): not your notebook's fault; it is "
     "graded again on the next run", True),
])
def test_failure_reasons_are_the_graders_words(tmp_path, log, reason, fault):
    from grader.autograde import failure
    from grader.proc import Completed

    (tmp_path / "log").write_text(log)
    assert failure(Completed(1, 1.0, tmp_path / "log")) == ("error", reason, fault)


def test_settings_layers(tmp_path):
    path = tmp_path / "grading.toml"
    path.write_text(CONFIG)
    settings = load(TOY, root=tmp_path, notebook_timeout=30.0, cell_timeout=None)
    assert (settings.cell_timeout, settings.notebook_timeout, settings.due) == (5, 30.0, DUE)
    assert settings.limits == Limits(memory_bytes=2 * GiB)
    assert settings.late == LatePolicy(per_day=10, cap=15)
    assert load("01_other", path).due is None  # another assignment: the defaults only


@pytest.mark.parametrize("text, message", [
    ("[defaults]\ntimeout = 3\n", r"\[defaults\]: unknown setting\(s\) timeout; known: "),
    ("[assignments.99_toy]\nlimits = { memory = 1 }\n", r"unknown limit\(s\) \['memory'\]"),
    ("[defaults]\nlimits = { memory_bytes = 'lots' }\n", r"not a size: 'lots'"),
    ("[defaults]\ndue = 'next week'\n", r"not a date and time: 'next week'"),
    ("[defaults]\nsandbox = 'maybe'\n", r"sandbox must be one of"),
    ("[grading]\n", r"unknown table\(s\) grading"),
    ("[defaults\n", r"not valid TOML"),
])
def test_bad_settings_are_one_line_errors(tmp_path, text, message):
    path = tmp_path / "grading.toml"
    path.write_text(text)
    with pytest.raises(GraderError, match=message):
        load(TOY, path)


@pytest.mark.parametrize("argv, message", [
    (["--config", "missing.toml"], "error: missing.toml: no such settings file\n"),
    (["--regrade", "zoe"], "error: --regrade: no submission for 'zoe' in "),
])
def test_cli_errors_for_settings_and_regrade(kit, tmp_path, argv, message, capsys):
    from grader.cli import main

    (tmp_path / "alice.ipynb").write_text("{}")
    assert main(["--root", str(kit.root), "autograde", "99", str(tmp_path), *argv]) == 1
    assert capsys.readouterr().err.startswith(message)
