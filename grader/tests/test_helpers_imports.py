"""The shape of ``helpers``: it never imports the grader, and its modules import each other
without cycles (imports inside functions count: a late import only hides a cycle).

Run: ``pytest grader/tests/test_helpers_imports.py``.
"""
from __future__ import annotations

import ast

from helpers.env import REPO_ROOT

HELPERS = REPO_ROOT / "helpers"


def module_name(path) -> str:
    parts = path.relative_to(REPO_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path, package: str = "helpers") -> set[str]:
    """Every module that ``path`` imports, anywhere in the file (absolute names); relative
    imports are resolved against ``package``, the package ``path`` is in."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from . import x, from .y import z
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def graph() -> dict[str, set[str]]:
    """helpers module -> the helpers modules it imports."""
    modules = {module_name(p): p for p in sorted(HELPERS.rglob("*.py"))}
    package = {name: name if path.name == "__init__.py" else name.rpartition(".")[0]
               for name, path in modules.items()}
    return {name: {m for m in imports(path, package[name]) if m in modules and m != name}
            for name, path in modules.items()}


def test_helpers_never_import_the_grader():
    offenders = {module_name(p): sorted(m for m in imports(p) if m.split(".")[0] == "grader")
                 for p in sorted(HELPERS.rglob("*.py"))}  # relative imports stay in helpers
    offenders = {k: v for k, v in offenders.items() if v}
    assert not offenders, (f"helpers must not import grader (grader imports helpers): "
                           f"{offenders}; move what they need into helpers/")


def find_cycle(edges: dict[str, set[str]]) -> list[str]:
    """One import cycle of the graph (``[a, b, a]``), or ``[]`` when there is none."""
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> list[str]:
        if name in path:
            return path[path.index(name):] + [name]
        if name in done:
            return []
        for other in sorted(edges.get(name, ())):
            if cycle := visit(other, path + [name]):
                return cycle
        done.add(name)
        return []

    return next((c for c in (visit(n, []) for n in sorted(edges)) if c), [])


def test_helpers_import_each_other_without_cycles():
    cycle = find_cycle(graph())
    assert not cycle, f"import cycle in helpers: {' -> '.join(cycle)}"


def test_the_checks_see_a_cycle_and_a_grader_import(tmp_path):
    """The two checks above are not vacuous: the graph sees function-level imports."""
    edges = graph()
    assert "helpers.story_generator" in edges["helpers.mixed_text"]
    assert "helpers.env" in edges["helpers.stories"]
    late = tmp_path / "late.py"
    late.write_text("def f():\n    from grader.nbmodule import load_notebook\n"
                    "from . import stories\n")
    assert {"grader.nbmodule", "helpers.stories"} <= imports(late)
    edges["helpers.story_generator"] = {"helpers.mixed_text"}  # the cycle of before the split
    assert find_cycle(edges) == ["helpers.mixed_text", "helpers.story_generator",
                                 "helpers.mixed_text"]
