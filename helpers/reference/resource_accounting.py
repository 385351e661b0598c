"""Reference answers of lesson 03 (resource accounting), for the benchmark and later lessons:
parameter, FLOP and memory counts of lesson 02's model, and a benchmarking harness.

- The formulas are lesson 03's (``solutions/03_resource_accounting.ipynb`` derives each one):
  matrix-product FLOPs only (2 per multiply-add, the full T x T attention scores, as
  ``torch.utils.flop_counter`` counts them); memory = fp32 parameters, gradients and AdamW
  state, plus the activations that ``helpers.reference.model.ReferenceLM`` saves for backward.
- Checked against measurement (``sum(p.numel())``, ``FlopCounterMode``, the tensors autograd
  saves, peak memory) and against the lesson's solution in
  ``grader/tests/test_resource_accounting.py``.
- It answers lesson 03's exercises, so lesson 03's student bundle leaves it out (``ANSWERS``).

Test: ``python -m pytest grader/tests/test_resource_accounting.py -q``.
"""
from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import torch

from helpers.reference.model import ModelConfig

ANSWERS = ("03_resource_accounting",)  # answers lesson 03: left out of its student bundle


def count_parameters(cfg: ModelConfig) -> dict[str, int]:
    """Parameters of ``ReferenceLM(cfg)`` by component."""
    V, d, L = cfg.vocab_size, cfg.d_model, cfg.num_layers
    return {"token_embeddings": V * d, "attention": L * 4 * d * d, "ffn": L * 3 * d * cfg.d_ff,
            "norms": (2 * L + 1) * d, "lm_head": d * V}


def forward_flops(cfg: ModelConfig, batch_size: int, seq_len: int) -> dict[str, int]:
    """Matrix-product FLOPs of one forward pass, by component."""
    B, T, d, L = batch_size, seq_len, cfg.d_model, cfg.num_layers
    return {"attention_projections": 8 * L * B * T * d * d,
            "attention_scores": 4 * L * B * T * T * d,
            "ffn": 6 * L * B * T * d * cfg.d_ff,
            "lm_head": 2 * B * T * d * cfg.vocab_size}


def training_flops(cfg: ModelConfig, batch_size: int, seq_len: int,
                   checkpointing: bool = False) -> int:
    """Forward + backward (3x forward); checkpointed blocks run forward once more."""
    fwd = forward_flops(cfg, batch_size, seq_len)
    return 3 * sum(fwd.values()) + (sum(fwd.values()) - fwd["lm_head"] if checkpointing else 0)


def training_memory(cfg: ModelConfig, batch_size: int, seq_len: int,
                    dtype: torch.dtype = torch.float32,
                    checkpointing: bool = False) -> dict[str, int]:
    """Bytes of an AdamW training step: fp32 state (16 N) and the activations saved for backward."""
    n = sum(count_parameters(cfg).values())
    d, L, tokens = cfg.d_model, cfg.num_layers, batch_size * seq_len
    per_layer = 11 * d + 4 * cfg.d_ff + cfg.num_heads + 2  # elements saved per token and layer
    layers = L * d + per_layer if checkpointing else L * per_layer
    # ln_final (3 d + 1) in dtype; the fp32 log-softmax (V); int64 ids and targets (16 bytes)
    activations = tokens * ((layers + 3 * d + 1) * dtype.itemsize + 4 * cfg.vocab_size + 16)
    return {"parameters": 4 * n, "gradients": 4 * n, "optimizer_state": 8 * n,
            "activations": activations}


def model_flops_utilization(cfg: ModelConfig, batch_size: int, seq_len: int, step_seconds: float,
                            peak_flops: float) -> float:
    return training_flops(cfg, batch_size, seq_len) / step_seconds / peak_flops


def benchmark(fn: Callable[[], object], warmup: int = 3, repeats: int = 10,
              sync: Callable[[], object] | None = None) -> dict:
    """Median, min, max and all times (s) of ``repeats`` calls after ``warmup``, synchronized."""
    if sync is None:
        sync = torch.cuda.synchronize if torch.cuda.is_available() else (lambda: None)
    for _ in range(warmup):
        fn()
    sync()
    times = []
    for _ in range(repeats):
        sync()
        start = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - start)
    return {"median": statistics.median(times), "min": min(times), "max": max(times),
            "times": times}
