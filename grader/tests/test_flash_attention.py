"""Tests for lesson 04: FlashAttention-2 in PyTorch and Triton.

The teaching implementations are the reference solutions of solutions/04_flash_attention.ipynb
(loaded with grader.nbmodule); the tuned kernel is kernels/flash_attention_fast.py.

Cross-checks against naive attention in float64 and against F.scaled_dot_product_attention:
the forward output, all three gradients, causal and not, ragged sequence lengths, head dims
16..128, 3-D and 4-D inputs, and the saved tensors (Q, K, V, O, L).

Run: ``pytest grader/tests/test_flash_attention.py`` (CPU: Triton's interpreter, switched on
below, small sizes, under a minute; with a CUDA GPU: the same tests at larger sizes, plus
bf16 and the autotuned kernel).
"""
from __future__ import annotations

import math
import os

import pytest
import torch
import torch.nn.functional as F

# Triton reads this when kernels are decorated: before they import
if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

import kernels.flash_attention_fast as fast
from grader.nbmodule import load_notebook
from helpers.env import REPO_ROOT

lesson = load_notebook(REPO_ROOT / "solutions" / "04_flash_attention.ipynb")
FlashAttentionPytorch = lesson.FlashAttentionPytorch
FlashAttentionTriton = lesson.FlashAttentionTriton
naive_attention = lesson.naive_attention

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
ON_GPU = DEVICE == "cuda"
# The fast kernel with one fixed config per head dim (autotuning every test shape would compile for
# minutes); each of its dQ modes is tested below.
FIXED = fast.FastOptions(autotune=False)
IMPLS = {
    "pytorch": FlashAttentionPytorch.apply,
    "triton": FlashAttentionTriton.apply,
    "triton_fast": lambda q, k, v, causal: fast.FlashAttentionTriton.apply(q, k, v, causal, FIXED),
}
TRITON_IMPLS = ["triton", "triton_fast"]
# Lengths around the 64-row tiles: one row, less than a tile, ragged 2 and 3 tiles; larger on a GPU.
SEQ_LENS = [1, 17, 100, 130] + ([1000, 2049] if ON_GPU else [])

# Tolerances (atol, rtol) per dtype for O and for the gradients, against a float64 reference
# computed from the same (rounded) inputs. Set about 3-10x above the errors seen on N(0, 1) inputs.
TOLERANCES = {
    torch.float64: ((1e-9, 1e-9), (1e-9, 1e-9)),  # PyTorch version: only summation order differs
    # fp32: exact products on the CPU (errors ~1e-6); on a GPU tl.dot rounds fp32 to TF32
    # (10-bit mantissa, like fp16), so the GPU gets fp16's tolerances.
    torch.float32: ((5e-3, 5e-3), (1e-2, 1e-2)) if ON_GPU else ((2e-5, 1e-4), (2e-5, 1e-4)),
    # eps 1e-3: P and dS are rounded to fp16 before dots
    torch.float16: ((5e-3, 5e-3), (1e-2, 1e-2)),
    torch.bfloat16: ((3e-2, 3e-2), (6e-2, 6e-2)),  # eps 8e-3: 8x fp16's
}
# The interpreter computes bf16 tl.dot wrongly (Triton issue #11584): bf16 only on a GPU.
TRITON_DTYPES = [torch.float32, torch.float16] + ([torch.bfloat16] if ON_GPU else [])
HINTS = {
    "O": "forward output: check the online softmax (running max m, sum l, rescale alpha) and the "
         "causal/ragged masks",
    "dQ": "dQ = dS K / sqrt(d): check P recomputed from L, D = rowsum(dO * O), the masks and the "
          "scale",
    "dK": "dK = dS^T Q / sqrt(d): check dS = P * (dP - D), the masks and the scale",
    "dV": "dV = P^T dO: check P recomputed from L and the masks",
    "L": "L must be the natural-log logsumexp of each row of scaled, masked scores",
}


