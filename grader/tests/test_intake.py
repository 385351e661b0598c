"""``grader.intake`` alone: links, special files, sizes and submission times (seconds).

Issue 20, classes 1 and 2; the same attacks graded end to end are in ``test_hostile.py``.
Run: ``pytest grader/tests/test_intake.py``.
"""
from __future__ import annotations

import hashlib
import os
import time
from datetime import datetime, timezone

import pytest

from grader.errors import GraderError
from grader.intake import intake
from grader.settings import load, load_times

LESSON = "99_toy"
DUE = datetime(2026, 12, 1, 23, 59, tzinfo=timezone.utc)


def put(folder, student, text="{}"):
    (folder / student).mkdir(parents=True, exist_ok=True)
    (folder / student / f"{LESSON}.ipynb").write_text(text)
    return folder / student / f"{LESSON}.ipynb"


def test_links_are_never_followed(tmp_path):
    subs, secret = tmp_path / "subs", tmp_path / "solution.ipynb"
    secret.write_text('{"the": "solution"}')
    (subs / "alice").mkdir(parents=True)
    (subs / "alice" / f"{LESSON}.ipynb").symlink_to(secret)
    put(subs, "bob", '{"bob": 1}')
    (subs / "carol.ipynb").symlink_to(subs / "bob" / f"{LESSON}.ipynb")
    (subs / "dave").symlink_to(subs / "bob")
    found = {s.student: s for s in intake(subs, LESSON, tmp_path / "copies")}
    assert found["alice"].problem == (
        "invalid", f"{LESSON}.ipynb is a symbolic link: hand in the notebook itself")
    for student in ("carol", "dave"):
        assert found[student].problem[0] == "invalid" and found[student].path is None
    assert sorted(p.name for p in (tmp_path / "copies").iterdir()) == ["bob.ipynb"]


def test_special_files_do_not_block_and_big_files_are_refused(tmp_path):
    subs = tmp_path / "subs"
    (subs / "fifo").mkdir(parents=True)
    os.mkfifo(subs / "fifo" / f"{LESSON}.ipynb")  # open() without O_NONBLOCK never returns
    (subs / "tty.ipynb").symlink_to("/dev/zero")
    put(subs, "big", "x" * 2000)
    start = time.monotonic()
    found = {s.student: s for s in intake(subs, LESSON, tmp_path / "copies", max_bytes=1000)}
    assert time.monotonic() - start < 5
    assert found["fifo"].problem == ("invalid", f"{LESSON}.ipynb is not a regular file")
    assert found["tty"].problem[0] == "invalid"
    assert found["big"].problem == ("invalid", f"{LESSON}.ipynb is larger than 1,000 bytes")


def test_the_copy_is_what_gets_graded(tmp_path):
    subs = tmp_path / "subs"
    original = put(subs, "alice", '{"v": 1}')
    [sub] = intake(subs, LESSON, tmp_path / "copies")
    original.write_text('{"v": 2}')  # later changes to the student's file change nothing
    assert sub.path.read_text() == '{"v": 1}' and oct(sub.path.stat().st_mode)[-3:] == "600"
    assert sub.sha256 == hashlib.sha256(b'{"v": 1}').hexdigest()


def test_student_times_are_ignored_unless_the_instructor_trusts_them(tmp_path):
    subs = tmp_path / "subs"
    notebook = put(subs, "alice")
    (subs / "alice" / "timestamp.txt").write_text("2026-12-01 12:00:00.000000 UTC")  # forged
    os.utime(notebook, (DUE.timestamp() - 60, DUE.timestamp() - 60))
    [sub] = intake(subs, LESSON, tmp_path / "c1")
    assert sub.time is None  # no manifest: no time, no penalty either way
    [sub] = intake(subs, LESSON, tmp_path / "c2", student_times=True)
    assert sub.time == datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
    manifest = {"alice": datetime(2026, 12, 3, 8, 0, tzinfo=timezone.utc)}
    [sub] = intake(subs, LESSON, tmp_path / "c3", times=manifest, student_times=True)
    assert sub.time == manifest["alice"]  # the instructor's record wins


def test_collection_manifest_in_settings(tmp_path):
    (tmp_path / "collected.csv").write_text(
        "student,timestamp\nalice,2026-12-03 08:00:00 UTC\nbob,2026-12-01T20:00:00Z\n")
    (tmp_path / "grading.toml").write_text(f'[assignments.{LESSON}]\ntimes = "collected.csv"\n')
    settings = load(LESSON, root=tmp_path)
    assert settings.times == tmp_path / "collected.csv" and not settings.student_times
    times = load_times(settings.times)
    assert times["alice"] == datetime(2026, 12, 3, 8, 0, tzinfo=timezone.utc)
    assert times["bob"] == datetime(2026, 12, 1, 20, 0, tzinfo=timezone.utc)
    (tmp_path / "bad.csv").write_text("alice,tomorrow\n")
    with pytest.raises(GraderError, match="not a list of student,timestamp"):
        load_times(tmp_path / "bad.csv")
