"""Scaling-law sweeps: train lesson 02's reference model at several sizes and compute budgets,
and record (N, D, C, loss) for lesson 06's fits.

- A run is a model shape (``d_model``, ``num_layers``) and a compute budget ``C`` in FLOPs. It
  trains on ``D = C / (6 N)`` tokens (rounded to whole steps), where ``N`` counts the
  non-embedding parameters (Kaplan et al., 2020): with ``d_ff = 8/3 d_model`` exactly,
  ``N = 12 L d^2 + (2L + 1) d`` (attention 4d^2, SwiGLU 8d^2, RMSNorm gains). ``C = 6ND``
  leaves out the embedding/``lm_head`` and attention-score FLOPs, as Kaplan's and Chinchilla's
  approximations do; both are recorded.
- Shapes come from one ladder (``LADDER``), d_head = 24; each budget trains the
  ``sizes_per_budget`` consecutive rungs centred (in log N) on a guess of the optimum,
  ``sqrt(C / (6 tokens_per_param))`` (Chinchilla: 20 tokens per parameter), meant to put each
  isoFLOP valley inside (on the shipped sweep's easy stories the optimum wanted more tokens:
  see ``datasets/scaling/README.md``).
- Hyperparameters by rule, not tuned per run: AdamW (0.9, 0.95), weight decay 0.1, warm-up 5%
  of the steps, cosine to lr/10 at the last step (the schedule's length matches the run, as
  Hoffmann et al. insist), ``lr = lr_ref (N / 1e5)^-0.15``, batch size the largest power of
  two that still gives ``min_steps`` steps (within limits). bf16 autocast on CUDA.
- Loss = mean validation cross-entropy (nats/token) on the same fixed windows for every run.
- Results: one CSV row per finished run, appended as runs finish (a rerun skips done runs), and
  ``sweep.json`` with the provenance (command, git commit, machine, device, versions, date).
- Several worker processes share one device (tiny models are launch-bound, so a GPU runs a few
  at once nearly as fast as one). ``deadline_s`` stops runs that would end too late (budgets
  run smallest first, so a cut sweep still has whole isoFLOP curves).

Run: ``python -m helpers.scaling --scale smoke --out datasets/scaling/cpu_smoke`` (CPU, about
4 minutes on 2 cores); ``python -m helpers.scaling --scale full --out build/scaling/full``
(a GPU, about 3 minutes on an H100 with ``--workers 6``; ``--plan`` prints the runs).
Test: ``python -m pytest grader/tests/test_scaling.py -q -k sweep``.
"""
from __future__ import annotations

import argparse
import csv
import dataclasses
import datetime
import json
import math
import os
import platform
import re
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from helpers.env import DATA_DIR, REPO_ROOT, check_scale

D_HEAD = 24
# (d_model, num_layers), in increasing N; d_model is a multiple of 24 so d_ff = 8/3 d_model
# is an integer and d_head = 24. Width/depth stays within 24..64 of each other.
LADDER = ((24, 1), (24, 2), (48, 1), (48, 2), (72, 2), (96, 2), (96, 3), (120, 3), (144, 3),
          (144, 4), (192, 4), (240, 4), (240, 6), (288, 6), (336, 6), (384, 7), (432, 8),
          (528, 8), (624, 8))
FIELDS = ("run_id", "d_model", "num_layers", "num_heads", "d_ff", "N", "N_total", "D", "C",
          "C_actual", "C_with_embeddings", "loss", "train_loss", "lr", "batch_size",
          "context_length", "num_steps", "wall_s", "tokens_per_s", "device", "dtype")


@dataclass
class SweepConfig:
    """What a sweep trains: budgets, shapes per budget, corpus and training rules."""

    budgets: tuple[float, ...]  # compute budgets C in FLOPs (6 N D), smallest first
    sizes_per_budget: int = 5
    tokens_per_param: float = 20.0  # where each budget's sizes are centred: D/N at the guess
    vocab_size: int = 2000
    context_length: int = 64
    corpus_mb: int = 2  # generated stories (helpers.data.prepare_corpus)
    lr_ref: float = 4e-3  # lr at N = 1e5; lr = lr_ref * (N / 1e5) ** -0.15
    min_steps: int = 100
    batch_limits: tuple[int, int] = (16, 16)
    eval_batches: int = 16
    eval_batch_size: int = 16
    dtype: str = "float32"
    seed: int = 0
    ladder: tuple[tuple[int, int], ...] = LADDER
    corpus_shards: int = 0  # full scale: extra train shards of generated stories (0: none)
    shard_mb: int = 25


