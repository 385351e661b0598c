"""Benchmark attention on a GPU: naive PyTorch, torch.compile'd naive, PyTorch SDPA (flash backend,
and cuDNN, PyTorch's default on Hopper, for context), our teaching Triton kernels
(lesson 04's reference solution, solutions/04_flash_attention.ipynb) and our fast one
(kernels/flash_attention_fast.py).

- Times are medians of ``triton.testing.do_bench`` (CUDA events, L2 flushed between runs), bf16,
  (batch, heads, seq, d_head) contiguous inputs, after a warm-up call that compiles and autotunes.
- FLOPs count the matrix products (2 per multiply-add), as the FlashAttention papers do:
    forward  = 4 * B * H * S^2 * D      (Q K^T and P V), halved when causal;
    backward = 2.5 * forward            (5 products: Q K^T again, dV, dP, dQ, dK);
    forward+backward = 3.5 * forward.
  The fewest bytes (each input read once, each output written once) are forward 4*B*H*S*D*2
  (Q, K, V, O in bf16) and backward 8*B*H*S*D*2 (Q, K, V, O, dO in; dQ, dK, dV out): tens of
  MB, microseconds at 3 TB/s, so attention at these sizes is bound by matrix arithmetic.
- Shapes: seq 1k..16k with batch * seq = 16384 tokens; 16 heads of d 64 or 8 heads of d 128
  (d_model 1024); causal and not. Naive attention is skipped where its S^2 tensors would
  not fit (estimated). Headline: batch 1, 16 heads, seq 16384, d 64, causal, forward+backward.
- Before timing, our kernels are checked against SDPA in bf16, and all three against naive
  attention in fp32 (max abs and relative L2 error of O, dQ, dK, dV, printed and written).

- Integration: a training step (forward, backward, AdamW; bf16 autocast) of lesson 02's model
  (``helpers.reference.model.ReferenceLM``, 4 layers, d_model 1024, 16 heads) at contexts
  2k..16k with 16k tokens per step, with each attention backend: median step time and peak
  memory, measured by the lesson's own ``training_step_stats``.

Run (GPU): ``python -m benchmarks.flash_attention`` (full: ~5.5 min on an H200) or ``--quick``
(checks and headline, ~1.5 min); writes benchmarks/results/flash_attention.md (rewritten after
every shape), keeping its hand-written "## Attempts" section. ``--variants`` first checks and
times each of the fast kernel's ``FAST_VARIANTS`` (its ``FastOptions``) at the headline, and
the winner runs as "ours: fast" for the rest of the run; ``--headline-only --variants`` does
only that, beside SDPA's cuDNN backend (about 2 minutes: for short device leases).
"""
from __future__ import annotations

import argparse
import datetime
import json
import sys
from pathlib import Path

import torch
import torch._functorch.config
import torch.nn.functional as F
import triton
from torch.nn.attention import SDPBackend, sdpa_kernel
from triton.testing import do_bench

import kernels.flash_attention_fast as fast
from grader.nbmodule import load_notebook
from helpers.env import REPO_ROOT
from helpers.reference.model import ModelConfig, register_attention_backend

lesson = load_notebook(REPO_ROOT / "solutions" / "04_flash_attention.ipynb")  # the teaching kernels
FlashAttentionTriton, naive_attention = lesson.FlashAttentionTriton, lesson.naive_attention
register_attention_backend("flash: teaching",
                           lambda q, k, v: FlashAttentionTriton.apply(q, k, v, True))
# "ours: fast" runs with FAST["options"]: the kernel's defaults, or with --variants the variant
# that won the headline in the same run (the name says which).
FAST = {"options": fast.FastOptions(), "variant": "defaults"}
register_attention_backend("flash: fast", lambda q, k, v: fast.FlashAttentionTriton.apply(
    q, k, v, True, FAST["options"]))
INTEGRATION_BACKENDS = ("naive", "sdpa", "flash: teaching", "flash: fast")

