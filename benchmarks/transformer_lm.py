"""Benchmark training throughput of lesson 02's Transformer LM: a from-scratch ("student")
model against the reference (helpers/reference/model.py), eager and under torch.compile;
optionally a short full-scale training run of the TinyStories-sized model.

- What is timed: one training step, forward + backward + AdamW step (``zero_grad`` included,
  no gradient clipping), on a fixed batch of random token ids. Median over the timed steps
  after warm-up (CUDA events on a GPU, ``perf_counter`` on the CPU); tokens/s = batch_size *
  context_length / median step time. GPU: bf16 autocast, fused AdamW; CPU: float32.
- Implementations: (a) "student": the lesson's own ``TransformerLM`` loaded from
  ``solutions/02_transformer_lm.ipynb`` with ``grader.nbmodule`` when that works here, else
  ``StudentStyleLM`` below, this file's own stand-in written the way the lesson teaches
  (``nn.Parameter`` + einsum, hand-written softmax attention that materializes the scores);
  (b) ``ReferenceLM`` (PyTorch modules, SDPA); (c) ``ReferenceLM`` under ``torch.compile``
  (model and loss in one graph, as ``helpers.training.train(compile=True)`` does); (d) on a
  GPU (or with ``--bf16-residual``), (c) with its residual stream in bf16 under autocast
  (``ReferenceLM(cfg, autocast_residual=True)``): the row that meets the >= 40% MFU goal.
  Before timing, (a) gets (b)'s weights and their float32 logits are compared.
- FLOPs per token (matrix products, 2 per multiply-add, forward + backward = 3x forward):
      6 * N  +  6 * num_layers * context_length * d_model
  where N counts the parameters that multiply activations (all but ``token_embeddings``; the
  norm gains are included, negligible), and the second term is causal attention
  (Q K^T and P V: 2 * 2 * (context_length / 2) * d_model per token and layer, forward).
  PaLM's appendix B counts attention as 12 * L * T * d (no causal halving); ours is the work
  actually needed. MFU = FLOPs/token * tokens/s / peak dense bf16 FLOP/s (``PEAK_BF16``).
- Configs: ``cpu`` (small, float32), ``tinystories`` (lesson 02's full-scale model:
  d_model 512, 4 layers, 16 heads, d_ff 1344, context 256, vocab 10,000) and ``125M``
  (d_model 768, 12 layers, 12 heads, d_ff 2048 SwiGLU, context 1024, vocab 32,000).
- ``--train-minutes M --corpus DIR`` then trains the TinyStories-sized ReferenceLM with
  ``helpers.training.train`` (compiled, bf16) on ``DIR/train.bin`` for about M minutes (steps
  set from the measured throughput) and records the validation loss and a sample.

Run: ``python benchmarks/transformer_lm.py`` (CPU table, ~3 min on 2 cores);
on a GPU: ``python benchmarks/transformer_lm.py --configs tinystories 125M``.
Writes its sections of ``benchmarks/results/transformer_lm.md`` (others are kept).
"""
from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import statistics
import sys
import time
import traceback
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script

from benchmarks.sections import write_sections

# PEAK_BF16: dense bf16 tensor-core peaks (FLOP/s, by substring of torch's device name; first
# match wins), from NVIDIA's datasheets: cited in helpers/hardware.py.
from helpers.hardware import PEAK_BF16
from helpers.reference.model import ModelConfig, ReferenceLM, _backend, apply_rope
from helpers.training import make_optimizer

REPO = Path(__file__).resolve().parent.parent

RESULTS = REPO / "benchmarks" / "results" / "transformer_lm.md"
SOLUTION = REPO / "solutions" / "02_transformer_lm.ipynb"


CONFIGS = {
    "cpu": dict(model=ModelConfig(vocab_size=10_000, context_length=128, d_model=256, num_layers=4,
                                  num_heads=8, d_ff=688), batch_size=8),
    "tinystories": dict(model=ModelConfig(), batch_size=128),
    "125M": dict(model=ModelConfig(vocab_size=32_000, context_length=1024, d_model=768,
                                   num_layers=12, num_heads=12, d_ff=2048), batch_size=32),
}


