"""A training loop for language models, with every piece lesson 02 builds as a swappable hook.

- ``train(model, train_data, valid_data, cfg)`` runs AdamW on random windows of a token array
  with a warm-up + cosine learning-rate schedule and gradient clipping, logs losses, throughput
  and the learning rate into a ``History``, and checkpoints. Each piece is a keyword argument
  (``get_batch``, ``lr_schedule``, ``clip_gradients``, ``loss_fn``, ``optimizer``,
  ``save_checkpoint``, ``load_checkpoint``) that defaults to the reference in
  ``helpers.reference.training``, built from PyTorch; lesson 02 passes the student's own
  functions, with the same signatures (and its student bundle ships without the references).
- Reproducible and resumable: the batch of step t is drawn after seeding every RNG with
  ``(seed, t)``, so it depends on nothing else, whoever's ``get_batch`` draws it. With
  ``out_dir``, a checkpoint (model, optimizer, iteration) and ``history.json`` are written
  every ``checkpoint_every`` steps and at the end; a rerun resumes from them and ends with the
  same weights as an uninterrupted run (exactly, on a CPU).
- Validation loss is the mean over ``eval_batches`` windows drawn with a fixed seed: the same
  windows at every evaluation, so the curve shows the model changing, not the sample.
- Fast where it can be: ``device="auto"`` (``helpers.env.resolve_device``), bf16 autocast
  (``dtype="bfloat16"``), ``torch.compile`` of model + loss (``compile=True``), fused AdamW on
  CUDA, and the losses stay on the device between log steps (one synchronization per
  ``log_every``).

Test: ``python -m pytest grader/tests/test_training.py -q``.
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from helpers.env import resolve_device, seed_everything

CHECKPOINT_NAME = "checkpoint.pt"
HISTORY_NAME = "history.json"
_EVAL_SEED_OFFSET = 7_919  # validation windows: seed + this (a prime), never a training step's


@dataclass
class TrainConfig:
    """Hyperparameters and bookkeeping of one training run."""

    batch_size: int = 32
    context_length: int = 256
    num_steps: int = 1000
    lr: float = 1e-3  # peak learning rate, reached after warm-up
    min_lr: float = 1e-4  # final learning rate of the cosine
    warmup_steps: int = 100
    weight_decay: float = 0.1
    betas: tuple[float, float] = (0.9, 0.95)
    grad_clip: float = 1.0  # max global L2 norm of the gradients; 0 turns clipping off
    eval_every: int = 100  # steps between validation losses (and at the last step); 0: never
    eval_batches: int = 20
    log_every: int = 10  # steps between History rows (train loss = mean since the last row)
    checkpoint_every: int = 0  # steps between checkpoints in out_dir; 0: only at the end
    out_dir: str | os.PathLike | None = None
    device: str = "auto"
    dtype: str = "float32"  # or "bfloat16": autocast matrix products to bf16 (GPUs)
    compile: bool = False
    seed: int = 0
    eps: float = 1e-8  # AdamW's epsilon


@dataclass
class History:
    """What a run logged: one row per log step; ``valid_loss`` is NaN where not evaluated."""

    step: list[int] = field(default_factory=list)  # optimizer steps done
    train_loss: list[float] = field(default_factory=list)  # mean over the steps since the last row
    valid_loss: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)  # learning rate of the row's last step
    tokens_per_s: list[float] = field(default_factory=list)  # training throughput since last row
    time_s: list[float] = field(default_factory=list)  # training wall time so far (no evaluation)

    def to_dict(self) -> dict[str, list]:
        """JSON-safe lists (NaN -> None)."""
        def clean(x):
            return None if isinstance(x, float) and math.isnan(x) else x

        return {f.name: [clean(x) for x in getattr(self, f.name)] for f in dataclasses.fields(self)}

    @classmethod
    def from_dict(cls, d: dict[str, list]) -> "History":
        names = {f.name for f in dataclasses.fields(cls)}
        n = len(d.get("step", []))
        return cls(**{k: [math.nan if x is None else x for x in d.get(k, [math.nan] * n)]
                      for k in names})

    @property
    def final_valid_loss(self) -> float:
        """The last validation loss measured (NaN if none)."""
        return next((v for v in reversed(self.valid_loss) if not math.isnan(v)), math.nan)

    def _truncate(self, last_step: int) -> "History":
        keep = sum(1 for s in self.step if s <= last_step)
        for f in dataclasses.fields(self):
            del getattr(self, f.name)[keep:]
        return self


def make_optimizer(params, lr: float, betas=(0.9, 0.95), weight_decay: float = 0.1,
                   eps: float = 1e-8) -> torch.optim.Optimizer:
    """torch's AdamW (decoupled weight decay on every parameter); fused on CUDA."""
    params = list(params)
    fused = all(p.is_cuda for p in params)
    return torch.optim.AdamW(params, lr=lr, betas=betas, weight_decay=weight_decay, eps=eps,
                             fused=fused or None)


