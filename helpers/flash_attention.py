"""Lesson 04's harness: the tests' tools, the plumbing around the Triton kernels, and the
measuring harness (attention kernels timed against PyTorch's, and training steps of lesson
02's model at long context with each attention backend, GPU only).

- Tests' tools: ``make_qkv`` (seeded inputs), ``oracle`` (PyTorch's attention in float64, with
  gradients), ``check_close`` (names the tensor, the worst element and a hint), ``TOLERANCES``
  per dtype (float32 gets float16's on a GPU: ``tl.dot`` rounds float32 to TF32 there),
  ``hide_future`` (the causal mask), ``nan_after`` (NaN sentinels for skipped tiles) and
  ``backward_case`` (inputs and expected gradients that do not depend on the student's
  forward).
- Plumbing the lesson's wrappers call (students do not write it): ``check_inputs``,
  ``flatten_heads``, ``num_stages`` and ``backward_inputs`` (D = rowsum(dO * O)).
- ``compare_attention(impls, seq_lens)``: forward + backward of each ``fn(q, k, v, causal)``
  with ``triton.testing.do_bench`` (median ms, L2 flushed) at 16k tokens per call, printed
  and plotted in TFLOP/s; the FLOPs are ``attention_flops``'s formula.
- ``compare_training_steps(backends, seq_lens, ...)``: ms per training step (forward,
  backward, AdamW, bf16 autocast) and peak GPU memory per backend, printed and plotted.
- ``show_recorded()``: without a GPU, the numbers ``benchmarks/flash_attention.py`` recorded.
- The kernels come from the caller (the lesson's notebook): nothing here answers an exercise.

Used by ``solutions/04_flash_attention.ipynb``; its timings run at full scale on a GPU
(``python -m grader execute 04 -p scale full``).
Test: ``python -m pytest grader/tests/test_flash_attention_harness.py -q``.
"""
from __future__ import annotations

import math
import os
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
DEVICE = "cuda" if torch.cuda.is_available() else "cpu"

# --- the tests' tools ---------------------------------------------------------------------------

# (atol, rtol) per dtype, set a few times above the errors seen on N(0, 1) inputs
TOLERANCES = {
    torch.float64: (1e-9, 1e-9),
    torch.float32: (5e-3, 5e-3) if DEVICE == "cuda" else (2e-5, 1e-4),
    torch.float16: (5e-3, 5e-3),
    torch.bfloat16: (3e-2, 3e-2),
}
GRAD_TOLERANCES = {dtype: (2 * a, 2 * r) for dtype, (a, r) in TOLERANCES.items()}


def make_qkv(*shape, dtype=torch.float32, seed=0, device=DEVICE, requires_grad=False):
    """Q, K, V of shape ``shape`` = (batch, [heads,] seq, d), standard normal."""
    gen = torch.Generator(device="cpu").manual_seed(seed)
    return tuple(torch.randn(*shape, generator=gen, dtype=torch.float64)
                 .to(device=device, dtype=dtype).requires_grad_(requires_grad)
                 for _ in range(3))


def hide_future(S):
    """Scores (..., n_q, n_k) with -inf where key j > query i (the causal mask, top-left
    aligned)."""
    visible = torch.ones(S.shape[-2:], dtype=torch.bool, device=S.device).tril()
    return S.masked_fill(visible.logical_not(), float("-inf"))


def oracle(Q, K, V, is_causal=False, dO=None):
    """PyTorch's attention in float64 on the same (rounded) inputs: O, or (O, dQ, dK, dV)
    given dO."""
    q, k, v = (t.detach().double().requires_grad_() for t in (Q, K, V))
    O = F.scaled_dot_product_attention(q, k, v, is_causal=is_causal)
    if dO is None:
        return O.detach()
    O.backward(dO.double())
    return O.detach(), q.grad, k.grad, v.grad


