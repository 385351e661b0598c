"""Lesson settings: one dataclass per lesson, built from its papermill parameters.

- Every lesson has a ``parameters`` cell (tag ``parameters``) of plain values: ``scale``
  (``"smoke"``: a CPU in minutes; ``"full"``: the real experiment), ``device`` (``"auto"``
  picks cuda, then mps, then cpu), ``seed``, and knobs that default to ``None``.
- ``SomeConfig.build(scale, device, seed, knob=value, ...)`` starts from the class's preset for
  that scale (``PRESETS``), replaces what a knob gives (``None`` keeps the preset), resolves
  the device and fills the fields that follow from others (``finish``). So a lesson's config
  cell is one call, ``-p scale full`` (papermill) picks the other preset, and ``-p d_model 256``
  overrides one value.
- Who uses it: lessons 01-04 and 06 build their settings from the classes here
  (``TokenizerConfig``, ``TransformerLMConfig``, ``ResourceAccountingConfig``,
  ``FlashAttentionConfig``, ``ScalingLawsConfig``); lessons 05, 07 and 08 keep theirs beside
  their machinery as subclasses of ``LessonConfig`` with their own ``PRESETS``
  (``helpers.ddp.DDPConfig``, ``helpers.cc_pipeline.FilteringConfig``,
  ``helpers.grpo.GRPOConfig``).
- Graded kernels run in a sandbox whose ``build/`` is empty and read-only: a folder that a
  config creates comes from ``writable_dir`` (``build/<name>``, else a temporary folder); a
  bare ``mkdir`` would raise there, leaving ``cfg`` undefined for every later cell.
- No import of ``helpers.reference`` at module level: lesson 01 and 02 kernels may not see it.

Test: ``python -m pytest grader/tests/test_config.py -q``.
"""
from __future__ import annotations

import dataclasses
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from helpers.env import BUILD_DIR, DATA_DIR, DATASETS_DIR, check_scale, resolve_device


@dataclass
class LessonConfig:
    """What every lesson's settings hold; subclasses add their fields and ``PRESETS``."""

    scale: str
    device: str   # resolved: "cuda", "mps" or "cpu"
    seed: int
    PRESETS: ClassVar[dict[str, dict[str, Any]]] = {"smoke": {}, "full": {}}

    @classmethod
    def build(cls, scale: str = "smoke", device: str = "auto", seed: int = 0, **knobs: Any):
        """The settings for ``scale``: its preset, with every knob that is not None on top."""
        check_scale(scale)
        names = {f.name for f in dataclasses.fields(cls)} - {"scale", "device", "seed"}
        unknown = sorted(set(knobs) - names)
        if unknown:
            raise TypeError(f"{cls.__name__} has no setting {unknown}; it has {sorted(names)}")
        values = {**cls.PRESETS[scale], **{k: v for k, v in knobs.items() if v is not None}}
        cfg = cls(scale=scale, device=cls.pick_device(device), seed=seed, **values)
        cfg.finish()
        return cfg

    @staticmethod
    def pick_device(device: str) -> str:
        return resolve_device(device)

    def finish(self) -> None:
        """Fill the fields that follow from others and check the combination (subclasses)."""

    @property
    def smoke(self) -> bool:
        return self.scale == "smoke"


def writable_dir(name: str) -> Path:
    """``build/<name>``, created; or ``<tmp>/lmkit-<name>`` where ``build/`` cannot be written
    (the grader's sandboxed kernels see an empty, read-only ``build/``)."""
    out = BUILD_DIR / name
    try:
        out.mkdir(parents=True, exist_ok=True)
        if os.access(out, os.W_OK):
            return out
    except OSError:
        pass
    out = Path(tempfile.gettempdir()) / f"lmkit-{name}"
    out.mkdir(parents=True, exist_ok=True)
    return out


# ---------------------------------------------------------------------------------------------
# 01 BPE tokenizer
# ---------------------------------------------------------------------------------------------
TINYSTORIES_TRAIN = DATA_DIR / "tinystories" / "TinyStoriesV2-GPT4-train.txt"


@dataclass
class TokenizerConfig(LessonConfig):
    corpus: Path | None = None                  # the training text (None: chosen by scale)
    vocab_size: int = 0                         # 256 bytes + special tokens + merges
    sweep: tuple = ()                           # vocab sizes for the compression plot
    special_tokens: tuple = ("<|endoftext|>",)
    num_processes: int | None = None            # pre-tokenization workers (None: all cores)
    PRESETS: ClassVar[dict[str, dict[str, Any]]] = {
        "smoke": dict(corpus=DATASETS_DIR / "sample" / "stories_sample.txt", vocab_size=1_000,
                      sweep=(300, 500, 1_000, 2_000)),
        "full": dict(vocab_size=10_000, sweep=(500, 1_000, 2_000, 5_000, 10_000)),
    }

    @staticmethod
    def pick_device(device: str) -> str:
        return "cpu"  # tokenization runs on the CPU (no torch import)

    def finish(self) -> None:
        if self.corpus is None:  # full: TinyStories when downloaded, else 50 MB of stories
            if TINYSTORIES_TRAIN.exists():
                self.corpus = TINYSTORIES_TRAIN
            else:
                from helpers.stories import stories_path

                self.corpus = stories_path(50, seed=self.seed)  # generated once, about 40 s
        self.corpus = Path(self.corpus)
        self.num_processes = self.num_processes or os.cpu_count() or 1


