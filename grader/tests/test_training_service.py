"""The training service of lesson 06 (``helpers/training_service.py``): budget, refusals, log,
determinism, noise, the learning-rate model and the per-student laws.

Run: ``python -m pytest grader/tests/test_training_service.py -q`` (a few seconds).
"""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from helpers import training_service as ts
from helpers.env import DATASETS_DIR


def config(**overrides):
    base = {"d_model": 256, "num_layers": 4, "num_heads": 4, "batch_size": 128, "lr": 1e-3,
            "train_flops": 1e15}
    return {**base, **overrides}


def test_base_law_is_the_shipped_fit():
    record = json.loads((DATASETS_DIR / "scaling" / "law.json").read_text())
    law = ts.base_law()
    for key, value in record["law"].items():
        assert getattr(law, key) == pytest.approx(value)
    assert ts.hidden_law(0) == law, "seed 0 is the base law, unperturbed"


def test_num_params_is_the_reference_models_non_embedding_count():
    from helpers.reference.model import ModelConfig, ReferenceLM

    d, layers = 96, 3  # d_ff = 8/3 d exactly: 12 L d^2 up to the RMSNorm gains (2L + 1) d
    model = ReferenceLM(ModelConfig(vocab_size=50, context_length=8, d_model=d, num_layers=layers,
                                    num_heads=4, d_ff=8 * d // 3))
    n = sum(p.numel() for name, p in model.named_parameters()
            if not name.startswith(("token_embeddings", "lm_head")))
    assert ts.num_params(d, layers) == 12 * layers * d * d == n - (2 * layers + 1) * d


def test_budget_is_charged_and_refused_when_exceeded(tmp_path):
    service = ts.TrainingService(seed=3, budget=2.5e15, log_path=tmp_path / "log.jsonl")
    loss = service.train(**config(train_flops=1e15))
    assert 0 < loss < 10 and service.spent == 1e15 and service.remaining == 1.5e15
    service.train(**config(train_flops=1e15))
    with pytest.raises(ts.BudgetExceeded,
                       match=r"refused: this run needs 1e\+15 FLOPs but only 5e\+14"):
        service.train(**config(train_flops=1e15))
    assert service.spent == 2e15, "a refused query costs nothing"
    service.train(**config(train_flops=3e14))  # what still fits is accepted
    assert service.remaining == pytest.approx(2e14)
    lines = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert [entry["status"] for entry in lines] == ["ok", "ok", "refused", "ok"]
    assert lines[-1]["spent"] == pytest.approx(2.3e15) and lines[2]["flops_charged"] == 0
    assert all({"time", "law_id", "config", "spent", "remaining"} <= set(e) for e in lines)


@pytest.mark.parametrize("bad,message", [
    (dict(d_model=32), "d_model=32 is outside"),
    (dict(num_layers=30), "num_layers=30 is outside"),
    (dict(num_heads=3), "must divide d_model"),
    (dict(batch_size=64), "batch_size must be one of"),
    (dict(lr=1.0), "lr=1.0 is outside"),
    (dict(train_flops=2e15), "train_flops must be one of"),
    (dict(d_model=256.5), "must be an integer"),
])
def test_invalid_configurations_are_refused_with_a_reason(tmp_path, bad, message):
    service = ts.TrainingService(log_path=tmp_path / "log.jsonl")
    with pytest.raises(ValueError, match=message):
        service.train(**config(**bad))
    assert service.spent == 0
    assert json.loads((tmp_path / "log.jsonl").read_text())["status"] == "invalid"


def test_resume_replays_the_log(tmp_path):
    path = tmp_path / "log.jsonl"
    first = ts.TrainingService(seed=5, log_path=path)
    first.train(**config())
    first.train(**config(train_flops=1e16))
    again = ts.TrainingService(seed=5, log_path=path, resume=True)
    assert again.spent == pytest.approx(1.1e16) and len(again.runs()) == 2
    other = ts.TrainingService(seed=6, log_path=path, resume=True)
    assert other.spent == 0, "another law's queries are not this law's"
    fresh = ts.TrainingService(seed=5, log_path=path)
    assert fresh.spent == 0 and path.read_text() == "", "without resume the log starts afresh"


def test_answers_are_deterministic_and_noisy():
    a, b = ts.TrainingService(seed=7), ts.TrainingService(seed=7)
    assert a.train(**config()) == b.train(**config()) == a.train(**config()), (
        "same query, same answer")
    law = a._law
    ratios = []
    for d_model in range(128, 1025, 32):
        c = config(d_model=d_model, num_heads=2, lr=float(law.lr_opt(ts.num_params(d_model, 4))))
        n = ts.num_params(d_model, 4)
        ratios.append(a.train(**c) / float(law.loss(n, c["train_flops"] / (6 * n))))
    sigma = np.std(np.log(ratios))
    assert 0.005 < sigma < 0.02, f"about 1% noise, got {sigma:.4f}"


def test_learning_rate_penalty_and_divergence():
    law = ts.hidden_law(11)
    n, d = 1e7, 1e9
    best = float(law.loss(n, d, law.lr_opt(n)))
    assert best == pytest.approx(float(law.loss(n, d)))
    for factor, penalty in ((2, ts.KAPPA * math.log(2) ** 2), (0.1, ts.KAPPA * math.log(10) ** 2)):
        assert float(law.loss(n, d, factor * law.lr_opt(n))) == pytest.approx(best * (1 + penalty))
    assert math.isnan(float(law.loss(n, d, 11 * law.lr_opt(n)))), "10x too large diverges"
    assert law.lr_opt(1e8) < law.lr_opt(1e6), "larger models want smaller learning rates"
    service = ts.TrainingService(seed=11)
    cfg = ts.config_for_params(3e7, lr=0.09, train_flops=1e13)
    assert math.isnan(service.train(**cfg)) and service.spent == 1e13, "a diverged run is charged"
    assert service.queries[-1]["diverged"] and service.queries[-1]["loss"] is None


def test_hidden_laws_stay_in_the_documented_ranges():
    base = ts.base_law()
    laws = [ts.hidden_law(ts.student_seed(f"student{i}", 99)) for i in range(200)]
    for name, (lo, hi) in ts.PERTURBATION.items():
        factors = np.array([getattr(law, name) / getattr(base, name) for law in laws])
        assert lo <= factors.min() and factors.max() <= hi, name
        assert factors.max() - factors.min() > 0.5 * (hi - lo), f"{name} should use its range"
    assert len({law.alpha for law in laws}) == 200, "every student gets a different law"


def test_student_seeds_are_stable_and_secret_dependent():
    assert ts.student_seed("alice", 1) == ts.student_seed("alice", 1) != 0
    assert ts.student_seed("alice", 1) != ts.student_seed("alice", 2) != ts.student_seed("bob", 2)


@pytest.mark.parametrize("n", [1e5, 1e6, 1e7, 1e8, 3e8])
def test_config_for_params_is_valid_and_close(n):
    cfg = ts.config_for_params(n, lr=2e-3, train_flops=1e16)
    ts.TrainingService.validate(cfg)
    assert abs(math.log(ts.num_params(cfg["d_model"], cfg["num_layers"]) / n)) < 0.2
    assert cfg["lr"] == 2e-3 and cfg["train_flops"] == 1e16


def test_runs_table():
    service = ts.TrainingService(seed=2)
    for flops in (1e13, 1e14):
        service.train(**config(train_flops=flops))
    runs = service.runs()
    assert list(runs.C) == [1e13, 1e14] and np.allclose(runs.D, runs.C / (6 * runs.N))
    assert repr(service).startswith("TrainingService(law ") and "2 runs" in repr(service)
