"""Trusted cases of lesson 03 (``grader.trusted``): hidden inputs, compared outside the kernel.

Never released (``solutions/`` is not in a bundle) and hidden from students' kernels. Each
graded test cell below also keeps its in-kernel test; it scores only if both pass. The cases
hold the hidden values (other sizes, dtypes, int counts, GPT-3, the released GPT-2s); the
in-kernel hidden tests keep what needs live objects: real models measured (parameters,
``FlopCounterMode``'s FLOPs by module, the bytes autograd saves) and ``benchmark`` on real
sleeps. Configs
(``ModelConfig``, ``GPT2Config``) and dtypes are not plain data: ``with_objects_case`` has
them built in the kernel from plain recipes.

``benchmark`` is timed on a simulated clock (``with_clock_case``): each call of the timed
function costs a given time, at once (CPU work) or queued until ``sync`` (a GPU), so its
timings are exact and compared with the solution's: warm-up calls untimed, queued work
inside its own call's timing and not in the next one's, the median of the times.

A case's ``hint`` is what the student reads when it fails (never its inputs or values).
"""
import inspect
import textwrap

import numpy as np

from grader.trusted import Case, with_clock_case, with_objects_case
from helpers.reference.resource_accounting import benchmark

rng = np.random.default_rng(20260303)

DTYPES = ("float32", "float16", "bfloat16", "float64", "float8_e4m3fn", "float8_e5m2", "int8",
          "uint8", "int16", "int32", "int64", "bool", "complex64", "complex128")
GPT3 = {"vocab_size": 50_257, "context_length": 2048, "d_model": 12_288, "num_layers": 96,
        "num_heads": 96, "d_ff": 4 * 12_288}  # 175B
# 1T parameters: a step on 4M tokens exceeds int64 (Python ints do not overflow; NumPy's would)
ONE_T = {"vocab_size": 50_257, "context_length": 2048, "d_model": 25_600, "num_layers": 128,
         "num_heads": 160, "d_ff": 4 * 25_600}
TINY = {"vocab_size": 2, "context_length": 4, "d_model": 2, "num_layers": 1, "num_heads": 1,
        "d_ff": 1}


def random_config():
    """Sizes of a valid ModelConfig (d_model divisible by num_heads, even d_head), as ints."""
    heads, d_head = int(rng.integers(1, 9)), 2 * int(rng.integers(1, 33))
    return {"vocab_size": int(rng.integers(2, 60_000)),
            "context_length": int(rng.integers(8, 4096)), "d_model": heads * d_head,
            "num_layers": int(rng.integers(1, 40)), "num_heads": heads,
            "d_ff": int(rng.integers(1, 6000))}


def mfu_inputs(sizes, b, t):
    """(B, T, step seconds, peak FLOP/s) for an MFU of 5-40 % by 6ND (the true one is higher)."""
    d = sizes["d_model"]
    n = 12 * sizes["num_layers"] * d ** 2 + 2 * sizes["vocab_size"] * d
    peak = float(10 ** rng.uniform(12, 15.5))
    return b, t, 6 * n * b * t / (peak * float(rng.uniform(0.05, 0.4))), peak


def random_gpt2():
    heads = int(rng.integers(1, 17))
    return {"vocab_size": int(rng.integers(2, 100_000)),
            "context_length": int(rng.integers(1, 8192)),
            "d_model": heads * int(rng.integers(1, 129)), "num_layers": int(rng.integers(1, 60)),
            "num_heads": heads}


# GPT-2 medium, large and XL: (d_model, num_layers, num_heads, the released checkpoint's count)
GPT2_RELEASED = ((1024, 24, 16, 354_823_168), (1280, 36, 20, 774_030_080),
                 (1600, 48, 25, 1_557_611_200))


def gpt2(d_model, num_layers, num_heads):
    """GPT-2's sizes: its vocabulary and context, the given width, depth and heads."""
    return {"vocab_size": 50_257, "context_length": 1024, "d_model": d_model,
            "num_layers": num_layers, "num_heads": num_heads}


