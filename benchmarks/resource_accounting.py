"""Benchmark lesson 03's accounting against measurement: timing harness, MFU, memory,
activation checkpointing and autocast, on lesson 02's reference model.

- **Harness**: an n³ matmul timed naively (one unsynchronized call, cold and warm) and with
  ``helpers.reference.resource_accounting.benchmark`` (warm-up, synchronization, median of repeats).
- **MFU**: a training step (forward + backward + AdamW) of ``ReferenceLM`` timed with the
  harness; FLOPs per step from lesson 03's formula (matrix products, full attention scores,
  3x forward), checked against ``FlopCounterMode`` on the same step (naive attention, so that
  every product is counted). MFU = formula FLOPs / step time / dense datasheet peak
  (``helpers/hardware.py``; TF32 for fp32 steps). "Ceiling" is the best MFU any implementation
  could reach here: the measured large-matmul rate over the same peak.
- **Memory**: the formula (fp32 parameters, gradients, AdamW state; activations) against the
  peak (``torch.cuda.max_memory_allocated`` on a GPU, ``helpers.profiling.MemoryTracker`` on a
  CPU) and the activations against the bytes autograd saves, fp32 and bf16 autocast, with and
  without activation checkpointing of every block.
- **Autocast**: step time and loss of fp32, bf16 (and fp16 with loss scaling on a GPU).

Run: ``python benchmarks/resource_accounting.py`` (CPU table, about a minute on 2 cores);
on a GPU the same command measures the ``tinystories`` and ``125M`` configs. Writes its section
(CPU or GPU) of ``benchmarks/results/resource_accounting.md``, keeping the other.
"""
from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
import time
import traceback
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script

from benchmarks.sections import write_sections
from helpers import hardware
from helpers.env import resolve_device
from helpers.profiling import (
    checkpointed_forward,
    loss_fn,
    make_train_step,
    measure_ceilings,
    peak_memory,
    saved_tensor_bytes,
    state_bytes,
)
from helpers.reference import resource_accounting as acc
from helpers.reference.model import ModelConfig, ReferenceLM

REPO = Path(__file__).resolve().parent.parent

RESULTS = REPO / "benchmarks" / "results" / "resource_accounting.md"
MiB = 2**20
CONFIGS = {
    "cpu": (ModelConfig(vocab_size=1024, context_length=128, d_model=128, num_layers=2, num_heads=4,
                        d_ff=320), 8),
    "tinystories": (ModelConfig(), 64),  # lesson 02's full-scale model, 22.7M parameters
    "125M": (ModelConfig(vocab_size=32_000, context_length=1024, d_model=768, num_layers=12,
                         num_heads=12,
                         d_ff=2048), 16),
}
DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


def sync_for(device: str):
    return (lambda: torch.cuda.synchronize()) if device == "cuda" else (lambda: None)


def harness_rows(device: str, repeats: int) -> list[str]:
    n = 4096 if device == "cuda" else 512
    dtype = torch.bfloat16 if device == "cuda" else torch.float32
    a, b = (torch.randn(n, n, device=device, dtype=dtype) for _ in range(2))
    flops = 2 * n**3
    t0 = time.perf_counter()
    a @ b
    cold = time.perf_counter() - t0
    t0 = time.perf_counter()
    a @ b
    warm = time.perf_counter() - t0
    r = acc.benchmark(lambda: a @ b, warmup=3, repeats=repeats, sync=sync_for(device))
    name = f"{n}³ {str(dtype)[6:]} matmul"
    return [f"| {name} | naive: first call, no sync | {cold * 1e3:.3f} | "
            f"{flops / cold / 1e12:.3g} |",
            f"| {name} | naive: second call, no sync | {warm * 1e3:.3f} | "
            f"{flops / warm / 1e12:.3g} |",
            f"| {name} | harness: median of {repeats} (min–max) | {r['median'] * 1e3:.3f} "
            f"({r['min'] * 1e3:.3f}–{r['max'] * 1e3:.3f}) | {flops / r['median'] / 1e12:.3g} |"]


