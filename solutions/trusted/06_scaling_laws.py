"""Trusted cases of lesson 06 (``grader.trusted``): hidden inputs, compared outside the kernel.

Never released (``solutions/`` is not in a bundle) and hidden from students' kernels. Each
graded test cell below also keeps its in-kernel test; it scores only if both pass.

``predict_large_run`` is judged against the truth, not against the solution's output: on
three hidden laws of their own (``with_service_case`` has ``TrainingService(seed)`` built in
the kernel), its N
must lie within a factor 4, 2 and 1.5 of the law's true compute-optimal N (one cell each) and
its loss within 5 % of the true optimal loss, as the in-kernel hidden tests ask of the
prediction on the student's own service. The truth is the closed form of the law at its best
learning rate (``law_optimum``).

The in-kernel hidden tests keep only what plain data cannot say: that ``chinchilla_objective``
leaves its inputs alone (and its gradient matches finite differences), that ``bootstrap_ci``
is seeded and keeps rows in their groups, and the judgment of the student's own prediction.

``bootstrap_ci`` is judged against the ideal bootstrap as well: resampling may draw rows in
any valid way, so its interval is compared with the percentiles of 200,000 resamples drawn
here (``ideal_interval``), within 0.25 standard errors (3,000 resamples leave a Monte Carlo
error of about 0.05 of them). What is exact is compared exactly: each group keeps its size
when resampling within groups, and a statistic that is never finite raises ``ValueError``.
``with_statistic_case`` has the DataFrame and the statistic built from plain recipes.

A case's ``hint`` is what the student reads when it fails (never its inputs or values).
"""
import numpy as np

from grader.trusted import Case, with_service_case, with_statistic_case
from helpers.training_service import TrainingService, student_seed

rng = np.random.default_rng(20260606)
CHINCHILLA = {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28}


def law_loss(n, d, E, A, B, alpha, beta):
    return E + A / np.asarray(n, float) ** alpha + B / np.asarray(d, float) ** beta


def optimal_n(compute, A, B, alpha, beta, **_):
    """The N minimizing E + A / N^alpha + B / D^beta along 6 N D = compute:
    N = G (C/6)^(beta/(alpha+beta)), G = (alpha A / (beta B))^(1/(alpha+beta))."""
    g = (alpha * A / (beta * B)) ** (1 / (alpha + beta))
    return g * (compute / 6) ** (beta / (alpha + beta))


def isoflop_runs(budgets, law, sizes=9, spread=2.5, noise=0.0):
    """Runs on the isoFLOP grid of ``law`` as a list of dicts (plain data)."""
    rows = []
    for c in budgets:
        for n in optimal_n(c, **law) * np.geomspace(1 / spread, spread, sizes):
            d = c / (6 * n)
            loss = law_loss(n, d, **law) * np.exp(noise * rng.normal())
            rows.append({"N": float(n), "C": float(c), "loss": float(loss)})
    return rows


def random_law():
    return {"E": rng.uniform(0.5, 3), "A": float(np.exp(rng.uniform(2, 8))),
            "B": float(np.exp(rng.uniform(2, 8))), "alpha": rng.uniform(0.2, 0.6),
            "beta": rng.uniform(0.2, 0.6)}


def parabola(k):
    center, curv, floor = np.exp(rng.uniform(10, 20)), rng.uniform(0.01, 0.5), rng.uniform(1, 4)
    n = np.exp(np.log(center) + rng.uniform(-2, 2, size=k))
    return list(n), list(curv * np.log(n / center) ** 2 + floor)


_N, _D = np.exp(rng.uniform(15, 22, 30)), np.exp(rng.uniform(18, 25, 30))
_LOGS = (np.log(_N), np.log(_D),
         np.log(law_loss(_N, _D, **CHINCHILLA) * np.exp(rng.normal(0, 0.003, 30))))
_TRUTH = [np.log(406.4), np.log(410.7), np.log(1.69), 0.34, 0.28]
_FIT = ("budgets", "n_opt", "d_opt", "loss_opt", "n_coef", "n_exp", "d_coef", "d_exp")


def law_optimum(law, compute):
    """The compute-optimal (N, D, loss) of a service's law at its best learning rate."""
    n = optimal_n(compute, law.A, law.B, law.alpha, law.beta)
    d = compute / (6 * n)
    return float(n), float(d), float(law.loss(n, d))


PREDICT_N = ("N and D from the law you fitted to your runs (not 20 tokens per parameter), "
             "spending no more than the budget")
