"""Tests for helpers.flash_attention, lesson 04's measuring harness: the FLOP formula, an SDPA
pinned to a backend, and a training step timed on the CPU (the GPU timings need a GPU).

Run: ``python -m pytest grader/tests/test_flash_attention_harness.py -q``.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend

from helpers.flash_attention import attention_flops, sdpa_with, training_step_stats
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