# ---------------------------------------------------------------------------------------------
# (a) The benchmark's own student-style stand-in: the lesson's modules written plainly
# ---------------------------------------------------------------------------------------------
class Linear(nn.Module):
    def __init__(self, d_in: int, d_out: int):
        super().__init__()
        std = math.sqrt(2 / (d_in + d_out))
        weight = nn.init.trunc_normal_(torch.empty(d_out, d_in), 0, std, -3 * std, 3 * std)
        self.weight = nn.Parameter(weight)

    def forward(self, x):  # (..., d_in) -> (..., d_out)
        return torch.einsum("...i,oi->...o", x, self.weight)


class Embedding(nn.Module):
    def __init__(self, num: int, dim: int):
        super().__init__()
        self.weight = nn.Parameter(nn.init.trunc_normal_(torch.empty(num, dim), 0, 1, -3, 3))

    def forward(self, ids):  # (batch, seq) -> (batch, seq, dim)
        return self.weight[ids]


class RMSNorm(nn.Module):
    def __init__(self, d: int, eps: float):
        super().__init__()
        self.weight, self.eps = nn.Parameter(torch.ones(d)), eps

    def forward(self, x):
        dtype = x.dtype
        x = x.float()  # the mean of squares in float32
        x = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)
        return (x * self.weight).to(dtype)


class SwiGLU(nn.Module):
    def __init__(self, d_model: int, d_ff: int):
        super().__init__()
        self.w1, self.w3 = Linear(d_model, d_ff), Linear(d_model, d_ff)
        self.w2 = Linear(d_ff, d_model)

    def forward(self, x):
        a = self.w1(x)
        return self.w2(a * torch.sigmoid(a) * self.w3(x))


def softmax(x, dim):
    x = x - x.amax(dim=dim, keepdim=True)  # stable: the largest exponent is 0
    e = torch.exp(x)
    return e / e.sum(dim=dim, keepdim=True)


