"""Per-assignment grading settings: timeouts, sandbox limits, due date and late penalty.

- Read from a TOML file (``--config``, default ``grading.toml`` at the kit's root when it
  exists): ``[defaults]`` for every assignment, ``[assignments.<lesson>]`` on top of them;
  command-line options win over both. Unknown keys are errors (a typo must not silently
  grade with the defaults).
- Late submissions: a submission's time comes from a source the student cannot write: a
  collection manifest the instructor gives (``times = "collected.csv"``, relative to the
  TOML file: ``student,timestamp`` rows, or a JSON object ``{student: timestamp}``; e.g.
  the exchange's own record). Students' ``timestamp.txt`` and file times are ignored unless
  ``student_times = true`` (then nbgrader's ``timestamp.txt``, e.g.
  ``2026-12-01 23:59:00.000000 UTC``, else the notebook's mtime). Each started day past
  ``due`` (after ``grace_minutes``) costs ``per_day`` percent of the raw score, at most
  ``cap`` percent; a submission without a known time is not penalized.
- ``max_notebook_bytes``: a bigger submission is ``invalid`` (``grader.intake``).

Example (``grading.toml``)::

    [defaults]
    timeout_cell = 120             # seconds per cell
    timeout_notebook = 1200        # seconds per submission
    late = { per_day = 10, cap = 50, grace_minutes = 15 }
    limits = { memory_bytes = "8G", cpu_seconds = 3600, processes = 512, file_bytes = "1G" }

    [assignments.01_bpe_tokenizer]
    due = 2026-12-01T23:59:00Z
    times = "collected-01.csv"     # student,timestamp (the instructor's collection record)
    limits = { memory_bytes = "4G" }

Tested in ``grader/tests/test_integrity.py``.
"""
from __future__ import annotations

import csv
import io
import json
import math
import tomllib
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

from grader.course import DEFAULT_CELL_TIMEOUT
from grader.errors import GraderError
from grader.intake import MAX_NOTEBOOK_BYTES
from grader.sandbox import Limits, parse_size

DEFAULT_NOTEBOOK_TIMEOUT = 1200  # seconds for a whole submission, nbgrader's startup included
CONFIG_NAME = "grading.toml"
SANDBOX_MODES = ("auto", "off")


@dataclass(frozen=True)
class LatePolicy:
    per_day: float = 0.0        # percent of the raw score per started day late
    cap: float = 100.0          # percent at most
    grace_minutes: float = 0.0  # late by less than this: on time

    def penalty(self, raw: float, late_seconds: float) -> float:
        """Points taken off ``raw`` for a submission ``late_seconds`` after the due date."""
        late = late_seconds - 60 * self.grace_minutes
        if late <= 0 or raw <= 0:
            return 0.0
        percent = min(self.cap, self.per_day * math.ceil(late / 86400))
        return round(raw * percent / 100, 6)


@dataclass(frozen=True)
class Settings:
    cell_timeout: int = DEFAULT_CELL_TIMEOUT
    notebook_timeout: float = DEFAULT_NOTEBOOK_TIMEOUT
    limits: Limits = field(default_factory=Limits)
    sandbox: str = "auto"       # auto: every isolation this OS allows; off: none (trusted runs)
    network: bool = False       # allow the kernel network access
    due: datetime | None = None
    late: LatePolicy = field(default_factory=LatePolicy)
    times: Path | None = None   # the instructor's collection manifest (load_times)
    student_times: bool = False  # trust timestamp.txt and file times (students can forge them)
    max_notebook_bytes: int = MAX_NOTEBOOK_BYTES

    def grading_key(self) -> str:
        """What changes a grade when it changes (not the due date: penalties are recomputed)."""
        return repr((self.cell_timeout, self.notebook_timeout, self.limits, self.sandbox,
                     self.network, self.max_notebook_bytes))


KEYS = {"timeout_cell", "timeout_notebook", "limits", "sandbox", "network", "due", "late",
        "times", "student_times", "max_notebook_bytes"}