# ---------------------------------------------------------------------------------------------
# 02 Transformer LM
# ---------------------------------------------------------------------------------------------
@dataclass
class TransformerLMConfig(LessonConfig):
    corpus_mb: int | None = None  # generated stories (None: 2 or 50 MB; TinyStories if there)
    tinystories: bool = False     # train on TinyStories (full scale, when downloaded)
    vocab_size: int = 0
    context_length: int = 0
    d_model: int = 0
    num_layers: int = 0
    num_heads: int = 0
    d_ff: int | None = None       # None: ~8/3 d_model, a multiple of 64
    batch_size: int = 0
    num_steps: int | None = None  # main run
    lr: float = 0.0               # peak learning rate of the main run
    dtype: str = "float32"        # "float32", or "bfloat16" autocast on a GPU
    model_impl: str = "student"   # "student" or "reference" (main run only)
    sweep_steps: int = 0          # length of each sweep and ablation run
    lr_sweep: tuple = ()          # peak learning rates compared
    batch_sweep: tuple = ()       # batch sizes compared at an equal number of tokens
    eval_every: int = 0
    eval_batches: int = 0
    out_dir: Path | None = None   # checkpoints and history of the main run (resumable, full)
    num_threads: int | None = None  # CPU threads for PyTorch (None: PyTorch's default)
    PRESETS: ClassVar[dict[str, dict[str, Any]]] = {
        "smoke": dict(corpus_mb=2, vocab_size=2_000, context_length=64, d_model=64,
                      num_layers=2, num_heads=4, batch_size=16, num_steps=500, lr=1e-2,
                      sweep_steps=120, lr_sweep=(1e-3, 1e-2, 1e-1), batch_sweep=(8, 16, 32),
                      eval_every=100, eval_batches=10),
        "full": dict(vocab_size=10_000, context_length=256, d_model=512, num_layers=4,
                     num_heads=16, batch_size=128, lr=3e-3, dtype="bfloat16",
                     sweep_steps=500, lr_sweep=(1e-3, 3e-3, 1e-2), batch_sweep=(32, 128, 256),
                     eval_every=500, eval_batches=20),
    }

    def finish(self) -> None:
        from helpers.data import TINYSTORIES_PATHS

        if self.model_impl not in ("student", "reference"):
            raise ValueError(f"model_impl must be 'student' or 'reference', "
                             f"got {self.model_impl!r}")
        self.tinystories = not self.smoke and self.corpus_mb is None and \
            TINYSTORIES_PATHS[0].exists()
        self.corpus_mb = self.corpus_mb or 50
        self.d_ff = self.d_ff or 64 * round(8 / 3 * self.d_model / 64)
        # The 50 MB corpus holds 12M tokens: 2,000 steps are 5 epochs, and more overfit.
        self.num_steps = self.num_steps or (10_000 if self.tinystories else 2_000)
        # Tiny matrices: one thread beats several, whose synchronization costs more than the
        # arithmetic (measured 3-6x faster on 2 cores).
        self.num_threads = 1 if self.smoke and self.device == "cpu" else None
        if not self.smoke:  # full runs take a while: keep checkpoints so that a rerun resumes
            data = "tinystories" if self.tinystories else f"stories{self.corpus_mb}mb"
            run = f"{data}_{self.model_impl}_d{self.d_model}_L{self.num_layers}"
            self.out_dir = BUILD_DIR / "02_transformer_lm" / f"{run}_{self.num_steps}steps"


# ---------------------------------------------------------------------------------------------
# 03 Resource accounting
# ---------------------------------------------------------------------------------------------
LM_SMOKE = dict(vocab_size=1024, context_length=128, d_model=128, num_layers=2, num_heads=4,
                d_ff=320)
LM_134M = dict(vocab_size=32_000, context_length=1024, d_model=768, num_layers=12,
               num_heads=12, d_ff=2048)  # the 134M reference of the MFU measurements


