"""The sandbox a student's Jupyter kernel runs in: limits, no network, another user, hidden files.

``python -m grader.sandbox PLAN.json -- KERNEL_ARGV...`` is the ``argv`` of a private
``lmkit`` kernelspec in each submission's temporary directory (``grader.autograde`` writes
both): nbgrader starts it as it would start the kernel, and it execs the kernel once
confined. What it does, in order (see ``grader/README.md`` for the threat model):

- **Mounts** (root only; a new mount namespace, so nothing changes outside it): the private
  course copies, the kit's ``solutions/``, ``.git/``, ``build/`` and ``grader/tests/`` and
  the submissions folder are covered by empty read-only tmpfs; ``datasets/data`` (the
  corpus cache) gets a private writable overlay; an interpreter installed under a
  directory others cannot enter (``/root/.pyenv``) is made reachable (the rest of that
  directory stays hidden).
- **Network**: a new, empty network namespace (only a loopback that is down), as root or in
  an unprivileged user namespace where the OS allows; the kernel then talks to nbgrader over
  Unix sockets (``KernelManager.transport = "ipc"``).
- **Limits** (``resource.setrlimit``, ``Limits``): CPU seconds, memory (``RLIMIT_DATA``: private
  writable memory; ``RLIMIT_AS`` would count the huge address space PyTorch reserves),
  processes and threads of the user (fork bombs), file size, open files; no core dumps.
- **User**: as root, a uid of its own per submission (``allocate_uid``: no passwd entry
  needed, held with a lock file so concurrent graders never share one), group ``nogroup``,
  no supplementary groups, ``no_new_privs`` (setuid programs cannot raise it back). Files
  of the grader stay root's with 0700/0600; the kernel writes only its ``sandbox/`` folder.
- **Environment**: private ``HOME``/``TMPDIR``/caches; variables that look like secrets dropped.

``kill_uid`` ends whatever a submission left running (background processes, double forks).
Tested in ``grader/tests/test_sandbox.py`` and ``test_hostile.py``.
"""
from __future__ import annotations

import ctypes
import fcntl
import json
import os
import re
import resource
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

GiB = 1 << 30
NOGROUP = 65534
UID_BASE = 61000   # sandbox uids: UID_BASE, UID_BASE + 1, ... (Debian leaves 60000-64999 free)
UID_SPAN = 1000
LOCKS = Path(tempfile.gettempdir()) / "lmkit-sandbox-uids"
SECRET_ENV = re.compile(r"TOKEN|SECRET|PASSW|CREDENTIAL|API_?KEY|ACCESS_?KEY|AUTH", re.I)

# Linux constants (sched.h, mount.h, prctl.h)
CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWNET = 0x00020000, 0x10000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_REMOUNT = 1, 2, 4, 32
MS_BIND, MS_MOVE, MS_REC, MS_PRIVATE = 4096, 8192, 16384, 1 << 18
PR_SET_NO_NEW_PRIVS = 38


@dataclass(frozen=True)
class Limits:
    """Resource limits of one submission's kernel (and everything it starts)."""

    cpu_seconds: int = 3600          # per process; a kernel past it is killed (SIGXCPU)
    memory_bytes: int = 8 * GiB      # RLIMIT_DATA: a bigger allocation raises MemoryError
    processes: int = 512             # RLIMIT_NPROC, threads included, for the sandbox's uid
    file_bytes: int = 1 * GiB        # RLIMIT_FSIZE: a bigger write fails (EFBIG)
    open_files: int = 1024

    @classmethod
    def from_dict(cls, values: dict) -> Limits:
        known = {f.name for f in fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"unknown limit(s) {sorted(unknown)}; known: {sorted(known)}")
        return cls(**{k: parse_size(v) if k.endswith("_bytes") else int(v)
                      for k, v in values.items()})


def parse_size(value) -> int:
    """``"8G"``, ``"512M"``, ``"1.5GiB"`` or a number of bytes -> bytes."""
    if isinstance(value, (int, float)):
        return int(value)
    match = re.fullmatch(r"\s*([\d.]+)\s*([KMGT]?)(i?B)?\s*", str(value), re.I)
    if not match:
        raise ValueError(f"not a size: {value!r} (e.g. 512M, 8G)")
    power = " KMGT".index(match.group(2).upper() or " ")
    return int(float(match.group(1)) * 1024 ** power)