class Attention(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        d = cfg.d_model
        self.num_heads = cfg.num_heads
        self.q_proj, self.k_proj, self.v_proj, self.output_proj = (Linear(d, d) for _ in range(4))

    def forward(self, x, cos, sin):
        b, s, d = x.shape
        h = self.num_heads
        q, k, v = (p(x).view(b, s, h, d // h).transpose(1, 2)
                   for p in (self.q_proj, self.k_proj, self.v_proj))

        def rope(t):  # (batch, heads, seq, d_head), pairs (2i, 2i+1)
            t0, t1 = t[..., 0::2], t[..., 1::2]
            return torch.stack((t0 * cos - t1 * sin, t0 * sin + t1 * cos), -1).flatten(-2)

        q, k = rope(q), rope(k)
        # (batch, heads, seq, seq)
        scores = torch.einsum("bhqd,bhkd->bhqk", q, k) / math.sqrt(d // h)
        mask = torch.ones(s, s, dtype=torch.bool, device=x.device).tril()
        probs = softmax(scores.masked_fill(~mask, float("-inf")), dim=-1)
        out = torch.einsum("bhqk,bhkd->bhqd", probs, v)
        return self.output_proj(out.transpose(1, 2).reshape(b, s, d))


class Block(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.ln1, self.attn = RMSNorm(cfg.d_model, cfg.eps), Attention(cfg)
        self.ln2, self.ffn = RMSNorm(cfg.d_model, cfg.eps), SwiGLU(cfg.d_model, cfg.d_ff)

    def forward(self, x, cos, sin):
        x = x + self.attn(self.ln1(x), cos, sin)
        return x + self.ffn(self.ln2(x))


class StudentStyleLM(nn.Module):
    """The benchmark's stand-in for lesson 02's TransformerLM (same parameter names)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.token_embeddings = Embedding(cfg.vocab_size, cfg.d_model)
        self.layers = nn.ModuleList(Block(cfg) for _ in range(cfg.num_layers))
        self.ln_final = RMSNorm(cfg.d_model, cfg.eps)
        self.lm_head = Linear(cfg.d_model, cfg.vocab_size)
        inv = cfg.rope_theta ** (-torch.arange(0, cfg.d_head, 2) / cfg.d_head)
        angles = torch.outer(torch.arange(cfg.context_length).float(), inv)  # (context, d_head/2)
        self.register_buffer("cos", angles.cos(), persistent=False)
        self.register_buffer("sin", angles.sin(), persistent=False)

    def forward(self, ids):
        s = ids.shape[-1]
        x = self.token_embeddings(ids)
        for layer in self.layers:
            x = layer(x, self.cos[:s], self.sin[:s])
        return self.lm_head(self.ln_final(x))


def student_model(cfg: ModelConfig) -> tuple[nn.Module, str]:
    """Lesson 02's TransformerLM if its notebook loads here, else the stand-in; and a label."""
    why = "no solutions/02_transformer_lm.ipynb"
    if SOLUTION.exists():
        try:
            from grader.nbmodule import load_notebook

            nb = load_notebook(SOLUTION)
            fields = {k: getattr(cfg, k) for k in ("vocab_size", "context_length", "d_model",
                                                   "num_layers", "num_heads", "d_ff",
                                                   "rope_theta")}
            try:
                model = nb.TransformerLM(**fields)
            except TypeError:
                model = nb.TransformerLM(cfg)
            return model, "student (lesson 02 notebook)"
        except Exception as err:  # any failure: fall back, and say why
            why = f"notebook not loadable here ({type(err).__name__}: {err})"[:120]
    return StudentStyleLM(cfg), f"student-style stand-in ({why})"


# ---------------------------------------------------------------------------------------------
# Measurement
# ---------------------------------------------------------------------------------------------
def matmul_params(model_cfg: ModelConfig) -> tuple[int, int]:
    """(all parameters, parameters in matrix products = all but the token embeddings)."""
    c = model_cfg
    per_layer = 4 * c.d_model**2 + 3 * c.d_model * c.d_ff + 2 * c.d_model
    matmul = c.num_layers * per_layer + c.d_model + c.vocab_size * c.d_model
    return matmul + c.vocab_size * c.d_model, matmul


def flops_per_token(c: ModelConfig) -> float:
    return 6 * matmul_params(c)[1] + 6 * c.num_layers * c.context_length * c.d_model


def peak_bf16(device: str) -> tuple[str, float | None]:
    if not device.startswith("cuda"):
        return platform.processor() or platform.machine(), None
    name = torch.cuda.get_device_name()
    return name, next((p for key, p in PEAK_BF16 if key in name), None)


def time_steps(model: nn.Module, batch_size: int, cfg: ModelConfig, device: str, dtype,
               warmup: int, steps: int, compile_model: bool,
               compile_mode: str | None = None) -> dict:
    """Median seconds of a training step (fwd + bwd + AdamW), and peak GPU memory."""
    opt = make_optimizer(model.parameters(), lr=1e-4)

    def forward_loss(x, y):
        logits = model(x)
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))

    if compile_model:  # model + loss in one graph, as helpers.training.train(compile=True) does
        forward_loss = torch.compile(forward_loss, mode=compile_mode)
    g = torch.Generator(device="cpu").manual_seed(0)
    ids = torch.randint(0, cfg.vocab_size, (batch_size, cfg.context_length + 1),
                        generator=g).to(device)
    x, y = ids[:, :-1], ids[:, 1:]
    cuda = device.startswith("cuda")

    def step():
        if compile_mode == "reduce-overhead":  # CUDA graphs: a new step may reuse the last's memory
            torch.compiler.cudagraph_mark_step_begin()
        with torch.autocast(device_type=torch.device(device).type, dtype=dtype,
                            enabled=dtype != torch.float32):
            loss = forward_loss(x, y)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    t0 = time.perf_counter()
    for _ in range(warmup):
        step()
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    warm_s = time.perf_counter() - t0
    times = []
    for _ in range(steps):
        if cuda:
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            step()
            end.record()
            times.append((start, end))
        else:
            t = time.perf_counter()
            step()
            times.append(time.perf_counter() - t)
    if cuda:
        torch.cuda.synchronize()
        times = [s.elapsed_time(e) / 1e3 for s, e in times]
    return {"step_s": statistics.median(times), "spread": (min(times), max(times)),
            "warmup_s": warm_s,
            "peak_gb": torch.cuda.max_memory_allocated() / 1e9 if cuda else None}


def check_agreement(student: nn.Module, reference: nn.Module, cfg: ModelConfig, device: str) -> str:
    """Load the reference weights into the student model; max |logits difference| in float32."""
    try:
        student.load_state_dict(reference.state_dict())
        ids = torch.randint(0, cfg.vocab_size, (2, min(cfg.context_length, 128)), device=device)
        with torch.no_grad():
            a, b = student(ids).float(), reference(ids).float()
        return f"{(a - b).abs().max().item():.1e}"
    except Exception as err:
        return f"not compared ({type(err).__name__})"


def fuse_projections(model: ReferenceLM) -> ReferenceLM:
    """Make ``model`` compute q, k, v with one matmul on the concatenated weights, and w1, w3
    likewise (the same parameters and state_dict; an experiment on GEMM shapes: N = 3 d_model
    and 2 d_ff instead of d_model and d_ff)."""
    for layer in model.layers:
        attn, ffn = layer.attn, layer.ffn

        def attn_forward(x, cos, sin, attn=attn):
            w = torch.cat((attn.q_proj.weight, attn.k_proj.weight, attn.v_proj.weight))
            q, k, v = F.linear(x, w).unflatten(-1, (3, attn.num_heads,
                                                    attn.d_head)).permute(2, 0, 3, 1, 4)
            out = _backend(attn.attn_backend)(apply_rope(q, cos, sin), apply_rope(k, cos, sin), v)
            return attn.output_proj(out.transpose(1, 2).flatten(-2))

        def ffn_forward(x, ffn=ffn):
            a, b = F.linear(x, torch.cat((ffn.w1.weight, ffn.w3.weight))).chunk(2, dim=-1)
            return ffn.w2(F.silu(a) * b)

        attn.forward, ffn.forward = attn_forward, ffn_forward
    return model


def bench_config(name: str, device: str, warmup: int, steps: int, log,
                 batch_size: int | None = None,
                 only: str | None = None, compile_mode: str | None = None,
                 fused: bool = False, autocast_residual: bool = False) -> list[dict]:
    spec = CONFIGS[name]
    cfg, batch_size = spec["model"], batch_size or spec["batch_size"]
    cuda = device.startswith("cuda")
    dtype = torch.bfloat16 if cuda else torch.float32
    rows = []
    torch.manual_seed(0)
    reference = ReferenceLM(cfg).to(device)
    student, student_label = student_model(cfg)
    student.to(device)
    agreement = check_agreement(student, reference, cfg, device)
    log(f"[{name}] {student_label}: max |logits - reference| = {agreement} (float32)")
    variants = [(student_label.split(" (")[0] + " (eager)", student, False),
                ("reference (eager)", reference, False),
                ("reference (torch.compile)", reference, True)]
    if compile_mode:
        variants.append((f"reference (torch.compile, {compile_mode})", reference, True))
    if autocast_residual:
        bf16_residual = ReferenceLM(cfg, autocast_residual=True).to(device)
        bf16_residual.load_state_dict(reference.state_dict())
        variants.append(("reference (torch.compile, bf16 residual stream)", bf16_residual, True))
    if fused:  # last: it changes the reference's forwards
        fused_model = fuse_projections(ReferenceLM(cfg).to(device))
        fused_model.load_state_dict(reference.state_dict())
        with torch.no_grad():
            ids = torch.randint(0, cfg.vocab_size, (2, min(cfg.context_length, 128)), device=device)
            diff = (fused_model(ids).float() - reference(ids).float()).abs().max().item()
        log(f"[{name}] fused projections: max |logits - reference| = {diff:.1e} (float32)")
        variants.append(("reference (torch.compile, fused QKV and W1/W3)", fused_model, True))
    for label, model, compile_model in variants:
        if only and only not in label:
            continue
        b = batch_size
        while True:
            try:
                torch._dynamo.reset()
                mode = compile_mode if label.endswith(f"{compile_mode})") else None
                r = time_steps(model, b, cfg, device, dtype, warmup + (3 if compile_model else 0),
                               steps, compile_model, mode)
                break
            except torch.cuda.OutOfMemoryError:
                if b == 1:
                    raise
                b //= 2
                log(f"[{name}] {label}: out of memory, batch_size -> {b}")
                torch.cuda.empty_cache()
        tokens_per_s = b * cfg.context_length / r["step_s"]
        flops = flops_per_token(cfg) * tokens_per_s
        gpu, peak = peak_bf16(device)
        row = dict(config=name, implementation=label, batch_size=b,
                   context_length=cfg.context_length,
                   params=matmul_params(cfg)[0], matmul_params=matmul_params(cfg)[1],
                   step_ms=r["step_s"] * 1e3, min_ms=r["spread"][0] * 1e3,
                   max_ms=r["spread"][1] * 1e3,
                   tokens_per_s=tokens_per_s, tflops=flops / 1e12,
                   mfu=flops / peak if peak else None, warmup_s=r["warmup_s"], peak_gb=r["peak_gb"],
                   agreement=agreement if "student" in label else "")
        rows.append(row)
        log(f"[{name}] {label}: batch {b}, {row['step_ms']:.1f} ms/step, {tokens_per_s:,.0f} "
            f"tokens/s, {row['tflops']:.3g} TFLOP/s" + (f", MFU {row['mfu']:.1%}" if peak else "")
            + f" (warm-up {r['warmup_s']:.0f} s)")
        if cuda:
            torch.cuda.empty_cache()
    del student, reference
    return rows


def matmul_tflops(device: str) -> float | None:
    """Measured bf16 matmul ceiling (8192^3, random data), TFLOP/s."""
    if not device.startswith("cuda"):
        return None
    a, b = (torch.randn(8192, 8192, device=device, dtype=torch.bfloat16) for _ in range(2))
    for _ in range(3):
        a @ b
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(20):
        a @ b
    end.record()
    torch.cuda.synchronize()
    return 2 * 8192**3 * 20 / (start.elapsed_time(end) / 1e3) / 1e12


# ---------------------------------------------------------------------------------------------
# Full-scale training (TinyStories-sized model on a tokenized corpus)
# ---------------------------------------------------------------------------------------------
def train_run(corpus_dir: Path, minutes: float, tokens_per_s: float | None, device: str,
              out_dir: Path,
              log) -> dict:
    from helpers.data import load_tokens
    from helpers.reference.generation import generate
    from helpers.training import TrainConfig, train

    train_data = load_tokens(corpus_dir / "train.bin")
    valid_data = load_tokens(corpus_dir / "valid.bin")
    model_cfg = CONFIGS["tinystories"]["model"]
    batch_size = CONFIGS["tinystories"]["batch_size"]
    tokens_per_step = batch_size * model_cfg.context_length
    rate = (tokens_per_s or 2e5) * 0.85  # evaluation and logging take some time
    num_steps = max(100, int(minutes * 60 * rate / tokens_per_step) // 100 * 100)
    cfg = TrainConfig(batch_size=batch_size, context_length=model_cfg.context_length,
                      num_steps=num_steps,
                      lr=3e-3, min_lr=3e-4, warmup_steps=max(50, num_steps // 20), weight_decay=0.1,
                      eval_every=max(1, num_steps // 10), eval_batches=20, log_every=50,
                      out_dir=out_dir, device=device, dtype="bfloat16" if device.startswith("cuda")
                      else "float32",
                      compile=True, seed=0)
    torch.manual_seed(0)
    model = ReferenceLM(model_cfg)
    log(f"[train] {num_steps} steps of {tokens_per_step} tokens "
        f"on {len(train_data):,} training tokens")
    t0 = time.perf_counter()
    history = train(model, train_data, valid_data, cfg, progress=False)
    wall = time.perf_counter() - t0
    result = dict(num_steps=num_steps, batch_size=batch_size, lr=cfg.lr, wall_s=wall,
                  train_tokens=len(train_data), valid_tokens=len(valid_data),
                  tokens_seen=num_steps * tokens_per_step,
                  final_valid_loss=history.final_valid_loss,
                  final_train_loss=history.train_loss[-1],
                  median_tokens_per_s=statistics.median(history.tokens_per_s[1:]
                                                        or history.tokens_per_s),
                  history=history.to_dict())
    try:
        from helpers.data import EOT
        from helpers.tokenization import hf_tokenizer, load_tokenizer_files

        vocab, merges = load_tokenizer_files(corpus_dir / "vocab.json", corpus_dir / "merges.txt")
        tok = hf_tokenizer(vocab, merges, special_tokens=[EOT])
        prompt = tok.encode("Once upon a time").ids
        new = generate(model, prompt, 200, temperature=0.8, top_p=0.95, eos_id=tok.token_to_id(EOT),
                       generator=torch.Generator(device="cpu").manual_seed(0))
        result["sample"] = tok.decode(prompt + new, skip_special_tokens=False)
    except Exception as err:  # a sample is a bonus
        result["sample"] = f"(no sample: {type(err).__name__}: {err})"
    log(f"[train] valid loss {result['final_valid_loss']:.3f} after {wall:.0f} s, "
        f"{result['median_tokens_per_s']:,.0f} tokens/s")
    return result


# ---------------------------------------------------------------------------------------------
# Results file
# ---------------------------------------------------------------------------------------------
def table(rows: list[dict]) -> str:
    lines = ["| config | implementation | batch × context | step ms (min–max) | tokens/s | TFLOP/s "
             "| MFU | peak GB |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        mfu = f"{r['mfu']:.1%}" if r["mfu"] is not None else "–"
        gb = f"{r['peak_gb']:.1f}" if r["peak_gb"] is not None else "–"
        lines.append(f"| {r['config']} | {r['implementation']} | {r['batch_size']} × "
                     f"{r['context_length']} | {r['step_ms']:.1f} "
                     f"({r['min_ms']:.1f}–{r['max_ms']:.1f}) | {r['tokens_per_s']:,.0f} | "
                     f"{r['tflops']:.3g} | {mfu} | {gb} |")
    return "\n".join(lines)


def config_lines(names) -> str:
    out = []
    for n in names:
        c, b = CONFIGS[n]["model"], CONFIGS[n]["batch_size"]
        total, mm = matmul_params(c)
        out.append(f"- `{n}`: d_model {c.d_model}, {c.num_layers} layers, {c.num_heads} heads, "
                   f"d_ff {c.d_ff}, context {c.context_length}, vocab {c.vocab_size:,}, batch {b}: "
                   f"{total / 1e6:.1f}M parameters ({mm / 1e6:.1f}M in matrix products), "
                   f"{flops_per_token(c) / 1e6:.0f} MFLOP per token")
    return "\n".join(out)


def write_results(path: Path, sections: dict[str, str]) -> None:
    """Replace (or append) the ``## heading`` sections given; keep the others."""
    header = ("# Transformer LM training throughput (lesson 02)\n\n"
              "Generated by `python benchmarks/transformer_lm.py` (see its docstring for the "
              "method). One training step = forward + backward + AdamW on one batch; medians over "
              "steps after warm-up. FLOPs per token = 6·N + 6·num_layers·context_length·d_model "
              "(N: parameters in matrix products, i.e. all but the token embeddings; the second "
              "term is causal attention). MFU = FLOPs per token × tokens/s / peak dense bf16 "
              "FLOP/s (H100 SXM and H200: 989 TFLOP/s).\n")
    write_sections(path, header, sections, order=("CPU", "GPU", "Full-scale training", "Notes"))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--configs", nargs="+", default=None, choices=list(CONFIGS),
                        help="default: cpu without a GPU, tinystories and 125M with one")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--steps", type=int, default=None,
                        help="timed steps (default 20 GPU, 5 CPU)")
    parser.add_argument("--batch-size", type=int, default=None,
                        help="override the configs' batch size")
    parser.add_argument("--only", default=None,
                        help="time only implementations whose label contains this")
    parser.add_argument("--threads", type=int, default=None,
                        help="CPU threads (torch.set_num_threads); 1 is steadier on a busy machine")
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--json", type=Path, default=None, help="also write raw numbers here")
    parser.add_argument("--fused-projections", action="store_true",
                        help="also time the reference with q/k/v and w1/w3 fused into one "
                             "matmul each")
    parser.add_argument("--bf16-residual", action="store_true",
                        help="also time the reference with its residual stream in bf16 "
                             "(autocast_residual; always on a GPU)")
    parser.add_argument("--compile-mode", default=None,
                        help="also time torch.compile with this mode "
                             "(e.g. max-autotune-no-cudagraphs)")
    parser.add_argument("--train-minutes", type=float, default=0.0)
    parser.add_argument("--corpus", type=Path, default=None,
                        help="folder with train.bin, valid.bin, vocab.json, merges.txt")
    parser.add_argument("--train-out", type=Path, default=Path("build/transformer_lm_train"))
    args = parser.parse_args(argv)

    from helpers.env import resolve_device

    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    cuda = device.startswith("cuda")
    names = args.configs or (["tinystories", "125M"] if cuda else ["cpu"])
    steps = args.steps or (20 if cuda else 5)
    log_lines = []

    def log(msg):
        print(msg, flush=True)
        log_lines.append(msg)

    gpu, peak = peak_bf16(device)
    if cuda:
        env = (f"torch {torch.__version__}, {gpu} "
               f"({torch.cuda.get_device_properties(0).multi_processor_count} SMs)")
    else:
        env = (f"torch {torch.__version__}, {gpu}, {torch.get_num_threads()} threads, "
               f"load average {os.getloadavg()[0]:.1f}")
    log(f"device: {device}: {env}")
    ceiling = matmul_tflops(device)
    if ceiling:
        log(f"bf16 matmul 8192^3: {ceiling:.0f} TFLOP/s (peak used for MFU: {peak / 1e12:.0f})")
    rows: list[dict] = []
    raw = {"env": env, "matmul_tflops": ceiling, "rows": rows}
    section = "GPU" if cuda else "CPU"

    def flush(extra: dict[str, str] | None = None):
        body = (f"{datetime.date.today()}: {env}"
                + (f"; bf16 autocast, fused AdamW; "
                   f"measured bf16 matmul 8192³: {ceiling:.0f} TFLOP/s"
                   if ceiling else "; float32") + f"; {steps} timed steps after warm-up.\n\n"
                + config_lines(names) + "\n\n" + table(rows) + "\n\n"
                + "Student vs reference, max |logits difference| with the same weights (float32): "
                + ", ".join(f"{r['config']}: {r['agreement']}" for r in rows
                            if r["agreement"]) + ".")
        write_results(args.results, {section: body, **(extra or {})})
        if args.json:
            args.json.write_text(json.dumps(raw, indent=1, default=str))

    for name in names:
        try:
            rows += bench_config(name, device, args.warmup, steps, log, args.batch_size, args.only,
                                 args.compile_mode, args.fused_projections, args.bf16_residual
                                 or cuda)
        except Exception:  # keep the other configs' numbers
            log(f"[{name}] failed:\n{traceback.format_exc()}")
        flush()

    if args.train_minutes > 0 and args.corpus:
        measured = next((r["tokens_per_s"] for r in rows if r["config"] == "tinystories"
                         and r["implementation"] == "reference (torch.compile)"), None)
        try:
            result = train_run(args.corpus, args.train_minutes, measured, device, args.train_out,
                               log)
            raw["train"] = result
            h = result["history"]
            best = min(((s, v) for s, v in zip(h["step"], h["valid_loss"]) if v is not None),
                       key=lambda sv: sv[1], default=(0, math.nan))
            curve = ", ".join(f"{s}: {v:.3f}" for s, v in zip(h["step"], h["valid_loss"])
                              if v is not None)
            body = (f"{datetime.date.today()}: {env}. `helpers.training.train` on the "
                    f"TinyStories-sized `ReferenceLM` ({config_lines(['tinystories'])[2:]}), "
                    f"torch.compile, bf16 autocast, AdamW lr {result['lr']} (cosine to 1/10, "
                    f"warm-up 5%), weight decay 0.1, seed 0; data: the kit's generated 50 MB "
                    f"stories (`python -m helpers.stories --mb 50`), 10,000-token BPE, "
                    f"{result['train_tokens']:,} training and {result['valid_tokens']:,} "
                    f"validation tokens.\n\n- {result['num_steps']:,} steps, "
                    f"{result['tokens_seen'] / 1e6:.0f}M tokens "
                    f"({result['tokens_seen'] / result['train_tokens']:.1f} epochs) in "
                    f"{result['wall_s']:.0f} s (compilation and evaluation included)\n- median "
                    f"training throughput {result['median_tokens_per_s']:,.0f} tokens/s\n- final "
                    f"validation loss **{result['final_valid_loss']:.3f}** (train "
                    f"{result['final_train_loss']:.3f}); best {best[1]:.3f} at step {best[0]:,}\n- "
                    f"validation loss by step: {curve}\n\nSample (prompt \"Once upon a time\", "
                    f"temperature 0.8, top_p 0.95):\n\n"
                    + "\n".join("> " + line for line in result["sample"].splitlines()))
            flush({"Full-scale training": body})
        except Exception:
            log(f"[train] failed:\n{traceback.format_exc()}")
    print()
    print(table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
