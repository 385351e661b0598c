"""The README's repository tree is the kit's map: it names every lesson, top-level folder and
module, so it cannot drift from the files.

Run: ``pytest grader/tests/test_readme_map.py``.
"""
from __future__ import annotations

import re
import subprocess

from helpers.env import REPO_ROOT

README = REPO_ROOT / "README.md"
# Folders whose Python modules (and, for solutions/, lessons) the tree must name one by one.
MAPPED = ("helpers", "kernels", "grader", "benchmarks", "solutions", "solutions/trusted")


def tree() -> str:
    """The README's fenced block that draws the repository (it starts with ``.``)."""
    blocks = re.findall(r"```\n(\..*?)```", README.read_text(), flags=re.S)
    assert blocks, "README.md has no repository tree (a fenced block starting with '.')"
    return blocks[0]


def tracked() -> list[str]:
    """The files git tracks (a fresh clone has exactly these)."""
    out = subprocess.run(["git", "ls-files"], cwd=REPO_ROOT, capture_output=True, text=True,
                         check=True).stdout
    return [line for line in out.splitlines() if (REPO_ROOT / line).exists()]


def named(drawn: str, name: str) -> bool:
    """Whether the tree names ``name`` as a whole word (``model.py``, ``grader/``)."""
    end = "" if name.endswith("/") else r"(?![\w])"  # a folder may be drawn as `.ci/run`
    return re.search(rf"(?<![\w.]){re.escape(name)}{end}", drawn) is not None


def test_the_tree_names_every_top_level_folder():
    drawn = tree()
    folders = sorted({path.split("/")[0] for path in tracked() if "/" in path})
    missing = [f"{f}/" for f in folders if not named(drawn, f"{f}/")]
    assert not missing, f"README.md's tree does not show these folders: {missing}"


def test_the_tree_names_every_lesson_and_module():
    drawn = tree()
    files = [p for p in tracked() if p.rsplit("/", 1)[0] in MAPPED
             and p.endswith((".py", ".ipynb")) and not p.endswith("__init__.py")
             and not p.endswith("__main__.py")]
    missing = [p for p in files if not named(drawn, p.rsplit("/", 1)[1])]
    assert not missing, (f"README.md's tree does not name these files (add a line with a "
                         f"comment for each): {missing}")


def test_the_lesson_table_lists_every_lesson():
    lessons = sorted(p.stem for p in (REPO_ROOT / "solutions").glob("[0-9][0-9]_*.ipynb"))
    text = README.read_text()
    missing = [lesson for lesson in lessons if f"solutions/{lesson}.ipynb" not in text]
    assert not missing, f"README.md's lesson table has no link to {missing}"
