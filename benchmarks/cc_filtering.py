"""Benchmark lesson 07's filters on the kit's offline crawl (``helpers.cc_crawl``).

What it measures, on this machine, one core unless stated:
- extraction (``helpers.reference.cc_filters.extract_text_from_html_bytes``: encoding, resiliparse)
  and language ID (fastText lid.176): pages/s and MB/s of HTML per core;
- MinHash signatures: the kit's vectorized numpy reference (``minhash_signatures``) vs
  ``datasketch.MinHash`` (``update_batch``, its fastest path) on the same shingles, documents
  per second per core; then LSH (the kit's ``lsh_candidates`` vs ``datasketch.MinHashLSH``)
  with the same bands and rows, and each one's recall and precision against exact Jaccard
  over all pairs (duplicates: J >= 0.8);
- the whole pipeline (reference filters, MinHash and line dedup) over the crawl, on 2
  processes: wall time.

Writes ``benchmarks/results/cc_filtering.md``. Run: ``python benchmarks/cc_filtering.py``
(about 12 minutes on 2 cores, most of it the brute-force Jaccard over all pairs;
``--pages 1000`` for a quick look, ``--only 2`` to rerun one section).
"""
from __future__ import annotations

import argparse
import itertools
import os
import platform
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
RESULTS = REPO / "benchmarks" / "results" / "cc_filtering.md"

from benchmarks.sections import write_sections  # noqa: E402
from helpers.reference import cc_filters as F  # noqa: E402
from helpers import cc_pipeline as P  # noqa: E402
from helpers.cc_crawl import write_crawl  # noqa: E402


def extraction_and_language(warcs) -> list[str]:
    records = [r for w in warcs for r in P.iter_responses(w)]
    mb = sum(len(body) for _, _, body in records) / 1e6
    t = time.perf_counter()
    texts = [F.extract_text_from_html_bytes(body, charset) for _, charset, body in records]
    t_extract = time.perf_counter() - t
    texts = [x for x in texts if x]
    F.identify_language("warm up: load the model")
    t = time.perf_counter()
    for x in texts:
        F.identify_language(x)
    t_lid = time.perf_counter() - t
    text_mb = sum(len(x.encode()) for x in texts) / 1e6
    return ["| step | pages | input MB | pages/s | MB/s |", "|---|---|---|---|---|",
            f"| extraction (bytes -> text) | {len(records):,} | {mb:.1f} (HTML) | "
            f"{len(records) / t_extract:,.0f} | {mb / t_extract:.1f} |",
            f"| language ID (lid.176) | {len(texts):,} | {text_mb:.1f} (text) | "
            f"{len(texts) / t_lid:,.0f} | {text_mb / t_lid:.1f} |"]