PREDICT_LOSS = "the fitted law's loss at the predicted N and D, not the best loss seen"


def predictions(factor=None, loss_rtol=None):
    """One case per hidden law: the prediction's N and D within ``factor`` of the truth (and
    within the budget), or its loss within ``loss_rtol``."""
    cases = []
    for seed in _SERVICE_SEEDS:
        service = TrainingService(seed=seed)
        n, d, loss = law_optimum(service._law, 100 * service.budget)
        if factor:
            cases.append(with_service_case("predict_large_run", seed=seed, keys=("N", "D"),
                                           hint=PREDICT_N)
                         .expect({"N": n, "D": d, "within_budget": True}).within_factor(factor))
        else:
            cases.append(with_service_case("predict_large_run", seed=seed, keys=("loss",),
                                           hint=PREDICT_LOSS)
                         .expect({"loss": loss, "within_budget": True}).close(rtol=loss_rtol))
    return cases


_BOOT_RNG = np.random.default_rng(20261206)  # its own stream: the other cases' inputs do not move


def ideal_interval(columns, stats, level, resamples=200_000, chunk=10_000):
    """The percentile interval of the ideal bootstrap, approximated by many resamples of the
    rows of ``columns`` ((n,) or (n, k)): ``stats`` maps a batch of resamples, an array
    (resamples, n, k), to one value (or one vector) per resample."""
    x = np.asarray(columns, float).reshape(len(columns), -1)
    values = np.concatenate([stats(x[_BOOT_RNG.integers(0, len(x), (chunk, len(x)))])
                             for _ in range(resamples // chunk)])
    low, high = np.quantile(values, [(1 - level) / 2, (1 + level) / 2], axis=0)
    return (float(low), float(high)) if np.ndim(low) == 0 else (low, high)


def mean_of_x(x):
    return x[..., 0].mean(-1)


def mean_and_std(x):
    return np.stack([mean_of_x(x), x[..., 0].std(-1, ddof=1)], axis=-1)


_X = rng.normal(10.0, 2.0, 100)
_SE = 2.0 / np.sqrt(100)
_TOL = 0.25 * _SE  # 3,000 resamples: the endpoints' Monte Carlo error is about 0.05 _SE
_BOOT = dict(num_samples=3_000)
_GROUPED = {"g": [0] * 5 + [1] * 20 + [2] * 3, "x": list(np.arange(28.0))}
_MEAN_95 = ideal_interval(_X, mean_of_x, 0.95)  # two cases: plain, and with failing resamples


def boot(columns, statistic, hint=None, **kwargs):
    """``bootstrap_ci(pd.DataFrame(columns), <statistic from its recipe>, **kwargs)``."""
    return with_statistic_case("bootstrap_ci", columns=columns, statistic=statistic, hint=hint,
                               **kwargs)


_SERVICE_SEEDS = [student_seed(name, 20261206) for name in ("trusted-a", "trusted-b", "trusted-c")]

CASES = {
    "test_compute_to_tokens": [
        Case("compute_to_tokens", 7e19, 3e8).close(rtol=1e-12),
        Case("compute_to_tokens", 5, 4).close(rtol=1e-12).hint("no floor division"),
        Case("compute_to_tokens", 10 ** rng.uniform(15, 22, (3, 1)),
             10 ** rng.uniform(6, 9, 4)).close(rtol=1e-12)
        .hint("arrays broadcast against each other"),
    ],
    "test_fit_parabola_minimum": [
        *(Case("fit_parabola_minimum", *parabola(k)).close(rtol=1e-6) for k in (3, 5, 8)),
        Case("fit_parabola_minimum", np.array([2e6, 2e6, 3e7]), np.array([2.0, 1.9, 2.1]))
        .raises("ValueError").hint("fewer than 3 distinct sizes: a ValueError"),
        Case("fit_parabola_minimum", [1e6, 1e7, 1e8], [1.0, 2.0, 3.0]).raises("ValueError")
        .hint("a parabola that opens downwards or is a line has no minimum: a ValueError"),
    ],
    "test_fit_power_law": [
        Case("fit_power_law", x, 3.7e-2 * x ** -0.41).close(rtol=1e-6)
        for x in (np.exp(rng.uniform(0, 30, 6)), np.geomspace(1e3, 1e9, 2))
    ] + [Case("fit_power_law", list(np.geomspace(1, 1e4, 40)),
              list(5 * np.geomspace(1, 1e4, 40) ** 0.3 * np.exp(rng.normal(0, 0.1, 40))))
         .close(rtol=1e-6).hint("lists as well as arrays; a least-squares fit in log space")],
    "test_fit_isoflops": [
        Case("fit_isoflops", isoflop_runs([3e18, 3e19, 3e20], CHINCHILLA)).attrs(*_FIT)
        .close(rtol=1e-5),
        Case("fit_isoflops", isoflop_runs(np.geomspace(1e17, 1e21, 5), random_law(), noise=0.003)
             + [{"N": 1e5, "C": 5e18, "loss": 3.0}, {"N": 2e5, "C": 5e18, "loss": 2.8},
                {"N": 4e5, "C": 5e18, "loss": 2.7}]).attrs(*_FIT).close(rtol=1e-5)
        .hint("skip a budget whose parabola has no minimum"),
        Case("fit_isoflops", isoflop_runs([1e19], CHINCHILLA)).raises("ValueError")
        .hint("fewer than two usable budgets: a ValueError"),
    ],
    "test_huber": [
        Case("huber", rng.normal(0, 0.01, (4, 5))).close(rtol=1e-10, atol=1e-15),
        Case("huber", np.linspace(-2, 2, 9), delta=0.7).close(rtol=1e-10, atol=1e-15),
        Case("huber", -0.003).close(rtol=1e-10).hint("a scalar works too"),
    ],
    "test_chinchilla_objective": [
        Case("chinchilla_objective", np.array(p), *_LOGS, delta=d).close(rtol=1e-6, atol=1e-12)
        .hint("a stable log-sum-exp of the three terms, with natural logs")
        for p, d in ((_TRUTH, 1e-3), ([5.0, 7.0, 0.2, 0.3, 0.35], 1e-3),
                     ([12.0, 3.0, -0.5, 0.9, 0.1], 0.05), ([20.0, 15.0, 0.7, 1.5, 0.6], 0.05),
                     ([900.0, 800.0, 600.0, 0.1, 0.1], 1e-3))  # the last overflows exp
    ],
    "test_fit_chinchilla": [
        Case("fit_chinchilla", np.exp(_LOGS[0]), np.exp(_LOGS[1]), np.exp(_LOGS[2]),
             inits=[[6.2, 5.8, 0.4, 0.3, 0.3]]).close(rtol=2e-3),
        Case("fit_chinchilla", np.exp(_LOGS[0]), np.exp(_LOGS[1]), law_loss(_N, _D, **CHINCHILLA),
             delta=0.01, inits=[_TRUTH]).close(rtol=2e-3),
    ],
    "test_compute_optimal_allocation": [
        Case("compute_optimal_allocation", 10 ** rng.uniform(15, 25), **random_law())
        .close(rtol=1e-9)
        for _ in range(3)
    ] + [Case("compute_optimal_allocation", np.geomspace(1e18, 1e23, 6), **CHINCHILLA)
         .close(rtol=1e-9).hint("an array of budgets")],
    "test_bootstrap_ci": [
        boot({"x": _X}, ["mean", "x"], seed=3, **_BOOT,
             hint="the percentile interval of resampled statistics (rows drawn with replacement)")
        .expect(_MEAN_95).close(rtol=0, atol=_TOL),
        boot({"x": _X}, ["mean", "x"], level=0.8, seed=4, **_BOOT, hint="level is not always 0.95")
        .expect(ideal_interval(_X, mean_of_x, 0.8)).close(rtol=0, atol=_TOL),
        boot({"x": _X}, ["stack", ["mean", "x"], ["std", "x"]], seed=5, **_BOOT,
             hint="a statistic may return a vector: one interval per entry")
        .expect(ideal_interval(_X, mean_and_std, 0.95)).close(rtol=0, atol=_TOL),
        boot({"x": _X}, ["flaky", 4, ["mean", "x"]], seed=6, **_BOOT,
             hint="skip resamples whose statistic raises and draw others")
        .expect(_MEAN_95).close(rtol=0, atol=_TOL),
        boot(_GROUPED, ["group_sizes", "g", [0, 1, 2]], num_samples=30, by="g",
             hint="resampling within groups: every group keeps its size")
        .close(rtol=1e-12).any_dtype(),
        boot({"x": _X}, ["nan"], num_samples=20, hint="a statistic never finite: a ValueError")
        .raises("ValueError"),
    ],
    "test_predict_large_run": predictions(factor=4),
    "test_predict_large_run_n_within_2x": predictions(factor=2),
    "test_predict_large_run_n_within_1_5x": predictions(factor=1.5),
    "test_predict_large_run_loss": predictions(loss_rtol=0.05),
}

# Plausible wrong answers these cases must catch (grader/tests/test_trusted.py runs each over
# the solution's definitions): floor division, a lost broadcast, no outlier clipping in
# Huber, an unstable log-sum-exp, log10 for ln, N and D swapped; for predict_large_run,
# Chinchilla's 20 tokens per parameter instead of a fit, a fit off by a factor 3 or 1.8, the
# best loss seen instead of the fitted law's, and a budget overrun.
MUTANTS = {
    "test_compute_to_tokens": ["def compute_to_tokens(c, n): return c // (6 * n)"],
    "test_huber": ["""
        import numpy as _np
        def huber(r, delta=1e-3):
            return 0.5 * _np.asarray(r, float) ** 2
    """],
    "test_chinchilla_objective": ["""
        import numpy as _np
        def chinchilla_objective(params, log_n, log_d, log_loss, delta=1e-3):
            a, b, e, alpha, beta = params
            w = _np.exp(_np.stack([a - alpha * log_n, b - beta * log_d, _np.full_like(log_n, e)]))
            total = w.sum(axis=0)
            r = _np.log(total) - log_loss
            w = w / total
            psi = _np.clip(r, -delta, delta)
            grad = _np.array([psi @ w[0], psi @ w[1], psi @ w[2],
                              -(psi * w[0]) @ log_n, -(psi * w[1]) @ log_d])
            return float(huber(r, delta).sum()), grad
    """],
    "test_compute_optimal_allocation": ["""
        _right = compute_optimal_allocation
        def compute_optimal_allocation(c, **law):
            n, d = _right(c, **law)
            return d, n
    """],
    "test_bootstrap_ci": [
        """
        _right = bootstrap_ci
        def bootstrap_ci(data, statistic, num_samples=200, level=0.95, seed=0, by=None):
            # q(1-level), q(level)
            return _right(data, statistic, num_samples, 2 * level - 1, seed, by)
        """,
        """
        def bootstrap_ci(data, statistic, num_samples=200, level=0.95, seed=0, by=None):
            rng = np.random.default_rng(seed)  # without replacement: every resample is the data
            values = [np.asarray(statistic(data.iloc[rng.permutation(len(data))]), float)
                      for _ in range(num_samples)]
            low, high = np.quantile(values, [(1 - level) / 2, (1 + level) / 2], axis=0)
            return (float(low), float(high)) if low.ndim == 0 else (low, high)
        """,
        """
        _right = bootstrap_ci
        def bootstrap_ci(data, statistic, num_samples=200, level=0.95, seed=0, by=None):
            return _right(data, statistic, num_samples, level, seed)  # ignores the groups
        """,
        """
        def bootstrap_ci(data, statistic, num_samples=200, level=0.95, seed=0, by=None):
            rng = np.random.default_rng(seed)  # a failed resample stops everything
            values = [np.asarray(statistic(data.iloc[rng.integers(0, len(data), len(data))]), float)
                      for _ in range(num_samples)]
            low, high = np.quantile(values, [(1 - level) / 2, (1 + level) / 2], axis=0)
            return (float(low), float(high)) if low.ndim == 0 else (low, high)
        """,
    ],
    "test_predict_large_run": [
        """
        def predict_large_run(service, target_flops):
            n = (target_flops / 120) ** 0.5
            return {"N": n, "D": 20 * n, "loss": 2.0}
        """,
        """
        _right = predict_large_run
        def predict_large_run(service, target_flops):
            prediction = _right(service, target_flops)
            service.budget *= 2  # raises its own budget, then overruns the real one
            for _ in range(3):
                service.train(**config_for_params(1e7, train_flops=1e17))
            return prediction
        """,
    ],
    "test_predict_large_run_n_within_2x": ["""
        _right = predict_large_run
        def predict_large_run(service, target_flops):
            n = 3 * _right(service, target_flops)["N"]
            return {"N": n, "D": target_flops / (6 * n), "loss": 2.0}
    """],
    "test_predict_large_run_n_within_1_5x": ["""
        _right = predict_large_run
        def predict_large_run(service, target_flops):
            n = _right(service, target_flops)["N"] / 1.8
            return {"N": n, "D": target_flops / (6 * n), "loss": 2.0}
    """],
    "test_predict_large_run_loss": ["""
        _right = predict_large_run
        def predict_large_run(service, target_flops):
            p = _right(service, target_flops)
            return {**p, "loss": min(r["loss"] for r in service.runs())}
    """],
}