def on_config(call, sizes, *args, cls="ModelConfig", dtype=None, hint=None, **kwargs):
    """``call(cls(**sizes), *args, **kwargs)``; ``dtype``: the name of a torch dtype."""
    objects = {"cfg": (cls, (), sizes)}
    if dtype is not None:
        objects["dtype"] = f"torch.{dtype}"
        kwargs["dtype"] = "dtype"
    return with_objects_case(call, objects=objects, args=("cfg", *args), kwargs=kwargs, hint=hint)


def tensor_bytes(shape, dtype, size=False, hint=None):
    """``tensor_bytes(shape, torch.<dtype>)``; ``size``: the shape as a ``torch.Size``."""
    objects = {"dtype": f"torch.{dtype}"}
    if size:
        objects["shape"] = ("torch.Size", (list(shape),), {})
    return with_objects_case("tensor_bytes", objects=objects,
                             args=("shape" if size else shape, "dtype"), hint=hint)


def random_shape():
    return tuple(int(s) for s in rng.integers(1, 40, int(rng.integers(1, 5))))


_CONFIGS = [random_config() for _ in range(4)]
_BATCHES = [(int(rng.integers(1, 17)), int(rng.integers(1, c["context_length"])))  # T < context
            for c in _CONFIGS]


def costs(n):
    """Seconds of simulated work per call: distinct, so any misplaced call shows."""
    return [float(c) for c in rng.uniform(0.001, 0.05, n)]


def bench(costs, queued, hint=None, **kwargs):
    """``benchmark`` on a simulated clock: the k-th call costs ``costs[k]`` seconds, at once
    or ``queued`` like GPU work (then ``sync`` is passed and waits for the queue)."""
    return with_clock_case("benchmark", costs=costs, queued=queued, hint=hint, **kwargs)


MEDIAN = "the median of the timed calls; warm-up calls are not timed"
SYNC = "call sync() before starting the clock and after each call: queued work counts where it ran"


