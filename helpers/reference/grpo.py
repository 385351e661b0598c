"""Reference answers to lesson 08's exercises (GRPO): the functions the student writes.

Used by the kit's tests (``grader/tests/test_grpo.py``), the benchmark (``benchmarks/grpo.py``)
and the scripts that train without a notebook. Shipped to students only after lesson 08
(``ANSWERS``). The lesson's loops in ``helpers.grpo`` take these functions as arguments, so
the notebook runs them with the student's own.

Test: ``python -m pytest grader/tests/test_grpo.py -q``.
"""
from __future__ import annotations

import re
from collections.abc import Callable

import torch

from helpers.arithmetic import normalize_number, parse_answer_tag

ANSWERS = ("08_grpo",)  # answers lesson 08: left out of its student bundle

_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")


def parse_gsm8k_response(text: str) -> str | None:
    """The last number in ``text``, normalized (GSM8K's evaluation); None if there is none."""
    numbers = _NUMBER.findall(text)
    return normalize_number(numbers[-1]) if numbers else None


def answer_reward_fn(response: str, ground_truth: str) -> dict[str, float]:
    """Format reward (an ``<answer>`` tag), answer reward (its number equals the truth)."""
    tagged = parse_answer_tag(response)
    format_reward = float(tagged is not None)
    got = normalize_number(tagged) if tagged is not None else None
    answer_reward = float(got is not None and got == normalize_number(ground_truth))
    return {"format_reward": format_reward, "answer_reward": answer_reward,
            "reward": answer_reward}


def tokenize_prompt_and_output(prompt_strs, output_strs, tokenizer) -> dict[str, torch.Tensor]:
    """Concatenate prompt and output ids, pad, shift: input_ids, labels, response_mask."""
    rows, masks = [], []
    for prompt, output in zip(prompt_strs, output_strs):
        p, o = tokenizer.encode(prompt), tokenizer.encode(output)
        rows.append(p + o)
        masks.append([0] * len(p) + [1] * len(o))
    max_len = max(len(r) for r in rows)
    ids = torch.full((len(rows), max_len), tokenizer.pad_token_id, dtype=torch.long)
    mask = torch.zeros((len(rows), max_len), dtype=torch.bool)
    for i, (r, m) in enumerate(zip(rows, masks)):
        ids[i, :len(r)] = torch.tensor(r)
        mask[i, :len(m)] = torch.tensor(m, dtype=torch.bool)
    return {"input_ids": ids[:, :-1], "labels": ids[:, 1:], "response_mask": mask[:, 1:]}


def compute_entropy(logits: torch.Tensor) -> torch.Tensor:
    """Entropy of softmax(logits) over the last axis: logsumexp - sum p * logits."""
    log_probs = torch.log_softmax(logits, dim=-1)
    return -(log_probs.exp() * log_probs).sum(-1)


def get_response_log_probs(model, input_ids, labels, return_token_entropy: bool = False):
    """log p(labels | prefix) per position (and the entropy of each next-token distribution)."""
    out = model(input_ids)
    logits = getattr(out, "logits", out)  # a Hugging Face model returns an object
    log_probs = torch.log_softmax(logits.float(), dim=-1)
    result = {"log_probs": log_probs.gather(-1, labels[..., None]).squeeze(-1)}
    if return_token_entropy:
        result["token_entropy"] = compute_entropy(logits.float())
    return result


def masked_mean(tensor, mask, dim=None):
    """Mean of the entries where mask is true (over ``dim``, or all)."""
    mask = mask.to(tensor.dtype)
    if dim is None:
        return (tensor * mask).sum() / mask.sum()
    return (tensor * mask).sum(dim) / mask.sum(dim)


def masked_normalize(tensor, mask, normalize_constant: float, dim=None):
    """Sum of the entries where mask is true (over ``dim``, or all), divided by a constant."""
    return (tensor * mask.to(tensor.dtype)).sum(dim) / normalize_constant if dim is not None \
        else (tensor * mask.to(tensor.dtype)).sum() / normalize_constant


