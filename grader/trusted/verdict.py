"""The one line a student reads when a test cell's trusted cases fail, and its hints.

``hidden checks outside your kernel: 2 of 6 case(s) failed (wrong value): hint: eps goes
inside the square root``: counts, the kinds of failure (never the inputs or expected
values), then the hints of the failed cases (text the spec's author wrote, ``Case.hint``).
``grader.trusted.comparison`` writes it; ``grader.feedback`` shows a ``TrustedCheckFailed``
line in a student's feedback only when it matches ``VERDICT`` exactly, so a kernel cannot
forge another message into the page. A hint is checked when the spec is loaded: at most
``MAX_HINT`` characters of ``HINT_CHARS``.

Tested in ``grader/tests/test_trusted.py`` and ``test_feedback.py``.
"""
from __future__ import annotations

import re

PREFIX = "hidden checks outside your kernel"
HINT_CHARS = r"[\w ,.;:()'/*+=!^-]"  # words and the punctuation of formulas; no markup
MAX_HINT = 160   # characters of one hint
MAX_HINTS = 3    # distinct hints shown per cell (the first failed cases')
HINT = re.compile(rf"{HINT_CHARS}{{1,{MAX_HINT}}}")
VERDICT = re.compile(
    rf"{PREFIX}: \d+ of \d+ case\(s\) failed \([\w ,.;:()-]{{0,300}}\)"
    rf"(?:: hint: {HINT_CHARS}{{1,{MAX_HINTS * (MAX_HINT + 2)}}})?")


def check_hint(text: str) -> str:
    """``text`` if it can be shown as a hint, else ``ValueError`` (the spec's author's)."""
    if type(text) is not str or not HINT.fullmatch(text):
        raise ValueError(f"a hint is 1-{MAX_HINT} characters: letters, digits, spaces and "
                         f"{HINT_CHARS[3:-1]!r}; got {text!r}")
    return text


def failed(count: int, total: int, kinds: list[str], hints: list[str]) -> str:
    """The verdict of a cell: ``count`` of ``total`` cases failed for ``kinds``, with the
    distinct ``hints`` of the failed cases (in order, at most ``MAX_HINTS``)."""
    line = f"{PREFIX}: {count} of {total} case(s) failed ({', '.join(sorted(set(kinds)))})"
    shown = list(dict.fromkeys(h for h in hints if h))[:MAX_HINTS]
    return line + (f": hint: {'; '.join(shown)}" if shown else "")


def no_result(total: int) -> str:
    return (f"{PREFIX}: no result for {total} case(s) (the check did not run to completion: "
            "interrupted, timed out or blocked)")
