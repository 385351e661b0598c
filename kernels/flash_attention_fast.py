"""FlashAttention-2 in Triton, tuned: the production sibling of lesson 04's teaching kernels.

The teaching kernels (one readable forward kernel, a dK/dV and a dQ kernel) live in the lesson
itself, ``solutions/04_flash_attention.ipynb``, their single source. This file has the same
algorithm and contract (``FlashAttentionTriton.apply(Q, K, V, is_causal=False)``, saves
exactly Q, K, V, O, L; head dims 16/32/64/128; any sequence lengths). What is added for speed:

- ``@triton.autotune`` over tile sizes, ``num_warps`` and ``num_stages``, keyed on the sequence
  length rounded to a power of two, the head dim and causality. Under the CPU interpreter (and
  with ``AUTOTUNE = False``) one fixed config, the usual winner on an H200, is used instead.
- Causal: separate loops for the tiles left of the diagonal (no mask) and on it (masked); the
  forward launches the heaviest query tiles (those that see the most keys) first.
- Backward as in the lesson (a dK/dV kernel over query tiles, then a dQ kernel over key
  tiles: 7 matrix products per tile pair, deterministic), which measured faster on an H200
  than ``DQ_MODE = "atomic"``: one kernel that also adds each key tile's share of dQ into a
  float32 buffer with atomics (5 products, FA-2's own scheme; see benchmarks/results).
- Autotuning is for fp16/bf16; fp32 inputs (TF32 dots) use one small config that fits in
  shared memory at every head dim.
- Inputs are made contiguous (batch*heads, seq, d_head), so strides are compile-time constants.

Tests: ``pytest grader/tests/test_flash_attention.py``; benchmark: ``python -m benchmarks.flash_attention``.
"""
from __future__ import annotations

import os

import torch
import triton
import triton.language as tl

ANSWERS = ("04_flash_attention",)  # grader.release: not shipped before lesson 04 is done

INTERPRET = os.environ.get("TRITON_INTERPRET", "0") == "1"
# Kernels work in base 2: exp(x) = exp2(x * log2(e)), one instruction on the GPU's special-function
# unit. Scores are pre-multiplied by LOG2E; LN2 converts logs back. (Kernels may only read
# tl.constexpr globals.)
LOG2E = tl.constexpr(1.4426950408889634)  # log2(e) = 1 / ln 2
LN2 = tl.constexpr(0.6931471805599453)  # ln 2
AUTOTUNE = not INTERPRET  # False: use default_config() (tests flip this to save compile time)
DQ_MODE = "split"  # "split": a separate dQ kernel; "atomic": dQ added inside the dK/dV kernel


def _config(bm, bn, warps, stages):
    return triton.Config({"BLOCK_M": bm, "BLOCK_N": bn}, num_warps=warps, num_stages=stages)


# Forward: BLOCK_M queries per program, BLOCK_N keys per step (BLOCK_M % BLOCK_N == 0).
# Backward: BLOCK_N keys per program, BLOCK_M queries per step (BLOCK_N % BLOCK_M == 0).
FWD_CONFIGS = [_config(128, 64, 8, 3), _config(128, 64, 8, 4), _config(128, 64, 4, 3), _config(128, 64, 4, 4),
               _config(128, 128, 8, 3), _config(64, 64, 4, 3), _config(64, 64, 4, 4), _config(64, 64, 4, 2)]
BWD_CONFIGS = [_config(64, 128, 8, 3), _config(32, 128, 4, 3), _config(32, 64, 4, 3), _config(64, 64, 4, 3),
               _config(64, 64, 4, 2), _config(64, 64, 4, 4)]
INTERPRET_CONFIG = {"fwd": _config(64, 32, 4, 1), "bwd": _config(32, 64, 4, 1)}  # ratio 2 exercises the diagonal loops


def default_config(kind: str, d_head: int, elem_bytes: int = 2) -> triton.Config:
    """The config used without autotuning (the interpreter, fp32 inputs, or AUTOTUNE = False)."""
    if INTERPRET:
        return INTERPRET_CONFIG[kind]
    if elem_bytes == 4:  # fp32 tiles are twice as big: small tiles, 2 stages fit d_head 128 in shared memory
        return _config(64, 32, 4, 2) if kind == "fwd" else _config(32, 64, 8, 2)
    if kind == "fwd":
        return _config(128, 64, 8, 3)
    return _config(64, 64, 4, 3)


