"""Lesson 08 (GRPO): oracles, properties and cross-checks of the task, the sampler, the engines
and the lesson's functions (the notebook's and ``helpers.reference.grpo``'s).

Run: ``python -m pytest grader/tests/test_grpo.py -q`` (about a minute on 2 cores).
"""
from __future__ import annotations

import hashlib
import os
import re
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from grader.nbmodule import load_notebook
from helpers.arithmetic import (
    EOS,
    make_problems,
    normalize_number,
    parse_answer_tag,
    pretraining_documents,
    sft_pairs,
    task_tokenizer,
)
from helpers.grpo import ROOT as KIT_ROOT
from helpers.grpo import (
    GRPOConfig,
    grpo_train,
    lesson_functions,
    load_or_pretrain,
    new_policy,
    pretrain,
    pretrain_settings,
    save_pretrained,
    sft_train,
    tiny_policy,
)
from helpers.reference import grpo as ref
from helpers.reference.model import ModelConfig, ReferenceLM
from helpers.reference.rollout import (
    FakeLLM,
    KitEngine,
    SamplingConfig,
    VLLMEngine,
    sample_batch,
    sample_tokens,
)

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="module")
def lesson():
    return load_notebook(os.path.join(ROOT, "solutions", "08_grpo.ipynb"))


@pytest.fixture(scope="module")
def tok():
    return task_tokenizer()


IMPLEMENTATIONS = ["reference", "notebook"]


def impl(name, lesson):
    return ref if name == "reference" else lesson


# ---------------------------------------------------------------------------------------------
# The task
# ---------------------------------------------------------------------------------------------
def test_problems_are_seeded_and_their_worked_solutions_are_right():
    a, b = make_problems(50, seed=3), make_problems(50, seed=3)
    assert a == b and a != make_problems(50, seed=4)
    for p in a:
        lines = p.solution.split("\n")
        for line in lines[:-1]:
            lhs, rhs = line.split("=")
            assert eval(lhs) == int(rhs)  # eval of digits and +- only
        assert parse_answer_tag(lines[-1]) == p.answer == lines[-2].split("=")[1]


def test_sft_pairs_mix_shortcuts_at_the_asked_rate():
    pairs = sft_pairs(make_problems(2000, seed=0), 0.5, seed=0)
    short = sum(o.startswith("<answer>") for _, o in pairs) / len(pairs)
    assert 0.45 < short < 0.55


def test_pretraining_documents_work_problems_out_without_the_tag():
    docs = pretraining_documents(100, seed=5, num_steps=3, max_number=20)
    assert docs == pretraining_documents(100, seed=5, num_steps=3, max_number=20)
    for doc in docs:
        assert "<answer>" not in doc and doc.endswith(".")
        lines = doc.split("\n")
        assert 2 <= len(lines) <= 5  # the prompt, 1 to 3 working lines, the closing sentence
        total = lines[-1].removeprefix("So the answer is ").rstrip(".")
        assert lines[-2].split("=")[1] == total  # the last working line's result


TINY = {"d_model": 16, "num_layers": 1, "num_heads": 2, "d_ff": 32, "context_length": 32,
        "pretrain_docs": 200, "pretrain_steps": 40, "pretrain_batch_size": 8}


def test_pretrain_is_reproducible_and_learns(tok):
    cfg = GRPOConfig.build("smoke", "cpu", **TINY)
    runs = []
    for _ in range(2):
        model = new_policy(cfg, tok.vocab_size)
        losses = pretrain(model, tok, cfg)
        runs.append((losses, [p.detach().clone() for p in model.parameters()]))
    (losses, params), (losses2, params2) = runs
    assert losses == losses2 and all(torch.equal(a, b) for a, b in zip(params, params2))
    assert np.mean(losses[-5:]) < 0.85 * losses[0]  # from log(vocab_size): it learns


