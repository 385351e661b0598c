"""FlashAttention-2, built up in four steps: naive attention, tiled PyTorch, Triton forward, Triton backward.

- Attention never materialises the (seq x seq) score matrix: queries are processed one tile at a
  time, keys streamed past them, and softmax computed online (running max ``m``, running
  denominator ``l``). Only the output O and the row logsumexp L are saved for the backward pass.
- The backward pass recomputes the probabilities from (Q, K, L) and needs one more number per
  query, D = rowsum(dO * O). It follows FA-2: one kernel loops over query tiles to accumulate
  dK and dV for a key tile, a second loops over key tiles to accumulate dQ for a query tile.
- Both autograd Functions take (batch, seq, d_head) or (batch, heads, seq, d_head) inputs and
  ``apply(Q, K, V, is_causal=False)``; causal masking is top-left aligned (query i sees keys
  j <= i), like ``F.scaled_dot_product_attention(is_causal=True)``; scale is 1/sqrt(d_head).
- The Triton kernels support head dims 16, 32, 64 and 128 (powers of two: ``tl.arange`` needs
  one; ``tl.dot`` needs at least 16) and any sequence lengths (ragged last tiles are masked).
- This file is the teaching version. The tuned one (autotuned tiles, atomic dQ, ...) lives in
  ``kernels/flash_attention_fast.py``.

Tests (CPU via Triton's interpreter, or a GPU): ``pytest grader/tests/test_flash_attention.py``.
Benchmark (GPU): ``python -m benchmarks.flash_attention``.
"""
from __future__ import annotations

import math
import os

import torch
import triton
import triton.language as tl

ANSWERS = ("04_flash_attention",)  # grader.release: not shipped before lesson 04 is done

# Kernels work in base 2: exp(x) = exp2(x * log2(e)), and exp2 is a single instruction on the
# GPU's special-function unit. Scores are pre-multiplied by LOG2E; LN2 converts logs back.
LOG2E = tl.constexpr(1.4426950408889634)  # log2(e) = 1 / ln 2
LN2 = tl.constexpr(0.6931471805599453)  # ln 2

# ---------------------------------------------------------------------------------------------
# 1. The reference: materialise all scores
# ---------------------------------------------------------------------------------------------


def naive_attention(Q: torch.Tensor, K: torch.Tensor, V: torch.Tensor, is_causal: bool = False) -> torch.Tensor:
    """softmax(Q K^T / sqrt(d)) V on (..., n_queries, d) and (..., n_keys, d) tensors."""
    n_queries, n_keys, d_head = Q.shape[-2], K.shape[-2], Q.shape[-1]
    S = Q @ K.transpose(-2, -1) / math.sqrt(d_head)  # (..., n_queries, n_keys)
    if is_causal:
        visible = torch.ones(n_queries, n_keys, dtype=torch.bool, device=Q.device).tril()
        S = S.masked_fill(~visible, float("-inf"))
    return torch.softmax(S, dim=-1) @ V  # (..., n_queries, d)


# ---------------------------------------------------------------------------------------------
# 2. FlashAttention-2 in plain PyTorch: the algorithm without the GPU details
# ---------------------------------------------------------------------------------------------


