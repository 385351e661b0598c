"""Import a notebook's definitions as a module, without running its heavy cells.

Hidden pytest tests (and benchmarks) can test the functions a lesson defines without
re-running its training runs and plots::

    # grader/tests/test_tokenization.py
    from helpers.nbmodule import load_notebook

    def test_train_bpe_merges_the_most_frequent_pair_first(tmp_path):
        mod = load_notebook("solutions/01_bpe_tokenizer.ipynb")  # ~0.5 s, cached
        (tmp_path / "text.txt").write_text("low low low lower")
        vocab, merges = mod.train_bpe(tmp_path / "text.txt", vocab_size=257, special_tokens=[])
        assert merges == [(b"o", b"w")]  # ties with (b"l", b"o"): the greater pair wins

What runs, cell by cell and in order (everything else is skipped):

- imports (``import x``, ``from x import y``; ``from __future__`` flags carry over to later
  cells, as in IPython);
- function and class definitions, decorated ones included, so
  ``@add_to_class(Tokenizer)`` attaches its method as it does in the notebook;
- assignments (plain or annotated) to names of constant expressions: literals
  (``ast.literal_eval``-able, with ``+ - * / // % **`` between them), names of
  constants assigned before, ``ALL_CAPS`` names, and attributes of imported modules
  (``DTYPE = torch.float32``);
- assignments to ``ALL_CAPS`` names, whatever the value: PEP 8's module constants
  (``PRETOKEN_RE = re.compile(GPT2_PATTERN)``). Keep heavy results in lowercase names or
  names with a leading underscore (``_O = attention(...)`` is a scratch value, not a constant).

Skipped: calls, prints, loops, training runs, plots; IPython syntax (``%magic``, ``!cmd``,
``%%cell`` magics; translated by IPython, then skipped as calls); and test cells (nbgrader
``grade: true``). Paths are relative to the working directory; the module is cached per
(path, modification time, name) and registered in ``sys.modules`` (dataclasses and pickle
need that). It lives in ``helpers`` (the grader re-exports it as ``grader.nbmodule``) because
helpers use it too (``helpers.ddp_train --notebook``, ``helpers.training_service``), and
helpers never import the grader. Tested in ``grader/tests/test_nbmodule.py``.
"""
from __future__ import annotations
import __future__

import ast
import linecache
import re
import sys
import types
from pathlib import Path

import nbformat

_CACHE: dict[tuple[Path, int, str], types.ModuleType] = {}
_OPERATORS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow)


def load_notebook(path: str | Path, name: str | None = None) -> types.ModuleType:
    """The definitions of the notebook at ``path`` as a module named ``name``.

    ``name`` defaults to ``nb_<stem>`` (``nb_01_bpe_tokenizer``).
    """
    path = Path(path).resolve()
    name = name or "nb_" + re.sub(r"\W", "_", path.stem)
    key = (path, path.stat().st_mtime_ns, name)
    if key not in _CACHE:
        _CACHE[key] = _load(path, name)
    return _CACHE[key]


def _load(path: Path, name: str) -> types.ModuleType:
    nb = nbformat.read(str(path), as_version=4)
    module = types.ModuleType(name, f"Definitions of {path.name}")
    module.__file__ = str(path)
    sys.modules[name] = module
    flags, constants = 0, set()
    try:
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code" or _is_test(cell):
                continue
            source, filename = _python_source(cell.source), f"<{path.name} cell {index}>"
            tree = ast.parse(source, filename=filename)
            tree.body = [node for node in tree.body if _keep(node, constants)]
            if not tree.body:
                continue
            linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
            exec(compile(tree, filename, "exec", flags=flags, dont_inherit=True), module.__dict__)
            flags |= _future_flags(tree)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def _is_test(cell: nbformat.NotebookNode) -> bool:
    """An nbgrader test cell (``grade: true``): the loader skips it."""
    return bool((cell.get("metadata", {}).get("nbgrader", {}) or {}).get("grade"))


def _python_source(source: str) -> str:
    """Cell source with IPython syntax (magics, shell escapes) turned into Python calls."""
    if not re.search(r"^\s*[%!]|=\s*[%!]|\?\s*$", source, re.MULTILINE):
        return source
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager().transform_cell(source)


def _keep(node: ast.stmt, constants: set[str]) -> bool:
    """Whether a top-level statement is a definition (and note constants it defines)."""
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        constants.update((a.asname or a.name).split(".")[0] for a in node.names)
        return True
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return True
    if isinstance(node, ast.AnnAssign):
        targets, value = [node.target], node.value
    elif isinstance(node, ast.Assign):
        targets, value = node.targets, node.value
    else:
        return False
    names = [n for t in targets for n in (t.elts if isinstance(t, ast.Tuple) else [t])]
    if not all(isinstance(n, ast.Name) for n in names):
        return False
    all_caps = all(_is_all_caps(n.id) for n in names)
    if value is not None and not all_caps and not _is_constant(value, constants):
        return False
    constants.update(n.id for n in names)
    return True


def _is_constant(node: ast.expr, constants: set[str]) -> bool:
    """A literal, a known constant or module attribute, or arithmetic between them."""
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.Name):
        return node.id in constants or _is_all_caps(node.id)
    if isinstance(node, ast.Attribute):
        return _is_constant(node.value, constants)
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return all(_is_constant(e, constants) for e in node.elts)
    if isinstance(node, ast.Dict):
        return all(k is not None and _is_constant(k, constants) for k in node.keys) and \
            all(_is_constant(v, constants) for v in node.values)
    if isinstance(node, ast.UnaryOp):
        return isinstance(node.op, (ast.USub, ast.UAdd, ast.Not, ast.Invert)) and \
            _is_constant(node.operand, constants)
    if isinstance(node, ast.BinOp):
        return isinstance(node.op, _OPERATORS) and _is_constant(node.left, constants) and \
            _is_constant(node.right, constants)
    return False


def _is_all_caps(name: str) -> bool:
    # "VOCAB_SIZE", "GPT2_PATTERN"; not "_", "x", or a notebook's scratch names such as "_O"
    return name.isupper() and not name.startswith("_")


def _future_flags(tree: ast.Module) -> int:
    """Compiler flags of the ``from __future__`` imports in ``tree``."""
    flags = 0
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module == "__future__":
            for alias in node.names:
                flags |= getattr(__future__, alias.name).compiler_flag
    return flags