_REFERENCE_NAMES = ("get_batch", "cosine_lr_schedule", "clip_gradients", "cross_entropy",
                    "save_checkpoint", "load_checkpoint")


def __getattr__(name: str):
    """``from helpers.training import get_batch`` etc. still work, importing the references late
    (they live in ``helpers.reference.training``, which a lesson-02 student bundle lacks)."""
    if name in _REFERENCE_NAMES:
        from helpers.reference import training as reference_training

        return getattr(reference_training, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _reference_hooks() -> dict[str, Callable]:
    try:
        from helpers.reference.training import REFERENCE_HOOKS
    except ImportError as err:
        raise ImportError("helpers/reference/training.py is not in this bundle: pass your own "
                          "get_batch, lr_schedule, clip_gradients, loss_fn, save_checkpoint and "
                          "load_checkpoint to train()") from err
    return REFERENCE_HOOKS


# ---------------------------------------------------------------------------------------------
# Loop
# ---------------------------------------------------------------------------------------------
def _autocast(device: str, dtype: str):
    if dtype in ("float32", "fp32", None):
        return contextlib.nullcontext()
    if dtype not in ("bfloat16", "bf16"):
        raise ValueError(f"dtype must be 'float32' or 'bfloat16', got {dtype!r}")
    return torch.autocast(device_type=torch.device(device).type, dtype=torch.bfloat16)


def _sync(device: str) -> None:
    if str(device).startswith("cuda"):
        torch.cuda.synchronize()


def _mean_cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))


