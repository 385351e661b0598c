"""Where a lesson runs: repository paths, package versions, device detection, seeding.

- Paths are derived from this file, so lessons work from any working directory.
- The device is detected (cuda, mps, cpu), never hard-coded; "auto" picks the best one.

Try it: ``python -m helpers.env``.
"""
from __future__ import annotations

import importlib.metadata
import os
import platform
import random
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DATASETS_DIR = REPO_ROOT / "datasets"
# Large generated or downloaded data: ignored by git, created on demand.
DATA_DIR = Path(os.environ.get("LMKIT_DATA_DIR", DATASETS_DIR / "data"))
BUILD_DIR = REPO_ROOT / "build"


def print_versions(*packages: str) -> dict[str, str]:
    """Print (and return) Python's version and the installed version of each package."""
    versions = {"python": platform.python_version()}
    for name in packages:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    print("  ".join(f"{k} {v}" for k, v in versions.items()))
    return versions


def resolve_device(device: str = "auto") -> str:
    """Map "auto" to the best available device ("cuda", "mps" or "cpu"); check the others."""
    import torch

    if device == "auto":
        if torch.cuda.is_available():
            return "cuda"
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return "mps"
        return "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} was asked for, but no CUDA GPU is visible")
    return device


def check_scale(scale: str) -> str:
    """Validate the papermill ``scale`` parameter with a clear message."""
    if scale not in ("smoke", "full"):
        raise ValueError(f"scale must be 'smoke' (CPU, minutes) or 'full' (GPU), got {scale!r}")
    return scale


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and PyTorch (if installed) for reproducible runs."""
    random.seed(seed)
    try:
        import numpy as np

        np.random.seed(seed)
    except ImportError:
        pass
    try:
        import torch

        torch.manual_seed(seed)
    except ImportError:
        pass


if __name__ == "__main__":
    print_versions("torch", "numpy", "triton", "nbgrader", "papermill")
    print("device:", resolve_device())
    print("repo:", REPO_ROOT)
