"""Probe: where the compiled 125M training step spends its time, and what levers buy.

Prints a kernel-time breakdown (torch.profiler, grouped into matmul / attention / Inductor's
fused Triton kernels / optimizer / other) of the compiled ``ReferenceLM`` step of
``benchmarks/transformer_lm.py``'s ``125M`` config, then times variants: cuDNN attention
forced (global flags, or ``sdpa_kernel`` inside the graph), FlashAttention-2 only, a chunked
lm_head + cross-entropy (``ChunkedLinearCE``), the residual stream in bf16
(``autocast_residual``), CUDA graphs, and 6 heads of 128 instead of 12 of 64. Same-run
baselines first and last. Writes ``$OUT/probe_mfu.json`` (``/tmp`` without ``$OUT``).

Run on a GPU: ``python benchmarks/probe_mfu.py`` (~8 min), or ``ONLY=<label substring>``.
Findings: the Notes of ``benchmarks/results/transformer_lm.md``.
"""
from __future__ import annotations

import json
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script

from benchmarks.transformer_lm import CONFIGS, flops_per_token, matmul_tflops
from helpers.reference.model import ReferenceLM, register_attention_backend
from helpers.training import make_optimizer

REPO = Path(__file__).resolve().parent.parent

OUT = Path(os.environ.get("OUT", "/tmp"))


def cudnn_attention(q, k, v):
    from torch.nn.attention import SDPBackend, sdpa_kernel
    with sdpa_kernel([SDPBackend.CUDNN_ATTENTION, SDPBackend.FLASH_ATTENTION]):
        return F.scaled_dot_product_attention(q, k, v, is_causal=True)


register_attention_backend("sdpa_cudnn", cudnn_attention)


class ChunkedLinearCE(torch.autograd.Function):
    """mean cross-entropy of ``x @ w.T`` against ``y``, chunk by chunk; gradients computed in
    the forward (the logits of one chunk live at a time)."""

    @staticmethod
    def forward(ctx, x, w, y, chunks):
        n, dtype = x.shape[0], torch.bfloat16 if x.is_cuda else torch.float32
        xb, wb = x.to(dtype), w.to(dtype)
        dx = torch.empty_like(xb)
        dw = torch.zeros(w.shape, dtype=torch.float32, device=w.device)
        total = torch.zeros((), dtype=torch.float32, device=x.device)
        with torch.autocast(x.device.type, enabled=False):
            for xs, ys, dxs in zip(xb.chunk(chunks), y.chunk(chunks), dx.chunk(chunks)):
                logits = xs @ wb.T
                loss, grad = _ce_chunk(logits, ys, n)
                total += loss
                torch.mm(grad, wb, out=dxs)
                dw += (grad.T @ xs).float()
        ctx.save_for_backward(dx, dw)
        ctx.x_dtype = x.dtype
        return total

    @staticmethod
    def backward(ctx, g):
        dx, dw = ctx.saved_tensors
        return (dx * g).to(ctx.x_dtype), dw * g, None, None


@torch.compile(dynamic=False)
def _ce_chunk(logits, y, n):
    z = logits.float()
    lse = torch.logsumexp(z, dim=-1)
    loss = (lse - z.gather(1, y[:, None]).squeeze(1)).sum() / n
    p = torch.exp(z - lse[:, None])
    grad = p.scatter_add(1, y[:, None], -torch.ones_like(p[:, :1])) / n
    return loss, grad.to(logits.dtype)


def make_step(model, cfg, batch, variant):
    opt = make_optimizer(model.parameters(), lr=1e-4)
    if variant["chunked"]:
        def body(x):
            h = model.token_embeddings(x)
            for layer in model.layers:
                h = layer(h, model.rope_cos[: x.shape[1]], model.rope_sin[: x.shape[1]])
            return model.ln_final(h)
        body = torch.compile(body)

        def forward_loss(x, y):
            h = body(x)
            return ChunkedLinearCE.apply(h.reshape(-1, h.shape[-1]), model.lm_head.weight,
                                         y.reshape(-1),
                                         variant["chunked"])
    else:
        def forward_loss(x, y):
            logits = model(x)
            return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        forward_loss = torch.compile(forward_loss, mode=variant.get("mode"))
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(0, cfg.vocab_size, (batch, cfg.context_length + 1), generator=g).cuda()
    x, y = ids[:, :-1], ids[:, 1:]

    def step():
        if variant.get("mode") == "reduce-overhead":
            torch.compiler.cudagraph_mark_step_begin()
        with torch.autocast("cuda", dtype=torch.bfloat16):
            loss = forward_loss(x, y)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        return loss
    return step