# The backward is timed repeatedly on one graph (retain_graph=True), which torch.compile's
# donated buffers forbid: turn them off (costs the compiled naive version a little memory).
if hasattr(torch._functorch.config, "donated_buffer"):
    torch._functorch.config.donated_buffer = False

DTYPE = torch.bfloat16
TOKENS = 16384  # batch * seq, constant across the sweep
HEADLINE = dict(batch=1, heads=16, seq=16384, d_head=64, causal=True)
NAIVE_MEMORY_LIMIT = 40e9  # bytes: skip naive attention above this estimate (80 GB card)


def attention_flops(batch, heads, seq, d_head, causal, mode):
    fwd = 4 * batch * heads * seq**2 * d_head / (2 if causal else 1)
    return {"fwd": fwd, "bwd": 2.5 * fwd, "fwd+bwd": 3.5 * fwd}[mode]


def naive_bytes(batch, heads, seq, **_):
    """Rough peak of naive attention's forward+backward: ~6 bf16 (S x S) tensors per head."""
    return 6 * batch * heads * seq**2 * 2


def sdpa_flash(q, k, v, causal):
    with sdpa_kernel(SDPBackend.FLASH_ATTENTION):
        return F.scaled_dot_product_attention(q, k, v, is_causal=causal)


def sdpa_cudnn(q, k, v, causal):
    with sdpa_kernel(SDPBackend.CUDNN_ATTENTION):
        return F.scaled_dot_product_attention(q, k, v, is_causal=causal)


# The fast kernel's variants (``--variants``): its options, each timed at the headline in the
# same run as SDPA. The first is the kernel as it was before Hopper tensor descriptors.
FAST_VARIANTS = {
    "fast: split, pointer loads": fast.FastOptions(dq_mode="split", tma_loads=False),
    "fast: split, TMA loads": fast.FastOptions(dq_mode="split", tma_loads=True),
    "fast: fused, TMA loads": fast.FastOptions(dq_mode="fused", tma_loads=True),
    "fast: tma, TMA loads": fast.FastOptions(dq_mode="tma", tma_loads=True),
}


# A variant may win only if its relative L2 errors against SDPA (flash) stay under this: bf16
# kernels land at 1e-3 to 3e-3 (the correctness table), a wrong one at 1e-1 or more.
VARIANT_MAX_REL_ERROR = 1e-2


def fast_variant(options):
    return lambda q, k, v, causal: fast.FlashAttentionTriton.apply(q, k, v, causal, options)


def implementations():
    return {
        "naive": naive_attention,
        "naive (torch.compile)": torch.compile(naive_attention),
        "SDPA (flash)": sdpa_flash,
        "SDPA (cuDNN)": sdpa_cudnn,  # PyTorch's default SDPA backend on Hopper, for context
        "ours: teaching": FlashAttentionTriton.apply,
        "ours: fast": lambda q, k, v, causal: fast.FlashAttentionTriton.apply(
            q, k, v, causal, FAST["options"]),
    }


def make_inputs(batch, heads, seq, d_head, seed=0, **_):
    gen = torch.Generator(device="cuda").manual_seed(seed)
    shape = (batch, heads, seq, d_head)
    q, k, v, do = (torch.randn(shape, generator=gen, device="cuda", dtype=DTYPE) for _ in range(4))
    return [t.requires_grad_() for t in (q, k, v)], do


def time_impl(fn, shape, rep):
    """Median ms of forward, backward and forward+backward, or a reason it was not timed."""
    (q, k, v), do = make_inputs(**shape)
    causal = shape["causal"]
    try:
        torch.autograd.grad(fn(q, k, v, causal), (q, k, v), do)  # compile / autotune, not timed
        out = fn(q, k, v, causal)
        times = {
            "fwd": do_bench(lambda: fn(q, k, v, causal), warmup=10, rep=rep, return_mode="median"),
            "bwd": do_bench(lambda: torch.autograd.grad(out, (q, k, v), do, retain_graph=True),
                            warmup=10, rep=rep, return_mode="median"),
            "fwd+bwd": do_bench(lambda: torch.autograd.grad(fn(q, k, v, causal), (q, k, v), do),
                                warmup=10, rep=rep, return_mode="median"),
        }
    except torch.cuda.OutOfMemoryError:
        times = "out of memory"
    except Exception as e:  # report and continue: one broken implementation must not stop the sweep
        times = f"failed: {type(e).__name__}: {str(e).splitlines()[0][:120]}"
    out = None
    torch.cuda.empty_cache()
    return times


