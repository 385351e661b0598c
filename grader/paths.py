"""Where the kit's files live, and which lessons exist.

- A ``Layout`` is rooted at a directory: the repository by default, a temporary toy kit in
  the tests, so every command runs without touching the real ``solutions/`` and ``notebooks/``.
- A lesson is named by its notebook stem (``01_bpe_tokenizer``); on the command line it may
  also be given by its number (``01``) or by a path to either of its notebooks.
- Everything generated lives under ``build/`` (ignored by git) and can be deleted at any time.

Try it: ``python -c "from grader.paths import Layout; print(Layout().lessons())"``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from grader.errors import GraderError

REPO_ROOT = Path(__file__).resolve().parent.parent
LESSON_RE = re.compile(r"^\d\d_\w+$")  # solutions/NN_topic.ipynb


@dataclass(frozen=True)
class Layout:
    """The directories of a kit rooted at ``root``."""

    root: Path = REPO_ROOT

    @property
    def solutions(self) -> Path:
        """Lesson sources, with solutions and hidden tests (written by authors)."""
        return self.root / "solutions"

    @property
    def notebooks(self) -> Path:
        """Student notebooks, generated from ``solutions/`` and committed."""
        return self.root / "notebooks"

    @property
    def build(self) -> Path:
        """Everything generated and not committed."""
        return self.root / "build"

    @property
    def course(self) -> Path:
        """The nbgrader course directory (source/, release/, submitted/, autograded/, ...)."""
        return self.build / "course"

    @property
    def generate_course(self) -> Path:
        """A gradebook-free nbgrader course directory that only generates student notebooks."""
        return self.build / "generate"

    @property
    def demo_course(self) -> Path:
        """The course directory of ``python -m grader demo``, made afresh on each run."""
        return self.build / "demo"

    @property
    def executed(self) -> Path:
        """Executed copies of lessons written by ``python -m grader execute``."""
        return self.build / "executed"

    @property
    def samples(self) -> Path:
        """Sample submissions: ``samples/<lesson>/<student>/<lesson>.ipynb``."""
        return self.build / "samples"

    def solution(self, lesson: str) -> Path:
        return self.solutions / f"{lesson}.ipynb"

    def student_notebook(self, lesson: str) -> Path:
        return self.notebooks / f"{lesson}.ipynb"

    def lessons(self) -> list[str]:
        """All lessons, in order: the stems of ``solutions/NN_*.ipynb``."""
        return sorted(p.stem for p in self.solutions.glob("*.ipynb") if LESSON_RE.match(p.stem))

    def resolve(self, names: Iterable[str]) -> list[str]:
        """Map lesson names as typed (``01``, ``01_bpe_tokenizer``, a path) to lesson stems.

        No names means every lesson. Raises ``GraderError`` listing the lessons when a name
        matches none (or, for a bare number, several).
        """
        lessons = self.lessons()
        if not lessons:
            solutions = self.relative(self.solutions)
            raise GraderError(f"no lessons found: {solutions} has no NN_*.ipynb")
        names = list(names)
        if not names:
            return lessons
        resolved = []
        for name in names:
            stem = Path(name).stem if name.endswith(".ipynb") or "/" in name else name
            matches = [lesson for lesson in lessons
                       if lesson == stem or (stem.isdigit() and lesson.startswith(stem + "_"))]
            if len(matches) != 1:
                raise GraderError(f"unknown lesson {name!r}; lessons: {', '.join(lessons)}")
            if matches[0] not in resolved:
                resolved.append(matches[0])
        return resolved

    def relative(self, path: Path) -> str:
        """``path`` relative to the kit's root when it lies inside it (for messages)."""
        try:
            return str(Path(path).resolve().relative_to(self.root.resolve()))
        except ValueError:
            return str(path)
