"""The trusted compare on its own (the package ``grader/trusted/``):
plain-data encoding, reading the kernel's outputs, comparing, the reference, releases, and
the grading key. The attacks themselves are graded end to end in ``test_hostile.py``.

Run: ``pytest grader/tests/test_trusted.py`` (about 30 s: one toy grading run twice).
"""
from __future__ import annotations

import ast
import functools
import json
import os
import textwrap
import time

import numpy as np
import pytest
import torch
from toy import TOY, make_kit, toy_notebook, with_solution

from grader import ipynb, trusted
from grader.autograde import autograde
from grader.errors import GraderError
from grader.feedback import VERDICT
from grader.generate import generate
from grader.paths import REPO_ROOT
from grader.release import release
from grader.trusted import cases as trusted_cases
from grader.trusted import drivers as trusted_drivers
from grader.trusted import runner


class Lying(float):
    def __eq__(self, other):
        return True


class Anything:
    def __eq__(self, other):
        return True


@pytest.mark.parametrize("value", [
    Lying(1.0), Anything(), np.array([1, 2]).view(np.matrix), np.array([{}], dtype=object),
    torch.nn.Parameter(torch.ones(2)), [1, Anything()], {"k": Lying(2.0)}, (1, object()),
])
def test_values_that_are_not_plain_data_are_refused(value):
    with pytest.raises(runner.NotPlain):
        runner.encode(value, {})


def test_plain_data_round_trips_and_keeps_types():
    value = {"a": [1, 2.5, None, True, "s", b"\x00\xff"], (1, 2): np.arange(3.0),
             "t": torch.arange(4, dtype=torch.bfloat16), "n": np.float32(0.5)}
    arrays: dict = {}
    tree = json.loads(json.dumps(runner.encode(value, arrays)))
    back = runner.decode(tree, arrays)
    assert back["a"] == [1, 2.5, None, True, "s", b"\x00\xff"] and (1, 2) in back
    assert back["t"].dtype == torch.bfloat16 and back["n"].dtype == np.float32


def case(namespace, call, *args):
    arrays: dict = {}
    spec = trusted.Case(call, *args).inputs(arrays)
    return runner.run_case(namespace, json.loads(json.dumps(spec)), arrays, {})


def test_a_lying_return_value_is_an_error_record_and_exceptions_are_named():
    assert case({"f": lambda x: Anything()}, "f", 1) == {
        "error": "returned test_trusted.Anything, not plain data"}
    assert case({"f": lambda x: 1 / x}, "f", 0) == {"raised": "ZeroDivisionError"}
    assert case({}, "f", 0) == {"raised": "NameError"}
    assert case({"f": lambda x: x + 1}, "f", 1) == {"value": 2}


def case_value(namespace, call, *args, **kwargs):
    arrays: dict = {}
    spec = json.loads(json.dumps(trusted.Case(call, *args, **kwargs).inputs(arrays)))
    found: dict = {}
    record = runner.run_case(namespace, spec, arrays, found)
    return runner.decode(record["value"], found) if "value" in record else record


