"""Drivers of the trusted compare: calls that take more than ``f(*args)`` (kernel side).

A case whose call starts with ``@`` runs a driver from this module instead of a notebook
function, with the notebook's namespace first: ``Case("@module", "RMSNorm", (8,), {},
state, [x])`` calls ``module(namespace, "RMSNorm", (8,), {}, state, [x])`` in the student's
kernel (and in the reference subprocess on the solution), which builds the student's
``RMSNorm(8)``, loads ``state`` and returns its output for ``x``. Specs do not write these
positional forms: each driver has a keyword builder in ``grader.trusted.cases`` (the
example under each driver below). Drivers are glue, not answers: they are imported into
the student's kernel (by ``grader.trusted.runner``) and only turn plain inputs into the
objects a notebook's API takes and its results back into plain data. The grade is decided
outside the kernel (``grader.trusted.comparison``) as for any case.

- ``module``: a module with given weights; its output, or output and gradients.
  ``module_case("RMSNorm", init=args(8, eps=0.5), state={"weight": w}, inputs=[x])``
- ``with_module``: a function (or an unbound method) that takes a module first, built from
  a recipe (nested modules first). ``with_module_case("generate", recipe("torch.nn.Embedding",
  10, 10, state=s), args=[[3], 6], kwargs={"temperature": 0})``
- ``autograd``: a function on tensors; output and input gradients.
  ``autograd_case("softmax", inputs=[x], grad_output=g, dim=-1)``
- ``optimizer_steps``: an optimizer class over given parameters, stepped on given gradients
  (optionally resumed from its ``state_dict()`` midway).
  ``optimizer_steps_case("AdamW", params=[w], grads=[[g1], [g2]], lr=0.1)``
- ``clip_gradients``: a function that rescales ``.grad`` in place; the gradients after it.
  ``clip_gradients_case("gradient_clipping", grads=[g, None], args=[1.0])``
- ``with_files``: a function that reads paths; the contents are written to a temporary
  folder first. ``with_files_case("train_bpe", files={"c.txt": text}, args=["c.txt", 300])``
- ``iterate``: a function that returns an iterator; its items as a list.
  ``iterate_case("Tokenizer.encode_iterable", args=[lines], init=args(vocab, merges))``
- ``with_objects``: a function that takes objects (a config dataclass, a dtype) built from
  plain data first. ``with_objects_case("nbytes", objects={"dt": "torch.bfloat16"},
  args=["dt", 10])``
- ``checkpoint``: save or load functions on torch's own model and AdamW; what was written,
  or what was restored. ``checkpoint_case("save_checkpoint", mode="save", sizes=[5, 3],
  states=[s1, s2], grads=[g1, g2], iteration=7, target="file")``
- ``launch``: a Triton kernel launched on a grid over given tensors; the tensors it wrote.
  ``launch_case("add_kernel", grid=(4,), args=[x, y, out, 128], kwargs={"BLOCK": 32},
  outputs=[2])``
- ``with_service``: a function that spends a ``TrainingService`` budget (lesson 06) on a
  service of a given hidden law; chosen values of its result, and whether it kept to the
  budget. Memoized: cases of several cells judge one run.
  ``with_service_case("plan_run", seed=7, keys=("N",))``
- ``with_statistic``: a function that takes a DataFrame and a statistic (lesson 06's
  bootstrap): the frame is built from columns, the statistic from a small plain recipe.
  ``with_statistic_case("bootstrap_ci", columns={"x": xs}, statistic=["mean", "x"], seed=0)``
- ``with_clock``: a timing function (lesson 03's ``benchmark``) run on a simulated clock and
  a simulated GPU queue: its timings are exact, the same on every run and machine.
  ``with_clock_case("benchmark", costs=[9.0, 0.25], queued=False, keys=("times",))``
- ``on_ranks``: lesson 05's notebook functions and classes run by a job of ``helpers`` on 2
  gloo processes (``helpers.distributed``); the ranks' results.
  ``on_ranks_case("helpers.ddp.train_job", objects={"wrapper": "DDP"}, steps=3)``

Tested in ``grader/tests/test_trusted.py``.
"""
from __future__ import annotations

import os
import tempfile

from grader.trusted.calls import CaseTimeout, lookup, target


def _leaves(tensors):
    return [t.detach().clone().requires_grad_(True) for t in tensors]


def _grads(tensors):
    import torch

    return [torch.zeros_like(t) if t.grad is None else t.grad.detach() for t in tensors]