def counted_step_flops(cfg: ModelConfig, batch: int, checkpointing: bool = False) -> int:
    """FlopCounterMode's count of one forward + backward (naive attention), on the meta device:
    the same operators, without memory or arithmetic."""
    with torch.device("meta"):
        model = ReferenceLM(cfg, attn_backend="naive")
        ids = torch.randint(0, cfg.vocab_size, (batch, cfg.context_length))
    with FlopCounterMode(display=False) as counter:
        logits = checkpointed_forward(model, ids, early_stop=False) if checkpointing else model(ids)
        F.cross_entropy(logits.flatten(0, 1), ids.flatten()).backward()
    return counter.get_total_flops()


def batch_for(cfg: ModelConfig, batch: int, device: str):
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(0, cfg.vocab_size, (2, batch, cfg.context_length), generator=g)
    return ids[0].to(device), ids[1].to(device)


def mfu_rows(name: str, device: str, repeats: int, compile_model: bool, ceiling: dict,
             log) -> list[str]:
    cfg, batch = CONFIGS[name]
    formula = acc.training_flops(cfg, batch, cfg.context_length)
    counted = counted_step_flops(cfg, batch)
    spec = hardware.current(device)
    rows = []
    variants = [("fp32", False), ("bf16", False)] + ([("bf16", True)] if compile_model else [])
    for dtype_name, compiled in variants:
        torch.manual_seed(0)
        torch._dynamo.reset()
        model = ReferenceLM(cfg).to(device)
        x, y = batch_for(cfg, batch, device)
        step, _ = make_train_step(torch.compile(model) if compiled else model, x, y,
                                  dtype=DTYPES[dtype_name])
        t = acc.benchmark(step, warmup=3 + 3 * compiled, repeats=repeats,
                          sync=sync_for(device))["median"]
        key = "tfloat32" if dtype_name == "fp32" else "bfloat16"
        if spec is not None:
            peak, against = spec.peak_flops[key], f"{spec.name} {key} datasheet"
        else:
            peak, against = ceiling[dtype_name], f"measured {dtype_name} matmul (no datasheet)"
        mfu = acc.model_flops_utilization(cfg, batch, cfg.context_length, t, peak)
        label = (f"{dtype_name}{' autocast' if dtype_name != 'fp32' else ''}"
                 f"{', compiled' if compiled else ''}")
        rows.append(f"| {name} | {label} | {batch} × {cfg.context_length} | {formula / 1e9:,.1f} "
                    f"({counted / formula:.4f}) | {t * 1e3:.1f} | {formula / t / 1e12:.3g} | "
                    f"{mfu:.1%} | {ceiling[dtype_name] / peak:.0%} | {against} |")
        log(rows[-1])
        del model, step
        if device == "cuda":
            torch.cuda.empty_cache()
    return rows


def memory_rows(name: str, device: str, log) -> list[str]:
    cfg, batch = CONFIGS[name]
    rows = []
    dtypes = ("fp32", "bf16")
    for dtype_name in dtypes:
        for ck in (False, True):
            torch.manual_seed(0)
            model = ReferenceLM(cfg).to(device)
            x, y = batch_for(cfg, batch, device)
            dtype = DTYPES[dtype_name]
            with torch.autocast(torch.device(device).type, dtype=dtype,
                                enabled=dtype != torch.float32):
                loss, saved = saved_tensor_bytes(lambda: loss_fn(model, x, y, ck), exclude=model)
            del loss
            step, opt = make_train_step(model, x, y, dtype=dtype, checkpointing=ck)
            step()
            persistent = sum(state_bytes(model, opt).values())
            peak = peak_memory(step, device, persistent)
            t = acc.benchmark(step, warmup=1, repeats=5, sync=sync_for(device))["median"]
            pred = acc.training_memory(cfg, batch, cfg.context_length, dtype, ck)
            # With checkpointing autograd saves only the block inputs during the forward pass; the
            # formula's activations add one block being recomputed, so compare without it.
            pred_saved = pred["activations"]
            if ck:  # block inputs only: L d instead of L d + one block's (11 d + 4 d_ff + h + 2)
                per_layer = 11 * cfg.d_model + 4 * cfg.d_ff + cfg.num_heads + 2
                pred_saved -= batch * cfg.context_length * per_layer * dtype.itemsize
            rows.append(f"| {name} | {dtype_name}{' autocast' if dtype_name != 'fp32' else ''} | "
                        f"{'yes' if ck else 'no'} | {pred_saved / MiB:,.1f} | {saved / MiB:,.1f} | "
                        f"{sum(pred.values()) / MiB:,.1f} | {peak / MiB:,.1f} | "
                        f"{peak / sum(pred.values()):.2f} | {t * 1e3:.1f} |")
            log(rows[-1])
            model = opt = step = None  # free them before the next configuration
            if device == "cuda":
                torch.cuda.empty_cache()
    return rows


