"""Lesson 03 (resource accounting): the solution's formulas and
``helpers.reference.resource_accounting``
against independent oracles, and the measuring machinery of ``helpers.profiling``,
``helpers.resource_accounting`` (what the lesson's tests measure, its roofline and MFU runs)
and ``helpers.hardware``.

- Oracles: ``sum(p.numel())`` of a real ``ReferenceLM``; the released GPT-2 checkpoints'
  parameter counts; ``torch.utils.flop_counter.FlopCounterMode`` on real forward and backward
  passes (naive attention, so every product is a matmul it counts); the bytes autograd really
  saves; ``torch.finfo``; ``torch._amp_update_scale_``.
- Properties (hypothesis) over random model sizes; the notebook's solution and the helpers
  module must agree everywhere.

Run: ``python -m pytest grader/tests/test_resource_accounting.py -q`` (about 15 s on 2 cores).
"""
from __future__ import annotations

import math
import time

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch.utils.flop_counter import FlopCounterMode

from grader.nbmodule import load_notebook
from helpers import hardware
from helpers import resource_accounting as measure
from helpers.env import REPO_ROOT
from helpers.profiling import (
    MemoryTracker,
    checkpointed_forward,
    loss_fn,
    make_train_step,
    measure_ceilings,
    peak_memory,
    saved_tensor_bytes,
    state_bytes,
)
from helpers.reference import resource_accounting as ref
from helpers.reference.model import ModelConfig, ReferenceLM

SOLUTION = REPO_ROOT / "solutions" / "03_resource_accounting.ipynb"
SETTINGS = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def nb():
    return load_notebook(SOLUTION)


@pytest.fixture(autouse=True)
def _one_thread(one_thread):  # tiny matrices: one thread is faster and steadier on a busy machine
    yield