def test_drivers_build_modules_gradients_optimizers_files_and_iterators():
    torch.manual_seed(0)
    ns = {"Lin": torch.nn.Linear, "SGD": torch.optim.SGD,
          "clip": torch.nn.utils.clip_grad_norm_, "mul": torch.mul,
          "read": lambda path, n: open(path).read()[:n],
          "count": lambda it: iter(range(len(list(it))))}
    w, x = torch.randn(3, 2), torch.randn(4, 2)
    lin = ("Lin", (2, 3), {"bias": False}, {"weight": w}, [x])
    assert torch.equal(case_value(ns, "@module", *lin), x @ w.T)
    out, (gx,), gp = case_value(ns, "@module", *lin, torch.ones(4, 3))
    assert torch.allclose(gx, w.sum(0).expand(4, 2))
    assert torch.allclose(gp["weight"], x.sum(0).expand(3, 2))
    out, (ga, gb) = case_value(ns, "@autograd", "mul", [w, 2 * w], torch.ones(3, 2))
    assert torch.equal(ga, 2 * w) and torch.equal(gb, w)
    ones = [[torch.ones(3, 2)]] * 2
    (first, ), (second, ) = case_value(ns, "@optimizer_steps", "SGD", [w], ones, lr=0.5)
    assert torch.equal(first, w - 0.5) and torch.equal(second, w - 1)
    (first, ), (second, ) = case_value(ns, "@optimizer_steps", "SGD", [w], ones,
                                       groups=[{"params": [0], "lr": 0.25}], lrs=[0.5, 0.125],
                                       lr=1.0)
    assert torch.equal(first, w - 0.5) and torch.equal(second, w - 0.625)
    (first, ), = case_value(ns, "@optimizer_steps", "SGD", [w], [[torch.ones(3, 2)]],
                            groups=[{"params": [0], "lr": 0.25}], lr=1.0)
    assert torch.equal(first, w - 0.25)  # the group's own lr

    class Forgetful(torch.optim.SGD):  # its state_dict() loses the momentum buffers
        def state_dict(self):
            return {**super().state_dict(), "state": {}}

    ns |= {"Forgetful": Forgetful}
    three, sgd = [[torch.ones(3, 2)], [2 * torch.ones(3, 2)], [torch.ones(3, 2)]], {"lr": 0.5}
    for cls, resumes in (("SGD", True), ("Forgetful", False)):
        straight = case_value(ns, "@optimizer_steps", cls, [w], three, momentum=0.9, **sgd)
        resumed = case_value(ns, "@optimizer_steps", cls, [w], three, reload_at=1,
                             momentum=0.9, **sgd)
        assert torch.equal(straight[0][0], resumed[0][0])
        assert torch.equal(straight[2][0], resumed[2][0]) == resumes, cls
    clipped, none = case_value(ns, "@clip_gradients", "clip", [torch.full((4,), 3.0), None], 1.0)
    assert none is None and torch.allclose(clipped.norm(), torch.tensor(1.0))
    assert case_value(ns, "@with_files", "read", {"a.txt": "héllo"}, ("a.txt", 2)) == "hé"
    assert case_value(ns, "@iterate", "count", [5, 6, 7]) == [0, 1, 2]
    assert case_value(ns, "@nope", 1) == {"raised": "NameError"}


def test_drivers_build_objects_and_nested_modules_from_recipes():
    from dataclasses import dataclass

    @dataclass
    class Config:
        width: int = 2

    class Scaled(torch.nn.Module):
        def __init__(self, inner, factor):
            super().__init__()
            self.inner, self.factor = inner, factor

        def forward(self, x):
            return self.factor * self.inner(x)

    ns = {"Config": Config, "Lin": torch.nn.Linear,
          "Scaled": Scaled,
          "area": lambda cfg, dtype: cfg.width * torch.tensor(0, dtype=dtype).element_size()}
    objects = {"c": ("Config", (), {"width": 3}), "t": "torch.float16"}
    assert case_value(ns, "@with_objects", "area", objects, ("c", "t")) == 6
    w, x = torch.randn(3, 2), torch.randn(4, 2)
    inner = {"class": "Lin", "args": [2, 3], "kwargs": {"bias": False}, "state": {"weight": w}}
    recipe = {"class": "Scaled", "args": [inner, 2.0], "attrs": {"tag": "s"}}
    forward = ("@with_module", "Scaled.forward", recipe, (x,))
    assert torch.allclose(case_value(ns, *forward), 2 * x @ w.T)
    out, (gx,), grads = case_value(ns, *forward, grad_output=torch.ones(4, 3))
    assert torch.allclose(gx, 2 * w.sum(0).expand(4, 2)) and set(grads) == {"inner.weight"}


def run(namespace, case):
    """What ``case`` (a ``Case``) returns in ``namespace``, decoded (or its record)."""
    arrays: dict = {}
    spec = json.loads(json.dumps(case.inputs(arrays)))
    found: dict = {}
    record = runner.run_case(namespace, spec, arrays, found)
    return runner.decode(record["value"], found) if "value" in record else record


def test_each_driver_has_a_keyword_builder_documented_with_an_example():
    assert sorted(trusted_cases.BUILDERS) == sorted(trusted_drivers.DRIVERS)
    for name in trusted_drivers.DRIVERS:
        assert callable(getattr(trusted_drivers, name)), name
        assert f"``{name}``:" in trusted_drivers.__doc__, f"{name} not documented"
        assert f"{name}_case(" in trusted_drivers.__doc__, f"{name}: no example"
        assert getattr(trusted, f"{name}_case") is trusted_cases.BUILDERS[name]


