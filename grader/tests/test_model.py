"""The reference Transformer LM (helpers/reference/model.py) and the reference decoder
(helpers/reference/generation.py).

- Parameter names and shapes are the contract shared with lesson 02's ``TransformerLM``.
- Properties: causality, RoPE's relative-position property, initialization statistics.
- Cross-checks: RoPE against a complex-number implementation; the whole forward pass against a
  functional einsum re-implementation from the state_dict; the naive attention backend
  against SDPA.
- Decoding: greedy is argmax, a tiny top_p is greedy, eos and max_new_tokens stop it,
  nucleus sampling never draws outside the nucleus, seeded generators reproduce samples.

Run: ``python -m pytest grader/tests/test_model.py -q`` (a few seconds).
"""
from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from helpers.reference.generation import generate, sample_next
from helpers.reference.model import (
    ATTENTION_BACKENDS,
    ModelConfig,
    ReferenceLM,
    apply_rope,
    register_attention_backend,
    rope_tables,
)

TINY = ModelConfig(vocab_size=97, context_length=32, d_model=48, num_layers=2, num_heads=4,
                   d_ff=128)


pytestmark = pytest.mark.usefixtures("one_thread")  # see conftest.py


def tiny_model(seed: int = 0, **overrides) -> ReferenceLM:
    torch.manual_seed(seed)
    cfg = ModelConfig(**{**TINY.__dict__, **overrides})
    return ReferenceLM(cfg).eval()


# ---------------------------------------------------------------------------------------------
# Parameters and initialization
# ---------------------------------------------------------------------------------------------
def test_parameter_names_and_shapes():
    cfg = TINY
    d, f, v = cfg.d_model, cfg.d_ff, cfg.vocab_size
    expected = {"token_embeddings.weight": (v, d), "ln_final.weight": (d,),
                "lm_head.weight": (v, d)}
    for i in range(cfg.num_layers):
        expected |= {
            f"layers.{i}.ln1.weight": (d,),
            f"layers.{i}.attn.q_proj.weight": (d, d),
            f"layers.{i}.attn.k_proj.weight": (d, d),
            f"layers.{i}.attn.v_proj.weight": (d, d),
            f"layers.{i}.attn.output_proj.weight": (d, d),
            f"layers.{i}.ln2.weight": (d,),
            f"layers.{i}.ffn.w1.weight": (f, d),
            f"layers.{i}.ffn.w2.weight": (d, f),
            f"layers.{i}.ffn.w3.weight": (f, d),
        }
    model = ReferenceLM(cfg)
    got = {k: tuple(t.shape) for k, t in model.state_dict().items()}
    assert got == expected, "state_dict keys/shapes differ from lesson 02's contract"
    assert {k: tuple(p.shape) for k, p in model.named_parameters()} == expected


def test_init_statistics():
    torch.manual_seed(0)
    model = ReferenceLM(ModelConfig(vocab_size=2000, d_model=256, num_layers=1, num_heads=4,
                                    d_ff=704))
    shrink = 0.98658  # std of a normal truncated at +-3 std, in units of the untruncated std
    for name, p in model.named_parameters():
        w = p.detach()
        if name.endswith(("ln1.weight", "ln2.weight", "ln_final.weight")):
            assert torch.equal(w, torch.ones_like(w)), name
            continue
        std = 1.0 if name == "token_embeddings.weight" else math.sqrt(2 / sum(w.shape))
        assert w.abs().max() <= 3 * std + 1e-6, f"{name} is not truncated at 3 std"
        assert w.std().item() == pytest.approx(std * shrink, rel=0.03), name
        assert abs(w.mean().item()) < 0.02 * std, name


def test_config_checks():
    with pytest.raises(ValueError, match="divisible"):
        ModelConfig(d_model=50, num_heads=4)
    assert ModelConfig().d_head == 32


