"""The kit in JupyterLab: what students see, and the instructor's formgrader.

- Students: ``python -m grader install-kernel`` (run by ``make install``) writes the kit's
  Jupyter configuration into this environment's ``etc/jupyter`` (``--sys-prefix``, like the
  kernel): of nbgrader's plugins only Validate stays on. Its exchange, course list and
  formgrader need a course and an exchange directory that students do not have ("Error
  fetching courses!"), and its "Create Assignment" sidebar rewrites grading metadata of the
  lesson it is opened on. Validate's report is the short one of ``grader.validate``.
- Instructors: ``python -m grader formgrader`` records every lesson in the gradebook of
  ``build/course`` (what ``autograde`` grades into) and starts JupyterLab there with
  nbgrader's formgrader and Create Assignment turned back on, through a configuration folder
  of its own on ``JUPYTER_CONFIG_PATH`` (which outranks the environment's). The assignment
  exchange stays off: the kit collects submissions as folders (``grader autograde``).
- ``lab_command`` is how both start JupyterLab, and how ``grader/tests/browser/`` starts it
  on 127.0.0.1 with a port and token of its own.

Run: ``python -m grader install-kernel``; ``python -m grader formgrader``.
Tested in ``grader/tests/test_lab.py``; in a real browser in ``grader/tests/browser/``.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from grader import ipynb
from grader.course import Course
from grader.errors import GraderError
from grader.jupyter_kernel import kernel_env
from grader.paths import Layout

NBGRADER = "@jupyter/nbgrader"
# nbgrader's JupyterLab plugins, and which of them each role uses.
LAB_PLUGINS = ("menu", "formgrader", "create-assignment", "assignment-list", "course-list",
               "validate-assignment")
STUDENT_PLUGINS = ("validate-assignment",)
INSTRUCTOR_PLUGINS = ("menu", "formgrader", "create-assignment", "validate-assignment")
# nbgrader's server extensions; validate_assignment serves the Validate button.
SERVER_EXTENSIONS = ("formgrader", "assignment_list", "course_list", "validate_assignment")
STUDENT_SERVER = ("validate_assignment",)
INSTRUCTOR_SERVER = ("formgrader", "validate_assignment")
# Loaded after nbgrader's own jupyter_server_config.d/nbgrader.json (files load sorted).
SERVER_CONFIG = "jupyter_server_config.d/zz_lmkit.json"

NBGRADER_CONFIG = '''\
# Written by `python -m grader install-kernel` (grader/lab.py): edit that file.
# Validate (the JupyterLab button, `nbgrader validate`): one short line per failing test.
c = get_config()
try:
    from grader.validate import install
except ImportError:  # the kit is not importable here: nbgrader's own long report
    pass
else:
    install()
'''


def server_config(enabled: tuple[str, ...]) -> dict:
    extensions = {f"nbgrader.server_extensions.{name}": name in enabled
                  for name in SERVER_EXTENSIONS}
    return {"ServerApp": {"jpserver_extensions": extensions}}


# JupyterLab's "get notified about Jupyter news?" popup: the kit works offline.
ANNOUNCEMENTS = "@jupyterlab/apputils-extension:announcements"


def page_config(enabled: tuple[str, ...]) -> dict:
    """``disabledExtensions`` for labconfig/page_config.json: true turns a plugin off."""
    plugins = {f"{NBGRADER}:{p}": p not in enabled for p in LAB_PLUGINS}
    return {"disabledExtensions": {**plugins, ANNOUNCEMENTS: True}}


def write_json(path: Path, data: dict, merge: bool = False) -> Path:
    """Write ``data`` as JSON; with ``merge``, update the file's top-level dicts instead."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if merge and path.exists():
        old = json.loads(path.read_text(encoding="utf-8") or "{}")
        for key, value in data.items():
            old[key] = {**old.get(key, {}), **value} if isinstance(value, dict) else value
        data = old
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


def install_lab_config(prefix: Path | str = sys.prefix) -> list[Path]:
    """Install the students' Jupyter configuration under ``prefix/etc/jupyter``."""
    etc = Path(prefix) / "etc" / "jupyter"
    nbgrader_config = etc / "nbgrader_config.py"
    nbgrader_config.write_text(NBGRADER_CONFIG)
    return [write_json(etc / SERVER_CONFIG, server_config(STUDENT_SERVER)),
            write_json(etc / "labconfig" / "page_config.json", page_config(STUDENT_PLUGINS),
                       merge=True),
            nbgrader_config]


def instructor_config(folder: Path, course: Path) -> Path:
    """A configuration folder (for ``JUPYTER_CONFIG_PATH``) that turns the formgrader on.

    nbgrader's exchange (release/collect through a shared folder) is not how the kit collects
    submissions; it gets a folder of the course's own, so the formgrader does not warn about
    a missing system-wide one.
    """
    write_json(folder / SERVER_CONFIG, server_config(INSTRUCTOR_SERVER))
    write_json(folder / "labconfig" / "page_config.json", page_config(INSTRUCTOR_PLUGINS))
    exchange = Path(course) / "exchange"
    exchange.mkdir(parents=True, exist_ok=True)
    (folder / "nbgrader_config.py").write_text(
        f"# Written by grader/lab.py: the instructor's JupyterLab.\n"
        f"c = get_config()\nc.Exchange.root = {str(exchange)!r}\n")
    return folder


def prepare_course(layout: Layout, lessons: list[str] | None = None,
                   course_root: Path | None = None) -> Course:
    """Record each lesson (default: all) in the course's gradebook, with its cells and points.

    One ``nbgrader generate_assignment '*'`` for all of them: nbgrader starts once.
    """
    course = Course(course_root or layout.course, layout.root)
    for lesson in layout.resolve(lessons or []):
        ipynb.write(ipynb.strip(ipynb.read(layout.solution(lesson))), course.source(lesson))
    done = course.nbgrader("generate_assignment", "*", "--force",
                           log=course.logs / "generate-formgrader.log")
    if not done.ok:
        raise GraderError(f"nbgrader generate_assignment failed: {done.error_summary()} "
                          f"(log: {done.log}; after a lesson changed, delete {course.root} "
                          "and its grades, or autograde into another folder)")
    return course


def lab_command(root_dir: Path, *, port: int = 8888, token: str | None = None,
                instructor: Path | None = None, browser: bool = False
                ) -> tuple[list[str], dict[str, str]]:
    """``jupyter lab`` serving ``root_dir`` on 127.0.0.1, and its environment.

    ``instructor``: a folder from ``instructor_config``, put first on ``JUPYTER_CONFIG_PATH``.
    """
    argv = [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={root_dir}",
            "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
            "--ServerApp.port_retries=0", f"--ServerApp.open_browser={browser}"]
    if token is not None:
        argv.append(f"--IdentityProvider.token={token}")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        argv.append("--ServerApp.allow_root=True")  # containers and CI run as root
    env = kernel_env(Path(root_dir))
    env.pop("MPLBACKEND", None)  # JupyterLab's kernels pick the inline backend themselves
    if instructor is not None:
        paths = [str(instructor), *filter(None, os.environ.get("JUPYTER_CONFIG_PATH", "")
                                          .split(os.pathsep))]
        env["JUPYTER_CONFIG_PATH"] = os.pathsep.join(paths)
    return argv, env
