"""Run a function on N worker processes joined in a ``torch.distributed`` process group.

Lesson 05 defines its DDP classes in notebook cells; this launcher runs them on N ranks of one
machine (gloo on a CPU, NCCL on GPUs) and brings back each rank's return value::

    from helpers.distributed import run

    def hello(x):
        import torch.distributed as dist
        return dist.get_rank() * x

    run(hello, 10, world_size=2)   # [0, 10]

Design:

- **Fresh interpreters, functions by value.** Each rank is a new ``python -m
  helpers.distributed`` process (never ``fork``: a forked Jupyter kernel inherits threads,
  OpenMP pools and CUDA state). Functions and classes are shipped with ``cloudpickle``,
  *by value* when they live in ``__main__`` (a notebook) or in a module without an import
  spec (``helpers.nbmodule``'s), by reference otherwise (``torch``, ``helpers``).
- **A pool that stays up.** ``Ranks`` starts the processes and the process group once and runs
  one job after another on them (a gloo group costs about a second to start); ``run`` uses one
  cached ``Ranks`` per (world size, device). A job that runs past its timeout, or a rank that
  raises while another does not answer within ``GRACE`` seconds (stuck in a collective), ends
  the pool: every process is killed (its own process group, ``SIGKILL``) and the next job
  starts a fresh one. The error names the rank and shows its traceback.
- **Rendezvous without a network.** The group meets through a ``file://`` store and the
  parent talks to the ranks over a Unix socket in a private temporary folder. gloo itself
  needs a loopback interface: inside the grader's sandbox (a network namespace whose loopback
  is down) the ranks' leader first enters a private user and network namespace of its own and
  brings its loopback up, so the ranks talk to each other and to nothing else.
- Ranks' output is captured: ``print`` in a rank comes back with the job (shown with a
  ``[rank r]`` prefix); its stderr and C++ logs go to a file, shown when a rank fails.
- Each rank uses ``torch.set_num_threads(threads)`` (default: the cores divided among ranks).

Tested in ``grader/tests/test_ddp.py`` (``pytest grader/tests/test_ddp.py -k launcher``).
"""
from __future__ import annotations

import atexit
import ctypes
import os
import pickle
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

DEFAULT_TIMEOUT = 120.0   # seconds per job; tests pass smaller ones
START_TIMEOUT = 60.0      # seconds for the ranks to import torch and join the group
GRACE = 2.0               # seconds the other ranks get to answer after one raised
_POOLS: dict = {}


class RankError(RuntimeError):
    """A rank raised (its traceback is the message), died, or the job ran past its timeout."""


# --- framing: 8-byte length + pickle ---------------------------------------------------------


def _send(sock: socket.socket, obj) -> None:
    import cloudpickle

    data = cloudpickle.dumps(obj)
    sock.sendall(struct.pack("!Q", len(data)) + data)


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    chunks = []
    while n:
        chunk = sock.recv(min(n, 1 << 20))
        if not chunk:
            raise EOFError("connection closed")
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def _recv(sock: socket.socket):
    (n,) = struct.unpack("!Q", _recv_exact(sock, 8))
    return pickle.loads(_recv_exact(sock, n))


def _by_value(obj, seen=None) -> None:
    """Register modules without an import spec (notebook modules) to be pickled by value."""
    import cloudpickle

    module = sys.modules.get(getattr(obj, "__module__", None) or "")
    if module is not None and module.__name__ != "__main__" and \
            getattr(module, "__spec__", None) is None and module.__name__ != "builtins":
        try:
            cloudpickle.register_pickle_by_value(module)
        except ValueError:
            pass


# --- the parent side ----------------------------------------------------------------------


def default_backend(device: str) -> str:
    return "nccl" if device.startswith("cuda") else "gloo"


def loopback_works() -> bool:
    """Whether the loopback interface is up (it is down in the grader's sandbox, where binding
    127.0.0.1 still succeeds but gloo finds no interface that carries it)."""
    if sys.platform != "linux":
        return True
    import fcntl

    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            req = struct.pack("16sH14x", b"lo", 0)
            flags = struct.unpack("16sH14x", fcntl.ioctl(s.fileno(), _SIOCGIFFLAGS, req))[1]
        return bool(flags & _IFF_UP)
    except OSError:
        return False


