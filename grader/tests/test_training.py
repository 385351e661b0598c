"""The training loop and its reference hooks (helpers/training.py), and the plots
(helpers/plotting.py).

- Reference values: the learning-rate schedule at its key points; batches are windows of the
  data with targets shifted by one.
- Behaviour: 100 steps of a tiny model on the committed stories sample bring the validation
  loss far below ln(vocab_size) (a uniform guess); an interrupted run resumed from its
  checkpoint ends with exactly the weights and history of an uninterrupted one.
- Hooks: the student's functions are called with the documented signatures.

Run: ``python -m pytest grader/tests/test_training.py -q`` (about 20 s on 2 cores).
"""
from __future__ import annotations

import io
import json
import math

import numpy as np
import pytest
import torch

from helpers.data import EOT, prepare_corpus
from helpers.reference.model import ModelConfig, ReferenceLM
from helpers.stories import STORIES_SAMPLE
from helpers.training import (
    History,
    TrainConfig,
    cosine_lr_schedule,
    cross_entropy,
    estimate_loss,
    get_batch,
    load_checkpoint,
    save_checkpoint,
    train,
)

VOCAB_SIZE = 512


pytestmark = pytest.mark.usefixtures("one_thread")  # see conftest.py


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """The committed 300 KB stories sample: ~250 KB to train on, the rest to validate."""
    tmp = tmp_path_factory.mktemp("corpus")
    text = STORIES_SAMPLE.read_text(encoding="utf-8")
    cut = text.index(EOT, 250_000) + len(EOT)
    (tmp / "train.txt").write_text(text[:cut], encoding="utf-8")
    (tmp / "valid.txt").write_text(text[cut:], encoding="utf-8")
    return prepare_corpus(0, VOCAB_SIZE, text_paths=(tmp / "train.txt", tmp / "valid.txt"),
                          data_dir=tmp, progress=False)


def tiny_model(context_length: int = 64, seed: int = 0) -> ReferenceLM:
    torch.manual_seed(seed)
    return ReferenceLM(ModelConfig(vocab_size=VOCAB_SIZE, context_length=context_length, d_model=64,
                                   num_layers=2, num_heads=4, d_ff=176))