def max_errors(fn, shape, ref_fn):
    """Max abs error and relative L2 error of O, dQ, dK, dV of fn against ref_fn, same bf16
    inputs."""
    (q, k, v), do = make_inputs(**shape, seed=1)
    results = []
    for f in (fn, ref_fn):
        o = f(q, k, v, shape["causal"])
        results.append((o, *torch.autograd.grad(o, (q, k, v), do)))
    return {name: ((a.float() - b.float()).abs().max().item(),
                   ((a.float() - b.float()).norm() / b.float().norm()).item())
            for name, a, b in zip(("O", "dQ", "dK", "dV"), *results)}


def fp32_reference(q, k, v, causal):
    return naive_attention(q.float(), k.float(), v.float(), causal)


def check_correctness(impls):
    rows = []
    shapes = [dict(batch=2, heads=8, seq=1000, d_head=128, causal=False),
              dict(batch=2, heads=8, seq=1000, d_head=128, causal=True), HEADLINE]
    for shape in shapes:
        refs = [("SDPA (flash)", impls["SDPA (flash)"])]
        if shape["seq"] <= 4096:
            refs.append(("naive fp32", fp32_reference))
        for ref_name, ref in refs:
            for name in ("ours: teaching", "ours: fast") + (("SDPA (flash)",)
                                                            if ref_name != "SDPA (flash)" else ()):
                errs = max_errors(impls[name], shape, ref)
                rows.append((shape_label(shape), name, ref_name, errs))
                print(f"check {shape_label(shape):38s} {name:15s} vs {ref_name:12s} "
                      + "  ".join(f"{k} {a:.1e} / {r:.1e}" for k, (a, r) in errs.items()),
                      flush=True)
    return rows


def shape_label(s):
    return (f"B{s['batch']} H{s['heads']} S{s['seq']} D{s['d_head']} "
            f"{'causal' if s['causal'] else 'full'}")