def _configs(kind):
    return [INTERPRET_CONFIG[kind]] if INTERPRET else (FWD_CONFIGS if kind == "fwd" else BWD_CONFIGS)


def _prune(configs, named_args, **kwargs):
    """d_head = 128 doubles registers and shared memory per tile: drop the largest tiles."""
    d_head = kwargs.get("HEAD_DIM", named_args.get("HEAD_DIM"))
    kept = [c for c in configs if d_head < 128 or c.kwargs["BLOCK_M"] * c.kwargs["BLOCK_N"] <= 128 * 64]
    return kept or configs


# ---------------------------------------------------------------------------------------------
# Forward
# ---------------------------------------------------------------------------------------------


@triton.jit
def _fwd_inner(acc, l_i, m_i, q, K_head, V_head, offs_m, lo, hi, N_K, qk_scale,
               HEAD_DIM: tl.constexpr, BLOCK_N: tl.constexpr, MASK: tl.constexpr, IS_CAUSAL: tl.constexpr):
    """Online softmax over key tiles [lo, hi); MASK=False: full tiles, unmasked loads, no score mask."""
    offs_n = tl.arange(0, BLOCK_N)
    offs_d = tl.arange(0, HEAD_DIM)
    k_ptrs = K_head + (lo + offs_n)[:, None] * HEAD_DIM + offs_d[None, :]  # (BLOCK_N, HEAD_DIM)
    v_ptrs = V_head + (lo + offs_n)[:, None] * HEAD_DIM + offs_d[None, :]
    for start_n in range(lo, hi, BLOCK_N):
        if MASK:
            k = tl.load(k_ptrs, mask=(start_n + offs_n)[:, None] < N_K, other=0.0)
        else:  # full tiles: unmasked loads
            k = tl.load(k_ptrs)
        qk = tl.dot(q, tl.trans(k))  # (BLOCK_M, BLOCK_N)
        if MASK:
            visible = (start_n + offs_n)[None, :] < N_K
            if IS_CAUSAL:
                visible = visible & ((start_n + offs_n)[None, :] <= offs_m[:, None])
            qk = tl.where(visible, qk * qk_scale, float("-inf"))
            m_new = tl.maximum(m_i, tl.max(qk, 1))
            qk = qk - m_new[:, None]
        else:
            m_new = tl.maximum(m_i, tl.max(qk, 1) * qk_scale)
            qk = qk * qk_scale - m_new[:, None]  # one FMA per score
        p = tl.exp2(qk)
        alpha = tl.exp2(m_i - m_new)
        l_i = l_i * alpha + tl.sum(p, 1)
        if MASK:
            v = tl.load(v_ptrs, mask=(start_n + offs_n)[:, None] < N_K, other=0.0)
        else:
            v = tl.load(v_ptrs)
        acc = tl.dot(p.to(v.dtype), v, acc * alpha[:, None])
        m_i = m_new
        k_ptrs += BLOCK_N * HEAD_DIM
        v_ptrs += BLOCK_N * HEAD_DIM
    return acc, l_i, m_i


@triton.autotune(configs=_configs("fwd"), key=["N_CTX_KEY", "HEAD_DIM", "IS_CAUSAL"],
                 prune_configs_by={"early_config_prune": _prune})
