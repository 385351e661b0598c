"""The Triton kernels of the tuned FlashAttention-2 (``kernels/flash_attention_fast.py`` wraps
them; read that module first).

Same vocabulary as lesson 04's teaching kernels: ``BLOCK_Q`` queries and ``BLOCK_K`` keys per
tile, ``D_HEAD`` the head dim, ``N_QUERIES``/``N_KEYS`` the sequence lengths, ``*_ptr`` the
contiguous (BH, seq, D_HEAD) arrays. What differs from the lesson, for speed:

- causal loops split into the tiles left of the diagonal (no mask, unmasked loads) and the
  tiles on it (masked); the forward runs the heaviest query tiles first;
- the dK/dV kernel has three ways to produce dQ (``DQ_MODE``, a compile-time constant):
  0 = none (a separate dQ kernel follows, 7 products per tile pair, deterministic),
  1 = each key tile adds its share dS K into a float32 dQ with ``tl.atomic_add`` (5 products),
  2 = the same through a tensor descriptor's ``atomic_add``: on Hopper one bulk reduction of
  the whole tile (TMA ``cp.reduce.async.bulk``) instead of an atomic per element, as
  FlashAttention-3 does. Mode 2 needs ``N_QUERIES % BLOCK_Q == 0`` and a GPU; elsewhere the
  kernel falls back to mode 1 (Triton's CPU interpreter has no descriptor reductions).

Tests: ``pytest grader/tests/test_flash_attention.py``.
"""
from __future__ import annotations

import triton
import triton.language as tl

ANSWERS = ("04_flash_attention",)  # grader.release: not shipped before lesson 04 is done

# Kernels work in base 2: exp(x) = exp2(x * log2(e)), one instruction on the GPU's special-function
# unit. Scores are pre-multiplied by LOG2E; LN2 converts logs back. (Kernels may only read
# tl.constexpr globals.)
LOG2E = tl.constexpr(1.4426950408889634)  # log2(e) = 1 / ln 2
LN2 = tl.constexpr(0.6931471805599453)  # ln 2

# ---------------------------------------------------------------------------------------------
# Forward
# ---------------------------------------------------------------------------------------------


@triton.jit
def _fwd_inner(acc, l_i, m_i, q, K_head, V_head, K_desc, V_desc, offs_q, lo, hi, N_KEYS, qk_scale,
               D_HEAD: tl.constexpr, BLOCK_K: tl.constexpr, MASK: tl.constexpr,
               IS_CAUSAL: tl.constexpr, TMA_LOADS: tl.constexpr):
    """Online softmax over key tiles [lo, hi); MASK=False: full tiles, unmasked loads."""
    offs_k = tl.arange(0, BLOCK_K)
    offs_d = tl.arange(0, D_HEAD)
    k_ptrs = K_head + (lo + offs_k)[:, None] * D_HEAD + offs_d[None, :]  # (BLOCK_K, D_HEAD)
    v_ptrs = V_head + (lo + offs_k)[:, None] * D_HEAD + offs_d[None, :]
    for k0 in range(lo, hi, BLOCK_K):
        if TMA_LOADS:  # rows past N_KEYS read as zeros
            k = K_desc.load([k0, 0])
        elif MASK:
            k = tl.load(k_ptrs, mask=(k0 + offs_k)[:, None] < N_KEYS, other=0.0)
        else:  # full tiles: unmasked loads
            k = tl.load(k_ptrs)
        s = tl.dot(q, tl.trans(k))  # (BLOCK_Q, BLOCK_K) raw scores
        if MASK:
            visible = (k0 + offs_k)[None, :] < N_KEYS
            if IS_CAUSAL:
                visible = visible & ((k0 + offs_k)[None, :] <= offs_q[:, None])
            s = tl.where(visible, s * qk_scale, float("-inf"))
            m_new = tl.maximum(m_i, tl.max(s, 1))
            s = s - m_new[:, None]
        else:
            m_new = tl.maximum(m_i, tl.max(s, 1) * qk_scale)
            s = s * qk_scale - m_new[:, None]  # one FMA per score
        p = tl.exp2(s)
        alpha = tl.exp2(m_i - m_new)
        l_i = l_i * alpha + tl.sum(p, 1)
        if TMA_LOADS:
            v = V_desc.load([k0, 0])
        elif MASK:
            v = tl.load(v_ptrs, mask=(k0 + offs_k)[:, None] < N_KEYS, other=0.0)
        else:
            v = tl.load(v_ptrs)
        acc = tl.dot(p.to(v.dtype), v, acc * alpha[:, None])
        m_i = m_new
        k_ptrs += BLOCK_K * D_HEAD
        v_ptrs += BLOCK_K * D_HEAD
    return acc, l_i, m_i