def sweep_shapes(seqs, dims):
    for d_head in dims:
        for causal in (False, True):
            for seq in seqs:
                yield dict(batch=max(1, TOKENS // seq), heads=16 if d_head == 64 else 8, seq=seq,
                           d_head=d_head, causal=causal)


def fmt(times, shape, mode):
    """'ms (TFLOP/s)' for one mode, or the reason there is no time."""
    if isinstance(times, str):
        return times
    ms = times[mode]
    return f"{ms:.3f} ({attention_flops(**shape, mode=mode) / ms / 1e9:.0f})"


def matmul_ceiling():
    a, b = (torch.randn(8192, 8192, device="cuda", dtype=DTYPE) for _ in range(2))
    ms = do_bench(lambda: a @ b, warmup=25, rep=100, return_mode="median")
    return 2 * 8192**3 / ms / 1e9


def integration_rows(seqs):
    """(seq, backend, ms per step or None, peak GB or None) for lesson 02's model at long
    context."""
    rows = []
    for seq in seqs:
        model_cfg = ModelConfig(context_length=seq, **lesson.LONG_CONTEXT_MODEL)
        for backend in INTEGRATION_BACKENDS:
            seconds, peak = lesson.training_step_stats(backend, seq, model_cfg, TOKENS, "cuda")
            rows.append((seq, backend, None if seconds is None else seconds * 1e3, peak))
            result = ("out of memory" if seconds is None
                      else f"{seconds * 1e3:8.1f} ms/step, peak {peak:5.1f} GB")
            print(f"integration seq {seq:6d} {backend:16s} {result}", flush=True)
    return rows


def write_markdown(path, env, headline, checks, sweep, variants, integration=()):
    path = Path(path)
    old = path.read_text() if path.exists() else ""
    attempts = (old[old.index("## Attempts"):] if "## Attempts" in old
                else "## Attempts\n\n(none recorded)\n")
    h = HEADLINE
    lines = [
        "# FlashAttention-2 benchmark (lesson 04)", "",
        f"Generated by `python -m benchmarks.flash_attention{env['args']}` on {env['date']}: "
        f"{env['gpu']}, torch {env['torch']}, triton {env['triton']}, bf16. "
        f"Times are medians of `triton.testing.do_bench` in ms; TFLOP/s use forward FLOPs "
        f"4·B·H·S²·D (halved when causal), backward 2.5× forward. "
        f"bf16 matmul 8192³ in the same run: {env['matmul_tflops']:.0f} TFLOP/s. "
        f"\"ours: fast\" ran with `{env['fast']}`.", "",
        f"## Headline: batch {h['batch']}, {h['heads']} heads, seq {h['seq']}, d {h['d_head']}, "
        f"causal, forward+backward", "",
        "| implementation | fwd ms | bwd ms | fwd+bwd ms | fwd+bwd TFLOP/s |",
             "|---|---|---|---|---|",
    ]
    for name, times in headline.items():
        if isinstance(times, str):
            lines.append(f"| {name} | {times} | | | |")
        else:
            lines.append(f"| {name} | {times['fwd']:.3f} | {times['bwd']:.3f} | "
                         f"{times['fwd+bwd']:.3f} | "
                         f"{attention_flops(**h, mode='fwd+bwd') / times['fwd+bwd'] / 1e9:.0f} |")
    if variants:
        lines += ["",
                  "Repeats and variants at the headline shape (fwd+bwd ms, each a separate "
                  "do_bench median):", ""]
        lines += [f"- {name}: {', '.join(f'{t:.3f}' for t in ts)}" for name, ts in variants.items()]
    lines += ["", "## Correctness in bf16: max abs error / relative L2 error, same inputs", "",
              "| shape | implementation | against | O | dQ | dK | dV |",
              "|---|---|---|---|---|---|---|"]
    lines += [f"| {s} | {n} | {r} | " + " | ".join(f"{a:.1e} / {rel:.1e}" for a,
                                                   rel in e.values()) + " |" for s, n, r,
              e in checks]
    if sweep:
        names = list(next(iter(sweep))[1].keys())
        lines += ["", "## Sweep: forward+backward, ms (TFLOP/s)", "",
                  "batch·seq = 16384 tokens; 16 heads at d 64, 8 heads at d 128.", "",
                  "| d | causal | seq | batch | " + " | ".join(names) + " |",
                  "|---" * (4 + len(names)) + "|"]
        for shape, res in sweep:
            cells = [fmt(res[n], shape, "fwd+bwd") for n in names]
            lines.append(f"| {shape['d_head']} | {shape['causal']} | {shape['seq']} | "
                         f"{shape['batch']} | " + " | ".join(cells) + " |")
        for mode in ("fwd", "bwd"):
            lines += ["", f"### {mode} only: ms (TFLOP/s)", "",
                      "| d | causal | seq | " + " | ".join(names) + " |",
                      "|---" * (3 + len(names)) + "|"]
            for shape, res in sweep:
                cells = [fmt(res[n], shape, mode) for n in names]
                lines.append(f"| {shape['d_head']} | {shape['causal']} | {shape['seq']} | "
                             + " | ".join(cells) + " |")
    if integration:
        m = lesson.LONG_CONTEXT_MODEL
        lines += ["", "## Integration: a training step of lesson 02's model at long context", "",
                  f"`helpers.reference.model.ReferenceLM` with {m['num_layers']} layers, d_model "
                  f"{m['d_model']}, {m['num_heads']} heads, vocabulary {m['vocab_size']:,}; "
                  f"batch·seq = {TOKENS} tokens; forward, "
                  "backward and fused AdamW under bf16 autocast. Median of 5 steps after 2 warm-up "
                  "steps (`training_step_stats` in the lesson); peak memory from "
                  "`torch.cuda.max_memory_allocated`.", "",
                  "| context | batch | " + " | ".join(INTEGRATION_BACKENDS) + " |",
                  "|---" * (2 + len(INTEGRATION_BACKENDS)) + "|"]
        by_seq = {}
        for seq, backend, ms, gb in integration:
            cell = "out of memory" if ms is None else f"{ms:.1f} ms, {gb:.1f} GB"
            by_seq.setdefault(seq, {})[backend] = cell
        for seq, cells in by_seq.items():
            lines.append(f"| {seq} | {max(1, TOKENS // seq)} | "
                         + " | ".join(cells.get(b, "") for b in INTEGRATION_BACKENDS) + " |")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n\n" + attempts)



def print_autotune_timings(top=None):
    """The configs the autotuner timed for the last key it tuned (ms): the raw material for
    tuning."""
    for kernel in fast.AUTOTUNED:
        timings = getattr(kernel, "configs_timings", None) or {}
        ranked = sorted(timings.items(), key=lambda ct: ct[1][0] if isinstance(ct[1], list)
                        else ct[1])
        for cfg, t in ranked[:top]:
            t = t[0] if isinstance(t, list) else t
            print(f"autotune {kernel.fn.__name__:16s} {t:8.4f} ms  {cfg}", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="correctness and headline only")
    parser.add_argument("--headline-only", action="store_true",
                        help="SDPA (cuDNN) and ours (with --variants: each variant, checked "
                             "against SDPA) at the headline; no other checks, sweep or integration")
    parser.add_argument("--seqs", type=int, nargs="+", default=[1024, 2048, 4096, 8192, 16384])
    parser.add_argument("--dims", type=int, nargs="+", default=[64, 128])
    parser.add_argument("--sweep-impls", nargs="*", default=None,
                        help="time only these implementations in the sweep (default: all)")
    parser.add_argument("--variants", action="store_true",
                        help="also check and time the fast kernel's FAST_VARIANTS at the headline")
    parser.add_argument("--repeats", type=int, default=2,
                        help="headline repeats of SDPA and ours: fast")
    parser.add_argument("--out", default="benchmarks/results/flash_attention.md")
    parser.add_argument("--json", default=None, help="also dump raw results here")
    parser.add_argument("--integration-seqs", type=int, nargs="*",
                        default=[2048, 4096, 8192, 16384],
                        help="contexts of the end-to-end training-step comparison (none: skip it)")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        raise SystemExit("benchmarks/flash_attention.py needs a CUDA GPU (tests run on CPU: pytest "
                         "grader/tests/test_flash_attention.py)")

    argv = sys.argv[1:]  # the command line as run, less where it wrote
    argv = [a for i, a in enumerate(argv)
            if a not in ("--out", "--json") and (i == 0 or argv[i - 1] not in ("--out", "--json"))]
    arg_str = "".join(f" {a}" for a in argv)
    env = dict(gpu=torch.cuda.get_device_name(), torch=torch.__version__, triton=triton.__version__,
               date=datetime.date.today().isoformat(), args=arg_str, matmul_tflops=matmul_ceiling())
    print(env, flush=True)
    impls = implementations()
    variant_checks = []
    variant_headline = {}
    if args.variants:  # first: the winner at the headline runs as "ours: fast" everywhere below
        correct = set()
        for name, options in FAST_VARIANTS.items():
            fn = fast_variant(options)
            try:
                errs = max_errors(fn, HEADLINE, sdpa_flash)  # (compiles and autotunes)
            except Exception as e:  # one broken variant must not stop the others
                first = str(e).splitlines()[0][:120]
                variant_headline[name] = f"failed: {type(e).__name__}: {first}"
                print(f"headline {name:28s} {variant_headline[name]}", flush=True)
                continue
            variant_checks.append((shape_label(HEADLINE), name, "SDPA (flash)", errs))
            print(f"check {shape_label(HEADLINE):38s} {name:28s} "
                  + "  ".join(f"{k} {a:.1e} / {r:.1e}" for k, (a, r) in errs.items()), flush=True)
            if all(rel <= VARIANT_MAX_REL_ERROR for _, rel in errs.values()):
                correct.add(name)
            variant_headline[name] = time_impl(fn, HEADLINE, rep=100)
            print(f"headline {name:28s} {variant_headline[name]}", flush=True)
            print_autotune_timings(top=3)
        timed = {n: t["fwd+bwd"] for n, t in variant_headline.items()
                 if n in correct and not isinstance(t, str)}
        if timed:  # else the defaults stay
            FAST["variant"] = min(timed, key=timed.get)
            FAST["options"] = FAST_VARIANTS[FAST["variant"]]
        print(f"ours: fast = {FAST['variant']} ({FAST['options']})", flush=True)
    env["fast"] = f"{FAST['variant']}: {FAST['options']}"
    checks = variant_checks if args.headline_only else check_correctness(impls) + variant_checks

    headline_impls = [n for n in impls if not (n.startswith("naive")
                                               and naive_bytes(**HEADLINE) > NAIVE_MEMORY_LIMIT)]
    if args.headline_only:  # the baseline to beat, in the same run
        headline_impls = ["SDPA (cuDNN)"] + ([] if args.variants else ["ours: fast"])
    headline = {}
    for name in headline_impls:
        headline[name] = time_impl(impls[name], HEADLINE, rep=200)
        print(f"headline {name:22s} {headline[name]}", flush=True)
    variants = {}
    (q, k, v), do = make_inputs(**HEADLINE)

    def fwd_bwd(fn):
        return do_bench(lambda: torch.autograd.grad(fn(q, k, v, True), (q, k, v), do), warmup=10,
                        rep=200, return_mode="median")

    for _ in range(args.repeats):  # interleaved repeats: the spread says what difference is noise
        for name in ("SDPA (flash)", "SDPA (cuDNN)", "ours: fast", *FAST_VARIANTS):
            if name in FAST_VARIANTS and (not args.variants or name == FAST["variant"]):
                continue
            if args.headline_only and name == "SDPA (flash)":
                continue
            fn = impls[name] if name in impls else fast_variant(FAST_VARIANTS[name])
            variants.setdefault(name, []).append(fwd_bwd(fn))
    print_autotune_timings()
    headline.update(variant_headline)
    for name, ts in variants.items():
        print(f"repeat {name:30s} " + " ".join(f"{t:.3f}" for t in ts), flush=True)
    q = k = v = do = None  # free the headline inputs (fwd_bwd is not called again)

    integration = integration_rows(args.integration_seqs)
    sweep = []
    # again after each shape below
    write_markdown(args.out, env, headline, checks, sweep, variants, integration)
    if not (args.quick or args.headline_only):
        for shape in sweep_shapes(args.seqs, args.dims):
            res = {}
            for name, fn in impls.items():
                if args.sweep_impls and name not in args.sweep_impls:
                    continue
                if name.startswith("naive") and naive_bytes(**shape) > NAIVE_MEMORY_LIMIT:
                    res[name] = "skipped (memory)"
                else:
                    res[name] = time_impl(fn, shape, rep=50)
                if name == "ours: fast":
                    print_autotune_timings(top=3)
            sweep.append((shape, res))
            print(shape_label(shape), {n: fmt(r, shape, "fwd+bwd") for n, r in res.items()},
                  flush=True)
            write_markdown(args.out, env, headline, checks, sweep, variants, integration)
    print(f"wrote {args.out}")
    if args.json:
        chosen = {k.fn.__name__: {str(key): str(cfg) for key, cfg in k.cache.items()}
                  for k in fast.AUTOTUNED}
        Path(args.json).write_text(json.dumps(dict(env=env, headline=headline, checks=checks,
                                                   variants=variants, sweep=sweep,
                                                   integration=integration, autotuned=chosen),
                                              indent=1, default=str))
    print("\nheadline fwd+bwd ms: " + ", ".join(
        f"{n} {t['fwd+bwd']:.3f}" for n, t in headline.items() if not isinstance(t, str)))


if __name__ == "__main__":
    main()
