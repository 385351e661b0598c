"""FlashAttention-2 in Triton, tuned: the production sibling of lesson 04's teaching kernels.

The teaching kernels (one readable forward kernel, a dK/dV and a dQ kernel) live in the lesson
itself, ``solutions/04_flash_attention.ipynb``, their single source. This module has the same
algorithm, vocabulary (``BLOCK_Q``, ``BLOCK_K``, ``D_HEAD``) and contract
(``FlashAttentionTriton.apply(Q, K, V, is_causal=False, options=None)``, saves exactly Q, K, V,
O, L; head dims 16/32/64/128; any sequence lengths). The kernels are in
``kernels/flash_attention_fast_kernels.py``; this module holds the configs and the wrapper.
What is added for speed:

- ``@triton.autotune`` over tile sizes, ``num_warps`` and ``num_stages``, keyed on the sequence
  length rounded to a power of two, the head dim, causality and the backward's dQ mode. Under
  the CPU interpreter, for fp32 inputs, or with ``FastOptions(autotune=False)``, one fixed
  config per kernel (``default_config``) is used instead.
- Causal: separate loops for the tiles left of the diagonal (no mask) and on it (masked); the
  forward launches the heaviest query tiles first.
- The backward's dQ, chosen per call by ``FastOptions.dq_mode`` (no module globals):
  ``"split"``: a dK/dV kernel over query tiles, then a dQ kernel over key tiles (7 products per
  tile pair, deterministic, as in the lesson); ``"atomic"``: one kernel that also adds each
  key tile's share of dQ into a float32 buffer with per-element atomics (5 products, FA-2's
  scheme); ``"tma"``: the same with one bulk reduction per tile through a tensor descriptor
  (Hopper's TMA, FlashAttention-3's scheme); ``"fused"``: both split kernels in one launch,
  program j doing key tile j's dK/dV and query tile j's dQ (equal work per program when
  causal). ``"auto"`` picks the measured winner ("split").
- ``FastOptions(tma_loads=True)``: the streamed tiles come through per-head tensor descriptors
  (Hopper's copy engine), which removes the register spills ptxas reports for the pointer
  loads; it measured no faster on an H100 with Triton 3.6, so it is off by default.
- Inputs are made contiguous (batch*heads, seq, d_head), so strides are compile-time constants.

Tests: ``pytest grader/tests/test_flash_attention.py``; benchmark:
``python -m benchmarks.flash_attention`` (results and every tuning attempt:
``benchmarks/results/flash_attention.md``).
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import triton

from helpers.flash_attention import check_inputs  # the lesson's: shapes, dtypes, device
from kernels import flash_attention_fast_kernels as kern

ANSWERS = ("04_flash_attention",)  # grader.release: not shipped before lesson 04 is done

INTERPRET = os.environ.get("TRITON_INTERPRET", "0") == "1"
LOG2E = kern.LOG2E.value  # log2(e): scores are scaled into base 2 for exp2
DQ_MODES = {"split": 0, "fused": 0, "atomic": 1, "tma": 2}  # the dK/dV kernel's DQ_MODE
# What "auto" means: the mode measured fastest on an H100 (benchmarks/results/flash_attention.md);
# "fused" and "tma" are tested but not yet timed on a GPU.
AUTO_DQ_MODE = "split"


@dataclass(frozen=True)
class FastOptions:
    """How the fast kernel runs; pass one as ``FlashAttentionTriton.apply``'s 5th argument.

    ``dq_mode``: "auto", "split", "fused", "atomic" or "tma" (see the module docstring); "tma" falls
    back to "atomic" where it cannot run (CPU interpreter, or N_QUERIES not a multiple of 128).
    ``tma_loads``: load the streamed tiles (K, V in the forward and dQ kernels; Q, dO in the
    dK/dV kernel) through per-head tensor descriptors: Hopper's copy engine (TMA) fetches whole
    tiles and zero-fills rows past the sequence, so no per-thread addresses or masks.
    ``autotune``: autotune fp16/bf16 launches (False: ``default_config``, one compile each)."""

    dq_mode: str = "auto"
    tma_loads: bool = False  # measured no faster on an H100 (attempt 9 in benchmarks/results)
    autotune: bool = not INTERPRET

    def __post_init__(self):
        if self.dq_mode != "auto" and self.dq_mode not in DQ_MODES:
            raise ValueError(f"dq_mode must be 'auto' or one of {sorted(DQ_MODES)}, "
                             f"got {self.dq_mode!r}")

    def resolved_dq_mode(self) -> str:
        mode = AUTO_DQ_MODE if self.dq_mode == "auto" else self.dq_mode
        return "atomic" if mode == "tma" and INTERPRET else mode


# ---------------------------------------------------------------------------------------------
# Configs
# ---------------------------------------------------------------------------------------------


def _set_descriptor_blocks(nargs):
    """Autotuner pre-hook: a tensor descriptor's block is the tile of the config being run."""
    if nargs.get("dQ_desc") is not None:
        nargs["dQ_desc"].block_shape = [nargs["BLOCK_Q"], nargs["D_HEAD"]]


