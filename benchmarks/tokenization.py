"""Benchmark lesson 01's BPE (the reference solution) against Hugging Face and tiktoken.

What it measures, on this machine, on the kit's generated story corpus (5, 25, 50 MB) and on
50 MB of Python source code (the standard library, then the installed packages, in path order:
a broader vocabulary than the stories, closer to web text in difficulty):
- training a 10,000-token vocabulary: wall time and peak resident memory, ours
  (``train_bpe`` from ``solutions/01_bpe_tokenizer.ipynb``, all cores) vs ``tokenizers``'
  ``BpeTrainer`` (all cores);
- encoding throughput in MB/s with the *same* vocab and merges: ours (pure Python, one thread)
  vs ``tokenizers`` (one string, one thread; and ``encode_batch`` over documents, all cores)
  vs ``tiktoken`` (built offline from our ranks; one thread);
- peak memory of ``encode_iterable`` streaming each corpus line by line (should be flat).

Each measurement runs in a fresh subprocess so peak RSS is its own. Writes
``benchmarks/results/tokenization.md``. Run: ``python benchmarks/tokenization.py``
(about 10 minutes on 2 cores; ``--sizes 5`` for a quick look).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
SOLUTION = REPO / "solutions" / "01_bpe_tokenizer.ipynb"
RESULTS = REPO / "benchmarks" / "results" / "tokenization.md"
SPECIALS = ["<|endoftext|>"]
VOCAB_SIZE = 10_000


def _peak_rss_mb() -> tuple[float, float]:
    """Peak RSS of this process and of its largest child (Linux reports KiB)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return own, kids


def python_sources_path(mb: int) -> Path:
    """A corpus of this interpreter's Python sources, documents separated by <|endoftext|>."""
    import sysconfig

    from helpers.env import DATA_DIR

    path = DATA_DIR / f"python_sources_{mb}mb.txt"
    if path.exists():
        return path
    roots = [Path(sysconfig.get_paths()["stdlib"]), Path(sysconfig.get_paths()["purelib"])]
    files = [f for root in roots for f in sorted(root.rglob("*.py"))
             if root.name == "site-packages" or "site-packages" not in f.parts]
    path.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with open(path.with_suffix(".tmp"), "w", encoding="utf-8") as out:
        for f in files:
            try:
                text = f.read_text(encoding="utf-8")
            except (UnicodeDecodeError, OSError):
                continue
            out.write(text + SPECIALS[0])
            written += len(text.encode("utf-8"))
            if written >= mb * 1_000_000:
                break
    path.with_suffix(".tmp").rename(path)
    return path


def _solution():
    from grader.nbmodule import load_notebook

    return load_notebook(SOLUTION)


# --- measurements, each run as `python benchmarks/tokenization.py _task ...` in a subprocess ---

def task_train(impl: str, corpus: str, out_dir: str) -> dict:
    from helpers.tokenization import hf_train_bpe, save_tokenizer_files

    t0 = time.perf_counter()
    if impl == "ours":
        vocab, merges = _solution().train_bpe(corpus, VOCAB_SIZE, SPECIALS)
    else:
        vocab, merges = hf_train_bpe([corpus], VOCAB_SIZE, SPECIALS)
    seconds = time.perf_counter() - t0
    if impl == "ours":
        save_tokenizer_files(vocab, merges, Path(out_dir) / "vocab.json",
                             Path(out_dir) / "merges.txt")
    own, kids = _peak_rss_mb()
    return {"seconds": seconds, "rss_mb": own, "worker_rss_mb": kids, "merges": len(merges)}


def task_encode(corpus: str, tok_dir: str) -> dict:
    from helpers.tokenization import hf_tokenizer, load_tokenizer_files, tiktoken_encoding

    vocab, merges = load_tokenizer_files(Path(tok_dir) / "vocab.json", Path(tok_dir) / "merges.txt")
    text = Path(corpus).read_text(encoding="utf-8")
    mb = len(text.encode("utf-8")) / 1e6
    docs = text.split(SPECIALS[0])
    ours = _solution().Tokenizer(vocab, merges, SPECIALS)
    hf = hf_tokenizer(vocab, merges, SPECIALS)
    tk = tiktoken_encoding(vocab, SPECIALS)
    runs = {
        "ours": lambda: ours.encode(text),
        "hf": lambda: hf.encode(text).ids,
        "hf_batch": lambda: hf.encode_batch(docs),
        "tiktoken": lambda: tk.encode(text, allowed_special="all"),
    }
    result, reference = {"mb": mb}, None
    for name, fn in runs.items():
        t0 = time.perf_counter()
        ids = fn()
        result[name] = mb / (time.perf_counter() - t0)
        if name == "ours":
            reference = ids
        elif name in ("hf", "tiktoken"):
            result[f"{name}_equal"] = ids == reference
    return result


def task_stream(corpus: str, tok_dir: str) -> dict:
    from helpers.tokenization import load_tokenizer_files

    vocab, merges = load_tokenizer_files(Path(tok_dir) / "vocab.json", Path(tok_dir) / "merges.txt")
    tok = _solution().Tokenizer(vocab, merges, SPECIALS)
    before = _peak_rss_mb()[0]
    count = 0
    with open(corpus, encoding="utf-8") as f:
        for _ in tok.encode_iterable(f):
            count += 1
    return {"tokens": count, "rss_growth_mb": _peak_rss_mb()[0] - before,
            "rss_mb": _peak_rss_mb()[0]}


TASKS = {"_train": task_train, "_encode": task_encode, "_stream": task_stream}


