"""Lesson 04's measuring harness: attention kernels timed against PyTorch's, and training
steps of lesson 02's model at long context with each attention backend (GPU only).

- ``compare_attention(impls, seq_lens)``: forward + backward of each ``fn(q, k, v, causal)``
  with ``triton.testing.do_bench`` (median ms, L2 flushed) at 16k tokens per call, printed
  and plotted in TFLOP/s; the FLOPs are ``attention_flops``'s formula.
- ``compare_training_steps(backends, seq_lens, ...)``: ms per training step (forward,
  backward, AdamW, bf16 autocast) and peak GPU memory per backend, printed and plotted.
- ``show_recorded()``: without a GPU, the numbers ``benchmarks/flash_attention.py`` recorded.
- The kernels come from the caller (the lesson's notebook): nothing here answers an exercise.

Used by ``solutions/04_flash_attention.ipynb``; run at full scale on a GPU
(``python -m grader execute 04 -p scale full``).
Test: ``python -m pytest grader/tests/test_flash_attention_harness.py -q``.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from pathlib import Path

import torch
import torch.nn.functional as F

from helpers.env import REPO_ROOT

# The long-context model of the GPU comparison: lesson 02's architecture, 4 layers of d_model
# 1024 with 16 heads of 64 (its context is set per run).
LONG_CONTEXT_MODEL = dict(vocab_size=10_000, d_model=1024, num_layers=4, num_heads=16, d_ff=2752)
TOKENS = 16_384  # tokens per timed call: batch = TOKENS // seq
HEADS, D_HEAD = 16, 64


def attention_flops(batch, heads, seq, d, causal, mode):
    """Matmul FLOPs: forward 4 B H N^2 d (QK^T and PV; halved by a causal mask), backward
    2.5x (five products, one recomputed)."""
    fwd = 4 * batch * heads * seq * seq * d / (2 if causal else 1)
    return {"fwd": fwd, "bwd": 2.5 * fwd, "fwd+bwd": 3.5 * fwd}[mode]


def sdpa_with(backend) -> Callable:
    """``F.scaled_dot_product_attention`` pinned to one backend (``SDPBackend.*``)."""
    from torch.nn.attention import sdpa_kernel

    def attend(q, k, v, causal):
        with sdpa_kernel(backend):
            return F.scaled_dot_product_attention(q, k, v, is_causal=causal)

    return attend


def bench_attention(fn, batch, heads, seq, d, causal, mode="fwd+bwd"):
    """Median ms of fn(q, k, v, causal) (forward, backward or both) on bf16 CUDA inputs with
    do_bench; None if out of memory."""
    from triton.testing import do_bench

    try:
        q, k, v = (torch.randn(batch, heads, seq, d, device="cuda", dtype=torch.bfloat16,
                               requires_grad=True) for _ in range(3))
        if mode == "fwd":
            return do_bench(lambda: fn(q, k, v, causal))
        out = fn(q, k, v, causal)
        dout = torch.randn_like(out)
        if mode == "bwd":
            return do_bench(lambda: out.backward(dout, retain_graph=True), grad_to_none=[q, k, v])
        return do_bench(lambda: fn(q, k, v, causal).backward(dout), grad_to_none=[q, k, v])
    except torch.OutOfMemoryError:
        return None
    finally:
        torch.cuda.empty_cache()


def compare_attention(impls: dict[str, Callable], seq_lens: Iterable[int]) -> dict:
    """Time causal fwd+bwd of each implementation at each sequence length (16 heads of 64,
    bf16, 16k tokens per call); print a row per length and plot TFLOP/s. Returns
    ``{(name, seq): ms or None}``."""
    import matplotlib.pyplot as plt

    seq_lens = list(seq_lens)
    memory = torch.cuda.get_device_properties(0).total_memory
    results = {}
    for seq in seq_lens:
        batch = max(1, TOKENS // seq)
        for name, fn in impls.items():
            # naive would not fit: ~6 (seq x seq) bf16 tensors per head
            if name.startswith("naive") and batch * HEADS * seq * seq * 2 * 6 > 0.5 * memory:
                continue
            results[name, seq] = bench_attention(fn, batch, HEADS, seq, D_HEAD, causal=True)
        row = ", ".join(f"{n} {results.get((n, seq)) or float('nan'):.3f} ms" for n in impls)
        print(f"seq {seq:>6}: {row}")
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    for name in impls:
        pts = [(s, attention_flops(max(1, TOKENS // s), HEADS, s, D_HEAD, True, "fwd+bwd")
                / (results[name, s] * 1e-3) / 1e12)
               for s in seq_lens if results.get((name, s))]
        if pts:
            ax.plot(*zip(*pts), "o-", label=name)
    ax.set(xlabel="sequence length (batch x seq = 16k tokens)", ylabel="TFLOP/s",
           title=f"causal attention fwd+bwd, 16 heads, d 64, bf16 "
                 f"({torch.cuda.get_device_name()})")
    ax.set_xscale("log", base=2)
    ax.legend(fontsize=8)
    plt.show()
    return results


def show_recorded(path: Path = REPO_ROOT / "benchmarks" / "results" / "flash_attention.md"):
    """Without a GPU: display the timings ``benchmarks/flash_attention.py`` recorded."""
    if not path.exists():
        print("No GPU here: run this lesson with scale='full' on a GPU to time the kernels.")
        return
    from IPython.display import Markdown, display

    text = path.read_text()
    print("No GPU here: timings need one. Recorded by benchmarks/flash_attention.py:")
    display(Markdown(text[: text.index("## Correctness")]))


def training_step_stats(backend, seq, model_cfg, tokens_per_step, device, steps=5, seed=0):
    """Median seconds per training step (forward, backward, AdamW; bf16 autocast on a GPU) of
    ReferenceLM with attention ``backend``, and its peak GPU memory in GB: (None, None) if it
    runs out of memory."""
    from helpers.reference.model import ReferenceLM

    torch.manual_seed(seed)
    model = ReferenceLM(model_cfg, attn_backend=backend).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=device == "cuda")
    batch = max(1, tokens_per_step // seq)
    ids = torch.randint(0, model_cfg.vocab_size, (batch, seq + 1), device=device)
    times = []
    if device == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    try:
        for _ in range(steps + 2):  # two warm-up steps (compilation, autotuning)
            t0 = time.perf_counter()
            with torch.autocast(device, dtype=torch.bfloat16, enabled=device == "cuda"):
                logits = model(ids[:, :-1])
            F.cross_entropy(logits.float().flatten(0, 1), ids[:, 1:].flatten()).backward()
            opt.step()
            opt.zero_grad(set_to_none=True)
            if device == "cuda":
                torch.cuda.synchronize()
            times.append(time.perf_counter() - t0)
    except torch.OutOfMemoryError:
        return None, None
    finally:
        del model, opt
    peak = torch.cuda.max_memory_allocated() / 1e9 if device == "cuda" else float("nan")
    return sorted(times[2:])[len(times[2:]) // 2], peak


def compare_training_steps(backends: Iterable[str], seq_lens: Iterable[int],
                           tokens_per_step: int, device: str, seed: int = 0) -> dict:
    """``training_step_stats`` of ``LONG_CONTEXT_MODEL`` per backend and context; printed and
    plotted (time and peak memory). Returns ``{(backend, seq): (seconds, GB)}``."""
    import matplotlib.pyplot as plt

    from helpers.reference.model import ModelConfig

    backends, seq_lens = list(backends), list(seq_lens)
    stats = {}
    for seq in seq_lens:
        for backend in backends:
            model_cfg = ModelConfig(context_length=seq, **LONG_CONTEXT_MODEL)
            stats[backend, seq] = training_step_stats(backend, seq, model_cfg, tokens_per_step,
                                                      device, seed=seed)
            s, gb = stats[backend, seq]
            shown = "out of memory" if s is None else \
                f"{s * 1e3:8.1f} ms/step, peak {gb:5.1f} GB"
            print(f"seq {seq:>6} {backend:>12}: {shown}")
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for backend in backends:
        ok = [s for s in seq_lens if stats[backend, s][0] is not None]
        axes[0].plot(ok, [stats[backend, s][0] * 1e3 for s in ok], "o-", label=backend)
        axes[1].plot(ok, [stats[backend, s][1] for s in ok], "o-", label=backend)
    context = "context (batch x seq = 16k tokens)"
    axes[0].set(xlabel=context, ylabel="ms per training step")
    axes[1].set(xlabel=context, ylabel="peak GPU memory (GB)")
    for ax in axes:
        ax.set_xscale("log", base=2)
        ax.legend(fontsize=8)
    fig.suptitle(f"4-layer, d_model 1024 LM, bf16, {torch.cuda.get_device_name()}")
    plt.show()
    return stats