def minhash(wet_paths, num_hashes: int, num_bands: int, ngrams: int, limit: int) -> list[str]:
    from datasketch import MinHash, MinHashLSH

    texts = P.wet_texts(wet_paths)[:limit]
    sets = [F.shingles(t, ngrams) for t in texts]
    encoded = [[s.encode("utf-8") for s in shingle_set] for shingle_set in sets]
    t = time.perf_counter()
    ours = F.minhash_signatures(sets, num_hashes)
    t_ours = time.perf_counter() - t
    t = time.perf_counter()
    theirs = []
    for e in encoded:
        m = MinHash(num_perm=num_hashes, seed=1)
        m.update_batch(e)
        theirs.append(m)
    t_theirs = time.perf_counter() - t
    t = time.perf_counter()
    ours_pairs = F.lsh_candidates(ours, num_bands)
    t_lsh_ours = time.perf_counter() - t
    t = time.perf_counter()
    lsh = MinHashLSH(num_perm=num_hashes, params=(num_bands, num_hashes // num_bands))
    for i, m in enumerate(theirs):
        lsh.insert(i, m)
    theirs_pairs = {(min(i, j), max(i, j)) for i, m in enumerate(theirs) for j in lsh.query(m)
                    if j != i}
    t_lsh_theirs = time.perf_counter() - t
    t = time.perf_counter()
    true = {(i, j) for i, j in itertools.combinations(range(len(sets)), 2)
            if F.jaccard(sets[i], sets[j]) >= 0.8}
    t_brute = time.perf_counter() - t

    def quality(pairs):
        verified = {p for p in pairs if F.jaccard(sets[p[0]], sets[p[1]]) >= 0.8}
        recall = len(verified & true) / max(1, len(true))
        precision = len(pairs & true) / max(1, len(pairs))
        return recall, precision

    r_ours, p_ours = quality(ours_pairs)
    r_theirs, p_theirs = quality(theirs_pairs)
    n = len(sets)
    return [f"{n:,} WET documents, word {ngrams}-grams, {num_hashes} hashes in {num_bands} bands "
            f"of {num_hashes // num_bands} rows; {len(true):,} pairs with exact Jaccard >= 0.8 "
            f"(all {n * (n - 1) // 2:,} pairs by brute force: {t_brute:.1f} s).", "",
            "| implementation | signatures docs/s | LSH s | candidates | recall | "
            "precision of candidates |", "|---|---|---|---|---|---|",
            f"| kit (numpy, vectorized) | {n / t_ours:,.0f} | {t_lsh_ours:.2f} | "
            f"{len(ours_pairs):,} | {r_ours:.3f} | {p_ours:.3f} |",
            f"| datasketch MinHash + MinHashLSH | {n / t_theirs:,.0f} | {t_lsh_theirs:.2f} | "
            f"{len(theirs_pairs):,} | {r_theirs:.3f} | {p_theirs:.3f} |", "",
            f"Signatures: the kit at **{t_theirs / t_ours:.1f}x** datasketch's documents/s "
            "(one core each)."]


def pipeline(warcs, out: Path) -> list[str]:
    filters = P.Filters(F.extract_text_from_html_bytes, F.identify_language,
                        (F.mask_emails, F.mask_phone_numbers, F.mask_ips),
                        F.gopher_quality_filter)
    t = time.perf_counter()
    corpus, report = P.run_pipeline(warcs, out, filters, workers=2, progress=False,
                                    dedup=F.minhash_deduplication,
                                    line_dedup=F.exact_line_deduplication,
                                    dedup_kwargs=dict(num_hashes=100, num_bands=20, ngrams=5,
                                                      jaccard_threshold=0.8))
    wall = time.perf_counter() - t
    mb = sum(w.stat().st_size for w in warcs) / 1e6
    return [f"{len(warcs)} WARC files ({mb:.1f} MB gzipped), 2 processes: **{wall:.1f} s** "
            f"wall; corpus {corpus.stat().st_size / 1e6:.1f} MB.", "", report.table()]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=12_000)
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--minhash-docs", type=int, default=3000)
    parser.add_argument("--only", help="sections to rerun, e.g. 2 or 1,3 (the others are kept)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="lmkit-cc-bench-") as tmp:
        crawl = Path(tmp) / "crawl"
        warcs = write_crawl(crawl, args.pages, seed=0, num_files=args.files)
        runs = {
            "Extraction and language ID (one core)": lambda: extraction_and_language(warcs),
            "MinHash dedup: kit vs datasketch (one core)": lambda: minhash(
                sorted(crawl.glob("*.wet.gz")), 128, 32, 5, args.minhash_docs),
            "The whole pipeline": lambda: pipeline(warcs, Path(tmp) / "run"),
        }
        sections = {title: "\n".join(run()) for k, (title, run) in enumerate(runs.items())
                    if not args.only or str(k + 1) in args.only.split(",")}
    cpu = platform.processor() or platform.machine()
    header = (f"# Lesson 07: Common Crawl filtering, measured\n\n`python benchmarks/cc_filtering.py"
              f" --pages {args.pages}` on {os.cpu_count()} CPU cores ({cpu}), {date.today()}; "
              f"the kit's offline crawl (`helpers/cc_crawl.py`, {args.pages:,} pages). The "
              "machine is shared with other jobs: treat absolute rates as lower bounds.\n")
    write_sections(RESULTS, header, sections)
    print(RESULTS.read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