def check_close(name, got, want, tol, hint=""):
    """assert_close with a message naming the tensor, the worst element and what to check."""
    atol, rtol = tol
    assert got.shape == want.shape, (
        f"{name}: shape {tuple(got.shape)}, expected {tuple(want.shape)}")
    err = (got.double() - want.double()).abs()
    bad = err > atol + rtol * want.double().abs()
    if bad.any() or not torch.isfinite(got).all():
        idx = tuple(int(i) for i in torch.nonzero(bad | ~torch.isfinite(got))[0])
        raise AssertionError(
            f"{name} differs at {idx}: got {float(got[idx]):.6g}, expected "
            f"{float(want[idx]):.6g} (max abs error {float(err.max()):.3g}; "
            f"{int(bad.sum())} of {bad.numel()} elements off). {hint}")


def nan_after(V, row):
    """A copy of V whose rows ``row:`` (keys) are NaN."""
    V = V.detach().clone()
    V[..., row:, :] = float("nan")
    return V


def backward_case(*shape, dtype=torch.float32, is_causal=False, seed=0, device=DEVICE):
    """Inputs (Q, K, V, O, L, dO), with the oracle's O and L and a random dO, and the oracle's
    (dQ, dK, dV): backward tests that do not depend on the student's forward."""
    Q, K, V = make_qkv(*shape, dtype=dtype, seed=seed, device=device)
    dO = torch.randn(*shape, generator=torch.Generator().manual_seed(seed + 1)).to(device, dtype)
    S = Q.double() @ K.double().transpose(-2, -1) / math.sqrt(shape[-1])
    if is_causal:
        S = hide_future(S)
    O, L = (torch.softmax(S, -1) @ V.double()).to(dtype), torch.logsumexp(S, -1).float()
    return (Q, K, V, O, L, dO), oracle(Q, K, V, is_causal, dO)[1:]


# --- plumbing of the lesson's Triton wrappers ---------------------------------------------------

def check_inputs(Q, K, V):
    """Shapes, dtypes and devices the lesson's Triton kernels accept; clear errors otherwise."""
    if Q.dim() not in (3, 4) or K.shape != V.shape or Q.shape[:-2] != K.shape[:-2] \
            or Q.shape[-1] != K.shape[-1]:
        raise ValueError(f"expected Q (..., n_q, d) and K, V (..., n_k, d), 3-D or 4-D; got "
                         f"{tuple(Q.shape)}, {tuple(K.shape)}, {tuple(V.shape)}")
    if Q.shape[-1] not in (16, 32, 64, 128):
        raise ValueError(f"head dim must be 16, 32, 64 or 128, got {Q.shape[-1]}")
    dtypes = (torch.float16, torch.bfloat16, torch.float32)
    if not (Q.dtype == K.dtype == V.dtype) or Q.dtype not in dtypes:
        raise ValueError(f"Q, K, V must share one dtype among fp16, bf16, fp32; got {Q.dtype}, "
                         f"{K.dtype}, {V.dtype}")
    if Q.device.type != "cuda" and os.environ.get("TRITON_INTERPRET", "0") != "1":
        raise RuntimeError("Triton kernels need a CUDA GPU, or TRITON_INTERPRET=1 set before "
                           "they are defined")


def flatten_heads(*tensors):
    """(batch, [heads,] seq, d) -> contiguous (batch*heads, seq, d) views or copies."""
    return tuple(t.reshape(-1, t.shape[-2], t.shape[-1]).contiguous() for t in tensors)


def num_stages(q):
    """Tile loads in flight per loop (software pipelining): 3, or 2 where fp32 rows of 128
    would not fit three 64-row tiles in shared memory."""
    return 2 if q.element_size() * q.shape[-1] > 256 else 3


def backward_inputs(Q, K, V, O, L, dO):
    """Flattened (BH, seq, d) q, k, v, dO of the backward kernels, with L and
    D = rowsum(dO * O) as (BH, n_q) float32."""
    q, k, v, do = flatten_heads(Q, K, V, dO)
    lse = L.reshape(q.shape[:2]).float().contiguous()
    delta = (dO.float() * O.float()).sum(-1).reshape(q.shape[:2]).contiguous()
    return q, k, v, do, lse, delta


# --- the measuring harness ----------------------------------------------------------------------


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