def test_load_or_pretrain_loads_only_a_checkpoint_of_the_same_settings(tok, tmp_path, capsys):
    path = tmp_path / "tiny.pt"
    cfg = GRPOConfig.build("smoke", "cpu", **{**TINY, "pretrain_steps": 3}, checkpoint=str(path))
    model = new_policy(cfg, tok.vocab_size)
    save_pretrained(model, cfg, tok.vocab_size, path, pretrain(model, tok, cfg))
    other = new_policy(replace(cfg, seed=1), tok.vocab_size)
    assert load_or_pretrain(other, tok, cfg)["source"].startswith("loaded")
    assert all(torch.equal(a, b) for a, b in zip(model.parameters(), other.parameters()))
    changed = replace(cfg, pretrain_lr=1e-3)
    out = load_or_pretrain(new_policy(changed, tok.vocab_size), tok, changed)
    assert out["source"] == "pretrained here" and len(out["losses"]) == 3
    assert "other settings" in capsys.readouterr().out


def test_shipped_checkpoint_is_the_smoke_configs_and_documented(tok):
    cfg = GRPOConfig.build("smoke", "cpu")
    path = KIT_ROOT / cfg.checkpoint
    assert path.stat().st_size < 2_000_000
    saved = torch.load(path, map_location="cpu", weights_only=True)
    assert saved["settings"] == pretrain_settings(cfg, tok.vocab_size)
    model = new_policy(cfg, tok.vocab_size)
    model.load_state_dict(saved["state_dict"])  # every tensor of the model, right shapes
    readme = (path.parent / "README.md").read_text()
    assert hashlib.sha256(path.read_bytes()).hexdigest() in readme


def test_tokenizer_keeps_digits_apart_and_round_trips(tok):
    text = "Ann has 1234 pens.\n12+7=19\n<answer>-1,234</answer>" + EOS
    ids = tok.encode(text)
    assert tok.decode(ids) == text
    pieces = [tok.decode([i]) for i in ids]
    assert all(not re.search(r"\d", p) or re.fullmatch(r"\d", p) for p in pieces)
    assert ids[-1] == tok.eos_token_id and tok.vocab_size == 320


@pytest.mark.parametrize("text,want", [("1,234", "1234"), (" -7.50 ", "-7.5"), ("+3", "3"),
                                       ("-0", "0"), ("3.", None), ("", None), ("1e3", None)])
def test_normalize_number(text, want):
    assert normalize_number(text) == want


@pytest.mark.parametrize("name", IMPLEMENTATIONS)
def test_gsm8k_parser_takes_the_last_number(name, lesson):
    parse = impl(name, lesson).parse_gsm8k_response
    assert parse("3 then 4, so -1,200.50.") == "-1200.5"
    assert parse("none") is None


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(-10**6, 10**6), min_size=1, max_size=5), st.text("ab ,.", max_size=5))
def test_gsm8k_parser_property(numbers, filler):
    sep = "x" + filler  # a letter between numbers, so they never run together
    text = sep.join(f"{n:,}" for n in numbers) + filler.replace(".", "")
    assert ref.parse_gsm8k_response(" " + text) == str(numbers[-1])


# ---------------------------------------------------------------------------------------------
# Tokenization, log-probs, entropy
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", IMPLEMENTATIONS)
def test_tokenize_shift_and_mask(name, lesson, tok):
    out = impl(name, lesson).tokenize_prompt_and_output(["a b\n", "Ann has 3.\n"],
                                                          ["<answer>1</answer>", "9"], tok)
    for i, (p, o) in enumerate([("a b\n", "<answer>1</answer>"), ("Ann has 3.\n", "9")]):
        full = tok.encode(p) + tok.encode(o)
        n = len(full) - 1
        assert out["input_ids"][i, :n].tolist() == full[:-1]
        assert out["labels"][i, :n].tolist() == full[1:]
        assert out["response_mask"][i].sum() == len(tok.encode(o))
        assert out["response_mask"][i, len(tok.encode(p)) - 1:n].all()


@pytest.mark.parametrize("name", IMPLEMENTATIONS)
def test_log_probs_equal_gather_and_cross_entropy(name, lesson):
    model = tiny_policy(16, seed=2)
    ids = torch.randint(16, (3, 9), generator=torch.Generator().manual_seed(0))
    labels = torch.roll(ids, -1, 1)
    got = impl(name, lesson).get_response_log_probs(model, ids, labels, True)
    with torch.no_grad():
        logits = model(ids).float()
    by_hand = torch.log_softmax(logits, -1).gather(-1, labels[..., None]).squeeze(-1)
    ce = -torch.nn.functional.cross_entropy(logits.transpose(1, 2), labels, reduction="none")
    assert torch.allclose(got["log_probs"], by_hand, atol=1e-6)
    assert torch.allclose(got["log_probs"], ce, atol=1e-5)
    want = torch.distributions.Categorical(logits=logits).entropy()
    assert torch.allclose(got["token_entropy"], want, atol=1e-5)


