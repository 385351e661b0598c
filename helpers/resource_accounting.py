"""Lesson 03's measurements: what the lesson's formulas are checked against, and the timed
experiments its cells run with the student's harness.

- Measured counts of lesson 02's model (``helpers.reference.model.ReferenceLM``): parameters
  grouped like ``count_parameters``' keys (``measured_parameters``), FLOPs counted by
  PyTorch's ``FlopCounterMode`` for a forward pass and a training step, with activation
  checkpointing or not (``counted_forward_flops``, ``counted_training_flops``), and the bytes
  autograd saves for the backward pass (``measured_activations``). Naive attention, so every
  product is a matmul the counter sees.
- ``FakeGPU``: work that is queued until ``sync()``, like a GPU's, to test a timing harness
  on a CPU with real clocks.
- ``roofline_points`` and ``time_training_steps``: the lesson's roofline and MFU
  measurements, timed with the student's ``benchmark`` (passed in: nothing here answers an
  exercise; the answers live in ``helpers/reference/resource_accounting.py``).

Used by ``solutions/03_resource_accounting.ipynb``.
Test: ``python -m pytest grader/tests/test_resource_accounting.py -q``.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterable

import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from helpers.profiling import checkpointed_forward, loss_fn, make_train_step, saved_tensor_bytes
from helpers.reference.model import ModelConfig, ReferenceLM

COMPONENTS = ("token_embeddings", "attention", "ffn", "norms", "lm_head")


def measured_parameters(model: torch.nn.Module) -> dict[str, int]:
    """Parameters of a real ``ReferenceLM``, grouped like ``count_parameters``' keys."""
    groups = dict.fromkeys(COMPONENTS, 0)
    for name, p in model.named_parameters():
        if name.startswith(("token_embeddings", "lm_head")):
            key = name.split(".")[0]
        else:
            key = "attention" if ".attn." in name else "ffn" if ".ffn." in name else "norms"
        groups[key] += p.numel()
    return groups


def counted_forward_flops(cfg: ModelConfig, batch: int, seq: int) -> FlopCounterMode:
    """The counter after a real forward pass of ``ReferenceLM(cfg)`` on (batch, seq) tokens
    (``get_total_flops()``, or ``get_flop_counts()`` by module)."""
    model = ReferenceLM(cfg, attn_backend="naive")
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(torch.randint(0, cfg.vocab_size, (batch, seq)))
    return counter


def counted_training_flops(cfg: ModelConfig, batch: int, seq: int,
                           checkpointing: bool = False) -> int:
    """FLOPs of a real forward + backward pass, counted by PyTorch; with ``checkpointing``
    every block runs forward again in the backward pass (the whole block: no early stop)."""
    model = ReferenceLM(cfg, attn_backend="naive")
    ids = torch.randint(0, cfg.vocab_size, (batch, seq))
    with FlopCounterMode(display=False) as counter:
        logits = checkpointed_forward(model, ids, early_stop=False) if checkpointing else model(ids)
        F.cross_entropy(logits.flatten(0, 1), ids.flatten()).backward()
    return counter.get_total_flops()


def measured_activations(cfg: ModelConfig, batch: int, seq: int) -> int:
    """Bytes autograd saves for backward in a float32 forward pass and its loss (the
    parameters excluded)."""
    model = ReferenceLM(cfg)
    x, y = torch.randint(0, cfg.vocab_size, (2, batch, seq))
    _, saved = saved_tensor_bytes(lambda: loss_fn(model, x, y), exclude=model)
    return saved


class FakeGPU:
    """``launch()`` queues work that takes ``ms`` milliseconds; ``sync()`` waits for the
    queue, like a GPU's ``torch.cuda.synchronize``."""

    def __init__(self, ms: float):
        self.ms, self.queued = ms, 0.0

    def launch(self) -> None:
        self.queued += self.ms / 1e3

    def sync(self) -> None:
        time.sleep(self.queued)
        self.queued = 0.0


def roofline_points(device: str, dtypes: Iterable[torch.dtype], benchmark: Callable,
                    intensity: Callable, warmup: int,
                    repeats: int) -> list[tuple[str, float, float]]:
    """Measured ``(label, FLOPs per byte, FLOP/s)``: square matmuls of growing size in each
    dtype (their intensity from ``intensity(m, k, n, bytes)``), then two memory-bound
    operations in fp32: an addition (1 FLOP per 3 elements moved) and RMSNorm (about 4 FLOPs
    per element, read once and written once). Timed with ``benchmark(fn, warmup, repeats)``
    (its median)."""
    cuda = str(device).startswith("cuda")

    def seconds(fn):
        return benchmark(fn, warmup=warmup, repeats=repeats)["median"]

    points = []
    for dtype in dtypes:
        for n in ((256, 1024, 4096, 8192) if cuda else (32, 128, 384)):
            a, b = (torch.randn(n, n, device=device, dtype=dtype) for _ in range(2))
            points.append((f"matmul {str(dtype)[6:]}", intensity(n, n, n, dtype.itemsize),
                           2 * n**3 / seconds(lambda: a @ b)))
    v = torch.randn(2**26 if cuda else 2**23, device=device)  # larger than the caches
    points.append(("add fp32", 1 / (3 * 4), v.numel() / seconds(lambda: v + v)))
    h = torch.randn(v.numel() // 1024, 1024, device=device)
    norm = torch.nn.RMSNorm(1024, device=device)
    with torch.no_grad():
        points.append(("RMSNorm fp32", 4 / (2 * 4), 4 * h.numel() / seconds(lambda: norm(h))))
    return points


def time_training_steps(model: torch.nn.Module, batch_size: int,
                        variants: dict[str, tuple[torch.dtype, bool]], benchmark: Callable,
                        warmup: int, repeats: int) -> dict[str, float]:
    """Median seconds of a training step (forward, backward, AdamW) of ``model`` on a random
    batch of ``batch_size`` full-context sequences, per variant ``{label: (autocast dtype,
    compiled)}``, timed with ``benchmark`` (3 more warm-up steps when compiled). On a GPU fp32
    matmuls run on tensor cores (TF32)."""
    cfg, device = model.cfg, next(model.parameters()).device
    x, y = torch.randint(0, cfg.vocab_size, (2, batch_size, cfg.context_length), device=device)
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
    times = {}
    for label, (dtype, compiled) in variants.items():
        step, _ = make_train_step(torch.compile(model) if compiled else model, x, y, dtype=dtype)
        result = benchmark(step, warmup=warmup + (3 if compiled else 0), repeats=repeats)
        times[label] = result["median"]
    return times