@triton.jit
def _attn_fwd(
    Q, K, V, O,  # *T contiguous (BH, N_Q | N_K, HEAD_DIM)
    L,  # *fp32 (BH, N_Q): logsumexp of scaled scores, natural log
    N_Q, N_K,  # sequence lengths
    N_CTX_KEY,  # next power of two of N_Q: the autotuning key (not used in the body)
    qk_scale,  # (1 / sqrt(HEAD_DIM)) * log2(e)
    HEAD_DIM: tl.constexpr, IS_CAUSAL: tl.constexpr,
    BLOCK_M: tl.constexpr,  # queries per program (from the autotuner)
    BLOCK_N: tl.constexpr,  # keys per step
):
    tl.static_assert(BLOCK_M % BLOCK_N == 0)
    if IS_CAUSAL:  # the last query tiles see the most keys: launch them first (less tail)
        pid_m = tl.num_programs(0) - 1 - tl.program_id(0)
    else:
        pid_m = tl.program_id(0)
    bh = tl.program_id(1).to(tl.int64)
    start_m = pid_m * BLOCK_M
    offs_m = start_m + tl.arange(0, BLOCK_M)
    offs_d = tl.arange(0, HEAD_DIM)
    q_offs = bh * N_Q * HEAD_DIM + offs_m[:, None] * HEAD_DIM + offs_d[None, :]  # (BLOCK_M, HEAD_DIM)
    q = tl.load(Q + q_offs, mask=offs_m[:, None] < N_Q, other=0.0)
    K_head = K + bh * N_K * HEAD_DIM
    V_head = V + bh * N_K * HEAD_DIM
    m_i = tl.full([BLOCK_M], float("-inf"), dtype=tl.float32)
    l_i = tl.zeros([BLOCK_M], dtype=tl.float32)
    acc = tl.zeros([BLOCK_M, HEAD_DIM], dtype=tl.float32)
    n_full = (N_K // BLOCK_N) * BLOCK_N
    if IS_CAUSAL:
        lo = tl.minimum(start_m, n_full)
        hi = tl.minimum(start_m + BLOCK_M, N_K)
    else:
        lo = n_full
        hi = N_K
    acc, l_i, m_i = _fwd_inner(acc, l_i, m_i, q, K_head, V_head, offs_m, 0, lo, N_K, qk_scale,
                               HEAD_DIM, BLOCK_N, False, IS_CAUSAL)
    acc, l_i, m_i = _fwd_inner(acc, l_i, m_i, q, K_head, V_head, offs_m, lo, hi, N_K, qk_scale,
                               HEAD_DIM, BLOCK_N, True, IS_CAUSAL)
    tl.store(O + q_offs, (acc / l_i[:, None]).to(O.dtype.element_ty), mask=offs_m[:, None] < N_Q)
    tl.store(L + bh * N_Q + offs_m, (m_i + tl.log2(l_i)) * LN2, mask=offs_m < N_Q)


# ---------------------------------------------------------------------------------------------
# Backward
# ---------------------------------------------------------------------------------------------


@triton.jit
def _bwd_preprocess(O, DO, Delta, N_Q, HEAD_DIM: tl.constexpr, BLOCK: tl.constexpr):
    """Delta = rowsum(dO * O), float32 (BH, N_Q)."""
    bh = tl.program_id(1).to(tl.int64)
    offs_m = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    offs = bh * N_Q * HEAD_DIM + offs_m[:, None] * HEAD_DIM + tl.arange(0, HEAD_DIM)[None, :]
    o = tl.load(O + offs, mask=offs_m[:, None] < N_Q, other=0.0).to(tl.float32)
    do = tl.load(DO + offs, mask=offs_m[:, None] < N_Q, other=0.0).to(tl.float32)
    tl.store(Delta + bh * N_Q + offs_m, tl.sum(o * do, 1), mask=offs_m < N_Q)


@triton.jit
def _bwd_dkdv_inner(dk, dv, k, v, Q_head, DO_head, L_head, Delta_head, DQ_head, offs_n, lo, hi, N_Q, N_K,
                    qk_scale, HEAD_DIM: tl.constexpr, BLOCK_M: tl.constexpr, MASK: tl.constexpr,
                    IS_CAUSAL: tl.constexpr, ATOMIC_DQ: tl.constexpr, EVEN_Q: tl.constexpr):
    """Accumulate dK, dV of one key tile over query tiles [lo, hi); optionally add into dQ.
    ``EVEN_Q``: N_Q is a multiple of BLOCK_M, so loads need no masks."""
    offs_d = tl.arange(0, HEAD_DIM)
    offs_m = lo + tl.arange(0, BLOCK_M)
    q_ptrs = Q_head + offs_m[:, None] * HEAD_DIM + offs_d[None, :]  # (BLOCK_M, HEAD_DIM), advanced per step
    do_ptrs = DO_head + offs_m[:, None] * HEAD_DIM + offs_d[None, :]
    for start_m in range(lo, hi, BLOCK_M):
        offs_m = start_m + tl.arange(0, BLOCK_M)
        if EVEN_Q:
            q = tl.load(q_ptrs)
            lse2 = tl.load(L_head + offs_m) * LOG2E  # base-2 logsumexp
        else:  # padded query rows load zeros and contribute exactly zero
            q = tl.load(q_ptrs, mask=(offs_m < N_Q)[:, None], other=0.0)
            lse2 = tl.load(L_head + offs_m, mask=offs_m < N_Q, other=0.0) * LOG2E
        pT = tl.exp2(tl.dot(k, tl.trans(q)) * qk_scale - lse2[None, :])  # (BLOCK_N, BLOCK_M), one FMA a score
        if MASK:
            visible = offs_n[:, None] < N_K
            if IS_CAUSAL:
                visible = visible & (offs_n[:, None] <= offs_m[None, :])
            pT = tl.where(visible, pT, 0.0)
        elif ATOMIC_DQ:  # padded keys: exp2(0 - L) is not 0, and their dS rows would reach dQ
            pT = tl.where(offs_n[:, None] < N_K, pT, 0.0)
        if EVEN_Q:
            do = tl.load(do_ptrs)
            delta = tl.load(Delta_head + offs_m)
        else:
            do = tl.load(do_ptrs, mask=(offs_m < N_Q)[:, None], other=0.0)
            delta = tl.load(Delta_head + offs_m, mask=offs_m < N_Q, other=0.0)
        dv = tl.dot(pT.to(do.dtype), do, dv)
        dpT = tl.dot(v, tl.trans(do))  # (BLOCK_N, BLOCK_M)
        dsT = (pT * (dpT - delta[None, :])).to(q.dtype)
        dk = tl.dot(dsT, q, dk)
        if ATOMIC_DQ:  # this key tile's share of dQ = dS K, summed over key tiles in fp32
            dq = tl.dot(tl.trans(dsT), k)  # (BLOCK_M, HEAD_DIM)
            tl.atomic_add(DQ_head + offs_m[:, None] * HEAD_DIM + offs_d[None, :], dq,
                          mask=(offs_m < N_Q)[:, None], sem="relaxed")
        q_ptrs += BLOCK_M * HEAD_DIM
        do_ptrs += BLOCK_M * HEAD_DIM
    return dk, dv


# reset_to_zero: with ATOMIC_DQ, DQ accumulates, so the autotuner must zero it before each timed run.
@triton.autotune(configs=_configs("bwd"), key=["N_CTX_KEY", "HEAD_DIM", "IS_CAUSAL", "ATOMIC_DQ"],
                 prune_configs_by={"early_config_prune": _prune}, reset_to_zero=["DQ"])
@triton.jit
def _attn_bwd_dkdv(
    Q, K, V, DO,  # *T contiguous (BH, N_Q | N_K, HEAD_DIM)
    L, Delta,  # *fp32 (BH, N_Q): logsumexp, rowsum(dO * O)
    DK, DV,  # *T (BH, N_K, HEAD_DIM) outputs
    DQ,  # *fp32 (BH, N_Q, HEAD_DIM) zeroed accumulator (ATOMIC_DQ), unused otherwise
    N_Q, N_K, N_CTX_KEY, qk_scale, sm_scale,
    HEAD_DIM: tl.constexpr, IS_CAUSAL: tl.constexpr, ATOMIC_DQ: tl.constexpr,
    EVEN_Q: tl.constexpr,  # N_Q is a multiple of 128 (so of every BLOCK_M): unmasked query loads
    BLOCK_M: tl.constexpr,  # queries per step
    BLOCK_N: tl.constexpr,  # keys per program
):
    tl.static_assert(BLOCK_N % BLOCK_M == 0)
    start_n = tl.program_id(0) * BLOCK_N  # program 0 has the most query tiles: it starts first
    bh = tl.program_id(1).to(tl.int64)
    offs_n = start_n + tl.arange(0, BLOCK_N)
    offs_d = tl.arange(0, HEAD_DIM)
    kv_offs = bh * N_K * HEAD_DIM + offs_n[:, None] * HEAD_DIM + offs_d[None, :]  # (BLOCK_N, HEAD_DIM)
    k = tl.load(K + kv_offs, mask=offs_n[:, None] < N_K, other=0.0)
    v = tl.load(V + kv_offs, mask=offs_n[:, None] < N_K, other=0.0)
    dk = tl.zeros([BLOCK_N, HEAD_DIM], dtype=tl.float32)
    dv = tl.zeros([BLOCK_N, HEAD_DIM], dtype=tl.float32)
    Q_head, DO_head, DQ_head = Q + bh * N_Q * HEAD_DIM, DO + bh * N_Q * HEAD_DIM, DQ + bh * N_Q * HEAD_DIM
    L_head, Delta_head = L + bh * N_Q, Delta + bh * N_Q
    # Padded keys of a ragged last tile (zeros) get garbage dK/dV rows, never stored. (A runtime
    # `if` that masked such tiles in a second copy of the loop measured up to 1.8x slower.)
    lo = 0
    if IS_CAUSAL:  # queries [start_n, start_n + BLOCK_N) are on the diagonal; earlier ones see nothing
        lo = tl.minimum(start_n + BLOCK_N, N_Q)
        dk, dv = _bwd_dkdv_inner(dk, dv, k, v, Q_head, DO_head, L_head, Delta_head, DQ_head, offs_n, start_n,
                                 lo, N_Q, N_K, qk_scale, HEAD_DIM, BLOCK_M, True, IS_CAUSAL, ATOMIC_DQ, EVEN_Q)
    dk, dv = _bwd_dkdv_inner(dk, dv, k, v, Q_head, DO_head, L_head, Delta_head, DQ_head, offs_n, lo, N_Q,
                             N_Q, N_K, qk_scale, HEAD_DIM, BLOCK_M, False, IS_CAUSAL, ATOMIC_DQ, EVEN_Q)
    tl.store(DK + kv_offs, (dk * sm_scale).to(DK.dtype.element_ty), mask=offs_n[:, None] < N_K)
    tl.store(DV + kv_offs, dv.to(DV.dtype.element_ty), mask=offs_n[:, None] < N_K)


@triton.jit
def _bwd_dq_inner(dq, q, do, lse2, delta, K_head, V_head, offs_m, lo, hi, N_K, qk_scale,
                  HEAD_DIM: tl.constexpr, BLOCK_N: tl.constexpr, MASK: tl.constexpr, IS_CAUSAL: tl.constexpr):
    """Accumulate dQ of one query tile over key tiles [lo, hi). MASK=False: full key tiles,
    unmasked loads, no score mask."""
    offs_n = tl.arange(0, BLOCK_N)
    offs_d = tl.arange(0, HEAD_DIM)
    k_ptrs = K_head + (lo + offs_n)[:, None] * HEAD_DIM + offs_d[None, :]  # advanced per step
    v_ptrs = V_head + (lo + offs_n)[:, None] * HEAD_DIM + offs_d[None, :]
    for start_n in range(lo, hi, BLOCK_N):
        if MASK:
            k = tl.load(k_ptrs, mask=(start_n + offs_n)[:, None] < N_K, other=0.0)
            v = tl.load(v_ptrs, mask=(start_n + offs_n)[:, None] < N_K, other=0.0)
        else:
            k = tl.load(k_ptrs)
            v = tl.load(v_ptrs)
        p = tl.exp2(tl.dot(q, tl.trans(k)) * qk_scale - lse2[:, None])  # (BLOCK_M, BLOCK_N)
        if MASK:
            visible = (start_n + offs_n)[None, :] < N_K
            if IS_CAUSAL:
                visible = visible & ((start_n + offs_n)[None, :] <= offs_m[:, None])
            p = tl.where(visible, p, 0.0)
        dp = tl.dot(do, tl.trans(v))
        ds = (p * (dp - delta[:, None])).to(k.dtype)
        dq = tl.dot(ds, k, dq)
        k_ptrs += BLOCK_N * HEAD_DIM
        v_ptrs += BLOCK_N * HEAD_DIM
    return dq


@triton.autotune(configs=_configs("fwd"), key=["N_CTX_KEY", "HEAD_DIM", "IS_CAUSAL"],
                 prune_configs_by={"early_config_prune": _prune})
@triton.jit
def _attn_bwd_dq(
    Q, K, V, DO, L, Delta,  # as in _attn_bwd_dkdv
    DQ,  # *T (BH, N_Q, HEAD_DIM) output
    N_Q, N_K, N_CTX_KEY, qk_scale, sm_scale,
    HEAD_DIM: tl.constexpr, IS_CAUSAL: tl.constexpr,
    BLOCK_M: tl.constexpr,  # queries per program
    BLOCK_N: tl.constexpr,  # keys per step
):
    tl.static_assert(BLOCK_M % BLOCK_N == 0)
    start_m = tl.program_id(0) * BLOCK_M  # (heaviest-first order, as in the forward, measured 3% slower here)
    bh = tl.program_id(1).to(tl.int64)
    offs_m = start_m + tl.arange(0, BLOCK_M)
    offs_d = tl.arange(0, HEAD_DIM)
    q_offs = bh * N_Q * HEAD_DIM + offs_m[:, None] * HEAD_DIM + offs_d[None, :]
    q = tl.load(Q + q_offs, mask=offs_m[:, None] < N_Q, other=0.0)
    do = tl.load(DO + q_offs, mask=offs_m[:, None] < N_Q, other=0.0)
    lse2 = tl.load(L + bh * N_Q + offs_m, mask=offs_m < N_Q, other=0.0) * LOG2E
    delta = tl.load(Delta + bh * N_Q + offs_m, mask=offs_m < N_Q, other=0.0)
    dq = tl.zeros([BLOCK_M, HEAD_DIM], dtype=tl.float32)
    n_full = (N_K // BLOCK_N) * BLOCK_N
    if IS_CAUSAL:
        lo = tl.minimum(start_m, n_full)
        hi = tl.minimum(start_m + BLOCK_M, N_K)
    else:
        lo = n_full
        hi = N_K
    K_head = K + bh * N_K * HEAD_DIM
    V_head = V + bh * N_K * HEAD_DIM
    dq = _bwd_dq_inner(dq, q, do, lse2, delta, K_head, V_head, offs_m, 0, lo, N_K, qk_scale,
                       HEAD_DIM, BLOCK_N, False, IS_CAUSAL)
    dq = _bwd_dq_inner(dq, q, do, lse2, delta, K_head, V_head, offs_m, lo, hi, N_K, qk_scale,
                       HEAD_DIM, BLOCK_N, True, IS_CAUSAL)
    tl.store(DQ + q_offs, (dq * sm_scale).to(DQ.dtype.element_ty), mask=offs_m[:, None] < N_Q)


# ---------------------------------------------------------------------------------------------
# Wrapper
# ---------------------------------------------------------------------------------------------


def check_inputs(Q, K, V):
    """Shapes, dtypes and devices the kernels accept; clear errors otherwise."""
    if Q.dim() not in (3, 4) or K.shape != V.shape or Q.shape[:-2] != K.shape[:-2] or Q.shape[-1] != K.shape[-1]:
        raise ValueError(f"expected Q (..., n_q, d) and K, V (..., n_k, d), 3-D or 4-D; got "
                         f"{tuple(Q.shape)}, {tuple(K.shape)}, {tuple(V.shape)}")
    if Q.shape[-1] not in (16, 32, 64, 128):
        raise ValueError(f"head dim must be 16, 32, 64 or 128, got {Q.shape[-1]}")
    if not (Q.dtype == K.dtype == V.dtype) or Q.dtype not in (torch.float16, torch.bfloat16, torch.float32):
        raise ValueError(f"Q, K, V must share one dtype among fp16, bf16, fp32; got {Q.dtype}, {K.dtype}, {V.dtype}")
    if Q.device.type != "cuda" and not INTERPRET:
        raise RuntimeError("Triton kernels need a CUDA GPU, or TRITON_INTERPRET=1 set before importing them")


def _launch(kernel, grid_of, args, kind, d_head, elem_bytes, **meta):
    """Launch through the autotuner (fp16/bf16), or with default_config() otherwise."""
    if AUTOTUNE and elem_bytes == 2:
        kernel[lambda m: grid_of(m["BLOCK_M"], m["BLOCK_N"])](*args, **meta)
    else:
        cfg = default_config(kind, d_head, elem_bytes)
        grid = grid_of(cfg.kwargs["BLOCK_M"], cfg.kwargs["BLOCK_N"])
        kernel.fn[grid](*args, **meta, **cfg.kwargs, num_warps=cfg.num_warps, num_stages=cfg.num_stages)


class FlashAttentionTriton(torch.autograd.Function):
    """Tuned FlashAttention-2: ``FlashAttentionTriton.apply(Q, K, V, is_causal=False)``."""

    @staticmethod
    def forward(ctx, Q, K, V, is_causal=False):
        check_inputs(Q, K, V)
        n_q, n_k, d = Q.shape[-2], K.shape[-2], Q.shape[-1]
        q, k, v = (t.reshape(-1, t.shape[-2], d).contiguous() for t in (Q, K, V))  # (BH, seq, d)
        bh = q.shape[0]
        o = torch.empty_like(q)
        lse = torch.empty((bh, n_q), dtype=torch.float32, device=q.device)  # (BH, n_q)
        _launch(_attn_fwd, lambda bm, bn: (triton.cdiv(n_q, bm), bh),
                (q, k, v, o, lse, n_q, n_k, triton.next_power_of_2(n_q), d**-0.5 * LOG2E.value),
                "fwd", d, q.element_size(), HEAD_DIM=d, IS_CAUSAL=is_causal)
        O, L = o.view(Q.shape), lse.view(Q.shape[:-1])  # L: (batch, [heads,] n_q)
        ctx.save_for_backward(Q, K, V, O, L)
        ctx.is_causal = is_causal
        return O

    @staticmethod
    def backward(ctx, dO):
        Q, K, V, O, L = ctx.saved_tensors
        n_q, n_k, d = Q.shape[-2], K.shape[-2], Q.shape[-1]
        q, k, v, o, do = (t.reshape(-1, t.shape[-2], d).contiguous() for t in (Q, K, V, O, dO))
        bh = q.shape[0]
        lse = L.reshape(bh, n_q)
        delta = torch.empty_like(lse)  # (BH, n_q)
        block = 64 if INTERPRET else 128  # rows per preprocess program (a cheap, memory-bound pass)
        _bwd_preprocess[(triton.cdiv(n_q, block), bh)](o, do, delta, n_q, HEAD_DIM=d, BLOCK=block)
        dk, dv = torch.empty_like(k), torch.empty_like(v)
        atomic = DQ_MODE == "atomic"
        # fp32 accumulator for atomic adds (zeroed), else the dQ kernel writes dq directly
        dq = torch.zeros(q.shape, dtype=torch.float32, device=q.device) if atomic else torch.empty_like(q)
        ctx_key = triton.next_power_of_2(n_q)
        scales = (d**-0.5 * LOG2E.value, d**-0.5)
        _launch(_attn_bwd_dkdv, lambda bm, bn: (triton.cdiv(n_k, bn), bh),
                (q, k, v, do, lse, delta, dk, dv, dq, n_q, n_k, ctx_key, *scales),
                "bwd", d, q.element_size(), HEAD_DIM=d, IS_CAUSAL=ctx.is_causal, ATOMIC_DQ=atomic,
                EVEN_Q=n_q % 128 == 0)
        if atomic:
            dq = (dq * d**-0.5).to(q.dtype)  # sm_scale applied once, at the cast
        else:
            _launch(_attn_bwd_dq, lambda bm, bn: (triton.cdiv(n_q, bm), bh),
                    (q, k, v, do, lse, delta, dq, n_q, n_k, ctx_key, *scales),
                    "fwd", d, q.element_size(), HEAD_DIM=d, IS_CAUSAL=ctx.is_causal)
        return dq.view(Q.shape), dk.view(K.shape), dv.view(V.shape), None
