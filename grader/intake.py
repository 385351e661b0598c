"""Intake: each submission is validated and copied once into the grader's own folder.

Everything downstream (hashing, grading, recording, feedback) reads only that copy, never
the student's folder again. Submissions (``SUBMISSIONS_DIR``), either layout; names starting
with ``.`` are ignored::

    SUBMISSIONS_DIR/alice/01_bpe_tokenizer.ipynb   one folder per student (other files ignored)
    SUBMISSIONS_DIR/bob.ipynb                      or a flat folder of <student>.ipynb

- Never follows a link: entries are ``lstat``-ed, a student's folder is opened with
  ``O_DIRECTORY | O_NOFOLLOW`` and the notebook with ``O_NOFOLLOW | O_NONBLOCK`` relative to
  it (no path is resolved twice), so a link to the solution, to a classmate's notebook or to
  a special file is ``invalid``, and opening a FIFO or a device never blocks.
- Only regular files, at most ``max_bytes``; read in bounded chunks, in daemon threads with
  one deadline: a read that hangs makes that submission ``invalid`` and the class goes on.
- The bytes are written once to ``<dest>/<student>.ipynb`` (0600) and hashed there.
- Submission times come from the instructor (``times``: a collection manifest,
  ``grader.settings.load_times``), never from a file the student can write, unless the
  instructor asks for it (``student_times``: the folder's ``timestamp.txt``, read with the
  same care, else the notebook's modification time).

Tested in ``grader/tests/test_intake.py`` and ``test_hostile.py``.
"""
from __future__ import annotations

import errno
import hashlib
import os
import re
import stat
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from grader.atomic import write_atomic
from grader.errors import GraderError

STUDENT_RE = re.compile(r"^[\w][\w .@+-]*$")  # safe in paths and in nbgrader's globs
MAX_NOTEBOOK_BYTES = 16 << 20  # a lesson's notebook with outputs is well under 1 MB
DEADLINE = 10.0  # seconds to read one submission
STAMP_BYTES = 256  # a timestamp.txt is one short line


@dataclass(frozen=True)
class Submission:
    """One student's submission after intake."""

    student: str
    path: Path | None  # the grader's copy; None: missing or rejected (see ``problem``)
    sha256: str = "absent"
    problem: tuple[str, str] | None = None  # (status, reason): missing or invalid
    time: datetime | None = None  # when it was handed in, from a source the grader trusts


class Rejected(Exception):
    """A file that is not read: the reason, in the grader's words."""