def _apply(settings: Settings, table: dict, where: str, base: Path | None = None) -> Settings:
    unknown = set(table) - KEYS
    if unknown:
        raise GraderError(f"{where}: unknown setting(s) {', '.join(sorted(unknown))}; "
                          f"known: {', '.join(sorted(KEYS))}")
    try:
        changes = {}
        if "timeout_cell" in table:
            changes["cell_timeout"] = int(table["timeout_cell"])
        if "timeout_notebook" in table:
            changes["notebook_timeout"] = float(table["timeout_notebook"])
        if "limits" in table:
            current = {k: getattr(settings.limits, k) for k in Limits.__dataclass_fields__}
            changes["limits"] = Limits.from_dict({**current, **table["limits"]})
        if "sandbox" in table:
            if table["sandbox"] not in SANDBOX_MODES:
                raise ValueError(f"sandbox must be one of {SANDBOX_MODES}")
            changes["sandbox"] = table["sandbox"]
        if "network" in table:
            changes["network"] = bool(table["network"])
        if "due" in table:
            changes["due"] = parse_time(table["due"])
        if "late" in table:
            changes["late"] = LatePolicy(**{**settings.late.__dict__, **table["late"]})
        if "times" in table:
            changes["times"] = (base or Path()) / str(table["times"])
        if "student_times" in table:
            changes["student_times"] = bool(table["student_times"])
        if "max_notebook_bytes" in table:
            changes["max_notebook_bytes"] = parse_size(table["max_notebook_bytes"])
    except (TypeError, ValueError) as err:
        raise GraderError(f"{where}: {err}") from None
    return replace(settings, **changes)


def load(lesson: str, path: Path | None = None, root: Path | None = None, **overrides) -> Settings:
    """The settings of ``lesson``: defaults < ``path`` (or ``root/grading.toml``) < overrides.

    ``overrides`` are ``Settings`` fields; ``None`` values are ignored (options not given).
    """
    settings = Settings()
    if path is None and root is not None and (root / CONFIG_NAME).is_file():
        path = root / CONFIG_NAME
    if path is not None:
        try:
            data = tomllib.loads(Path(path).read_text())
        except FileNotFoundError:
            raise GraderError(f"{path}: no such settings file") from None
        except tomllib.TOMLDecodeError as err:
            raise GraderError(f"{path}: not valid TOML ({err})") from None
        unknown = set(data) - {"defaults", "assignments"}
        if unknown:
            raise GraderError(f"{path}: unknown table(s) {', '.join(sorted(unknown))}; "
                              "expected [defaults] and [assignments.<lesson>]")
        base = Path(path).parent
        settings = _apply(settings, data.get("defaults", {}), f"{path} [defaults]", base)
        settings = _apply(settings, data.get("assignments", {}).get(lesson, {}),
                          f"{path} [assignments.{lesson}]", base)
    return replace(settings, **{k: v for k, v in overrides.items() if v is not None})


def parse_time(value) -> datetime:
    """A TOML datetime or a string (ISO 8601, or nbgrader's ``... UTC``) -> aware UTC datetime."""
    if isinstance(value, datetime):
        moment = value
    else:
        from nbgrader.utils import parse_utc

        try:
            moment = parse_utc(str(value))
        except Exception:
            raise ValueError(f"not a date and time: {value!r} "
                             "(e.g. 2026-12-01T23:59:00Z)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def load_times(path: Path | None) -> dict[str, datetime]:
    """``{student: time}`` from the instructor's collection manifest: CSV rows
    ``student,timestamp`` (a header line is allowed) or a JSON object."""
    if path is None:
        return {}
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as err:
        raise GraderError(f"{path}: cannot read the submission times ({err.strerror})") from None
    try:
        if text.lstrip().startswith("{"):
            pairs = list(json.loads(text).items())
        else:
            pairs = [tuple(row[:2]) for row in csv.reader(io.StringIO(text)) if row]
            if pairs and pairs[0][0].strip().lower() == "student":
                pairs = pairs[1:]
        return {str(student).strip(): parse_time(str(moment).strip())
                for student, moment in pairs}
    except (ValueError, TypeError, AttributeError) as err:
        raise GraderError(f"{path}: not a list of student,timestamp ({err})") from None