def _windows(data: np.ndarray, batch_size: int, context_length: int, device: str,
             rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Validation windows (batch_size, context_length) of inputs and next-token targets."""
    starts = rng.integers(0, len(data) - context_length, size=batch_size)
    windows = torch.from_numpy(np.asarray(data[starts[:, None] + np.arange(context_length + 1)])
                               .astype(np.int64)).to(device)  # (batch, context + 1)
    return windows[:, :-1], windows[:, 1:]


@torch.no_grad()
def estimate_loss(model: nn.Module, data: np.ndarray, cfg: TrainConfig,
                  loss_fn: Callable | None = None) -> float:
    """Mean loss over ``cfg.eval_batches`` windows drawn with a fixed seed (the same every call).

    The windows come from the reference sampler, so runs with different ``get_batch`` hooks
    are compared on the same text; global RNGs are left untouched.
    """
    loss_fn = loss_fn or _mean_cross_entropy
    device = resolve_device(cfg.device)
    rng = np.random.default_rng(cfg.seed + _EVAL_SEED_OFFSET)
    was_training = model.training
    model.eval()
    total = torch.zeros((), device=device)
    try:
        for _ in range(cfg.eval_batches):
            x, y = _windows(data, cfg.batch_size, cfg.context_length, device, rng)
            with _autocast(device, cfg.dtype):
                total += loss_fn(model(x), y).float()
    finally:
        model.train(was_training)
    return float(total) / max(cfg.eval_batches, 1)


def _build_optimizer(optimizer, model: nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    if isinstance(optimizer, torch.optim.Optimizer):
        return optimizer
    factory = optimizer or make_optimizer
    return factory(model.parameters(), lr=cfg.lr, betas=cfg.betas, weight_decay=cfg.weight_decay,
                   eps=cfg.eps)


def _write_history(path: Path, history: History, cfg: TrainConfig) -> None:
    cfg_dict = {k: (str(v) if isinstance(v, os.PathLike) else v)
                for k, v in dataclasses.asdict(cfg).items()}
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps({"config": cfg_dict, "history": history.to_dict()}, indent=1) + "\n")
    os.replace(tmp, path)


def train(
    model: nn.Module,
    train_data: np.ndarray,
    valid_data: np.ndarray | None,
    cfg: TrainConfig,
    *,
    optimizer=None,
    get_batch: Callable | None = None,
    lr_schedule: Callable | None = None,
    clip_gradients: Callable | None = None,
    loss_fn: Callable | None = None,
    save_checkpoint: Callable | None = None,
    load_checkpoint: Callable | None = None,
    resume: bool = True,
    progress: bool = True,
) -> History:
    """Train ``model`` for ``cfg.num_steps`` AdamW steps on random windows of ``train_data``.

    Args:
        model: maps token ids (batch, context_length) to logits (batch, context_length, vocab).
            It is moved to the device and trained in place.
        train_data, valid_data: 1-D arrays of token ids (e.g. ``np.memmap`` from
            ``helpers.data``); ``valid_data=None`` skips validation.
        cfg: a ``TrainConfig``.
        optimizer: ``None`` (torch AdamW), an optimizer class or factory called as
            ``optimizer(params, lr=, betas=, weight_decay=, eps=)``, or an optimizer instance.
        get_batch: ``(data, batch_size, context_length, device) -> (x, y)``.
        lr_schedule: ``(t, max_lr, min_lr, warmup_iters, cosine_cycle_iters) -> lr``, called
            with ``cosine_cycle_iters = cfg.num_steps``.
        clip_gradients: ``(parameters, max_l2_norm) -> None``, in place.
        loss_fn: ``(logits (..., V), targets (...)) -> scalar`` mean cross-entropy.
        save_checkpoint: ``(model, optimizer, iteration, out) -> None``.
        load_checkpoint: ``(src, model, optimizer) -> iteration``.
        resume: continue from ``cfg.out_dir``'s checkpoint and history when there is one.
        progress: show a tqdm bar with the loss.
    Returns:
        The ``History`` of the whole run (resumed runs include the rows before the restart).
    """
    hooks = dict(get_batch=get_batch, lr_schedule=lr_schedule, clip_gradients=clip_gradients,
                 loss_fn=loss_fn, save_checkpoint=save_checkpoint, load_checkpoint=load_checkpoint)
    if None in hooks.values():
        hooks = {k: v or _reference_hooks()[k] for k, v in hooks.items()}
    get_batch, lr_schedule = hooks["get_batch"], hooks["lr_schedule"]
    clip_gradients, loss_fn = hooks["clip_gradients"], hooks["loss_fn"]
    save_checkpoint, load_checkpoint = hooks["save_checkpoint"], hooks["load_checkpoint"]

    device = resolve_device(cfg.device)
    cfg = dataclasses.replace(cfg, device=device)
    model.to(device)
    model.train()
    opt = _build_optimizer(optimizer, model, cfg)
    history, start = History(), 0

    out_dir = Path(cfg.out_dir) if cfg.out_dir is not None else None
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        ckpt_path, hist_path = out_dir / CHECKPOINT_NAME, out_dir / HISTORY_NAME
        if resume and ckpt_path.exists():
            start = int(load_checkpoint(ckpt_path, model, opt))
            model.to(device)
            if hist_path.exists():
                saved = json.loads(hist_path.read_text())["history"]
                history = History.from_dict(saved)._truncate(start)

    def checkpoint(iteration: int) -> None:
        if out_dir is None:
            return
        # History first: if we die between the two, resuming truncates it to the checkpoint.
        _write_history(hist_path, history, cfg)
        tmp = ckpt_path.with_name(f".{ckpt_path.name}.tmp-{os.getpid()}")
        save_checkpoint(model, opt, iteration, tmp)
        os.replace(tmp, ckpt_path)

    def forward_loss(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return loss_fn(model(x), y)

    eval_model = model
    if cfg.compile:  # one graph for model + loss, so the loss fuses with the last matmul
        forward_loss, eval_model = torch.compile(forward_loss), torch.compile(model)
    tokens_per_step = cfg.batch_size * cfg.context_length
    bar = None
    if progress and start < cfg.num_steps:
        from tqdm.auto import tqdm

        bar = tqdm(total=cfg.num_steps, initial=start, desc="train", unit="step")

    loss_sum = torch.zeros((), device=device)
    steps_since, t_since = 0, time.perf_counter()
    elapsed = history.time_s[-1] if history.time_s else 0.0
    try:
        for t in range(start, cfg.num_steps):
            lr = lr_schedule(t, cfg.lr, cfg.min_lr, cfg.warmup_steps, cfg.num_steps)
            for group in opt.param_groups:
                group["lr"] = lr
            # the batch of step t depends on (seed, t) only
            seed_everything(cfg.seed * 1_000_003 + t)
            x, y = get_batch(train_data, cfg.batch_size, cfg.context_length, device)
            with _autocast(device, cfg.dtype):
                loss = forward_loss(x, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if cfg.grad_clip:
                clip_gradients(model.parameters(), cfg.grad_clip)
            opt.step()
            loss_sum += loss.detach().float()
            steps_since += 1

            iteration = t + 1
            last = iteration == cfg.num_steps
            evaluate = valid_data is not None and cfg.eval_every > 0 and (
                iteration % cfg.eval_every == 0 or last)
            if evaluate or last or (cfg.log_every > 0 and iteration % cfg.log_every == 0):
                train_loss = float(loss_sum) / steps_since  # synchronizes
                seconds = time.perf_counter() - t_since
                elapsed += seconds
                valid_loss = estimate_loss(eval_model, valid_data, cfg, loss_fn) if evaluate \
                    else math.nan
                for name, value in (("step", iteration), ("train_loss", train_loss),
                                    ("valid_loss", valid_loss), ("lr", lr),
                                    ("tokens_per_s", steps_since * tokens_per_step / seconds),
                                    ("time_s", elapsed)):
                    getattr(history, name).append(value)
                if bar is not None:
                    postfix = {"loss": f"{train_loss:.3f}"}
                    if evaluate:
                        postfix["valid"] = f"{valid_loss:.3f}"
                    bar.set_postfix(postfix, refresh=False)
                loss_sum.zero_()
                steps_since, t_since = 0, time.perf_counter()
            if bar is not None:
                bar.update(1)
            if out_dir is not None and (last or (cfg.checkpoint_every > 0 and
                                                 iteration % cfg.checkpoint_every == 0)):
                checkpoint(iteration)
                t_since = time.perf_counter()  # checkpoint time is not training time
    finally:
        if bar is not None:
            bar.close()
    return history
