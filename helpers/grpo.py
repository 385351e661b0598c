"""Lesson 08's machinery: configuration, evaluation, the SFT loop and the GRPO loop.

- The loops take the lesson's functions as arguments (``fns``: any object with attributes
  ``tokenize_prompt_and_output``, ``get_response_log_probs``, ``sft_microbatch_train_step``,
  ``compute_rollout_rewards``, ``compute_group_normalized_rewards``,
  ``grpo_microbatch_train_step``, ``answer_reward_fn``), so the notebook runs them with the
  student's code; ``helpers.reference.grpo`` holds the reference answers (tests, benchmark).
- ``GRPOConfig`` (a ``helpers.config.LessonConfig``): every size of the experiment;
  ``GRPOConfig.build(scale, device, seed, **sizes)`` starts from the scale's preset (smoke: a
  0.15M-parameter model on 2 CPU cores in about two minutes; full: a larger model and more
  steps on a GPU) and overrides what ``sizes`` gives.
- ``pretrain``: next-token pretraining on worked problems (``pretraining_documents``: no
  ``<answer>`` tag, no shortcut). ``load_or_pretrain`` loads ``cfg.checkpoint`` when it was
  made with the same settings (smoke scale: ``datasets/grpo/pretrained_smoke.pt``, about 3
  minutes of one CPU core to make, more than the lesson's budget), else pretrains (full
  scale, on the GPU). Remake the checkpoint: ``python -m helpers.grpo pretrain``.
- ``evaluate``: greedy accuracy (and format rate) on held-out problems.
- ``GRPORun`` (``grpo_train``: a whole run): sample ``group_size`` responses per prompt with
  a ``RolloutEngine``, score them, group-normalize the rewards, then
  ``epochs_per_rollout_batch`` passes over the rollout batch in microbatches (gradient
  accumulation, clipping), with the old log-probs fixed before the first update; logs reward,
  accuracy, length, entropy, clip fraction and step times. ``run.train(n)`` continues a run,
  so a notebook can spread it over cells of under a minute each.

Tests: ``pytest grader/tests/test_grpo.py -q``.
"""
from __future__ import annotations

import argparse
import hashlib
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import torch
import torch.nn.functional as F

from helpers.arithmetic import Problem, make_problems, pretraining_documents, sft_pairs
from helpers.config import LessonConfig
from helpers.reference.model import ModelConfig, ReferenceLM
from helpers.reference.rollout import KitEngine, SamplingConfig

FUNCTION_NAMES = ("tokenize_prompt_and_output", "get_response_log_probs",
                  "sft_microbatch_train_step", "compute_rollout_rewards",
                  "compute_group_normalized_rewards", "grpo_microbatch_train_step",
                  "answer_reward_fn")


class LessonFunctions:
    """The functions the loops call, looked up by name in a notebook's ``globals()`` when
    called (so functions defined in later cells, or redefined, are found)."""

    def __init__(self, namespace: dict):
        self._namespace = namespace

    def __getattr__(self, name: str):
        if name not in FUNCTION_NAMES:
            raise AttributeError(name)
        try:
            return self._namespace[name]
        except KeyError:
            raise AttributeError(f"{name} is not defined yet: run its cell first") from None


def lesson_functions(namespace: dict) -> LessonFunctions:
    """The lesson functions of ``namespace`` (a notebook's ``globals()``, a module's vars)."""
    return LessonFunctions(namespace)


def plain_result(fn, *args, **kwargs):
    """``fn(*args, **kwargs)`` as plain data: tensors detached, metadata numbers as floats
    (what the trusted grader compares; a 0-d tensor and a float are the same number)."""
    def plain(value):
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, (tuple, list)):
            return type(value)(plain(v) for v in value)
        if torch.is_tensor(value):
            return value.detach()
        return value

    def floats(meta):
        return {k: float(v) if (torch.is_tensor(v) and v.dim() == 0) or isinstance(v, int)
                else plain(v) for k, v in meta.items()}

    out = fn(*args, **kwargs)
    if isinstance(out, tuple) and len(out) == 2 and isinstance(out[1], dict):
        return plain(out[0]), floats(out[1])
    return plain(out)


