"""Tests of the command line: help, argument errors (exit 2) and one-line errors (exit 1).

Run: ``pytest grader/tests/test_cli.py`` (a few seconds: nothing here starts nbgrader).
"""
from __future__ import annotations

import subprocess
import sys

import pytest

from grader.cli import main
from grader.paths import REPO_ROOT

COMMANDS = ["install-kernel", "generate", "check", "strip", "execute", "samples", "autograde",
            "demo"]


def test_module_help_lists_every_command():
    done = subprocess.run([sys.executable, "-m", "grader", "--help"], cwd=REPO_ROOT,
                          capture_output=True, text=True)
    assert done.returncode == 0
    assert all(command in done.stdout for command in COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as done:
        main([command, "--help"])
    assert done.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: python -m grader {command}")


@pytest.mark.parametrize("argv", [
    [],                                        # no command
    ["grade"],                                 # unknown command
    ["autograde", "01"],                       # SUBMISSIONS_DIR missing
    ["autograde", "01", "subs", "--workers", "0"],
    ["autograde", "01", "subs", "--timeout-cell", "soon"],
    ["execute", "-p", "scale"],                # -p needs NAME VALUE
    ["execute", "--notebooks", "build"],
    ["demo", "--timeout-notebook", "-5"],
])
def test_bad_arguments_exit_2_with_a_message(argv, capsys):
    with pytest.raises(SystemExit) as done:
        main(argv)
    assert done.value.code == 2
    assert "error:" in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["check", "42"], "error: unknown lesson '42'; lessons: 99_toy\n"),
    (["samples", "nope"], "error: unknown lesson 'nope'; lessons: 99_toy\n"),
    (["autograde", "99", "missing-dir"], "error: missing-dir: not a directory of submissions\n"),
    (["strip", "missing.ipynb"], "error: missing.ipynb: no such notebook\n"),
])
def test_user_errors_are_one_line_and_exit_1(kit, argv, message, capsys):
    assert main(["--root", str(kit.root), *argv]) == 1
    assert capsys.readouterr().err == message


def test_a_root_without_lessons_is_an_error(tmp_path, capsys):
    assert main(["--root", str(tmp_path), "generate"]) == 1
    assert capsys.readouterr().err == "error: no lessons found: solutions has no NN_*.ipynb\n"
