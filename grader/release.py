"""``python -m grader release LESSON``: the student bundle of a lesson, checked for leaks.

The bundle (``build/release/<lesson>/`` and ``build/release/<lesson>.zip``) holds what a
student needs to work on lessons up to ``LESSON``: their student notebooks, ``helpers/``,
``kernels/``, ``grader/`` (without its tests), the small datasets and the install files.

It holds nothing that solves a graded exercise of ``LESSON`` or of any later lesson:

- no ``solutions/``, no hidden tests, no ``grader/tests`` (which hold oracles);
- no module that answers such a lesson. Answers live in one folder, ``helpers/reference/``
  (and the tuned kernels of ``kernels/``); each says which lessons it answers with a
  module-level ``ANSWERS = ("02_transformer_lm",)`` and ships only from that lesson's
  successor on;
- a final scan: no bundled file contains a run of ``MIN_LEAK_RUN`` consecutive lines from
  the solution regions or hidden tests of those lessons, nor a single such line of at least
  ``MIN_LEAK_CHARS`` characters (lines also shown in a student notebook do not count).

Run: ``python -m grader release 01``; test: ``pytest grader/tests/test_release.py``.
"""
from __future__ import annotations

import ast
import shutil
from dataclasses import dataclass
from pathlib import Path

from grader import ipynb
from grader.errors import GraderError
from grader.paths import Layout

# Copied when present (directories recursively), relative to the kit's root.
INCLUDE = ("README.md", "pyproject.toml", "environment.yml", "Makefile", ".gitattributes",
           "helpers", "kernels", "grader", "datasets/README.md", "datasets/manifest.json",
           "datasets/sample", "datasets/scaling", "solutions/README.md")
EXCLUDE_DIRS = {"tests", "__pycache__", ".ipynb_checkpoints", "data"}
MIN_LEAK_CHARS = 72  # one line this long is specific; shorter ones leak only in runs:
MIN_LEAK_RUN = 3     # "specials = set(special_tokens)" alone is ordinary code, 3 in a row are not


@dataclass
class Release:
    lesson: str
    folder: Path
    archive: Path
    excluded: list[str]  # modules left out because they answer this or a later lesson


def answers(path: Path) -> tuple[str, ...]:
    """The lessons a Python module declares it answers (its ``ANSWERS`` tuple), if any."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (SyntaxError, UnicodeDecodeError):
        return ()
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "ANSWERS"
                                                for t in node.targets):
            value = ast.literal_eval(node.value)
            return (value,) if isinstance(value, str) else tuple(value)
    return ()


def secret_lines(layout: Layout, lessons: list[str]) -> dict[str, str]:
    """{line: where} for solution-region and hidden-test lines of ``lessons`` that are specific
    (long enough) and not shown to students anyway (absent from every student notebook)."""
    public = set()
    for nb_path in layout.notebooks.glob("*.ipynb"):
        for cell in ipynb.read(nb_path).cells:
            public.update(line.strip() for line in cell.source.split("\n"))
    secrets = {}
    for lesson in lessons:
        for cell in ipynb.read(layout.solution(lesson)).cells:
            lines = (ipynb.region_lines(cell.source, ipynb.BEGIN_SOLUTION, ipynb.END_SOLUTION)
                     + ipynb.hidden_lines(cell.source))
            for line in (ln.strip() for ln in lines):
                if len(line) >= 12 and not line.startswith("#") and line not in public:
                    secrets.setdefault(line, f"{lesson} [{ipynb.grade_id(cell) or 'cell'}]")
    return secrets


def scan(folder: Path, secrets: dict[str, str]) -> list[str]:
    """Every place in ``folder``'s text files where secret lines appear (see the module doc)."""
    found = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        if path.suffix == ".ipynb":  # compare cell lines, not JSON-escaped strings
            text = "\n".join(c.source for c in ipynb.read(path).cells)
        lines = [ln.strip() for ln in text.split("\n")]
        lines = [(n, ln) for n, ln in enumerate(lines, 1) if ln and not ln.startswith("#")]
        run: list[tuple[int, str]] = []
        for n, line in lines + [(0, "")]:  # a sentinel ends the last run
            if line in secrets:
                run.append((n, line))
                continue
            if len(run) >= MIN_LEAK_RUN or any(len(s) >= MIN_LEAK_CHARS for _, s in run):
                first, secret = run[0]
                found.append(f"{path.relative_to(folder)}:{first}: {len(run)} line(s) of "
                             f"{secrets[secret]}, from {secret[:60]!r}")
            run = []
    return found


def release(layout: Layout, lesson: str, out_dir: Path | None = None) -> Release:
    """Build, scan and zip the student bundle of ``lesson``; ``GraderError`` on any leak."""
    lessons = layout.lessons()
    [lesson] = layout.resolve([lesson])
    secret_lessons = [name for name in lessons if name >= lesson]  # this lesson and later ones
    folder = (out_dir or layout.build / "release") / lesson
    shutil.rmtree(folder, ignore_errors=True)
    excluded = []
    for name in INCLUDE:
        source = layout.root / name
        if source.is_file():
            _copy(source, folder / name)
        elif source.is_dir():
            for path in sorted(source.rglob("*")):
                rel = path.relative_to(layout.root)
                if path.is_dir() or EXCLUDE_DIRS & set(rel.parts[:-1]):
                    continue
                if path.suffix == ".py" and any(name >= lesson for name in answers(path)):
                    excluded.append(str(rel))
                    continue
                _copy(path, folder / rel)
    for name in lessons:
        if name <= lesson:
            _copy(layout.student_notebook(name), folder / "notebooks" / f"{name}.ipynb")
    leaks = scan(folder, secret_lines(layout, secret_lessons))
    if leaks:
        raise GraderError(f"the bundle of {lesson} leaks in {len(leaks)} place(s):\n"
                          + "\n".join(leaks))
    archive = Path(shutil.make_archive(str(folder), "zip", folder.parent, folder.name))
    return Release(lesson, folder, archive, excluded)


def _copy(source: Path, target: Path) -> None:
    if not source.exists():
        raise GraderError(f"{source}: missing (run `python -m grader generate` first?)")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source, target)
