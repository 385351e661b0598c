"""Lesson 05's machinery: test models, the single-process oracle, rank jobs, timings, plots.

Nothing here answers an exercise: the lesson's functions and classes are passed in (a
notebook's, or ``helpers.reference.ddp``'s). Jobs named ``*_job`` run on every rank through
``helpers.distributed.run`` and return plain data (tensors, numbers, lists):

- ``DDPConfig.build(scale, device, seed, world_size=...)``: the sizes of the experiments, a
  ``helpers.config.LessonConfig`` with a preset per scale (GPU ranks need 2 GPUs or more).
- ``make_model`` / ``make_batch``: three small models, the same on every rank for a seed:
  ``"toy"`` (an MLP), ``"tied"`` (an embedding tied to the output layer, a frozen layer, a
  parameter that never needs a gradient, a buffer) and ``"lm"`` (lesson 02's ``ReferenceLM``
  at a tiny size). Rank r starts from seed + r (so broadcasting matters) unless ``same_init``.
- ``train_single``: the oracle, one process on the global batch; ``train_job``: the same
  steps on a rank's shard of it, with gradient functions or a DDP wrapper class.
- ``launches_job``: records each ``dist.all_reduce`` call (size, async, during backward?).
- ``allreduce_job``, ``step_time_job``, ``profile_job``: timings and a profiler timeline.
- ``plot_collectives``, ``plot_bandwidth``, ``plot_timeline``, ``plot_step_times``.

Tested in ``grader/tests/test_ddp.py``.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.distributed as dist
from torch import nn

from helpers.config import LessonConfig
from helpers.env import resolve_device

MiB = 1024 ** 2


# --- configuration --------------------------------------------------------------------------


# The timed model: lesson 02's model at these sizes (helpers.reference.model.ModelConfig).
LM_SMOKE = dict(vocab_size=512, context_length=64, d_model=128, num_layers=2, num_heads=4,
                d_ff=384)
LM_22M = dict(vocab_size=10_000, context_length=256, d_model=512, num_layers=4, num_heads=16,
              d_ff=1344)   # lesson 02's TinyStories model: the full scale on CPU ranks
LM_125M = dict(vocab_size=50_257, context_length=1024, d_model=768, num_layers=12,
               num_heads=12, d_ff=2048)   # GPT-2 small's size: the full scale with NCCL


@dataclass
class DDPConfig(LessonConfig):
    """Sizes of lesson 05's experiments (the correctness checks always use 2 CPU ranks).

    At full scale the timed model and its step count follow the device: ``FULL_CUDA`` on GPU
    ranks (NCCL, bf16, 8 sequences per GPU), ``FULL_CPU`` on CPU ranks (gloo).
    """

    world_size: int | None = None     # ranks of the experiments (None: 2, or every GPU at full)
    bench_sizes_mb: tuple = ()        # all-reduce sizes, MiB
    lm: dict | None = None            # ModelConfig fields of the timed model
    batch_size: int | None = None     # global batch (sequences) of the timed model
    num_steps: int | None = None      # timed training steps per variant
    bucket_sizes_mb: tuple = ()       # bucket caps of DDPBucketed, MiB
    dtype: str | None = None          # compute dtype of the timed model ("bfloat16": autocast)
    timeout: float = 0.0              # seconds per experiment job
    PRESETS: ClassVar[dict[str, dict[str, Any]]] = {
        "smoke": dict(bench_sizes_mb=(1, 4, 16), lm=LM_SMOKE, batch_size=8, num_steps=4,
                      bucket_sizes_mb=(0.25, 1.0, 4.0), dtype="float32", timeout=30.0),
        "full": dict(bench_sizes_mb=(1, 4, 16, 64, 256, 1024), bucket_sizes_mb=(1.0, 10.0, 25.0),
                     timeout=300.0),
    }
    FULL_CUDA: ClassVar[dict[str, Any]] = dict(lm=LM_125M, num_steps=20, dtype="bfloat16")
    FULL_CPU: ClassVar[dict[str, Any]] = dict(lm=LM_22M, batch_size=8, num_steps=5,
                                              dtype="float32")

    @staticmethod
    def pick_device(device: str) -> str:
        device = resolve_device(device)
        return "cuda" if device.startswith("cuda") else "cpu"   # mps has no collectives

    def finish(self) -> None:
        gpus = torch.cuda.device_count() if self.device == "cuda" else 0
        if self.device == "cuda" and gpus < 2 and (self.world_size or 2) > 1:
            print(f"{gpus} GPU: NCCL needs a GPU per rank, so the experiments run on CPU ranks")
            self.device = "cpu"
        if self.smoke:
            self.device = "cpu"   # smoke: 2 gloo processes, whatever the machine has
        self.world_size = self.world_size or (2 if self.smoke else max(2, gpus))
        if self.device == "cuda" and self.batch_size is None:
            self.batch_size = 8 * max(2, gpus)   # 8 sequences per GPU
        for name, value in (self.FULL_CUDA if self.device == "cuda" else self.FULL_CPU).items():
            if getattr(self, name) is None:
                setattr(self, name, value)
        self.lm = dict(self.lm)   # a copy: a cell may change it


def rank_device() -> torch.device:
    """This rank's device: its GPU in an NCCL group, else the CPU."""
    if dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


