"""The command line: ``python -m grader <command> --help``.

- One subcommand per pipeline step, each a thin wrapper over a function that tests call
  directly (``grader.generate.generate``, ``grader.autograde.autograde``, ...).
- Exit status: 0 success, 1 a failure (stale notebooks, failed lessons, ``GraderError``,
  printed as one line ``error: ...``), 2 bad arguments (argparse), 130 interrupted.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from grader.errors import GraderError
from grader.paths import REPO_ROOT, Layout

EPILOG = """\
typical use:
  python -m grader check                      # CI: are notebooks/ up to date and clean?
  python -m grader generate 01                # solutions/01_*.ipynb -> notebooks/01_*.ipynb
  python -m grader execute 01 -p scale full   # run a lesson headlessly (GPU-sized)
  python -m grader autograde 01 submissions/  # grade <student>/01_*.ipynb files
  python -m grader demo                       # execute, sample and autograde every lesson
"""


def positive(kind):
    """An argparse type: a number of ``kind`` greater than 0."""
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be greater than 0, got {text}")
        return value
    return parse


def parser() -> argparse.ArgumentParser:
    from grader.course import DEFAULT_CELL_TIMEOUT
    from grader.settings import DEFAULT_NOTEBOOK_TIMEOUT

    top = argparse.ArgumentParser(
        prog="python -m grader", description="Generate, check, run and autograde the lessons.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    top.add_argument("--root", type=Path, default=REPO_ROOT,
                     help="the kit's root directory (default: this repository)")
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help: str) -> argparse.ArgumentParser:
        return commands.add_parser(name, help=help, description=help)

    lessons_help = "lessons by number (01), stem (01_bpe_tokenizer) or path; default: all"
    command("install-kernel", "install the 'lmkit' Jupyter kernel and the kit's JupyterLab "
            "settings for this Python (--sys-prefix)")

    p = command("formgrader", "as an instructor: JupyterLab on build/course with nbgrader's "
                "formgrader showing the lessons")
    p.add_argument("--port", type=positive(int), default=8888, help="default: 8888")

    p = command("generate", "write notebooks/<lesson>.ipynb from solutions/ with nbgrader")
    p.add_argument("lessons", nargs="*", metavar="LESSON", help=lessons_help)

    p = command("check", "check that notebooks/ is up to date and all notebooks are clean")
    p.add_argument("lessons", nargs="*", metavar="LESSON", help=lessons_help)

    p = command("strip", "remove outputs and execution counts from notebooks, in place")
    p.add_argument("paths", nargs="*", type=Path, metavar="PATH",
                   help="notebooks; default: solutions/*.ipynb and notebooks/*.ipynb")

    p = command("execute", "run lessons headlessly with papermill")
    p.add_argument("lessons", nargs="*", metavar="LESSON", help=lessons_help)
    p.add_argument("-p", "--parameter", nargs=2, action="append", default=[],
                   metavar=("NAME", "VALUE"), help="set a parameter, e.g. -p scale full")
    p.add_argument("--notebooks", choices=("solutions", "notebooks"), default="solutions",
                   help="which version to run (default: solutions)")
    p.add_argument("--out", type=Path, help="folder for executed copies (default: build/executed)")
    p.add_argument("--timeout-cell", type=positive(int), metavar="S",
                   help="fail a cell after S seconds (default: no limit)")

    p = command("samples", "write sample submissions of a lesson (solution, untouched, ...)")
    p.add_argument("lesson", metavar="LESSON")
    p.add_argument("--out", type=Path, help="folder of <student>/<lesson>.ipynb "
                   "(default: build/samples/<lesson>)")

    p = command("autograde", "autograde submissions of a lesson with nbgrader")
    p.add_argument("lesson", metavar="LESSON")
    p.add_argument("submissions", type=Path, metavar="SUBMISSIONS_DIR",
                   help="<student>/<lesson>.ipynb folders, or <student>.ipynb files")
    add_grading_options(p, DEFAULT_CELL_TIMEOUT, DEFAULT_NOTEBOOK_TIMEOUT, configurable=True)
    p.add_argument("--regrade", action="append", metavar="STUDENT",
                   help="grade only this student, even if up to date (repeatable)")
    p.add_argument("--config", type=Path, metavar="TOML",
                   help="per-assignment settings: due date, late penalty, timeouts, limits "
                        "(default: grading.toml at the kit's root, if any; see grader/README.md)")
    p.add_argument("--sandbox", choices=("auto", "off"),
                   help="auto: confine kernels as far as this OS allows (default); "
                        "off: run them unconfined (trusted notebooks only)")
    p.add_argument("--cluster", choices=("local", "slurm"),
                   help="run the grading jobs through submitit (local: its LocalExecutor; "
                        "slurm: a Slurm job array) instead of --workers threads")
    p.add_argument("--cluster-dir", type=Path, metavar="DIR",
                   help="with --cluster: a folder the nodes share (not inside build/)")
    p.add_argument("--slurm", action="append", default=[], metavar="KEY=VALUE",
                   help="a Slurm parameter for submitit, e.g. partition=cpu (repeatable)")

    p = command("release",
                "build a lesson's student bundle (build/release/) and check it for leaks")
    p.add_argument("lesson", metavar="LESSON", help=lessons_help.replace("; default: all", ""))
    p.add_argument("--out", type=Path, help="directory for the bundle (default: build/release)")

    p = command("demo", "execute every lesson, then autograde its sample submissions")
    p.add_argument("--lessons", nargs="+", default=[], metavar="LESSON", help=lessons_help)
    add_grading_options(p, None, DEFAULT_NOTEBOOK_TIMEOUT)
    return top


def add_grading_options(p: argparse.ArgumentParser, cell: int | None, notebook: float,
                        configurable: bool = False) -> None:
    """``cell=None``: the demo's default, fitted to each lesson (``grader.demo``)."""
    where = ", or the settings file's" if configurable else ""
    cell_default = (f"{cell}{where}" if cell is not None else
                    "5x the slowest cell of the lesson's solution run, at least 90 s")
    p.add_argument("--timeout-cell", type=positive(int), default=None if configurable else cell,
                   metavar="S",
                   help=f"nbgrader stops a cell after S seconds (default: {cell_default})")
    p.add_argument("--timeout-notebook", type=positive(float), metavar="S",
                   default=None if configurable else notebook,
                   help=f"a submission scores 0 after S seconds (default: {notebook:g}{where})")
    p.add_argument("--workers", type=positive(int), default=1, metavar="N",
                   help="submissions graded in parallel (default: 1)")