@pytest.mark.parametrize("name", IMPLEMENTATIONS)
def test_entropy_against_categorical_and_stable(name, lesson):
    f = impl(name, lesson).compute_entropy
    z = torch.randn(5, 33, dtype=torch.float64) * 4
    assert torch.allclose(f(z), torch.distributions.Categorical(logits=z).entropy())
    assert torch.isfinite(f(torch.tensor([1e4, -1e4, 0.0]))).all()


# ---------------------------------------------------------------------------------------------
# Rewards, advantages, losses
# ---------------------------------------------------------------------------------------------
@settings(max_examples=40, deadline=None)
@given(st.integers(1, 5), st.integers(2, 6), st.integers(0, 10**6),
       st.sampled_from(["std", "none", "mean"]), st.sampled_from(["mean", "none"]))
def test_group_normalization_against_pandas(groups, size, seed, normalizer, baseline):
    r = torch.rand(groups * size, generator=torch.Generator().manual_seed(seed)).round()
    adv, meta = ref.compute_group_normalized_rewards(r, size, baseline, 1e-3, normalizer)
    df = pd.DataFrame({"g": np.repeat(np.arange(groups), size), "r": r.numpy().astype(float)})
    grouped = df.groupby("g")["r"]
    num = df["r"] - grouped.transform("mean") if baseline == "mean" else df["r"]
    den = {"std": grouped.transform("std") + 1e-3, "mean": grouped.transform("mean").abs() + 1e-3,
           "none": 1.0}[normalizer]
    assert np.allclose(adv.numpy(), (num / den).to_numpy(), atol=1e-5)
    assert meta["frac_zero_std"] == pytest.approx((grouped.std() == 0).mean())


def brute_clip_loss(adv, new, old, eps):
    out = torch.empty_like(new)
    for b in range(new.shape[0]):
        for t in range(new.shape[1]):
            ratio = float(np.exp(float(new[b, t] - old[b, t])))
            a = float(adv[b])
            out[b, t] = -min(ratio * a, min(max(ratio, 1 - eps), 1 + eps) * a)
    return out


@pytest.mark.parametrize("name", IMPLEMENTATIONS)
def test_clipped_loss_against_brute_force(name, lesson):
    g = torch.Generator().manual_seed(1)
    adv = torch.randn(5, generator=g, dtype=torch.float64)
    new = -torch.rand(5, 7, generator=g, dtype=torch.float64) * 2
    old = -torch.rand(5, 7, generator=g, dtype=torch.float64) * 2
    loss, meta = impl(name, lesson).compute_policy_gradient_loss(adv, new, "grpo", old, 0.2)
    assert torch.allclose(loss, brute_clip_loss(adv, new, old, 0.2))
    assert 0 < float(meta["clip_fraction"]) < 1


def test_gradcheck_of_losses():
    g = torch.Generator().manual_seed(2)
    adv = torch.randn(3, generator=g, dtype=torch.float64)
    old = -torch.rand(3, 5, generator=g, dtype=torch.float64)
    mask = torch.rand(3, 5, generator=g) < 0.7
    mask[:, 0] = True
    new = (old + 0.05 * torch.randn(3, 5, generator=g, dtype=torch.float64)).requires_grad_()
    for kind in ("none", "noclip", "grpo"):
        def f(lp, kind=kind):
            loss, _ = ref.compute_policy_gradient_loss(adv, lp, kind, old, 0.2, mask)
            return ref.masked_mean(loss, mask, dim=-1).mean()
        assert torch.autograd.gradcheck(f, (new,))