def read_bounded(dir_fd: int, name: str, max_bytes: int) -> tuple[bytes, float]:
    """The bytes of the regular file ``name`` in ``dir_fd`` and its mtime, without following
    a link or blocking on a special file; ``Rejected`` otherwise."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
    try:
        fd = os.open(name, flags, dir_fd=dir_fd)
    except FileNotFoundError:
        raise
    except OSError as err:
        if err.errno == errno.ELOOP:
            raise Rejected(f"{name} is a symbolic link: hand in the notebook itself") from None
        raise Rejected(f"{name} cannot be opened ({os.strerror(err.errno)})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise Rejected(f"{name} is not a regular file")
        if info.st_size > max_bytes:
            raise Rejected(f"{name} is larger than {_size(max_bytes)}")
        chunks, size = [], 0
        while size <= max_bytes:
            chunk = os.read(fd, min(1 << 20, max_bytes + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > max_bytes:  # it grew while we read
            raise Rejected(f"{name} is larger than {_size(max_bytes)}")
        return b"".join(chunks), info.st_mtime
    finally:
        os.close(fd)


def _size(n: int) -> str:
    return f"{n >> 20} MB" if n >= 1 << 20 and n % (1 << 20) == 0 else f"{n:,} bytes"


def _entries(folder: Path, lesson: str) -> list[tuple[str, str, str]]:
    """``(student, kind, name)``: kind ``dir`` (a folder), ``file`` (flat layout) or ``bad``."""
    found: dict[str, tuple[str, str, str]] = {}
    for name in sorted(os.listdir(folder)):
        if name.startswith("."):
            continue
        mode = os.lstat(folder / name).st_mode
        if stat.S_ISDIR(mode):
            entry = (name, "dir", name)
        elif name.endswith(".ipynb"):
            entry = (name[: -len(".ipynb")], "file" if stat.S_ISREG(mode) else "bad", name)
        elif stat.S_ISLNK(mode):  # a link named like a student's folder
            entry = (name, "bad", name)
        else:
            continue
        if entry[0] in found:
            raise GraderError(f"{folder}: two submissions for student {entry[0]!r}")
        found[entry[0]] = entry
    return list(found.values())


def _one(folder: Path, dest: Path, lesson: str, student: str, kind: str, name: str,
         times: dict[str, datetime], student_times: bool, max_bytes: int) -> Submission:
    if not STUDENT_RE.match(student):
        return Submission(student, None, problem=(
            "invalid", f"student id {student!r} is not usable as a folder name"))
    if kind == "bad":
        return Submission(student, None, problem=(
            "invalid", f"{name} is a symbolic link or a special file: hand in the notebook "
                       "itself"))
    dir_fd = os.open(folder if kind == "file" else folder / name,
                     os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        notebook = name if kind == "file" else f"{lesson}.ipynb"
        try:
            data, mtime = read_bounded(dir_fd, notebook, max_bytes)
        except FileNotFoundError:
            others = sorted(n for n in os.listdir(dir_fd) if n.endswith(".ipynb"))
            hint = f" (found {', '.join(others)}: rename it?)" if others else ""
            return Submission(student, None, problem=(
                "missing", f"no {lesson}.ipynb in the student's folder{hint}"))
        except Rejected as err:
            return Submission(student, None, problem=("invalid", str(err)))
        moment = times.get(student)
        if moment is None and student_times:
            moment = datetime.fromtimestamp(mtime, timezone.utc)
            if kind == "dir":
                moment = _stamp(dir_fd) or moment
    finally:
        os.close(dir_fd)
    copy = dest / f"{student}.ipynb"
    write_atomic(copy, data, 0o600)
    return Submission(student, copy, hashlib.sha256(data).hexdigest(), None, moment)


def _stamp(dir_fd: int) -> datetime | None:
    """The folder's nbgrader-style ``timestamp.txt``, read with the same care, if usable."""
    from nbgrader.utils import parse_utc

    try:
        data, _ = read_bounded(dir_fd, "timestamp.txt", STAMP_BYTES)
        moment = parse_utc(data.decode("utf-8").strip())
    except Exception:  # absent, a link, not a time: ignored
        return None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def intake(folder: Path, lesson: str, dest: Path, *, times: dict[str, datetime] | None = None,
           student_times: bool = False, max_bytes: int = MAX_NOTEBOOK_BYTES,
           deadline: float = DEADLINE) -> list[Submission]:
    """Validate and copy every submission of ``lesson`` in ``folder`` into ``dest``; sorted
    by student. A submission that cannot be read within ``deadline`` s is ``invalid``."""
    folder = Path(folder)
    if not folder.is_dir():
        raise GraderError(f"{folder}: not a directory of submissions")
    entries = _entries(folder, lesson)
    if not entries:
        raise GraderError(f"{folder}: no submissions (expected <student>/{lesson}.ipynb "
                          "or <student>.ipynb)")
    dest.mkdir(parents=True, exist_ok=True)
    dest.chmod(0o700)
    found: dict[str, Submission | OSError] = {}

    def read(entry: tuple[str, str, str]) -> None:
        try:
            found[entry[0]] = _one(folder, dest, lesson, *entry, times or {}, student_times,
                                   max_bytes)
        except OSError as err:
            found[entry[0]] = err

    # daemon threads: a read that never returns is abandoned, never waited for (not even at
    # exit); all start now and share one deadline
    threads = [threading.Thread(target=read, args=(e,), daemon=True, name="intake")
               for e in entries]
    end = time.monotonic() + max(deadline, 0.05 * len(entries))
    for thread in threads:
        thread.start()
    done = []
    for (student, _, name), thread in zip(entries, threads, strict=True):
        thread.join(max(0.0, end - time.monotonic()))
        got = found.get(student)
        if isinstance(got, Submission):
            done.append(got)
        elif got is None:
            done.append(Submission(student, None, problem=(
                "invalid", f"{name} could not be read within {deadline:g} s")))
        else:
            done.append(Submission(student, None, problem=(
                "invalid", f"{name} cannot be read ({os.strerror(got.errno or 0)})")))
    return done
