"""Lesson 05's benchmark: all-reduce bus bandwidth, DDP variants' throughput, ZeRO-1 memory.

Runs on ``--nproc`` ranks started by ``helpers.distributed`` (gloo on a CPU, NCCL on GPUs,
one GPU per rank; device auto-detected) and writes one section per machine into
``benchmarks/results/ddp.md`` (``benchmarks/sections.py``: other machines' sections stay):

1. ``all_reduce`` median time and bus bandwidth ``2(p-1)/p * bytes / t`` for 1 MiB-1 GiB,
   for each ``--nproc`` (e.g. ``--nproc 2 4``).
2. Training throughput of lesson 02's reference model (``--size``) and the share of the step
   spent waiting for communication, for no synchronization (the compute-only bound), naive,
   flat, overlapped, bucketed (``--bucket-mb``) DDP (``helpers.reference.ddp``, the lesson's
   solutions) and PyTorch's ``DistributedDataParallel``. Variants are interleaved over
   ``--rounds`` rounds and the median round is kept, so that load on a shared machine hits
   all of them alike. Wait share = 1 - (compute-only step) / (step).
3. ZeRO-1: AdamW state per rank with ``ShardedOptimizer``, measured against
   ``zero_memory_per_rank``.

Run: ``python benchmarks/ddp.py`` (CPU: 2 gloo ranks, about 5 minutes on 2 cores);
``python benchmarks/ddp.py --nproc 2 4 8`` on a GPU machine (125M model in bf16).
"""
from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.sections import write_sections
from helpers import ddp as lab
from helpers.ddp_train import SIZES as TRAIN_SIZES
from helpers.distributed import Ranks
from helpers.env import resolve_device
from helpers.reference import ddp as ref

RESULTS = Path(__file__).resolve().parent / "results" / "ddp.md"
HEADER = """# Lesson 05: data-parallel training from torch.distributed primitives

Written by `python benchmarks/ddp.py` (see its docstring). Each section is one machine and
one run; variants of a section were measured in the same run, interleaved.
"""
SIZES = {  # the torchrun script's GPU sizes, and a CPU size of the benchmark's own
    "cpu": dict(vocab_size=4096, context_length=128, d_model=256, num_layers=4, num_heads=8,
                d_ff=704),
    "22m": TRAIN_SIZES["22m"],
    "125m": TRAIN_SIZES["125m"],
}


def variants(bucket_mbs: list[float]) -> dict:
    out = {
        "compute only (no sync)": {},
        "naive (all-reduce per gradient)": {"sync": ref.average_gradients},
        "flat (one all-reduce)": {"sync": ref.average_gradients_flat},
        "overlapped (hooks)": {"wrapper": ref.DDP},
    }
    for mb in bucket_mbs:
        out[f"bucketed {mb:g} MiB"] = {"wrapper": ref.DDPBucketed,
                                       "wrapper_kwargs": {"bucket_size_mb": mb}}
    out["PyTorch DDP (25 MiB)"] = {"wrapper": lab.TorchDDP}
    return out


def machine(device: str) -> str:
    if device == "cuda":
        return f"{torch.cuda.device_count()} x {torch.cuda.get_device_name(0)}"
    import os

    return f"CPU ({os.cpu_count()} cores, {platform.processor() or platform.machine()})"


def bandwidth_table(device: str, nprocs: list[int], sizes_mb: list[float]) -> str:
    rows = ["| ranks | size (MiB) | median time (ms) | bus bandwidth (GB/s) |", "|---|---|---|---|"]
    for p in nprocs:
        with Ranks(p, device) as pool:
            times = pool.run(lab.allreduce_job, sizes_mb, iters=5, timeout=1800)[0]
        for mb, t in zip(sizes_mb, times):
            bw = ref.bus_bandwidth(mb * lab.MiB, t, p) / 1e9
            rows.append(f"| {p} | {mb:g} | {t * 1e3:.2f} | {bw:.2f} |")
            print(rows[-1], flush=True)
    return "\n".join(rows)


