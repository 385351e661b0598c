"""End to end in a real browser: a student and an instructor in JupyterLab (issue 17).

A headless Chromium (Debian's ``chromium``, driven by Playwright's Python client: no browser
download) works against real ``jupyter lab`` servers that these tests start on 127.0.0.1 with a
random port and token, in temporary folders, and always stop (kernels first):

1. a student opens ``notebooks/01_bpe_tokenizer.ipynb`` from lesson 01's ``grader release``
   bundle: the kit's ``lmkit`` kernel starts without a kernel picker; saving the opened
   notebook changes nothing that ``grader strip`` does not restore, byte for byte (in
   JupyterLab, and in Notebook 7);
2. runs the cells up to the first exercise: the figure renders as an image, a tqdm bar as a
   widget (not text on stderr), no cell shows an error;
3. types a correct first exercise and a wrong second one: the first test passes silently, the
   second shows its visible test's message;
4. nbgrader's Validate button reports the wrong exercise as the only failure, short and in
   order, the exercises not done yet as such; nbgrader's other plugins are off for students;
5. an instructor (``python -m grader formgrader``'s setup) sees every lesson with its points in
   nbgrader's formgrader.

Screenshots of each step: ``build/browser/``. Without Chromium or Playwright the tests skip
with the reason, except in CI (``CI=true``), where that is a failure.

Run: ``pytest grader/tests/browser`` (about a minute on 2 cores).
"""
from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from grader import ipynb
from grader.lab import instructor_config, lab_command, prepare_course
from grader.paths import REPO_ROOT, Layout
from grader.release import release

CHROMIUM = Path(os.environ.get("LMKIT_CHROMIUM", "/usr/bin/chromium"))
# As root in a container, without a network: no sandbox, no GPU, no calls home.
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--disable-dev-shm-usage"]
SHOTS = REPO_ROOT / "build" / "browser"
LESSON = "01_bpe_tokenizer"
NOTEBOOK = f"notebooks/{LESSON}.ipynb"
KERNEL_DISPLAY = "Python 3 (lm-from-scratch-kit)"
START_S, RUN_S, VALIDATE_S = 90, 120, 240  # generous on a loaded 2-core CI machine

# What a student types: a right answer to the first exercise, a wrong one to the second.
RIGHT = '''def split_on_special_tokens(text, special_tokens):
    if not special_tokens:
        return [text] if text else []
    alternatives = sorted(set(special_tokens), key=len, reverse=True)
    pattern = "(" + "|".join(re.escape(t) for t in alternatives) + ")"
    return [piece for piece in re.split(pattern, text) if piece]
'''
WRONG = '''from collections import Counter


def count_pretokens(text, special_tokens):
    return Counter(text.encode().split())
'''
WRONG_MESSAGE = "pre-tokens keep their leading space and are bytes"
PROGRESS = '''from tqdm.auto import tqdm

for _ in tqdm(range(100), desc="progress bars render"):
    pass
'''


def need_browser():
    """Playwright's sync API and a Chromium; skip without them, fail in CI."""
    missing = []
    try:
        from playwright import sync_api
    except ImportError:
        sync_api = None
        missing.append("the Python package playwright (pip install -e '.[dev]')")
    if not CHROMIUM.exists():
        missing.append(f"Chromium at {CHROMIUM} (apt-get install chromium)")
    if missing:
        reason = "the browser test needs " + " and ".join(missing)
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    return sync_api


# --- JupyterLab servers ---------------------------------------------------------------------