def loss_and_grad(step_fn, policy_log_probs: torch.Tensor, *args, **kwargs):
    """``(loss, gradient of the log-probs)`` of a microbatch train step, detached."""
    loss, grad, _ = step_with_grad(step_fn, policy_log_probs, *args, **kwargs)
    return loss, grad


SMOKE = dict(  # a 0.15M-parameter model on 2 CPU cores, from the shipped checkpoint
    num_steps_task=2, max_number=9, num_train=4000, num_eval=200,
    d_model=64, num_layers=2, num_heads=4, d_ff=192, context_length=128,
    pretrain_docs=20_000, pretrain_steps=1500, pretrain_batch_size=32, pretrain_lr=3e-3,
    checkpoint="datasets/grpo/pretrained_smoke.pt",
    sft_steps=150, sft_batch_size=32, sft_lr=1e-3,
    grpo_steps=30, prompts_per_step=16, microbatch_size=64,
    grpo_lr=5e-4,  # 1e-3 measured no better from the checkpoint; 2e-3 collapsed
    max_tokens=32, eval_every=10, ablation_steps=10)
FULL = dict(  # pretrains in the lesson (no checkpoint): about a minute on a GPU
    num_steps_task=3, max_number=99, num_train=50_000, num_eval=500,
    d_model=256, num_layers=4, num_heads=8, d_ff=704, context_length=192,
    pretrain_docs=200_000, pretrain_steps=3000, pretrain_batch_size=128, pretrain_lr=2e-3,
    checkpoint=None,
    sft_steps=300, sft_batch_size=64, sft_lr=5e-4,
    grpo_steps=150, prompts_per_step=64, microbatch_size=256, grpo_lr=3e-4,
    max_tokens=48, eval_every=25, ablation_steps=40)


@dataclass
class GRPOConfig(LessonConfig):
    """Sizes of lesson 08's experiment: ``GRPOConfig.build(scale, device, seed, **sizes)``
    starts from ``PRESETS[scale]`` (what differs between the scales); the other fields are
    the same at both."""

    # task
    num_steps_task: int = 0  # additions/subtractions per problem
    max_number: int = 0
    num_train: int = 0
    num_eval: int = 0
    # model (helpers.reference.model.ReferenceLM)
    d_model: int = 0
    num_layers: int = 0
    num_heads: int = 0
    d_ff: int = 0
    context_length: int = 0
    # pretraining (next-token prediction on worked problems, no <answer> tag; smoke scale loads
    # the checkpoint `python -m helpers.grpo pretrain` wrote, full scale pretrains in the lesson)
    pretrain_docs: int = 0
    pretrain_steps: int = 0
    pretrain_batch_size: int = 0
    pretrain_lr: float = 0.0
    checkpoint: str | None = None  # relative to the kit's root
    # SFT
    sft_steps: int = 0
    sft_batch_size: int = 0
    sft_lr: float = 0.0
    sft_shortcut_frac: float = 0.7  # demonstrations that answer without working it out
    # GRPO
    grpo_steps: int = 0
    prompts_per_step: int = 0
    group_size: int = 8
    microbatch_size: int = 0
    epochs_per_rollout_batch: int = 2  # > 1: off-policy epochs, where the ratio and clip matter
    grpo_lr: float = 0.0
    loss_type: str = "grpo_clip"
    cliprange: float = 0.2
    advantage_normalizer: str = "std"  # "std" (GRPO), "none" (Dr. GRPO)
    baseline: str = "mean"
    advantage_eps: float = 1e-6
    max_grad_norm: float = 1.0
    temperature: float = 1.0
    max_tokens: int = 0
    eval_every: int = 0
    eval_samples: int = 4  # sampled responses per held-out problem (temperature 1)
    ablation_steps: int = 0  # GRPO steps of each ablation run
    PRESETS: ClassVar[dict[str, dict[str, Any]]] = {"smoke": SMOKE, "full": FULL}

    def finish(self) -> None:
        unset = [k for k in self.PRESETS[self.scale] if k != "checkpoint" and getattr(self, k) <= 0]
        if unset:
            raise ValueError(f"these sizes must be positive: {unset}")

    def model_config(self, vocab_size: int) -> ModelConfig:
        return ModelConfig(vocab_size=vocab_size, context_length=self.context_length,
                           d_model=self.d_model, num_layers=self.num_layers,
                           num_heads=self.num_heads, d_ff=self.d_ff)

    def problems(self) -> tuple[list[Problem], list[Problem]]:
        """(train, held-out): disjoint seeds, so evaluation uses unseen problems."""
        train = make_problems(self.num_train, 1000 + self.seed, self.num_steps_task,
                              self.max_number)
        held_out = make_problems(self.num_eval, 2000 + self.seed, self.num_steps_task,
                                 self.max_number)
        return train, held_out