def assert_close(name, got, want, atol, rtol, where=""):
    """Elementwise |got - want| <= atol + rtol * |want|, with a message that says what is off."""
    assert got.shape == want.shape, (f"{name}{where}: shape {tuple(got.shape)}, expected "
                                     f"{tuple(want.shape)}")
    err = (got.double() - want.double()).abs()
    excess = err - (atol + rtol * want.double().abs())
    if not torch.isfinite(got).all():
        raise AssertionError(f"{name}{where}: {int((~torch.isfinite(got)).sum())} non-finite "
                             f"values. {HINTS.get(name, '')}")
    if (excess > 0).any():
        idx = tuple(int(i) for i in torch.unravel_index(excess.argmax(), excess.shape))
        raise AssertionError(
            f"{name}{where}: {int((excess > 0).sum())} of {err.numel()} elements off; max |error| "
            f"{err.max():.2e}; worst at index {idx}: got {got[idx].item():.6f}, expected "
            f"{want[idx].item():.6f} (atol={atol}, rtol={rtol}). {HINTS.get(name, '')}")


def make_qkv(shape_q, n_k, dtype, seed=0):
    """Random N(0, 1) Q (shape_q) and K, V with n_k rows, leaves that require grad."""
    gen = torch.Generator().manual_seed(seed)
    shape_k = (*shape_q[:-2], n_k, shape_q[-1])
    return [torch.randn(s, generator=gen, dtype=torch.float64).to(DEVICE, dtype).requires_grad_()
            for s in (shape_q, shape_k, shape_k)]


def run(impl, Q, K, V, is_causal, dO=None):
    """Output and gradients (dQ, dK, dV) for the upstream gradient dO (random if not given)."""
    O = impl(Q, K, V, is_causal)
    if dO is None:
        dO = torch.randn(O.shape, generator=torch.Generator().manual_seed(1),
                         dtype=torch.float64).to(O)
    return O, torch.autograd.grad(O, (Q, K, V), dO), dO


def check_against_float64(impl, Q, K, V, is_causal, where):
    """Compare ``impl(Q, K, V, is_causal)`` with naive attention in float64 on the same inputs."""
    O, grads, dO = run(impl, Q, K, V, is_causal)
    ref_inputs = [t.detach().double().requires_grad_() for t in (Q, K, V)]
    O_ref, grads_ref, _ = run(naive_attention, *ref_inputs, is_causal, dO.double())
    (atol, rtol), (gatol, grtol) = TOLERANCES[Q.dtype]
    assert O.dtype == Q.dtype, f"O{where}: dtype {O.dtype}, expected the input dtype {Q.dtype}"
    assert_close("O", O, O_ref, atol, rtol, where)
    for g_name, g, g_ref in zip(("dQ", "dK", "dV"), grads, grads_ref):
        assert_close(g_name, g, g_ref, gatol, grtol, where)


# ----------------------------------------------------------------------------------------------
# The reference itself
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("is_causal", [False, True])
@pytest.mark.parametrize("n_q,n_k", [(17, 17), (100, 130)])
def test_naive_attention_matches_sdpa(n_q, n_k, is_causal):
    Q, K, V = (t.detach().cpu() for t in make_qkv((2, 3, n_q, 32), n_k, torch.float64))
    assert_close("O", naive_attention(Q, K, V, is_causal),
                 F.scaled_dot_product_attention(Q, K, V, is_causal=is_causal),
                 1e-12, 1e-12, " (naive_attention vs F.scaled_dot_product_attention)")


# ----------------------------------------------------------------------------------------------
# Forward and gradients against float64 naive attention
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("is_causal", [False, True], ids=["full", "causal"])
@pytest.mark.parametrize("seq_len", SEQ_LENS)
@pytest.mark.parametrize("name,dtype", [("pytorch", torch.float64)]
                         + [(n, d) for n in TRITON_IMPLS for d in TRITON_DTYPES],
                         ids=lambda x: str(x).replace("torch.", ""))
def test_forward_and_gradients(name, dtype, seq_len, is_causal):
    Q, K, V = make_qkv((2, 2, seq_len, 64), seq_len, dtype)
    check_against_float64(IMPLS[name], Q, K, V, is_causal,
                          f" [{name}, {dtype}, seq {seq_len}, causal={is_causal}]")


@pytest.mark.parametrize("d_head", [16, 32, 64, 128])
@pytest.mark.parametrize("name", ["pytorch"] + TRITON_IMPLS)
def test_head_dims(name, d_head):
    dtype = torch.float64 if name == "pytorch" else torch.float32
    Q, K, V = make_qkv((2, 100, d_head), 100, dtype)
    check_against_float64(IMPLS[name], Q, K, V, True,
                          f" [{name}, d_head {d_head}, seq 100, causal]")


