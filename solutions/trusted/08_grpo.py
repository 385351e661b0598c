"""Trusted cases of lesson 08 (``grader.trusted``): hidden inputs, compared outside the kernel.

Never released (``solutions/`` is not in a bundle) and hidden from students' kernels. Each
graded test cell below also keeps its in-kernel test; it scores only if both pass.

Functions that return ``(tensor, metadata)`` or call ``backward()`` are called through the
notebook's ``plain_result`` and ``loss_and_grad`` (``helpers.grpo``, imported by the lesson):
tensors come back detached, metadata numbers as floats (a 0-d tensor and a float are the same
answer), and a train step is judged by its loss and the gradient it leaves on the log-probs.
Objects that are not plain data (the tokenizer, a seeded model, a reward function) are built
by ``with_objects_case`` from recipes. Every graded test cell has cases.
"""
import torch

from grader.trusted import Case, with_objects_case

g = torch.Generator().manual_seed(20260808)
TOKENIZER = {"tok": ("helpers.arithmetic.task_tokenizer", (), {})}


def rand(*shape, low=0.0, high=1.0, dtype=torch.float64):
    return low + (high - low) * torch.rand(*shape, generator=g, dtype=dtype)


def mask(*shape, p=0.6):
    m = torch.rand(*shape, generator=g) < p
    m[..., 0] = True  # every row has a response token
    return m


def call(fn, *args, **kwargs):  # fn(*args) through plain_result
    return with_objects_case("plain_result", objects={"f": fn}, args=["f", *args], kwargs=kwargs)


def step(fn, *args, **kwargs):  # (loss, gradient) of a microbatch train step
    return with_objects_case("loss_and_grad", objects={"f": fn}, args=["f", *args],
                             kwargs=kwargs)


LP, OLD, M = -rand(4, 6, high=2.0), -rand(4, 6, high=2.0), mask(4, 6)
ADV = rand(4, low=-2.0, high=2.0)
REWARDS = (torch.rand(24, generator=g) < 0.4).float()
REWARDS[8:12] = 1.0  # a group with equal rewards
SCORES = rand(12, low=-3.0, high=5.0, dtype=torch.float32)

