"""The grading jobs through submitit's LocalExecutor (the Slurm path runs the same jobs).

Run: ``pytest grader/tests/test_cluster.py`` (about 20 s).
"""
from __future__ import annotations

import shutil

import pytest
from toy import TOY, make_kit

from grader.autograde import autograde
from grader.samples import make_samples

submitit = pytest.importorskip("submitit", reason="submitit is in the dev extra")


def test_local_executor_grades_like_the_workers(tmp_path):
    from grader.cluster import executor

    kit = make_kit(tmp_path / "kit")
    folder = tmp_path / "subs"
    make_samples(kit, TOY, out_dir=folder)
    for student in ("partial", "raises", "endless"):
        shutil.rmtree(folder / student)
    shared = tmp_path / "shared"
    shared.mkdir()
    reports: list[str] = []
    found = autograde(TOY, folder, layout=kit, cell_timeout=5, report=reports.append,
                      executor=executor("local", shared), cluster_dir=shared)
    assert {r.student: (r.score, r.status) for r in found} == \
        {"solution": (3, "graded"), "untouched": (0, "graded")}
    assert f"  {TOY}: 2 job(s) submitted to LocalExecutor" in reports
    assert (kit.course / "grades.csv").read_text().count(TOY) == 2
    assert list((shared / "logs").glob("*_result.pkl"))  # submitit ran them
