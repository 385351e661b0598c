"""A local training "service" for lesson 06: submit a configuration, get back the final loss
of that training run, and pay for it in FLOPs from a fixed budget (as CS336's scaling-laws
assignment does with its API, Stanford 2025).

- Answers come from a law, not from training: ``L(N, D) = E + A / N^alpha + B / D^beta``
  (Hoffmann et al., 2022). The base parameters were fitted to the kit's own sweep of real
  runs (``datasets/scaling/law.json``, provenance in ``datasets/scaling/README.md``).
- ``N = 12 num_layers d_model^2``: the non-embedding parameters of lesson 02's model with
  ``d_ff = 8/3 d_model`` (attention 4 d^2 + SwiGLU 8 d^2 per layer; the RMSNorm gains, 2 d per
  layer, are left out). ``D = train_flops / (6 N)`` tokens.
- Learning rate matters: the loss is multiplied by ``1 + kappa ln^2(lr / lr_opt(N))`` with
  ``lr_opt(N) = lr_ref (N / 1e7)^-gamma`` (larger models want smaller steps), and a run with
  ``lr > DIVERGE x lr_opt(N)`` diverges: its loss is NaN (and it is still charged).
  ``batch_size`` is validated and logged but, below the critical batch size, does not change
  the loss in this model.
- Noise: the loss is multiplied by ``exp(sigma z)``, sigma = 1%, with ``z`` drawn from a
  generator seeded by (law, configuration): the same query always gives the same answer, like
  a rerun with the same seeds, and is charged again.
- Each student gets a different law: ``hidden_law(seed)`` multiplies the base parameters by
  factors drawn from the documented ``PERTURBATION`` ranges.
- Every query (accepted, refused or invalid) is one JSON line in ``log_path``, with the
  FLOPs spent and left. A query that would overrun the budget is refused with a message that
  says how much is left; nothing is charged. ``resume=True`` replays the log, so a restarted
  kernel does not refund the budget.
- Honesty: this runs in the student's own Python process, so a determined student can read
  the law (``service._law``). A course that wants it secret hosts ``TrainingService`` behind
  an HTTP endpoint; the interface stays the same.

Try it: ``python -m helpers.training_service``; refit the base law from the sweep:
``python -m helpers.training_service fit-law --E 0.5`` (needs ``solutions/``, a few minutes).
Test: ``python -m pytest grader/tests/test_training_service.py -q``.
"""
from __future__ import annotations

import datetime
import hashlib
import json
import math
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from helpers.env import DATASETS_DIR

LAW_PATH = DATASETS_DIR / "scaling" / "law.json"
TOTAL_BUDGET = 2e18  # FLOPs a student may spend, as in CS336's assignment
# The training budgets one may ask for (CS336's list), FLOPs per run.
TRAIN_FLOPS = (1e13, 3e13, 6e13, 1e14, 3e14, 6e14, 1e15, 3e15, 6e15, 1e16, 3e16, 6e16,
               1e17, 3e17, 6e17, 1e18)
LIMITS = {"d_model": (64, 1024), "num_layers": (2, 24), "num_heads": (1, 16), "lr": (1e-5, 1e-1)}
BATCH_SIZES = (128, 256)
NOISE_SIGMA = 0.01  # 1% multiplicative run-to-run noise
KAPPA = 0.01  # learning-rate penalty: 2x off costs 0.5%, 10x off 5%
DIVERGE = 10.0  # lr above DIVERGE * lr_opt(N) diverges
# Per-student laws: each parameter is multiplied by a factor drawn uniformly from this range
# (log-uniformly for the amplitudes and lr_ref).
PERTURBATION = {"E": (0.9, 1.1), "A": (0.7, 1.4), "B": (0.7, 1.4), "alpha": (0.85, 1.15),
                "beta": (0.85, 1.15), "lr_ref": (0.5, 2.0), "gamma": (0.8, 1.25)}


class BudgetExceeded(RuntimeError):
    """A query that would spend more FLOPs than are left (nothing was charged)."""


