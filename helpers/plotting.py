"""Plots of training runs: loss curves and learning-rate schedules from
``helpers.training.History``.

- One colour per run: the training loss as a thin line (it is noisy), the validation loss as
  markers joined by a line in the same colour (few points, each an average).
- Steps on the x axis (log scale optional, to see early training and the end at once).
- Each function draws on ``ax`` when given (for grids of plots) and returns the axes.
- Histories are duck-typed (anything with ``step``, ``train_loss``, ``valid_loss``, ``lr``
  lists), so this module imports nothing from ``helpers.training`` and ships on its own.

Try it: ``python -m pytest grader/tests/test_training.py -q -k plot``.
"""
from __future__ import annotations

import math


def _axes(ax):
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(7, 4))
    return ax


def plot_losses(histories, ax=None, title: str | None = None,
                logx: bool = False, logy: bool = False):
    """Training (thin lines) and validation (markers) loss against step, one colour per run.

    Args:
        histories: ``{label: History}`` (or one ``helpers.training.History``).
        ax: matplotlib axes to draw on; a new figure when None.
        title: the axes' title.
        logx, logy: logarithmic axes.
    Returns:
        The matplotlib axes.
    """
    if not isinstance(histories, dict):
        histories = {"run": histories}
    ax = _axes(ax)
    for i, (label, h) in enumerate(histories.items()):
        color = f"C{i % 10}"
        ax.plot(h.step, h.train_loss, color=color, lw=0.8, alpha=0.6, label=f"{label} (train)")
        points = [(s, v) for s, v in zip(h.step, h.valid_loss) if not math.isnan(v)]
        if points:
            steps, values = zip(*points)
            ax.plot(steps, values, color=color, marker="o", ms=4, lw=1.2,
                    label=f"{label} (valid {values[-1]:.3f})")
    ax.set_xlabel("step")
    ax.set_ylabel("loss (nats per token)")
    if logx:
        ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    return ax


def plot_lr(history, ax=None, title: str | None = "learning rate"):
    """The learning rate of each logged step (warm-up, then cosine decay)."""
    ax = _axes(ax)
    ax.plot(history.step, history.lr, color="C0")
    ax.set_xlabel("step")
    ax.set_ylabel("learning rate")
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    return ax