@st.composite
def configs(draw, max_d_head=8, min_heads=1):
    num_heads = draw(st.integers(min_heads, 3))
    d_head = 2 * draw(st.integers(1, max_d_head // 2))
    return ModelConfig(vocab_size=draw(st.integers(2, 300)), context_length=32,
                       d_model=num_heads * d_head,
                       num_layers=draw(st.integers(1, 3)), num_heads=num_heads,
                       d_ff=draw(st.integers(1, 40)))


def implementations(nb):
    return [("solution", nb), ("helpers.reference.resource_accounting", ref)]


# ---------------------------------------------------------------------------------------------
# Parameters
# ---------------------------------------------------------------------------------------------
@SETTINGS
@given(cfg=configs())
def test_count_parameters_matches_a_real_model(nb, cfg):
    model = ReferenceLM(cfg)
    for name, impl in implementations(nb):
        counts = impl.count_parameters(cfg)
        assert sum(counts.values()) == sum(p.numel() for p in model.parameters()), name
        assert counts["lm_head"] == model.lm_head.weight.numel() == counts["token_embeddings"]
        assert counts["ffn"] == sum(p.numel() for n, p in model.named_parameters()
                                    if ".ffn." in n), name


@pytest.mark.parametrize("size, expected", [("small", 124_439_808), ("medium", 354_823_168),
                                            ("large", 774_030_080), ("xl", 1_557_611_200)])
def test_gpt2_counts_are_the_released_checkpoints(nb, size, expected):
    """Hugging Face's gpt2, gpt2-medium, gpt2-large and gpt2-xl: sum(p.numel()) of the
    checkpoints (tied lm_head counted once)."""
    assert nb.count_parameters_gpt2(nb.GPT2_CONFIGS[size]) == expected


# ---------------------------------------------------------------------------------------------
# FLOPs
# ---------------------------------------------------------------------------------------------
def counted_flops(cfg, batch, seq, *, backward=False, checkpointing=False):
    model = ReferenceLM(cfg, attn_backend="naive")
    ids = torch.randint(0, cfg.vocab_size, (batch, seq))
    with FlopCounterMode(display=False) as counter:
        logits = checkpointed_forward(model, ids, early_stop=False) if checkpointing else model(ids)
        if backward:
            F.cross_entropy(logits.flatten(0, 1), ids.flatten()).backward()
    return counter.get_total_flops()


@SETTINGS
@given(cfg=configs(), batch=st.integers(1, 3), seq=st.integers(1, 32))
def test_forward_flops_match_flop_counter(nb, cfg, batch, seq):
    want = counted_flops(cfg, batch, seq)
    for name, impl in implementations(nb):
        assert sum(impl.forward_flops(cfg, batch, seq).values()) == want, name


@pytest.mark.parametrize("checkpointing", [False, True])
def test_training_flops_match_flop_counter(nb, checkpointing):
    cfg = ModelConfig(vocab_size=97, context_length=24, d_model=24, num_layers=3, num_heads=3,
                      d_ff=40)
    want = counted_flops(cfg, 2, 24, backward=True, checkpointing=checkpointing)
    for name, impl in implementations(nb):
        assert impl.training_flops(cfg, 2, 24, checkpointing=checkpointing) == want, name


def test_early_stop_skips_part_of_the_recomputation():
    """PyTorch's default non-reentrant checkpoint stops recomputing once every saved tensor is
    back: fewer FLOPs than the full recomputation the formula counts, more than none."""
    cfg = ModelConfig(vocab_size=64, context_length=16, d_model=16, num_layers=2, num_heads=2,
                      d_ff=32)
    model = ReferenceLM(cfg, attn_backend="naive")
    ids = torch.randint(0, 64, (2, 16))
    with FlopCounterMode(display=False) as counter:
        F.cross_entropy(checkpointed_forward(model, ids).flatten(0, 1), ids.flatten()).backward()
    counted = counter.get_total_flops()
    assert ref.training_flops(cfg, 2, 16) < counted < ref.training_flops(cfg, 2, 16, True)


def test_six_nd_holds_at_short_context_and_breaks_at_long():
    cfg = ModelConfig(vocab_size=50_257, context_length=1 << 17, d_model=768, num_layers=12,
                      num_heads=12, d_ff=2048)
    n = sum(ref.count_parameters(cfg).values()) - ref.count_parameters(cfg)["token_embeddings"]
    assert ref.training_flops(cfg, 1, 256) / (6 * n * 256) < 1.05
    assert ref.training_flops(cfg, 1, 1 << 17) / (6 * n * (1 << 17)) > 10


# ---------------------------------------------------------------------------------------------
# Memory
# ---------------------------------------------------------------------------------------------
@SETTINGS
@given(cfg=configs(min_heads=2), batch=st.integers(1, 3), seq=st.integers(2, 32))
def test_activation_formula_matches_what_autograd_saves(nb, cfg, batch, seq):
    """Exact, up to the loss' scalar. (With one head or one token, merging the heads of the
    attention output is a view, not a copy: d bytes fewer per layer and token than counted.)"""
    model = ReferenceLM(cfg)
    x, y = torch.randint(0, cfg.vocab_size, (2, batch, seq))
    loss, saved = saved_tensor_bytes(lambda: loss_fn(model, x, y), exclude=model)
    for name, impl in implementations(nb):
        predicted = impl.training_memory(cfg, batch, seq)["activations"]
        # + the loss' scalar
        assert abs(predicted - saved) <= 8, f"{name}: predicted {predicted}, autograd saved {saved}"


@pytest.mark.parametrize("checkpointing", [False, True])
def test_peak_memory_is_the_model_plus_transients(checkpointing):
    """MemoryTracker's peak of a real step against the formula: the formula leaves out the
    logits' gradient (4 B T V bytes) and backward scratch, so it may undershoot by that much."""
    cfg = ModelConfig(vocab_size=512, context_length=64, d_model=64, num_layers=3, num_heads=4,
                      d_ff=160)
    model = ReferenceLM(cfg)
    x, y = torch.randint(0, cfg.vocab_size, (2, 4, 64))
    step, opt = make_train_step(model, x, y, checkpointing=checkpointing)
    step()
    numel = sum(p.numel() for p in model.parameters())
    assert state_bytes(model, opt) == {"parameters": 4 * numel, "gradients": 0,
                                       "optimizer_state": 8 * numel}
    peak = peak_memory(step, "cpu", sum(state_bytes(model, opt).values()))
    predicted = sum(ref.training_memory(cfg, 4, 64, checkpointing=checkpointing).values())
    transient = 2 * 4 * 4 * 64 * cfg.vocab_size  # logits' gradient and a softmax-sized scratch
    assert 0.9 * predicted < peak < predicted + transient * 1.5, (peak, predicted)


def test_checkpointing_saves_memory_it_predicts_saving():
    cfg = ModelConfig(vocab_size=64, context_length=64, d_model=64, num_layers=6, num_heads=4,
                      d_ff=160)
    peaks = []
    for ck in (False, True):
        torch.manual_seed(0)
        model = ReferenceLM(cfg)
        x, y = torch.randint(0, 64, (2, 4, 64))
        step, _ = make_train_step(model, x, y, checkpointing=ck)
        step()
        peaks.append(peak_memory(step, "cpu"))
    saved = ref.training_memory(cfg, 4, 64)["activations"] - ref.training_memory(cfg, 4, 64,
                                                                                 checkpointing=True)["activations"]
    # Not all of it shows at the peak: without checkpointing the peak comes at the start of the
    # backward pass, before most gradients exist; with it, later, beside more gradients.
    assert 0.6 * saved < peaks[0] - peaks[1] < 1.1 * saved, (peaks, saved)


def test_memory_tracker_follows_frees():
    tracker = MemoryTracker()
    with tracker:
        a = torch.ones(1000)  # 4,000 bytes
        b = torch.ones(2000)  # 8,000 more, while a is alive: the peak, 12,000
        del a, b
        c = torch.zeros(10)  # the sweep after this op notices a and b freed: 40 bytes alive
    assert tracker.peak == 12_000
    assert tracker.current == 40 and c.numel() == 10


def test_saved_tensor_bytes_excludes_parameters():
    lin = torch.nn.Linear(100, 100, bias=False)
    x = torch.randn(7, 100, requires_grad=True)
    _, saved = saved_tensor_bytes(lambda: lin(x), exclude=lin)
    assert saved == 7 * 100 * 4  # the input; the weight is a parameter


def test_training_memory_dtype_and_state(nb):
    cfg = ModelConfig()
    for name, impl in implementations(nb):
        fp32 = impl.training_memory(cfg, 8, 256)
        bf16 = impl.training_memory(cfg, 8, 256, torch.bfloat16)
        assert fp32["optimizer_state"] == 2 * fp32["parameters"] == 2 * bf16["gradients"], name
        # the fp32 log-softmax
        assert bf16["activations"] < fp32["activations"] < 2 * bf16["activations"], name


# ---------------------------------------------------------------------------------------------
# Formats, roofline, harness, MFU, loss scaling
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype, e, m",
                         [(torch.float32, 8, 23), (torch.float16, 5, 10), (torch.bfloat16, 8, 7),
                                         (torch.float8_e5m2, 5, 2), (torch.float64, 11, 52)])
def test_float_limits_match_finfo(nb, dtype, e, m):
    got, fi = nb.float_limits(e, m), torch.finfo(dtype)
    assert (got["max"], got["min_normal"], got["eps"]) == (fi.max, fi.tiny, fi.eps)


@SETTINGS
@given(shape=st.lists(st.integers(0, 9), max_size=4),
       dtype=st.sampled_from([torch.float32, torch.bfloat16, torch.float8_e4m3fn, torch.int64,
                              torch.bool]))
def test_tensor_bytes_matches_storage(nb, shape, dtype):
    assert nb.tensor_bytes(tuple(shape),
                           dtype) == torch.empty(shape, dtype=dtype).untyped_storage().nbytes()


@SETTINGS
@given(m=st.integers(1, 10**4), k=st.integers(1, 10**4), n=st.integers(1, 10**4),
       s=st.sampled_from([1, 2, 4]))
def test_matmul_intensity_is_bounded_by_the_smallest_dimension(nb, m, k, n, s):
    """2mkn / s(mk + kn + mn) <= (2/s) min(m, k, n) (the sum exceeds each product of two sizes),
    and a square product has 2n / (3s)."""
    i = nb.matmul_intensity(m, k, n, s)
    assert 0 < i <= 2 * min(m, k, n) / s
    assert math.isclose(nb.matmul_intensity(n, n, n, s), 2 * n / (3 * s))


def test_roofline_ridge(nb):
    h100 = hardware.by_name("H100 SXM")
    ridge = h100.peak_flops["bfloat16"] / h100.bandwidth
    assert 250 < ridge < 350
    got = nb.attainable_flops(np.array([ridge / 10, ridge, ridge * 10]),
                              h100.peak_flops["bfloat16"], h100.bandwidth)
    assert np.allclose(got, [h100.peak_flops["bfloat16"] / 10, h100.peak_flops["bfloat16"],
                             h100.peak_flops["bfloat16"]])


@pytest.mark.parametrize("name", ["solution", "helpers.reference.resource_accounting"])
def test_benchmark_synchronizes_and_skips_warmup(nb, name):
    impl = dict(implementations(nb))[name]
    queued = []

    def launch():  # an asynchronous device: the work happens at sync()
        queued.append(0.01)

    def sync():
        time.sleep(sum(queued))
        queued.clear()

    r = impl.benchmark(launch, warmup=4, repeats=3, sync=sync)
    assert len(r["times"]) == 3 and all(0.009 < t < 0.03 for t in r["times"]), r["times"]


def test_mfu_of_lesson02_h100_run(nb):
    """benchmarks/results/transformer_lm.md: the compiled TinyStories step, 12.7 ms for 128 x 256
    tokens, was 28.3% MFU with its own (causal) FLOP count; ours counts the full scores."""
    mfu = nb.model_flops_utilization(ModelConfig(), 128, 256, 0.0127,
                                     hardware.by_name("H100 SXM").peak_flops["bfloat16"])
    assert 0.28 < mfu < 0.32


def test_loss_scale_follows_torch(nb):
    rng = np.random.default_rng(1)
    scale_t, tracker_t = torch.tensor([1024.0]), torch.tensor([0], dtype=torch.int32)
    s, g = 1024.0, 0
    for inf in rng.random(200) < 0.2:
        torch._amp_update_scale_(scale_t, tracker_t, torch.tensor([float(inf)]), 2.0, 0.5, 3)
        s, g = nb.update_loss_scale(s, g, bool(inf), 2.0, 0.5, 3)
        assert (s, g) == (scale_t.item(), tracker_t.item())


# ---------------------------------------------------------------------------------------------
# Hardware table and ceilings
# ---------------------------------------------------------------------------------------------
def test_hardware_lookup_prefers_specific_names():
    assert hardware.lookup("NVIDIA H100 80GB HBM3").name == "H100 SXM"
    assert hardware.lookup("NVIDIA H100 PCIe").name == "H100 PCIe"
    assert hardware.lookup("NVIDIA GH200 480GB").name == "GH200"
    assert hardware.lookup("NVIDIA H200").name == "H200 SXM"
    assert hardware.lookup("NVIDIA A100-SXM4-80GB").name == "A100 SXM 80GB"
    assert hardware.lookup("AMD EPYC") is None
    for a in hardware.ACCELERATORS:
        assert a.source and a.bandwidth > 0 and a.memory > 0
        flops = a.peak_flops
        assert flops["bfloat16"] >= flops["tfloat32"] > flops["float32"] > 0, a.name


def test_measure_ceilings_on_cpu():
    flops, bandwidth = measure_ceilings("cpu", n=128, copy_mb=4, repeats=2)
    assert 1e8 < flops < 1e14 and 1e8 < bandwidth < 1e13


# ---------------------------------------------------------------------------------------------
# helpers.resource_accounting: the lesson's measurements
# ---------------------------------------------------------------------------------------------
def test_measurements_of_a_real_model_match_the_formulas_and_the_counter(nb):
    cfg = ModelConfig(vocab_size=50, context_length=16, d_model=16, num_layers=2, num_heads=2,
                      d_ff=40)
    model = ReferenceLM(cfg)
    groups = measure.measured_parameters(model)
    assert groups == nb.count_parameters(cfg) and list(groups) == list(measure.COMPONENTS)
    assert sum(groups.values()) == sum(p.numel() for p in model.parameters())
    counter = measure.counted_forward_flops(cfg, 2, 12)
    assert counter.get_total_flops() == counted_flops(cfg, 2, 12)
    assert sum(counter.get_flop_counts()["ReferenceLM.lm_head"].values()) == 2 * 2 * 12 * 16 * 50
    for ck in (False, True):
        want = counted_flops(cfg, 2, 12, backward=True, checkpointing=ck)
        assert measure.counted_training_flops(cfg, 2, 12, ck) == want == \
            nb.training_flops(cfg, 2, 12, checkpointing=ck)
    saved = measure.measured_activations(cfg, 3, 16)
    predicted = nb.training_memory(cfg, 3, 16)["activations"]
    assert abs(saved / predicted - 1) < 0.01  # a few scalars more than the table counts


def test_fake_gpu_runs_queued_work_at_sync():
    gpu = measure.FakeGPU(ms=20)
    t0 = time.perf_counter()
    gpu.launch()
    gpu.launch()
    assert time.perf_counter() - t0 < 0.015 and math.isclose(gpu.queued, 0.04)
    gpu.sync()
    assert 0.038 < time.perf_counter() - t0 and gpu.queued == 0.0


def test_roofline_points_and_training_steps_use_the_given_harness(nb):
    calls = []

    def one_second(fn, warmup, repeats):  # a harness stand-in: one call, a median of 1 s
        calls.append((warmup, repeats))
        fn()
        return {"median": 1.0}

    points = measure.roofline_points("cpu", (torch.float32, torch.bfloat16), one_second,
                                     nb.matmul_intensity, warmup=2, repeats=3)
    assert [p[0] for p in points] == ["matmul float32"] * 3 + ["matmul bfloat16"] * 3 + [
        "add fp32", "RMSNorm fp32"]
    assert points[0] == ("matmul float32", nb.matmul_intensity(32, 32, 32, 4), 2 * 32**3)
    assert points[-2] == ("add fp32", 1 / 12, 2**23) and calls == [(2, 3)] * 8
    cfg = ModelConfig(vocab_size=40, context_length=8, d_model=16, num_layers=1, num_heads=2,
                      d_ff=32)
    times = measure.time_training_steps(ReferenceLM(cfg), 2, {"fp32": (torch.float32, False),
                                        "bf16": (torch.bfloat16, False)}, one_second, 1, 4)
    assert times == {"fp32": 1.0, "bf16": 1.0} and calls[-2:] == [(1, 4)] * 2