def timed(step, warmup=8, steps=20):
    for _ in range(warmup):
        step()
    torch.cuda.synchronize()
    events = []
    for _ in range(steps):
        s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        s.record()
        step()
        e.record()
        events.append((s, e))
    torch.cuda.synchronize()
    t = sorted(s.elapsed_time(e) / 1e3 for s, e in events)
    return t[len(t) // 2]


def category(name):
    n = name.lower()
    if any(k in n for k in ("flash", "fmha", "cudnn", "attention", "sdpa")) and "gemm" not in n:
        return "attention"
    if any(k in n
           for k in ("gemm", "nvjet", "cutlass", "sm90_xmma", "ampere_", "sm80_xmma", "cublas")):
        return "matmul"
    if "adam" in n or "multi_tensor" in n or "foreach" in n:
        return "optimizer"
    if n.startswith("triton") or "triton_" in n:
        return "triton (fused element-wise, norms, loss)"
    return "other"


def breakdown(step, label):
    for _ in range(8):
        step()
    torch.cuda.synchronize()
    from torch.profiler import ProfilerActivity, profile
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        for _ in range(3):
            step()
        torch.cuda.synchronize()
    groups, top = defaultdict(float), []
    for ev in prof.key_averages():
        us = getattr(ev, "device_time_total", None) or getattr(ev, "cuda_time_total", 0)
        if ev.key.startswith("ProfilerStep") or us <= 0:
            continue
        if getattr(ev, "device_type", None) is not None and "CUDA" not in str(ev.device_type):
            continue
        groups[category(ev.key)] += us / 3 / 1e3
        top.append((us / 3 / 1e3, ev.count // 3, ev.key[:110]))
    top.sort(reverse=True)
    print(f"== {label}: kernel ms per step by kind")
    for k, v in sorted(groups.items(), key=lambda kv: -kv[1]):
        print(f"  {k:45s} {v:7.2f}")
    print(f"  {'total':45s} {sum(groups.values()):7.2f}")
    for us, count, key in top[:25]:
        print(f"   {us:7.2f} ms  x{count:<4d} {key}")
    return dict(groups), top[:40]


def main():
    if not torch.cuda.is_available():
        sys.exit("probe_mfu.py measures a GPU: no CUDA device here")
    torch.backends.cuda.matmul.allow_tf32 = True
    spec = CONFIGS["125M"]
    cfg, batch = spec["model"], spec["batch_size"]
    fpt = flops_per_token(cfg)
    peak = 989e12
    ceiling = matmul_tflops("cuda")
    print(f"{torch.cuda.get_device_name()} torch {torch.__version__}; "
          f"matmul 8192^3 {ceiling:.0f} TFLOP/s")
    results = {"device": torch.cuda.get_device_name(), "torch": torch.__version__,
               "matmul_tflops": ceiling,
               "variants": {}}
    variants = {
        "baseline (compiled, SDPA default)": dict(chunked=0, cudnn=False),
        "cuDNN attention": dict(chunked=0, cudnn=True),
        "cuDNN attention (sdpa_kernel in the graph)": dict(chunked=0, cudnn=False,
                                                           backend="sdpa_cudnn"),
        "chunked head+CE (8 chunks)": dict(chunked=8, cudnn=False),
        "cuDNN attention + chunked head+CE": dict(chunked=8, cudnn=True),
        "FlashAttention-2 backend only": dict(chunked=0, cudnn=False, flash_only=True),
        "bf16 residual stream": dict(chunked=0, cudnn=False, bf16_residual=True),
        "bf16 residual stream + CUDA graphs": dict(chunked=0, cudnn=False, bf16_residual=True,
                                                   mode="reduce-overhead"),
        "6 heads of 128 (bf16 residual stream)": dict(chunked=0, cudnn=False, heads=6,
                                                      bf16_residual=True),
        "baseline again": dict(chunked=0, cudnn=False),
    }
    only = os.environ.get("ONLY")
    for label, v in variants.items():
        if only and only not in label:
            continue
        torch._dynamo.reset()
        torch.backends.cuda.enable_flash_sdp(not v["cudnn"])
        torch.backends.cuda.enable_mem_efficient_sdp(not v["cudnn"])
        torch.backends.cuda.enable_cudnn_sdp(not v.get("flash_only"))
        torch.manual_seed(0)
        import dataclasses
        mcfg = dataclasses.replace(cfg, num_heads=v.get("heads", cfg.num_heads))
        model = ReferenceLM(mcfg, attn_backend=v.get("backend", "sdpa"),
                            autocast_residual=bool(v.get("bf16_residual"))).cuda()
        try:
            t0 = time.time()
            step = make_step(model, cfg, batch, v)
            loss = float(step())
            s = timed(step)
            tps = batch * cfg.context_length / s
            mfu = fpt * tps / peak
            print(f"-- {label}: {s*1e3:.1f} ms/step, {tps:,.0f} tok/s, MFU {mfu:.1%} "
                  f"(first loss {loss:.3f}, {time.time()-t0:.0f} s)", flush=True)
            entry = {"step_ms": s * 1e3, "tokens_per_s": tps, "mfu": mfu, "first_loss": loss}
            if label.startswith("baseline (") or label == "bf16 residual stream":
                entry["breakdown"], entry["top"] = breakdown(step, label)
            results["variants"][label] = entry
        except Exception as err:
            print(f"-- {label}: failed: {type(err).__name__}: {str(err)[:400]}", flush=True)
            results["variants"][label] = {"error": f"{type(err).__name__}: {str(err)[:400]}"}
        del model
        torch.cuda.empty_cache()
        (OUT / "probe_mfu.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