def _config(block_q, block_k, warps, stages):
    return triton.Config({"BLOCK_Q": block_q, "BLOCK_K": block_k}, num_warps=warps,
                         num_stages=stages, pre_hook=_set_descriptor_blocks)


# Forward and dQ: BLOCK_Q queries per program, BLOCK_K keys per step (BLOCK_Q % BLOCK_K == 0).
FWD_CONFIGS = [_config(128, 64, 8, 3), _config(128, 64, 8, 4), _config(128, 64, 4, 3),
               _config(128, 64, 4, 4), _config(128, 128, 8, 3), _config(64, 64, 4, 3),
               _config(64, 64, 4, 4), _config(64, 64, 4, 2)]
# dK/dV: BLOCK_K keys per program, BLOCK_Q queries per step (BLOCK_K % BLOCK_Q == 0). Without
# (32, 128, 4 warps): it spills 600-900 bytes of registers a thread (ptxas, sm_90).
BWD_CONFIGS = [_config(64, 128, 8, 3), _config(64, 128, 8, 2), _config(32, 128, 8, 3),
               _config(32, 64, 4, 3), _config(64, 64, 4, 3), _config(64, 64, 4, 2),
               _config(64, 64, 4, 4), _config(64, 64, 8, 3)]
# Under the interpreter: ratio 2 between the tiles exercises the diagonal loops.
INTERPRET_CONFIG = {"fwd": _config(64, 32, 4, 1), "bwd": _config(32, 64, 4, 1)}


def default_config(kind: str, d_head: int, elem_bytes: int = 2) -> triton.Config:
    """The config used without autotuning (the interpreter, fp32 inputs, autotune=False)."""
    if INTERPRET:
        return INTERPRET_CONFIG[kind]
    if elem_bytes == 4:  # fp32 tiles are twice as big: small tiles, 2 stages fit d_head 128
        return _config(64, 32, 4, 2) if kind == "fwd" else _config(32, 64, 8, 2)
    return _config(128, 64, 8, 3) if kind == "fwd" else _config(64, 64, 4, 3)


def _configs(kind):
    if INTERPRET:
        return [INTERPRET_CONFIG[kind]]
    return FWD_CONFIGS if kind == "fwd" else BWD_CONFIGS


def _prune(configs, named_args, **kwargs):
    """d_head = 128 doubles registers and shared memory per tile: drop the largest tiles."""
    d_head = kwargs.get("D_HEAD", named_args.get("D_HEAD"))
    kept = [c for c in configs
            if d_head < 128 or c.kwargs["BLOCK_Q"] * c.kwargs["BLOCK_K"] <= 128 * 64]
    return kept or configs


