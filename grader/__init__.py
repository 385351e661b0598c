"""The autograding pipeline of the kit: ``python -m grader --help`` (see ``README.md``).

Modules, in pipeline order:
    paths           where things live (``Layout``), lesson names
    ipynb           canonical notebook files, stripping, nbgrader cell markup
    jupyter_kernel  the ``lmkit`` Jupyter kernel and the environment of headless runs
    proc            subprocesses with a wall-clock limit that kills the whole tree
    course          the nbgrader course directory and its generated config
    generate        solutions/ -> notebooks/ (``generate``), ``strip``
    check           CI checks: stale or unstripped notebooks, lesson structure
    execute         headless papermill runs with parameters
    samples         sample submissions made from a solution notebook
    autograde       nbgrader autograde, workers, timeouts, statuses, reruns, late penalties
    sandbox         the launcher that confines each student's kernel (limits, uid, no network)
    trusted         the trusted compare (a package): hidden cases run in the kernel, compared
                    outside it; its runner is the kernel side (plain data: JSON, .npz)
    settings        per-assignment settings (grading.toml): timeouts, limits, due date, penalty
    results         one atomic result file per submission: idempotent, resumable grading
    gradebook       scores in and out of the SQLite gradebook, grades.csv
    feedback        feedback HTML without hidden tests
    demo            execute + samples + autograde for every lesson
    nbmodule        import a notebook's definitions without running heavy cells
    cli             the command line
"""