def test_builders_make_the_same_cases_as_the_positional_form(tmp_path):
    """A builder is the old ``Case("@driver", ...)`` written with keywords: same inputs."""
    from grader.trusted import (
        args,
        autograd_case,
        clip_gradients_case,
        iterate_case,
        module_case,
        optimizer_steps_case,
        recipe,
        with_files_case,
        with_module_case,
        with_objects_case,
    )

    torch.manual_seed(0)
    w, x, g = torch.randn(3, 2), torch.randn(4, 2), torch.randn(4, 3)
    pairs = [
        (module_case("Lin", init=args(2, 3, bias=False), state={"weight": w}, inputs=[x],
                     grad_output=g),
         trusted.Case("@module", "Lin", (2, 3), {"bias": False}, {"weight": w}, [x], g)),
        (module_case("Lin", init={"in_features": 2, "out_features": 3, "bias": False},
                     state={"weight": w}, inputs=[x]),
         trusted.Case("@module", "Lin", (), {"in_features": 2, "out_features": 3,
                                            "bias": False}, {"weight": w}, [x])),
        (with_module_case("Lin.forward", recipe("Lin", 2, 3, bias=False, state={"weight": w}),
                          args=[x], grad_output=g),
         trusted.Case("@with_module", "Lin.forward", {"class": "Lin", "args": (2, 3), "kwargs":
                      {"bias": False}, "state": {"weight": w}}, [x], None, g)),
        (autograd_case("mul", inputs=[w, 2 * w], grad_output=torch.ones(3, 2)),
         trusted.Case("@autograd", "mul", [w, 2 * w], torch.ones(3, 2))),
        (optimizer_steps_case("SGD", params=[w], grads=[[torch.ones(3, 2)]] * 2, lr=0.5),
         trusted.Case("@optimizer_steps", "SGD", [w], [[torch.ones(3, 2)]] * 2, lr=0.5)),
        (optimizer_steps_case("SGD", params=[w], grads=[[torch.ones(3, 2)]] * 3, reload_at=2,
                              lr=0.5, momentum=0.9),
         trusted.Case("@optimizer_steps", "SGD", [w], [[torch.ones(3, 2)]] * 3, reload_at=2,
                      lr=0.5, momentum=0.9)),
        (clip_gradients_case("clip", grads=[torch.full((4,), 3.0), None], args=[1.0]),
         trusted.Case("@clip_gradients", "clip", [torch.full((4,), 3.0), None], 1.0)),
        (with_files_case("read", files={"a.txt": "héllo"}, args=("a.txt", 2)),
         trusted.Case("@with_files", "read", {"a.txt": "héllo"}, ("a.txt", 2))),
        (iterate_case("count", args=[[5, 6, 7]]), trusted.Case("@iterate", "count", [5, 6, 7])),
        (with_objects_case("size", objects={"t": "torch.float16"}, args=["t"]),
         trusted.Case("@with_objects", "size", {"t": "torch.float16"}, ["t"])),
    ]
    ns = {"Lin": torch.nn.Linear, "SGD": torch.optim.SGD, "mul": torch.mul,
          "clip": torch.nn.utils.clip_grad_norm_, "read": lambda path, n: open(path).read()[:n],
          "count": lambda it: iter(range(len(list(it)))),
          "size": lambda dtype: torch.tensor(0, dtype=dtype).element_size()}
    for new, old in pairs:
        got, want = run(ns, new), run(ns, old)
        assert not (isinstance(got, dict) and {"raised", "error"} & set(got)), (new.call, got)
        assert same(got, want), new.call


def same(a, b) -> bool:
    """Equal values, tensors compared exactly, containers element by element."""
    if torch.is_tensor(a) or torch.is_tensor(b):
        return torch.is_tensor(a) and torch.is_tensor(b) and torch.equal(a, b)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(map(same, a, b))
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return a == b


@pytest.mark.parametrize("text", ["", "x" * 161, "<script>", "[link](javascript:x)", 'say "no"',
                                  "two\nlines", 42])
