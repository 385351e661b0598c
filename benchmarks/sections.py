"""The committed result tables (``benchmarks/results/*.md``): a header, then ``## title``
sections that each run of a benchmark replaces or appends, keeping the others (a CPU run
leaves the GPU section alone, and hand-written notes survive)."""
from __future__ import annotations

from pathlib import Path


def write_sections(path: Path, header: str, sections: dict[str, str],
                   order: tuple[str, ...] = ()) -> None:
    """Write ``header`` and the ``## title`` sections of ``path`` with ``sections`` replaced or
    appended; titles in ``order`` first, in that order, then the others as they came."""
    existing: dict[str, str] = {}
    if path.exists():
        for part in path.read_text(encoding="utf-8").split("\n## ")[1:]:
            title, _, body = part.partition("\n")
            existing[title.strip()] = body.strip("\n")
    existing.update({title: body.strip("\n") for title, body in sections.items()})
    titles = [t for t in order if t in existing] + [t for t in existing if t not in order]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(header + "".join(f"\n## {t}\n\n{existing[t]}\n" for t in titles),
                    encoding="utf-8")