@dataclass
class Lab:
    url: str
    token: str
    log: Path

    def api(self, path: str, method: str = "GET"):
        request = urllib.request.Request(f"{self.url}{path}", method=method,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None

    def page(self, path: str) -> str:
        return f"{self.url}{path}{'&' if '?' in path else '?'}token={self.token}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def jupyter_lab(root: Path, home: Path, instructor: Path | None = None):
    """A ``jupyter lab`` on ``root`` (random port and token, settings under ``home``); stopped
    on exit with its kernels, whatever happened."""
    port, token = free_port(), secrets.token_hex(16)
    argv, env = lab_command(root, port=port, token=token, instructor=instructor)
    # window.jupyterapp in JupyterLab and Notebook 7: the state the tests wait on
    argv += ["--LabApp.expose_app_in_browser=True",
             "--JupyterNotebookApp.expose_app_in_browser=True"]
    for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR"):
        env[name] = str(home / name.lower())  # no settings of the user's, no leftovers
    home.mkdir(parents=True, exist_ok=True)
    lab = Lab(f"http://127.0.0.1:{port}", token, home / "jupyter-lab.log")
    with open(lab.log, "w") as log:
        server = subprocess.Popen(argv, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT,
                                  start_new_session=True)
    try:
        deadline = time.monotonic() + START_S
        while True:
            if server.poll() is not None:
                pytest.fail(f"jupyter lab exited ({server.returncode}):\n{tail(lab.log)}")
            try:
                lab.api("/api/status")
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"jupyter lab did not answer in {START_S} s:\n{tail(lab.log)}")
                time.sleep(0.2)
        yield lab
    finally:
        try:
            for kernel in lab.api("/api/kernels") or []:
                lab.api(f"/api/kernels/{kernel['id']}", method="DELETE")
        except OSError:
            pass
        stop(server)


def stop(server: subprocess.Popen) -> None:
    """Stop the server's process group: SIGTERM (it shuts its kernels down), then SIGKILL."""
    if server.poll() is not None:
        return
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


def tail(path: Path, lines: int = 40) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


# --- the browser ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser():
    sync_api = need_browser()
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                              args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(RUN_S * 1000)
    yield page
    context.close()