CASES = {
    "test_benchmark": [
        bench([0.05, 0.003, 0.001, 0.004, 0.002, 0.005], False, warmup=1, repeats=5, hint=MEDIAN),
        bench([0.001, 0.002, 0.03, 0.001, 0.0015], False, warmup=0, repeats=5, hint=MEDIAN),
        bench(costs(13), False, hint="the defaults: 3 warm-up calls, then 10 timed"),
        bench([0.02, 0.01, 0.03, 0.015], True, warmup=1, repeats=3, hint=SYNC),
        bench(costs(7), True, warmup=5, repeats=2, hint=SYNC),
        bench(costs(4), True, warmup=0, repeats=4, hint=SYNC),
        bench(costs(3), True, warmup=2, repeats=1, hint=SYNC),
    ],
    "test_tensor_bytes": [
        *(tensor_bytes(random_shape(), dtype) for dtype in DTYPES),
        tensor_bytes([int(s) for s in rng.integers(1, 9, 3)], "float32",
                     hint="the shape may be a list"),
        tensor_bytes(random_shape(), "bfloat16", size=True, hint="the shape may be a torch.Size"),
        tensor_bytes((), "complex128", hint="a scalar: the shape is ()"),
        tensor_bytes((5, 0, 7), "float64", hint="an empty tensor has 0 bytes"),
        tensor_bytes((0,), "int8", size=True),
        tensor_bytes((10**7, 10**7, 10**6), "float64",
                     hint="Python ints: NumPy's int64 products overflow"),
    ],
    "test_float_limits": [
        *(Case("float_limits", e, m)
          for e, m in ((3, 4), (6, 9), (10, 5), (7, 16), (9, 40), (2, 1), (5, 0), (5, 2))),
        Case("float_limits", 4, 3)
        .hint("an IEEE-style E4M3 keeps its top exponent for inf and NaN (unlike e4m3fn)"),
        Case("float_limits", 11, 52).hint("fp64: beware of integer overflow, use floats"),
    ],
    "test_count_parameters": [
        *(on_config("count_parameters", sizes) for sizes in _CONFIGS),
        on_config("count_parameters", GPT3), on_config("count_parameters", TINY),
    ],
    "test_count_parameters_gpt2": [
        *(on_config("count_parameters_gpt2", random_gpt2(), cls="GPT2Config") for _ in range(5)),
        *(on_config("count_parameters_gpt2", gpt2(d, layers, heads), cls="GPT2Config",
                    hint="the released checkpoints' counts (medium, large, XL)").expect(n)
          for d, layers, heads, n in GPT2_RELEASED),
    ],
    "test_forward_flops": [
        *(on_config("forward_flops", sizes, b, t) for sizes, (b, t) in zip(_CONFIGS, _BATCHES)),
        on_config("forward_flops", _CONFIGS[0], 3, 1, hint="a sequence of one token"),
        on_config("forward_flops", ONE_T, 2048, 2048,
                  hint="Python ints: NumPy's int64 products overflow"),
    ],
    "test_training_flops": [
        on_config("training_flops", sizes, b, t, checkpointing=ck)
        for sizes, (b, t) in zip(_CONFIGS + [ONE_T], _BATCHES + [(2048, 2048)])
        for ck in (False, True)
    ] + [on_config("training_flops", TINY, 2, 3, hint="the default: no checkpointing")],
    "test_training_memory": [
        on_config("training_memory", sizes, b, t, dtype=dtype, checkpointing=ck)
        for sizes, (b, t), dtype, ck in zip(
            _CONFIGS + [GPT3, TINY], _BATCHES + [(8, 2048), (1, 1)],
            ("float32", "bfloat16", "float16", "float32", "bfloat16", "float32"),
            (False, True, False, True, True, False))
    ] + [on_config("training_memory", _CONFIGS[1], 2, 64,
                   hint="the defaults: float32, no checkpointing")],
    "test_model_flops_utilization": [
        on_config("model_flops_utilization", sizes, *mfu_inputs(sizes, b, t)).close(rtol=1e-12)
        for sizes, (b, t) in zip(_CONFIGS[:3] + [GPT3], _BATCHES[:3] + [(1536, 2048)])
    ],
    "test_matmul_intensity": [
        *(Case("matmul_intensity", *(int(v) for v in rng.integers(1, 5000, 3)), s).close(rtol=1e-12)
          for s in (1, 2, 4, 8)),
        Case("matmul_intensity", 1, 12_288, 49_152, 2).close(rtol=1e-12)
        .hint("a matrix-vector product"),
        Case("matmul_intensity", 10**7, 3 * 10**7, 10**7, 4).close(rtol=1e-12)
        .hint("Python ints: NumPy's int64 products overflow"),
    ],
    "test_attainable_flops": [
        Case("attainable_flops", 0.37, 7.5e14, 2.0e12).close(rtol=1e-12)
        .hint("memory-bound: intensity * bandwidth"),
        Case("attainable_flops", 612.0, 7.5e14, 2.0e12).close(rtol=1e-12)
        .hint("compute-bound: the peak"),
        Case("attainable_flops", 10 ** rng.uniform(-3, 4, 17), 312e12, 2.04e12).close(rtol=1e-12),
        Case("attainable_flops", 10 ** rng.uniform(-1, 3, (3, 4)), 1.2e14, 9e11).close(rtol=1e-12),
        Case("attainable_flops", np.array([0.0, 125.0, 1e9]), 1e15, 8e12).close(rtol=1e-12)
        .hint("arrays of intensities, 0 and the ridge point included"),
    ],
    "test_update_loss_scale": [
        Case("update_loss_scale", 2.0**15, 0, True),
        Case("update_loss_scale", 2.0**20, 1999, True)
        .hint("an overflow backs off and resets the count, even at the last step"),
        Case("update_loss_scale", 3.0, 41, False, growth_interval=42),
        Case("update_loss_scale", 3.0, 40, False, growth_interval=42),
        Case("update_loss_scale", 1.5, 7, True, backoff_factor=0.125),
        Case("update_loss_scale", 10.0, 5, False, 1.5, 0.5, 6),
        Case("update_loss_scale", 0.75, 0, False, 4.0, 0.5, 1),
        Case("update_loss_scale", 96.0, 0, False),
    ],
}