@dataclass
class ResourceAccountingConfig(LessonConfig):
    model: Any = None          # ModelConfig whose memory and time are measured (full: lesson
    batch_size: int = 0        #   02's TinyStories model, 22.7M)
    mfu_model: Any = None      # ModelConfig whose MFU is measured (a larger one on a GPU)
    mfu_batch_size: int = 0
    amp_dtype: Any = None      # autocast dtype of the mixed-precision runs (torch.bfloat16)
    warmup: int = 0            # untimed calls before each measurement
    repeats: int = 0           # timed calls per measurement
    compile: bool = False      # also time torch.compile (GPU only: minutes on a CPU)
    out_dir: Path | None = None  # profiler traces, memory snapshots (a temp folder at smoke)
    PRESETS: ClassVar[dict[str, dict[str, Any]]] = {
        "smoke": dict(batch_size=8, mfu_batch_size=8, warmup=2, repeats=5),
        "full": dict(batch_size=64, mfu_batch_size=16, warmup=5, repeats=20),
    }

    def finish(self) -> None:
        import torch

        from helpers.reference.model import ModelConfig

        self.model = ModelConfig(**LM_SMOKE) if self.smoke else ModelConfig()
        self.mfu_model = ModelConfig(**(LM_SMOKE if self.smoke else LM_134M))
        self.amp_dtype = torch.bfloat16
        self.compile = self.device == "cuda" and not self.smoke
        self.out_dir = Path(tempfile.mkdtemp(prefix="lesson03-")) if self.smoke else \
            writable_dir("03_resource_accounting")
        if self.smoke and self.device == "cpu":
            # Small matrices: one thread beats several, whose synchronization costs more.
            torch.set_num_threads(1)


# ---------------------------------------------------------------------------------------------
# 04 FlashAttention-2
# ---------------------------------------------------------------------------------------------
@dataclass
class FlashAttentionConfig(LessonConfig):
    bench_seq_lens: tuple = ()   # sequence lengths of the kernel benchmark (GPU only)
    train_seq_lens: tuple = ()   # contexts of the end-to-end training steps
    tokens_per_step: int = 0     # batch * seq of each training step
    PRESETS: ClassVar[dict[str, dict[str, Any]]] = {
        "smoke": dict(bench_seq_lens=(256, 1024), train_seq_lens=(128,), tokens_per_step=256),
        "full": dict(bench_seq_lens=(1024, 2048, 4096, 8192, 16384),
                     train_seq_lens=(2048, 4096, 8192, 16384), tokens_per_step=16384),
    }

    @staticmethod
    def pick_device(device: str) -> str:
        device = resolve_device(device)
        return "cpu" if device == "mps" else device  # no Triton backend for Apple: interpreter

    def finish(self) -> None:
        interpret = os.environ.get("TRITON_INTERPRET", "0") == "1"
        if self.device == "cuda" and interpret:
            raise ValueError("TRITON_INTERPRET=1 is set but device is cuda: unset it to "
                             "compile the kernels")
        if self.device == "cpu" and not interpret:
            raise ValueError("device='cpu' on a machine with a GPU: Triton compiles for the "
                             "GPU here; use device='cuda' (or set TRITON_INTERPRET=1 before "
                             "starting the kernel)")
        if not self.smoke and self.device != "cuda":
            raise ValueError("scale='full' times kernels on a GPU; on a CPU use scale='smoke'")
        self.bench_seq_lens = tuple(self.bench_seq_lens)
        self.train_seq_lens = tuple(self.train_seq_lens)


# ---------------------------------------------------------------------------------------------
# 06 Scaling laws
# ---------------------------------------------------------------------------------------------
@dataclass
class ScalingLawsConfig(LessonConfig):
    sweep: Path = DATASETS_DIR / "scaling" / "h100_full" / "runs.csv"  # N, D, C, loss per run
    max_inits: int | None = None  # starting points of the Chinchilla fit (None: all 4,500)
    num_bootstrap: int = 0
    service_seed: int = 0         # the training service's hidden law (0: the kit's base law)
    rerun_sweep: bool = False     # retrain the sweep with helpers.scaling (a GPU at full)
    live_run: bool = False        # train one shipped CPU run again, to check it reproduces
    out_dir: Path | None = None   # the service's log (None: build/06_scaling_laws, writable)
    PRESETS: ClassVar[dict[str, dict[str, Any]]] = {
        "smoke": dict(max_inits=64, num_bootstrap=100, live_run=True),
        "full": dict(num_bootstrap=400),
    }

    def finish(self) -> None:
        if self.rerun_sweep:
            from helpers.scaling import run_sweep

            out = BUILD_DIR / "scaling" / self.scale
            run_sweep(self.scale, out, device=self.device, workers=1 if self.smoke else 6,
                      deadline_s=None)
            self.sweep = out / "runs.csv"
        self.out_dir = writable_dir("06_scaling_laws") if self.out_dir is None else \
            Path(self.out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
