"""Reference implementations of the training pieces lesson 02's students write themselves.

``helpers.training.train`` uses these when a hook is not passed. They answer lesson 02's
exercises (``get_batch``, the cosine schedule, gradient clipping, cross-entropy, checkpoints),
so ``grader.release`` leaves this module out of lesson 02's student bundle; there, the lesson
passes the student's own functions, with the same signatures.

Test: ``python -m pytest grader/tests/test_training.py -q``.
"""
from __future__ import annotations

import math
import os
from collections.abc import Iterable
from typing import BinaryIO

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

ANSWERS = ("02_transformer_lm",)  # grader.release: not shipped before lesson 02 is done


def get_batch(data: np.ndarray, batch_size: int, context_length: int, device: str,
              rng: np.random.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Random windows of ``data``: inputs x and next-token targets y, both (batch_size,
    context_length) int64 on ``device``, with ``y[:, t] == x[:, t + 1]`` (from the token after).

    Start positions are uniform in ``[0, len(data) - context_length)``, drawn from ``rng`` or
    NumPy's global RNG.
    """
    if len(data) <= context_length:
        raise ValueError(f"{len(data)} tokens cannot fill a window of context_length+1="
                         f"{context_length + 1}")
    if rng is None:
        starts = np.random.randint(0, len(data) - context_length, size=batch_size)
    else:
        starts = rng.integers(0, len(data) - context_length, size=batch_size)
    offsets = np.arange(context_length + 1)
    windows = np.asarray(data[starts[:, None] + offsets]).astype(np.int64)  # (batch, context+1)
    windows = torch.from_numpy(windows)
    if str(device).startswith("cuda"):
        windows = windows.pin_memory().to(device, non_blocking=True)
    else:
        windows = windows.to(device)
    return windows[:, :-1], windows[:, 1:]


def cosine_lr_schedule(t: int, max_lr: float, min_lr: float, warmup_iters: int,
                       cosine_cycle_iters: int) -> float:
    """Linear warm-up to ``max_lr``, cosine decay to ``min_lr`` at ``cosine_cycle_iters``, then
    flat.

    lr(t) = max_lr * t / warmup_iters                                    for t < warmup_iters
          = min_lr + (1 + cos(pi (t - warmup) / (cycle - warmup))) / 2 * (max_lr - min_lr)
                                                                         until cosine_cycle_iters
          = min_lr                                                       after
    """
    if t < warmup_iters:
        return max_lr * t / warmup_iters
    if t <= cosine_cycle_iters and cosine_cycle_iters > warmup_iters:
        progress = (t - warmup_iters) / (cosine_cycle_iters - warmup_iters)
        return min_lr + 0.5 * (1 + math.cos(math.pi * progress)) * (max_lr - min_lr)
    return min_lr


def clip_gradients(parameters: Iterable[nn.Parameter], max_l2_norm: float) -> None:
    """Scale all gradients together so that their global L2 norm is at most ``max_l2_norm``."""
    torch.nn.utils.clip_grad_norm_(parameters, max_l2_norm)


def cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean of -log softmax(logits)[target] over all positions; logits (..., V), targets (...)."""
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))


def save_checkpoint(model: nn.Module, optimizer: torch.optim.Optimizer, iteration: int,
                    out: str | os.PathLike | BinaryIO) -> None:
    """``torch.save({"model", "optimizer", "iteration"})`` to a path or a binary file."""
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "iteration": iteration}, out)


def load_checkpoint(src: str | os.PathLike | BinaryIO, model: nn.Module,
                    optimizer: torch.optim.Optimizer) -> int:
    """Restore model and optimizer states saved by ``save_checkpoint``; returns the iteration."""
    state = torch.load(src, map_location="cpu", weights_only=True)
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    return int(state["iteration"])


# train()'s hooks, by keyword (its arguments of the same names override these).
REFERENCE_HOOKS = {"get_batch": get_batch, "lr_schedule": cosine_lr_schedule,
                   "clip_gradients": clip_gradients, "loss_fn": cross_entropy,
                   "save_checkpoint": save_checkpoint, "load_checkpoint": load_checkpoint}