def flash_forward_pytorch(Q, K, V, is_causal=False, block_q=32, block_k=32):
    """Tiled forward with online softmax. Returns O (..., n_q, d) and L (..., n_q).

    L = logsumexp of each row of scaled scores, in float32 (float64 for float64 inputs).
    """
    n_q, n_k, d_head = Q.shape[-2], K.shape[-2], Q.shape[-1]
    acc_dtype = torch.promote_types(Q.dtype, torch.float32)  # accumulate in at least fp32
    scale = 1 / math.sqrt(d_head)
    O = torch.empty_like(Q)
    L = torch.empty(Q.shape[:-1], dtype=acc_dtype, device=Q.device)  # (..., n_q)
    for q0 in range(0, n_q, block_q):
        Qi = Q[..., q0 : q0 + block_q, :].to(acc_dtype)  # (..., bq, d)
        q_idx = torch.arange(q0, q0 + Qi.shape[-2], device=Q.device)
        m = torch.full(Qi.shape[:-1], float("-inf"), dtype=acc_dtype, device=Q.device)  # running max
        l = torch.zeros_like(m)  # running sum of exp(S - m)
        acc = torch.zeros_like(Qi)  # running sum of exp(S - m) @ V, (..., bq, d)
        # Causal: keys after this tile's last query are hidden from every row: stop there.
        k_end = min(n_k, q0 + block_q) if is_causal else n_k
        for k0 in range(0, k_end, block_k):
            Kj = K[..., k0 : k0 + block_k, :].to(acc_dtype)  # (..., bk, d)
            Vj = V[..., k0 : k0 + block_k, :].to(acc_dtype)
            S = Qi @ Kj.transpose(-2, -1) * scale  # (..., bq, bk)
            if is_causal and k0 + Kj.shape[-2] - 1 > q0:  # the tile crosses the diagonal
                k_idx = torch.arange(k0, k0 + Kj.shape[-2], device=Q.device)
                S = S.masked_fill(k_idx[None, :] > q_idx[:, None], float("-inf"))
            m_new = torch.maximum(m, S.amax(dim=-1))  # finite: every row sees key 0 in tile 0
            P = torch.exp(S - m_new[..., None])  # (..., bq, bk)
            alpha = torch.exp(m - m_new)  # rescales what was summed under the old max
            l = alpha * l + P.sum(dim=-1)
            acc = alpha[..., None] * acc + P @ Vj
            m = m_new
        O[..., q0 : q0 + block_q, :] = (acc / l[..., None]).to(Q.dtype)
        L[..., q0 : q0 + block_q] = m + torch.log(l)
    return O, L


def flash_backward_pytorch(Q, K, V, O, L, dO, is_causal=False):
    """Gradients from the saved (Q, K, V, O, L); P is recomputed, never stored.

    dV = P^T dO,  dP = dO V^T,  dS = P * (dP - D) with D = rowsum(dO * O),  dQ = dS K / sqrt(d),
    dK = dS^T Q / sqrt(d). (D equals rowsum(P * dP), the softmax Jacobian's correction term.)
    """
    acc_dtype = L.dtype
    Q_, K_, V_, O_, dO_ = (t.to(acc_dtype) for t in (Q, K, V, O, dO))
    scale = 1 / math.sqrt(Q.shape[-1])
    S = Q_ @ K_.transpose(-2, -1) * scale  # (..., n_q, n_k)
    if is_causal:
        visible = torch.ones(S.shape[-2:], dtype=torch.bool, device=Q.device).tril()
        S = S.masked_fill(~visible, float("-inf"))
    P = torch.exp(S - L[..., None])  # softmax, from the saved logsumexp
    dV = P.transpose(-2, -1) @ dO_  # (..., n_k, d)
    dP = dO_ @ V_.transpose(-2, -1)  # (..., n_q, n_k)
    D = (dO_ * O_).sum(dim=-1)  # (..., n_q)
    dS = P * (dP - D[..., None])  # (..., n_q, n_k)
    dQ = dS @ K_ * scale
    dK = dS.transpose(-2, -1) @ Q_ * scale
    return dQ.to(Q.dtype), dK.to(K.dtype), dV.to(V.dtype)


class FlashAttentionPytorch(torch.autograd.Function):
    """FlashAttention-2 in PyTorch: ``FlashAttentionPytorch.apply(Q, K, V, is_causal=False)``."""

    @staticmethod
    def forward(ctx, Q, K, V, is_causal=False):
        O, L = flash_forward_pytorch(Q, K, V, is_causal)
        ctx.save_for_backward(Q, K, V, O, L)
        ctx.is_causal = is_causal
        return O

    @staticmethod
    def backward(ctx, dO):
        Q, K, V, O, L = ctx.saved_tensors
        return (*flash_backward_pytorch(Q, K, V, O, L, dO, ctx.is_causal), None)