def tiny_policy(vocab_size: int = 16, seed: int = 0, d_model: int = 16) -> ReferenceLM:
    """A small seeded ReferenceLM for tests (float64: exact comparisons, gradcheck)."""
    torch.manual_seed(seed)
    cfg = ModelConfig(vocab_size=vocab_size, context_length=32, d_model=d_model, num_layers=1,
                      num_heads=2, d_ff=32)
    return ReferenceLM(cfg).double()


def step_with_grad(step_fn, policy_log_probs: torch.Tensor, *args, **kwargs):
    """Run a microbatch train step (``sft_...`` or ``grpo_microbatch_train_step``) on a leaf
    copy of ``policy_log_probs``: ``(loss, gradient of the log-probs, metadata)``, detached."""
    leaf = policy_log_probs.detach().clone().requires_grad_(True)
    loss, meta = step_fn(leaf, *args, **kwargs)
    grad = leaf.grad if leaf.grad is not None else torch.zeros_like(leaf)
    meta = {k: (v.detach() if torch.is_tensor(v) else v) for k, v in meta.items()}
    return loss.detach(), grad, meta


def new_policy(cfg: GRPOConfig, vocab_size: int) -> ReferenceLM:
    torch.manual_seed(cfg.seed)
    return ReferenceLM(cfg.model_config(vocab_size)).to(cfg.device)


def optimizer_step(model, opt, max_grad_norm: float, sched=None) -> None:
    """Clip the gradient norm, step the optimizer (and the schedule), clear the gradients."""
    torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
    opt.step()
    if sched is not None:
        sched.step()
    opt.zero_grad(set_to_none=True)


def pretrain(model, tokenizer, cfg: GRPOConfig, progress=None) -> list[float]:
    """Next-token pretraining on ``pretraining_documents`` packed into one stream (an EOS
    after each document), random windows of ``context_length`` tokens; the per-step losses."""
    docs = pretraining_documents(cfg.pretrain_docs, 3000 + cfg.seed, cfg.num_steps_task,
                                 cfg.max_number)
    stream = torch.tensor([i for d in docs for i in tokenizer.encode(d) +
                           [tokenizer.eos_token_id]])
    gen = torch.Generator().manual_seed(cfg.seed)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.pretrain_lr, weight_decay=0.01,
                            betas=(0.9, 0.95))
    warmup = max(1, cfg.pretrain_steps // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / warmup) * (
        0.1 + 0.45 * (1 + math.cos(math.pi * min(1.0, s / cfg.pretrain_steps)))))
    losses = []
    model.train()
    steps = progress(range(cfg.pretrain_steps)) if progress else range(cfg.pretrain_steps)
    for _ in steps:
        starts = torch.randint(len(stream) - cfg.context_length - 1, (cfg.pretrain_batch_size,),
                               generator=gen)
        window = torch.stack([stream[s:s + cfg.context_length + 1] for s in starts.tolist()])
        window = window.to(cfg.device)  # (batch, context_length + 1)
        logits = model(window[:, :-1])  # (batch, context_length, vocab)
        loss = F.cross_entropy(logits.flatten(0, 1), window[:, 1:].flatten())
        loss.backward()
        optimizer_step(model, opt, cfg.max_grad_norm, sched)
        losses.append(loss.item())
    return losses


