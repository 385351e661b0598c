"""``python -m grader release``: student bundles ship nothing that answers their lesson.

Run: ``pytest grader/tests/test_release.py``.
"""
from __future__ import annotations

import zipfile

import pytest
from toy import TOY, make_kit

from grader import ipynb
from grader.errors import GraderError
from grader.generate import generate
from grader.paths import Layout
from grader.release import answers, release


def test_lesson_01_bundle_has_no_solutions_hidden_tests_or_answering_modules(tmp_path):
    kit = Layout()
    built = release(kit, "01", tmp_path)
    files = {p.relative_to(built.folder).as_posix() for p in built.folder.rglob("*") if p.is_file()}
    assert "notebooks/01_bpe_tokenizer.ipynb" in files and "helpers/tokenization.py" in files
    assert not any(f.startswith(("solutions/0", "grader/tests/")) for f in files), sorted(files)
    for module in ("kernels/flash_attention_fast.py", "helpers/reference/model.py",
                   "helpers/reference/resource_accounting.py"):
        assert module not in files and module in built.excluded
    student = ipynb.read(built.folder / "notebooks" / "01_bpe_tokenizer.ipynb")
    text = "\n".join(c.source for c in student.cells)
    assert "BEGIN HIDDEN TESTS" not in text and "heapq.heappush(heap" not in text
    # Every hidden-test line of the source is absent from every bundled file (except a line
    # the student notebook shows anyway, e.g. a visible assert that a hidden test repeats).
    shown = {ln.strip() for c in student.cells for ln in c.source.split("\n")}
    hidden = [ln.strip() for c in ipynb.read(kit.solution("01_bpe_tokenizer")).cells
              for ln in ipynb.hidden_lines(c.source) if len(ln.strip()) > 30
              and ln.strip() not in shown]
    assert len(hidden) > 10
    with zipfile.ZipFile(built.archive) as z:
        blob = "\n".join(z.read(n).decode("utf-8", "replace") for n in z.namelist())
    leaked = [ln for ln in hidden if ln in blob or ln.replace('"', '\\"') in blob]
    assert not leaked, leaked[:3]


def test_a_helper_that_copies_a_solution_is_caught(tmp_path):
    kit = make_kit(tmp_path / "kit")
    generate(kit)
    (kit.root / "helpers").mkdir()
    (kit.root / "helpers" / "leaky.py").write_text(
        "def helper(a, b):\n    _hidden_add_cases = [(-1, 1, 0), (40, 2, 42)]\n"
        "    for a, b, want in _hidden_add_cases:\n"
        "        assert add(a, b) == want, f\"add({a}, {b}) should be {want}\"\n")
    with pytest.raises(GraderError,
                       match=r"(?s)leaks in 1 place.*helpers/leaky.py:2: 3 line\(s\) of 99_toy"):
        release(kit, TOY, tmp_path / "out")


def test_modules_declaring_answers_ship_only_after_their_lesson(tmp_path):
    kit = make_kit(tmp_path / "kit")
    generate(kit)
    (kit.root / "helpers").mkdir()
    (kit.root / "helpers" / "ref.py").write_text('"""A reference."""\nANSWERS = ("99_toy",)\n')
    (kit.root / "helpers" / "later.py").write_text('ANSWERS = "98_other"\n')
    assert answers(kit.root / "helpers" / "ref.py") == ("99_toy",)
    built = release(kit, TOY, tmp_path / "out")
    assert built.excluded == ["helpers/ref.py"]
    assert (built.folder / "helpers" / "later.py").exists()  # 98 comes before 99: done already
    assert (built.folder / "notebooks" / f"{TOY}.ipynb").exists()


def test_answers_live_in_helpers_reference_and_say_which_lessons():
    """Answers by location: every module of ``helpers/reference/`` names the lessons it
    answers, and nothing else in ``helpers/`` does (kernels/ keeps the tuned kernels)."""
    kit = Layout()
    reference = sorted((kit.root / "helpers" / "reference").glob("*.py"))
    undeclared = [p.name for p in reference if p.name != "__init__.py" and not answers(p)]
    assert len(reference) > 5 and not undeclared, undeclared
    lessons = set(kit.lessons())
    assert all(set(answers(p)) <= lessons for p in reference)
    outside = [p.name for p in (kit.root / "helpers").glob("*.py") if answers(p)]
    assert not outside, f"modules that answer a lesson belong in helpers/reference/: {outside}"
