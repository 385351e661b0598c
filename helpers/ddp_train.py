"""Train lesson 02's model data-parallel with one of lesson 05's variants: a torchrun script.

The training code is the notebook's (``helpers.ddp.train_job`` / ``step_time_job``); only the
launcher differs. ``torchrun`` sets ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK`` and the rendezvous
address, and ``dist.init_process_group()`` reads them::

    torchrun --nproc_per_node 2 -m helpers.ddp_train --impl bucketed --steps 10        # 2 CPU ranks
    torchrun --nnodes 2 --nproc_per_node 8 --node_rank 0 --master_addr HOST0 \\
        --master_port 29500 -m helpers.ddp_train --impl bucketed --size 125m            # 16 GPUs
    python -m helpers.ddp_train --impl overlap                                          # 1 process

- ``--impl``: ``none`` (no synchronization: the compute-only bound), ``naive``, ``flat``,
  ``overlap`` (``DDP``), ``bucketed`` (``DDPBucketed``, ``--bucket-mb``), ``torch``
  (PyTorch's ``DistributedDataParallel``); ``--zero`` steps with ``ShardedOptimizer``.
- The classes are the kit's reference ones (``helpers.reference.ddp``), or yours:
  ``--notebook notebooks/05_ddp.ipynb`` loads that notebook's definitions
  (``helpers.nbmodule``, without running its experiments).
- ``--check OUT.json`` (CPU): trains the tiny model of the lesson's tests and writes each
  rank's final parameters' sums, to compare with single-process training
  (``grader/tests/test_ddp.py`` runs it under torchrun with 2 CPU processes).
- Otherwise it times ``--steps`` steps and prints tokens/s and the synchronization wait
  (NCCL on GPUs, one per rank, chosen by ``LOCAL_RANK``).
"""
from __future__ import annotations

import argparse
import json
import os
import socket

import torch
import torch.distributed as dist

from helpers import ddp as lab

SIZES = {
    "tiny": lab.TINY_LM,
    "cpu": dict(vocab_size=512, context_length=64, d_model=128, num_layers=2, num_heads=4,
                d_ff=384),
    "22m": dict(vocab_size=10_000, context_length=256, d_model=512, num_layers=4, num_heads=16,
                d_ff=1344),
    "125m": dict(vocab_size=50_257, context_length=1024, d_model=768, num_layers=12,
                 num_heads=12, d_ff=2048),
}


IMPLS = ("none", "naive", "flat", "overlap", "bucketed", "torch")


def implementations(source, bucket_mb: float) -> dict:
    """Keyword arguments of ``train_job``/``step_time_job`` for each variant, from ``source``
    (a module with the lesson's functions and classes)."""
    return {
        "none": {},
        "naive": {"broadcast": source.broadcast_parameters, "sync": source.average_gradients},
        "flat": {"broadcast": source.broadcast_parameters, "sync": source.average_gradients_flat},
        "overlap": {"wrapper": source.DDP},
        "bucketed": {"wrapper": source.DDPBucketed,
                     "wrapper_kwargs": {"bucket_size_mb": bucket_mb}},
        "torch": {"wrapper": lab.TorchDDP},
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--impl", default="bucketed", choices=IMPLS)
    parser.add_argument("--bucket-mb", type=float, default=25.0)
    parser.add_argument("--zero", action="store_true", help="ZeRO-1: ShardedOptimizer(AdamW)")
    parser.add_argument("--size", default="cpu", choices=list(SIZES))
    parser.add_argument("--batch-size", type=int, default=8, help="global batch (sequences)")
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--bf16", action="store_true", help="autocast to bfloat16")
    parser.add_argument("--notebook", help="take the classes from this lesson-05 notebook")
    parser.add_argument("--check", metavar="OUT.json", help="tiny model, CPU: write final sums")
    args = parser.parse_args(argv)

    if args.notebook:
        from helpers.nbmodule import load_notebook

        source = load_notebook(args.notebook)
    else:
        try:
            from helpers.reference import ddp as source
        except ImportError:
            parser.error("helpers/reference/ddp.py is not in the student bundle: pass "
                         "--notebook notebooks/05_ddp.ipynb (your classes)")
    from helpers.env import resolve_device

    device = "cpu" if args.check else resolve_device(args.device)
    if "RANK" not in os.environ:   # alone: a group of one
        os.environ.update(RANK="0", WORLD_SIZE="1", LOCAL_RANK="0", MASTER_ADDR="127.0.0.1",
                          MASTER_PORT=str(_free_port()))
    if device.startswith("cuda"):
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", 0)))
    dist.init_process_group("nccl" if device.startswith("cuda") else "gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    kwargs = implementations(source, args.bucket_mb)[args.impl]
    optimizer = "adamw"
    if args.zero:
        optimizer, kwargs = "sharded", {**kwargs, "sharded_cls": source.ShardedOptimizer}
    try:
        if args.check:
            final = lab.train_job("lm", args.steps, args.batch_size, optimizer, **kwargs)
            sums = {name: float(t.double().sum()) for name, t in final.items()}
            gathered = [None] * world
            dist.all_gather_object(gathered, sums)
            if rank == 0:
                with open(args.check, "w") as f:
                    json.dump({"world_size": world, "ranks": gathered}, f)
            return
        out = lab.step_time_job(SIZES[args.size], args.batch_size, args.steps,
                                optimizer=optimizer, dtype="bfloat16" if args.bf16 else "float32",
                                **kwargs)
        tokens = args.batch_size * SIZES[args.size]["context_length"]
        if rank == 0:
            print(f"{args.impl}{' + ZeRO-1' if args.zero else ''} on {world} x {device}: "
                  f"{out['step_s'] * 1e3:.1f} ms/step, {tokens / out['step_s']:,.0f} tokens/s, "
                  f"{out['sync_s'] * 1e3:.1f} ms waiting after backward, optimizer state "
                  f"{out['optimizer_bytes'] / 1e6:.1f} MB on rank 0")
    finally:
        try:
            dist.barrier()  # no rank tears gloo down while another still uses it (else SIGABRT)
        finally:
            dist.destroy_process_group()


if __name__ == "__main__":
    main()