def module(namespace: dict, cls: str, init_args, init_kwargs, state, inputs, grad_output=None,
           method: str = "forward"):
    """``cls(*init_args, **init_kwargs)`` with ``load_state_dict(state)`` (strict), called
    on ``inputs``. Returns its output, or with ``grad_output`` (a tensor of the output's
    shape): ``(output, [gradient of each floating-point input], {parameter name: gradient})``.
    (``with_module`` with a flat recipe.)"""
    recipe = {"class": cls, "args": list(init_args), "kwargs": dict(init_kwargs), "state": state}
    return with_module(namespace, f"{cls}.{method}", recipe, inputs, None, grad_output)


def autograd(namespace: dict, call: str, inputs, grad_output, **kwargs):
    """``call(*inputs, **kwargs)`` on fresh leaf copies of the tensors ``inputs``, then
    ``backward(grad_output)``: ``(output, [gradient of each input])``."""
    leaves = _leaves(inputs)
    out = lookup(namespace, call)(*leaves, **kwargs)
    out.backward(grad_output)
    return out.detach(), _grads(leaves)


def optimizer_steps(namespace: dict, cls: str, params, grads, groups=None, lrs=None,
                    reload_at=None, **hyper):
    """``cls(params, **hyper)``, then for each list of ``grads``: set ``.grad``, ``step()``.
    Returns the parameters after each step (a list per step).

    ``groups``: parameter groups instead of one list, ``[{"params": [index into params, ...],
    **hyperparameters}, ...]``; ``lrs``: before step ``t``, every group's ``"lr"`` is set to
    ``lrs[t]`` (a schedule, as a training loop sets it); ``reload_at``: after that many
    steps, a copy of the parameters and a new optimizer loaded with a (deep) copy of the old
    one's ``state_dict()`` take over, as a run resumed from a checkpoint."""
    import copy

    import torch

    def build(tensors, state=None):
        leaves = [torch.nn.Parameter(p.detach().clone()) for p in tensors]
        param_groups = leaves if groups is None else [
            {**g, "params": [leaves[i] for i in g["params"]]} for g in groups]
        optimizer = lookup(namespace, cls)(param_groups, **hyper)
        if state is not None:
            optimizer.load_state_dict(state)
        return leaves, optimizer

    leaves, optimizer = build(params)
    history = []
    for t, step in enumerate(grads):
        if t == reload_at:
            leaves, optimizer = build(leaves, copy.deepcopy(optimizer.state_dict()))
        for p, g in zip(leaves, step):
            p.grad = None if g is None else g.detach().clone()
        if lrs is not None:
            for group in optimizer.param_groups:
                group["lr"] = lrs[t]
        optimizer.step()
        history.append([p.detach().clone() for p in leaves])
    return history


def clip_gradients(namespace: dict, call: str, grads, *args, **kwargs):
    """Parameters with these ``.grad`` (``None``: no gradient), ``call(params, *args)``; the
    gradients afterwards (``None`` stays ``None``)."""
    import torch

    params = []
    for g in grads:
        p = torch.nn.Parameter(torch.zeros_like(g) if g is not None else torch.zeros(1))
        p.grad = None if g is None else g.detach().clone()
        params.append(p)
    lookup(namespace, call)(params, *args, **kwargs)
    return [None if p.grad is None else p.grad.detach() for p in params]


def with_files(namespace: dict, call: str, files: dict, args=(), kwargs=None, init=None):
    """Write ``files`` ({name: str or bytes}) into a new temporary folder, then call ``call``
    with every argument (positional or keyword) that equals a file's name replaced by its
    path."""
    with tempfile.TemporaryDirectory(prefix="lmkit-case-") as folder:
        paths = {}
        for name, content in files.items():
            paths[name] = os.path.join(folder, os.path.basename(name))
            mode, enc = ("wb", None) if isinstance(content, bytes) else ("w", "utf-8")
            with open(paths[name], mode, encoding=enc, newline="" if enc else None) as f:
                f.write(content)

        def path(value):
            return paths.get(value, value) if type(value) is str else value

        function = target(namespace, call, init)
        return function(*[path(a) for a in args], **{k: path(v) for k, v in (kwargs or {}).items()})


def iterate(namespace: dict, call: str, *args, init=None, limit: int = 1_000_000, **kwargs):
    """``list(call(*args, **kwargs))`` (at most ``limit`` items); a list argument is passed
    as an iterator over it (a stream, not a sequence)."""
    function = target(namespace, call, init)
    result = function(*[iter(a) if type(a) is list else a for a in args], **kwargs)
    items = []
    for item in result:
        items.append(item)
        if len(items) >= limit:
            break
    return items