def test_on_policy_ratio_gradient_equals_reinforce_gradient():
    """At theta = theta_old, -A * ratio has the gradient of -A * log p (the policy gradient)."""
    adv = torch.tensor([1.5, -0.5], dtype=torch.float64)
    lp = -torch.rand(2, 4, dtype=torch.float64)
    mask = torch.ones(2, 4, dtype=torch.bool)
    grads = []
    for loss_type in ("reinforce_with_baseline", "grpo_noclip", "grpo_clip"):
        leaf = lp.clone().requires_grad_()
        ref.grpo_microbatch_train_step(leaf, mask, 1, loss_type, advantages=adv,
                                       old_log_probs=lp, cliprange=0.2)
        grads.append(leaf.grad)
    assert torch.allclose(grads[0], grads[1]) and torch.allclose(grads[0], grads[2])


@pytest.mark.parametrize("fn", ["masked_mean", "masked_normalize", "compute_entropy",
                                "compute_group_normalized_rewards",
                                "compute_policy_gradient_loss"])
def test_notebook_matches_reference(fn, lesson):
    g = torch.Generator().manual_seed(3)
    x, m = torch.randn(4, 6, generator=g), torch.rand(4, 6, generator=g) < 0.5
    m[:, 0] = True
    args = {"masked_mean": (x, m, 1), "masked_normalize": (x, m, 3.0, 0),
            "compute_entropy": (x,), "compute_group_normalized_rewards": (x.flatten(), 6),
            "compute_policy_gradient_loss": (x[:, 0], x, "grpo", x.flip(0), 0.3, m)}[fn]
    want, got = getattr(ref, fn)(*args), getattr(lesson, fn)(*args)
    if isinstance(want, tuple):
        want, got = want[0], got[0]
    assert torch.allclose(want, got)


# ---------------------------------------------------------------------------------------------
# The sampler and the engines
# ---------------------------------------------------------------------------------------------
def _model(tok, seed=0):
    torch.manual_seed(seed)
    return ReferenceLM(ModelConfig(vocab_size=tok.vocab_size, context_length=128, d_model=32,
                                   num_layers=2, num_heads=4, d_ff=64))


def test_rollout_kv_cache_equals_naive_and_unbatched(tok):
    model = _model(tok)
    prompts = [tok.encode(p.prompt) for p in make_problems(5, seed=1)]  # different lengths
    s = SamplingConfig(temperature=0.0, max_tokens=12, stop=())
    cached = sample_batch(model, prompts, s, eos_id=tok.eos_token_id)
    naive = sample_batch(model, prompts, s, eos_id=tok.eos_token_id, naive=True)
    single = [sample_batch(model, [p], s, eos_id=tok.eos_token_id)[0] for p in prompts]
    assert cached == naive == single
    by_hand = []
    for p in prompts:
        ids, new = list(p), []
        for _ in range(12):
            t = int(model(torch.tensor([ids]))[0, -1].argmax())
            ids.append(t)
            new.append(t)
            if t == tok.eos_token_id:
                break
        by_hand.append(new)
    assert cached == by_hand


def test_rollout_stops_and_top_p(tok):
    model = _model(tok, seed=1)
    s = SamplingConfig(temperature=1.0, top_p=0.9, max_tokens=20, stop=("a",), seed=0)
    texts = KitEngine(model, tok).generate(["Ann has 3.\n"] * 16, s)
    assert all(t.count("a") <= 1 and (t.endswith("a") or "a" not in t) for t in texts)
    probs = torch.tensor([[0.5, 0.3, 0.15, 0.05]]).log()
    draws = {int(sample_tokens(probs, 1.0, 0.75, torch.Generator().manual_seed(i)))
             for i in range(200)}
    assert draws == {0, 1}  # 0.5 + 0.3 reaches 0.75: tokens 2 and 3 are cut


def test_vllm_engine_against_fake_llm(tok):
    model = _model(tok, seed=2)
    fake = FakeLLM(_model(tok, seed=3), tok)
    engine = VLLMEngine(fake, sampling_params_cls=FakeLLM.SamplingParams)
    engine.sync(model)  # the fake's model now holds the policy's weights
    assert fake.loaded and all(torch.equal(a, b) for a, b in
                               zip(fake.model.state_dict().values(), model.state_dict().values()))
    prompts = [p.prompt for p in make_problems(4, seed=5)]
    s = SamplingConfig(temperature=0.0, max_tokens=10)
    assert engine.generate(prompts, s) == KitEngine(model, tok).generate(prompts, s)


