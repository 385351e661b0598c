"""Lesson 08's rollout speed and GRPO step split: ``python benchmarks/grpo.py [--quick]``.

- Rollout throughput (new tokens/s) of the kit's KV-cached batched sampler
  (``helpers.reference.rollout.sample_batch``) vs naive recomputation of the whole prefix at
  every step (``naive=True``) vs Hugging Face ``generate`` (KV cache, greedy) on a Llama of the
  same sizes (``LlamaForCausalLM``: same d_model, layers, heads, d_ff, vocabulary; its own
  random weights, as speed does not depend on them). Greedy, a fixed number of new tokens (no stop),
  the same left-padded prompts of the lesson's task.
- One GRPO step of the lesson's smoke configuration, split into rollout, scoring (rewards,
  advantages, old log-probs) and training (microbatches, backward, optimizer), from
  ``helpers.grpo.grpo_train``'s own timers (the median of the steps after the first).

Writes the section of this device in ``benchmarks/results/grpo.md`` (other sections kept).
"""
from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script

from benchmarks.sections import write_sections
from helpers.arithmetic import make_problems, task_tokenizer
from helpers.grpo import GRPOConfig, grpo_train, lesson_functions, new_policy
from helpers.reference import grpo as grpo_reference
from helpers.reference.model import ModelConfig, ReferenceLM
from helpers.reference.rollout import SamplingConfig, sample_batch

RESULTS = Path(__file__).resolve().parent / "results" / "grpo.md"
HEADER = """# Lesson 08 (GRPO): rollout throughput and one GRPO step

Written by `python benchmarks/grpo.py` (one section per device; rerun to update yours).
Throughput counts new tokens of all rows (batch x new tokens) per second of wall time,
greedy decoding, the best of the repeats. Goal (issue 16): the KV-cached sampler at >= 5x
naive recomputation at 256 new tokens, and at least as fast as `transformers`' `generate`.
"""


def timed(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        fn()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - t0)
    return best


def rollout_rows(cfg: ModelConfig, batch: int, new_tokens: int, device: str, repeats: int,
                 with_naive: bool = True) -> list[tuple[str, float]]:
    tok = task_tokenizer()
    prompts = [tok.encode(p.prompt) for p in make_problems(batch, seed=0)]
    torch.manual_seed(0)
    model = ReferenceLM(cfg).to(device).eval()
    sampling = SamplingConfig(temperature=0.0, max_tokens=new_tokens, stop=())
    rows = []
    kit = timed(lambda: sample_batch(model, prompts, sampling, eos_id=-1, pad_id=0), repeats)
    rows.append(("kit sampler, KV cache", batch * new_tokens / kit))
    if with_naive:
        naive = timed(lambda: sample_batch(model, prompts, sampling, eos_id=-1, pad_id=0,
                                           naive=True), 1)
        rows.append(("naive recomputation", batch * new_tokens / naive))
    try:
        from transformers import LlamaConfig, LlamaForCausalLM
    except ImportError:
        return rows
    hf = LlamaForCausalLM(LlamaConfig(
        vocab_size=cfg.vocab_size, hidden_size=cfg.d_model, intermediate_size=cfg.d_ff,
        num_hidden_layers=cfg.num_layers, num_attention_heads=cfg.num_heads,
        num_key_value_heads=cfg.num_heads, max_position_embeddings=cfg.context_length,
        tie_word_embeddings=False)).to(device).eval()
    width = max(map(len, prompts))
    ids = torch.tensor([[0] * (width - len(p)) + p for p in prompts], device=device)
    attn = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts], device=device)

    def hf_generate():
        with torch.no_grad():
            hf.generate(input_ids=ids, attention_mask=attn, max_new_tokens=new_tokens,
                        min_new_tokens=new_tokens, do_sample=False, pad_token_id=0)

    rows.append(("transformers generate (KV cache)", batch * new_tokens / timed(hf_generate,
                                                                                repeats)))
    return rows


def grpo_split(device: str, steps: int) -> dict[str, float]:
    cfg = GRPOConfig.build("smoke", device, grpo_steps=steps, eval_every=10**9, num_eval=8)
    tok = task_tokenizer()
    model = new_policy(cfg, tok.vocab_size)
    train, held = cfg.problems()
    history = grpo_train(model, tok, train, held, cfg, lesson_functions(vars(grpo_reference)))
    return {k: statistics.median(h[k] for h in history[1:-1])
            for k in ("time_rollout", "time_scoring", "time_training")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer tokens and repeats")
    args = parser.parse_args()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    gpu = device == "cuda"
    if device == "cpu":
        torch.set_num_threads(1)  # small models: one thread beats two (no sync costs)
    new_tokens = 64 if args.quick else 256
    batch = 64 if gpu else 16
    cfg = ModelConfig(vocab_size=320, context_length=new_tokens + 64,
                      d_model=512 if gpu else 128, num_layers=8 if gpu else 4,
                      num_heads=8 if gpu else 4, d_ff=1408 if gpu else 352)
    params = sum(p.numel() for p in ReferenceLM(cfg).parameters())
    rows = rollout_rows(cfg, batch, new_tokens, device, 1 if args.quick else 3)
    base = dict(rows)["naive recomputation"]
    table = ["| sampler | new tokens/s | vs naive |", "|---|---|---|"]
    table += [f"| {name} | {rate:,.0f} | {rate / base:.1f}x |" for name, rate in rows]
    split = grpo_split(device, 4 if args.quick else 8)
    smoke = GRPOConfig.build("smoke", device)
    total = sum(split.values())
    name = torch.cuda.get_device_name() if gpu else f"CPU ({platform.processor() or 'x86-64'}, " \
        f"{torch.get_num_threads()} thread{'s' if torch.get_num_threads() > 1 else ''})"
    body = "\n".join([
        f"torch {torch.__version__}; model: d_model {cfg.d_model}, {cfg.num_layers} layers, "
        f"{cfg.num_heads} heads, d_ff {cfg.d_ff}, vocabulary 320 ({params / 1e6:.2f}M parameters);"
        f" batch {batch} prompts of the lesson's task, {new_tokens} new tokens each.", "",
        *table, "",
        f"One GRPO step of the smoke configuration ({smoke.prompts_per_step} prompts x "
        f"{smoke.group_size} responses, <= {smoke.max_tokens} tokens, "
        f"{smoke.epochs_per_rollout_batch} epochs; median of the steps after the first):",
        "", "| part | seconds | share |", "|---|---|---|",
        *[f"| {k.removeprefix('time_')} | {v:.3f} | {v / total:.0%} |" for k, v in split.items()],
    ])
    title = f"{name}" + (" (quick)" if args.quick else "")
    write_sections(RESULTS, HEADER, {title: body})
    print(body)


if __name__ == "__main__":
    main()
