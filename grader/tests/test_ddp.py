"""Tests for lesson 05: the launcher and data-parallel training from torch.distributed primitives.

- The launcher (``helpers.distributed``): results in rank order, a raising rank's traceback,
  a hung rank killed by the timeout with no process left, and gloo inside a network namespace
  whose loopback is down (the grader's sandbox).
- Oracles: every DDP variant of the solution notebook (``grader.nbmodule``) and of
  ``helpers.reference.ddp`` gives, after several steps on 2 gloo ranks, the parameters of
  single-process training on the concatenated batch and those of PyTorch's
  ``DistributedDataParallel``, for a toy MLP, a model with tied weights and frozen
  parameters, and lesson 02's reference model; buckets smaller than one parameter, larger
  than the model and in between.
- Overlap: all-reduces launched during the backward pass. ZeRO-1: AdamW's parameters, and
  half the optimizer state per rank. Properties of ``assign_buckets`` (hypothesis).
- ``torchrun --nproc_per_node 2 -m helpers.ddp_train`` equals single-process training.
- ``DDPConfig``: the presets, a knob, an unknown knob, and the device rules (GPUs mocked).

Run: ``pytest grader/tests/test_ddp.py`` (about a minute on 2 cores; ``-k launcher`` for the
launcher alone).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time

import cloudpickle
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grader.nbmodule import load_notebook
from helpers import ddp as lab
from helpers.distributed import RankError, Ranks, run
from helpers.env import REPO_ROOT
from helpers.reference import ddp as ref

lesson = load_notebook(REPO_ROOT / "solutions" / "05_ddp.ipynb")
cloudpickle.register_pickle_by_value(sys.modules[__name__])   # ranks cannot import this file
SOURCES = {"notebook": lesson, "reference": ref}
KINDS = ("toy", "tied", "lm")


def _pid():
    import torch.distributed as dist

    return dist.get_rank(), os.getpid()


def _raise_on_rank_1():
    import torch.distributed as dist

    if dist.get_rank() == 1:
        raise ValueError("rank 1 fails here")
    return "fine"


def _hang_on_rank_0():
    import torch.distributed as dist

    if dist.get_rank() == 0:
        time.sleep(3600)
    dist.barrier()


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    with open(f"/proc/{pid}/stat") as f:   # a zombie is gone too
        return f.read().split(")")[-1].split()[0] == "Z"


def test_launcher_returns_results_in_rank_order_and_shows_a_ranks_traceback():
    with Ranks(2) as pool:
        assert [r for r, _ in pool.run(_pid)] == [0, 1]
        with pytest.raises(RankError, match="(?s)rank 1 raised.*ValueError: rank 1 fails here"):
            pool.run(_raise_on_rank_1)


def test_launcher_kills_every_process_of_a_hung_job_and_starts_again():
    with Ranks(2) as pool:
        pids = [pid for _, pid in pool.run(_pid)]
        leader = pool._proc.pid
        start = time.monotonic()
        with pytest.raises(RankError, match="did not finish"):
            pool.run(_hang_on_rank_0, timeout=2)
        assert time.monotonic() - start < 10
        deadline = time.monotonic() + 5
        while not all(map(_gone, pids + [leader])) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert all(map(_gone, pids + [leader])), "processes left behind"
        assert [r for r, _ in pool.run(_pid)] == [0, 1]   # a fresh group


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("unshare"),
                    reason="needs root and unshare(1) for a network namespace")
def test_launcher_runs_gloo_where_the_loopback_is_down(tmp_path):
    script = tmp_path / "s.py"
    script.write_text("import torch.distributed as dist\n"
                      "from helpers.distributed import loopback_works, run\n"
                      "def rank():\n    return dist.get_rank()\n"
                      "print(loopback_works(), run(rank))\n")
    out = subprocess.run(["unshare", "-n", sys.executable, str(script)], cwd=REPO_ROOT,
                         capture_output=True, text=True, timeout=120,
                         env=dict(os.environ, PYTHONPATH=str(REPO_ROOT)))
    assert out.stdout.strip() == "False [0, 1]", out.stderr[-2000:]


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("kind", KINDS)
def test_every_variant_equals_single_process_and_pytorch_ddp(source, kind):
    src = SOURCES[source]
    want = lab.train_single(kind, steps=3, optimizer="adamw")
    torch_ddp = run(lab.train_job, kind, 3, optimizer="adamw", wrapper=lab.TorchDDP)
    lab.compare_states(torch_ddp, want, f"PyTorch DDP, {kind}")
    variants = {
        "naive": dict(broadcast=src.broadcast_parameters, sync=src.average_gradients),
        "flat": dict(broadcast=src.broadcast_parameters, sync=src.average_gradients_flat),
        "overlap": dict(wrapper=src.DDP),
        "zero-1": dict(wrapper=src.DDP, optimizer="sharded", sharded_cls=src.ShardedOptimizer),
    }
    sizes = lab.param_bytes(kind)
    for mb in (min(sizes) / 2 / lab.MiB, sum(sizes) / 3 / lab.MiB, 10 * sum(sizes) / lab.MiB):
        variants[f"bucketed {mb:.4f}"] = dict(wrapper=src.DDPBucketed,
                                               wrapper_kwargs={"bucket_size_mb": mb})
    for name, kwargs in variants.items():
        kwargs = {"optimizer": "adamw", **kwargs}
        got = run(lab.train_job, kind, 3, **kwargs)
        lab.compare_states(got, want, f"{source} {name}, {kind}")
        lab.compare_states(got, torch_ddp[0], f"{source} {name} vs PyTorch DDP, {kind}")


@pytest.mark.parametrize("source", SOURCES)
def test_all_reduces_are_launched_during_backward(source):
    src = SOURCES[source]
    n = len(lab.param_bytes("lm"))
    calls = run(lab.launches_job, src.DDP)[0]
    assert len(calls) == n and all(a and d for _, a, d in calls)
    for mb, buckets in ((1e-9, n), (1e3, 1)):
        calls = run(lab.launches_job, src.DDPBucketed, {"bucket_size_mb": mb})[0]
        assert len(calls) == buckets and all(a and d for _, a, d in calls)
    flat = run(lab.launches_job, lab.SyncAfterBackward, {"sync": src.average_gradients_flat})[0]
    assert len(flat) == 1 and not flat[0][2], "the flat version synchronizes after backward"


def test_the_profiler_timeline_shows_all_reduce_work_before_backward_ends():
    rows = run(lab.profile_job, ref.DDPBucketed, {"bucket_size_mb": 0.002})[0]
    backward = [(s, s + d) for k, s, d in rows if k == "backward"]
    reduces = [s for k, s, _ in rows if k == "all_reduce"]
    assert backward and reduces
    assert min(reduces) < backward[0][1], "no all-reduce started during backward"


@pytest.mark.parametrize("source", SOURCES)
def test_zero1_holds_half_of_adamws_state_per_rank(source):
    src = SOURCES[source]
    full = lab.optimizer_state_job()["state_bytes"]
    per_rank = [m["state_bytes"] for m in run(lab.optimizer_state_job, src.ShardedOptimizer)]
    assert sum(per_rank) == full
    assert all(0.35 < b / full < 0.65 for b in per_rank)
    formula = src.zero_memory_per_rank(sum(lab.param_bytes("lm")) // 4, 2, 1)["optimizer"]
    assert formula == full / 2


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(1, 100), max_size=30), st.integers(1, 400))
def test_buckets_partition_the_parameters_in_reverse_and_reach_the_cap(sizes, cap):
    for fn in (lesson.assign_buckets, ref.assign_buckets):
        buckets = fn(sizes, cap)
        assert [i for b in buckets for i in b] == list(reversed(range(len(sizes))))
        assert all(sum(sizes[i] for i in b) >= cap for b in buckets[:-1])
        assert all(sum(sizes[i] for i in b[:-1]) < cap for b in buckets)
        assert all(buckets)


def test_bus_bandwidth_and_zero_memory_formulas():
    for fn in (lesson.bus_bandwidth, ref.bus_bandwidth):
        assert fn(1e9, 1.0, 2) == pytest.approx(1e9)
        assert fn(1e9, 1.0, 8) == pytest.approx(1.75e9)
    for fn in (lesson.zero_memory_per_rank, ref.zero_memory_per_rank):
        totals = [sum(fn(1000, 4, s).values()) for s in range(4)]
        assert totals == [16000, 10000, 7000, 4000]


def test_config_presets_knobs_and_the_device_rules(monkeypatch, capsys):
    smoke = lab.DDPConfig.build("smoke", "cpu", 0)
    assert (smoke.device, smoke.world_size, smoke.batch_size, smoke.num_steps) == ("cpu", 2, 8, 4)
    assert smoke.lm == lab.LM_SMOKE and smoke.bench_sizes_mb == (1, 4, 16)
    assert (smoke.bucket_sizes_mb, smoke.dtype, smoke.timeout) == ((0.25, 1.0, 4.0), "float32", 30)
    full = lab.DDPConfig.build("full", "cpu", 0)   # CPU ranks: lesson 02's 22.7M model
    assert (full.world_size, full.lm, full.batch_size, full.num_steps, full.dtype) == \
        (2, lab.LM_22M, 8, 5, "float32")
    assert full.bench_sizes_mb[-1] == 1024 and full.bucket_sizes_mb == (1.0, 10.0, 25.0)
    knobs = lab.DDPConfig.build("full", "cpu", 0, world_size=4, num_steps=2, dtype=None)
    assert (knobs.world_size, knobs.num_steps, knobs.dtype) == (4, 2, "float32")
    with pytest.raises(TypeError, match="no setting \\['steps'\\]"):
        lab.DDPConfig.build("smoke", "cpu", 0, steps=2)
    # GPUs: NCCL at full scale with 2 or more; one GPU falls back to CPU ranks; smoke and mps
    # always run on CPU ranks
    monkeypatch.setattr(lab, "resolve_device", lambda device: "cuda")
    monkeypatch.setattr(lab.torch.cuda, "device_count", lambda: 4)
    gpus = lab.DDPConfig.build("full", "auto", 0)
    assert (gpus.device, gpus.world_size, gpus.lm, gpus.batch_size, gpus.num_steps,
            gpus.dtype) == ("cuda", 4, lab.LM_125M, 32, 20, "bfloat16")
    assert lab.DDPConfig.build("smoke", "auto", 0).device == "cpu"
    monkeypatch.setattr(lab.torch.cuda, "device_count", lambda: 1)
    one = lab.DDPConfig.build("full", "auto", 0)
    assert (one.device, one.world_size, one.lm) == ("cpu", 2, lab.LM_22M)
    assert "NCCL needs a GPU per rank" in capsys.readouterr().out
    monkeypatch.setattr(lab, "resolve_device", lambda device: "mps")
    assert lab.DDPConfig.build("full", "auto", 0).device == "cpu"


def test_torchrun_two_cpu_processes_equal_single_process_training(tmp_path):
    torchrun = shutil.which("torchrun", path=os.path.dirname(sys.executable)) or "torchrun"
    out = tmp_path / "sums.json"
    # --standalone: a rendezvous on a free port, not the default 29500 another run may hold
    proc = subprocess.run([torchrun, "--standalone", "--nproc_per_node", "2", "-m",
                           "helpers.ddp_train",
                           "--impl", "bucketed", "--bucket-mb", "0.01", "--zero", "--steps", "3",
                           "--check", str(out)], cwd=tmp_path, capture_output=True, text=True,
                          timeout=300, env=dict(os.environ, PYTHONPATH=str(REPO_ROOT)))
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(out.read_text())
    want = lab.train_single("lm", steps=3, optimizer="adamw")
    assert result["world_size"] == 2
    for sums in result["ranks"]:
        for name, tensor in want.items():
            assert sums[name] == pytest.approx(float(tensor.double().sum()), rel=1e-4, abs=1e-3)