def run_task(*args: str) -> dict:
    out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True,
                         cwd=REPO)
    if out.returncode != 0:
        raise RuntimeError(f"{args}: {out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- the report ---

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[5, 25, 50],
                        help="story corpus sizes in MB")
    parser.add_argument("--code-mb", type=int, default=50,
                        help="size of the Python-sources corpus (0: skip)")
    args = parser.parse_args()
    from helpers.stories import stories_path

    corpora = [("stories", mb, stories_path(mb)) for mb in args.sizes]
    if args.code_mb:
        corpora.append(("python", args.code_mb, python_sources_path(args.code_mb)))
    rows = []
    for kind, mb, path in corpora:
        corpus = str(path)
        with tempfile.TemporaryDirectory() as tok_dir:
            print(f"[{mb} MB] training ...", flush=True)
            ours = run_task("_train", "ours", corpus, tok_dir)
            hf = run_task("_train", "hf", corpus, tok_dir)
            print(f"[{mb} MB] encoding ...", flush=True)
            enc = run_task("_encode", corpus, tok_dir)
            stream = run_task("_stream", corpus, tok_dir)
        rows.append({"corpus": f"{kind} {mb} MB", "kind": kind, "mb": mb, "ours": ours, "hf": hf,
                     "enc": enc, "stream": stream})
        print(json.dumps(rows[-1]), flush=True)
    write_report(rows)


def write_report(rows: list[dict]) -> None:
    import tiktoken
    import tokenizers

    big = [r for r in rows if r["kind"] == "stories"][-1]
    lines = [
        "# Tokenization benchmark (lesson 01)",
        "",
        f"Measured {date.today()} on {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, tokenizers "
        f"{tokenizers.__version__}, tiktoken {tiktoken.__version__}, by `python "
        f"benchmarks/tokenization.py`. Corpus: the kit's generated stories (`helpers.stories`, "
        f"seed 0) and Python sources (stdlib, then installed packages); vocabulary {VOCAB_SIZE:,} "
        f"with `<|endoftext|>`.",
        "",
        "## Training (vocab 10,000)",
        "",
        "| corpus | ours (s) | HF tokenizers (s) | ratio | ours peak RSS (MB): main / worker | HF "
        "peak RSS (MB) | merges (ours / HF) |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        o, h = r["ours"], r["hf"]
        lines.append(f"| {r['corpus']} | {o['seconds']:.1f} | {h['seconds']:.1f} | "
                     f"{o['seconds'] / h['seconds']:.2f}x | {o['rss_mb']:.0f} / "
                     f"{o['worker_rss_mb']:.0f} | {h['rss_mb']:.0f} | {o['merges']:,} / "
                     f"{h['merges']:,} |")
    lines += [
        "",
        "## Encoding throughput (MB/s, same vocab and merges)",
        "",
        "| corpus | ours (1 thread) | HF `encode` (1 thread) | HF `encode_batch` (all cores) | "
        "tiktoken (1 thread) | ids equal (HF / tiktoken) |",
        "|---:|---:|---:|---:|---:|:---:|",
    ]
    for r in rows:
        e = r["enc"]
        lines.append(f"| {r['corpus']} | {e['ours']:.1f} | {e['hf']:.1f} | {e['hf_batch']:.1f} | "
                     f"{e['tiktoken']:.1f} | {e['hf_equal']} / {e['tiktoken_equal']} |")
    lines += [
        "",
        "## Streaming memory (`encode_iterable` over the file's lines)",
        "",
        "| corpus | tokens | peak RSS (MB) | RSS growth while streaming (MB) |",
        "|---:|---:|---:|---:|",
    ]
    for r in rows:
        s = r["stream"]
        lines.append(f"| {r['corpus']} | {s['tokens']:,} | {s['rss_mb']:.0f} | "
                     f"{s['rss_growth_mb']:.1f} |")
    e, o, h = big["enc"], big["ours"], big["hf"]
    growth = [r["stream"]["rss_growth_mb"] for r in rows if r["kind"] == "stories"]
    goals = [
        ("training within 3x of tokenizers' time", o["seconds"] <= 3 * h["seconds"],
         f"{o['seconds'] / h['seconds']:.2f}x"),
        ("encoding at least as fast as tokenizers (1 thread)", e["ours"] >= e["hf"],
         f"{e['ours']:.1f} vs {e['hf']:.1f} MB/s"),
        ("encoding within 4x of tiktoken", 4 * e["ours"] >= e["tiktoken"],
         f"{e['tiktoken'] / e['ours']:.2f}x slower"),
        ("encode_iterable memory flat in input size", max(growth) - min(growth) < 50,
         f"growth {', '.join(f'{g:.0f}' for g in growth)} MB"),
    ]
    lines += ["", f"## Goals ({big['corpus']})", "", "| goal | met | measured |", "|---|:---:|---|"]
    lines += [f"| {g} | {'yes' if ok else 'NO'} | {m} |" for g, ok, m in goals]
    lines += ["",
              "Ours is pure Python: training uses parallel pre-tokenization (fork) and incremental "
              "pair counts with a lazy heap; encoding relies on a pre-token cache. HF's "
              "`encode_batch` uses all cores. The streaming RSS growth is the pre-token cache (one "
              "entry per distinct pre-token), not buffered input: it follows the corpus's "
              "vocabulary, not its length. The generated stories repeat their words more than real "
              "text does, which favours caches and incremental counts: the Python-sources row "
              "shows a harder case.", ""]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines))
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] in TASKS:
        print(json.dumps(TASKS[sys.argv[1]](*sys.argv[2:])))
    else:
        main()