def test_a_hint_that_could_not_be_shown_safely_is_refused(text):
    with pytest.raises(ValueError, match="a hint is"):
        trusted.Case("add", 1, 2).hint(text)


def test_the_verdict_shows_the_hints_of_the_failed_cases_only(tmp_path):
    """Hints live with the expected outputs (never in the kernel's inputs); a failed case's
    hint follows the counts, each once, and the feedback shows the whole line."""
    kit = make_kit(tmp_path / "kit")
    spec = trusted.spec_path(kit.root, TOY)
    spec.write_text(spec.read_text()
                    .replace('Case("mul", -2, 3)', 'Case("mul", -2, 3).hint("mind the sign")')
                    .replace('Case("mul", 7, 6)', 'Case("mul", 7, 6).hint("a * b, not a + b")'))
    ref = tmp_path / "ref"
    trusted.reference(spec, kit.solution(TOY), ref)
    assert "hint" not in (ref / "inputs.json").read_text()  # the kernel never reads them
    cases, inputs = runner.load_inputs(str(ref))
    cells = {gid: len(cell) for gid, cell in cases.items()}
    prepared = trusted.Trusted(TOY, ref, "", cells)
    verdicts = {}
    for name, mul in (("adds", lambda a, b: a + b), ("abs", lambda a, b: abs(a * b)),
                      ("right", lambda a, b: a * b)):
        out = tmp_path / name
        out.mkdir()
        found: dict = {}
        records = [runner.run_case({"mul": mul}, case, inputs, found) for case in cases["test_mul"]]
        runner.write(str(out), "test_mul", {"records": records}, found)
        verdicts[name] = trusted.check_cell(prepared, out, "test_mul")
    prefix = "hidden checks outside your kernel: "
    assert verdicts["adds"] == prefix + ("2 of 2 case(s) failed (wrong value): hint: mind the "
                                         "sign; a * b, not a + b")
    assert verdicts["abs"] == prefix + "1 of 2 case(s) failed (wrong value): hint: mind the sign"
    assert verdicts["right"] is None
    assert all(VERDICT.fullmatch(v) for v in (verdicts["adds"], verdicts["abs"]))


def test_a_hint_reaches_the_students_result_and_feedback_page(tmp_path):
    """End to end: a submission that passes the in-kernel tests but not a hidden case gets
    0 for that test, and its reason and feedback page carry the case's hint."""
    kit = make_kit(tmp_path / "kit")
    spec = trusted.spec_path(kit.root, TOY)
    spec.write_text(spec.read_text().replace(
        'Case("mul", 7, 6)', 'Case("mul", 7, 6), Case("mul", 5, 5).hint("squares count too")'))
    nb = with_solution(toy_notebook(), "mul", "return a * b if a != b else a + b")
    ipynb.write(nb, tmp_path / "subs" / "bob" / f"{TOY}.ipynb")
    [result] = autograde(TOY, tmp_path / "subs", layout=kit, cell_timeout=5,
                         report=lambda *_: None)
    assert result.tests == {"test_add": 1.0, "test_mul": 0.0}, result
    assert result.checks == {"test_mul": "hidden checks outside your kernel: 1 of 3 case(s) "
                                         "failed (wrong value): hint: squares count too"}
    page = result.feedback.read_text()
    assert "hint: squares count too" in page and "(5, 5)" not in page


def test_the_package_has_no_import_cycles_and_its_kernel_side_stays_light():
    """One job per module of ``grader/trusted/``, imported one way; the student's kernel
    imports the runner without numpy or torch (and the drivers only when a case needs one)."""
    import graphlib
    import subprocess
    import sys

    folder = REPO_ROOT / "grader" / "trusted"
    modules = {p.stem for p in folder.glob("*.py")} - {"__init__", "__main__"}
    graph = {}
    for name in modules:
        tree = ast.parse((folder / f"{name}.py").read_text())
        found = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "grader.trusted":
                found |= {a.name for a in node.names} & modules
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                    "grader.trusted."):
                found.add(node.module.split(".")[2])
        graph[name] = found - {name}
    list(graphlib.TopologicalSorter(graph).static_order())  # raises CycleError on a cycle
    code = ("import sys, grader.trusted.runner; "
            "print(sorted(m for m in ('numpy', 'torch', 'grader.trusted.drivers') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True,
                         text=True, check=True).stdout
    assert out.strip() == "[]", out


