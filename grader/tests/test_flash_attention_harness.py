"""Tests for helpers.flash_attention, lesson 04's harness: the tests' tools (the oracle,
check_close's message, the backward cases), the wrappers' plumbing (input checks, flattening,
D = rowsum(dO * O)), the FLOP formula, an SDPA pinned to a backend, and a training step timed
on the CPU (the GPU timings need a GPU).

Run: ``python -m pytest grader/tests/test_flash_attention_harness.py -q``.
"""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend

from helpers.flash_attention import (
    attention_flops,
    backward_case,
    backward_inputs,
    check_close,
    check_inputs,
    flatten_heads,
    hide_future,
    make_qkv,
    nan_after,
    oracle,
    sdpa_with,
    training_step_stats,
)
from helpers.reference.model import ModelConfig


def test_attention_flops():
    # QK^T and PV: 2 products of 2 * seq * seq * d FLOPs per (batch, head)
    assert attention_flops(1, 1, 128, 64, False, "fwd") == 4 * 128 * 128 * 64
    assert attention_flops(2, 3, 128, 64, True, "fwd") == 2 * 3 * 2 * 128 * 128 * 64
    assert attention_flops(1, 1, 8, 8, False, "fwd+bwd") == 3.5 * 4 * 8 * 8 * 8


def test_sdpa_with_a_backend_is_sdpa():
    q, k, v = torch.randn(3, 1, 2, 16, 8).unbind(0)
    out = sdpa_with(SDPBackend.MATH)(q, k, v, True)
    torch.testing.assert_close(out, F.scaled_dot_product_attention(q, k, v, is_causal=True))


def test_training_step_stats_on_the_cpu():
    cfg = ModelConfig(vocab_size=64, context_length=16, d_model=32, num_layers=1, num_heads=2,
                      d_ff=64)
    seconds, peak = training_step_stats("sdpa", 16, cfg, 64, "cpu", steps=1)
    assert 0 < seconds < 10 and math.isnan(peak)


def test_oracle_is_attention_and_its_gradients():
    Q, K, V = make_qkv(2, 5, 8, dtype=torch.float64, device="cpu")
    S = hide_future(Q @ K.transpose(-2, -1) / math.sqrt(8))
    assert S[0, 0, 1] == float("-inf") and S[0, 1, 0] != float("-inf")  # query 0 sees key 0 only
    want = torch.softmax(S, -1) @ V
    torch.testing.assert_close(oracle(Q, K, V, True), want)
    dO = torch.randn(2, 5, 8, dtype=torch.float64)
    q, k, v = (t.clone().requires_grad_() for t in (Q, K, V))
    (torch.softmax(hide_future(q @ k.transpose(-2, -1) / math.sqrt(8)), -1) @ v).backward(dO)
    for got, w in zip(oracle(Q, K, V, True, dO), (want, q.grad, k.grad, v.grad)):
        torch.testing.assert_close(got, w)


def test_check_close_names_the_tensor_the_element_and_the_hint():
    want = torch.zeros(2, 3)
    check_close("O", want + 1e-7, want, (1e-6, 0.0))
    got = want.clone()
    got[1, 2] = 0.5
    with pytest.raises(AssertionError, match=r"dK differs at \(1, 2\).*1 of 6.*check the scale"):
        check_close("dK", got, want, (1e-6, 0.0), "check the scale")
    with pytest.raises(AssertionError, match="differs"):  # NaN is never close
        check_close("O", nan_after(want[None, :, :, None], 1)[0, :, :, 0], want, (1.0, 1.0))
    with pytest.raises(AssertionError, match=r"shape \(2,\), expected \(2, 3\)"):
        check_close("L", torch.zeros(2), want, (1.0, 1.0))


def test_nan_after_marks_the_later_keys_only():
    V = torch.zeros(2, 5, 4)
    marked = nan_after(V, 3)
    assert marked[:, :3].isfinite().all() and marked[:, 3:].isnan().all() and V.isfinite().all()


def test_backward_case_gives_the_oracles_forward_and_gradients():
    (Q, K, V, O, L, dO), grads = backward_case(1, 2, 9, 16, is_causal=True, device="cpu")
    S = hide_future(Q.double() @ K.double().transpose(-2, -1) / 4)
    assert O.dtype == torch.float32 and L.dtype == torch.float32 and L.shape == (1, 2, 9)
    torch.testing.assert_close(L, torch.logsumexp(S, -1).float())
    torch.testing.assert_close(O, oracle(Q, K, V, True).float())
    for got, want in zip(grads, oracle(Q, K, V, True, dO)[1:]):
        torch.testing.assert_close(got, want)


def test_check_inputs_refuses_what_the_kernels_cannot_take(monkeypatch):
    q = torch.zeros(1, 2, 8, 16)
    monkeypatch.setenv("TRITON_INTERPRET", "1")  # a CPU tensor is fine for the interpreter
    check_inputs(q, q, q)
    for args, match in [((q[0, 0], q[0, 0], q[0, 0]), "3-D or 4-D"),
                        ((q, q[..., :4, :], q), "expected Q"),
                        ((q[..., :8], q[..., :8], q[..., :8]), "head dim"),
                        ((q, q.half(), q), "one dtype"),
                        ((q.double(), q.double(), q.double()), "one dtype")]:
        with pytest.raises(ValueError, match=match):
            check_inputs(*args)
    monkeypatch.setenv("TRITON_INTERPRET", "0")
    with pytest.raises(RuntimeError, match="CUDA GPU"):
        check_inputs(q, q, q)


def test_flatten_heads_and_backward_inputs():
    Q, K, V = make_qkv(2, 3, 7, 16, device="cpu")
    q, k = flatten_heads(Q, K.transpose(-2, -1).transpose(-2, -1))
    assert q.shape == (6, 7, 16) and q.is_contiguous() and torch.equal(q[4], Q[1, 1])
    assert torch.equal(k, K.reshape(6, 7, 16))
    O, dO = torch.randn(2, 3, 7, 16), torch.randn(2, 3, 7, 16)
    L = torch.randn(2, 3, 7, dtype=torch.float64)
    *tensors, lse, delta = backward_inputs(Q, K, V, O, L, dO)
    assert [t.shape for t in tensors] == [(6, 7, 16)] * 4
    assert lse.dtype == delta.dtype == torch.float32 and lse.shape == delta.shape == (6, 7)
    torch.testing.assert_close(delta, (dO * O).sum(-1).reshape(6, 7))
    torch.testing.assert_close(lse, L.float().reshape(6, 7))
