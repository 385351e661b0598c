"""``python -m grader.trusted reference SPEC SOLUTION OUT``: a spec's reference
(``grader.trusted.expected``), run by ``grader.trusted.grading.prepare`` in a subprocess, or
by hand to check a spec."""
from __future__ import annotations

import argparse
from pathlib import Path

from grader.trusted.expected import reference


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m grader.trusted")
    sub = parser.add_subparsers(dest="command", required=True)
    ref = sub.add_parser("reference", help="write inputs and expected outputs of a spec")
    ref.add_argument("spec", type=Path)
    ref.add_argument("solution", type=Path)
    ref.add_argument("out", type=Path)
    args = parser.parse_args(argv)
    reference(args.spec, args.solution, args.out)


if __name__ == "__main__":
    main()