def sft_microbatch_train_step(policy_log_probs, response_mask, gradient_accumulation_steps,
                              normalize_constant: float = 1.0):
    """Summed response NLL per sequence / constant, averaged over the batch and accumulation."""
    nll = -masked_normalize(policy_log_probs, response_mask, normalize_constant, dim=-1)
    loss = nll.mean() / gradient_accumulation_steps
    loss.backward()
    return loss, {"nll": nll.detach()}


def compute_rollout_rewards(reward_fn: Callable, rollout_responses, repeated_ground_truths):
    """Rewards of each response: a float tensor, and the mean of each reward component."""
    scores = [reward_fn(r, t) for r, t in zip(rollout_responses, repeated_ground_truths)]
    raw = torch.tensor([s["reward"] for s in scores], dtype=torch.float32)
    meta = {k: sum(s[k] for s in scores) / len(scores) for k in scores[0]}
    return raw, meta


def compute_group_normalized_rewards(raw_rewards, group_size: int, baseline: str = "mean",
                                     advantage_eps: float = 1e-6,
                                     advantage_normalizer: str = "std"):
    """Advantages: (r - group mean) / (group std + eps), or variants (Dr. GRPO, REINFORCE)."""
    groups = raw_rewards.float().reshape(-1, group_size)
    centered = groups - groups.mean(-1, keepdim=True) if baseline == "mean" else groups
    if advantage_normalizer == "std":
        adv = centered / (groups.std(-1, keepdim=True) + advantage_eps)
    elif advantage_normalizer == "mean":
        adv = centered / (groups.mean(-1, keepdim=True).abs() + advantage_eps)
    else:
        adv = centered
    meta = {"reward_mean": groups.mean().item(), "reward_std": groups.std().item(),
            "frac_zero_std": (groups.std(-1) == 0).float().mean().item()}
    return adv.reshape(-1), meta


def compute_policy_gradient_loss(raw_rewards_or_advantages, policy_log_probs,
                                 importance_reweighting: str = "none", old_log_probs=None,
                                 cliprange: float | None = None, response_mask=None):
    """Per-token policy-gradient loss: -A * log p, -A * ratio, or GRPO-Clip."""
    adv = raw_rewards_or_advantages.reshape(-1, 1).to(policy_log_probs.dtype)  # (batch, 1)
    if importance_reweighting == "none":
        return -adv * policy_log_probs, {}
    ratio = torch.exp(policy_log_probs - old_log_probs)
    if importance_reweighting == "noclip":
        return -adv * ratio, {}
    clipped = ratio.clamp(1 - cliprange, 1 + cliprange)
    unclipped_obj, clipped_obj = ratio * adv, clipped * adv
    was_clipped = clipped_obj < unclipped_obj
    if response_mask is not None:
        frac = masked_mean(was_clipped.float(), response_mask)
    else:
        frac = was_clipped.float().mean()
    return -torch.minimum(unclipped_obj, clipped_obj), {"clip_fraction": frac}


def grpo_microbatch_train_step(policy_log_probs, response_mask, gradient_accumulation_steps,
                               loss_type, raw_rewards=None, advantages=None, old_log_probs=None,
                               cliprange=None, normalize_constant: float | None = None):
    """One microbatch: per-token loss, mean per sequence (or / constant), batch mean, backward."""
    weights, reweighting = {
        "no_baseline": (raw_rewards, "none"),
        "reinforce_with_baseline": (advantages, "none"),
        "grpo_noclip": (advantages, "noclip"),
        "grpo_clip": (advantages, "grpo"),
    }[loss_type]
    per_token, meta = compute_policy_gradient_loss(weights, policy_log_probs, reweighting,
                                                   old_log_probs, cliprange, response_mask)
    if normalize_constant is None:
        per_seq = masked_mean(per_token, response_mask, dim=-1)
    else:
        per_seq = masked_normalize(per_token, response_mask, normalize_constant, dim=-1)
    loss = per_seq.mean() / gradient_accumulation_steps
    loss.backward()
    return loss, meta