SCALES = {
    # Seconds per run on a CPU core: real numbers, honestly small (595k training tokens).
    "smoke": SweepConfig(budgets=(2e10, 6e10, 2e11), sizes_per_budget=5, min_steps=200,
                         batch_limits=(4, 16)),
    # A few minutes on one H100: 4096-token vocabulary, 256-token windows, ~100M tokens of
    # generated stories (16 shards of 25 MB, each tokenized in its own process).
    "full": SweepConfig(budgets=(1e13, 3e13, 1e14, 3e14), sizes_per_budget=7,
                        ladder=LADDER[3:],  # d_model >= 48 and 2+ layers: not embedding-bound
                        vocab_size=4096, context_length=256, corpus_mb=25, min_steps=300,
                        batch_limits=(16, 128), eval_batches=16, eval_batch_size=64,
                        dtype="bfloat16", corpus_shards=16, shard_mb=25),
}


@dataclass(frozen=True)
class Run:
    """One training run of a sweep."""

    d_model: int
    num_layers: int
    budget: float  # C, FLOPs
    vocab_size: int
    context_length: int
    batch_size: int
    num_steps: int
    lr: float

    @property
    def run_id(self) -> str:
        return f"C{self.budget:.0e}_d{self.d_model}_L{self.num_layers}".replace("+", "")

    @property
    def num_heads(self) -> int:
        return self.d_model // D_HEAD

    @property
    def d_ff(self) -> int:
        return self.d_model * 8 // 3

    @property
    def tokens(self) -> int:
        return self.batch_size * self.context_length * self.num_steps


def non_embedding_params(d_model: int, num_layers: int) -> int:
    """N of the reference model with d_ff = 8/3 d_model: 12 L d^2 + (2L + 1) d (norm gains)."""
    return 12 * num_layers * d_model ** 2 + (2 * num_layers + 1) * d_model


