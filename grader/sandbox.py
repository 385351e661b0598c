"""The sandbox a student's Jupyter kernel runs in: limits, no network, another user, hidden files.

``python -m grader.sandbox PLAN.json -- KERNEL_ARGV...`` is the ``argv`` of a private
``lmkit`` kernelspec in each submission's temporary directory (``grader.autograde`` writes
both): nbgrader starts it as it would start the kernel, and it execs the kernel once
confined. What it does, in order (see ``grader/README.md`` for the threat model):

- **Filesystem: an allow-list** (root only; new mount and IPC namespaces, so nothing
  changes outside them). The kernel gets a root of its own (``pivot_root``) holding only:
  the system's programs and libraries (``/usr``, ``/lib*``, ``/bin``, ``/etc``) and the
  Python environment, read-only; the kit, read-only, with ``solutions/``, ``.git/``,
  ``build/``, ``grader/tests/`` and the answer modules of the lesson being graded and later
  ones (``answer_modules``) covered; ``datasets/data`` as a private overlay; its socket and
  trusted-compare folder; and one private tmpfs capped at ``Limits.disk_bytes`` and
  ``Limits.disk_files`` that provides ``/tmp``, ``/var/tmp``, ``/dev/shm`` and its home
  (``sandbox/``). Nothing else of the host (other checkouts, ``/root``, ``/home``, the
  grading folders) exists there; what it wrote vanishes with it, SysV shared memory too.
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
- **Output**: as root, a kernel's (a command with ``-f CONNECTION_FILE``) stdout and stderr
  go to ``~/.kernel-output`` on its tmpfs, never to the grader's logs (what a reason is made
  from) or the grader's disk.

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
CLONE_NEWIPC = 0x08000000
MNT_DETACH = 2
PIVOT_ROOT = {"x86_64": 155, "aarch64": 41}  # syscall numbers
SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc")
DEVICES = ("null", "zero", "full", "random", "urandom")
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
    disk_bytes: int = 1 * GiB        # the private tmpfs: /tmp, /var/tmp, /dev/shm, home
    disk_files: int = 20_000         # ... and how many files it may hold

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
    read_only: list[str] = field(default_factory=list)  # the kit, Python: visible, read-only
    writable: list[str] = field(default_factory=list)   # host folders it writes (sockets...)
    hide: list[str] = field(default_factory=list)       # covered (inside read_only)
    overlay: list[str] = field(default_factory=list)    # folders made privately writable
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
    read_only: list[str] = field(default_factory=list)

    @classmethod
    def choose(cls, mode: str, network: bool, limits: Limits, hide: list[Path],
               overlay: list[Path], read_only: list[Path] = ()) -> Isolation:
        if mode == "off" or not sys.platform.startswith("linux"):
            return cls(enabled=False, limits=limits)
        caps = capabilities()
        return cls(True, caps["drop_user"] and caps["mounts"],
                   not network and caps["no_network"], limits,
                   sorted({str(p.resolve()) for p in hide if p.exists()}),
                   sorted({str(p.resolve()) for p in overlay if p.is_dir()}),
                   sorted({str(p.resolve()) for p in [*read_only, *python_paths()]
                           if p.exists()}))

    def describe(self) -> str:
        if not self.enabled:
            return "sandbox off: kernels run as this user, without limits"
        gib = self.limits.memory_bytes / GiB
        parts = [f"limits {gib:g} GiB memory, {self.limits.cpu_seconds} CPU s, "
                 f"{self.limits.processes} processes, {self.limits.file_bytes / GiB:g} GiB files"]
        parts.append(f"a uid of its own per submission, a root of its own (the kit without "
                     f"answers, {self.limits.disk_bytes / GiB:g} GiB private tmpfs)"
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
        # Unix socket paths are limited to 107 bytes: a short folder of their own in /tmp,
        # also where the trusted compare's files go (``io``); as root a small tmpfs of its
        # own, so that the kernel's files there are bounded in size and number
        session.ipc = Path(tempfile.mkdtemp(prefix=f"{IPC_PREFIX}{os.getpid()}-", dir="/tmp"))
        if owner:
            _mount(_libc(), "tmpfs", str(session.ipc), "tmpfs", MS_NOSUID | MS_NODEV,
                   f"mode=1733,size={IO_BYTES},nr_inodes={IO_FILES}")
            session.mounted = True
        elif uid is None:
            session.ipc.chmod(0o700)
        session.extra_config = KERNEL_CONFIG.format(ipc=str(session.ipc / "k"))
        plan = Plan(self.limits, str(workdir / "sandbox"), uid, NOGROUP, not self.no_network,
                    self.read_only, [str(session.ipc), str(workdir / "runtime")], self.hide,
                    self.overlay, str(workdir / "staging"))
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


IPC_PREFIX = "lmkit-ipc-"
IO_BYTES = 256 << 20  # sockets and the trusted compare's files (its reader caps at 64 MB)
IO_FILES = 256


def sweep_ipc() -> None:
    """Unmount and remove the socket folders of graders that were killed (pid gone)."""
    import psutil

    for path in Path("/tmp").glob(f"{IPC_PREFIX}*-*"):
        pid = path.name[len(IPC_PREFIX):].split("-", 1)[0]
        if pid.isdigit() and not psutil.pid_exists(int(pid)):
            if is_root():
                _libc().umount2(str(path).encode(), MNT_DETACH)
            shutil.rmtree(path, ignore_errors=True)


def python_paths() -> list[Path]:
    """The Python environment the kernel needs: the venv, the base interpreter, its
    site-packages (read-only in the sandbox)."""
    import site

    found = {sys.prefix, os.path.realpath(sys.base_prefix),
             os.path.dirname(os.path.realpath(sys.executable)), *site.getsitepackages()}
    return [Path(p) for p in found if p and os.path.isdir(p)]


def answer_modules(kit_root: Path, lesson: str, keep: set[str] = frozenset()) -> list[Path]:
    """Modules of ``helpers/reference/`` (the answers' folder) that answer ``lesson`` or a
    later one (their ``ANSWERS`` declarations, as ``grader.release`` reads them), with their
    compiled ``__pycache__`` files: hidden from the kernel while ``lesson`` is graded.
    ``keep``: dotted module names the lesson's own hidden tests import (hiding them would
    fail every student). The one place that decides."""
    from grader.release import answers

    found = []
    for path in sorted((Path(kit_root) / "helpers" / "reference").glob("*.py")):
        if f"helpers.reference.{path.stem}" in keep or not any(n >= lesson for n in answers(path)):
            continue
        found.append(path)
        found += sorted(path.parent.glob(f"__pycache__/{path.stem}.*.pyc"))
    return found


@dataclass
class Session:
    """One submission's sandbox: nbgrader config and environment, and its uid if any."""

    workdir: Path
    uid: Uid | None
    extra_config: str
    env: dict[str, str]
    ipc: Path | None = None  # the kernel's socket files and the trusted compare's (io)
    mounted: bool = False    # ipc is a tmpfs of its own

    @property
    def io(self) -> Path:
        """Where the trusted compare's inputs and outputs go (reachable by the kernel)."""
        return self.ipc if self.ipc is not None else self.workdir

    def stop(self) -> int:
        """Kill whatever of the submission's uid still runs; how many processes."""
        return kill_uid(self.uid.uid) if self.uid is not None else 0

    def close(self) -> int:
        """Kill what the submission left running; remove its files; release its uid."""
        killed = self.stop()
        if self.ipc is not None:
            if self.mounted:
                _libc().umount2(str(self.ipc).encode(), MNT_DETACH)
            shutil.rmtree(self.ipc, ignore_errors=True)
            self.ipc = None
        if self.uid is not None:
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
    def enc(s: str | None) -> bytes | None:
        return None if s is None else s.encode()

    _check(libc.mount(enc(source), enc(target), enc(fstype), flags, enc(data)),
           f"mount {target}")


