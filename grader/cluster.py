"""The same grading jobs on a cluster, through submitit (Slurm), or its local executor.

- One job per submission: ``grader.autograde.grade_one``, passed in by the caller (nbgrader
  autograde in the sandbox, in a private course copy under ``folder/<student>/``) runs on the
  executor; the result comes back to the grader, which alone writes the course's gradebook,
  as with ``--workers``. ``folder`` must be on a filesystem the nodes share with the grader.
- ``executor("local", folder)`` is submitit's ``LocalExecutor`` (subprocesses here: what the
  tests use); ``executor("slurm", folder, partition=..., ...)`` its ``AutoExecutor`` on a
  Slurm cluster, each keyword passed on as ``slurm_<keyword>`` (``partition``, ``account``,
  ``qos``, ``array_parallelism``...). Jobs get ``timeout_notebook`` plus 5 minutes.
- Submitted as one job array (``map_array``); a job that fails or is cancelled becomes an
  ``error`` result with submitit's reason, never a lost student.

Run: ``python -m grader autograde 01 subs/ --cluster slurm --cluster-dir /shared/grading
--slurm partition=cpu``; test: ``pytest grader/tests/test_cluster.py``.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Iterator

from grader.errors import GraderError
from grader.result import Result


def executor(kind: str, folder: Path, timeout_min: int = 60, **slurm):
    """A submitit executor: ``kind`` is ``local`` or ``slurm``; logs go to ``folder/logs``."""
    try:
        import submitit
    except ImportError:
        raise GraderError("--cluster needs submitit: pip install -e '.[dev]' "
                          "(or pip install submitit)") from None
    logs = Path(folder) / "logs"
    if kind == "local":
        ex = submitit.LocalExecutor(folder=logs)
        ex.update_parameters(timeout_min=timeout_min)
    elif kind == "slurm":
        ex = submitit.AutoExecutor(folder=logs, cluster="slurm")
        ex.update_parameters(timeout_min=timeout_min, cpus_per_task=2,
                             **{f"slurm_{k}": v for k, v in slurm.items()})
    else:
        raise GraderError(f"unknown cluster {kind!r}: local or slurm")
    return ex


def grade_jobs(ex, grade_one, submissions, lesson, course, folder: Path, settings, points,
               isolation, cases=None) -> Iterator[tuple[object, Result]]:
    """Submit one job per submission (``grade_one``, ``grader.autograde``'s, passed in: no
    import cycle); yield ``(submission, result)`` as jobs finish."""
    if not submissions:
        return
    ex.update_parameters(timeout_min=max(ex.parameters.get("timeout_min", 0) or 0,
                                         math.ceil(settings.notebook_timeout / 60) + 5))
    n = len(submissions)
    jobs = ex.map_array(grade_one, submissions, [lesson] * n, [course] * n,
                        [Path(folder) / s.student for s in submissions], [settings] * n,
                        [points] * n, [isolation] * n, [cases] * n)
    by_job = {job.job_id: s for job, s in zip(jobs, submissions, strict=True)}
    import submitit

    for job in submitit.helpers.as_completed(jobs):
        submission = by_job[job.job_id]
        try:
            result = job.result()
        except Exception as err:  # the job failed, timed out or was cancelled: the grader's
            result = Result.zero(lesson, submission.student, "error",  # fault, retried
                                 f"grader error (cluster job {job.job_id}: "
                                 f"{type(err).__name__}): not your notebook's fault; it is "
                                 "graded again on the next run", points, grader_fault=True)
        yield submission, result