ROOT = Path(__file__).resolve().parent.parent
PRETRAIN_FIELDS = ("seed", "num_steps_task", "max_number", "d_model", "num_layers", "num_heads",
                   "d_ff", "context_length", "pretrain_docs", "pretrain_steps",
                   "pretrain_batch_size", "pretrain_lr", "max_grad_norm")


def pretrain_settings(cfg: GRPOConfig, vocab_size: int) -> dict:
    """What a pretrained checkpoint depends on: sizes, task, pretraining run, vocabulary."""
    return {"vocab_size": vocab_size, **{k: getattr(cfg, k) for k in PRETRAIN_FIELDS}}


def save_pretrained(model, cfg: GRPOConfig, vocab_size: int, path, losses) -> None:
    """The weights (float32) with the settings that made them and the final loss."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().float().cpu().contiguous() for k, v in model.state_dict().items()}
    torch.save({"settings": pretrain_settings(cfg, vocab_size), "torch": str(torch.__version__),
                "final_loss": sum(losses[-50:]) / len(losses[-50:]), "state_dict": state}, path)


def load_or_pretrain(model, tokenizer, cfg: GRPOConfig, progress=None) -> dict:
    """Load ``cfg.checkpoint`` into ``model`` when it was made with ``cfg``'s settings,
    otherwise pretrain (``pretrain``). Returns ``{"source": ..., "losses": [...] or None}``."""
    path = None if cfg.checkpoint is None else ROOT / cfg.checkpoint
    if path is not None and path.exists():
        saved = torch.load(path, map_location="cpu", weights_only=True)
        want = pretrain_settings(cfg, tokenizer.vocab_size)
        if saved["settings"] == want:
            model.load_state_dict(saved["state_dict"])
            return {"source": f"loaded {cfg.checkpoint}", "losses": None}
        print(f"{cfg.checkpoint} was made with other settings: pretraining instead")
    return {"source": "pretrained here", "losses": pretrain(model, tokenizer, cfg, progress)}


def evaluate(model, tokenizer, problems: list[Problem], reward_fn, max_tokens: int = 32,
             engine=None, samples: int = 0, seed: int = 0) -> dict:
    """Greedy decoding on ``problems``: accuracy, format rate and a few samples; with
    ``samples`` > 0 also the mean accuracy of that many responses per problem sampled at
    temperature 1 (``sampled_accuracy``, what the RL objective rewards)."""
    engine = engine or KitEngine(model, tokenizer)
    sampling = SamplingConfig(temperature=0.0, max_tokens=max_tokens)
    responses = engine.generate([p.prompt for p in problems], sampling)
    scores = [reward_fn(r, p.answer) for r, p in zip(responses, problems)]
    out = {"accuracy": sum(s["answer_reward"] for s in scores) / len(scores),
           "format": sum(s["format_reward"] for s in scores) / len(scores),
           "samples": [(p.prompt + r) for p, r in zip(problems[:3], responses[:3])]}
    if samples:
        sampler = KitEngine(model, tokenizer, generator=torch.Generator(
            next(model.parameters()).device).manual_seed(seed))
        sampled = sampler.generate([p.prompt for p in problems for _ in range(samples)],
                                   SamplingConfig(temperature=1.0, max_tokens=max_tokens))
        truths = [p.answer for p in problems for _ in range(samples)]
        out["sampled_accuracy"] = sum(reward_fn(r, t)["answer_reward"]
                                      for r, t in zip(sampled, truths)) / len(sampled)
    return out


def sft_train(model, tokenizer, problems: list[Problem], cfg: GRPOConfig, fns, progress=None):
    """Supervised fine-tuning on worked solutions; returns the per-step losses."""
    gen = torch.Generator().manual_seed(cfg.seed)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.sft_lr, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / 20) * max(0.1, 1 - s / cfg.sft_steps))
    pairs = sft_pairs(problems, cfg.sft_shortcut_frac, cfg.seed)
    losses = []
    model.train()
    steps = progress(range(cfg.sft_steps)) if progress else range(cfg.sft_steps)
    for _ in steps:
        idx = torch.randint(len(pairs), (cfg.sft_batch_size,), generator=gen).tolist()
        batch = fns.tokenize_prompt_and_output([pairs[i][0] for i in idx],
                                               [pairs[i][1] for i in idx], tokenizer)
        batch = {k: v.to(cfg.device) for k, v in batch.items()}
        out = fns.get_response_log_probs(model, batch["input_ids"], batch["labels"])
        tokens = batch["response_mask"].sum().item() / cfg.sft_batch_size
        loss, _ = fns.sft_microbatch_train_step(out["log_probs"], batch["response_mask"], 1,
                                                normalize_constant=tokens)
        optimizer_step(model, opt, cfg.max_grad_norm, sched)
        losses.append(loss.item())
    return losses


class GRPORun:
    """A GRPO run (or a variant, per ``cfg``) that can be continued: ``run.train(n)`` does
    ``n`` more steps (a notebook spreads a long run over cells), ``run.finish()`` evaluates
    and returns the history, one log dict per step (eval where done) and the final eval."""

    def __init__(self, model, tokenizer, train: list[Problem], held_out: list[Problem],
                 cfg: GRPOConfig, fns, engine=None):
        self.model, self.tokenizer, self.cfg, self.fns = model, tokenizer, cfg, fns
        self.problems, self.held_out = train, held_out
        self.engine = engine or KitEngine(model, tokenizer)
        self.gen = torch.Generator().manual_seed(cfg.seed + 1)
        self.opt = torch.optim.AdamW(model.parameters(), lr=cfg.grpo_lr, weight_decay=0.0,
                                     betas=(0.9, 0.95))
        self.sampling = SamplingConfig(temperature=cfg.temperature, max_tokens=cfg.max_tokens,
                                       seed=cfg.seed)
        self.rollout_size = cfg.prompts_per_step * cfg.group_size
        self.accumulation = max(1, self.rollout_size // cfg.microbatch_size)
        self.history: list[dict] = []

    def train(self, num_steps: int, progress=None) -> None:
        first = len(self.history)
        steps = range(first, first + num_steps)
        for step in progress(steps) if progress else steps:
            self.history.append(self._step(step))

    def finish(self) -> list[dict]:
        final = evaluate(self.model, self.tokenizer, self.held_out, self.fns.answer_reward_fn,
                         self.cfg.max_tokens, self.engine, self.cfg.eval_samples, self.cfg.seed)
        self.history.append({"step": len(self.history), "eval_accuracy": final["accuracy"],
                             "eval_sampled_accuracy": final.get("sampled_accuracy")})
        return self.history

    def _step(self, step: int) -> dict:
        model, tokenizer, cfg, fns, engine = (self.model, self.tokenizer, self.cfg, self.fns,
                                              self.engine)
        rollout_size, accumulation = self.rollout_size, self.accumulation
        log = {"step": step}
        if step % cfg.eval_every == 0:
            ev = evaluate(model, tokenizer, self.held_out, fns.answer_reward_fn,
                          cfg.max_tokens, engine, cfg.eval_samples, cfg.seed)
            log["eval_accuracy"] = ev["accuracy"]
            log["eval_sampled_accuracy"] = ev.get("sampled_accuracy")
        t0 = time.perf_counter()
        idx = torch.randint(len(self.problems), (cfg.prompts_per_step,),
                            generator=self.gen).tolist()
        prompts = [self.problems[i].prompt for i in idx for _ in range(cfg.group_size)]
        truths = [self.problems[i].answer for i in idx for _ in range(cfg.group_size)]
        engine.sync(model)
        responses = engine.generate(prompts, self.sampling)
        t1 = time.perf_counter()
        raw, reward_meta = fns.compute_rollout_rewards(fns.answer_reward_fn, responses, truths)
        adv, _ = fns.compute_group_normalized_rewards(
            raw, cfg.group_size, cfg.baseline, cfg.advantage_eps, cfg.advantage_normalizer)
        batch = fns.tokenize_prompt_and_output(prompts, responses, tokenizer)
        batch = {k: v.to(cfg.device) for k, v in batch.items()}
        raw, adv = raw.to(cfg.device), adv.to(cfg.device)
        model.train()
        with torch.no_grad():  # the policy that sampled: fixed for all epochs of this batch
            old = torch.cat([fns.get_response_log_probs(
                model, batch["input_ids"][i:i + cfg.microbatch_size],
                batch["labels"][i:i + cfg.microbatch_size])["log_probs"]
                for i in range(0, rollout_size, cfg.microbatch_size)])
        t2 = time.perf_counter()
        entropies, clip_fracs, losses = [], [], []
        for _ in range(cfg.epochs_per_rollout_batch):
            for i in range(0, rollout_size, cfg.microbatch_size):
                mb = slice(i, i + cfg.microbatch_size)
                mask = batch["response_mask"][mb]
                out = fns.get_response_log_probs(model, batch["input_ids"][mb],
                                                 batch["labels"][mb], return_token_entropy=True)
                loss, meta = fns.grpo_microbatch_train_step(
                    out["log_probs"], mask, accumulation, cfg.loss_type, raw_rewards=raw[mb],
                    advantages=adv[mb], old_log_probs=old[mb], cliprange=cfg.cliprange)
                losses.append(loss.item() * accumulation)
                m = mask.float()
                entropies.append(((out["token_entropy"].detach() * m).sum() / m.sum()).item())
                if "clip_fraction" in meta:
                    clip_fracs.append(float(meta["clip_fraction"]))
                if (i // cfg.microbatch_size + 1) % accumulation == 0:
                    optimizer_step(model, self.opt, cfg.max_grad_norm)
        t3 = time.perf_counter()
        lengths = batch["response_mask"].sum(-1).float()
        log.update(reward=reward_meta["reward"], format=reward_meta["format_reward"],
                   train_accuracy=reward_meta["answer_reward"], length=lengths.mean().item(),
                   entropy=sum(entropies) / len(entropies), loss=sum(losses) / len(losses),
                   clip_fraction=sum(clip_fracs) / len(clip_fracs) if clip_fracs else 0.0,
                   time_rollout=t1 - t0, time_scoring=t2 - t1, time_training=t3 - t2)
        return log


def grpo_train(model, tokenizer, train: list[Problem], held_out: list[Problem], cfg: GRPOConfig,
               fns, engine=None, progress=None) -> list[dict]:
    """A whole ``GRPORun`` of ``cfg.grpo_steps`` steps; returns its history."""
    run = GRPORun(model, tokenizer, train, held_out, cfg, fns, engine)
    run.train(cfg.grpo_steps, progress)
    return run.finish()


def main(argv=None) -> None:
    """``python -m helpers.grpo pretrain``: remake the smoke-scale checkpoint (one thread)."""
    from helpers.arithmetic import task_tokenizer

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("command", choices=["pretrain"])
    parser.add_argument("--scale", default="smoke", choices=["smoke", "full"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None, help="default: the config's checkpoint path")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)  # one thread: the same bits on every run of the same build
    cfg = GRPOConfig.build(args.scale, "cpu", args.seed)
    out = Path(args.out or ROOT / (cfg.checkpoint or f"build/grpo_pretrained_{args.scale}.pt"))
    tokenizer = task_tokenizer()
    model = new_policy(cfg, tokenizer.vocab_size)
    start = time.perf_counter()
    losses = pretrain(model, tokenizer, cfg)
    save_pretrained(model, cfg, tokenizer.vocab_size, out, losses)
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    print(f"{out}: {out.stat().st_size:,} bytes, sha256 {digest}, final loss "
          f"{sum(losses[-50:]) / 50:.4f}, {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
