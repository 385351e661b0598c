"""Small conveniences for writing lessons in notebooks.

- ``add_to_class`` lets a lesson build a class one method per cell (as d2l does), so each
  method is its own graded exercise.
"""
from __future__ import annotations

from typing import Callable


def add_to_class(cls: type) -> Callable:
    """Decorator: attach the decorated function (or classmethod/staticmethod) to ``cls``.

    Example::

        @add_to_class(Tokenizer)
        def decode(self, ids): ...
    """

    def wrapper(fn):
        name = getattr(fn, "__name__", None) or fn.__func__.__name__
        setattr(cls, name, fn)
        return fn

    return wrapper