@pytest.mark.parametrize("is_causal", [False, True], ids=["full", "causal"])
@pytest.mark.parametrize("n_q,n_k", [(100, 130), (130, 100)])
@pytest.mark.parametrize("name", ["pytorch"] + TRITON_IMPLS)
def test_different_query_and_key_lengths(name, n_q, n_k, is_causal):
    """Cross-attention shapes; causal masking is top-left aligned (query i sees keys j <= i), like
    SDPA."""
    dtype = torch.float64 if name == "pytorch" else torch.float32
    Q, K, V = make_qkv((1, 2, n_q, 32), n_k, dtype)
    check_against_float64(IMPLS[name], Q, K, V, is_causal,
                          f" [{name}, n_q {n_q}, n_k {n_k}, causal={is_causal}]")


def check_fast(options, Q, K, V, is_causal, where):
    """check_against_float64 for the fast kernel run with ``options``."""
    check_against_float64(lambda q, k, v, c: fast.FlashAttentionTriton.apply(q, k, v, c, options),
                          Q, K, V, is_causal, where)


@pytest.mark.parametrize("is_causal", [False, True], ids=["full", "causal"])
@pytest.mark.parametrize("tma_loads", [True, False], ids=["tma_loads", "pointer_loads"])
@pytest.mark.parametrize("dq_mode", ["split", "fused", "atomic", "tma"])
@pytest.mark.parametrize("seq_len", [130, 256])
def test_fast_dq_modes(dq_mode, tma_loads, seq_len, is_causal):
    """Each backward and each way of loading tiles; seq 256 (a multiple of 128) takes the
    unmasked-load path (EVEN_Q) and, on a GPU, the TMA reductions of "tma"."""
    Q, K, V = make_qkv((1, 2, seq_len, 32), seq_len, torch.float32)
    options = fast.FastOptions(dq_mode=dq_mode, tma_loads=tma_loads, autotune=False)
    check_fast(options, Q, K, V, is_causal,
               f" [triton_fast, seq {seq_len}, {options}, causal={is_causal}]")


@pytest.mark.parametrize("is_causal", [False, True], ids=["full", "causal"])
@pytest.mark.parametrize("n_q,n_k", [(100, 130), (130, 100)])
def test_fast_fused_cross_lengths(n_q, n_k, is_causal):
    """The fused backward's programs cover max(n_q, n_k) tiles: each part must skip the rest."""
    Q, K, V = make_qkv((1, 2, n_q, 32), n_k, torch.float32)
    check_fast(fast.FastOptions(dq_mode="fused", autotune=False), Q, K, V, is_causal,
               f" [triton_fast fused, n_q {n_q}, n_k {n_k}, causal={is_causal}]")


def test_fast_options_are_arguments():
    """Modes are per call: two calls with different options in one process, no module state."""
    Q, K, V = make_qkv((1, 2, 64, 16), 64, torch.float32)
    for mode in ("atomic", "split"):
        check_fast(fast.FastOptions(dq_mode=mode, autotune=False), Q, K, V, True,
                   f" [dq_mode={mode}]")
    with pytest.raises(ValueError, match="dq_mode"):
        fast.FastOptions(dq_mode="tiled")
    assert not any(hasattr(fast, name)
                   for name in ("DQ_MODE", "AUTOTUNE")), "modes must not be globals"


# ----------------------------------------------------------------------------------------------
# Against PyTorch's scaled_dot_product_attention
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("is_causal", [False, True], ids=["full", "causal"])
@pytest.mark.parametrize("name", ["pytorch"] + TRITON_IMPLS)
def test_matches_sdpa(name, is_causal):
    dtype = torch.bfloat16 if ON_GPU else torch.float32
    seq_len = 1000 if ON_GPU else 130
    Q, K, V = make_qkv((2, 4, seq_len, 64), seq_len, dtype)
    O, grads, dO = run(IMPLS[name], Q, K, V, is_causal)
    O_ref, grads_ref, _ = run(
        lambda q, k, v, c: F.scaled_dot_product_attention(q, k, v, is_causal=c),
        Q, K, V, is_causal, dO)
    # Both sides round: allow the sum of two implementations' errors.
    (atol, rtol), (gatol, grtol) = TOLERANCES[dtype]
    where = f" [{name} vs F.scaled_dot_product_attention, {dtype}, causal={is_causal}]"
    assert_close("O", O, O_ref, 2 * atol, 2 * rtol, where)
    for g_name, g, g_ref in zip(("dQ", "dK", "dV"), grads, grads_ref):
        assert_close(g_name, g, g_ref, 2 * gatol, 2 * grtol, where)