def training_table(device: str, nproc: int, lm: dict, batch_size: int, steps: int,
                   rounds: int, bucket_mbs: list[float], dtype: str) -> tuple[str, dict]:
    runs: dict[str, list] = {}
    with Ranks(nproc, device) as pool:
        for r in range(rounds):
            for name, kw in variants(bucket_mbs).items():
                res = pool.run(lab.step_time_job, lm, batch_size, steps, dtype=dtype, **kw,
                               timeout=1800)
                step = max(x["step_s"] for x in res)   # the slowest rank sets the pace
                runs.setdefault(name, []).append((step, max(x["sync_s"] for x in res)))
                print(f"round {r}: {name}: {step * 1e3:.1f} ms", flush=True)
    med = {n: (statistics.median(s for s, _ in v), statistics.median(w for _, w in v))
           for n, v in runs.items()}
    compute = med["compute only (no sync)"][0]
    tokens = batch_size * lm["context_length"]
    torch_tps = tokens / med["PyTorch DDP (25 MiB)"][0]
    rows = ["| variant | ms/step | tokens/s | vs PyTorch DDP | comm. wait share | ms in finish "
            "after backward |", "|---|---|---|---|---|---|"]
    for name, (step, wait) in med.items():
        share = max(0.0, 1 - compute / step)
        rows.append(f"| {name} | {step * 1e3:.1f} | {tokens / step:,.0f} | "
                    f"{tokens / step / torch_tps:.2f}x | {share:.0%} | {wait * 1e3:.1f} |")
    return "\n".join(rows), med


def memory_table(device: str, nproc: int, lm: dict, batch_size: int) -> str:
    with Ranks(nproc, device) as pool:
        plain = pool.run(lab.step_time_job, lm, batch_size, 1, wrapper=ref.DDP, timeout=1800)
        sharded = pool.run(lab.step_time_job, lm, batch_size, 1, wrapper=ref.DDP,
                           optimizer="sharded", sharded_cls=ref.ShardedOptimizer, timeout=1800)
    psi = plain[0]["params"]
    formula = ref.zero_memory_per_rank(psi, nproc, 1)["optimizer"]
    rows = ["| rank | AdamW state, DDP (MB) | AdamW state, ZeRO-1 (MB) | formula 8Ψ/p (MB) | "
            "ratio |", "|---|---|---|---|---|"]
    for r, (a, b) in enumerate(zip(plain, sharded)):
        rows.append(f"| {r} | {a['optimizer_bytes'] / 1e6:.2f} | {b['optimizer_bytes'] / 1e6:.2f}"
                    f" | {formula / 1e6:.2f} | {b['optimizer_bytes'] / a['optimizer_bytes']:.3f} |")
    return f"Ψ = {psi:,} parameters, {nproc} ranks.\n\n" + "\n".join(rows)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--nproc", type=int, nargs="+", default=[2],
                        help="ranks; the first is used for training and memory")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--size", choices=list(SIZES), default=None,
                        help="model size (default: cpu on a CPU, 125m on GPUs)")
    parser.add_argument("--batch-size", type=int, default=None, help="global batch (sequences)")
    parser.add_argument("--steps", type=int, default=None, help="timed steps per variant and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--bucket-mb", type=float, nargs="+", default=[1.0, 5.0, 25.0])
    parser.add_argument("--sizes-mb", type=float, nargs="+",
                        default=[1, 4, 16, 64, 256, 1024])
    parser.add_argument("--skip", nargs="*", default=[],
                        choices=["bandwidth", "training", "memory"])
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    device = "cuda" if resolve_device(args.device).startswith("cuda") else "cpu"
    gpu = device == "cuda"
    nproc = args.nproc[0]
    size = args.size or ("125m" if gpu else "cpu")
    batch = args.batch_size or (8 * nproc if gpu else 4 * nproc)
    steps = args.steps or (10 if gpu else 3)
    dtype = "bfloat16" if gpu else "float32"
    backend = "NCCL" if gpu else "gloo"
    title = f"{machine(device)}, {backend}, {time.strftime('%Y-%m-%d')}"
    m = SIZES[size]
    shape = (f"vocab {m['vocab_size']:,}, context {m['context_length']}, d_model {m['d_model']}, "
             f"{m['num_layers']} layers, {m['num_heads']} heads, d_ff {m['d_ff']}")
    parts = [f"Model: lesson 02's `ReferenceLM` ({shape}), {dtype}, global batch {batch} "
             f"sequences, {steps} timed steps per variant and round, median of {args.rounds} "
             f"rounds; torch {torch.__version__}."]
    if "bandwidth" not in args.skip:
        parts.append("### all_reduce bus bandwidth\n\n" +
                     bandwidth_table(device, args.nproc, args.sizes_mb))
    if "training" not in args.skip:
        table, _ = training_table(device, nproc, SIZES[size], batch, steps, args.rounds,
                                  args.bucket_mb, dtype)
        parts.append(f"### Training step, {nproc} ranks\n\n" + table)
    if "memory" not in args.skip:
        parts.append("### ZeRO-1 optimizer state per rank\n\n" +
                     memory_table(device, nproc, SIZES[size], batch))
    text = "\n\n".join(parts)
    print(text)
    write_sections(args.results, HEADER, {title: text})
    return 0


if __name__ == "__main__":
    sys.exit(main())