# ---------------------------------------------------------------------------------------------
# 3. Triton forward: one program per (query tile, batch*head)
# ---------------------------------------------------------------------------------------------
# All tensors are contiguous (BH, seq, D_HEAD), BH = batch*heads: element (bh, row, col) sits at
# bh*seq*D_HEAD + row*D_HEAD + col.


@triton.jit
def _fwd_key_loop(acc, l_i, m_i, q, K_head, V_head, offs_q, lo, hi, N_KEYS, qk_scale,
                  D_HEAD: tl.constexpr, BLOCK_K: tl.constexpr, MASK: tl.constexpr, IS_CAUSAL: tl.constexpr):
    """Fold key tiles [lo, hi) into the running (acc, l_i, m_i); MASK=False where all are visible."""
    offs_d = tl.arange(0, D_HEAD)
    for start_k in range(lo, hi, BLOCK_K):
        offs_k = start_k + tl.arange(0, BLOCK_K)
        kv_offs = offs_k[:, None] * D_HEAD + offs_d[None, :]  # (BLOCK_K, D_HEAD)
        k = tl.load(K_head + kv_offs, mask=offs_k[:, None] < N_KEYS, other=0.0)
        v = tl.load(V_head + kv_offs, mask=offs_k[:, None] < N_KEYS, other=0.0)
        s = tl.dot(q, tl.trans(k)) * qk_scale  # (BLOCK_Q, BLOCK_K) scores, base 2
        if MASK:  # only the diagonal tiles and the ragged last tile pay for this
            visible = offs_k[None, :] < N_KEYS
            if IS_CAUSAL:
                visible = visible & (offs_k[None, :] <= offs_q[:, None])
            s = tl.where(visible, s, float("-inf"))
        m_new = tl.maximum(m_i, tl.max(s, axis=1))  # (BLOCK_Q,)
        p = tl.exp2(s - m_new[:, None])  # (BLOCK_Q, BLOCK_K) unnormalised probabilities
        alpha = tl.exp2(m_i - m_new)  # rescale factor for what was summed under the old max
        l_i = l_i * alpha + tl.sum(p, axis=1)
        acc = tl.dot(p.to(v.dtype), v, acc * alpha[:, None])  # acc*alpha + p @ v
        m_i = m_new
    return acc, l_i, m_i