def test_a_spec_whose_solution_raises_a_name_error_is_refused(tmp_path):
    kit = make_kit(tmp_path / "kit")
    spec = trusted.spec_path(kit.root, TOY)
    spec.write_text(spec.read_text().replace('Case("add", 40, 2)', 'Case("@no_such_driver", 1)'))
    with pytest.raises(GraderError, match="raised NameError"):
        trusted.reference(spec, kit.solution(TOY), tmp_path / "ref")


def check(want, got, **options):
    opts = {"rtol": None, "atol": 0.0, "dtype": True, **options}
    wa, ga = {}, {}
    return trusted.compare(runner.encode(want, wa), runner.encode(got, ga), wa, ga, opts)


def test_compare_exact_close_shapes_dtypes_and_kinds():
    assert check(3, 3) is None and check(3, 4) == "wrong value"
    assert check(0.1 + 0.2, 0.3) == "wrong value" and check(0.1 + 0.2, 0.3, rtol=1e-12) is None
    assert check(np.float64(2.0), 2.0) is None  # numbers compare as numbers
    assert check(np.zeros(3), np.zeros(4)) == "wrong shape"
    assert check(np.zeros(3), np.zeros(3, np.float32)) == "wrong dtype"
    assert check(np.zeros(3), np.zeros(3, np.float32), dtype=False) is None
    assert check((1.0, 2.0), [1.0, 2.0]) is None and check([1], "1") == "wrong type"
    assert check(True, 1) == "wrong type"
    assert check(torch.ones(2), np.ones(2, np.float32)) == "wrong type"
    assert check({1: b"a"}, {1: b"a"}) is None and check({1: b"a"}, {2: b"a"}) == "wrong keys"
    assert check(np.array([np.nan, 1.0]), np.array([np.nan, 1.0])) is None
    assert check(48, 48.0) == "wrong type" and check(48, np.int64(48)) is None  # a count is an int
    assert check(2.0, 2) is None and check(0.5, np.float32(0.5)) is None


def test_within_a_factor_compares_positive_numbers_in_log_space():
    assert check(1e9, 1.9e9, factor=2.0) is None and check(1e9, 5.1e8, factor=2.0) is None
    for got in (2.1e9, 4.9e8, -1e9, np.nan):
        assert check(1e9, got, factor=2.0) == "wrong value", got
    assert check(np.array([1.0, 10.0]), np.array([1.4, 7.5]), factor=1.5) is None
    assert check(np.array([1.0, 10.0]), np.array([1.4, 0.0]), factor=1.5) == "wrong value"
    assert check({"N": 1.0, "ok": True}, {"N": 1.2, "ok": False}, factor=1.5) == "wrong value"


def test_the_service_driver_runs_each_prediction_once_and_remembers_failures():
    from helpers.training_service import TOTAL_BUDGET, config_for_params

    calls = []

    def predict(service, target):
        calls.append(target)
        service.train(**config_for_params(1e6, train_flops=1e16))
        return {"N": 1e8, "D": target / 6e8, "loss": 2.5, "extra": [1]}

    def greedy(service, target):
        service.budget *= 10  # a raised budget does not hide an overrun
        for _ in range(3):
            service.train(**config_for_params(1e6, train_flops=1e18))
        return {"N": 1.0, "D": 1.0, "loss": 1.0}

    def endless(service, target):
        calls.append("endless")
        spin()

    ns = {"predict": predict, "greedy": greedy, "endless": endless}
    trusted_drivers._SERVICE_RUNS.clear()
    assert case_value(ns, "@with_service", "predict", 7, keys=("N",)) == {
        "N": 1e8, "within_budget": True}
    assert case_value(ns, "@with_service", "predict", 7, keys=("loss",)) == {
        "loss": 2.5, "within_budget": True}
    assert calls == [100 * TOTAL_BUDGET]  # one run for both cases
    assert case_value(ns, "@with_service", "predict", 7, keys=("nope",)) == {"raised": "KeyError"}
    assert case_value(ns, "@with_service", "greedy", 7)["within_budget"] is False
    arrays: dict = {}
    spec = json.loads(json.dumps(trusted.Case("@with_service", "endless", 7).inputs(arrays)))
    start = time.perf_counter()
    assert runner.timed_case(ns, dict(spec, limit=0.3), arrays, {}) == {"raised": "CaseTimeout"}
    assert runner.timed_case(ns, dict(spec, limit=5), arrays, {}) == {"raised": "CaseTimeout"}
    assert time.perf_counter() - start < 3 and calls.count("endless") == 1  # remembered
    trusted_drivers._SERVICE_RUNS.clear()