# ---------------------------------------------------------------------------------------------
# Hugging Face transformers, and the loops
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", IMPLEMENTATIONS)
def test_functions_work_with_a_hugging_face_model(name, lesson, tok):
    transformers = pytest.importorskip("transformers")
    torch.manual_seed(0)
    hf = transformers.LlamaForCausalLM(transformers.LlamaConfig(
        vocab_size=tok.vocab_size, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
        num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=64))
    mod = impl(name, lesson)
    batch = mod.tokenize_prompt_and_output(["Ann has 3.\n", "Bob has 1.\n"],
                                           ["<answer>3</answer>", "<answer>1</answer>"], tok)
    out = mod.get_response_log_probs(hf, batch["input_ids"], batch["labels"], True)
    logits = hf(batch["input_ids"]).logits
    want = torch.log_softmax(logits, -1).gather(-1, batch["labels"][..., None]).squeeze(-1)
    assert torch.allclose(out["log_probs"], want, atol=1e-5)
    mod.grpo_microbatch_train_step(out["log_probs"], batch["response_mask"], 1, "grpo_clip",
                                   advantages=torch.tensor([1.0, -1.0]),
                                   old_log_probs=out["log_probs"].detach(), cliprange=0.2)
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in hf.parameters())


@pytest.mark.parametrize("scale", ["smoke", "full"])
def test_sft_then_grpo_runs_and_logs(tok, scale):
    """The loops at both scales' settings (the full one with a small model, on the CPU)."""
    small = {"d_model": 32, "num_layers": 1, "num_heads": 2, "d_ff": 64, "pretrain_docs": 100,
             "pretrain_steps": 3, "pretrain_batch_size": 4} if scale == "full" else {}
    cfg = GRPOConfig.build(scale, "cpu", **small, num_train=200, num_eval=8, sft_steps=5,
                           grpo_steps=2, prompts_per_step=2, group_size=4, microbatch_size=4,
                           eval_every=1, max_tokens=8)
    model = new_policy(cfg, tok.vocab_size)
    base = load_or_pretrain(model, tok, cfg)  # smoke: the shipped checkpoint; full: pretrains
    assert base["source"] == ("pretrained here" if scale == "full" else
                              f"loaded {cfg.checkpoint}")
    train, held = cfg.problems()
    fns = lesson_functions(vars(ref))
    losses = sft_train(model, tok, train, cfg, fns)
    assert len(losses) == 5 and np.isfinite(losses).all()
    before = [p.detach().clone() for p in model.parameters()]
    history = grpo_train(model, tok, train, held, cfg, fns)
    assert len(history) == 3 and "eval_accuracy" in history[-1]
    keys = {"reward", "train_accuracy", "length", "entropy", "clip_fraction", "time_rollout"}
    assert keys <= set(history[0])
    changed = any(not torch.equal(a, b) for a, b in zip(before, model.parameters()))
    assert changed or all(h.get("reward", 0) in (0.0, 1.0) for h in history[:-1])


def test_config_scales_presets_and_sizes():
    smoke, full = GRPOConfig.build("smoke", "cpu", 3), GRPOConfig.build("full", "cpu")
    assert (smoke.scale, smoke.device, smoke.seed) == ("smoke", "cpu", 3)
    assert full.d_model > smoke.d_model and full.checkpoint is None
    assert smoke.checkpoint == "datasets/grpo/pretrained_smoke.pt"
    for cfg in (smoke, full):  # every preset sets every size that the scales do not share
        assert all(getattr(cfg, k) not in (0, 0.0) for k in GRPOConfig.PRESETS["full"])
        assert set(GRPOConfig.PRESETS[cfg.scale]) == set(GRPOConfig.PRESETS["full"])
    mine = GRPOConfig.build("smoke", "cpu", grpo_steps=5, group_size=None)
    assert (mine.grpo_steps, mine.group_size, mine.d_model) == (5, 8, 64), \
        "a size overrides its preset, None keeps it"
    with pytest.raises(ValueError, match="scale must be"):
        GRPOConfig.build("medium")
    with pytest.raises(TypeError, match="no setting"):
        GRPOConfig.build("smoke", "cpu", grpo_stpes=5)
    with pytest.raises(ValueError, match="positive"):
        GRPOConfig.build("smoke", "cpu", eval_every=0)
