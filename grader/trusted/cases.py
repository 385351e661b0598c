"""The trusted cases a lesson's author writes: ``Case`` and one keyword builder per driver.

A spec (``solutions/trusted/NN_topic.py``) maps each graded test cell to its cases::

    from grader.trusted import Case, args, module_case

    CASES = {
        "test_add": [Case("add", -1, 1), Case("add", 0.1, 0.2).close(rtol=1e-12)],
        "test_RMSNorm": [
            module_case("RMSNorm", init=args(8, eps=0.5), state={"weight": w}, inputs=[x],
                        hint="eps goes inside the square root").close(rtol=2e-5),
        ],
    }

- ``Case(call, *args, **kwargs)`` calls a notebook function (``call`` may be dotted:
  ``"Tokenizer.from_files"``) on hidden inputs: plain data built in the spec (numbers,
  strings, bytes, lists, dicts, arrays and tensors from seeded generators).
- A builder (``module_case``, ``autograd_case``, ... below: one per driver of
  ``grader.trusted.drivers``) makes the case of an API that takes more than ``f(*args)``:
  a module with given weights, an optimizer stepped on given gradients, files, a kernel
  launch. Every builder takes keywords only after the function's name, and ``hint=``.
- Options, on any case (each returns the case): ``.close(rtol, atol)``, ``.any_dtype()``,
  ``.attrs(*names)``, ``.instance(*args, **kwargs)``, ``.raises(name)``, ``.expect(value)``,
  ``.within_factor(f)`` and ``.hint(text)`` (``Case`` below).
- A **hint** is shown to the student when the case fails, after the counts: "2 of 6
  case(s) failed (wrong value): hint: eps goes inside the square root". It must not give
  the hidden inputs or values away (``grader.trusted.verdict`` checks its characters).

The old positional form of a driver case (``Case("@module", "RMSNorm", (8,), {}, state,
[x])``) still works: a builder makes exactly such a case. Imported by specs (in the
reference subprocess and in tests), never by the student's kernel.

Tested in ``grader/tests/test_trusted.py``.
"""
from __future__ import annotations

from grader.trusted import plain
from grader.trusted.verdict import check_hint

SOLUTION = object()  # a case's answer is the solution's output unless .expect(value) says


class Case:
    """One call of a notebook function on hidden inputs, and how to compare its result.

    ``Case("fit_power_law", x, y)`` calls ``fit_power_law(x, y)``. Options (each returns
    the case):

    - ``.close(rtol=..., atol=...)``: numbers and arrays within ``np.allclose`` tolerances
      (default: exact; NaN equals NaN);
    - ``.any_dtype()``: arrays and tensors of another dtype are accepted (shape always counts);
    - ``.attrs("a", "b")``: compare these attributes of the returned object (a dataclass)
      instead of the object itself;
    - ``.instance(*args, **kwargs)``: ``call`` is ``"Class.method"``; the method is called on
      ``Class(*args, **kwargs)``;
    - ``.raises("ValueError")``: the answer is an exception of that name; the solution must
      raise it, and so must the student's function. An exception the case does not declare
      stops the reference (a misspelt call, a broken input), so no case can expect one by
      accident;
    - ``.expect(value)``: the answer is ``value``, computed by the spec (a hidden truth, e.g.
      a simulated law's true optimum), not the solution's output; the solution must match it
      within the case's tolerances too, or the reference stops;
    - ``.within_factor(f)``: positive numbers and arrays match when within a factor ``f`` of
      the answer (``|ln(got / want)| <= ln f``); other values compare as usual;
    - ``.hint(text)``: what the student's feedback says when this case fails.

    A call that starts with ``@`` is a driver of ``grader.trusted.drivers``, called with the
    notebook's namespace first; write it with that driver's builder (``module_case``, ...).
    """

    def __init__(self, call: str, *args, **kwargs):
        self.call, self.args, self.kwargs = call, args, kwargs
        self.rtol: float | None = None
        self.atol = 0.0
        self.dtype = True
        self.attributes: tuple[str, ...] | None = None
        self.init: tuple[tuple, dict] | None = None
        self.raised: str | None = None
        self.expected = SOLUTION
        self.factor: float | None = None
        self.hint_text: str | None = None

    def close(self, rtol: float = 1e-7, atol: float = 0.0) -> Case:
        self.rtol, self.atol = float(rtol), float(atol)
        return self

    def any_dtype(self) -> Case:
        self.dtype = False
        return self

    def attrs(self, *names: str) -> Case:
        self.attributes = names
        return self

    def raises(self, name: str | None) -> Case:
        """The answer is an exception of this class name (the solution must raise it)."""
        self.raised = name
        return self

    def expect(self, value) -> Case:
        """The answer is ``value`` (plain data), not the solution's output."""
        self.expected = value
        return self

    def within_factor(self, factor: float) -> Case:
        if not factor > 1:
            raise ValueError(f"within_factor needs a factor above 1, got {factor}")
        self.factor = float(factor)
        return self

    def instance(self, *args, **kwargs) -> Case:
        self.init = (args, kwargs)
        return self

    def hint(self, text: str | None) -> Case:
        """Shown in the student's feedback when this case fails (``None``: no hint)."""
        self.hint_text = None if text is None else check_hint(text)
        return self

    def inputs(self, arrays: dict) -> dict:
        """What the runner needs (``arrays`` collects the inputs' arrays)."""
        return {"call": self.call, "args": plain.encode(tuple(self.args), arrays),
                "kwargs": plain.encode(dict(self.kwargs), arrays),
                "init": None if self.init is None else plain.encode(self.init, arrays),
                "attrs": list(self.attributes) if self.attributes else None}

    def options(self) -> dict:
        """How to compare (kept with the expected outputs, out of the kernel's sight)."""
        options = {"rtol": self.rtol, "atol": self.atol, "dtype": self.dtype,
                   "factor": self.factor}
        return options if self.hint_text is None else {**options, "hint": self.hint_text}