def test_the_clock_driver_times_simulated_work_exactly_however_the_clock_is_read():
    import inspect
    import statistics
    import time as real_time

    from helpers.reference import resource_accounting

    by_name: dict = {"statistics": statistics, "torch": torch}  # perf_counter_ns imported by name
    source = textwrap.dedent(inspect.getsource(resource_accounting.benchmark))
    exec("from __future__ import annotations\nfrom time import perf_counter_ns as tick\n"
         + source.replace("time.perf_counter()", "tick() / 1e9"), by_name)
    for ns in ({"benchmark": resource_accounting.benchmark}, by_name):  # time.perf_counter, tick
        cpu = case_value(ns, "@with_clock", "benchmark", [9.0, 0.25, 0.5], False,
                         keys=("times",), warmup=1, repeats=2)
        assert cpu == {"times": [0.25, 0.5], "calls": 3}, cpu
        gpu = case_value(ns, "@with_clock", "benchmark", [0.25, 0.5, 1.0], True,
                         keys=("median", "times"), warmup=0, repeats=3)
        assert gpu == {"median": 0.5, "times": [0.25, 0.5, 1.0], "calls": 3}, gpu
    # restored
    assert by_name["tick"] is real_time.perf_counter_ns and resource_accounting.time is real_time
    now = __import__("datetime").datetime.now().timestamp()
    assert abs(real_time.time() - now) < 60  # never faked


def test_an_expected_value_from_the_spec_replaces_the_solutions_and_must_hold_for_it(tmp_path):
    kit = make_kit(tmp_path / "kit")
    spec = trusted.spec_path(kit.root, TOY)
    source = spec.read_text()
    spec.write_text(source.replace('Case("add", 40, 2)',
                                   'Case("add", 40, 2).expect(41.0).within_factor(1.1)'))
    trusted.reference(spec, kit.solution(TOY), tmp_path / "ref")
    cell = next(gid for gid, cases in runner.load_inputs(str(tmp_path / "ref"))[0].items()
                if any(c["args"] == {"tuple": [40, 2]} for c in cases))
    want = json.loads((tmp_path / "ref" / "expected" / f"{cell}.json").read_text())
    assert {"value": 41.0} in want["records"] and {"value": 42} not in want["records"]
    spec.write_text(source.replace('Case("add", 40, 2)',
                                   'Case("add", 40, 2).expect(50.0).within_factor(1.1)'))
    with pytest.raises(GraderError, match="fails the case's expected value"):
        trusted.reference(spec, kit.solution(TOY), tmp_path / "ref2")
    with pytest.raises(ValueError):
        trusted.Case("add", 1, 2).within_factor(0.5)


def spin(*args):
    while True:
        try:
            sum(range(1000))
        except Exception:
            pass


def test_a_case_past_its_time_limit_is_stopped_and_fails():
    arrays: dict = {}
    spec = json.loads(json.dumps(trusted.Case("spin", 1).inputs(arrays)))
    start = time.perf_counter()
    record = runner.timed_case({"spin": spin}, dict(spec, limit=0.3), arrays, {})
    assert record == {"raised": "CaseTimeout"} and time.perf_counter() - start < 5
    assert runner.timed_case({"spin": lambda x: x}, dict(spec, limit=5), arrays, {}) == {"value": 1}
    opts = {"rtol": None, "atol": 0.0, "dtype": True}
    assert trusted.check_record({"value": 1}, record, {}, {}, opts) == "timed out"
    assert trusted.case_limit(0.001) == trusted.CASE_LIMIT_MIN_S
    assert trusted.case_limit(2.0) == 100.0