# ----------------------------------------------------------------------------------------------
# What is saved for the backward pass
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("is_causal", [False, True], ids=["full", "causal"])
@pytest.mark.parametrize("shape", [(2, 100, 32), (2, 3, 100, 32)], ids=["3d", "4d"])
@pytest.mark.parametrize("name", ["pytorch"] + TRITON_IMPLS)
def test_saves_q_k_v_o_and_logsumexp(name, shape, is_causal):
    dtype = torch.float64 if name == "pytorch" else torch.float32
    Q, K, V = make_qkv(shape, shape[-2], dtype)
    O = IMPLS[name](Q, K, V, is_causal)
    assert O.shape == Q.shape, (f"{name}: output shape {tuple(O.shape)}, expected the shape of Q "
                                f"{tuple(Q.shape)}")
    saved = O.grad_fn.saved_tensors
    assert len(saved) == 5, (f"{name}: save_for_backward must save exactly (Q, K, V, O, L), got "
                             f"{len(saved)} tensors")
    for label, s, t in zip("QKVO", saved, (Q, K, V, O)):
        assert s.shape == t.shape and s.data_ptr() == t.data_ptr(), (
            f"{name}: saved tensor {label} should be {label} itself (shape {tuple(t.shape)}), "
            f"got shape {tuple(s.shape)}{' (a copy)' if s.shape == t.shape else ''}")
    L = saved[4]
    expected_dtype = torch.promote_types(dtype, torch.float32)
    assert L.shape == Q.shape[:-1], (f"{name}: L has shape {tuple(L.shape)}, expected "
                                     f"{tuple(Q.shape[:-1])} (one per query)")
    assert L.dtype == expected_dtype, f"{name}: L has dtype {L.dtype}, expected {expected_dtype}"
    scores = Q.detach().double() @ K.detach().double().transpose(-2, -1) / math.sqrt(shape[-1])
    if is_causal:
        scores = scores.masked_fill(~torch.ones(scores.shape[-2:], dtype=torch.bool,
                                                device=DEVICE).tril(), float("-inf"))
    atol = 1e-9 if dtype == torch.float64 else (1e-2 if ON_GPU else 1e-5)  # TF32 scores on a GPU
    assert_close("L", L, torch.logsumexp(scores, dim=-1), atol, 0.0,
                 f" [{name}, {len(shape)}-D, causal={is_causal}]")


def test_triton_rejects_unsupported_head_dim():
    Q, K, V = make_qkv((1, 20, 48), 20, torch.float32)
    with pytest.raises(ValueError, match="head dim"):
        FlashAttentionTriton.apply(Q, K, V, False)


# ----------------------------------------------------------------------------------------------
# GPU only: the autotuned path
# ----------------------------------------------------------------------------------------------


@pytest.mark.gpu  # autotuning needs a CUDA GPU (skipped without one: conftest)
@pytest.mark.parametrize("is_causal", [False, True], ids=["full", "causal"])
@pytest.mark.parametrize("tma_loads", [True, False], ids=["tma_loads", "pointer_loads"])
@pytest.mark.parametrize("dq_mode", ["split", "fused", "atomic", "tma"])
@pytest.mark.parametrize("seq_len", [2049, 2048])
def test_fast_autotuned_bf16(dq_mode, tma_loads, seq_len, is_causal):
    Q, K, V = make_qkv((2, 4, seq_len, 64), seq_len, torch.bfloat16)
    options = fast.FastOptions(dq_mode=dq_mode, tma_loads=tma_loads)
    check_fast(options, Q, K, V, is_causal,
               f" [triton_fast autotuned, bf16, seq {seq_len}, {options}, causal={is_causal}]")