@dataclass(frozen=True)
class ServiceLaw:
    """The ground truth behind a service: expected final loss of a run."""

    E: float
    A: float
    B: float
    alpha: float
    beta: float
    lr_ref: float = 1e-3  # optimal lr of a model with N = 1e7
    gamma: float = 0.3  # lr_opt(N) = lr_ref (N / 1e7)^-gamma

    def lr_opt(self, n_params):
        return self.lr_ref * (np.asarray(n_params, dtype=float) / 1e7) ** -self.gamma

    def loss(self, n_params, tokens, lr=None):
        """Expected loss of N parameters trained on D tokens (at lr, or at lr_opt(N))."""
        n, d = np.asarray(n_params, dtype=float), np.asarray(tokens, dtype=float)
        loss = self.E + self.A / n ** self.alpha + self.B / d ** self.beta
        if lr is not None:
            u = np.log(np.asarray(lr, dtype=float) / self.lr_opt(n))
            loss = np.where(u > math.log(DIVERGE), np.nan, loss * (1 + KAPPA * u ** 2))
        return loss


def base_law(path: str | Path = LAW_PATH) -> ServiceLaw:
    """The law fitted to the kit's sweep (``datasets/scaling/law.json``)."""
    fields = json.loads(Path(path).read_text())["law"]
    return ServiceLaw(**{k: float(v) for k, v in fields.items()
                         if k in ServiceLaw.__dataclass_fields__})


def hidden_law(seed: int, base: ServiceLaw | None = None) -> ServiceLaw:
    """A student's law: the base law with each parameter scaled within ``PERTURBATION``.

    Seed 0 is the base law itself, unperturbed (the lesson's default).
    """
    base = base or base_law()
    if seed == 0:
        return base
    rng = np.random.default_rng([seed, 20_250_6])
    factors = {}
    for name, (lo, hi) in PERTURBATION.items():
        log_scale = name in ("A", "B", "lr_ref", "gamma")
        u = rng.uniform(math.log(lo), math.log(hi)) if log_scale else rng.uniform(lo, hi)
        factors[name] = math.exp(u) if log_scale else u
    return replace(base, **{k: getattr(base, k) * f for k, f in factors.items()})


def student_seed(student: str, instructor_seed: int) -> int:
    """A stable per-student seed from a name and the instructor's secret seed (never 0)."""
    digest = hashlib.sha256(f"{instructor_seed}:{student}".encode()).digest()
    return int.from_bytes(digest[:4], "little") or 1


def num_params(d_model: int, num_layers: int) -> int:
    """N = 12 num_layers d_model^2 (non-embedding; see the module docstring)."""
    return 12 * num_layers * d_model ** 2