# The kit's own benchmark (helpers.reference.resource_accounting, the same as the solution's) is the
# template of benchmark's mutants below.
_BENCHMARK = "from __future__ import annotations\n" + textwrap.dedent(inspect.getsource(benchmark))


def _benchmark(old, new):
    """The kit's benchmark with ``old`` replaced by ``new``."""
    assert _BENCHMARK.count(old) == 1, old
    return _BENCHMARK.replace(old, new)


# Plausible wrong answers these cases must catch (grader/tests/test_trusted.py runs each over
# the solution's definitions).
MUTANTS = {
    "test_benchmark": [
        _benchmark('"median": statistics.median(times)', '"median": statistics.mean(times)'),
        # warm-up work lands in a timing
        _benchmark("    sync()\n    times = []\n    for _ in range(repeats):\n        sync()\n",
                   "    times = []\n    for _ in range(repeats):\n"),
        _benchmark("        fn()\n        sync()\n", "        fn()\n"),  # stops the clock early
        _benchmark("for _ in range(warmup)", "for _ in range(0)"),  # no warm-up
    ],
    "test_tensor_bytes": [
        # np.prod: int64 wraps around silently for huge tensors
        "def tensor_bytes(shape, dtype): return int(np.prod(shape)) * dtype.itemsize",
        # floating-point dtypes only
        "def tensor_bytes(shape, dtype): return math.prod(shape) * torch.finfo(dtype).bits // 8",
    ],
    "test_float_limits": [
        """
        def float_limits(exponent_bits, mantissa_bits):
            bias = 2 ** (exponent_bits - 1)  # off by one
            return {"max": (2.0 - 2.0 ** -mantissa_bits) * 2.0 ** bias,
                    "min_normal": 2.0 ** (1 - bias), "eps": 2.0 ** -mantissa_bits}
        """,
        """
        def float_limits(exponent_bits, mantissa_bits):
            bias = 2 ** (exponent_bits - 1) - 1
            return {"max": (2.0 - 2.0 ** -mantissa_bits) * 2.0 ** bias,
                    "min_normal": 2.0 ** -bias, "eps": 2.0 ** -(mantissa_bits + 1)}  # unit roundoff
        """,
    ],
    "test_count_parameters": [
        """
        _right = count_parameters
        def count_parameters(cfg):
            n = _right(cfg)
            n["norms"] -= cfg.d_model  # ln_final forgotten
            return n
        """,
        """
        _right = count_parameters
        def count_parameters(cfg):
            n = _right(cfg)
            n["ffn"] = cfg.num_layers * 2 * cfg.d_model * cfg.d_ff  # a plain MLP: no w3 gate
            return n
        """,
    ],
    "test_count_parameters_gpt2": [
        """
        _right = count_parameters_gpt2
        def count_parameters_gpt2(cfg):
            return _right(cfg) + cfg.vocab_size * cfg.d_model  # lm_head counted again (untied)
        """,
        """
        _right = count_parameters_gpt2
        def count_parameters_gpt2(cfg):
            return _right(cfg) - (2 * cfg.num_layers + 1) * cfg.d_model  # LayerNorms without biases
        """,
    ],
    "test_forward_flops": [
        """
        _right = forward_flops
        def forward_flops(cfg, batch_size, seq_len):
            return _right(cfg, batch_size, cfg.context_length)  # T from the config
        """,
        """
        _right = forward_flops
        def forward_flops(cfg, batch_size, seq_len):
            f = _right(cfg, batch_size, seq_len)
            f["attention_scores"] //= 2  # QK^T only, PV forgotten
            return f
        """,
    ],
    "test_training_flops": [
        """
        def training_flops(cfg, batch_size, seq_len, checkpointing=False):
            fwd = sum(forward_flops(cfg, batch_size, seq_len).values())
            return 4 * fwd if checkpointing else 3 * fwd  # the lm_head recomputed too
        """,
        """
        def training_flops(cfg, batch_size, seq_len, checkpointing=False):
            # checkpointing ignored
            return 3 * sum(forward_flops(cfg, batch_size, seq_len).values())
        """,
    ],
    "test_training_memory": [
        """
        _right = training_memory
        def training_memory(cfg, batch_size, seq_len, dtype=torch.float32, checkpointing=False):
            m = _right(cfg, batch_size, seq_len, dtype, checkpointing)
            # log-softmax in dtype
            m["activations"] -= batch_size * seq_len * (4 - dtype.itemsize) * cfg.vocab_size
            return m
        """,
        """
        _right = training_memory
        def training_memory(cfg, batch_size, seq_len, dtype=torch.float32, checkpointing=False):
            m = _right(cfg, batch_size, seq_len, dtype, checkpointing)
            if checkpointing:  # only the blocks' inputs: the recomputed block forgotten
                per_layer = 11 * cfg.d_model + 4 * cfg.d_ff + cfg.num_heads + 2
                m["activations"] -= batch_size * seq_len * per_layer * dtype.itemsize
            return m
        """,
    ],
    "test_model_flops_utilization": [
        """
        def model_flops_utilization(cfg, batch_size, seq_len, step_seconds, peak_flops):
            p = count_parameters(cfg)
            n = sum(p.values()) - p["token_embeddings"]
            return 6 * n * batch_size * seq_len / step_seconds / peak_flops  # 6ND, not the count
        """,
        """
        def model_flops_utilization(cfg, batch_size, seq_len, step_seconds, peak_flops):
            return training_flops(cfg, batch_size, seq_len, True) / step_seconds / peak_flops  # HFU
        """,
    ],
    "test_matmul_intensity": [
        # C not written
        "def matmul_intensity(m, k, n, s): return 2 * m * k * n / (s * (m * k + k * n))",
        "def matmul_intensity(m, k, n, s): return 2 * m * k * n // (s * (m * k + k * n + m * n))",
    ],
    "test_attainable_flops": [
        "def attainable_flops(intensity, peak_flops, bandwidth):\n"
        "    return min(peak_flops, intensity * bandwidth)",
        "def attainable_flops(intensity, peak_flops, bandwidth):\n"
        "    return np.min([peak_flops, intensity * bandwidth])",
    ],
    "test_update_loss_scale": [
        """
        def update_loss_scale(scale, growth_tracker, found_inf, growth_factor=2.0,
                              backoff_factor=0.5, growth_interval=2000):
            if found_inf:
                return scale * backoff_factor, growth_tracker  # the counter not reset
            growth_tracker += 1
            if growth_tracker == growth_interval:
                return scale * growth_factor, 0
            return scale, growth_tracker
        """,
        """
        def update_loss_scale(scale, growth_tracker, found_inf, growth_factor=2.0,
                              backoff_factor=0.5, growth_interval=2000):
            if found_inf:
                return scale * backoff_factor, 0
            if growth_tracker == growth_interval:  # checked before counting this step
                return scale * growth_factor, 0
            return scale, growth_tracker + 1
        """,
        """
        def update_loss_scale(scale, growth_tracker, found_inf, growth_factor=2.0,
                              backoff_factor=0.5, growth_interval=2000):
            if found_inf:
                return scale / 2, 0  # backoff_factor ignored
            growth_tracker += 1
            if growth_tracker == growth_interval:
                return scale * 2, 0
            return scale, growth_tracker
        """,
    ],
}