def shot(page, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"))


# JavaScript on the current notebook panel of window.jupyterapp (JupyterLab 4's API).
PANEL = "const w = window.jupyterapp.shell.currentWidget, nb = w.content;"
CELL_INDEX = PANEL + """
    return nb.widgets.findIndex(c => (c.model.getMetadata('nbgrader') || {}).grade_id === gid);"""
SELECT = PANEL + "nb.activeCellIndex = i; nb.mode = 'command'; nb.activeCell.node.scrollIntoView();"
IDLE = PANEL + "return w.sessionContext.session?.kernel?.status === 'idle';"
RAN = PANEL + """const cells = nb.widgets.slice(lo, hi).filter(c => c.model.type === 'code');
    return w.sessionContext.session?.kernel?.status === 'idle' && cells.every(
        c => c.model.executionCount !== null || c.model.outputs.toJSON().some(
            o => o.output_type === 'error'));"""
OUTPUTS = PANEL + "return nb.widgets[i].model.outputs?.toJSON() ?? [];"  # [] for markdown


def js(page, body: str, **args):
    """Evaluate ``body`` (a function body) with ``args`` as its named arguments."""
    names = ", ".join(args)
    return page.evaluate(f"({{{names}}}) => {{ {body} }}", args)


def wait_js(page, body: str, timeout_s: float = RUN_S, **args) -> None:
    names = ", ".join(args)
    page.wait_for_function(f"({{{names}}}) => {{ {body} }}", arg=args,
                           timeout=timeout_s * 1000)


def run_cells(page, lo: int, hi: int) -> None:
    """Run cells [lo, hi) with JupyterLab's own command; wait until each ran or one failed."""
    js(page, SELECT, i=lo)
    for _ in range(hi - lo):
        js(page, "return window.jupyterapp.commands.execute(c);",
           c="notebook:run-cell-and-select-next")
    wait_js(page, RAN, lo=lo, hi=hi)


def errors(outputs: list) -> list[str]:
    return [f"{o['ename']}: {o['evalue']}" for o in outputs if o["output_type"] == "error"]


def type_into(page, index: int, code: str) -> None:
    """Replace a cell's code the way a student does: click into it, select all, type."""
    js(page, SELECT, i=index)
    page.locator(".jp-Notebook .jp-Cell").nth(index).locator(".cm-content").click()
    page.keyboard.press("Control+A")
    page.keyboard.insert_text(code)  # text as typed, without the editor's auto-indent


def save(page) -> None:
    js(page, PANEL + "return window.jupyterapp.commands.execute('docmanager:save');")
    wait_js(page, PANEL + "return !w.context.model.dirty;")


# --- the tests ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def student_lab(tmp_path_factory):
    """JupyterLab on lesson 01's student bundle (what ``grader release 01`` hands out)."""
    tmp = tmp_path_factory.mktemp("student")
    bundle = release(Layout(REPO_ROOT), LESSON, tmp / "release").folder
    with jupyter_lab(bundle, tmp / "home") as lab:
        yield lab, bundle



def open_on_kit_kernel(page, url: str) -> None:
    """Open a notebook at ``url``; it must start the kit's kernel, idle, with no dialog."""
    page.goto(url)
    page.wait_for_function("() => window.jupyterapp?.shell.currentWidget?.sessionContext")
    wait_js(page, PANEL + "return w.sessionContext.session?.kernel?.name === 'lmkit';",
            timeout_s=START_S)
    wait_js(page, IDLE, timeout_s=START_S)
    assert page.locator(".jp-Dialog").count() == 0, "a dialog (kernel picker?) opened"

def test_student_works_through_a_lesson(browser, page, student_lab):
    lab, bundle = student_lab
    committed = (bundle / NOTEBOOK).read_text(encoding="utf-8")

    # 1. Open the lesson: the kit's kernel starts, no kernel picker.
    open_on_kit_kernel(page, lab.page(f"/lab/tree/{NOTEBOOK}"))
    kernel = page.locator(".jp-NotebookPanel-toolbar .jp-Toolbar-kernelName")
    assert kernel.inner_text().strip() == KERNEL_DISPLAY
    commands = {name: js(page, "return window.jupyterapp.commands.hasCommand(n);", n=name)
                for name in ("nbgrader:open-assignment-list", "nbgrader:open-course-list",
                             "nbgrader:open-formgrader", "nbgrader:open-create-assignment")}
    assert not any(commands.values()), f"nbgrader plugins students do not use: {commands}"
    assert page.locator("#jp-mainmenu-nbgrader").count() == 0
    js(page, "return window.jupyterapp.commands.execute('application:toggle-left-area');")
    save(page)
    saved = (bundle / NOTEBOOK).read_text(encoding="utf-8")
    assert ipynb.dumps(ipynb.strip(ipynb.read(bundle / NOTEBOOK))) == committed, (
        "opening and saving the lesson changed more than `grader strip` restores")
    shot(page, "1_opened")

    # 2. Run up to the first exercise: a figure, a progress bar widget, no errors.
    first = js(page, CELL_INDEX, gid="split_on_special_tokens")
    run_cells(page, 0, first)
    for i in range(first):
        assert not errors(js(page, OUTPUTS, i=i)), f"cell {i} failed"
    js(page, SELECT, i=1)
    shot(page, "2_versions")  # the lesson's first cells: versions, parameters, settings
    figures = [i for i in range(first) if js(
        page, PANEL + "return !!nb.widgets[i].node.querySelector('.jp-OutputArea-output img');",
        i=i)]
    assert figures, "no figure rendered as an image above the first exercise"
    js(page, SELECT, i=figures[0])
    shot(page, "2_figure")
    js(page, SELECT, i=first)
    js(page, PANEL + "return window.jupyterapp.commands.execute('notebook:insert-cell-above');")
    type_into(page, first, PROGRESS)
    run_cells(page, first, first + 1)
    outputs = js(page, OUTPUTS, i=first)
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in outputs)
    assert not [o for o in outputs if o.get("name") == "stderr"], "tqdm wrote text to stderr"
    bar = page.locator(".jp-Notebook .jp-Cell").nth(first).locator(".widget-hprogress")
    bar.wait_for(state="visible")
    shot(page, "2_progress_widget")
    js(page, PANEL + "return window.jupyterapp.commands.execute('notebook:delete-cell');")

    # 3. A right and a wrong exercise, each followed by its test cell.
    for gid, code in (("split_on_special_tokens", RIGHT), ("count_pretokens", WRONG)):
        index = js(page, CELL_INDEX, gid=gid)
        assert js(page, CELL_INDEX, gid=f"test_{gid}") == index + 1
        run_cells(page, first + 1, index)  # what lies between (imports, demos)
        type_into(page, index, code)
        run_cells(page, index, index + 2)
        first = index + 2
    right = js(page, OUTPUTS, i=js(page, CELL_INDEX, gid="test_split_on_special_tokens"))
    assert right == [], f"the right answer's test printed or failed: {right}"
    wrong = errors(js(page, OUTPUTS, i=js(page, CELL_INDEX, gid="test_count_pretokens")))
    assert len(wrong) == 1 and WRONG_MESSAGE in wrong[0], wrong
    js(page, SELECT, i=js(page, CELL_INDEX, gid="count_pretokens"))
    shot(page, "3_test_message")

    # 4. Validate (nbgrader's toolbar button): one failure, the wrong exercise, short.
    save(page)
    page.locator(".jp-NotebookPanel-toolbar").get_by_text("Validate", exact=True).click()
    dialog = page.locator(".jp-Dialog").filter(has_text="Validation Results")
    dialog.wait_for(state="visible", timeout=VALIDATE_S * 1000)
    blocks = [p.inner_text().strip() for p in dialog.locator(".jp-Dialog-body pre").all()]
    report = dict(zip(blocks[::2], blocks[1::2]))
    failed = {name: why for name, why in report.items() if not why.startswith("not done yet")}
    assert list(failed) == ["test_count_pretokens (2 points)"], report
    assert WRONG_MESSAGE in failed["test_count_pretokens (2 points)"]
    assert not any(name.startswith("test_split_on_special_tokens") for name in report)
    assert list(report) == sorted(report, key=list(report).index)  # notebook order
    assert len(dialog.inner_text()) < 3_000, "Validate's report is not short"
    shot(page, "4_validate")
    dialog.get_by_role("button", name="Ok").click()
    assert saved  # the notebook on disk is the student's own from here on


