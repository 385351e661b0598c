"""The kit's setup stays consistent: pyproject pins, environment.yml, the README's two commands
and CI's script.

Run: ``pytest grader/tests/test_setup.py``.
"""
from __future__ import annotations

import re
import tomllib

import yaml

from helpers.env import REPO_ROOT

PYPROJECT = REPO_ROOT / "pyproject.toml"


def project() -> dict:
    return tomllib.loads(PYPROJECT.read_text())["project"]


def test_torch_is_pinned_to_the_cpu_wheel_version():
    assert "torch==2.13.0" in [d.replace(" ", "") for d in project()["dependencies"]], (
        "pin torch==2.13.0: an unpinned torch pulls a multi-GB CUDA build")


def test_every_dependency_says_which_lessons_use_it():
    lines = [ln for ln in PYPROJECT.read_text().splitlines()
             if re.match(r'\s+"[A-Za-z0-9_.-]+[=<>]', ln)]
    assert lines, "no dependency lines found"
    uncommented = [ln.strip() for ln in lines if "#" not in ln]
    assert not uncommented, f"dependencies without a comment saying who uses them: {uncommented}"


def test_every_dependency_is_pinned_or_bounded():
    for dep in project()["dependencies"]:
        assert re.search(r"==|<", dep), f"{dep}: pin it (==) or bound it (<): it must install here"


def test_environment_yml_installs_this_project_with_the_same_python():
    env = yaml.safe_load((REPO_ROOT / "environment.yml").read_text())
    deps = env["dependencies"]
    python = next(d for d in deps if isinstance(d, str) and d.startswith("python"))
    minimum = project()["requires-python"].removeprefix(">=")
    assert python.split("=")[-1].startswith(minimum), (
        f"environment.yml has {python}, pyproject {minimum}")
    pip = next(d["pip"] for d in deps if isinstance(d, dict))
    assert '-e ".[dev]"' in pip or "-e .[dev]" in pip, (
        "environment.yml must pip-install this project")
    # Anything else it pins must agree with pyproject.
    pinned = {re.split(r"[=<>]", d)[0]: d for d in project()["dependencies"]}
    for line in pip:
        name = re.split(r"[=<>\[ ]", line)[0]
        if name in pinned:
            assert line.replace(" ", "") == pinned[name].replace(" ", ""), (
                f"{line} disagrees with {pinned[name]}")


def test_ci_runs_exactly_the_readme_test_command():
    readme = (REPO_ROOT / "README.md").read_text()
    assert "make demo" in readme and "make test" in readme
    ci = [ln for ln in (REPO_ROOT / ".ci" / "run").read_text().splitlines() if ln
          and not ln.startswith("#")]
    assert "make test" in ci, f".ci/run must call `make test`, found {ci}"
    makefile = (REPO_ROOT / "Makefile").read_text()
    assert re.search(r"^test: install$", makefile, re.M)
    assert re.search(r"^demo: install$", makefile, re.M)