CASES = {
    "test_parse_gsm8k_response": [
        Case("parse_gsm8k_response", text) for text in (
            "first 3 then 4 then 5", "The total is -2,500.", "x 007 y", "1.250 and 3,0",
            "no digits", "answer: +12", "12 apples and 0.5 pears\n", "-0")
    ],
    "test_answer_reward_fn": [
        Case("answer_reward_fn", resp, truth) for resp, truth in (
            ("12-3=9\n<answer>9</answer>", "9"), ("<answer> 1,024 </answer>", "1024"),
            ("<answer>8</answer> <answer>9</answer>", "9"), ("answer 9", "9"),
            ("<answer>9.0</answer>", "9"), ("<answer>nine</answer>", "9"),
            ("<answer>-4</answer>", "4"))
    ],
    "test_tokenize_prompt_and_output": [
        with_objects_case("tokenize_prompt_and_output", objects=TOKENIZER,
                          args=[prompts, outputs, "tok"]) for prompts, outputs in (
            (["Eve has 5 eggs.\n", "Bob has 12 cards. He gets 3 more.\n", "Q\n"],
             ["5+1=6\n<answer>6</answer>", "<answer>15</answer>", "7"]),
            (["Tom has 9.\n"], ["9-2=7\n<answer>7</answer>"]))
    ],
    "test_compute_entropy": [
        Case("compute_entropy", rand(3, 4, 9, low=-5, high=5)).close(rtol=1e-9, atol=1e-12),
        Case("compute_entropy", torch.tensor([[500.0, -500.0, 0.0], [0.0, 0.0, 0.0]])
             ).close(rtol=1e-5, atol=1e-6),
    ],
    "test_get_response_log_probs": [
        with_objects_case(
            "plain_result",
            objects={"f": "get_response_log_probs",
                     "model": ("helpers.grpo.tiny_policy", (16, 5), {})},
            args=["f", "model", ids, torch.roll(ids, -1, 1), True],
        ).close(rtol=1e-4, atol=1e-5).any_dtype()
        for ids in (torch.randint(16, (3, 7), generator=g), torch.randint(16, (1, 4), generator=g))
    ],
    "test_masked_mean": [
        Case("masked_mean", LP, M).close(rtol=1e-12),
        Case("masked_mean", LP, M, dim=1).close(rtol=1e-12),
        Case("masked_mean", LP, M.double(), 0).close(rtol=1e-12),
    ],
    "test_masked_normalize": [
        Case("masked_normalize", LP, M, 7.0).close(rtol=1e-12),
        Case("masked_normalize", LP, M, 3.0, dim=-1).close(rtol=1e-12),
        Case("masked_normalize", LP, M, 0.5, 0).close(rtol=1e-12),
    ],
    "test_sft_microbatch_train_step": [
        step("sft_microbatch_train_step", LP, M, 4, normalize_constant=5.0).close(rtol=1e-10),
        step("sft_microbatch_train_step", LP[:2], M[:2], 1).close(rtol=1e-10),
    ],
    "test_compute_rollout_rewards": [
        with_objects_case(
            "plain_result",
            objects={"f": "compute_rollout_rewards", "rf": "helpers.arithmetic.exact_match_reward"},
            args=["f", "rf", ["7", " 7", "8", "x", "10"], ["7", "7", "7", "x", "1"]],
        ).close(rtol=1e-9),
    ],
    "test_compute_group_normalized_rewards": [
        call("compute_group_normalized_rewards", REWARDS, 4).close(rtol=1e-5, atol=1e-6),
        call("compute_group_normalized_rewards", SCORES, 3, "mean", 0.1, "std").close(rtol=1e-5)
        .hint("divide by the group's std plus advantage_eps (torch's default, unbiased std)"),
        call("compute_group_normalized_rewards", SCORES, 6, advantage_normalizer="none"
             ).close(rtol=1e-5, atol=1e-6),
        call("compute_group_normalized_rewards", SCORES, 4, baseline="none",
             advantage_normalizer="none").close(rtol=1e-6),
        call("compute_group_normalized_rewards", SCORES, 4, advantage_normalizer="mean",
             advantage_eps=0.01).close(rtol=1e-5, atol=1e-6),
    ],
    "test_compute_policy_gradient_loss": [
        call("compute_policy_gradient_loss", ADV, LP).close(rtol=1e-10),
        call("compute_policy_gradient_loss", ADV[:, None], LP, "noclip", OLD).close(rtol=1e-10),
        call("compute_policy_gradient_loss", ADV, LP, "grpo", OLD, 0.2).close(rtol=1e-10)
        .hint("GRPO-Clip clips the probability ratio to 1 +- cliprange, never the advantage"),
        call("compute_policy_gradient_loss", ADV, LP, "grpo", OLD, 0.1, M).close(rtol=1e-10),
    ],
    "test_grpo_microbatch_train_step": [
        step("grpo_microbatch_train_step", LP, M, 2, "no_baseline", raw_rewards=ADV.abs()
             ).close(rtol=1e-10),
        step("grpo_microbatch_train_step", LP, M, 1, "reinforce_with_baseline", advantages=ADV
             ).close(rtol=1e-10),
        step("grpo_microbatch_train_step", LP, M, 3, "grpo_clip", advantages=ADV,
             old_log_probs=OLD, cliprange=0.2).close(rtol=1e-10)
        .hint("average over response tokens only, then divide by gradient_accumulation_steps"),
        step("grpo_microbatch_train_step", LP, M, 1, "grpo_noclip", advantages=ADV,
             old_log_probs=OLD, normalize_constant=6.0).close(rtol=1e-10),
    ],
}