# --- builders: one per driver ----------------------------------------------------------------


class Args:
    """Positional and keyword arguments of a call (``args(8, eps=0.5)``)."""

    def __init__(self, *args, **kwargs):
        self.args, self.kwargs = tuple(args), dict(kwargs)

    def __repr__(self) -> str:
        return f"args(*{self.args!r}, **{self.kwargs!r})"


args = Args  # ``init=args(8, eps=0.5)`` reads as the call it stands for


def _split(init) -> tuple[tuple, dict]:
    """``(args, kwargs)`` of a constructor call: ``args(...)``, a tuple or list (positional)
    or a dict (keywords)."""
    if isinstance(init, Args):
        return init.args, init.kwargs
    if isinstance(init, dict):
        return (), dict(init)
    if isinstance(init, (tuple, list)):
        return tuple(init), {}
    raise TypeError(f"init: args(...), a tuple or a dict, not {type(init).__name__}")


def _driver(name: str, *positional, hint: str | None = None, **keywords) -> Case:
    return Case(f"@{name}", *positional, **keywords).hint(hint)


def recipe(cls: str, *init, state: dict | None = None, attrs: dict | None = None,
           **kwargs) -> dict:
    """How ``with_module_case`` builds a module: ``cls(*init, **kwargs)`` (a recipe among
    them is built first), loaded with ``state``, then ``attrs`` set. ``cls``: a notebook
    name or a dotted torch one (``"torch.nn.Embedding"``)."""
    built: dict = {"class": cls}
    if init:
        built["args"] = tuple(init)
    if kwargs:
        built["kwargs"] = kwargs
    if state is not None:
        built["state"] = state
    if attrs is not None:
        built["attrs"] = attrs
    return built


def module_case(cls: str, *, init=(), state: dict | None = None, inputs=(), grad_output=None,
                hint: str | None = None) -> Case:
    """``cls(*init)`` loaded with ``state`` (strict), called on ``inputs``: its output, or
    with ``grad_output`` ``(output, [input gradients], {parameter: gradient})``."""
    init_args, init_kwargs = _split(init)
    extra = () if grad_output is None else (grad_output,)
    return _driver("module", cls, init_args, init_kwargs, {} if state is None else state,
                   list(inputs), *extra, hint=hint)


def with_module_case(call: str, module: dict, *, args=(), kwargs: dict | None = None,
                     grad_output=None, hint: str | None = None) -> Case:
    """``call(module, *args, **kwargs)``, ``module`` built from a ``recipe``; ``call`` is a
    function (``"generate"``) or an unbound method (``"TransformerBlock.forward"``); with
    ``grad_output``, output and gradients as ``module_case``."""
    extra = () if kwargs is None and grad_output is None else (kwargs,)
    extra += () if grad_output is None else (grad_output,)
    return _driver("with_module", call, module, list(args), *extra, hint=hint)


def autograd_case(call: str, *, inputs, grad_output, hint: str | None = None,
                  **kwargs) -> Case:
    """``call(*inputs, **kwargs)`` on leaf copies, then ``backward(grad_output)``: output
    and the inputs' gradients."""
    return _driver("autograd", call, list(inputs), grad_output, hint=hint, **kwargs)


def optimizer_steps_case(cls: str, *, params, grads, groups=None, lrs=None, reload_at=None,
                         hint: str | None = None, **hyper) -> Case:
    """``cls(params, **hyper)`` stepped once per list of ``grads`` (``None``: no gradient);
    ``groups``: parameter groups by index; ``lrs``: the lr set before each step;
    ``reload_at``: after that many steps, a new optimizer resumes from ``state_dict()``."""
    extra = {k: v for k, v in (("groups", groups), ("lrs", lrs), ("reload_at", reload_at))
             if v is not None}
    return _driver("optimizer_steps", cls, list(params), grads, hint=hint, **extra, **hyper)