def config_for_params(n_params: float, lr: float = 1e-3, batch_size: int = 128,
                      train_flops: float = 1e15) -> dict:
    """A valid configuration whose N is closest to ``n_params`` (in log), preferring
    d_model / num_layers near 64; d_model a multiple of 32, heads of 64 dimensions or more."""
    best, best_cost = None, math.inf
    for num_layers in range(LIMITS["num_layers"][0], LIMITS["num_layers"][1] + 1):
        for d_model in range(64, LIMITS["d_model"][1] + 1, 32):
            cost = abs(math.log(num_params(d_model, num_layers) / n_params)) \
                + 0.05 * abs(math.log(d_model / (64 * num_layers)))
            if cost < best_cost:
                best, best_cost = (d_model, num_layers), cost
    d_model, num_layers = best
    num_heads = max(h for h in range(1, 17) if d_model % h == 0 and d_model // h >= 64)
    return {"d_model": d_model, "num_layers": num_layers, "num_heads": num_heads,
            "batch_size": batch_size, "lr": lr, "train_flops": train_flops}


class TrainingService:
    """Train (pretend to) a configuration for ``train_flops`` FLOPs; answer its final loss.

    Args:
        seed: which hidden law (``hidden_law(seed)``); 0 is the unperturbed base law.
        budget: FLOPs this service will spend in all (default 2e18).
        log_path: a JSONL file that receives one line per query (None: no file).
        resume: replay ``log_path`` first, so FLOPs already spent stay spent.
        law: use this law instead of ``hidden_law(seed)`` (tests).
    """

    def __init__(self, seed: int = 0, budget: float = TOTAL_BUDGET, log_path=None,
                 resume: bool = False, law: ServiceLaw | None = None):
        self._law = law or hidden_law(seed)
        self._seed = seed
        law_json = json.dumps(asdict(self._law), sort_keys=True)
        self.law_id = hashlib.sha256(law_json.encode()).hexdigest()[:12]
        self.budget = float(budget)
        self.spent = 0.0
        self.queries: list[dict] = []
        self.log_path = Path(log_path) if log_path is not None else None
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            if resume and self.log_path.exists():
                for line in self.log_path.read_text().splitlines():
                    entry = json.loads(line)
                    if entry.get("law_id") == self.law_id:
                        self.queries.append(entry)
                        self.spent += entry.get("flops_charged", 0.0)
            elif not resume:
                self.log_path.write_text("")

    @property
    def remaining(self) -> float:
        """FLOPs left to spend."""
        return self.budget - self.spent

    def __repr__(self) -> str:
        return (f"TrainingService(law {self.law_id}, spent {self.spent:.3g} of {self.budget:.3g} "
                f"FLOPs on {sum(q['status'] == 'ok' for q in self.queries)} runs)")

    def _log(self, entry: dict) -> None:
        entry = {"time": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                 "law_id": self.law_id, **entry, "spent": self.spent, "remaining": self.remaining}
        self.queries.append(entry)
        if self.log_path is not None:
            with open(self.log_path, "a") as f:
                f.write(json.dumps(entry) + "\n")

    @staticmethod
    def validate(config: dict) -> None:
        """Raise ValueError, saying what is allowed, if ``config`` is not a valid query."""
        keys = ("d_model", "num_layers", "num_heads", "batch_size", "lr", "train_flops")
        missing = [k for k in keys if k not in config]
        extra = [k for k in config if k not in keys]
        if missing or extra:
            raise ValueError(f"a configuration has exactly the keys {keys}; missing {missing}, "
                             f"unknown {extra}")
        for key in ("d_model", "num_layers", "num_heads"):
            if int(config[key]) != config[key]:
                raise ValueError(f"{key} must be an integer, got {config[key]!r}")
        for key, (lo, hi) in LIMITS.items():
            if not lo <= config[key] <= hi:
                raise ValueError(f"{key}={config[key]!r} is outside [{lo}, {hi}]")
        if config["d_model"] % config["num_heads"]:
            raise ValueError(f"num_heads={config['num_heads']} must divide "
                             f"d_model={config['d_model']}")
        if config["batch_size"] not in BATCH_SIZES:
            raise ValueError(f"batch_size must be one of {BATCH_SIZES}, got "
                             f"{config['batch_size']!r}")
        if not any(math.isclose(config["train_flops"], f, rel_tol=1e-9) for f in TRAIN_FLOPS):
            raise ValueError(f"train_flops must be one of "
                             f"{', '.join(f'{f:.0e}' for f in TRAIN_FLOPS)}; got "
                             f"{config['train_flops']!r}")

    def _noise(self, config: dict) -> float:
        key = json.dumps([self._seed, self.law_id, sorted(config.items())], default=float)
        seed = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "little")
        z = np.random.default_rng(seed).standard_normal()
        return math.exp(NOISE_SIGMA * z)

    def train(self, d_model: int, num_layers: int, num_heads: int, batch_size: int, lr: float,
              train_flops: float) -> float:
        """Final validation loss (nats/token) of this run; NaN if it diverged.

        Raises:
            ValueError: an invalid configuration (not charged; the message says what is allowed).
            BudgetExceeded: ``train_flops`` is more than ``remaining`` (not charged).
        """
        config = {"d_model": d_model, "num_layers": num_layers, "num_heads": num_heads,
                  "batch_size": batch_size, "lr": lr, "train_flops": train_flops}
        try:
            self.validate(config)
        except ValueError as err:
            self._log({"status": "invalid", "config": config, "error": str(err),
                       "flops_charged": 0.0})
            raise
        if train_flops > self.remaining * (1 + 1e-12):
            message = (f"refused: this run needs {train_flops:.3g} FLOPs but only "
                       f"{self.remaining:.3g} of the {self.budget:.3g} budget are left "
                       f"({self.spent:.3g} spent on "
                       f"{sum(q['status'] == 'ok' for q in self.queries)}"
                       " runs); nothing was charged. Choose a smaller train_flops.")
            self._log({"status": "refused", "config": config, "error": message,
                       "flops_charged": 0.0})
            raise BudgetExceeded(message)
        n = num_params(d_model, num_layers)
        tokens = train_flops / (6 * n)
        loss = float(self._law.loss(n, tokens, lr)) * self._noise(config)
        self.spent += train_flops
        self._log({"status": "ok", "config": config, "N": n, "D": tokens,
                   "loss": None if math.isnan(loss) else round(loss, 6),
                   "diverged": math.isnan(loss), "flops_charged": float(train_flops)})
        return loss

    def runs(self):
        """The accepted queries as a DataFrame: the configuration, N, D, C and loss."""
        import pandas as pd

        rows = [{**q["config"], "N": q["N"], "D": q["D"], "C": q["config"]["train_flops"],
                 "loss": np.nan if q["loss"] is None else q["loss"]}
                for q in self.queries if q["status"] == "ok"]
        columns = ["d_model", "num_layers", "num_heads", "batch_size", "lr", "train_flops",
                   "N", "D", "C", "loss"]
        return pd.DataFrame(rows, columns=columns)