# --- models and data --------------------------------------------------------------------------

TINY_LM = dict(vocab_size=64, context_length=16, d_model=32, num_layers=2, num_heads=2, d_ff=64)


class TiedToy(nn.Module):
    """Tied input/output embeddings, a frozen layer, a parameter without gradient, a buffer."""

    def __init__(self, vocab: int = 24, d: int = 16):
        super().__init__()
        self.embed = nn.Embedding(vocab, d)
        self.frozen = nn.Linear(d, d)
        self.frozen.requires_grad_(False)
        self.proj = nn.Linear(d, d)
        self.gain = nn.Parameter(torch.randn(d), requires_grad=False)
        self.out = nn.Linear(d, vocab, bias=False)
        self.out.weight = self.embed.weight          # tied: one parameter used twice
        self.register_buffer("offset", torch.randn(d))

    def forward(self, ids):
        h = self.embed(ids) + self.offset                 # (batch, seq, d)
        h = torch.relu(self.frozen(h)) * self.gain + self.proj(h)
        return self.out(h)                                # (batch, seq, vocab)


def make_model(kind: str, seed: int) -> nn.Module:
    torch.manual_seed(seed)
    if kind == "toy":
        return nn.Sequential(nn.Linear(12, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(),
                             nn.Linear(32, 4))
    if kind == "tied":
        return TiedToy()
    if kind == "lm":
        from helpers.reference.model import ModelConfig, ReferenceLM

        return ReferenceLM(ModelConfig(**TINY_LM))
    if isinstance(kind, dict):   # a ModelConfig's fields: lesson 02's model at that size
        from helpers.reference.model import ModelConfig, ReferenceLM

        return ReferenceLM(ModelConfig(**kind))
    raise ValueError(f"unknown model {kind!r}")


def make_batch(kind, seed: int, batch_size: int):
    """(inputs, targets) of a global batch, the same on every rank for a seed."""
    g = torch.Generator().manual_seed(10_000 + seed)
    if kind == "toy":
        x = torch.randn(batch_size, 12, generator=g)
        return x, torch.randn(batch_size, 4, generator=g)
    vocab, seq = (24, 6) if kind == "tied" else \
        ((TINY_LM if kind == "lm" else kind)["vocab_size"],
         (TINY_LM if kind == "lm" else kind)["context_length"])
    ids = torch.randint(0, vocab, (batch_size, seq + 1), generator=g)
    return ids[:, :-1], ids[:, 1:]


def loss_fn(kind, out, y):
    if kind == "toy":
        return ((out - y) ** 2).mean()
    return nn.functional.cross_entropy(out.flatten(0, 1), y.flatten())


def make_optimizer(params, optimizer: str, sharded_cls=None):
    if optimizer == "sgd":
        return torch.optim.SGD(params, lr=0.1)
    kwargs = dict(lr=1e-2, weight_decay=0.1)
    if optimizer == "adamw":
        return torch.optim.AdamW(params, **kwargs)
    if optimizer == "sharded":
        return sharded_cls(params, torch.optim.AdamW, **kwargs)
    raise ValueError(optimizer)


def state(model: nn.Module) -> dict:
    return {k: v.detach().clone().cpu() for k, v in model.state_dict().items()}


def train_single(kind="toy", steps: int = 3, batch_size: int = 8, optimizer: str = "sgd",
                 seed: int = 0) -> dict:
    """The oracle: ``steps`` steps of one process on the global batches; the final state."""
    model = make_model(kind, seed)
    opt = make_optimizer([p for p in model.parameters() if p.requires_grad], optimizer)
    for step in range(steps):
        x, y = make_batch(kind, seed + step, batch_size)
        opt.zero_grad(set_to_none=True)
        loss_fn(kind, model(x), y).backward()
        opt.step()
    return state(model)


def train_job(kind="toy", steps: int = 3, batch_size: int = 8, optimizer: str = "sgd",
              seed: int = 0, *, broadcast=None, sync=None, wrapper=None, wrapper_kwargs=None,
              sharded_cls=None, same_init: bool = False) -> dict:
    """On each rank: the same steps on this rank's shard of each global batch.

    Gradients are averaged by ``sync(model)`` after ``backward`` (with ``broadcast(model)``
    first, unless ``same_init``), or by a ``wrapper(model, **wrapper_kwargs)`` class
    (``on_train_batch_start`` if it has one, ``finish_gradient_synchronization`` after
    ``backward``). ``optimizer="sharded"`` steps with ``sharded_cls(params, AdamW, ...)``.
    Returns the final state of the unwrapped model.
    """
    rank, world = dist.get_rank(), dist.get_world_size()
    model = make_model(kind, seed if same_init or rank == 0 else seed + 1 + rank)
    if broadcast is not None:
        broadcast(model)
    ddp = wrapper(model, **(wrapper_kwargs or {})) if wrapper is not None else model
    opt = make_optimizer([p for p in model.parameters() if p.requires_grad], optimizer,
                         sharded_cls)
    shard = batch_size // world
    for step in range(steps):
        x, y = make_batch(kind, seed + step, batch_size)
        x, y = x[rank * shard:(rank + 1) * shard], y[rank * shard:(rank + 1) * shard]
        opt.zero_grad(set_to_none=True)
        if hasattr(ddp, "on_train_batch_start"):
            ddp.on_train_batch_start()
        loss_fn(kind, ddp(x), y).backward()
        if sync is not None:
            sync(model)
        if wrapper is not None:
            ddp.finish_gradient_synchronization()
        opt.step()
    return state(model)


def compare_states(results: list, expected: dict, what: str, rtol=1e-4, atol=1e-5) -> None:
    """Assert every rank's final state equals the oracle's, naming the worst tensor."""
    for rank, got in enumerate(results):
        assert set(got) == set(expected), f"{what}: rank {rank} returned other tensors"
        for name, want in expected.items():
            if not torch.allclose(got[name], want, rtol=rtol, atol=atol):
                err = (got[name] - want).abs().max().item()
                raise AssertionError(
                    f"{what}: rank {rank}'s {name!r} differs from single-process training on "
                    f"the whole batch by up to {err:.3g}")


# --- what happens during backward -------------------------------------------------------------


class SyncAfterBackward(nn.Module):
    """A gradient function (``average_gradients``...) as a wrapper: ``finish_gradient_
    synchronization`` calls ``sync(module)``."""

    def __init__(self, module: nn.Module, sync):
        super().__init__()
        self.module, self.sync = module, sync

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    def finish_gradient_synchronization(self) -> None:
        self.sync(self.module)


def launches_job(wrapper, wrapper_kwargs=None, kind="lm", seed: int = 0, batch_size: int = 4,
                 steps: int = 2) -> list:
    """Each ``dist.all_reduce`` call of the last of ``steps`` steps as ``(numel, async_op,
    during_backward)``; a final ``("end", ...)`` row counts calls made after ``backward``."""
    rank = dist.get_rank()
    model = make_model(kind, seed + rank)
    ddp = wrapper(model, **(wrapper_kwargs or {}))
    calls, state_ = [], {"backward": False}
    original = dist.all_reduce

    def recording(tensor, *args, **kwargs):
        calls.append((tensor.numel(), bool(kwargs.get("async_op", False)), state_["backward"]))
        return original(tensor, *args, **kwargs)

    dist.all_reduce = recording
    try:
        for step in range(steps):
            calls.clear()
            x, y = make_batch(kind, seed + step, batch_size)
            if hasattr(ddp, "on_train_batch_start"):
                ddp.on_train_batch_start()
            loss = loss_fn(kind, ddp(x), y)
            state_["backward"] = True
            loss.backward()
            state_["backward"] = False
            ddp.finish_gradient_synchronization()
            for p in model.parameters():
                p.grad = None
    finally:
        dist.all_reduce = original
    return calls


def param_bytes(kind, seed: int = 0) -> list:
    """Bytes of each parameter that requires a gradient, in ``parameters()`` order."""
    model = make_model(kind, seed)
    return [p.numel() * p.element_size() for p in model.parameters() if p.requires_grad]


# --- timings -----------------------------------------------------------------------------------


def _sync(dev: torch.device) -> None:
    if dev.type == "cuda":
        torch.cuda.synchronize()


def allreduce_job(sizes_mb: list, iters: int = 5) -> list:
    """Median seconds of an all-reduce of each size (float32 tensors of ``size`` MiB)."""
    dev = rank_device()
    out = []
    for size in sizes_mb:
        x = torch.ones(int(size * MiB) // 4, device=dev)
        dist.all_reduce(x)   # warm-up
        times = []
        for _ in range(iters):
            _sync(dev)
            dist.barrier()
            t = time.perf_counter()
            dist.all_reduce(x)
            _sync(dev)
            times.append(time.perf_counter() - t)
        out.append(sorted(times)[len(times) // 2])
    return out


def step_time_job(lm: dict, batch_size: int, steps: int, *, sync=None, wrapper=None,
                  wrapper_kwargs=None, dtype: str = "float32",
                  torch_ddp: bool = False, optimizer: str = "adamw", sharded_cls=None) -> dict:
    """Mean step time and mean time spent in gradient synchronization (after ``backward``)
    of lesson 02's model at size ``lm`` (one warm-up step), and the optimizer state bytes."""
    rank, world = dist.get_rank(), dist.get_world_size()
    dev = rank_device()
    model = make_model(lm, 0).to(dev)
    ddp = model
    if torch_ddp:
        wrapper, wrapper_kwargs = TorchDDP, {}
    if wrapper is not None:
        ddp = wrapper(model, **(wrapper_kwargs or {}))
    opt = make_optimizer([p for p in model.parameters() if p.requires_grad], optimizer,
                         sharded_cls)
    shard = batch_size // world
    autocast = torch.autocast(dev.type, dtype=torch.bfloat16, enabled=dtype == "bfloat16")
    step_s, sync_s = [], []
    for step in range(steps + 1):
        x, y = make_batch(lm, step, batch_size)
        lo, hi = rank * shard, (rank + 1) * shard
        x, y = x[lo:hi].to(dev), y[lo:hi].to(dev)
        _sync(dev)
        dist.barrier()
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        if hasattr(ddp, "on_train_batch_start"):
            ddp.on_train_batch_start()
        with autocast:
            loss = loss_fn(lm, ddp(x), y)
        loss.backward()
        _sync(dev)
        t1 = time.perf_counter()
        if sync is not None:
            sync(model)
        if wrapper is not None:
            ddp.finish_gradient_synchronization()
        _sync(dev)
        t2 = time.perf_counter()
        opt.step()
        _sync(dev)
        if step:   # the first step warms up
            step_s.append(time.perf_counter() - t0)
            sync_s.append(t2 - t1)
    opt_state = opt.state_dict()["state"]
    state_bytes = sum(v.numel() * v.element_size() for s in opt_state.values()
                      for v in s.values() if torch.is_tensor(v) and v.dim() > 0)
    return {"step_s": sum(step_s) / len(step_s), "sync_s": sum(sync_s) / len(sync_s),
            "optimizer_bytes": state_bytes,
            "params": sum(p.numel() for p in model.parameters())}


def profile_job(wrapper, wrapper_kwargs=None, lm: dict | None = None, batch_size: int = 4) -> list:
    """One training step under ``torch.profiler`` (rank 0 records): ``(kind, start_ms,
    duration_ms)`` rows, kind "backward" (autograd ops), "all_reduce" (collective work) or
    "wait" (``finish_gradient_synchronization``)."""
    from torch.profiler import ProfilerActivity, profile, record_function

    rank = dist.get_rank()
    lm = lm or TINY_LM
    model = make_model(lm, 0)
    ddp = wrapper(model, **(wrapper_kwargs or {}))
    x, y = make_batch(lm, 0, batch_size)
    for step in range(2):   # step 0 warms up
        if hasattr(ddp, "on_train_batch_start"):
            ddp.on_train_batch_start()
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            loss = loss_fn(lm, ddp(x), y)
            with record_function("backward"):
                loss.backward()
            with record_function("finish_gradient_synchronization"):
                ddp.finish_gradient_synchronization()
        for p in model.parameters():
            p.grad = None
    if rank:
        return []
    events = prof.events()
    t0 = min(e.time_range.start for e in events)
    rows = []
    for e in events:
        name = e.name
        kind = ("all_reduce" if "all_reduce" in name or "allreduce" in name else
                "backward" if name == "backward" else
                "wait" if name == "finish_gradient_synchronization" else None)
        if kind:
            rows.append((kind, (e.time_range.start - t0) / 1e3,
                         (e.time_range.end - e.time_range.start) / 1e3))
    return rows


# --- pictures ---------------------------------------------------------------------------------


def plot_collectives(world_size: int = 4):
    """Who holds what before and after broadcast, all-reduce, all-gather and reduce-scatter."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    p = world_size
    colors = plt.cm.tab10.colors
    # per collective: (before, after), each a list per rank of cells; a cell is a list of
    # contributing ranks (colors) or None (empty)
    full = list(range(p))
    views = {
        "broadcast (from rank 0)": ([[[0]] * p if r == 0 else [None] * p for r in range(p)],
                                    [[[0]] * p for _ in range(p)]),
        "all-reduce": ([[[r]] * p for r in range(p)], [[full] * p for _ in range(p)]),
        "all-gather": ([[[r] if c == r else None for c in range(p)] for r in range(p)],
                       [[[c] for c in range(p)] for _ in range(p)]),
        "reduce-scatter": ([[[r]] * p for r in range(p)],
                           [[full if c == r else None for c in range(p)] for r in range(p)]),
    }
    fig, axes = plt.subplots(len(views), 2, figsize=(8, 1.1 * p * len(views) / 2 + 1))
    for row, (title, pair) in enumerate(views.items()):
        for col, cells in enumerate(pair):
            ax = axes[row, col]
            for r in range(p):
                for c in range(p):
                    who = cells[r][c]
                    if who is None:
                        ax.add_patch(Rectangle((c, p - 1 - r), 0.9, 0.9, fill=False, ec="0.7"))
                        continue
                    for k, w in enumerate(who):   # stripes: one per contributing rank
                        ax.add_patch(Rectangle((c + 0.9 * k / len(who), p - 1 - r),
                                               0.9 / len(who), 0.9, color=colors[w]))
                ax.text(-0.2, p - 1 - r + 0.45, f"rank {r}", ha="right", va="center", fontsize=8)
            ax.set_xlim(-1.2, p)
            ax.set_ylim(0, p)
            ax.axis("off")
            ax.set_title(f"{title}: {'before' if col == 0 else 'after'}", fontsize=9)
    fig.suptitle("chunk c of each rank's tensor; colour = whose data it holds (stripes: a sum)",
                 fontsize=9)
    fig.tight_layout()
    return fig


def plot_bandwidth(sizes_mb, bus_bw_gbs: dict, title: str):
    """Bus bandwidth (GB/s) against all-reduce size, one line per world size."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    for label, bw in bus_bw_gbs.items():
        ax.plot(sizes_mb, bw, "o-", label=label)
    ax.set_xscale("log")
    ax.set_xlabel("all-reduce size per rank (MiB)")
    ax.set_ylabel("bus bandwidth (GB/s)")
    ax.set_title(title)
    ax.legend()
    ax.grid(alpha=0.3)
    return fig


def plot_timeline(rows: list, title: str):
    """The profiler rows of ``profile_job``: backward, all-reduce work and the final wait."""
    import matplotlib.pyplot as plt

    lanes = {"backward": 2, "all_reduce": 1, "wait": 0}
    colors = {"backward": "tab:blue", "all_reduce": "tab:orange", "wait": "tab:red"}
    fig, ax = plt.subplots(figsize=(8, 2.2))
    for kind, start, dur in rows:
        ax.broken_barh([(start, max(dur, 0.02))], (lanes[kind] - 0.4, 0.8), color=colors[kind],
                       alpha=0.7)
    ax.set_yticks(list(lanes.values()), list(lanes.keys()))
    ax.set_xlabel("time (ms), rank 0")
    ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_step_times(results: dict, title: str):
    """Stacked bars: compute (step minus sync) and synchronization wait per variant."""
    import matplotlib.pyplot as plt

    names = list(results)
    step = [results[n]["step_s"] * 1e3 for n in names]
    wait = [results[n]["sync_s"] * 1e3 for n in names]
    fig, ax = plt.subplots(figsize=(8, 3))
    ax.bar(names, [s - w for s, w in zip(step, wait)], label="compute + optimizer")
    ax.bar(names, wait, bottom=[s - w for s, w in zip(step, wait)], label="waiting for gradients")
    ax.set_ylabel("ms per step")
    ax.set_title(title)
    ax.tick_params(axis="x", rotation=20)
    ax.legend()
    fig.tight_layout()
    return fig


def optimizer_state_job(sharded_cls=None, kind="lm", seed: int = 0) -> dict:
    """Bytes of optimizer state on this rank after one AdamW step (``sharded_cls`` wraps
    AdamW when given), and the parameters' bytes, from ``state_dict()["state"]``."""
    model = make_model(kind, seed)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = make_optimizer(params, "sharded" if sharded_cls else "adamw", sharded_cls)
    x, y = make_batch(kind, seed, 4)
    loss_fn(kind, model(x), y).backward()
    opt.step()
    state_ = opt.state_dict()["state"]
    nbytes = sum(v.numel() * v.element_size() for s in state_.values() for v in s.values()
                 if torch.is_tensor(v) and v.dim() > 0)
    return {"state_bytes": nbytes, "param_bytes": sum(p.numel() * p.element_size() for p in params)}


def broadcast_job(broadcast, kind="tied", src: int = 0) -> dict:
    """A different model on each rank (seed = rank), then ``broadcast(model, src=src)``."""
    model = make_model(kind, seed=dist.get_rank())
    broadcast(model, src=src)
    return state(model)


class TorchDDP(nn.Module):
    """PyTorch's ``DistributedDataParallel`` behind this lesson's interface (its gradients are
    averaged inside ``backward``, so ``finish_gradient_synchronization`` has nothing to do)."""

    def __init__(self, module: nn.Module, **kwargs):
        super().__init__()
        from torch.nn.parallel import DistributedDataParallel

        self.module = module
        self.ddp = DistributedDataParallel(module, **kwargs)

    def forward(self, *args, **kwargs):
        return self.ddp(*args, **kwargs)

    def finish_gradient_synchronization(self) -> None:
        pass