@dataclass
class Plan:
    """What the launcher does for one kernel; written as JSON by the grader (root, 0600)."""

    limits: Limits = field(default_factory=Limits)
    home: str = ""                   # the kernel's folder (its cwd, HOME, TMPDIR), owned by uid
    uid: int | None = None           # run as this uid (root only)
    gid: int = NOGROUP
    network: bool = False            # False: a new, empty network namespace
    hide: list[str] = field(default_factory=list)     # folders covered by an empty tmpfs
    overlay: list[str] = field(default_factory=list)  # folders made privately writable
    expose: list[str] = field(default_factory=list)   # folders that must stay reachable
    staging: str = ""                # a root-only folder for mount points

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=1))
        path.chmod(0o600)

    @classmethod
    def read(cls, path: Path) -> Plan:
        data = json.loads(Path(path).read_text())
        data["limits"] = Limits(**data["limits"])
        return cls(**data)


# --- what this machine allows --------------------------------------------------------------

_PROBE = """
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
flags = int(sys.argv[1])
sys.exit(0 if libc.unshare(flags) == 0 else 1)
"""
_probed: dict[str, bool] = {}


def can_unshare(flags: int) -> bool:
    """Whether this process may create the namespaces ``flags`` (tried in a child)."""
    if flags not in _probed:
        done = subprocess.run([sys.executable, "-c", _PROBE, str(flags)], capture_output=True)
        _probed[flags] = done.returncode == 0
    return _probed[flags]


def is_root() -> bool:
    return os.geteuid() == 0


def capabilities() -> dict[str, bool]:
    """What the sandbox can do here: ``drop_user``, ``mounts`` and ``no_network``."""
    root = is_root() and sys.platform == "linux"
    return {
        "drop_user": root,
        "mounts": root and can_unshare(CLONE_NEWNS),
        "no_network": sys.platform == "linux" and (
            can_unshare(CLONE_NEWNET) if root else can_unshare(CLONE_NEWUSER | CLONE_NEWNET)),
    }


# --- sandbox uids ---------------------------------------------------------------------------


class Uid:
    """A sandbox uid held (with an flock, released if the grader dies) until ``release``."""

    def __init__(self, uid: int, handle):
        self.uid, self._handle = uid, handle

    def release(self) -> None:
        kill_uid(self.uid)
        self._handle.close()


def allocate_uid() -> Uid:
    """A uid in ``UID_BASE..`` that no passwd entry and no other running grader uses."""
    import pwd

    LOCKS.mkdir(mode=0o700, exist_ok=True)
    for uid in range(UID_BASE, UID_BASE + UID_SPAN):
        try:
            pwd.getpwuid(uid)
            continue  # a real account
        except KeyError:
            pass
        handle = open(LOCKS / str(uid), "a")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            continue
        kill_uid(uid)  # left by a grader that was killed
        return Uid(uid, handle)
    raise RuntimeError(f"no free sandbox uid in {UID_BASE}..{UID_BASE + UID_SPAN - 1}")


def kill_uid(uid: int) -> int:
    """SIGKILL every process whose real or effective uid is ``uid``; how many there were."""
    import psutil

    killed = 0
    for _ in range(20):  # a fork bomb makes new ones while we kill: repeat until none
        found = [p for p in psutil.process_iter(["uids"])
                 if p.info["uids"] and uid in (p.info["uids"].real, p.info["uids"].effective)]
        if not found:
            break
        for process in found:
            try:
                process.send_signal(signal.SIGSTOP)  # stopped processes cannot fork
            except psutil.Error:
                pass
        for process in found:
            try:
                process.kill()
                killed += 1
            except psutil.Error:
                pass
        time.sleep(0.05)
    return killed


# --- what the grader sets up for one submission ----------------------------------------------

KERNEL_CONFIG = """
# The student's kernel runs confined by grader.sandbox (its private kernelspec "lmkit",
# found first through JUPYTER_PATH), whatever kernel the notebook names; it talks to
# nbgrader over Unix sockets, since it has no network.
c.Execute.kernel_name = "lmkit"
c.KernelManager.transport = "ipc"
c.KernelManager.ip = {ipc!r}  # socket files: absolute, since the kernel runs elsewhere
"""