# ---------------------------------------------------------------------------------------------
# How the base law was made (instructor tooling: uses lesson 06's reference solution)
# ---------------------------------------------------------------------------------------------
def fit_base_law(runs_csv: str | Path, E: float | None = 0.5, seed: int = 0) -> dict:
    """Fit L = E + A / N^alpha + B / D^beta to a sweep as lesson 06 does (Huber, delta = 1e-3,
    L-BFGS from the paper's grid), holding E fixed unless it is None; the free fit too, for
    the record. Loads the lesson's functions from ``solutions/06_scaling_laws.ipynb``.

    Returns the content of ``law.json``: ``{"law", "free_fit", "residual_rms", ...}``.
    """
    import pandas as pd
    from scipy.optimize import minimize

    from helpers.env import REPO_ROOT
    from helpers.nbmodule import load_notebook

    lesson = load_notebook(REPO_ROOT / "solutions" / "06_scaling_laws.ipynb")
    runs = pd.read_csv(runs_csv)
    logs = [np.log(runs[c].to_numpy(dtype=float)) for c in ("N", "D", "loss")]
    names = ("E", "A", "B", "alpha", "beta")
    free = dict(zip(names, lesson.fit_chinchilla(runs.N, runs.D, runs.loss, seed=seed)))
    law = dict(free)
    if E is not None:  # the same objective with e = log E held: drop its gradient component
        def objective(q):
            params = np.array([q[0], q[1], math.log(E), q[2], q[3]])
            value, grad = lesson.chinchilla_objective(params, *logs)
            return value, grad[[0, 1, 3, 4]]

        starts = np.unique(lesson.INIT_GRID[:, [0, 1, 3, 4]], axis=0)  # (a, b, alpha, beta)
        best = min((minimize(objective, x0, jac=True, method="L-BFGS-B",
                             options=lesson.LBFGS_OPTIONS)
                    for x0 in starts), key=lambda r: r.fun)
        a, b, alpha, beta = best.x
        law = {"E": E, "A": math.exp(a), "B": math.exp(b), "alpha": alpha, "beta": beta}

    def rms(p):
        pred = lesson.law_loss(runs.N, runs.D, *(p[k] for k in names))
        return float(np.sqrt(np.mean((pred / runs.loss - 1) ** 2)))

    law = {k: float(v) for k, v in law.items()}
    # lr model: assumed (one lr per size in the sweep)
    result = {"law": {**law, "lr_ref": 1e-3, "gamma": 0.3},
              "free_fit": {k: float(v) for k, v in free.items()}, "residual_rms": rms(law),
              "free_fit_residual_rms": rms(free), "E_fixed": E,
              "lr_note": "lr_ref and gamma are assumed, not fitted (see the README)"}
    return result


def main(argv: list[str] | None = None) -> int:
    import argparse
    import os
    import sys

    from helpers.env import REPO_ROOT

    parser = argparse.ArgumentParser(prog="python -m helpers.training_service",
                                     description="try the service, or (fit-law) refit its base law")
    parser.add_argument("command", nargs="?", default="demo", choices=("demo", "fit-law"))
    parser.add_argument("--runs", default=str(DATASETS_DIR / "scaling" / "h100_full" / "runs.csv"))
    parser.add_argument("--E", type=float, default=0.5, help="hold E at this value (< 0: fit it)")
    parser.add_argument("--out", default=str(LAW_PATH))
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if args.command == "fit-law":
        result = fit_base_law(args.runs, E=None if args.E < 0 else args.E)
        result["runs"] = os.path.relpath(args.runs, REPO_ROOT)
        given = sys.argv[1:] if argv is None else argv
        result["command"] = "python -m helpers.training_service " + " ".join(given)
        Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
        print(json.dumps(result, indent=1))
        return 0
    service = TrainingService(seed=0)
    for flops in (1e15, 1e16):
        for n in (3e6, 1e7, 3e7):
            config = config_for_params(n, lr=1e-3, train_flops=flops)
            loss = service.train(**config)
            print(f"C={flops:.0e} N={num_params(config['d_model'], config['num_layers']):.2e} "
                  f"{config} loss={loss:.4f}")
    print(service)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