def with_objects(namespace: dict, call: str, objects: dict, args=(), kwargs=None, init=None):
    """Build ``objects`` from plain data, then call ``call`` with every argument (positional
    or keyword) that equals an object's name replaced by the object. A recipe is a dotted
    name, looked up (``"torch.bfloat16"``), or ``(dotted name, args, kwargs)``, called
    (``("ModelConfig", (), {"d_model": 64})``): ``{"cfg": (...), "dt": "torch.bfloat16"}``.
    A dotted name resolves in the namespace, else its first part is imported."""
    import importlib

    def resolve(dotted: str):
        head = dotted.split(".")[0]
        scope = namespace if head in namespace else {head: importlib.import_module(head)}
        return lookup(scope, dotted)

    built = {}
    for name, recipe in objects.items():
        if type(recipe) is str:
            built[name] = resolve(recipe)
        else:
            path, a, k = recipe
            built[name] = resolve(path)(*a, **(k or {}))

    def arg(value):
        return built[value] if type(value) is str and value in built else value

    function = target(namespace, call, init)
    return function(*[arg(a) for a in args], **{k: arg(v) for k, v in (kwargs or {}).items()})


def launch(namespace: dict, kernel: str, grid, args, kwargs=None, outputs=()):
    """``kernel[grid](*args, **kwargs)`` (a Triton kernel: tensors, ints, floats, and its
    ``tl.constexpr`` parameters by keyword); returns ``[args[i] for i in outputs]``, the
    tensors it wrote, after the launch."""
    args = list(args)
    lookup(namespace, kernel)[tuple(grid)](*args, **(kwargs or {}))
    return [args[i] for i in outputs]


def with_module(namespace: dict, call: str, recipe: dict, args=(), kwargs=None, grad_output=None):
    """``call(obj, *args, **kwargs)``, ``obj`` built from ``recipe``: ``{"class": name, "args":
    [...], "kwargs": {...}, "state": {name: tensor}, "attrs": {name: value}}`` (only
    ``class`` required): constructed, ``load_state_dict(state)`` (strict), attributes set
    (``context_length``). A dict with a ``"class"`` key in a recipe's ``args`` or ``kwargs``
    is a recipe too, built first (the RoPE module an attention layer takes, the layers of an
    ``nn.Sequential``). ``call``: a function that takes the module first (``"generate"``) or
    an unbound method (``"MultiHeadSelfAttention.forward"``). Returns its result; with
    ``grad_output``, ``(output, [gradient of each floating-point tensor of args], {parameter
    name: gradient})`` as ``module``."""
    import torch

    def build(node):
        if type(node) is not dict or "class" not in node:
            return node
        keywords = {k: build(v) for k, v in node.get("kwargs", {}).items()}
        obj = lookup(namespace, node["class"])(*[build(a) for a in node.get("args", ())],
                                               **keywords)
        if node.get("state"):
            obj.load_state_dict(node["state"])
        for name, value in node.get("attrs", {}).items():
            setattr(obj, name, value)
        return obj

    obj, function, kwargs = build(recipe), lookup(namespace, call), kwargs or {}
    if grad_output is None:
        with torch.no_grad():
            return function(obj, *args, **kwargs)
    args = [a.detach().clone().requires_grad_(True) if torch.is_tensor(a) and a.is_floating_point()
            else a for a in args]
    out = function(obj, *args, **kwargs)
    out.backward(grad_output)
    params = dict(obj.named_parameters())
    return (out.detach(), _grads([a for a in args if torch.is_tensor(a) and a.requires_grad]),
            {name: g for name, g in zip(params, _grads(list(params.values())))})