_PRUNE = {"early_config_prune": _prune}
_KEY = ["N_CTX_KEY", "D_HEAD", "IS_CAUSAL", "TMA_LOADS"]  # N_CTX_KEY: seq rounded to a power of 2
attn_fwd = triton.autotune(_configs("fwd"), key=_KEY, prune_configs_by=_PRUNE)(kern.attn_fwd)
# reset_to_zero: with DQ_MODE 1 or 2, dQ accumulates, so the autotuner zeroes it before each run.
attn_bwd_dkdv = triton.autotune(_configs("bwd"), key=_KEY + ["DQ_MODE"], prune_configs_by=_PRUNE,
                                reset_to_zero=["dQ_ptr"])(kern.attn_bwd_dkdv)
attn_bwd_dq = triton.autotune(_configs("fwd"), key=_KEY, prune_configs_by=_PRUNE)(kern.attn_bwd_dq)
attn_bwd_fused = triton.autotune(_configs("bwd"), key=_KEY,
                                 prune_configs_by=_PRUNE)(kern.attn_bwd_fused)
AUTOTUNED = (attn_fwd, attn_bwd_dkdv, attn_bwd_dq, attn_bwd_fused)

# ---------------------------------------------------------------------------------------------
# Wrapper
# ---------------------------------------------------------------------------------------------


def _launch(kernel, grid_of, args, kind, d_head, elem_bytes, options, **meta):
    """Launch through the autotuner (fp16/bf16), or with default_config() otherwise."""
    if options.autotune and elem_bytes == 2 and not INTERPRET:
        kernel[lambda m: grid_of(m["BLOCK_Q"], m["BLOCK_K"])](*args, **meta)
        return
    cfg = default_config(kind, d_head, elem_bytes)
    named = dict(zip(kernel.fn.arg_names, args))
    _set_descriptor_blocks({**named, **meta, **cfg.kwargs})
    grid = grid_of(cfg.kwargs["BLOCK_Q"], cfg.kwargs["BLOCK_K"])
    kernel.fn[grid](*args, **meta, **cfg.kwargs, num_warps=cfg.num_warps,
                    num_stages=cfg.num_stages)


def _scratch(size: int, alignment: int, stream):
    """Global memory where the kernels write their device-side tensor descriptors."""
    return torch.empty(size, dtype=torch.int8, device="cuda")


def _dq_descriptor(dq32, d_head):
    """dQ's float32 accumulator as a (BH * N_QUERIES, D_HEAD) tensor descriptor; the launch
    sets its block to the config's (BLOCK_Q, D_HEAD)."""
    from triton.tools.tensor_descriptor import TensorDescriptor
    flat = dq32.view(-1, d_head)
    return TensorDescriptor(flat, list(flat.shape), [d_head, 1], [64, d_head])