class Ranks:
    """``world_size`` worker processes in one process group, running jobs one after another.

    Args:
        world_size: number of ranks.
        device: "cpu" (gloo) or "cuda" (NCCL, rank r on GPU r % device_count).
        threads: torch threads per rank (default: cores // world_size, at least 1).
    """

    def __init__(self, world_size: int = 2, device: str = "cpu", threads: int | None = None):
        self.world_size, self.device = world_size, device
        self.backend = default_backend(device)
        self.threads = threads or max(1, (os.cpu_count() or 1) // world_size)
        self._proc = None
        self._socks: list[socket.socket] = []
        self._dir = None

    # lifecycle
    def start(self) -> None:
        self._dir = tempfile.mkdtemp(prefix="lmkit-ddp-")
        path = os.path.join(self._dir, "s")
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(path)
        server.listen(self.world_size)
        server.settimeout(START_TIMEOUT)
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            [str(Path(__file__).resolve().parent.parent)] +
            [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
        argv = [sys.executable, "-m", "helpers.distributed", "leader", self._dir,
                str(self.world_size), self.backend, str(self.threads),
                "0" if loopback_works() else "1"]
        log = open(os.path.join(self._dir, "leader.log"), "wb")
        self._proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                      stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        socks = [None] * self.world_size
        try:
            for _ in range(self.world_size):
                conn, _ = server.accept()
                conn.settimeout(None)
                rank = _recv(conn)
                socks[rank] = conn
        except (socket.timeout, OSError, EOFError) as e:
            self.close()
            raise RankError(f"the ranks did not start within {START_TIMEOUT:.0f} s ({e})\n"
                            + self._logs()) from None
        finally:
            server.close()
        self._socks = socks
        ready = self._collect(START_TIMEOUT, "join the process group")
        del ready

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def close(self) -> None:
        """Kill every process of the pool (idempotent)."""
        if self._proc is not None:
            try:
                os.killpg(self._proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
            self._proc = None
        for s in self._socks:
            if s is not None:
                s.close()
        self._socks = []
        if self._dir:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # jobs
    def run(self, fn, *args, timeout: float = DEFAULT_TIMEOUT, **kwargs) -> list:
        """``fn(*args, **kwargs)`` on every rank; the list of their return values (rank order).

        Raises ``RankError`` (and ends the pool) when a rank raises, dies or times out.
        """
        if not self.alive():
            self.close()
            self.start()
        for obj in (fn, *args, *kwargs.values()):
            _by_value(obj)
        try:
            for s in self._socks:
                _send(s, (fn, args, kwargs))
            return self._collect(timeout, f"finish {getattr(fn, '__name__', fn)}")
        except RankError:
            raise          # _collect decided whether the pool survives
        except BaseException:   # an interrupt (KeyboardInterrupt, the grader's CaseTimeout)
            self.close()
            raise

    def _collect(self, timeout: float, what: str) -> list:
        """Every rank's reply. A rank's exception ends the job; the pool survives only when
        every rank answered within ``GRACE`` seconds (none is stuck in a collective)."""
        deadline = time.monotonic() + timeout
        results, pending = [None] * self.world_size, set(range(self.world_size))
        errors: dict[int, str] = {}
        while pending:
            left = deadline - time.monotonic()
            if left <= 0:
                self.close()
                if errors:
                    break
                raise RankError(f"rank(s) {sorted(pending)} did not {what} within {timeout:g} s "
                                "(a deadlocked collective? an endless loop?): all ranks killed")
            ready, _, _ = select.select([self._socks[r] for r in pending], [], [], min(left, 1))
            for s in ready:
                rank = self._socks.index(s)
                try:
                    status, value, out = _recv(s)
                except (EOFError, OSError):
                    logs = self._logs()
                    self.close()
                    raise RankError(f"rank {rank} died while trying to {what}\n{logs}") from None
                if out:
                    print("".join(f"[rank {rank}] {line}\n" for line in out.splitlines()), end="")
                if status == "error":
                    errors[rank] = value
                    deadline = min(deadline, time.monotonic() + GRACE)
                results[rank] = value
                pending.discard(rank)
        if errors:
            rank = min(errors)
            raise RankError(f"rank {rank} raised:\n{errors[rank]}")
        return results

    def _logs(self, tail: int = 3000) -> str:
        if not self._dir:
            return ""
        text = []
        for name in sorted(os.listdir(self._dir)):
            if name.endswith(".log"):
                data = Path(self._dir, name).read_text(errors="replace")[-tail:]
                if data.strip():
                    text.append(f"--- {name} ---\n{data}")
        return "\n".join(text)


def ranks(world_size: int = 2, device: str = "cpu", threads: int | None = None) -> Ranks:
    """The cached pool for ``(world_size, device, threads)`` (started on its first job)."""
    key = (world_size, device, threads)
    if key not in _POOLS:
        _POOLS[key] = Ranks(world_size, device, threads)
    return _POOLS[key]


def run(fn, *args, world_size: int = 2, device: str = "cpu", timeout: float = DEFAULT_TIMEOUT,
        threads: int | None = None, **kwargs) -> list:
    """``fn(*args, **kwargs)`` on ``world_size`` ranks of a cached pool; their results."""
    return ranks(world_size, device, threads).run(fn, *args, timeout=timeout, **kwargs)


def shutdown() -> None:
    """Kill every cached pool."""
    for pool in _POOLS.values():
        pool.close()
    _POOLS.clear()


atexit.register(shutdown)


# --- the worker side ------------------------------------------------------------------------

_PR_SET_PDEATHSIG = 1
_CLONE_NEWUSER, _CLONE_NEWNET = 0x10000000, 0x40000000
_SIOCGIFFLAGS, _SIOCSIFFLAGS, _IFF_UP = 0x8913, 0x8914, 0x1


def _die_with_parent() -> None:
    if sys.platform == "linux":
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def private_loopback() -> None:
    """Enter a new user + network namespace (same uid/gid) and bring its loopback up.

    Needs a single-threaded process and unprivileged user namespaces (Linux)."""
    import fcntl

    libc = ctypes.CDLL(None, use_errno=True)
    uid, gid = os.getuid(), os.getgid()
    if libc.unshare(_CLONE_NEWUSER | _CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), "unshare(user + network namespace) failed: gloo needs "
                      "a loopback interface, and this one is down")
    for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"),
                       ("gid_map", f"{gid} {gid} 1")):
        with open(f"/proc/self/{name}", "w") as f:
            f.write(text)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        req = struct.pack("16sH14x", b"lo", 0)
        flags = struct.unpack("16sH14x", fcntl.ioctl(s.fileno(), _SIOCGIFFLAGS, req))[1]
        fcntl.ioctl(s.fileno(), _SIOCSIFFLAGS, struct.pack("16sH14x", b"lo", flags | _IFF_UP))


def _leader(folder: str, world_size: int, backend: str, threads: int, netns: bool) -> None:
    """Start the ranks (in a private network namespace when asked) and wait for them."""
    _die_with_parent()
    if netns:
        private_loopback()
    procs = [subprocess.Popen([sys.executable, "-m", "helpers.distributed", "rank", folder,
                               str(r), str(world_size), backend, str(threads)],
                              stdin=subprocess.DEVNULL,
                              stdout=open(os.path.join(folder, f"rank{r}.log"), "wb"),
                              stderr=subprocess.STDOUT)
             for r in range(world_size)]
    codes = [p.wait() for p in procs]
    sys.exit(max(abs(c) for c in codes))


def _rank(folder: str, rank: int, world_size: int, backend: str, threads: int) -> None:
    """One rank: join the group, then run jobs from the parent until it hangs up."""
    import io
    from contextlib import redirect_stdout
    from datetime import timedelta

    _die_with_parent()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(os.path.join(folder, "s"))
    _send(sock, rank)
    import torch
    import torch.distributed as dist

    torch.set_num_threads(threads)
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world_size), LOCAL_RANK=str(rank),
                      LOCAL_WORLD_SIZE=str(world_size))
    if backend == "nccl":
        torch.cuda.set_device(rank % torch.cuda.device_count())
    try:
        dist.init_process_group(backend, init_method=f"file://{folder}/store", rank=rank,
                                world_size=world_size, timeout=timedelta(seconds=600))
        dist.barrier()
        _send(sock, ("ok", None, ""))
    except BaseException:
        _send(sock, ("error", traceback.format_exc(), ""))
        raise
    while True:
        try:
            fn, args, kwargs = _recv(sock)
        except EOFError:
            break
        out = io.StringIO()
        try:
            with redirect_stdout(out):
                value = fn(*args, **kwargs)
            dist.barrier()   # every rank finished its collectives: the group is in step
            reply = ("ok", value, out.getvalue())
        except BaseException:
            reply = ("error", traceback.format_exc(), out.getvalue())
        _send(sock, reply)
    dist.destroy_process_group()


if __name__ == "__main__":
    role, rest = sys.argv[1], sys.argv[2:]
    if role == "leader":
        _leader(rest[0], int(rest[1]), rest[2], int(rest[3]), rest[4] == "1")
    else:
        _rank(rest[0], int(rest[1]), int(rest[2]), rest[3], int(rest[4]))