MUTANTS = {
    "test_parse_gsm8k_response": [
        """
        def parse_gsm8k_response(text):
            numbers = re.findall(r"-?\\d[\\d,]*(?:\\.\\d+)?", text)
            return normalize_number(numbers[0]) if numbers else None
        """,
        """
        def parse_gsm8k_response(text):
            numbers = re.findall(r"\\d+", text)
            return normalize_number(numbers[-1]) if numbers else None
        """,
    ],
    "test_answer_reward_fn": ["""
        def answer_reward_fn(response, ground_truth):
            tagged = parse_answer_tag(response)
            hit = float(tagged is not None and tagged == ground_truth)
            return {"format_reward": float(tagged is not None), "answer_reward": hit, "reward": hit}
    """],
    "test_tokenize_prompt_and_output": [
        """
        _solution = tokenize_prompt_and_output
        def tokenize_prompt_and_output(prompt_strs, output_strs, tokenizer):
            out = _solution(prompt_strs, output_strs, tokenizer)
            out["labels"] = out["input_ids"]  # labels not shifted
            return out
        """,
        """
        _solution = tokenize_prompt_and_output
        def tokenize_prompt_and_output(prompt_strs, output_strs, tokenizer):
            out = _solution(prompt_strs, output_strs, tokenizer)
            out["response_mask"] = torch.roll(out["response_mask"], 1, 1)  # mask of input_ids
            return out
        """,
    ],
    "test_compute_entropy": ["""
        def compute_entropy(logits):
            p = torch.softmax(logits, -1)
            return -(p * torch.log(p)).sum(-1)
    """],
    "test_get_response_log_probs": ["""
        def get_response_log_probs(model, input_ids, labels, return_token_entropy=False):
            logits = model(input_ids)
            lp = torch.log_softmax(logits, -1).gather(-1, input_ids[..., None]).squeeze(-1)
            out = {"log_probs": lp}
            if return_token_entropy:
                out["token_entropy"] = compute_entropy(logits)
            return out
    """],
    "test_masked_mean": ["""
        def masked_mean(tensor, mask, dim=None):
            masked = tensor * mask
            return masked.mean() if dim is None else masked.mean(dim)
    """],
    "test_masked_normalize": ["""
        def masked_normalize(tensor, mask, normalize_constant, dim=None):
            masked = tensor * mask
            return (masked.sum() if dim is None else masked.sum(dim)) / mask.sum()
    """],
    "test_sft_microbatch_train_step": ["""
        def sft_microbatch_train_step(policy_log_probs, response_mask,
                                      gradient_accumulation_steps, normalize_constant=1.0):
            loss = -masked_normalize(policy_log_probs, response_mask, normalize_constant, -1).mean()
            loss.backward()
            return loss, {}
    """],
    "test_compute_rollout_rewards": ["""
        def compute_rollout_rewards(reward_fn, rollout_responses, repeated_ground_truths):
            scores = [reward_fn(r, t) for r, t in zip(rollout_responses, repeated_ground_truths)]
            raw = torch.tensor([s["format_reward"] for s in scores], dtype=torch.float32)
            return raw, {k: sum(s[k] for s in scores) / len(scores) for k in scores[0]}
    """],
    "test_compute_group_normalized_rewards": [
        """
        def compute_group_normalized_rewards(raw_rewards, group_size, baseline="mean",
                                             advantage_eps=1e-6, advantage_normalizer="std"):
            groups = raw_rewards.float().reshape(-1, group_size)
            centered = groups - groups.mean(-1, keepdim=True) if baseline == "mean" else groups
            if advantage_normalizer == "std":
                adv = centered / groups.std(-1, keepdim=True)  # std without the epsilon
            elif advantage_normalizer == "mean":
                adv = centered / (groups.mean(-1, keepdim=True).abs() + advantage_eps)
            else:
                adv = centered
            meta = {"reward_mean": groups.mean().item(), "reward_std": groups.std().item(),
                    "frac_zero_std": (groups.std(-1) == 0).float().mean().item()}
            return adv.reshape(-1), meta
        """,
        """
        def compute_group_normalized_rewards(raw_rewards, group_size, baseline="mean",
                                             advantage_eps=1e-6, advantage_normalizer="std"):
            groups = raw_rewards.float().reshape(-1, group_size)
            centered = groups - groups.mean(-1, keepdim=True) if baseline == "mean" else groups
            if advantage_normalizer == "std":  # population std
                adv = centered / (groups.std(-1, keepdim=True, correction=0) + advantage_eps)
            elif advantage_normalizer == "mean":
                adv = centered / (groups.mean(-1, keepdim=True).abs() + advantage_eps)
            else:
                adv = centered
            meta = {"reward_mean": groups.mean().item(), "reward_std": groups.std().item(),
                    "frac_zero_std": (groups.std(-1) == 0).float().mean().item()}
            return adv.reshape(-1), meta
        """,
    ],
    "test_compute_policy_gradient_loss": ["""
        _solution = compute_policy_gradient_loss
        def compute_policy_gradient_loss(raw_rewards_or_advantages, policy_log_probs,
                                         importance_reweighting="none", old_log_probs=None,
                                         cliprange=None, response_mask=None):
            if importance_reweighting != "grpo":
                return _solution(raw_rewards_or_advantages, policy_log_probs,
                                 importance_reweighting, old_log_probs)
            adv = raw_rewards_or_advantages.reshape(-1, 1)  # clips the advantage, not the ratio
            ratio = torch.exp(policy_log_probs - old_log_probs)
            loss = -torch.minimum(ratio * adv, adv.clamp(1 - cliprange, 1 + cliprange))
            return loss, {"clip_fraction": torch.tensor(0.0)}
    """],
    "test_grpo_microbatch_train_step": ["""
        _solution = grpo_microbatch_train_step
        def grpo_microbatch_train_step(policy_log_probs, response_mask, gradient_accumulation_steps,
                                       loss_type, raw_rewards=None, advantages=None,
                                       old_log_probs=None, cliprange=None, normalize_constant=None):
            weights, reweighting = {
                "no_baseline": (raw_rewards, "none"),
                "reinforce_with_baseline": (advantages, "none"),
                "grpo_noclip": (advantages, "noclip"), "grpo_clip": (advantages, "grpo"),
            }[loss_type]
            per_token, meta = compute_policy_gradient_loss(weights, policy_log_probs, reweighting,
                                                           old_log_probs, cliprange, response_mask)
            loss = masked_mean(per_token, response_mask) / gradient_accumulation_steps  # all tokens
            loss.backward()
            return loss, meta
    """],
}
