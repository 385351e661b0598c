"""The one exception type for failures a user can fix (bad lesson name, stale notebook, ...).

- Library functions raise ``GraderError`` with a one-line message that says what is wrong
  and, where there is one, the command that fixes it.
- The command line (``grader.cli``) prints it as ``error: <message>`` and exits with 1;
  anything else that escapes is a bug in the grader and keeps its traceback.
"""
from __future__ import annotations


class GraderError(Exception):
    """A failure caused by the input (files, arguments, environment), not by the grader."""
