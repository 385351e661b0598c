"""The sandbox launcher on its own: ``python -m grader.sandbox PLAN -- python -c CODE``.

Run: ``pytest grader/tests/test_sandbox.py`` (a few seconds).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from grader.paths import REPO_ROOT
from grader.sandbox import (
    GiB,
    Isolation,
    Limits,
    allocate_uid,
    answer_modules,
    capabilities,
    parse_size,
)

CAPS = capabilities()
PROBE = """
import json, os, resource, socket, sys
found = {"uid": os.getuid(), "cwd": os.getcwd(), "home": os.environ["HOME"],
         "secret": os.environ.get("MY_API_TOKEN"), "version": sys.version,
         "core": resource.getrlimit(resource.RLIMIT_CORE)[1],
         "nproc": resource.getrlimit(resource.RLIMIT_NPROC)[0],
         "solutions": os.listdir(sys.argv[1] + "/solutions")}
try:
    bytearray(2 << 30)
    found["memory"] = "allocated"
except MemoryError:
    found["memory"] = "MemoryError"
try:
    socket.create_connection(("1.1.1.1", 53), timeout=2)
    found["network"] = "on"
except OSError as err:
    found["network"] = type(err).__name__
no_new_privs = [l for l in open("/proc/self/status") if l.startswith("NoNewPrivs")]
found["no_new_privs"] = no_new_privs[0].split()[1]
def attempt(what, action):
    try:
        action()
        found[what] = "ALLOWED"
    except BaseException as err:
        found[what] = type(err).__name__
def fill(path, size=3 << 20):
    with open(path, "wb") as f:
        f.write(b"x" * size)
def many(folder, n=300):
    for i in range(n):
        open(f"{folder}/f{i}", "w").close()
for name in ("/tmp", "/var/tmp", "/dev/shm", os.environ["HOME"]):
    attempt("fill " + name, lambda: fill(f"{name}/big"))
    os.remove(f"{name}/big") if os.path.exists(f"{name}/big") else None
attempt("many files", lambda: many("/tmp"))
found["outside"] = {p: os.path.exists(p) for p in sys.argv[2:]}
found["answer"] = open(sys.argv[1] + "/helpers/reference/training.py").read()
print(json.dumps(found))
"""


def run_confined(tmp_path: Path, isolation: Isolation, *outside: Path) -> dict:
    workdir = tmp_path / "work"
    workdir.mkdir(mode=0o711)
    workdir.chmod(0o711)
    tmp_path.chmod(0o711)
    session = isolation.prepare(workdir)
    try:
        spec = json.loads((workdir / "jupyter/kernels/lmkit/kernel.json").read_text())
        launcher = spec["argv"][: spec["argv"].index("--") + 1]
        env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "MY_API_TOKEN": "hunter2"}
        done = subprocess.run([*launcher, sys.executable, "-c", PROBE, str(REPO_ROOT),
                               *map(str, outside)],
                              env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)
    finally:
        session.close()


@pytest.mark.skipif(not (CAPS["drop_user"] and CAPS["mounts"]),
                    reason="needs root and mount namespaces")
def test_the_launcher_confines_the_command(tmp_path):
    limits = Limits(memory_bytes=1 * GiB, processes=99, disk_bytes=2 << 20, disk_files=200)
    answers = answer_modules(REPO_ROOT, "02_transformer_lm")
    isolation = Isolation.choose("auto", False, limits, [REPO_ROOT / "solutions", *answers],
                                 [], [REPO_ROOT])
    other = tmp_path / "another-checkout" / "solutions"  # world-readable, elsewhere
    other.mkdir(parents=True)
    tmp_path.chmod(0o755)
    beside = [p for p in sorted(REPO_ROOT.parent.iterdir()) if p != REPO_ROOT][:3]
    found = run_confined(tmp_path, isolation, other, *beside, Path("/home"))
    assert found["uid"] >= 61000 and found["cwd"] == found["home"] == str(tmp_path / "work/sandbox")
    assert found["version"] == sys.version  # the same interpreter, even from a 0700 home
    assert found["solutions"] == [] and found["memory"] == "MemoryError"
    assert found["secret"] is None and found["core"] == 0 and found["nproc"] == 99
    assert found["no_new_privs"] == "1"
    if CAPS["no_network"]:
        assert found["network"] == "OSError"
    # an allow-list: nothing of the host beyond the kit and Python (issue 20, class 4)
    assert not any(found["outside"].values()), found["outside"]
    assert found["answer"] == ""  # helpers/reference/training.py answers lesson 02
    # private, size-capped scratch space (class 3): 2 MB and 200 files in all
    for name in ("/tmp", "/var/tmp", "/dev/shm", found["home"]):
        assert found["fill " + name] == "OSError", name
    assert found["many files"] == "OSError"


def test_answer_modules_are_this_and_later_lessons():
    found = {p.name for p in answer_modules(REPO_ROOT, "02_transformer_lm")}
    assert {"model.py", "generation.py", "training.py", "resource_accounting.py"} <= found
    assert all(p.parent.name == "reference" for p in answer_modules(REPO_ROOT, "01_bpe_tokenizer")
               if p.suffix == ".py")
    later = {p.name for p in answer_modules(REPO_ROOT, "03_resource_accounting")}
    assert "resource_accounting.py" in later and "model.py" not in later
    kept = answer_modules(REPO_ROOT, "02_transformer_lm", keep={"helpers.reference.model"})
    assert "model.py" not in {p.name for p in kept}


def test_sandbox_off_changes_nothing(tmp_path):
    isolation = Isolation.choose("off", False, Limits(), [], [])
    assert not isolation.enabled and isolation.describe().startswith("sandbox off")
    session = isolation.prepare(tmp_path)
    assert (session.extra_config, session.env, session.uid) == ("", {}, None)


@pytest.mark.skipif(not CAPS["drop_user"], reason="needs root (sandbox uids)")
def test_uids_are_not_shared_and_leftovers_die(tmp_path):
    first, second = allocate_uid(), allocate_uid()
    try:
        assert first.uid != second.uid
        sleeper = subprocess.Popen(["sleep", "300"], user=first.uid, start_new_session=True)
    finally:
        first.release()
        second.release()
    assert sleeper.wait(timeout=5) == -9


@pytest.mark.parametrize("text, size",
                         [("8G", 8 * GiB), ("512M", 512 << 20), ("1.5GiB", 3 * GiB // 2),
                                        (4096, 4096), ("100", 100)])
def test_parse_size(text, size):
    assert parse_size(text) == size


def test_unknown_limits_are_errors():
    with pytest.raises(ValueError, match="unknown limit"):
        Limits.from_dict({"ram": "1G"})
