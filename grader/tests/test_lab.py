"""The kit's JupyterLab settings: students get only nbgrader's Validate, instructors the
formgrader (``grader/lab.py``). In a real browser: ``grader/tests/browser/``.

Run: ``pytest grader/tests/test_lab.py``.
"""
from __future__ import annotations

import json
import sys

import pytest

from grader.cli import main
from grader.lab import NBGRADER, SERVER_CONFIG, install_lab_config, instructor_config, lab_command


def disabled(folder) -> set[str]:
    config = json.loads((folder / "labconfig" / "page_config.json").read_text())
    return {name for name, off in config["disabledExtensions"].items() if off}


def enabled_servers(folder) -> set[str]:
    config = json.loads((folder / SERVER_CONFIG).read_text())
    return {name.rsplit(".", 1)[1] for name, on in
            config["ServerApp"]["jpserver_extensions"].items() if on}


def test_students_get_only_validate(tmp_path):
    etc = tmp_path / "etc" / "jupyter"
    (etc / "labconfig").mkdir(parents=True)
    (etc / "labconfig" / "page_config.json").write_text(
        '{"disabledExtensions": {"other:plugin": true}, "lockedExtensions": {"x": true}}')
    install_lab_config(tmp_path)
    off = disabled(etc)
    assert f"{NBGRADER}:validate-assignment" not in off
    assert {f"{NBGRADER}:{p}" for p in ("assignment-list", "course-list", "formgrader",
                                        "create-assignment", "menu")} <= off
    assert "other:plugin" in off  # what was there stays
    assert enabled_servers(etc) == {"validate_assignment"}
    assert "grader.validate import install" in (etc / "nbgrader_config.py").read_text()
    assert sorted((etc / "jupyter_server_config.d").iterdir())[-1].name == "zz_lmkit.json"


def test_instructors_get_the_formgrader_and_a_local_exchange(tmp_path):
    folder = instructor_config(tmp_path / "settings", tmp_path / "course")
    off = disabled(folder)
    assert not {f"{NBGRADER}:{p}" for p in ("formgrader", "create-assignment", "menu")} & off
    assert enabled_servers(folder) == {"formgrader", "validate_assignment"}
    assert (tmp_path / "course" / "exchange").is_dir()
    assert str(tmp_path / "course" / "exchange") in (folder / "nbgrader_config.py").read_text()


def test_lab_command_serves_loopback_with_the_instructor_settings_first(tmp_path, monkeypatch):
    monkeypatch.setenv("JUPYTER_CONFIG_PATH", "/elsewhere")
    argv, env = lab_command(tmp_path, port=8123, token="t0k", instructor=tmp_path / "i")
    assert argv[:3] == [sys.executable, "-m", "jupyterlab"]
    assert {f"--ServerApp.root_dir={tmp_path}", "--ServerApp.ip=127.0.0.1",
            "--ServerApp.port=8123", "--IdentityProvider.token=t0k"} <= set(argv)
    assert env["JUPYTER_CONFIG_PATH"].split(":") == [str(tmp_path / "i"), "/elsewhere"]
    _, student = lab_command(tmp_path)
    assert "JUPYTER_CONFIG_PATH" not in student or student["JUPYTER_CONFIG_PATH"] == "/elsewhere"


def test_formgrader_command_has_help(capsys):
    with pytest.raises(SystemExit) as done:
        main(["formgrader", "--help"])
    assert done.value.code == 0 and "formgrader" in capsys.readouterr().out
