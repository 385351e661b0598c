"""Measuring what a training step costs: memory (on any device), FLOP/s and bandwidth ceilings,
and the training step that lesson 03 measures.

- ``MemoryTracker`` follows every tensor storage that PyTorch allocates inside a ``with``
  block (a ``TorchDispatchMode`` sees each operator's outputs; a storage counts until its last
  reference dies), so it gives peak memory and a timeline **on a CPU too**, where PyTorch has
  no ``max_memory_allocated``. On a GPU it agrees with the caching allocator's count up to
  rounding and workspace buffers; ``peak_memory`` uses the real counter there.
- ``saved_tensor_bytes`` sums the distinct storages autograd keeps for the backward pass
  (``torch.autograd.graph.saved_tensors_hooks``): the activations, measured exactly.
- ``peak_memory`` counts what a step allocates on top of what existed, plus the state you name
  (parameters, optimizer): the same quantity on a GPU and on a CPU.
- ``checkpointed_forward`` runs lesson 02's ``ReferenceLM`` with activation checkpointing of
  every block (``torch.utils.checkpoint``, non-reentrant).
- ``measure_ceilings`` measures the two numbers of a roofline on this machine: a large
  matmul's FLOP/s and a large copy's bytes/s (read + written).

Test: ``python -m pytest grader/tests/test_resource_accounting.py -q``.
"""
from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn
from torch.multiprocessing.reductions import StorageWeakRef
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten
from torch.utils.checkpoint import checkpoint


# ---------------------------------------------------------------------------------------------
# Memory
# ---------------------------------------------------------------------------------------------
class MemoryTracker(TorchDispatchMode):
    """Bytes of the tensor storages allocated inside the block and still alive, op by op.

    Attributes after the block: ``peak`` (bytes), ``current`` (bytes still alive at the end),
    ``timeline`` (list of (op name, bytes alive after it)). Only storages created inside the
    block count: parameters, or optimizer state created before it, are not included.
    """

    def __init__(self, device: str | None = None):
        super().__init__()
        self.device = device
        self.live: dict[int, tuple[StorageWeakRef, int]] = {}
        self.current = self.peak = 0
        self.timeline: list[tuple[str, int]] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        # freed since the last op
        for key in [k for k, (ref, _) in self.live.items() if ref.expired()]:
            self.current -= self.live.pop(key)[1]
        for t in tree_flatten(out)[0]:
            if isinstance(t, torch.Tensor) and (self.device is None
                                                or t.device.type == self.device):
                storage = t.untyped_storage()
                key = storage.data_ptr()
                # freed during the op, address reused
                if key in self.live and self.live[key][0].expired():
                    self.current -= self.live.pop(key)[1]
                if key and key not in self.live:
                    self.live[key] = (StorageWeakRef(storage), storage.nbytes())
                    self.current += storage.nbytes()
        self.peak = max(self.peak, self.current)
        self.timeline.append((str(func.overloadpacket.__name__), self.current))
        return out


def saved_tensor_bytes(fn: Callable[[], object],
                       exclude: nn.Module | None = None) -> tuple[object, int]:
    """Run ``fn()`` and measure what autograd saves for backward.

    Returns ``(fn's result, bytes)``: the bytes of the distinct storages saved, leaving out
    those of ``exclude``'s parameters and buffers (they exist anyway). Keep the result alive
    until you call backward.
    """
    known = set()
    if exclude is not None:
        known = {t.untyped_storage().data_ptr()
                 for t in (*exclude.parameters(), *exclude.buffers())}
    seen: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        storage = t.untyped_storage()
        if storage.data_ptr() not in known:
            seen.setdefault(storage.data_ptr(), storage.nbytes())
        # Not `t` itself: a saved output would then hold its own grad_fn, a reference cycle
        # that no garbage collection frees (the whole graph's activations would leak).
        return t.detach()

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        result = fn()
    return result, sum(seen.values())


def state_bytes(model: nn.Module, optimizer: torch.optim.Optimizer | None = None) -> dict[str, int]:
    """Bytes of the parameters, their gradients and the optimizer's state tensors, as they are."""
    params = list(model.parameters())
    state = optimizer.state.values() if optimizer is not None else []
    return {
        "parameters": sum(p.numel() * p.element_size() for p in params),
        "gradients": sum(p.grad.numel() * p.grad.element_size() for p in params
                         if p.grad is not None),
        "optimizer_state": sum(v.numel() * v.element_size() for s in state for v in s.values()
                               # the step counters are scalars
                               if torch.is_tensor(v) and v.dim() > 0),
    }


def peak_memory(step: Callable[[], object], device: str, persistent: int = 0) -> int:
    """Peak bytes that ``step()`` allocates on top of what existed, plus ``persistent`` (the
    parameters and optimizer state it works on, say), so that unrelated tensors alive at the
    time do not count.

    CUDA: from ``torch.cuda.max_memory_allocated`` minus ``memory_allocated`` before the step.
    Elsewhere: a ``MemoryTracker`` over the step.
    """
    if str(device).startswith("cuda"):
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        before = torch.cuda.memory_allocated(device)
        step()
        torch.cuda.synchronize(device)
        return torch.cuda.max_memory_allocated(device) - before + persistent
    tracker = MemoryTracker()
    with tracker:
        step()
    return tracker.peak + persistent