def autocast_rows(name: str, device: str, repeats: int, log) -> list[str]:
    cfg, batch = CONFIGS[name]
    rows, base = [], None
    for dtype_name in (("fp32", "bf16", "fp16") if device == "cuda" else ("fp32", "bf16")):
        torch.manual_seed(0)
        model = ReferenceLM(cfg).to(device)
        x, y = batch_for(cfg, batch, device)
        dtype = DTYPES[dtype_name]
        with torch.no_grad(), torch.autocast(torch.device(device).type, dtype=dtype,
                                             enabled=dtype != torch.float32):
            loss = loss_fn(model, x, y).item()
        step, _ = make_train_step(model, x, y, dtype=dtype)
        t = acc.benchmark(step, warmup=3, repeats=repeats, sync=sync_for(device))["median"]
        base = base or (t, loss)
        rows.append(f"| {name} | {dtype_name}{' + loss scaling' if dtype_name == 'fp16' else ''} | "
                    f"{t * 1e3:.1f} | {base[0] / t:.2f}× | {loss:.5f} | "
                    f"{abs(loss - base[1]):.1e} |")
        log(rows[-1])
        del model, step
    return rows


def write_section(path: Path, title: str, body: str) -> None:
    header = ("# Resource accounting (lesson 03): formulas against measurement\n\n"
              "Generated by `python benchmarks/resource_accounting.py` (see its docstring for the "
              "method). Model: lesson 02's `ReferenceLM`; a step is forward + backward + AdamW.\n")
    write_sections(path, header, {title: body}, order=("GPU", "CPU", "Notes"))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--configs", nargs="+", choices=list(CONFIGS), default=None,
                        help="default: cpu without a GPU; tinystories and 125M with one")
    parser.add_argument("--repeats", type=int, default=None,
                        help="timed steps (default 20 GPU, 5 CPU)")
    parser.add_argument("--no-compile", action="store_true",
                        help="skip torch.compile (GPU only anyway)")
    parser.add_argument("--threads", type=int, default=1,
                        help="CPU threads (1 is steadier on a shared machine)")
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    device = resolve_device(args.device)
    cuda = device == "cuda"
    if not cuda:
        torch.set_num_threads(args.threads)
    else:
        torch.backends.cuda.matmul.allow_tf32 = True  # fp32 matmuls on tensor cores (TF32)
    names = args.configs or (["tinystories", "125M"] if cuda else ["cpu"])
    repeats = args.repeats or (20 if cuda else 5)
    def log(msg: str) -> None:
        print(msg, flush=True)

    if cuda:
        env = (f"torch {torch.__version__}, {torch.cuda.get_device_name()} "
               f"({torch.cuda.get_device_properties(0).multi_processor_count} SMs)")
    else:
        env = (f"torch {torch.__version__}, {platform.processor() or platform.machine()}, "
               f"{torch.get_num_threads()} thread(s), load average {os.getloadavg()[0]:.1f}")
    log(f"device: {device}: {env}")
    ceiling = {}
    for dtype_name in ("fp32", "bf16"):
        ceiling[dtype_name], bandwidth = measure_ceilings(device, DTYPES[dtype_name])
    ceiling["fp16"] = ceiling["bf16"]
    spec = hardware.current(device)
    datasheet = (f"; datasheet ({spec.source}): {spec.peak_flops['tfloat32'] / 1e12:g} TF32, "
                 f"{spec.peak_flops['bfloat16'] / 1e12:g} bf16 TFLOP/s, "
                 f"{spec.bandwidth / 1e12:g} TB/s" if spec else "")
    ceil_line = (f"Measured here: {ceiling['fp32'] / 1e12:.3g} TFLOP/s "
                 f"fp32{' (TF32)' if cuda else ''} and {ceiling['bf16'] / 1e12:.3g} TFLOP/s bf16 "
                 f"on a large matmul, {bandwidth / 1e9:,.0f} GB/s on a large copy (read + write)"
                 + datasheet + ".")
    log(ceil_line)
    parts = {}

    def flush() -> None:
        cfg_lines = "\n".join(
            f"- `{n}`: d_model {c.d_model}, {c.num_layers} layers, {c.num_heads} heads, d_ff "
            f"{c.d_ff}, context {c.context_length}, vocab {c.vocab_size:,}, batch {b}: "
            f"{sum(acc.count_parameters(c).values()) / 1e6:.1f}M parameters"
            for n, (c, b) in ((n, CONFIGS[n]) for n in names))
        body = [f"{datetime.date.today()}: {env}; {repeats} timed steps after warm-up.", "",
                ceil_line, "", cfg_lines]
        if "harness" in parts:
            body += ["", "### Timing harness", "",
                     "| operation | timing | ms | TFLOP/s |", "|---|---|---|---|",
                     *parts["harness"]]
        if parts.get("mfu"):
            body += ["", "### MFU of a training step", "",
                     "GFLOPs per step by lesson 03's formula (in brackets: FlopCounterMode's count "
                     "/ the formula); MFU = formula FLOPs / step time / peak; ceiling = measured "
                     "matmul rate / the same peak.", "",
                     "| config | precision | batch × context | GFLOPs/step (counted/formula) | "
                     "ms/step | TFLOP/s | MFU | ceiling | peak |",
                     "|---|---|---|---|---|---|---|---|---|", *parts["mfu"]]
        if parts.get("memory"):
            body += ["", "### Memory: predicted vs measured", "",
                     "Saved activations: the formula vs the bytes autograd saves in the forward "
                     "pass (with checkpointing, the block inputs and the rest). Peak: the "
                     "formula's total (parameters, gradients, AdamW state, activations) vs "
                     + ("`torch.cuda.max_memory_allocated`" if cuda
                        else "the MemoryTracker estimate (CPU)") + ".", "",
                     "| config | precision | checkpointing | saved MiB, formula | saved MiB, "
                     "measured | peak MiB, formula | peak MiB, measured | measured / formula | "
                     "ms/step |",
                     "|---|---|---|---|---|---|---|---|---|",
                     *parts["memory"]]
        if parts.get("autocast"):
            body += ["", "### Autocast", "",
                     "| config | precision | ms/step | speed-up | loss at init | "
                     "|Δ loss| vs fp32 |",
                     "|---|---|---|---|---|---|", *parts["autocast"]]
        write_section(args.results, "GPU" if cuda else "CPU", "\n".join(body))

    steps = [("harness", lambda: harness_rows(device, repeats))]
    for n in names:
        steps.append(("mfu", lambda n=n: mfu_rows(n, device, repeats, cuda and not args.no_compile,
                                                  ceiling, log)))
        steps.append(("memory", lambda n=n: memory_rows(n, device, log)))
    steps.append(("autocast", lambda: autocast_rows(names[0], device, repeats, log)))
    for key, fn in steps:
        t0 = time.perf_counter()
        try:
            parts.setdefault(key, []).extend(fn())
        except Exception:  # keep the other measurements
            log(f"[{key}] failed:\n{traceback.format_exc()}")
        log(f"[{key}] {time.perf_counter() - t0:.1f} s")
        flush()
    print(args.results.read_text(encoding="utf-8"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
