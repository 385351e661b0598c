"""Names in a notebook's namespace, and the case time limit's exception (kernel side).

Shared by ``grader.trusted.runner`` and ``grader.trusted.drivers`` (which both run in the
student's kernel), so that neither imports the other's internals: no import cycle.

Tested in ``grader/tests/test_trusted.py``.
"""
from __future__ import annotations


class CaseTimeout(BaseException):
    """A case ran past its limit (a ``BaseException``: ``except Exception`` does not stop it)."""


def lookup(namespace: dict, call: str):
    """``namespace["Tokenizer"].encode`` for ``"Tokenizer.encode"``."""
    head, *rest = call.split(".")
    if head not in namespace:
        raise NameError(f"{head} is not defined")
    found = namespace[head]
    for name in rest:
        found = getattr(found, name)
    return found


def target(namespace: dict, call: str, init=None):
    """``namespace[call]``, or the method ``"Class.method"`` of ``Class(*init[0], **init[1])``."""
    if init is None:
        return lookup(namespace, call)
    head, method = call.rsplit(".", 1)
    args, kwargs = init
    return getattr(lookup(namespace, head)(*args, **kwargs), method)