@triton.jit
def flash_fwd_kernel(
    Q_ptr,  # *T (BH, N_QUERIES, D_HEAD) queries; T is fp16, bf16 or fp32
    K_ptr,  # *T (BH, N_KEYS, D_HEAD) keys
    V_ptr,  # *T (BH, N_KEYS, D_HEAD) values
    O_ptr,  # *T (BH, N_QUERIES, D_HEAD) output
    L_ptr,  # *fp32 (BH, N_QUERIES) output: logsumexp of each row of scaled scores (natural log)
    N_QUERIES,  # runtime ints: one compiled kernel serves every sequence length
    N_KEYS,
    qk_scale,  # (1 / sqrt(D_HEAD)) * log2(e): turns q.k into a base-2 exponent
    D_HEAD: tl.constexpr,  # head dim: 16, 32, 64 or 128
    BLOCK_Q: tl.constexpr,  # queries per program; a multiple of BLOCK_K
    BLOCK_K: tl.constexpr,  # keys per loop step
    IS_CAUSAL: tl.constexpr,  # compile-time: the causal and full kernels are separate binaries
):
    pid_q = tl.program_id(0)  # which query tile
    bh = tl.program_id(1).to(tl.int64)  # which (batch, head); int64 so bh*seq*D cannot overflow
    q0 = pid_q * BLOCK_Q
    offs_q = q0 + tl.arange(0, BLOCK_Q)  # (BLOCK_Q,) query rows of this tile
    offs_d = tl.arange(0, D_HEAD)
    q_offs = offs_q[:, None] * D_HEAD + offs_d[None, :]  # (BLOCK_Q, D_HEAD)
    q = tl.load(Q_ptr + bh * N_QUERIES * D_HEAD + q_offs, mask=offs_q[:, None] < N_QUERIES, other=0.0)
    K_head = K_ptr + bh * N_KEYS * D_HEAD
    V_head = V_ptr + bh * N_KEYS * D_HEAD

    m_i = tl.full([BLOCK_Q], float("-inf"), dtype=tl.float32)  # running row max (base 2)
    l_i = tl.zeros([BLOCK_Q], dtype=tl.float32)  # running row sum of exp2(s - m_i)
    acc = tl.zeros([BLOCK_Q, D_HEAD], dtype=tl.float32)  # running (unnormalised) output

    # Key tiles [0, lo) are visible to every query of the tile: no mask. [lo, hi) need one: the
    # tiles on the causal diagonal and a ragged last tile. Tiles past hi are skipped entirely.
    n_full = (N_KEYS // BLOCK_K) * BLOCK_K  # keys covered by full tiles
    if IS_CAUSAL:
        lo = tl.minimum(q0, n_full)  # q0 is a multiple of BLOCK_K since BLOCK_Q is
        hi = tl.minimum(q0 + BLOCK_Q, N_KEYS)  # keys after the tile's last query: all hidden
    else:
        lo = n_full
        hi = N_KEYS
    acc, l_i, m_i = _fwd_key_loop(acc, l_i, m_i, q, K_head, V_head, offs_q, 0, lo, N_KEYS, qk_scale,
                                  D_HEAD, BLOCK_K, False, IS_CAUSAL)
    acc, l_i, m_i = _fwd_key_loop(acc, l_i, m_i, q, K_head, V_head, offs_q, lo, hi, N_KEYS, qk_scale,
                                  D_HEAD, BLOCK_K, True, IS_CAUSAL)

    o = acc / l_i[:, None]
    tl.store(O_ptr + bh * N_QUERIES * D_HEAD + q_offs, o.to(O_ptr.dtype.element_ty), mask=offs_q[:, None] < N_QUERIES)
    lse = (m_i + tl.log2(l_i)) * LN2  # logsumexp back in natural-log units
    tl.store(L_ptr + bh * N_QUERIES + offs_q, lse, mask=offs_q < N_QUERIES)


# ---------------------------------------------------------------------------------------------
# 4. Triton backward (FA-2): D = rowsum(dO * O); dK, dV per key tile; dQ per query tile
# ---------------------------------------------------------------------------------------------


@triton.jit
def flash_bwd_preprocess_kernel(
    O_ptr,  # *T (BH, N_QUERIES, D_HEAD) forward output
    dO_ptr,  # *T (BH, N_QUERIES, D_HEAD) gradient of the output
    D_ptr,  # *fp32 (BH, N_QUERIES) output: D = rowsum(dO * O)
    N_QUERIES,
    D_HEAD: tl.constexpr,
    BLOCK_Q: tl.constexpr,  # rows per program
):
    bh = tl.program_id(1).to(tl.int64)
    offs_q = tl.program_id(0) * BLOCK_Q + tl.arange(0, BLOCK_Q)
    offs = bh * N_QUERIES * D_HEAD + offs_q[:, None] * D_HEAD + tl.arange(0, D_HEAD)[None, :]
    o = tl.load(O_ptr + offs, mask=offs_q[:, None] < N_QUERIES, other=0.0).to(tl.float32)
    do = tl.load(dO_ptr + offs, mask=offs_q[:, None] < N_QUERIES, other=0.0).to(tl.float32)
    tl.store(D_ptr + bh * N_QUERIES + offs_q, tl.sum(o * do, axis=1), mask=offs_q < N_QUERIES)


@triton.jit
def flash_bwd_dkdv_kernel(
    Q_ptr, K_ptr, V_ptr,  # *T inputs, (BH, N_QUERIES | N_KEYS, D_HEAD)
    dO_ptr,  # *T (BH, N_QUERIES, D_HEAD)
    L_ptr, D_ptr,  # *fp32 (BH, N_QUERIES): logsumexp from the forward, rowsum(dO * O)
    dK_ptr, dV_ptr,  # *T (BH, N_KEYS, D_HEAD) outputs
    N_QUERIES, N_KEYS,
    qk_scale,  # (1 / sqrt(D_HEAD)) * log2(e)
    sm_scale,  # 1 / sqrt(D_HEAD): dS = P * (dP - D) is the gradient of the *scaled* scores
    D_HEAD: tl.constexpr,
    BLOCK_Q: tl.constexpr,  # queries per loop step
    BLOCK_K: tl.constexpr,  # keys per program; a multiple of BLOCK_Q
    IS_CAUSAL: tl.constexpr,
):
    k0 = tl.program_id(0) * BLOCK_K
    bh = tl.program_id(1).to(tl.int64)
    offs_k = k0 + tl.arange(0, BLOCK_K)
    offs_d = tl.arange(0, D_HEAD)
    kv_offs = bh * N_KEYS * D_HEAD + offs_k[:, None] * D_HEAD + offs_d[None, :]  # (BLOCK_K, D_HEAD)
    k = tl.load(K_ptr + kv_offs, mask=offs_k[:, None] < N_KEYS, other=0.0)
    v = tl.load(V_ptr + kv_offs, mask=offs_k[:, None] < N_KEYS, other=0.0)
    dk = tl.zeros([BLOCK_K, D_HEAD], dtype=tl.float32)
    dv = tl.zeros([BLOCK_K, D_HEAD], dtype=tl.float32)

    # Causal: queries before k0 see none of these keys, so start at k0's query tile.
    lo = k0 if IS_CAUSAL else 0
    for q0 in range(lo, N_QUERIES, BLOCK_Q):
        offs_q = q0 + tl.arange(0, BLOCK_Q)
        q_offs = bh * N_QUERIES * D_HEAD + offs_q[:, None] * D_HEAD + offs_d[None, :]  # (BLOCK_Q, D_HEAD)
        q = tl.load(Q_ptr + q_offs, mask=offs_q[:, None] < N_QUERIES, other=0.0)
        do = tl.load(dO_ptr + q_offs, mask=offs_q[:, None] < N_QUERIES, other=0.0)
        lse = tl.load(L_ptr + bh * N_QUERIES + offs_q, mask=offs_q < N_QUERIES, other=0.0)
        delta = tl.load(D_ptr + bh * N_QUERIES + offs_q, mask=offs_q < N_QUERIES, other=0.0)
        # Work with transposed tiles (keys are rows) so dK and dV come out as plain dot products.
        sT = tl.dot(k, tl.trans(q)) * qk_scale  # (BLOCK_K, BLOCK_Q) scores^T, base 2
        pT = tl.exp2(sT - lse[None, :] * LOG2E)  # P^T recomputed from the logsumexp
        visible = (offs_k[:, None] < N_KEYS) & (offs_q[None, :] < N_QUERIES)
        if IS_CAUSAL:  # (the fast kernel masks only the diagonal tiles)
            visible = visible & (offs_k[:, None] <= offs_q[None, :])
        pT = tl.where(visible, pT, 0.0)
        dv += tl.dot(pT.to(do.dtype), do)  # dV += P^T dO
        dpT = tl.dot(v, tl.trans(do))  # (BLOCK_K, BLOCK_Q) dP^T = (dO V^T)^T
        dsT = pT * (dpT - delta[None, :])  # dS^T
        dk += tl.dot(dsT.to(q.dtype), q)  # dK += dS^T Q (scaled below)
    tl.store(dK_ptr + kv_offs, (dk * sm_scale).to(dK_ptr.dtype.element_ty), mask=offs_k[:, None] < N_KEYS)
    tl.store(dV_ptr + kv_offs, dv.to(dV_ptr.dtype.element_ty), mask=offs_k[:, None] < N_KEYS)


@triton.jit
def flash_bwd_dq_kernel(
    Q_ptr, K_ptr, V_ptr, dO_ptr, L_ptr, D_ptr,  # as in flash_bwd_dkdv_kernel
    dQ_ptr,  # *T (BH, N_QUERIES, D_HEAD) output
    N_QUERIES, N_KEYS, qk_scale, sm_scale,
    D_HEAD: tl.constexpr,
    BLOCK_Q: tl.constexpr,  # queries per program
    BLOCK_K: tl.constexpr,  # keys per loop step
    IS_CAUSAL: tl.constexpr,
):
    q0 = tl.program_id(0) * BLOCK_Q
    bh = tl.program_id(1).to(tl.int64)
    offs_q = q0 + tl.arange(0, BLOCK_Q)
    offs_d = tl.arange(0, D_HEAD)
    q_offs = bh * N_QUERIES * D_HEAD + offs_q[:, None] * D_HEAD + offs_d[None, :]  # (BLOCK_Q, D_HEAD)
    q = tl.load(Q_ptr + q_offs, mask=offs_q[:, None] < N_QUERIES, other=0.0)
    do = tl.load(dO_ptr + q_offs, mask=offs_q[:, None] < N_QUERIES, other=0.0)
    lse = tl.load(L_ptr + bh * N_QUERIES + offs_q, mask=offs_q < N_QUERIES, other=0.0)
    delta = tl.load(D_ptr + bh * N_QUERIES + offs_q, mask=offs_q < N_QUERIES, other=0.0)
    dq = tl.zeros([BLOCK_Q, D_HEAD], dtype=tl.float32)

    hi = tl.minimum(q0 + BLOCK_Q, N_KEYS) if IS_CAUSAL else N_KEYS  # later keys: hidden
    for k0 in range(0, hi, BLOCK_K):
        offs_k = k0 + tl.arange(0, BLOCK_K)
        kv_offs = bh * N_KEYS * D_HEAD + offs_k[:, None] * D_HEAD + offs_d[None, :]  # (BLOCK_K, D_HEAD)
        k = tl.load(K_ptr + kv_offs, mask=offs_k[:, None] < N_KEYS, other=0.0)
        v = tl.load(V_ptr + kv_offs, mask=offs_k[:, None] < N_KEYS, other=0.0)
        s = tl.dot(q, tl.trans(k)) * qk_scale  # (BLOCK_Q, BLOCK_K)
        p = tl.exp2(s - lse[:, None] * LOG2E)
        visible = offs_k[None, :] < N_KEYS  # padded keys: exp2(0 - L) is not 0, mask it
        if IS_CAUSAL:
            visible = visible & (offs_k[None, :] <= offs_q[:, None])
        p = tl.where(visible, p, 0.0)
        dp = tl.dot(do, tl.trans(v))  # (BLOCK_Q, BLOCK_K)
        ds = p * (dp - delta[:, None])
        dq += tl.dot(ds.to(k.dtype), k)  # dQ += dS K (scaled below)
    tl.store(dQ_ptr + q_offs, (dq * sm_scale).to(dQ_ptr.dtype.element_ty), mask=offs_q[:, None] < N_QUERIES)


# ---------------------------------------------------------------------------------------------
# 5. The wrapper: reshape, allocate, launch
# ---------------------------------------------------------------------------------------------
INTERPRET = os.environ.get("TRITON_INTERPRET", "0") == "1"  # read, like Triton, at import time
BLOCK_Q, BLOCK_K = 64, 64  # tile sizes (rows); big tiles also keep the CPU interpreter fast


def check_inputs(Q, K, V):
    """Shapes, dtypes and devices the Triton kernels accept; clear errors otherwise."""
    if Q.dim() not in (3, 4) or K.shape != V.shape or Q.shape[:-2] != K.shape[:-2] or Q.shape[-1] != K.shape[-1]:
        raise ValueError(f"expected Q (..., n_q, d) and K, V (..., n_k, d), 3-D or 4-D; got {Q.shape}, {K.shape}, {V.shape}")
    if Q.shape[-1] not in (16, 32, 64, 128):
        raise ValueError(f"head dim must be 16, 32, 64 or 128, got {Q.shape[-1]}")
    if not (Q.dtype == K.dtype == V.dtype) or Q.dtype not in (torch.float16, torch.bfloat16, torch.float32):
        raise ValueError(f"Q, K, V must share one dtype among fp16, bf16, fp32; got {Q.dtype}, {K.dtype}, {V.dtype}")
    if Q.device.type != "cuda" and not INTERPRET:
        raise RuntimeError("Triton kernels need a CUDA GPU, or TRITON_INTERPRET=1 set before importing them")


def num_stages(q):
    """Loads in flight per loop (software pipelining). fp32 rows of 128 take 512 bytes: 3 stages of
    64-row tiles would pass the GPU's 228 KB of shared memory, so use 2 there."""
    return 2 if q.element_size() * q.shape[-1] > 256 else 3


class FlashAttentionTriton(torch.autograd.Function):
    """FlashAttention-2 in Triton: ``FlashAttentionTriton.apply(Q, K, V, is_causal=False)``."""

    @staticmethod
    def forward(ctx, Q, K, V, is_causal=False):
        check_inputs(Q, K, V)
        n_q, n_k, d_head = Q.shape[-2], K.shape[-2], Q.shape[-1]
        q, k, v = (t.reshape(-1, t.shape[-2], d_head).contiguous() for t in (Q, K, V))  # (BH, seq, d)
        o = torch.empty_like(q)  # (BH, n_q, d)
        lse = torch.empty(q.shape[:2], dtype=torch.float32, device=q.device)  # (BH, n_q)
        grid = (triton.cdiv(n_q, BLOCK_Q), q.shape[0])  # (query tiles, batch*heads)
        flash_fwd_kernel[grid](q, k, v, o, lse, n_q, n_k, d_head**-0.5 * LOG2E.value,
                               D_HEAD=d_head, BLOCK_Q=BLOCK_Q, BLOCK_K=BLOCK_K, IS_CAUSAL=is_causal,
                               num_stages=num_stages(q))
        O = o.view(Q.shape)
        L = lse.view(Q.shape[:-1])  # (batch, [heads,] n_q)
        ctx.save_for_backward(Q, K, V, O, L)
        ctx.is_causal = is_causal
        return O

    @staticmethod
    def backward(ctx, dO):
        Q, K, V, O, L = ctx.saved_tensors
        n_q, n_k, d_head = Q.shape[-2], K.shape[-2], Q.shape[-1]
        q, k, v, o, do = (t.reshape(-1, t.shape[-2], d_head).contiguous() for t in (Q, K, V, O, dO))
        lse = L.reshape(-1, n_q)  # (BH, n_q)
        delta = torch.empty_like(lse)  # (BH, n_q): D = rowsum(dO * O)
        dq, dk, dv = torch.empty_like(q), torch.empty_like(k), torch.empty_like(v)
        bh = q.shape[0]
        flash_bwd_preprocess_kernel[(triton.cdiv(n_q, BLOCK_Q), bh)](o, do, delta, n_q, D_HEAD=d_head, BLOCK_Q=BLOCK_Q)
        inputs = (q, k, v, do, lse, delta)
        sizes_and_scales = (n_q, n_k, d_head**-0.5 * LOG2E.value, d_head**-0.5)  # ..., qk_scale, sm_scale
        meta = dict(D_HEAD=d_head, BLOCK_Q=BLOCK_Q, BLOCK_K=BLOCK_K, IS_CAUSAL=ctx.is_causal, num_stages=num_stages(q))
        flash_bwd_dkdv_kernel[(triton.cdiv(n_k, BLOCK_K), bh)](*inputs, dk, dv, *sizes_and_scales, **meta)
        flash_bwd_dq_kernel[(triton.cdiv(n_q, BLOCK_Q), bh)](*inputs, dq, *sizes_and_scales, **meta)
        return dq.view(Q.shape), dk.view(K.shape), dv.view(V.shape), None