def clip_gradients_case(call: str, *, grads, args=(), kwargs: dict | None = None,
                        hint: str | None = None) -> Case:
    """``call(params, *args, **kwargs)`` on parameters whose ``.grad`` are ``grads``
    (``None``: no gradient): the gradients afterwards."""
    return _driver("clip_gradients", call, list(grads), *args, hint=hint, **(kwargs or {}))


def with_files_case(call: str, *, files: dict, args=(), kwargs: dict | None = None,
                    init=None, hint: str | None = None) -> Case:
    """``call`` with each argument equal to a name of ``files`` ({name: str or bytes})
    replaced by the path of a temporary file holding that content."""
    return _driver("with_files", call, files, hint=hint, **_call_keywords(args, kwargs, init))


def iterate_case(call: str, *, args=(), kwargs: dict | None = None, init=None,
                 limit: int | None = None, hint: str | None = None) -> Case:
    """``list(call(*args, **kwargs))`` (a list argument passed as an iterator over it);
    ``init``: ``call`` is ``"Class.method"`` of ``Class(*init)``."""
    extra = {} if init is None else {"init": _split(init)}
    extra |= {} if limit is None else {"limit": limit}
    return _driver("iterate", call, *args, hint=hint, **extra, **(kwargs or {}))


def with_objects_case(call: str, *, objects: dict, args=(), kwargs: dict | None = None,
                      init=None, hint: str | None = None) -> Case:
    """``call`` with each argument equal to a name of ``objects`` replaced by the object it
    names: a dotted name (``"torch.bfloat16"``) or a call ``(name, args, kwargs)``."""
    return _driver("with_objects", call, objects, hint=hint,
                   **_call_keywords(args, kwargs, init))


def _call_keywords(args, kwargs, init) -> dict:
    keywords: dict = {"args": tuple(args)}
    if kwargs is not None:
        keywords["kwargs"] = kwargs
    if init is not None:
        keywords["init"] = _split(init)
    return keywords


def checkpoint_case(call: str, *, mode: str, sizes, states, grads, iteration: int,
                    target: str = "path", hint: str | None = None) -> Case:
    """``mode="save"``: ``call(model, optimizer, iteration, out)`` on torch's own modules,
    read back; ``"load"``: ``call(src, model, optimizer)`` on a documented checkpoint, what
    it restored. ``target``: ``"path"``, ``"pathlib"`` or ``"file"``."""
    return _driver("checkpoint", call, mode, sizes, states, grads, iteration, target=target,
                   hint=hint)


def launch_case(kernel: str, *, grid, args, kwargs: dict | None = None, outputs=(),
                hint: str | None = None) -> Case:
    """``kernel[grid](*args, **kwargs)`` (Triton); the tensors ``args[i] for i in outputs``
    after the launch."""
    return _driver("launch", kernel, tuple(grid), list(args), kwargs or {},
                   outputs=list(outputs), hint=hint)


def with_service_case(call: str, *, seed: int, keys=("N", "D", "loss"),
                      budget_multiple: float | None = None, hint: str | None = None) -> Case:
    """``call(service, budget_multiple * budget)`` on lesson 06's ``TrainingService(seed)``:
    ``keys`` of its result and ``within_budget``."""
    extra = {} if budget_multiple is None else {"budget_multiple": budget_multiple}
    return _driver("with_service", call, seed, keys=tuple(keys), hint=hint, **extra)


def with_statistic_case(call: str, *, columns: dict, statistic: list,
                        hint: str | None = None, **kwargs) -> Case:
    """``call(pd.DataFrame(columns), statistic_function, **kwargs)``, the statistic from a
    plain recipe (``["mean", "x"]``: ``grader.trusted.drivers._statistic`` lists them)."""
    return _driver("with_statistic", call, columns, statistic, hint=hint, **kwargs)


def with_clock_case(call: str, *, costs, queued: bool, keys=None, hint: str | None = None,
                    **kwargs) -> Case:
    """``call(fn, **kwargs)`` on a simulated clock: the ``k``-th call of ``fn`` costs
    ``costs[k]`` seconds, at once or queued like a GPU kernel (``queued``)."""
    extra = {} if keys is None else {"keys": tuple(keys)}
    return _driver("with_clock", call, list(costs), queued, hint=hint, **extra, **kwargs)


def on_ranks_case(job: str, *, objects: dict, hint: str | None = None, **kwargs) -> Case:
    """``job`` (a function of a ``helpers.`` module) on 2 gloo ranks, given the notebook's
    functions or classes ``objects`` ({keyword: name}) and plain ``kwargs``: each rank's
    result."""
    return _driver("on_ranks", job, objects, hint=hint, **kwargs)


BUILDERS = {"module": module_case, "with_module": with_module_case,
            "autograd": autograd_case, "optimizer_steps": optimizer_steps_case,
            "clip_gradients": clip_gradients_case, "with_files": with_files_case,
            "iterate": iterate_case, "with_objects": with_objects_case,
            "checkpoint": checkpoint_case, "launch": launch_case,
            "with_service": with_service_case, "with_statistic": with_statistic_case,
            "with_clock": with_clock_case, "on_ranks": on_ranks_case}