# ---------------------------------------------------------------------------------------------
# RoPE
# ---------------------------------------------------------------------------------------------
def rope_complex(x: torch.Tensor, positions: torch.Tensor, theta: float) -> torch.Tensor:
    """Independent RoPE: pair (x[2i], x[2i+1]) is the complex x[2i] + j x[2i+1], times e^(j pos
    w_i)."""
    d = x.shape[-1]
    w = theta ** (-torch.arange(0, d, 2, dtype=torch.float64) / d)  # (d/2,)
    rot = torch.polar(torch.ones(len(positions), d // 2, dtype=torch.float64),
                      positions.double()[:, None] * w)  # (seq, d/2)
    z = torch.view_as_complex(x.double().unflatten(-1, (-1, 2)).contiguous())  # (..., seq, d/2)
    return torch.view_as_real(z * rot).flatten(-2).to(x.dtype)


def test_rope_matches_complex_rotation():
    torch.manual_seed(0)
    x = torch.randn(2, 3, 20, 16)  # (batch, heads, seq, d_head)
    cos, sin = rope_tables(16, 20, theta=500.0)
    expected = rope_complex(x, torch.arange(20), theta=500.0)
    torch.testing.assert_close(apply_rope(x, cos, sin), expected, rtol=1e-5, atol=1e-5)


def test_rope_dot_product_depends_only_on_offset():
    torch.manual_seed(1)
    q, k = torch.randn(16), torch.randn(16)
    cos, sin = rope_tables(16, 64)

    def score(m: int, n: int) -> float:
        qm = apply_rope(q[None], cos[m:m + 1], sin[m:m + 1])[0]
        kn = apply_rope(k[None], cos[n:n + 1], sin[n:n + 1])[0]
        return float(qm @ kn)

    for m, n, shift in [(5, 2, 10), (0, 0, 31), (40, 7, 13), (3, 9, 50)]:
        assert score(m, n) == pytest.approx(score(m + shift, n + shift), abs=1e-4)
    assert score(0, 0) == pytest.approx(float(q @ k), abs=1e-5), "position 0 must not rotate"
    assert abs(score(5, 2) - score(6, 2)) > 1e-3, "different offsets should change the score"


def test_token_positions():
    model = tiny_model()
    x = torch.randint(0, TINY.vocab_size, (2, 10))
    torch.testing.assert_close(model(x, torch.arange(10)), model(x))
    torch.testing.assert_close(model(x, torch.arange(10).expand(2, 10)), model(x))
    # Shifting every position by the same amount changes nothing (RoPE is relative) ...
    torch.testing.assert_close(model(x, torch.arange(10) + 7), model(x), rtol=1e-4, atol=1e-4)
    # ... and positions past the table are computed on the fly.
    torch.testing.assert_close(model(x, torch.arange(10) + 1000), model(x), rtol=1e-3, atol=1e-3)
    with pytest.raises(ValueError, match="context_length"):
        model(torch.zeros(1, TINY.context_length + 1, dtype=torch.long))


# ---------------------------------------------------------------------------------------------
# The forward pass
# ---------------------------------------------------------------------------------------------
def functional_lm(sd: dict[str, torch.Tensor], cfg: ModelConfig, ids: torch.Tensor) -> torch.Tensor:
    """The architecture written from the state_dict alone, in float64: an independent oracle."""
    sd = {k: v.double() for k, v in sd.items()}
    h, dh = cfg.num_heads, cfg.d_head
    seq = ids.shape[-1]

    def rms(x, w):
        return x / torch.sqrt(x.pow(2).mean(-1, keepdim=True) + cfg.eps) * w

    x = sd["token_embeddings.weight"][ids]  # (batch, seq, d_model)
    mask = torch.ones(seq, seq, dtype=torch.bool).tril()
    for i in range(cfg.num_layers):
        def p(name):
            return sd[f"layers.{i}.{name}.weight"]

        a = rms(x, p("ln1"))
        q, k, v = (torch.einsum("bsd,ed->bse", a, p(f"attn.{n}_proj")).unflatten(-1, (h, dh))
                   .transpose(1, 2) for n in "qkv")  # (batch, heads, seq, d_head)
        q = rope_complex(q, torch.arange(seq), cfg.rope_theta)
        k = rope_complex(k, torch.arange(seq), cfg.rope_theta)
        scores = torch.einsum("bhqd,bhkd->bhqk", q, k) / math.sqrt(dh)
        att = torch.softmax(scores.masked_fill(~mask, -math.inf), dim=-1)
        o = torch.einsum("bhqk,bhkd->bhqd", att, v).transpose(1, 2).flatten(-2)
        x = x + o @ p("attn.output_proj").T
        f = rms(x, p("ln2"))
        gate = f @ p("ffn.w1").T
        x = x + (gate * torch.sigmoid(gate) * (f @ p("ffn.w3").T)) @ p("ffn.w2").T
    return rms(x, sd["ln_final.weight"]) @ sd["lm_head.weight"].T


def test_forward_matches_functional_oracle():
    model = tiny_model(seed=3)
    with torch.no_grad():  # non-trivial norm gains, so a mix-up of ln1/ln2/ln_final shows
        for name, p in model.named_parameters():
            if name.endswith(("ln1.weight", "ln2.weight", "ln_final.weight")):
                p.uniform_(0.5, 1.5)
    ids = torch.randint(0, TINY.vocab_size, (2, 17))
    logits = model(ids)
    assert logits.shape == (2, 17, TINY.vocab_size) and logits.dtype == torch.float32
    expected = functional_lm(model.state_dict(), TINY, ids)
    torch.testing.assert_close(logits.double(), expected, rtol=1e-4, atol=1e-4)


def test_causal():
    model = tiny_model()
    x = torch.randint(0, TINY.vocab_size, (1, 20))
    y = x.clone()
    y[0, 12] = (x[0, 12] + 1) % TINY.vocab_size
    a, b = model(x), model(y)
    torch.testing.assert_close(a[:, :12], b[:, :12], msg="a future token changed earlier logits")
    assert not torch.allclose(a[:, 12:], b[:, 12:]), "changing a token should change its own logits"


@pytest.mark.parametrize("seq", [1, 7, 32])
def test_naive_backend_matches_sdpa(seq):
    model = tiny_model(seed=1)
    x = torch.randint(0, TINY.vocab_size, (3, seq))
    sdpa = model(x)
    model.attn_backend = "naive"
    torch.testing.assert_close(model(x), sdpa, rtol=1e-4, atol=1e-4)


def test_backends_have_the_same_gradients():
    x = torch.randint(0, TINY.vocab_size, (2, 16))
    grads = []
    for backend in ("sdpa", "naive"):
        model = tiny_model(seed=2).train()
        model.attn_backend = backend
        model(x).logsumexp(-1).mean().backward()
        grads.append(torch.cat([p.grad.flatten() for p in model.parameters()]))
    torch.testing.assert_close(grads[0], grads[1], rtol=1e-4, atol=1e-5)


def test_register_attention_backend():
    calls = []

    def spy(q, k, v):
        calls.append(q.shape)
        return ATTENTION_BACKENDS["naive"](q, k, v)

    register_attention_backend("test_spy", spy)
    try:
        torch.manual_seed(0)
        model = ReferenceLM(TINY, attn_backend="test_spy")
        model(torch.zeros(2, 5, dtype=torch.long))
        assert calls == [(2, TINY.num_heads, 5, TINY.d_head)] * TINY.num_layers
    finally:
        del ATTENTION_BACKENDS["test_spy"]
    with pytest.raises(ValueError, match="register_attention_backend"):
        ReferenceLM(TINY, attn_backend="no_such_backend")


# ---------------------------------------------------------------------------------------------
# Generation
# ---------------------------------------------------------------------------------------------
class Counter(nn.Module):
    """A fake LM whose most likely next token is (last token + 1) mod vocab_size."""

    def __init__(self, vocab_size: int = 10):
        super().__init__()
        self.vocab_size = vocab_size
        self.dummy = nn.Parameter(torch.zeros(()))
        self.seen: list[int] = []

    def forward(self, ids):
        self.seen.append(ids.shape[-1])
        nxt = (ids + 1) % self.vocab_size  # (batch, seq)
        return nn.functional.one_hot(nxt, self.vocab_size).float() * 5.0 + self.dummy


def test_generate_greedy_max_tokens_and_eos():
    lm = Counter()
    assert generate(lm, [3], 4, temperature=0) == [4, 5, 6, 7]
    assert generate(lm, [3], 10, temperature=0, eos_id=6) == [4, 5, 6], "stop right after eos_id"
    assert generate(lm, [8], 0, temperature=0) == []
    lm.seen.clear()
    generate(lm, [0, 1, 2, 3, 4], 6, temperature=0, context_length=4)
    assert max(lm.seen) == 4, "the model must see at most context_length tokens"


def test_generate_temperature_zero_is_argmax():
    model = tiny_model(seed=5)
    prompt = [1, 2, 3]
    ids = list(prompt)
    with torch.no_grad():
        for _ in range(8):
            ids.append(int(model(torch.tensor([ids]))[0, -1].argmax()))
    assert generate(model, prompt, 8, temperature=0) == ids[len(prompt):]


def test_generate_tiny_top_p_is_greedy_and_seeds_reproduce():
    model = tiny_model(seed=6)
    greedy = generate(model, [5], 12, temperature=0)
    assert generate(model, [5], 12, top_p=1e-6,
                    generator=torch.Generator().manual_seed(0)) == greedy

    def sample(seed):
        return generate(model, [5], 12, temperature=1.5,
                        generator=torch.Generator().manual_seed(seed))

    assert sample(1) == sample(1)
    assert len({tuple(sample(s)) for s in range(5)}) > 1, "temperature 1.5 should vary"
    long = generate(model, [5], TINY.context_length + 5, temperature=0)  # past the context window
    assert len(long) == TINY.context_length + 5
    assert model.training is False


def test_sample_next_nucleus():
    probs = torch.tensor([0.5, 0.3, 0.15, 0.05])
    gen = torch.Generator().manual_seed(0)
    draws = [sample_next(probs.log(), top_p=0.7, generator=gen) for _ in range(400)]
    assert set(draws) == {0, 1}, "top_p=0.7 keeps the tokens 0 and 1 (0.5 + 0.3 >= 0.7) only"
    assert 0.5 < draws.count(0) / 400 < 0.75  # renormalized: 0.5 / 0.8 = 0.625
    draws = [sample_next(probs.log(), top_p=0.8, generator=gen) for _ in range(200)]
    assert set(draws) == {0, 1}, "cumulative 0.8 reaches top_p=0.8: token 2 is out"
    draws = [sample_next(probs.log(), generator=gen) for _ in range(2000)]
    freq = torch.bincount(torch.tensor(draws), minlength=4) / 2000
    torch.testing.assert_close(freq, probs, atol=0.04, rtol=0)
    with pytest.raises(ValueError):
        sample_next(probs, top_p=0.0)


def test_autocast_residual_keeps_the_residual_stream_in_bf16_only_under_autocast():
    model, bf16_residual = tiny_model(), tiny_model()
    bf16_residual.autocast_residual = True
    ids = torch.randint(0, TINY.vocab_size, (2, 16), generator=torch.Generator().manual_seed(0))
    assert torch.equal(model(ids), bf16_residual(ids))  # no autocast: no effect
    seen = []
    hook = bf16_residual.layers[1].register_forward_pre_hook(
        lambda m, args: seen.append(args[0].dtype))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        a, b = model(ids).float(), bf16_residual(ids).float()
    hook.remove()
    assert seen == [torch.bfloat16]  # what the second block receives
    assert (a - b).abs().max() < 0.1 * a.abs().max() and not torch.equal(a, b)