def test_after_a_timed_out_case_the_rest_of_the_cell_fail_without_running(tmp_path):
    arrays: dict = {}
    cells = {"test_spin": [dict(trusted.Case("spin", n).inputs(arrays), limit=0.3)
                           for n in range(3)]}
    runner.write(str(tmp_path), "inputs", cells, arrays)
    (tmp_path / "out").mkdir()
    start = time.perf_counter()
    runner.run_cell({"spin": spin}, str(tmp_path), "test_spin")
    assert time.perf_counter() - start < 2  # one limit, not three
    records = json.loads((tmp_path / "out" / "test_spin.json").read_text())["records"]
    assert records == [{"raised": "CaseTimeout"}] * 3


def test_a_raised_exception_matches_only_by_name():
    opts = {"rtol": None, "atol": 0.0, "dtype": True}
    want = {"raised": "ValueError"}
    assert trusted.check_record(want, {"raised": "ValueError"}, {}, {}, opts) is None
    assert trusted.check_record(want, {"value": 1}, {}, {}, opts) == "wrong result"
    got = trusted.check_record({"value": 1}, {"raised": "TypeError"}, {}, {}, opts)
    assert got == "raised TypeError"


def test_outputs_are_read_without_links_or_pickles(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    secret = tmp_path / "expected.json"
    secret.write_text(json.dumps({"records": [{"value": 42}]}))
    os.symlink(secret, out / "test_add.json")  # a link to the expected outputs
    with pytest.raises(ValueError, match="no output"):
        trusted.read_output(out, "test_add")
    (out / "test_add.json").unlink()
    (out / "test_add.json").write_text(json.dumps({"records": [{"value": {"array": "a0"}}]}))
    with open(out / "test_add.npz", "wb") as f:
        np.savez(f, a0=np.array([{"x": 1}], dtype=object))  # pickled inside
    with pytest.raises(ValueError, match="pickle"):
        trusted.read_output(out, "test_add")
    os.rename(out, tmp_path / "real")
    os.symlink(tmp_path / "real", out)  # the folder itself replaced by a link
    with pytest.raises(ValueError, match="no output folder"):
        trusted.read_output(out, "test_add")


def test_a_spec_naming_a_cell_that_is_not_a_test_is_refused(tmp_path):
    kit = make_kit(tmp_path / "kit")
    spec = trusted.spec_path(kit.root, TOY)
    spec.write_text(spec.read_text().replace('"test_mul"', '"mul"'))
    with pytest.raises(GraderError, match=r"mul: not graded test cells of 99_toy.ipynb"):
        trusted.reference(spec, kit.solution(TOY), tmp_path / "ref")


SPECS = sorted(p.stem for p in (REPO_ROOT / "solutions" / "trusted").glob("*.py"))


@pytest.mark.parametrize("lesson", SPECS)
def test_each_lessons_cases_run_on_its_solution_and_name_the_cells_they_leave(lesson, tmp_path):
    """The reference runs; every graded test cell has cases or is named, with the reason, in
    the spec's docstring (its in-kernel test alone decides)."""
    spec = trusted.spec_path(REPO_ROOT, lesson)
    solution = REPO_ROOT / "solutions" / f"{lesson}.ipynb"
    trusted.reference(spec, solution, tmp_path)
    covered = {p.stem for p in (tmp_path / "expected").glob("*.json")}
    limits = [case["limit"] for cell in runner.load_inputs(str(tmp_path))[0].values()
              for case in cell]
    assert min(limits) >= trusted.CASE_LIMIT_MIN_S  # every case gets a time limit
    tests = {ipynb.grade_id(c) for c in ipynb.read(solution).cells if ipynb.is_test(c)}
    doc = ast.get_docstring(ast.parse(spec.read_text())) or ""
    left = sorted(gid for gid in tests - covered if f"``{gid}``" not in doc)
    assert not left, f"{spec.name}: no cases and not named in its docstring: {left}"


@functools.cache
def spec_module(lesson: str):
    """A lesson's spec, loaded once (loading computes its inputs: seconds for some)."""
    return trusted.load_spec_module(trusted.spec_path(REPO_ROOT, lesson))


def mutants(lesson: str) -> list[tuple[str, str, int]]:
    return [(lesson, gid, n) for gid, sources in getattr(spec_module(lesson), "MUTANTS", {}).items()
            for n in range(len(sources))]


@pytest.fixture(scope="module")
def references(tmp_path_factory):
    """``{lesson: (Trusted, solution module)}``, each reference computed once."""
    from grader.nbmodule import load_notebook

    made = {}

    def get(lesson):
        if lesson not in made:
            folder = tmp_path_factory.mktemp(lesson)
            solution = REPO_ROOT / "solutions" / f"{lesson}.ipynb"
            trusted.reference(trusted.spec_path(REPO_ROOT, lesson), solution, folder)
            cases, _ = runner.load_inputs(str(folder))
            counts = {g: len(c) for g, c in cases.items()}
            made[lesson] = (trusted.Trusted(lesson, folder, "", counts),
                            load_notebook(solution, f"mutated_{lesson}"))
        return made[lesson]
    return get


_SOLUTION_PASSES: set = set()  # (lesson, gid) whose cases the solution was seen to pass


@pytest.mark.parametrize("lesson,gid,n", [m for lesson in SPECS for m in mutants(lesson)])
def test_the_cases_catch_each_mutant_the_spec_lists(lesson, gid, n, references, tmp_path):
    """A spec's ``MUTANTS`` ({test grade_id: [source, ...]}) are plausible wrong answers
    (code run over the solution's definitions): each must fail that cell's cases, while the
    solution itself passes them: cases that cannot fail are caught here."""
    ref, module = references(lesson)
    source = spec_module(lesson).MUTANTS[gid][n]
    cases, inputs = runner.load_inputs(str(ref.folder))
    runs = [("mutant", source)]
    if (lesson, gid) not in _SOLUTION_PASSES:
        runs.insert(0, ("solution", None))
    for name, code in runs:
        namespace = dict(vars(module))
        if code:
            exec(textwrap.dedent(code), namespace)
        out = tmp_path / name
        out.mkdir()
        found: dict = {}
        records = [runner.run_case(namespace, case, inputs, found) for case in cases[gid]]
        runner.write(str(out), gid, {"records": records}, found)
        reason = trusted.check_cell(ref, out, gid)
        if code is None:
            assert reason is None, f"the solution fails its own cases: {reason}"
            _SOLUTION_PASSES.add((lesson, gid))  # once per cell, not once per mutant
        else:
            assert reason is not None, f"{lesson} {gid}: mutant {n} passes every case:\n{source}"


def test_lesson_06_expects_the_solutions_value_errors(tmp_path):
    trusted.reference(trusted.spec_path(REPO_ROOT, "06_scaling_laws"),
                      REPO_ROOT / "solutions" / "06_scaling_laws.ipynb", tmp_path)
    parabola = json.loads((tmp_path / "expected" / "test_fit_parabola_minimum.json").read_text())
    assert [r.get("raised") for r in parabola["records"]][-2:] == ["ValueError", "ValueError"]


def test_trusted_cases_are_not_released(tmp_path):
    kit = make_kit(tmp_path / "kit")
    generate(kit)
    built = release(kit, TOY, tmp_path / "out")
    files = [p.relative_to(built.folder).as_posix() for p in built.folder.rglob("*") if p.is_file()]
    assert files and not any(f.startswith("solutions/trusted") for f in files), files


def test_the_spec_is_part_of_the_grading_key(tmp_path):
    kit = make_kit(tmp_path / "kit")
    folder = kit.root / "subs"
    ipynb.write(toy_notebook(), folder / "alice" / f"{TOY}.ipynb")
    [first] = autograde(TOY, folder, layout=kit, cell_timeout=5, report=lambda *_: None)
    assert (first.score, first.checks) == (3, {})  # a correct solution: full marks
    spec = trusted.spec_path(kit.root, TOY)
    spec.write_text(spec.read_text().replace("Case(\"mul\", 7, 6)", "Case(\"mul\", 7, 7)"))
    lines: list[str] = []
    [again] = autograde(TOY, folder, layout=kit, cell_timeout=5, report=lines.append)
    assert not any("up to date" in line for line in lines), lines  # regraded: the key changed
    assert again.score == 3  # the reference was recomputed from the solution, too