# ---------------------------------------------------------------------------------------------
# A training step of lesson 02's reference model
# ---------------------------------------------------------------------------------------------
def checkpointed_forward(model: nn.Module, token_ids: torch.Tensor,
                         early_stop: bool = True) -> torch.Tensor:
    """``model(token_ids)`` for a ``helpers.reference.model.ReferenceLM``, each block under
    activation checkpointing: only block inputs are saved, and each block runs again during
    backward.

    ``early_stop=False`` makes the recomputation run the whole block (PyTorch stops as soon as
    it has recomputed every saved tensor, which skips each block's last matmul).
    """
    seq = token_ids.shape[-1]
    cos, sin = model.rope_cos[:seq], model.rope_sin[:seq]
    x = model.token_embeddings(token_ids)  # (batch, seq, d_model)
    with torch.utils.checkpoint.set_checkpoint_early_stop(early_stop):
        for layer in model.layers:
            x = checkpoint(layer, x, cos, sin, use_reentrant=False)
    return model.lm_head(model.ln_final(x))  # (batch, seq, vocab_size)


def loss_fn(model: nn.Module, x: torch.Tensor, y: torch.Tensor,
            checkpointing: bool = False) -> torch.Tensor:
    """Mean next-token cross-entropy of ``model`` on (x, y), optionally checkpointed."""
    logits = checkpointed_forward(model, x) if checkpointing else model(x)
    return F.cross_entropy(logits.flatten(0, 1), y.flatten())


def make_train_step(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *,
                    dtype: torch.dtype = torch.float32,
                    checkpointing: bool = False,
                    lr: float = 1e-4) -> tuple[Callable[[], None], torch.optim.Optimizer]:
    """A closure that runs one training step (forward, backward, AdamW, zero_grad) on (x, y).

    ``dtype`` bfloat16 or float16 runs the forward under autocast (fp32 weights and optimizer);
    float16 also scales the loss (``torch.amp.GradScaler``).
    """
    device_type = x.device.type
    opt = torch.optim.AdamW(model.parameters(), lr=lr, fused=device_type == "cuda")
    scaler = torch.amp.GradScaler(device_type, enabled=dtype == torch.float16)

    def step() -> None:
        with torch.autocast(device_type, dtype=dtype, enabled=dtype != torch.float32):
            loss = loss_fn(model, x, y, checkpointing)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        opt.zero_grad(set_to_none=True)

    return step, opt


# ---------------------------------------------------------------------------------------------
# Ceilings of this machine
# ---------------------------------------------------------------------------------------------
def _time(fn: Callable[[], object], device: str, repeats: int) -> float:
    sync = torch.cuda.synchronize if str(device).startswith("cuda") else (lambda: None)
    fn()
    sync()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def measure_ceilings(device: str, dtype: torch.dtype = torch.float32, n: int | None = None,
                     copy_mb: int | None = None, repeats: int = 5) -> tuple[float, float]:
    """(matmul FLOP/s on n x n x n in ``dtype``, copy bandwidth in bytes/s counting read +
    write)."""
    cuda = str(device).startswith("cuda")
    n = n or (8192 if cuda else 512)
    copy_mb = copy_mb or (1024 if cuda else 64)
    g = torch.Generator(device="cpu").manual_seed(0)
    a = torch.randn(n, n, generator=g).to(device, dtype)  # random data: zeros can run faster
    b = torch.randn(n, n, generator=g).to(device, dtype)
    flops = 2 * n**3 / _time(lambda: a @ b, device, repeats)
    src = torch.randn(copy_mb * 2**20 // 4, generator=g).to(device)
    dst = torch.empty_like(src)
    bandwidth = 2 * src.numel() * 4 / _time(lambda: dst.copy_(src), device, repeats)
    return flops, bandwidth


# ---------------------------------------------------------------------------------------------
# Plots
# ---------------------------------------------------------------------------------------------
def plot_roofline(roofs: dict[str, tuple[float, float]], points: list[tuple[str, float, float]],
                  attainable: Callable, ax=None, title: str = "Roofline"):
    """Roofs ``{label: (peak FLOP/s, bytes/s)}`` drawn with ``attainable(intensity, peak, bw)``,
    and measured ``points`` ``[(label, FLOPs per byte, FLOP/s)]`` (one colour per label)."""
    import matplotlib.pyplot as plt
    import numpy as np

    ax = ax or plt.subplots(figsize=(8, 5))[1]
    lo = min([p[1] for p in points] + [0.05]) / 2
    hi = max([p[1] for p in points] + [peak / bw for peak, bw in roofs.values()]) * 4
    intensity = np.logspace(np.log10(lo), np.log10(hi), 200)
    for i, (label, (peak, bw)) in enumerate(roofs.items()):
        ax.plot(intensity, attainable(intensity, peak, bw), ls=("-", "--", ":")[i % 3], color="k",
                lw=1.2,
                label=f"{label}: {peak / 1e12:.3g} TFLOP/s, {bw / 1e9:.3g} GB/s")
    for j, label in enumerate(dict.fromkeys(p[0] for p in points)):
        xs, ys = zip(*[(p[1], p[2]) for p in points if p[0] == label])
        ax.plot(xs, ys, "o-", color=f"C{j}", label=f"measured: {label}")
    ax.set(xscale="log", yscale="log", xlabel="arithmetic intensity (FLOPs per byte)",
           ylabel="FLOP/s", title=title)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    return ax