class FlashAttentionTriton(torch.autograd.Function):
    """Tuned FlashAttention-2: ``FlashAttentionTriton.apply(Q, K, V, is_causal=False,
    options=None)`` (``options``: a ``FastOptions``; None means the defaults)."""

    @staticmethod
    def forward(ctx, Q, K, V, is_causal=False, options=None):
        options = options or FastOptions()
        check_inputs(Q, K, V)
        if options.tma_loads and not INTERPRET:
            triton.set_allocator(_scratch)
        n_q, n_k, d = Q.shape[-2], K.shape[-2], Q.shape[-1]
        q, k, v = (t.reshape(-1, t.shape[-2], d).contiguous() for t in (Q, K, V))  # (BH, seq, d)
        bh = q.shape[0]
        o = torch.empty_like(q)
        lse = torch.empty((bh, n_q), dtype=torch.float32, device=q.device)  # (BH, n_q)
        _launch(attn_fwd, lambda bq, bk: (triton.cdiv(n_q, bq), bh),
                (q, k, v, o, lse, n_q, n_k, triton.next_power_of_2(n_q), d**-0.5 * LOG2E),
                "fwd", d, q.element_size(), options, D_HEAD=d, IS_CAUSAL=is_causal,
                TMA_LOADS=options.tma_loads)
        O, L = o.view(Q.shape), lse.view(Q.shape[:-1])  # L: (batch, [heads,] n_q)
        ctx.save_for_backward(Q, K, V, O, L)
        ctx.is_causal, ctx.options = is_causal, options
        return O

    @staticmethod
    def backward(ctx, dO):
        Q, K, V, O, L = ctx.saved_tensors
        if ctx.options.tma_loads and not INTERPRET:  # a context variable: autograd's thread too
            triton.set_allocator(_scratch)
        n_q, n_k, d = Q.shape[-2], K.shape[-2], Q.shape[-1]
        q, k, v, o, do = (t.reshape(-1, t.shape[-2], d).contiguous() for t in (Q, K, V, O, dO))
        bh = q.shape[0]
        lse = L.reshape(bh, n_q)
        delta = torch.empty_like(lse)  # (BH, n_q)
        block = 64 if INTERPRET else 128  # rows per preprocess program (cheap, memory-bound)
        kern.bwd_preprocess[(triton.cdiv(n_q, block), bh)](o, do, delta, n_q, D_HEAD=d, BLOCK=block)
        dk, dv = torch.empty_like(k), torch.empty_like(v)
        mode = ctx.options.resolved_dq_mode()
        even_q = n_q % 128 == 0
        if mode == "fused":
            dq = torch.empty_like(q)
            _launch(attn_bwd_fused, lambda bq, bk: (triton.cdiv(max(n_q, n_k), bk), bh),
                    (q, k, v, do, lse, delta, dk, dv, dq, n_q, n_k, triton.next_power_of_2(n_q),
                     d**-0.5 * LOG2E, d**-0.5), "bwd", d, q.element_size(), ctx.options, D_HEAD=d,
                    IS_CAUSAL=ctx.is_causal, EVEN_Q=n_q % 128 == 0, TMA_LOADS=ctx.options.tma_loads)
            return dq.view(Q.shape), dk.view(K.shape), dv.view(V.shape), None, None
        if mode == "split":
            dq, desc = torch.empty_like(q), None  # written by the dQ kernel
        else:  # float32 accumulator for the atomic adds (zeroed)
            dq = torch.zeros(q.shape, dtype=torch.float32, device=q.device)
            desc = _dq_descriptor(dq, d) if mode == "tma" and even_q else None
        ctx_key = triton.next_power_of_2(n_q)
        scales = (d**-0.5 * LOG2E, d**-0.5)
        _launch(attn_bwd_dkdv, lambda bq, bk: (triton.cdiv(n_k, bk), bh),
                (q, k, v, do, lse, delta, dk, dv, dq, desc, n_q, n_k, ctx_key, *scales),
                "bwd", d, q.element_size(), ctx.options, D_HEAD=d, IS_CAUSAL=ctx.is_causal,
                DQ_MODE=DQ_MODES[mode], EVEN_Q=even_q, TMA_LOADS=ctx.options.tma_loads)
        if mode == "split":
            _launch(attn_bwd_dq, lambda bq, bk: (triton.cdiv(n_q, bq), bh),
                    (q, k, v, do, lse, delta, dq, n_q, n_k, ctx_key, *scales),
                    "fwd", d, q.element_size(), ctx.options, D_HEAD=d, IS_CAUSAL=ctx.is_causal,
                    TMA_LOADS=ctx.options.tma_loads)
        else:
            dq = dq.to(q.dtype)  # the kernel already applied 1/sqrt(d)
        return dq.view(Q.shape), dk.view(K.shape), dv.view(V.shape), None, None


def flash_attention(Q, K, V, is_causal=False, **options):
    """``FlashAttentionTriton.apply`` with keyword options (see ``FastOptions``)."""
    return FlashAttentionTriton.apply(Q, K, V, is_causal, FastOptions(**options))
