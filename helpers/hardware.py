"""Accelerator specifications, each number with its source: the one place the kit keeps them.

- Peak rates are **dense** (no 2:4 sparsity) tensor-core rates in FLOP/s, as NVIDIA's
  datasheets print them; where a datasheet prints only the sparse figure (marked with an
  asterisk there), the dense one is half of it. ``float32`` is the plain (non-tensor-core)
  FP32 rate; ``tfloat32`` is TF32 on tensor cores, what PyTorch uses for float32 matmuls with
  ``torch.backends.cuda.matmul.allow_tf32 = True``.
- Bandwidth is the datasheet's memory (HBM or GDDR) bandwidth in bytes/s; memory in bytes
  (decimal GB, as the datasheets count).
- Datasheet peaks are upper bounds, not what you get: measure the two ceilings of the machine
  you use (``helpers.profiling.measure_ceilings``); an H100 SXM reaches about 800 of its 989
  bf16 TFLOP/s on a large matmul (``benchmarks/results/transformer_lm.md``).
- CPUs have no entry: their peak depends on the model, clock and vector units, so lessons
  measure it instead.

Lookup is by substring of ``torch.cuda.get_device_name()`` ("NVIDIA H100 80GB HBM3"), most
specific first. Try it: ``python -m helpers.hardware``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

TB = 1e12
GB = 1e9


@dataclass(frozen=True)
class Accelerator:
    name: str
    match: str  # substring of torch's device name that identifies it
    peak_flops: dict[str, float] = field(default_factory=dict)  # dtype name -> dense FLOP/s
    bandwidth: float = 0.0  # memory bandwidth, bytes/s
    memory: float = 0.0  # bytes
    source: str = ""


def _peaks(fp32: float, tf32: float, bf16: float, fp8: float | None = None) -> dict[str, float]:
    """TFLOP/s (dense) -> {dtype: FLOP/s}; fp16 tensor-core rates equal bf16's on these GPUs."""
    peaks = {"float32": fp32 * TB, "tfloat32": tf32 * TB, "bfloat16": bf16 * TB,
             "float16": bf16 * TB}
    if fp8 is not None:
        peaks["float8"] = fp8 * TB
    return peaks


# Most specific first: "H100 PCIe" and "H100 NVL" before "H100", "GH200" before "H200".
ACCELERATORS: tuple[Accelerator, ...] = (
    Accelerator("H100 PCIe", "H100 PCIe", _peaks(51, 378, 756, 1513), 2.0 * TB, 80 * GB,
                "NVIDIA H100 Tensor Core GPU datasheet "
                "(H100 PCIe column; TF32/BF16/FP8 halved from the sparse figures)"),
    Accelerator("H100 NVL", "H100 NVL", _peaks(60, 417.5, 835, 1670), 3.9 * TB, 94 * GB,
                "NVIDIA H100 Tensor Core GPU datasheet (H100 NVL column; sparse figures halved)"),
    Accelerator("GH200", "GH200", _peaks(67, 494.5, 989, 1979), 4.0 * TB, 96 * GB,
                "NVIDIA GH200 Grace Hopper Superchip datasheet "
                "(96 GB HBM3 version; GPU compute as H100 SXM)"),
    Accelerator("H100 SXM", "H100", _peaks(67, 494.5, 989, 1979), 3.35 * TB, 80 * GB,
                "NVIDIA H100 Tensor Core GPU datasheet "
                "(H100 SXM column: BF16 1,979 TFLOPS with sparsity)"),
    Accelerator("H200 SXM", "H200", _peaks(67, 494.5, 989, 1979), 4.8 * TB, 141 * GB,
                "NVIDIA H200 Tensor Core GPU datasheet (H200 SXM column; sparse figures halved)"),
    Accelerator("A100 SXM 80GB", "A100", _peaks(19.5, 156, 312), 2.039 * TB, 80 * GB,
                "NVIDIA A100 Tensor Core GPU datasheet (A100 80GB SXM column; no FP8)"),
    Accelerator("L40S", "L40S", _peaks(91.6, 183, 362, 733), 0.864 * TB, 48 * GB,
                "NVIDIA L40S GPU datasheet (sparse figures halved)"),
    Accelerator("L4", "L4", _peaks(30.3, 60, 121, 242.5), 0.300 * TB, 24 * GB,
                "NVIDIA L4 Tensor Core GPU datasheet (sparse figures halved)"),
)

# (substring of the device name, dense bf16 FLOP/s), first match wins: what MFU tables divide by.
PEAK_BF16 = [(a.match, a.peak_flops["bfloat16"]) for a in ACCELERATORS]


def lookup(device_name: str) -> Accelerator | None:
    """The accelerator whose ``match`` is a substring of ``device_name`` (None if unknown)."""
    return next((a for a in ACCELERATORS if a.match in device_name), None)


def by_name(name: str) -> Accelerator:
    """The accelerator called ``name`` ("H100 SXM", "A100 SXM 80GB", ...)."""
    for a in ACCELERATORS:
        if a.name == name:
            return a
    raise KeyError(f"no accelerator {name!r}; known: {[a.name for a in ACCELERATORS]}")


def current(device: str = "cuda") -> Accelerator | None:
    """The datasheet entry of the GPU behind ``device`` (None on a CPU or an unknown GPU)."""
    import torch

    if not str(device).startswith("cuda") or not torch.cuda.is_available():
        return None
    return lookup(torch.cuda.get_device_name(torch.device(device)))


if __name__ == "__main__":
    for a in ACCELERATORS:
        peaks = ", ".join(f"{k} {v / TB:g}" for k, v in a.peak_flops.items())
        print(f"{a.name:14} {peaks} TFLOP/s; {a.bandwidth / TB:g} TB/s; {a.memory / GB:g} GB  "
              f"[{a.source}]")
