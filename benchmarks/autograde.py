"""Benchmark the autograder: throughput on generated variants of lesson 01, vs workers.

What it measures: the wall time to autograde ``--n`` submissions of lesson 01 (default 200)
with ``--workers`` 1 and 2 (a fresh course each time, sandbox as ``autograde`` uses it), and
from it submissions per minute and seconds per submission. The submissions are variants of
the lesson's samples (``grader.samples``): ``solution``, ``partial``, ``raises`` and
``untouched`` in turn, each with a markdown cell naming its student so that every notebook
(and its hash) is distinct. Scores are checked against the sample they come from, so a fast
but wrong run fails.

Writes ``benchmarks/results/autograde.md`` (``--results`` elsewhere). Run:
``python benchmarks/autograde.py`` (200 submissions twice: 32 minutes on 2 cores, 6.1 s each with
one worker, 3.5 s with two);
``python benchmarks/autograde.py --n 4 --results /tmp/autograde.md`` for a quick look.
"""
from __future__ import annotations

import argparse
import copy
import os
import platform
import shutil
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
RESULTS = REPO / "benchmarks" / "results" / "autograde.md"
LESSON = "01_bpe_tokenizer"
KINDS = ("solution", "partial", "raises", "untouched")


def make_variants(layout, lesson: str, n: int, folder: Path) -> dict[str, str]:
    """``n`` distinct submissions in ``folder``; ``{student: sample kind}``."""
    from grader import ipynb
    from grader.samples import make_samples

    samples = make_samples(layout, lesson, out_dir=folder / ".samples")
    kinds = {}
    for i in range(n):
        kind = KINDS[i % len(KINDS)]
        student = f"s{i:03d}_{kind}"
        nb = copy.deepcopy(ipynb.read(samples[kind]))
        nb.cells.insert(0, nbformat.v4.new_markdown_cell(f"Submitted by {student}."))
        ipynb.write(nb, folder / student / f"{lesson}.ipynb")
        kinds[student] = kind
    return kinds


def run(n: int, workers: list[int], results: Path, cell_timeout: int) -> str:
    from grader.autograde import autograde
    from grader.paths import Layout

    layout = Layout()
    [lesson] = layout.resolve([LESSON])
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-grader-") as tmp:
        folder = Path(tmp) / "submissions"
        kinds = make_variants(layout, lesson, n, folder)
        expected: dict[str, float] = {}
        for count in workers:
            course = Path(tmp) / f"course-{count}"
            start = time.perf_counter()
            found = autograde(lesson, folder, layout=layout, course_root=course,
                              cell_timeout=cell_timeout, workers=count, report=lambda _: None)
            seconds = time.perf_counter() - start
            by_kind: dict[str, set[float]] = {}
            for r in found:
                by_kind.setdefault(kinds[r.student], set()).add(r.score)
            scores = {kind: min(s) for kind, s in by_kind.items()}
            if any(len(s) != 1 for s in by_kind.values()) or (expected and scores != expected):
                raise SystemExit(f"inconsistent scores with {count} worker(s): {by_kind}")
            expected = scores
            rows.append((count, seconds, n / seconds * 60, seconds / n))
            print(f"workers={count}: {n} submissions in {seconds:.1f} s "
                  f"({n / seconds * 60:.1f}/min)", flush=True)
            shutil.rmtree(course, ignore_errors=True)
    lines = [
        "# Autograder throughput (lesson 01)",
        "",
        f"{n} generated submissions of `{lesson}` ({', '.join(KINDS)} in turn, each distinct), "
        f"graded by `grader.autograde` with the sandbox on, {cell_timeout} s per cell; "
        f"scores per kind: {', '.join(f'{k} {v:g}' for k, v in expected.items())}.",
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPU cores, "
        f"Python {platform.python_version()}; {date.today()}. "
        f"Run: `python benchmarks/autograde.py --n {n}`.",
        "",
        "| workers | wall time (s) | submissions / min | s / submission |",
        "|---:|---:|---:|---:|",
        *(f"| {w} | {s:.1f} | {rate:.1f} | {per:.2f} |" for w, s, rate, per in rows),
        "",
    ]
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text("\n".join(lines))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=200, help="submissions (default 200)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--timeout-cell", type=int, default=120)
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args()
    print(run(args.n, args.workers, args.results, args.timeout_cell))


if __name__ == "__main__":
    main()