def checkpoint(namespace: dict, call: str, mode: str, sizes, states, grads, iteration: int,
               target: str = "path", lr: float = 0.1):
    """Checkpoint functions on a model and optimizer of torch's own modules (so a bug
    elsewhere in the notebook does not count): ``nn.Sequential`` of ``nn.Linear`` layers of
    ``sizes`` with ReLUs between, loaded with ``states[0]``, and ``torch.optim.AdamW(lr)``
    after one step on ``grads[0]``.

    - ``mode="save"``: ``call(model, optimizer, iteration, out)`` with ``out`` a ``str`` path,
      a ``Path`` or a binary file (``target``: "path", "pathlib" or "file"); returns what
      ``torch.load(weights_only=True)`` reads back.
    - ``mode="load"``: the checkpoint written by ``torch.save`` in the documented format
      (``{"model", "optimizer", "iteration"}``); ``call(src, model2, optimizer2)`` on a second
      model and optimizer (``states[1]``, ``grads[1]``); returns ``(its result,
      model2.state_dict(), optimizer2.state_dict())``.
    """
    import io
    from pathlib import Path

    import torch

    def setup(state, grad):
        layers = []
        for d_in, d_out in zip(sizes[:-1], sizes[1:]):
            layers += [torch.nn.Linear(d_in, d_out), torch.nn.ReLU()]
        model = torch.nn.Sequential(*layers[:-1])
        model.load_state_dict(state)
        optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
        for p, g in zip(model.parameters(), grad):
            p.grad = g.detach().clone()
        optimizer.step()
        return model, optimizer

    model, optimizer = setup(states[0], grads[0])
    with tempfile.TemporaryDirectory(prefix="lmkit-case-") as folder:
        path = os.path.join(folder, "checkpoint.pt")
        if mode == "save":
            if target == "file":
                with open(path, "wb") as f:
                    lookup(namespace, call)(model, optimizer, iteration, f)
            else:
                out = Path(path) if target == "pathlib" else path
                lookup(namespace, call)(model, optimizer, iteration, out)
            return _dicts(torch.load(path, weights_only=True))
        torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                    "iteration": iteration}, path)
        model2, optimizer2 = setup(states[1], grads[1])
        if target == "file":
            with open(path, "rb") as f:
                src = io.BytesIO(f.read())
        else:
            src = Path(path) if target == "pathlib" else path
        result = lookup(namespace, call)(src, model2, optimizer2)
        return result, _dicts(model2.state_dict()), _dicts(optimizer2.state_dict())


_SERVICE_RUNS: dict = {}  # {(function, seed, multiple): result or exception}, this process only


def with_service(namespace: dict, call: str, seed: int, keys=("N", "D", "loss"),
                 budget_multiple: float = 100.0):
    """``call(service, budget_multiple * service.budget)`` on a fresh
    ``helpers.training_service.TrainingService(seed=seed)``; returns ``{key: float(result[key])
    for key in keys}`` and ``"within_budget"`` (``service.spent`` at most the budget it was
    created with).

    The run is memoized per (function, seed, multiple) in this process, its exception or
    timeout too: the cells that judge one prediction (its N within a factor 4, then 2, then
    1.5; its loss) run it once, and an endless function costs one case limit, not one per cell.
    (The service runs in the student's process, so a student who reads its private law can
    pass: ``helpers/training_service.py`` says how a course hides it.)
    """
    function = lookup(namespace, call)
    key = (function, int(seed), float(budget_multiple))
    if key not in _SERVICE_RUNS:
        from helpers.training_service import TrainingService

        service = TrainingService(seed=int(seed))
        budget = service.budget  # before the call: the function may change the attribute
        try:
            result = function(service, budget_multiple * budget)
            _SERVICE_RUNS[key] = (dict(result) if isinstance(result, dict) else result,
                                  bool(service.spent <= budget))
        except (Exception, CaseTimeout) as err:  # the case's answer
            _SERVICE_RUNS[key] = err
    run = _SERVICE_RUNS[key]
    if isinstance(run, BaseException):
        raise run
    result, within_budget = run
    return {**{name: float(result[name]) for name in keys}, "within_budget": within_budget}


def _statistic(recipe):
    """A function DataFrame -> value from a plain recipe (a list):

    - ``["mean", col]``, ``["std", col]``: of a column;
    - ``["group_sizes", by, [value, ...]]``: the number of rows of each group, as an array;
    - ``["stack", recipe, ...]``: the values of several recipes, as an array;
    - ``["nan"]``: always NaN;
    - ``["flaky", k, recipe]``: raises ``ValueError`` on every k-th call (the first too).
    """
    import numpy as np

    kind, *args = recipe
    if kind in ("mean", "std"):
        return lambda d: float(getattr(d[args[0]], kind)())
    if kind == "group_sizes":
        by, values = args
        return lambda d: d.groupby(by).size().reindex(values).fillna(0).to_numpy(dtype=float)
    if kind == "stack":
        parts = [_statistic(r) for r in args]
        return lambda d: np.array([f(d) for f in parts])
    if kind == "nan":
        return lambda d: float("nan")
    if kind == "flaky":
        every, inner, calls = int(args[0]), _statistic(args[1]), [0]

        def flaky(d):
            calls[0] += 1
            if calls[0] % every == 1:
                raise ValueError("degenerate resample")
            return inner(d)
        return flaky
    raise ValueError(f"unknown statistic {kind!r}")


def with_statistic(namespace: dict, call: str, columns: dict, recipe, **kwargs):
    """``call(pd.DataFrame(columns), _statistic(recipe), **kwargs)``: lesson 06's
    ``bootstrap_ci`` (``_statistic`` above lists the recipes)."""
    import pandas as pd

    return lookup(namespace, call)(pd.DataFrame(columns), _statistic(recipe), **kwargs)