def _bind(libc, source: str, target: Path, read_only: bool) -> None:
    if os.path.isdir(source):
        target.mkdir(parents=True, exist_ok=True)
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.touch(exist_ok=True)
    _mount(libc, source, str(target), None, MS_BIND | MS_REC)
    if read_only:
        _mount(libc, None, str(target), None,
               MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)


def _inside(path: str, folders: list[str]) -> bool:
    return any(path == f or path.startswith(f.rstrip("/") + "/") for f in folders)


def build_root(plan: Plan, libc, files: list[str] = ()) -> Path:
    """A new root for the kernel with only what ``plan`` allows (module docstring)."""
    os.umask(0o066)  # folders made on the way to a mount point: 0711, not listable
    staging = Path(plan.staging)
    root, scratch = staging / "root", staging / "scratch"
    for folder in (root, scratch):
        folder.mkdir(parents=True, exist_ok=True)
    _mount(libc, "tmpfs", str(root), "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=1m")
    _mount(libc, "tmpfs", str(scratch), "tmpfs", MS_NOSUID | MS_NODEV,
           f"mode=0755,size={plan.limits.disk_bytes},nr_inodes={plan.limits.disk_files}")
    owner = (plan.uid, plan.gid)
    for name, mode in (("tmp", 0o1777), ("var_tmp", 0o1777), ("shm", 0o1777), ("home", 0o700)):
        (scratch / name).mkdir()
        os.chmod(scratch / name, mode)
    os.chown(scratch / "home", *owner)
    for folder in SYSTEM:
        if os.path.islink(folder):
            (root / folder[1:]).symlink_to(os.readlink(folder))
        elif os.path.isdir(folder):
            _bind(libc, folder, root / folder[1:], True)
    _bind(libc, str(scratch / "tmp"), root / "tmp", False)
    _bind(libc, str(scratch / "var_tmp"), root / "var" / "tmp", False)
    (root / "dev").mkdir()
    _mount(libc, "tmpfs", str(root / "dev"), "tmpfs", MS_NOSUID, "mode=0755,size=64k")
    for name in DEVICES:
        _bind(libc, f"/dev/{name}", root / "dev" / name, False)
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                         ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")):
        (root / "dev" / name).symlink_to(target)
    _bind(libc, str(scratch / "shm"), root / "dev" / "shm", False)
    (root / "proc").mkdir()
    try:
        _mount(libc, "proc", str(root / "proc"), "proc", MS_NOSUID | MS_NODEV)
    except OSError:
        _mount(libc, "/proc", str(root / "proc"), None, MS_BIND | MS_REC)
    _bind(libc, "/sys", root / "sys", True)
    bound: list[str] = []
    for folder in sorted(set(plan.read_only), key=len):  # outer folders first
        if os.path.exists(folder) and not _inside(folder, bound):
            _bind(libc, folder, root / folder.lstrip("/"), True)
            bound.append(folder)
    for n, folder in enumerate(plan.overlay):
        if not os.path.isdir(folder) or not _inside(folder, bound):
            continue
        upper, work = scratch / f"overlay{n}" / "upper", scratch / f"overlay{n}" / "work"
        upper.mkdir(parents=True)
        work.mkdir()
        os.chown(upper, *owner)
        try:
            _mount(libc, "overlay", str(root / folder.lstrip("/")), "overlay",
                   MS_NOSUID | MS_NODEV, f"lowerdir={folder},upperdir={upper},workdir={work}")
        except OSError as err:
            print(f"grader.sandbox: no private overlay on {folder} ({err})", file=sys.stderr)
    empty = staging / "empty"
    empty.touch()
    empty.chmod(0o444)
    for path in plan.hide:
        target = root / path.lstrip("/")
        if not _inside(path, bound) or not os.path.lexists(target):
            continue
        if os.path.isdir(target):
            _mount(libc, "tmpfs", str(target), "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV,
                   "mode=0555,size=4k")
        else:
            _mount(libc, str(empty), str(target), None, MS_BIND)
    for folder in plan.writable:
        if os.path.isdir(folder):
            _bind(libc, folder, root / folder.lstrip("/"), False)
    for path in files:  # the connection file, wherever the kernel manager wrote it
        if os.path.isfile(path):
            _bind(libc, path, root / path.lstrip("/"), True)
    _bind(libc, str(scratch / "home"), root / plan.home.lstrip("/"), False)
    _mount(libc, None, str(root), None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
    return root


def enter_root(root: Path, libc) -> None:
    """Make ``root`` this process's ``/`` (``pivot_root``) and drop the host's tree."""
    number = PIVOT_ROOT.get(os.uname().machine)
    os.chdir(root)
    if number is not None and libc.syscall(number, b".", b".") == 0:
        _check(libc.umount2(b".", MNT_DETACH), "umount old root")  # the host's tree
    else:
        _mount(libc, ".", "/", None, MS_MOVE)
        os.chroot(".")
    os.chdir("/")


def setup_mounts(plan: Plan, libc, files: list[str] = ()) -> None:
    """In new mount and IPC namespaces: a root of the kernel's own (module docstring);
    ``files``: host files it reads (its connection file)."""
    _check(libc.unshare(CLONE_NEWNS | CLONE_NEWIPC), "unshare(mount, IPC namespaces)")
    _mount(libc, None, "/", None, MS_REC | MS_PRIVATE)
    enter_root(build_root(plan, libc, files), libc)


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
        cpu_unlimited = which == resource.RLIMIT_CPU and hard == resource.RLIM_INFINITY
        top = value + 5 if cpu_unlimited else value
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
    connection = [os.path.abspath(argv[i + 1]) for i, arg in enumerate(argv[:-1])
                  if arg == "-f"]
    if plan.uid is not None:
        for path in connection:  # the kernel must read its connection file
            os.chown(path, plan.uid, plan.gid)
        setup_mounts(plan, libc, connection)  # from here on, home is on the private tmpfs
    (home / "tmp").mkdir(parents=True, exist_ok=True)
    for path in (home, home / "tmp"):
        if plan.uid is not None:
            os.chown(path, plan.uid, plan.gid)
    if plan.uid is not None:
        if not plan.network:
            _check(libc.unshare(CLONE_NEWNET), "unshare(network namespace)")
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
    if plan.uid is not None and connection:  # a kernel's output must not reach the grader's
        # logs (reasons are made from them) nor fill them
        out = os.open(home / ".kernel-output", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        for fd in (1, 2):
            os.dup2(out, fd)
        os.close(out)
    os.execvpe(argv[0], argv, sandbox_env(plan))


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if len(argv) < 3 or argv[1] != "--":
        sys.exit("usage: python -m grader.sandbox PLAN.json -- COMMAND [ARG...]")
    launch(Plan.read(Path(argv[0])), argv[2:])


if __name__ == "__main__":
    main()