@dataclass
class Isolation:
    """How this grading run confines kernels: the settings, cut down to what the OS allows."""

    enabled: bool = True
    drop_user: bool = False
    no_network: bool = False
    limits: Limits = field(default_factory=Limits)
    hide: list[str] = field(default_factory=list)
    overlay: list[str] = field(default_factory=list)

    @classmethod
    def choose(cls, mode: str, network: bool, limits: Limits, hide: list[Path],
               overlay: list[Path]) -> Isolation:
        if mode == "off" or not sys.platform.startswith("linux"):
            return cls(enabled=False, limits=limits)
        caps = capabilities()
        return cls(True, caps["drop_user"] and caps["mounts"],
                   not network and caps["no_network"], limits,
                   sorted({str(p.resolve()) for p in hide if p.exists()}),
                   sorted({str(p.resolve()) for p in overlay if p.is_dir()}))

    def describe(self) -> str:
        if not self.enabled:
            return "sandbox off: kernels run as this user, without limits"
        gib = self.limits.memory_bytes / GiB
        parts = [f"limits {gib:g} GiB memory, {self.limits.cpu_seconds} CPU s, "
                 f"{self.limits.processes} processes, {self.limits.file_bytes / GiB:g} GiB files"]
        parts.append("a uid of its own per submission, hidden solutions and gradebook"
                     if self.drop_user else "same user (not root: no uid change, no hidden files)")
        parts.append("no network" if self.no_network else "network on")
        return "sandbox: " + "; ".join(parts)

    def prepare(self, workdir: Path) -> Session:
        """Kernelspec, plan and folders for a kernel graded in ``workdir`` (root-owned)."""
        session = Session(workdir, None, "", {})
        if not self.enabled:
            return session
        if self.drop_user:
            session.uid = allocate_uid()
        uid = session.uid.uid if session.uid else None
        owner = (uid, NOGROUP) if uid is not None else None
        # Unix socket paths are limited to 107 bytes: a short folder of their own in /tmp
        session.ipc = Path(tempfile.mkdtemp(prefix="lmkit-ipc-", dir="/tmp"))
        if owner:
            os.chown(session.ipc, *owner)
        session.extra_config = KERNEL_CONFIG.format(ipc=str(session.ipc / "k"))
        plan = Plan(self.limits, str(workdir / "sandbox"), uid, NOGROUP, not self.no_network,
                    self.hide, self.overlay, [os.path.realpath(sys.base_prefix)],
                    str(workdir / "staging"))
        for name, mode, own in (("sandbox", 0o700, owner), ("runtime", 0o700, owner),
                                ("staging", 0o700, None)):
            (workdir / name).mkdir(mode=mode)
            if own:
                os.chown(workdir / name, *own)
        plan.write(workdir / "plan.json")
        spec = workdir / "jupyter" / "kernels" / "lmkit"
        spec.mkdir(parents=True)
        (spec / "kernel.json").write_text(json.dumps({
            "argv": [sys.executable, "-m", "grader.sandbox", str(workdir / "plan.json"), "--",
                     sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "Python (lmkit, sandboxed)", "language": "python",
            "interrupt_mode": "signal", "metadata": {"debugger": False}}, indent=1))
        session.env = {"JUPYTER_PATH": str(workdir / "jupyter"),
                       "JUPYTER_RUNTIME_DIR": str(workdir / "runtime")}
        return session


@dataclass
class Session:
    """One submission's sandbox: nbgrader config and environment, and its uid if any."""

    workdir: Path
    uid: Uid | None
    extra_config: str
    env: dict[str, str]
    ipc: Path | None = None  # the kernel's socket files

    def close(self) -> int:
        """Kill what the submission left running; release its uid. How many were killed."""
        if self.ipc is not None:
            shutil.rmtree(self.ipc, ignore_errors=True)
            self.ipc = None
        if self.uid is None:
            return 0
        killed = kill_uid(self.uid.uid)
        self.uid.release()
        self.uid = None
        return killed


# --- the launcher ---------------------------------------------------------------------------


def _libc():
    return ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def _mount(libc, source: str | None, target: str, fstype: str | None, flags: int,
           data: str | None = None) -> None:
    enc = lambda s: None if s is None else s.encode()  # noqa: E731
    _check(libc.mount(enc(source), enc(target), enc(fstype), flags, enc(data)),
           f"mount {target}")


def _closed_ancestor(path: Path) -> Path | None:
    """The outermost ancestor of ``path`` that other users cannot enter, if any."""
    for parent in reversed(path.parents):
        if parent != Path("/") and not os.stat(parent).st_mode & stat.S_IXOTH:
            return parent
    return None


def setup_mounts(plan: Plan, libc) -> None:
    """In a new mount namespace: expose, overlay, then hide (see the module docstring)."""
    _check(libc.unshare(CLONE_NEWNS), "unshare(mount namespace)")
    _mount(libc, None, "/", None, MS_REC | MS_PRIVATE)
    staging = Path(plan.staging)
    for n, folder in enumerate(map(Path, plan.expose)):
        closed = _closed_ancestor(folder)
        if closed is None or not folder.is_dir():
            continue
        keep = staging / f"expose{n}"
        keep.mkdir(parents=True, exist_ok=True)
        _mount(libc, str(folder), str(keep), None, MS_BIND | MS_REC)
        _mount(libc, "tmpfs", str(closed), "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=64k")
        folder.mkdir(parents=True, exist_ok=True)
        _mount(libc, str(keep), str(folder), None, MS_MOVE)
        _mount(libc, None, str(closed), None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
    for n, folder in enumerate(map(Path, plan.overlay)):
        if not folder.is_dir():
            continue
        upper, work = Path(plan.home) / f".overlay{n}", staging / f"work{n}"
        upper.mkdir(exist_ok=True)
        work.mkdir(exist_ok=True)
        if plan.uid is not None:
            os.chown(upper, plan.uid, plan.gid)
        try:
            _mount(libc, "overlay", str(folder), "overlay", MS_NOSUID | MS_NODEV,
                   f"lowerdir={folder},upperdir={upper},workdir={work}")
        except OSError as err:
            print(f"grader.sandbox: no private overlay on {folder} ({err})", file=sys.stderr)
    for folder in plan.hide:
        if os.path.isdir(folder):
            _mount(libc, "tmpfs", folder, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV,
                   "mode=0555,size=4k")


def set_limits(limits: Limits) -> None:
    pairs = {resource.RLIMIT_CORE: 0,
             resource.RLIMIT_CPU: limits.cpu_seconds,
             resource.RLIMIT_DATA: limits.memory_bytes,
             resource.RLIMIT_NPROC: limits.processes,
             resource.RLIMIT_FSIZE: limits.file_bytes,
             resource.RLIMIT_NOFILE: limits.open_files}
    for which, value in pairs.items():
        soft, hard = resource.getrlimit(which)
        value = value if hard == resource.RLIM_INFINITY else min(value, hard)
        # CPU: SIGXCPU at the soft limit, SIGKILL 5 s later (the hard one)
        top = value + 5 if which == resource.RLIMIT_CPU and hard == resource.RLIM_INFINITY else value
        resource.setrlimit(which, (value, top))


def sandbox_env(plan: Plan) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not SECRET_ENV.search(k)}
    home = plan.home
    env.update(HOME=home, TMPDIR=f"{home}/tmp", IPYTHONDIR=f"{home}/.ipython",
               MPLCONFIGDIR=f"{home}/.matplotlib", XDG_CACHE_HOME=f"{home}/.cache",
               JUPYTER_RUNTIME_DIR=f"{home}/.runtime", TRITON_CACHE_DIR=f"{home}/.triton",
               LMKIT_SANDBOX="1")
    return env


def launch(plan: Plan, argv: list[str]) -> None:
    """Confine this process as ``plan`` says, then exec ``argv`` (never returns)."""
    libc = _libc()
    home = Path(plan.home)
    (home / "tmp").mkdir(parents=True, exist_ok=True)
    for path in (home, home / "tmp"):
        if plan.uid is not None:
            os.chown(path, plan.uid, plan.gid)
    if plan.uid is not None:
        setup_mounts(plan, libc)
        if not plan.network:
            _check(libc.unshare(CLONE_NEWNET), "unshare(network namespace)")
        for i, arg in enumerate(argv[:-1]):  # the kernel must read its connection file
            if arg == "-f":
                os.chown(argv[i + 1], plan.uid, plan.gid)
    elif not plan.network:  # unprivileged: a user namespace gives a network namespace
        if libc.unshare(CLONE_NEWUSER | CLONE_NEWNET) != 0:
            print("grader.sandbox: network left on (no user namespaces here)", file=sys.stderr)
    os.chdir(home)
    set_limits(plan.limits)
    if plan.uid is not None:
        os.setgroups([])
        os.setgid(plan.gid)
        os.setuid(plan.uid)
    _check(libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(no_new_privs)")
    os.umask(0o077)
    os.execvpe(argv[0], argv, sandbox_env(plan))


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if len(argv) < 3 or argv[1] != "--":
        sys.exit("usage: python -m grader.sandbox PLAN.json -- COMMAND [ARG...]")
    launch(Plan.read(Path(argv[0])), argv[2:])


if __name__ == "__main__":
    main()