def plan(cfg: SweepConfig) -> list[Run]:
    """The runs of a sweep: for each budget, the rungs of the ladder around the guess of the
    optimum, N = sqrt(C / (6 tokens_per_param))."""
    sizes = np.array([non_embedding_params(d, L) for d, L in cfg.ladder], dtype=float)
    runs = []
    for budget in cfg.budgets:
        guess = math.sqrt(budget / (6 * cfg.tokens_per_param))  # C = 6 N D, D = tpp N
        centre = int(np.argmin(np.abs(np.log(sizes) - math.log(guess))))
        lo = min(max(centre - (cfg.sizes_per_budget - 1) // 2, 0),
                 len(sizes) - cfg.sizes_per_budget)
        for d_model, num_layers in cfg.ladder[lo:lo + cfg.sizes_per_budget]:
            n = non_embedding_params(d_model, num_layers)
            tokens = budget / (6 * n)
            batch = 2 ** int(math.log2(max(tokens / (cfg.context_length * cfg.min_steps), 1)))
            batch = min(max(batch, cfg.batch_limits[0]), cfg.batch_limits[1])
            steps = max(round(tokens / (batch * cfg.context_length)), 1)
            runs.append(Run(d_model, num_layers, budget, cfg.vocab_size, cfg.context_length,
                            batch, steps, cfg.lr_ref * (n / 1e5) ** -0.15))
    return runs


# ---------------------------------------------------------------------------------------------
# Corpus
# ---------------------------------------------------------------------------------------------
def _tokenize_shard(job: tuple) -> str:
    """Worker: generate one shard of stories and write its token ids (uint16)."""
    tokenizer_dir, out, mb, seed = job
    from helpers.data import EOT, _documents
    from helpers.stories import stories_bytes
    from helpers.tokenization import hf_tokenizer, load_tokenizer_files

    out = Path(out)
    if out.exists():
        return str(out)
    vocab, merges = load_tokenizer_files(Path(tokenizer_dir) / "vocab.json",
                                         Path(tokenizer_dir) / "merges.txt")
    tok = hf_tokenizer(vocab, merges, [EOT])
    text = stories_bytes(mb * 1_000_000, seed=seed).decode("utf-8")
    ids = [i for enc in tok.encode_batch(_documents(text, EOT)) for i in enc.ids]
    tmp = out.with_name(out.name + ".tmp")
    np.asarray(ids, dtype=np.uint16).tofile(tmp)
    os.replace(tmp, out)
    return str(out)


def sweep_corpus(cfg: SweepConfig, workers: int = 1, data_dir: Path | None = None,
                 progress: bool = False) -> tuple[Path, Path]:
    """(train.bin, valid.bin) of uint16 token ids for the sweep, built once and cached.

    Without ``corpus_shards`` (smoke): lesson 02's corpus, ``prepare_corpus(corpus_mb,
    vocab_size)``. With them (full): a BPE tokenizer trained on ``corpus_mb`` MB of stories
    (seed ``seed``), a 1 MB validation split (seed ``seed + VALID_SEED_OFFSET``) and
    ``corpus_shards`` training shards of ``shard_mb`` MB (seeds ``seed + 1, seed + 2, ...``),
    tokenized in parallel, in ``data_dir/scaling_v{vocab_size}_s{seed}/``: enough tokens that
    no run sees a token twice. The folder without its ``train.bin`` is small enough to copy to
    a GPU machine, which then only generates and tokenizes the shards.
    """
    if not cfg.corpus_shards:
        from helpers.data import prepare_corpus

        corpus = prepare_corpus(cfg.corpus_mb, cfg.vocab_size, seed=cfg.seed,
                                data_dir=data_dir, progress=progress)
        return Path(corpus.directory) / "train.bin", Path(corpus.directory) / "valid.bin"
    from helpers.data import EOT
    from helpers.stories import VALID_SEED_OFFSET, stories_path
    from helpers.tokenization import hf_train_bpe, save_tokenizer_files

    directory = Path(data_dir or DATA_DIR) / f"scaling_v{cfg.vocab_size}_s{cfg.seed}"
    directory.mkdir(parents=True, exist_ok=True)
    if not (directory / "merges.txt").exists():
        vocab, merges = hf_train_bpe([stories_path(cfg.corpus_mb, seed=cfg.seed)],
                                     cfg.vocab_size, special_tokens=[EOT])
        save_tokenizer_files(vocab, merges, directory / "vocab.json", directory / "merges.txt")
    train, valid = directory / "train.bin", directory / "valid.bin"
    if not valid.exists():
        _tokenize_shard((str(directory), str(valid), 1, cfg.seed + VALID_SEED_OFFSET))
    if not train.exists():
        jobs = [(str(directory), str(directory / f"shard_{s}.bin"), cfg.shard_mb, cfg.seed + s)
                for s in range(1, cfg.corpus_shards + 1)]
        with ProcessPoolExecutor(max(1, workers)) as pool:
            shards = list(pool.map(_tokenize_shard, jobs))
        tmp = train.with_name(train.name + ".tmp")
        with open(tmp, "wb") as out:
            for shard in shards:
                out.write(Path(shard).read_bytes())
        os.replace(tmp, train)
        for shard in shards:
            Path(shard).unlink()
    return train, valid


# ---------------------------------------------------------------------------------------------
# Training one run
# ---------------------------------------------------------------------------------------------
class _DeadlinePassed(Exception):
    pass


def train_run(run: Run, train_path: str | Path, valid_path: str | Path, *, device: str = "auto",
              dtype: str = "float32", eval_batches: int = 16, eval_batch_size: int = 16,
              seed: int = 0, deadline: float | None = None, threads: int | None = None) -> dict:
    """Train one run and return its CSV row (a dict with the keys of ``FIELDS``).

    Raises ``TimeoutError`` if the wall clock passes ``deadline`` (``time.time()``) first.
    """
    import torch

    from helpers.data import load_tokens
    from helpers.env import resolve_device
    from helpers.reference.model import ModelConfig, ReferenceLM
    from helpers.training import TrainConfig, cosine_lr_schedule, estimate_loss, train

    if threads:
        torch.set_num_threads(threads)
    device = resolve_device(device)
    train_data, valid_data = load_tokens(train_path), load_tokens(valid_path)
    model_cfg = ModelConfig(vocab_size=run.vocab_size, context_length=run.context_length,
                            d_model=run.d_model, num_layers=run.num_layers,
                            num_heads=run.num_heads, d_ff=run.d_ff)
    torch.manual_seed(seed)
    model = ReferenceLM(model_cfg)
    n = sum(p.numel() for name, p in model.named_parameters()
            if not name.startswith(("token_embeddings", "lm_head")))
    assert n == non_embedding_params(run.d_model, run.num_layers), (n, run)
    n_total = sum(p.numel() for p in model.parameters())
    cfg = TrainConfig(batch_size=run.batch_size, context_length=run.context_length,
                      num_steps=run.num_steps, lr=run.lr, min_lr=run.lr / 10,
                      warmup_steps=max(1, run.num_steps // 20), eval_every=0,
                      log_every=max(1, run.num_steps // 10), device=device, dtype=dtype, seed=seed)

    def schedule(t, *args):  # the loop asks for the lr every step: a place to stop on time
        if deadline is not None and time.time() > deadline:
            raise _DeadlinePassed
        return cosine_lr_schedule(t, *args)

    start = time.perf_counter()
    try:
        history = train(model, train_data, None, cfg, lr_schedule=schedule, progress=False)
    except _DeadlinePassed:
        raise TimeoutError(f"{run.run_id}: deadline passed") from None
    wall = time.perf_counter() - start
    eval_cfg = dataclasses.replace(cfg, batch_size=eval_batch_size, eval_batches=eval_batches,
                                   seed=seed)
    loss = estimate_loss(model, valid_data, eval_cfg)  # same windows for every run
    d = run.tokens
    embed = 2 * run.vocab_size * run.d_model  # embedding table + lm_head
    return {
        "run_id": run.run_id, "d_model": run.d_model, "num_layers": run.num_layers,
        "num_heads": run.num_heads, "d_ff": run.d_ff, "N": n, "N_total": n_total, "D": d,
        "C": run.budget, "C_actual": 6 * n * d, "C_with_embeddings": 6 * (n + embed // 2) * d,
        "loss": round(loss, 5), "train_loss": round(history.train_loss[-1], 5),
        "lr": round(run.lr, 6), "batch_size": run.batch_size,
        "context_length": run.context_length, "num_steps": run.num_steps,
        "wall_s": round(wall, 2), "tokens_per_s": round(d / wall), "device": device,
        "dtype": dtype,
    }


def _worker(args: tuple) -> dict:
    run, train_path, valid_path, kwargs = args
    return train_run(run, train_path, valid_path, **kwargs)


# ---------------------------------------------------------------------------------------------
# The sweep
# ---------------------------------------------------------------------------------------------
def read_runs(path: str | Path):
    """The runs of a sweep CSV as a pandas DataFrame (columns ``FIELDS``)."""
    import pandas as pd

    return pd.read_csv(path)


def provenance(command: list[str] | None = None) -> dict:
    """Where and how a sweep ran: command, git commit, machine, device, versions, date."""
    import torch

    def git(*args):
        try:
            return subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True,
                                  timeout=10).stdout.strip() or None
        except (OSError, subprocess.SubprocessError):
            return None

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    commit = git("rev-parse", "HEAD")
    commit = commit if commit and re.fullmatch(r"[0-9a-f]{40}", commit) else None
    return {
        "command": " ".join(command or ["python", "-m", "helpers.scaling", *sys.argv[1:]]),
        # A copy of the tree without .git (a rented GPU machine) gets it from the environment.
        "git_commit": commit or os.environ.get("LMKIT_GIT_COMMIT"),
        "git_dirty": bool(git("status", "--porcelain")) if commit else None,
        "date_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{platform.node()} ({platform.machine()}, {os.cpu_count()} CPUs)",
        "gpu": gpu,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
    }


def run_sweep(scale: str = "smoke", out_dir: str | Path = "build/scaling", *,
              cfg: SweepConfig | None = None, workers: int = 1, device: str = "auto",
              deadline_s: float | None = None, threads: int | None = None,
              data_dir: Path | None = None, progress: bool = True, command=None):
    """Train every run of the sweep (skipping those already in ``out_dir/runs.csv``).

    Returns the DataFrame of all finished runs. Writes ``runs.csv`` (a row per run, as it
    finishes) and ``sweep.json`` (the config, the provenance, the skipped runs).
    """
    check_scale(scale)
    cfg = cfg or SCALES[scale]
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path = out_dir / "runs.csv"
    done = set(read_runs(csv_path)["run_id"]) if csv_path.exists() else set()
    started = time.time()
    deadline = started + deadline_s if deadline_s else None
    train_path, valid_path = sweep_corpus(cfg, workers=max(workers, os.cpu_count() or 1),
                                          data_dir=data_dir, progress=progress)
    todo = [r for r in plan(cfg) if r.run_id not in done]
    kwargs = dict(device=device, dtype=cfg.dtype, eval_batches=cfg.eval_batches,
                  eval_batch_size=cfg.eval_batch_size, seed=cfg.seed, deadline=deadline,
                  threads=threads)
    skipped, new = [], csv_path.exists()

    def record(row: dict) -> None:
        nonlocal new
        with open(csv_path, "a", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=FIELDS)
            if not new:
                writer.writeheader()
                new = True
            writer.writerow(row)
        if progress:
            print(f"{row['run_id']:>22}  N={row['N']:>9,}  D={row['D']:>11,}  "
                  f"loss={row['loss']:.4f}  {row['wall_s']:6.1f} s  "
                  f"{row['tokens_per_s'] / 1e6:5.2f} M tok/s", flush=True)

    jobs = [(run, str(train_path), str(valid_path), kwargs) for run in todo]
    if workers <= 1:
        for job in jobs:
            try:
                record(_worker(job))
            except TimeoutError as err:
                skipped.append(str(err))
    else:
        import multiprocessing

        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = [pool.submit(_worker, job) for job in jobs]
            for future in as_completed(futures):
                try:
                    record(future.result())
                except TimeoutError as err:
                    skipped.append(str(err))
    meta = {"scale": scale, "config": dataclasses.asdict(cfg),
            "provenance": provenance(command), "wall_s": round(time.time() - started, 1),
            "workers": workers, "runs_planned": len(plan(cfg)), "skipped": sorted(skipped),
            "train_tokens_available": int(os.path.getsize(train_path) // 2)}
    (out_dir / "sweep.json").write_text(json.dumps(meta, indent=1) + "\n")
    runs = read_runs(csv_path)
    return runs.sort_values(["C", "N"]).reset_index(drop=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.scaling",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", default="smoke", choices=sorted(SCALES))
    parser.add_argument("--out", default=None, help="output folder (default build/scaling/<scale>)")
    parser.add_argument("--workers", type=int, default=1, help="runs trained at once")
    parser.add_argument("--threads", type=int, default=None, help="torch threads per run")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--deadline-s", type=float, default=None,
                        help="stop runs that would finish later than this many seconds from now")
    parser.add_argument("--data-dir", default=None, help=f"corpus cache (default {DATA_DIR})")
    parser.add_argument("--plan", action="store_true", help="print the runs and exit")
    args = parser.parse_args(argv)
    cfg = SCALES[args.scale]
    if args.plan:
        runs = plan(cfg)
        for r in runs:
            n = non_embedding_params(r.d_model, r.num_layers)
            print(f"{r.run_id:>22} N={n:>10,} D={r.tokens:>12,} batch={r.batch_size:4} "
                  f"steps={r.num_steps:6} lr={r.lr:.2e}")
        print(f"{len(runs)} runs, {sum(r.tokens for r in runs):,} tokens in all")
        return 0
    out = Path(args.out or REPO_ROOT / "build" / "scaling" / args.scale)
    runs = run_sweep(args.scale, out, workers=args.workers, device=args.device,
                     deadline_s=args.deadline_s, threads=args.threads,
                     data_dir=Path(args.data_dir) if args.data_dir else None)
    print(f"{len(runs)} runs in {out / 'runs.csv'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