def test_notebook7_leaves_the_lesson_as_committed_once_stripped(browser, page, student_lab):
    lab, bundle = student_lab
    copy = bundle / "notebooks" / "opened_in_notebook7.ipynb"
    committed = (REPO_ROOT / NOTEBOOK).read_text(encoding="utf-8")
    copy.write_text(committed, encoding="utf-8")
    open_on_kit_kernel(page, lab.page(f"/notebooks/notebooks/{copy.name}"))
    save(page)
    assert ipynb.dumps(ipynb.strip(ipynb.read(copy))) == committed
    shot(page, "1_notebook7")


def test_instructor_sees_the_lessons_in_formgrader(browser, page, tmp_path):
    layout = Layout(REPO_ROOT)
    course = prepare_course(layout, course_root=tmp_path / "course")
    points = {lesson: sum(ipynb.nbgrader(c).get("points", 0) for c in ipynb.read(
        layout.solution(lesson)).cells if ipynb.is_test(c)) for lesson in layout.resolve([])}
    with jupyter_lab(course.root, tmp_path / "home",
                     instructor=instructor_config(tmp_path / "instructor", course.root)) as lab:
        page.goto(lab.page("/lab"))
        page.wait_for_function("() => window.jupyterapp?.commands.hasCommand("
                               "'nbgrader:open-formgrader')")
        js(page, "return window.jupyterapp.commands.execute('nbgrader:open-formgrader');")
        frame = page.frame_locator("iframe").first
        for lesson in points:
            frame.locator("tr").filter(has_text=lesson).first.wait_for(state="visible")
        assert frame.get_by_text("exchange directory").count() == 0
        frame.locator("tr").filter(has_text=LESSON).first.scroll_into_view_if_needed()
        shot(page, "5_formgrader")

        page.goto(lab.page("/formgrader/gradebook"))
        for lesson, total in points.items():
            row = page.locator("tr").filter(has_text=lesson)
            row.wait_for(state="visible")
            assert row.locator(".score").inner_text().strip().endswith(f"/ {total:g}"), lesson
        shot(page, "5_gradebook")