# ---------------------------------------------------------------------------------------------
# Reference hooks
# ---------------------------------------------------------------------------------------------
def test_get_batch_windows_and_shift():
    data = np.arange(1000, dtype=np.uint16) * 3
    np.random.seed(0)
    x, y = get_batch(data, 8, 16, "cpu")
    assert x.shape == y.shape == (8, 16) and x.dtype == y.dtype == torch.int64
    torch.testing.assert_close(x[:, 1:], y[:, :-1], msg="y must be x shifted left by one")
    assert torch.all(y[:, -1] == x[:, -1] + 3)
    starts = x[:, 0] // 3
    assert torch.all((starts >= 0) & (starts + 16 < 1000))
    torch.testing.assert_close(x,
                               torch.from_numpy(data[starts.numpy()[:,
                                                                    None] + np.arange(16)]).long())
    # Every start position is possible (uniform over len(data) - context_length values).
    np.random.seed(1)
    seen = {int(s) for _ in range(200) for s in get_batch(data[:20], 16, 4, "cpu")[0][:, 0] // 3}
    assert seen == set(range(16))
    with pytest.raises(ValueError):
        get_batch(data[:16], 2, 16, "cpu")


def test_cosine_schedule_key_points():
    lr, min_lr, warmup, cycle = 1.0, 0.1, 10, 110

    def f(t):
        return cosine_lr_schedule(t, lr, min_lr, warmup, cycle)

    assert f(0) == 0.0
    assert f(5) == pytest.approx(0.5)
    assert f(10) == pytest.approx(lr), "the peak is reached at the end of warm-up"
    assert f(60) == pytest.approx((lr + min_lr) / 2), "halfway through the cosine"
    assert f(35) == pytest.approx(min_lr + (lr - min_lr) * (1 + math.cos(math.pi / 4)) / 2)
    assert f(110) == pytest.approx(min_lr)
    assert f(111) == f(10_000) == min_lr
    values = [f(t) for t in range(10, 111)]
    assert all(a >= b for a, b in zip(values, values[1:])), "the cosine part must not increase"
    assert cosine_lr_schedule(0, 1.0, 0.1, 0, 10) == 1.0, "no warm-up: start at the peak"


def test_cross_entropy_and_checkpoint_round_trip():
    torch.manual_seed(0)
    logits, targets = torch.randn(2, 3, 11), torch.randint(0, 11, (2, 3))
    expected = -torch.log_softmax(logits, -1).gather(-1, targets[..., None]).mean()
    torch.testing.assert_close(cross_entropy(logits, targets), expected)

    model = tiny_model()
    opt = torch.optim.AdamW(model.parameters())
    model(torch.zeros(1, 4, dtype=torch.long)).sum().backward()
    opt.step()
    buffer = io.BytesIO()
    save_checkpoint(model, opt, 42, buffer)
    buffer.seek(0)
    other = tiny_model(seed=1)
    other_opt = torch.optim.AdamW(other.parameters())
    assert load_checkpoint(buffer, other, other_opt) == 42
    for a, b in zip(model.state_dict().values(), other.state_dict().values()):
        torch.testing.assert_close(a, b)
    assert other_opt.state_dict()["state"].keys() == opt.state_dict()["state"].keys()


# ---------------------------------------------------------------------------------------------
# The loop
# ---------------------------------------------------------------------------------------------
def test_training_lowers_the_loss(corpus):
    cfg = TrainConfig(batch_size=16, context_length=64, num_steps=100, lr=1e-2, min_lr=1e-3,
                      warmup_steps=10, eval_every=50, eval_batches=4, log_every=10, device="cpu")
    history = train(tiny_model(), corpus.train, corpus.valid, cfg, progress=False)
    uniform = math.log(VOCAB_SIZE)
    assert history.step == list(range(10, 101, 10))
    assert [not math.isnan(v) for v in history.valid_loss] == [s in (50, 100) for s in history.step]
    assert history.final_valid_loss < 0.65 * uniform, (
        f"validation loss {history.final_valid_loss:.2f} should be far below ln(V)={uniform:.2f}")
    assert history.train_loss[-1] < history.train_loss[0] - 1.0
    assert history.lr[-1] == pytest.approx(cosine_lr_schedule(99, 1e-2, 1e-3, 10, 100))
    assert all(t > 0 for t in history.tokens_per_s)


def short_config(out_dir, **kw) -> TrainConfig:
    return TrainConfig(**{**dict(batch_size=4, context_length=32, num_steps=20, lr=3e-3,
                                 min_lr=3e-4,
                                 warmup_steps=4, eval_every=5, eval_batches=2, log_every=5,
                                 checkpoint_every=10, out_dir=out_dir, device="cpu"), **kw})


def test_resume_after_interruption_gives_identical_weights(corpus, tmp_path):
    straight = tiny_model(32)
    h_straight = train(straight, corpus.train, corpus.valid, short_config(tmp_path / "a"),
                       progress=False)

    calls = {"n": 0}

    def dies_at_step_14(data, batch_size, context_length, device):
        calls["n"] += 1
        if calls["n"] == 14:
            raise KeyboardInterrupt  # as if the kernel were interrupted after checkpoint 10
        return get_batch(data, batch_size, context_length, device)

    with pytest.raises(KeyboardInterrupt):
        train(tiny_model(32), corpus.train, corpus.valid, short_config(tmp_path / "b"),
              get_batch=dies_at_step_14, progress=False)
    saved = json.loads((tmp_path / "b" / "history.json").read_text())["history"]
    assert saved["step"] == [5, 10]

    resumed = tiny_model(32, seed=123)  # a different init: the checkpoint must overwrite it
    h_resumed = train(resumed, corpus.train, corpus.valid, short_config(tmp_path / "b"),
                      progress=False)
    for (name, a), b in zip(straight.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(a, b), f"{name} differs after resuming"
    assert h_resumed.step == h_straight.step == [5, 10, 15, 20]
    assert h_resumed.train_loss == h_straight.train_loss
    np.testing.assert_array_equal(h_resumed.valid_loss, h_straight.valid_loss)

    # A finished run is not trained again: its history comes back as saved.
    def never(*args):
        raise AssertionError("a finished run must not draw batches")

    again = train(tiny_model(32), corpus.train, corpus.valid, short_config(tmp_path / "b"),
                  get_batch=never, progress=False)
    assert again.to_dict() == h_resumed.to_dict()


def test_hooks_are_called_with_the_documented_signatures(corpus, tmp_path):
    seen = {}

    def my_get_batch(data, batch_size, context_length, device):
        seen["get_batch"] = (batch_size, context_length, device)
        return get_batch(data, batch_size, context_length, device)

    def my_schedule(t, max_lr, min_lr, warmup_iters, cosine_cycle_iters):
        seen.setdefault("t", []).append(t)
        seen["schedule"] = (max_lr, min_lr, warmup_iters, cosine_cycle_iters)
        return 1e-3

    def my_clip(parameters, max_l2_norm):
        seen["clip"] = (len(list(parameters)), max_l2_norm)

    def my_loss(logits, targets):
        seen["loss"] = (tuple(logits.shape), tuple(targets.shape))
        return cross_entropy(logits, targets)

    def my_save(model, optimizer, iteration, out):
        seen.setdefault("saved", []).append(iteration)
        save_checkpoint(model, optimizer, iteration, out)

    def my_optimizer(params, lr, betas, weight_decay, eps):
        seen["optimizer"] = (lr, betas, weight_decay, eps)
        return torch.optim.SGD(params, lr=lr)

    model = tiny_model(32)
    cfg = short_config(tmp_path, num_steps=6, checkpoint_every=3, grad_clip=0.5)
    history = train(model, corpus.train, None, cfg, optimizer=my_optimizer, get_batch=my_get_batch,
                    lr_schedule=my_schedule, clip_gradients=my_clip, loss_fn=my_loss,
                    save_checkpoint=my_save, progress=False)
    assert seen["get_batch"] == (4, 32, "cpu")
    assert seen["t"] == list(range(6)), "lr_schedule is called with t = 0, 1, ..., num_steps - 1"
    assert seen["schedule"] == (3e-3, 3e-4, 4, 6)
    assert seen["clip"] == (len(list(model.parameters())), 0.5)
    assert seen["loss"] == ((4, 32, VOCAB_SIZE), (4, 32))
    assert seen["saved"] == [3, 6]
    assert seen["optimizer"] == (3e-3, (0.9, 0.95), 0.1, 1e-8)
    assert history.lr == [1e-3, 1e-3] and all(math.isnan(v) for v in history.valid_loss)


def test_estimate_loss_is_fixed_and_leaves_rngs_alone(corpus):
    model = tiny_model()
    cfg = TrainConfig(batch_size=4, context_length=64, eval_batches=3, device="cpu")
    np.random.seed(5)
    torch.manual_seed(5)
    a = estimate_loss(model, corpus.valid, cfg)
    assert np.random.randint(1 << 30) == np.random.RandomState(5).randint(1 << 30)
    assert a == estimate_loss(model, corpus.valid, cfg)
    assert a == pytest.approx(math.log(VOCAB_SIZE), rel=0.5)
    assert model.training, "estimate_loss must restore training mode"


def test_history_round_trip():
    h = History(step=[10, 20], train_loss=[3.0, 2.5], valid_loss=[math.nan, 2.4], lr=[1e-3, 5e-4],
                tokens_per_s=[100.0, 110.0], time_s=[1.0, 2.0])
    d = json.loads(json.dumps(h.to_dict()))  # strict JSON: NaN is written as null
    assert d["valid_loss"] == [None, 2.4]
    back = History.from_dict(d)
    assert back.step == h.step and math.isnan(back.valid_loss[0]) and back.final_valid_loss == 2.4
    assert math.isnan(History().final_valid_loss)


def test_plots():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from helpers.plotting import plot_losses, plot_lr

    h = History(step=[10, 20, 30], train_loss=[3.0, 2.5, 2.2], valid_loss=[math.nan, 2.4, 2.1],
                lr=[1e-3, 5e-4, 1e-4], tokens_per_s=[1.0] * 3, time_s=[1.0, 2.0, 3.0])
    ax = plot_losses({"a": h, "b": h}, title="t", logx=True)
    assert len(ax.lines) == 4 and ax.get_title() == "t" and ax.get_xscale() == "log"
    assert list(ax.lines[1].get_xdata()) == [20, 30], "valid markers only where evaluated"
    ax = plot_lr(h)
    assert list(ax.lines[0].get_ydata()) == h.lr
    plt.close("all")