@triton.jit
def attn_fwd(
    Q_ptr, K_ptr, V_ptr, O_ptr,  # *T contiguous (BH, N_QUERIES | N_KEYS, D_HEAD)
    L_ptr,  # *fp32 (BH, N_QUERIES) output: log-sum-exp of scaled scores, natural log
    N_QUERIES, N_KEYS,
    N_CTX_KEY,  # next power of two of N_QUERIES: the autotuning key (not used in the body)
    qk_scale,  # log2(e) / sqrt(D_HEAD)
    D_HEAD: tl.constexpr, IS_CAUSAL: tl.constexpr,
    TMA_LOADS: tl.constexpr,  # K, V tiles through per-head tensor descriptors (TMA on Hopper)
    BLOCK_Q: tl.constexpr,  # queries per program (from the autotuner)
    BLOCK_K: tl.constexpr,  # keys per step
):
    tl.static_assert(BLOCK_Q % BLOCK_K == 0)
    if IS_CAUSAL:  # the last query tiles see the most keys: launch them first (less tail)
        pid_q = tl.num_programs(0) - 1 - tl.program_id(0)
    else:
        pid_q = tl.program_id(0)
    bh = tl.program_id(1).to(tl.int64)  # int64: bh * N * D_HEAD can pass 2^31
    q0 = pid_q * BLOCK_Q
    offs_q = q0 + tl.arange(0, BLOCK_Q)
    offs_d = tl.arange(0, D_HEAD)
    # (BLOCK_Q, D_HEAD) offsets of the query tile
    q_offs = bh * N_QUERIES * D_HEAD + offs_q[:, None] * D_HEAD + offs_d[None, :]
    q = tl.load(Q_ptr + q_offs, mask=offs_q[:, None] < N_QUERIES, other=0.0)
    K_head = K_ptr + bh * N_KEYS * D_HEAD
    V_head = V_ptr + bh * N_KEYS * D_HEAD
    if TMA_LOADS:  # per-head descriptors: the copy engine zero-fills rows past N_KEYS
        K_desc = tl.make_tensor_descriptor(K_head, [N_KEYS, D_HEAD], [D_HEAD, 1], [BLOCK_K, D_HEAD])
        V_desc = tl.make_tensor_descriptor(V_head, [N_KEYS, D_HEAD], [D_HEAD, 1], [BLOCK_K, D_HEAD])
    else:  # placeholders, never read (Triton 3.6 cannot pass None between jit functions)
        K_desc, V_desc = K_head, V_head
    m_i = tl.full([BLOCK_Q], float("-inf"), dtype=tl.float32)  # running max (base 2)
    l_i = tl.zeros([BLOCK_Q], dtype=tl.float32)  # running sum of exp2(s - m_i)
    acc = tl.zeros([BLOCK_Q, D_HEAD], dtype=tl.float32)
    n_full = (N_KEYS // BLOCK_K) * BLOCK_K  # keys in full tiles
    if IS_CAUSAL:
        lo = tl.minimum(q0, n_full)  # tiles left of the diagonal: no mask
        hi = tl.minimum(q0 + BLOCK_Q, N_KEYS)
    else:
        lo = n_full
        hi = N_KEYS
    acc, l_i, m_i = _fwd_inner(acc, l_i, m_i, q, K_head, V_head, K_desc, V_desc, offs_q, 0, lo,
                               N_KEYS, qk_scale, D_HEAD, BLOCK_K, False, IS_CAUSAL, TMA_LOADS)
    acc, l_i, m_i = _fwd_inner(acc, l_i, m_i, q, K_head, V_head, K_desc, V_desc, offs_q, lo, hi,
                               N_KEYS, qk_scale, D_HEAD, BLOCK_K, True, IS_CAUSAL, TMA_LOADS)
    tl.store(O_ptr + q_offs, (acc / l_i[:, None]).to(O_ptr.dtype.element_ty),
             mask=offs_q[:, None] < N_QUERIES)
    tl.store(L_ptr + bh * N_QUERIES + offs_q, (m_i + tl.log2(l_i)) * LN2, mask=offs_q < N_QUERIES)


# ---------------------------------------------------------------------------------------------
# Backward
# ---------------------------------------------------------------------------------------------


@triton.jit
def bwd_preprocess(O_ptr, dO_ptr, D_ptr, N_QUERIES, D_HEAD: tl.constexpr, BLOCK: tl.constexpr):
    """D = rowsum(dO * O), float32 (BH, N_QUERIES)."""
    bh = tl.program_id(1).to(tl.int64)
    offs_q = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    offs = bh * N_QUERIES * D_HEAD + offs_q[:, None] * D_HEAD + tl.arange(0, D_HEAD)[None, :]
    o = tl.load(O_ptr + offs, mask=offs_q[:, None] < N_QUERIES, other=0.0).to(tl.float32)
    do = tl.load(dO_ptr + offs, mask=offs_q[:, None] < N_QUERIES, other=0.0).to(tl.float32)
    tl.store(D_ptr + bh * N_QUERIES + offs_q, tl.sum(o * do, 1), mask=offs_q < N_QUERIES)


@triton.jit
def _bwd_dkdv_inner(dk, dv, k, v, Q_head, dO_head, L_head, D_head, dQ_head, dQ_desc, dq_row0,
                    Q_desc, dO_desc, offs_k, lo, hi, N_QUERIES, N_KEYS, qk_scale, sm_scale,
                    D_HEAD: tl.constexpr, BLOCK_Q: tl.constexpr, MASK: tl.constexpr,
                    IS_CAUSAL: tl.constexpr, DQ_MODE: tl.constexpr, EVEN_Q: tl.constexpr,
                    TMA_LOADS: tl.constexpr):
    """Accumulate dK, dV of one key tile over query tiles [lo, hi); with DQ_MODE 1 or 2 also add
    the tile's share of dQ. ``EVEN_Q``: N_QUERIES is a multiple of BLOCK_Q, loads need no masks."""
    offs_d = tl.arange(0, D_HEAD)
    offs_q = lo + tl.arange(0, BLOCK_Q)
    q_ptrs = Q_head + offs_q[:, None] * D_HEAD + offs_d[None, :]  # (BLOCK_Q, D_HEAD), per step
    do_ptrs = dO_head + offs_q[:, None] * D_HEAD + offs_d[None, :]
    for q0 in range(lo, hi, BLOCK_Q):
        offs_q = q0 + tl.arange(0, BLOCK_Q)
        if TMA_LOADS:  # rows past N_QUERIES read as zeros
            q = Q_desc.load([q0, 0])
        elif EVEN_Q:
            q = tl.load(q_ptrs)
        else:  # padded query rows load zeros and contribute exactly zero
            q = tl.load(q_ptrs, mask=(offs_q < N_QUERIES)[:, None], other=0.0)
        if EVEN_Q:
            lse2 = tl.load(L_head + offs_q) * LOG2E  # base-2 log-sum-exp
        else:
            lse2 = tl.load(L_head + offs_q, mask=offs_q < N_QUERIES, other=0.0) * LOG2E
        # P^T (BLOCK_K, BLOCK_Q) from the log-sum-exp: one FMA a score
        pT = tl.exp2(tl.dot(k, tl.trans(q)) * qk_scale - lse2[None, :])
        if MASK:
            visible = offs_k[:, None] < N_KEYS
            if IS_CAUSAL:
                visible = visible & (offs_k[:, None] <= offs_q[None, :])
            pT = tl.where(visible, pT, 0.0)
        elif DQ_MODE != 0:  # padded keys: exp2(0 - L) is not 0, and their dS rows would reach dQ
            pT = tl.where(offs_k[:, None] < N_KEYS, pT, 0.0)
        if TMA_LOADS:
            do = dO_desc.load([q0, 0])
        elif EVEN_Q:
            do = tl.load(do_ptrs)
        else:
            do = tl.load(do_ptrs, mask=(offs_q < N_QUERIES)[:, None], other=0.0)
        if EVEN_Q:
            delta = tl.load(D_head + offs_q)
        else:
            delta = tl.load(D_head + offs_q, mask=offs_q < N_QUERIES, other=0.0)
        dv = tl.dot(pT.to(do.dtype), do, dv)  # dV += P^T dO
        dpT = tl.dot(v, tl.trans(do))  # (BLOCK_K, BLOCK_Q) = (dO V^T)^T
        dsT = (pT * (dpT - delta[None, :])).to(q.dtype)  # dS^T
        dk = tl.dot(dsT, q, dk)  # dK += dS^T Q
        if DQ_MODE != 0:  # this key tile's share of dQ = dS K / sqrt(d), summed in float32
            dq = tl.dot(tl.trans(dsT), k) * sm_scale  # (BLOCK_Q, D_HEAD)
            if DQ_MODE == 2 and EVEN_Q:  # one bulk reduction of the tile (TMA)
                dQ_desc.atomic_add([dq_row0 + q0, 0], dq)
            else:  # one atomic per element
                tl.atomic_add(dQ_head + offs_q[:, None] * D_HEAD + offs_d[None, :], dq,
                              mask=(offs_q < N_QUERIES)[:, None], sem="relaxed")
        q_ptrs += BLOCK_Q * D_HEAD
        do_ptrs += BLOCK_Q * D_HEAD
    return dk, dv


@triton.jit
def attn_bwd_dkdv(
    Q_ptr, K_ptr, V_ptr, dO_ptr,  # *T contiguous (BH, N_QUERIES | N_KEYS, D_HEAD)
    L_ptr, D_ptr,  # *fp32 (BH, N_QUERIES): log-sum-exp, rowsum(dO * O)
    dK_ptr, dV_ptr,  # *T (BH, N_KEYS, D_HEAD) outputs
    dQ_ptr,  # *fp32 (BH, N_QUERIES, D_HEAD) zeroed accumulator (DQ_MODE 1, 2), unused with 0
    dQ_desc,  # tensor descriptor of dQ_ptr as (BH * N_QUERIES, D_HEAD), block (BLOCK_Q, D_HEAD)
    #           (DQ_MODE 2), else None
    N_QUERIES, N_KEYS, N_CTX_KEY, qk_scale, sm_scale,
    D_HEAD: tl.constexpr, IS_CAUSAL: tl.constexpr,
    DQ_MODE: tl.constexpr,  # 0: no dQ here, 1: atomics per element, 2: bulk (TMA) reductions
    EVEN_Q: tl.constexpr,  # N_QUERIES is a multiple of 128 (so of every BLOCK_Q): unmasked loads
    TMA_LOADS: tl.constexpr,  # Q, dO tiles through per-head tensor descriptors (TMA on Hopper)
    BLOCK_Q: tl.constexpr,  # queries per step
    BLOCK_K: tl.constexpr,  # keys per program
):
    tl.static_assert(BLOCK_K % BLOCK_Q == 0)
    k0 = tl.program_id(0) * BLOCK_K  # program 0 has the most query tiles: it starts first
    _dkdv_program(Q_ptr, K_ptr, V_ptr, dO_ptr, L_ptr, D_ptr, dK_ptr, dV_ptr, dQ_ptr, dQ_desc, k0,
                  tl.program_id(1).to(tl.int64), N_QUERIES, N_KEYS, qk_scale, sm_scale, D_HEAD,
                  IS_CAUSAL, DQ_MODE, EVEN_Q, TMA_LOADS, BLOCK_Q, BLOCK_K)


@triton.jit
def _dkdv_program(Q_ptr, K_ptr, V_ptr, dO_ptr, L_ptr, D_ptr, dK_ptr, dV_ptr, dQ_ptr, dQ_desc,
                  k0, bh, N_QUERIES, N_KEYS, qk_scale, sm_scale, D_HEAD: tl.constexpr,
                  IS_CAUSAL: tl.constexpr, DQ_MODE: tl.constexpr, EVEN_Q: tl.constexpr,
                  TMA_LOADS: tl.constexpr, BLOCK_Q: tl.constexpr, BLOCK_K: tl.constexpr):
    """dK, dV of keys [k0, k0 + BLOCK_K) of head bh (and their share of dQ with DQ_MODE 1, 2)."""
    offs_k = k0 + tl.arange(0, BLOCK_K)
    offs_d = tl.arange(0, D_HEAD)
    kv_offs = bh * N_KEYS * D_HEAD + offs_k[:, None] * D_HEAD + offs_d[None, :]  # (BLOCK_K, D_HEAD)
    k = tl.load(K_ptr + kv_offs, mask=offs_k[:, None] < N_KEYS, other=0.0)
    v = tl.load(V_ptr + kv_offs, mask=offs_k[:, None] < N_KEYS, other=0.0)
    dk = tl.zeros([BLOCK_K, D_HEAD], dtype=tl.float32)
    dv = tl.zeros([BLOCK_K, D_HEAD], dtype=tl.float32)
    head = bh * N_QUERIES * D_HEAD
    Q_head, dO_head, dQ_head = Q_ptr + head, dO_ptr + head, dQ_ptr + head
    L_head, D_head = L_ptr + bh * N_QUERIES, D_ptr + bh * N_QUERIES
    dq_row0 = (bh * N_QUERIES).to(tl.int32)  # the head's first row in dQ_desc
    if TMA_LOADS:  # one descriptor per head: the copy engine zero-fills rows past N_QUERIES
        Q_desc = tl.make_tensor_descriptor(Q_head, [N_QUERIES, D_HEAD], [D_HEAD, 1],
                                           [BLOCK_Q, D_HEAD])
        dO_desc = tl.make_tensor_descriptor(dO_head, [N_QUERIES, D_HEAD], [D_HEAD, 1],
                                            [BLOCK_Q, D_HEAD])
    else:  # placeholders, never read (Triton 3.6 cannot pass None between jit functions)
        Q_desc, dO_desc = Q_head, dO_head
    # Padded keys of a ragged last tile (zeros) get garbage dK/dV rows, never stored. (A runtime
    # `if` that masked such tiles in a second copy of the loop measured up to 1.8x slower.)
    lo = 0
    if IS_CAUSAL:  # queries [k0, k0 + BLOCK_K) are on the diagonal; earlier ones see nothing
        lo = tl.minimum(k0 + BLOCK_K, N_QUERIES)
        dk, dv = _bwd_dkdv_inner(dk, dv, k, v, Q_head, dO_head, L_head, D_head, dQ_head, dQ_desc,
                                 dq_row0, Q_desc, dO_desc, offs_k, k0, lo, N_QUERIES, N_KEYS,
                                 qk_scale, sm_scale, D_HEAD, BLOCK_Q, True, IS_CAUSAL, DQ_MODE,
                                 EVEN_Q, TMA_LOADS)
    dk, dv = _bwd_dkdv_inner(dk, dv, k, v, Q_head, dO_head, L_head, D_head, dQ_head, dQ_desc,
                             dq_row0, Q_desc, dO_desc, offs_k, lo, N_QUERIES, N_QUERIES, N_KEYS,
                             qk_scale, sm_scale, D_HEAD, BLOCK_Q, False, IS_CAUSAL, DQ_MODE, EVEN_Q,
                             TMA_LOADS)
    tl.store(dK_ptr + kv_offs, (dk * sm_scale).to(dK_ptr.dtype.element_ty),
             mask=offs_k[:, None] < N_KEYS)
    tl.store(dV_ptr + kv_offs, dv.to(dV_ptr.dtype.element_ty), mask=offs_k[:, None] < N_KEYS)


@triton.jit
def _bwd_dq_inner(dq, q, do, lse2, delta, K_head, V_head, K_desc, V_desc, offs_q, lo, hi, N_KEYS,
                  qk_scale, D_HEAD: tl.constexpr, BLOCK_K: tl.constexpr, MASK: tl.constexpr,
                  IS_CAUSAL: tl.constexpr, TMA_LOADS: tl.constexpr):
    """Accumulate dQ of one query tile over key tiles [lo, hi). MASK=False: full key tiles,
    unmasked loads, no score mask."""
    offs_k = tl.arange(0, BLOCK_K)
    offs_d = tl.arange(0, D_HEAD)
    k_ptrs = K_head + (lo + offs_k)[:, None] * D_HEAD + offs_d[None, :]  # advanced per step
    v_ptrs = V_head + (lo + offs_k)[:, None] * D_HEAD + offs_d[None, :]
    for k0 in range(lo, hi, BLOCK_K):
        if TMA_LOADS:
            k = K_desc.load([k0, 0])
            v = V_desc.load([k0, 0])
        elif MASK:
            k = tl.load(k_ptrs, mask=(k0 + offs_k)[:, None] < N_KEYS, other=0.0)
            v = tl.load(v_ptrs, mask=(k0 + offs_k)[:, None] < N_KEYS, other=0.0)
        else:
            k = tl.load(k_ptrs)
            v = tl.load(v_ptrs)
        p = tl.exp2(tl.dot(q, tl.trans(k)) * qk_scale - lse2[:, None])  # (BLOCK_Q, BLOCK_K)
        if MASK:
            visible = (k0 + offs_k)[None, :] < N_KEYS
            if IS_CAUSAL:
                visible = visible & ((k0 + offs_k)[None, :] <= offs_q[:, None])
            p = tl.where(visible, p, 0.0)
        dp = tl.dot(do, tl.trans(v))
        ds = (p * (dp - delta[:, None])).to(k.dtype)
        dq = tl.dot(ds, k, dq)  # dQ += dS K
        k_ptrs += BLOCK_K * D_HEAD
        v_ptrs += BLOCK_K * D_HEAD
    return dq


@triton.jit
def attn_bwd_dq(
    Q_ptr, K_ptr, V_ptr, dO_ptr, L_ptr, D_ptr,  # as in attn_bwd_dkdv
    dQ_ptr,  # *T (BH, N_QUERIES, D_HEAD) output
    N_QUERIES, N_KEYS, N_CTX_KEY, qk_scale, sm_scale,
    D_HEAD: tl.constexpr, IS_CAUSAL: tl.constexpr,
    TMA_LOADS: tl.constexpr,  # K, V tiles through per-head tensor descriptors
    BLOCK_Q: tl.constexpr,  # queries per program
    BLOCK_K: tl.constexpr,  # keys per step
):
    tl.static_assert(BLOCK_Q % BLOCK_K == 0)
    q0 = tl.program_id(0) * BLOCK_Q  # (heaviest-first order, as in the forward, measured 3% slower)
    _dq_program(Q_ptr, K_ptr, V_ptr, dO_ptr, L_ptr, D_ptr, dQ_ptr, q0,
                tl.program_id(1).to(tl.int64), N_QUERIES, N_KEYS, qk_scale, sm_scale, D_HEAD,
                IS_CAUSAL, TMA_LOADS, BLOCK_Q, BLOCK_K)


@triton.jit
def _dq_program(Q_ptr, K_ptr, V_ptr, dO_ptr, L_ptr, D_ptr, dQ_ptr, q0, bh, N_QUERIES, N_KEYS,
                qk_scale, sm_scale, D_HEAD: tl.constexpr, IS_CAUSAL: tl.constexpr,
                TMA_LOADS: tl.constexpr, BLOCK_Q: tl.constexpr, BLOCK_K: tl.constexpr):
    """dQ of queries [q0, q0 + BLOCK_Q) of head bh, stepping BLOCK_K keys at a time."""
    offs_q = q0 + tl.arange(0, BLOCK_Q)
    offs_d = tl.arange(0, D_HEAD)
    q_offs = bh * N_QUERIES * D_HEAD + offs_q[:, None] * D_HEAD + offs_d[None, :]
    q = tl.load(Q_ptr + q_offs, mask=offs_q[:, None] < N_QUERIES, other=0.0)
    do = tl.load(dO_ptr + q_offs, mask=offs_q[:, None] < N_QUERIES, other=0.0)
    lse2 = tl.load(L_ptr + bh * N_QUERIES + offs_q, mask=offs_q < N_QUERIES, other=0.0) * LOG2E
    delta = tl.load(D_ptr + bh * N_QUERIES + offs_q, mask=offs_q < N_QUERIES, other=0.0)
    dq = tl.zeros([BLOCK_Q, D_HEAD], dtype=tl.float32)
    n_full = (N_KEYS // BLOCK_K) * BLOCK_K
    if IS_CAUSAL:
        lo = tl.minimum(q0, n_full)
        hi = tl.minimum(q0 + BLOCK_Q, N_KEYS)
    else:
        lo = n_full
        hi = N_KEYS
    K_head = K_ptr + bh * N_KEYS * D_HEAD
    V_head = V_ptr + bh * N_KEYS * D_HEAD
    if TMA_LOADS:
        K_desc = tl.make_tensor_descriptor(K_head, [N_KEYS, D_HEAD], [D_HEAD, 1], [BLOCK_K, D_HEAD])
        V_desc = tl.make_tensor_descriptor(V_head, [N_KEYS, D_HEAD], [D_HEAD, 1], [BLOCK_K, D_HEAD])
    else:
        K_desc, V_desc = K_head, V_head
    dq = _bwd_dq_inner(dq, q, do, lse2, delta, K_head, V_head, K_desc, V_desc, offs_q, 0, lo,
                       N_KEYS, qk_scale, D_HEAD, BLOCK_K, False, IS_CAUSAL, TMA_LOADS)
    dq = _bwd_dq_inner(dq, q, do, lse2, delta, K_head, V_head, K_desc, V_desc, offs_q, lo, hi,
                       N_KEYS, qk_scale, D_HEAD, BLOCK_K, True, IS_CAUSAL, TMA_LOADS)
    tl.store(dQ_ptr + q_offs, (dq * sm_scale).to(dQ_ptr.dtype.element_ty),
             mask=offs_q[:, None] < N_QUERIES)


@triton.jit
def attn_bwd_fused(
    Q_ptr, K_ptr, V_ptr, dO_ptr, L_ptr, D_ptr,  # as in attn_bwd_dkdv
    dK_ptr, dV_ptr, dQ_ptr,  # *T outputs, shaped like K, V and Q
    N_QUERIES, N_KEYS, N_CTX_KEY, qk_scale, sm_scale,
    D_HEAD: tl.constexpr, IS_CAUSAL: tl.constexpr,
    EVEN_Q: tl.constexpr, TMA_LOADS: tl.constexpr,  # as in attn_bwd_dkdv
    BLOCK_Q: tl.constexpr,  # dK/dV: queries per step; dQ: keys per step
    BLOCK_K: tl.constexpr,  # dK/dV: keys per program; dQ: queries per program
):
    """Both backward kernels in one launch (as in Triton's fused-attention tutorial): program j
    computes dK, dV of key tile j, then dQ of query tile j. Causal, key tile j sees the query
    tiles from j on and query tile j the key tiles up to j, so every program does the same
    work: no tail of long programs, and one launch fewer. 7 products per tile pair, no atomics."""
    tl.static_assert(BLOCK_K % BLOCK_Q == 0)
    j0 = tl.program_id(0) * BLOCK_K
    bh = tl.program_id(1).to(tl.int64)
    if j0 < N_KEYS:
        _dkdv_program(Q_ptr, K_ptr, V_ptr, dO_ptr, L_ptr, D_ptr, dK_ptr, dV_ptr, dQ_ptr, dQ_ptr, j0,
                      bh, N_QUERIES, N_KEYS, qk_scale, sm_scale, D_HEAD, IS_CAUSAL, 0, EVEN_Q,
                      TMA_LOADS, BLOCK_Q, BLOCK_K)
    if j0 < N_QUERIES:
        _dq_program(Q_ptr, K_ptr, V_ptr, dO_ptr, L_ptr, D_ptr, dQ_ptr, j0, bh, N_QUERIES, N_KEYS,
                    qk_scale, sm_scale, D_HEAD, IS_CAUSAL, TMA_LOADS, BLOCK_K, BLOCK_Q)