_CLOCKS = ("perf_counter", "monotonic", "time", "process_time", "thread_time")


def with_clock(namespace: dict, call: str, costs, queued: bool,
               keys=("median", "min", "max", "times"),
               **kwargs):
    """``call(fn, sync=..., **kwargs)`` on a simulated clock: while it runs, the ``time`` (and
    ``timeit``) of the function's globals (the notebook's) is a copy whose clocks
    (``perf_counter``, ``monotonic``, ``time``, ... and their ``_ns``;
    ``timeit.default_timer``) read a clock that moves only when the simulated work runs, and
    so are those functions imported there by name; the real modules are untouched (the
    kernel's own threads keep real time). The ``k``-th call of ``fn`` costs ``costs[k]``
    seconds: at once (``queued=False``: CPU work; ``sync`` is left to the function's
    default), or queued like a GPU kernel (``queued=True``: ``sync`` is passed and waits for
    the queue). Returns ``{key: result[key]}`` and ``"calls"``, the number of calls of
    ``fn``: timings that are exact, the same on every run and machine.
    """
    import sys
    import time as real_time
    import types

    now, queue, calls = [1000.0], [0.0], [0]

    def fn():
        cost = float(costs[calls[0]]) if calls[0] < len(costs) else 0.0
        calls[0] += 1
        if queued:
            queue[0] += cost
        else:
            now[0] += cost

    def sync():
        now[0] += queue[0]
        queue[0] = 0.0

    fake = {}
    for name in _CLOCKS:
        fake[name] = lambda: now[0]
        fake[f"{name}_ns"] = lambda: round(now[0] * 1e9)
    function = lookup(namespace, call)
    scope = getattr(function, "__globals__", namespace)  # where its names are looked up
    fake_time = types.ModuleType("time")
    fake_time.__dict__.update(vars(real_time), **fake)
    replaced = {"time": fake_time} if scope.get("time") is real_time else {}
    timeit = sys.modules.get("timeit")
    if timeit is not None and scope.get("timeit") is timeit:
        fake_timeit = types.ModuleType("timeit")
        fake_timeit.__dict__.update(vars(timeit), default_timer=fake["perf_counter"])
        replaced["timeit"] = fake_timeit
    real = {name: getattr(real_time, name) for name in fake if hasattr(real_time, name)}
    replaced.update({key: fake[name] for key, value in scope.items()  # imported by name
                     for name, clock in real.items() if value is clock})
    saved = {key: scope[key] for key in replaced}
    try:
        scope.update(replaced)
        result = function(fn, **({"sync": sync} if queued else {}), **kwargs)
    finally:
        scope.update(saved)
    out = {key: result[key] for key in keys}
    if "times" in out:
        out["times"] = list(out["times"])
    return {**out, "calls": calls[0]}


def _dicts(value):
    """``OrderedDict`` (state dicts) as plain ``dict``, recursively."""
    if isinstance(value, dict):
        return {k: _dicts(v) for k, v in value.items()}
    if type(value) in (list, tuple):
        return type(value)(_dicts(v) for v in value)
    return value


def on_ranks(namespace: dict, job: str, objects: dict, world_size: int = 2,
             timeout: float = 60.0, **kwargs):
    """Lesson 05: ``job`` (a function of a ``helpers.`` module, e.g. ``"helpers.ddp.train_job"``)
    run on ``world_size`` gloo ranks of the CPU by ``helpers.distributed.run``, with keyword
    arguments ``objects`` naming notebook functions or classes (``{"wrapper": "DDP"}``) and
    plain ``kwargs``: the list of the ranks' results (rank order). A rank that raises makes the
    case fail with its error; a deadlock ends the ranks after ``timeout`` seconds (or the
    case's own limit), leaving no process behind."""
    import importlib

    module, _, name = job.rpartition(".")
    if not module.startswith("helpers."):
        raise ValueError(f"on_ranks runs jobs of the kit's helpers, not {job!r}")
    fn = getattr(importlib.import_module(module), name)
    from helpers.distributed import run

    resolved = {key: lookup(namespace, value) for key, value in objects.items()}
    return run(fn, world_size=world_size, timeout=timeout, **resolved, **kwargs)


# The functions a case may name with ``@`` (the runner refuses any other name).
DRIVERS = ("module", "with_module", "autograd", "optimizer_steps", "clip_gradients",
           "with_files", "iterate", "with_objects", "checkpoint", "launch", "with_service",
           "with_statistic", "with_clock", "on_ranks")
