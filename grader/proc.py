"""Run a command under a wall-clock limit and kill everything it started when it runs over.

- The command gets its own session (process group); on timeout the grader kills its
  descendants first (Jupyter kernels run in sessions of their own, so killing the group
  alone would leave a kernel spinning in a student's ``while True``), then the group.
- Output (stdout and stderr together) goes to a log file, so a long nbgrader log never
  fills a pipe, and the caller can show its last error line.
- Commands in their own session do not see the terminal's Ctrl-C: ``kill_all`` stops the
  ones still running (``grader.autograde`` calls it when interrupted).

Tested through ``grader/tests/test_grader.py`` (the endless sample and notebook timeouts).
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

# "nbclient.exceptions.DeadKernelError: Kernel died" -> ("DeadKernelError", "Kernel died")
EXCEPTION = re.compile(r"^(?:[A-Za-z_][\w]*\.)*([A-Z]\w*(?:Error|Exception|Exit|Interrupt)): (.+)$")


@dataclass(frozen=True)
class Completed:
    """How a command ended: ``returncode`` (None when it was killed), seconds, log file."""

    returncode: int | None
    seconds: float
    log: Path

    @property
    def timed_out(self) -> bool:
        return self.returncode is None

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def error_summary(self) -> str:
        """The most telling line of the log: the last exception raised (``Name: message``),
        else the last line logged as an error, else the last line."""
        text = self.log.read_text(errors="replace")
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        for line in reversed(lines):
            match = EXCEPTION.match(line)
            if match:
                return f"{match.group(1)}: {match.group(2)}"
        errors = [line for line in lines if "ERROR" in line or "error:" in line]
        return (errors or lines or [f"exit status {self.returncode}"])[-1]


_running: set[int] = set()  # pids of the commands being run (from any thread)
_lock = threading.Lock()


def run(cmd: list[str], *, cwd: Path, env: dict[str, str], log: Path,
        timeout: float | None = None) -> Completed:
    """Run ``cmd`` in ``cwd`` with output to ``log``; kill its whole tree after ``timeout`` s."""
    log.parent.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        with _lock:
            _running.add(proc.pid)
        try:
            returncode = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            kill_tree(proc.pid)
            proc.wait()
            returncode = None
        finally:
            with _lock:
                _running.discard(proc.pid)
    return Completed(returncode, time.monotonic() - start, log)


def kill_all() -> None:
    """Kill every command ``run`` is waiting for, with its tree (e.g. on Ctrl-C)."""
    with _lock:
        pids = list(_running)
    for pid in pids:
        kill_tree(pid)


def kill_tree(pid: int) -> None:
    """SIGKILL ``pid``'s descendants (whatever session they are in), then its process group."""
    try:
        children = psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        children = []
    for child in children:
        try:
            child.kill()
        except psutil.NoSuchProcess:
            pass
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