def run(args: argparse.Namespace) -> int:
    """Run the parsed command; return the exit status."""
    layout = Layout(args.root.resolve())
    if args.command == "install-kernel":
        from grader.jupyter_kernel import install_kernel
        from grader.lab import install_lab_config

        print(f"installed kernel 'lmkit' in {install_kernel()}")
        print("JupyterLab settings (nbgrader: Validate only): "
              + ", ".join(str(p) for p in install_lab_config()))
    elif args.command == "formgrader":
        import subprocess

        from grader.lab import instructor_config, lab_command, prepare_course

        course = prepare_course(layout)
        settings = instructor_config(course.root / ".instructor", course.root)
        argv, env = lab_command(course.root, port=args.port, browser=True, instructor=settings)
        print(f"JupyterLab on {layout.relative(course.root)}: Nbgrader > Formgrader "
              "lists the lessons; Ctrl-C stops it")
        return subprocess.run(argv, env=env, cwd=course.root).returncode
    elif args.command == "generate":
        from grader.generate import generate

        for lesson, changed in generate(layout, args.lessons).items():
            path = layout.relative(layout.student_notebook(lesson))
            print(f"{'wrote' if changed else 'unchanged'} {path}")
    elif args.command == "check":
        from grader.check import check

        problems = check(layout, args.lessons)
        for problem in problems:
            print(problem)
        print(f"check: {len(problems)} problem(s)" if problems else "check: ok")
        return 1 if problems else 0
    elif args.command == "strip":
        from grader.generate import committed_notebooks, strip_files

        changed = strip_files(args.paths or committed_notebooks(layout))
        print("\n".join(f"stripped {layout.relative(p)}" for p in changed) or "nothing to strip")
    elif args.command == "execute":
        from grader.execute import execute, parse_value

        runs = execute(layout, args.lessons,
                       parameters={name: parse_value(value) for name, value in args.parameter},
                       source=args.notebooks, out_dir=args.out, cell_timeout=args.timeout_cell)
        failed = [run for run in runs if not run.ok]
        print(f"executed {len(runs)} lesson(s), {len(failed)} failed; copies and logs in "
              f"{layout.relative(runs[0].output.parent)}")
        return 1 if failed else 0
    elif args.command == "samples":
        from grader.samples import make_samples

        [lesson] = layout.resolve([args.lesson])
        for student, path in make_samples(layout, lesson, out_dir=args.out).items():
            print(f"{student:<10} {layout.relative(path)}")
    elif args.command == "autograde":
        from grader.autograde import autograde, format_table
        from grader.settings import load

        [lesson] = layout.resolve([args.lesson])
        settings = load(lesson, args.config, layout.root, cell_timeout=args.timeout_cell,
                        notebook_timeout=args.timeout_notebook, sandbox=args.sandbox)
        executor = None
        if args.cluster:
            from grader.cluster import executor as make_executor

            if not args.cluster_dir:
                raise GraderError("--cluster needs --cluster-dir (a folder the nodes share)")
            slurm = dict(item.split("=", 1) for item in args.slurm if "=" in item)
            executor = make_executor(args.cluster, args.cluster_dir, **slurm)
        results = autograde(lesson, args.submissions, layout=layout, settings=settings,
                            workers=args.workers, regrade=args.regrade, executor=executor,
                            cluster_dir=args.cluster_dir)
        print(format_table(results))
        print_outputs(layout, layout.course)
    elif args.command == "release":
        from grader.release import release

        built = release(layout, args.lesson, args.out)
        print(f"bundle:  {layout.relative(built.folder)} ({layout.relative(built.archive)})")
        excluded = ", ".join(built.excluded) or "nothing"
        print(f"left out (they answer this or a later lesson): {excluded}")
    elif args.command == "demo":
        from grader.demo import demo

        found = demo(layout, args.lessons, workers=args.workers, cell_timeout=args.timeout_cell,
                     notebook_timeout=args.timeout_notebook)
        print(found.table())
        print_outputs(layout, layout.demo_course)
        for problem in found.problems():
            print(f"FAILED {problem}")
        return 1 if found.problems() else 0
    return 0


def print_outputs(layout: Layout, course: Path) -> None:
    print(f"grades:   {layout.relative(course / 'grades.csv')}")
    feedback = layout.relative(course / "feedback")
    print(f"feedback: {feedback}/<student>/<lesson>/<lesson>.html")


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return run(args)
    except GraderError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
