"""Trusted cases of lesson 02 (``grader.trusted``): hidden inputs, compared outside the kernel.

Never released (``solutions/`` is not in a bundle) and hidden from students' kernels. Each
graded test cell below also keeps its in-kernel test; it scores only if both pass.

Modules are built with the given weights (``module_case``; ``with_module_case`` when the
constructor takes a RoPE module, and for ``generate``'s fake models, made of torch's own
modules so that a bug elsewhere in the notebook does not cost ``generate`` its points).
Float32 results are compared at tolerances that another correct order of the same sums
meets (checked against PyTorch's own functions and float64 computations); what the
docstrings leave open stays with the in-kernel tests: the random initializations, the
``dtype``/``device`` arguments (not plain data), the uniform draw of ``get_batch``'s start
positions (its cases use corpora of exactly ``context_length + 1`` tokens: one window, so
the batch is determined), and ``generate``'s random samples (its cases are greedy, or
sample from a distribution that keeps one token: a tiny ``top_p`` or temperature).

AdamW (``optimizer_steps_case``) is stepped on given gradients, some missing, with
parameter groups of their own hyperparameters, with a learning rate set before every step,
and resumed midway by a new optimizer from the old one's ``state_dict()``. What needs the
student's live objects stays in-kernel: forbidden oracles (torch's softmax, attention,
AdamW), the ``dtype`` argument, ``step(closure)``, own ``Linear``/``Embedding`` modules.

Checkpoints (``checkpoint_case``) are saved from, and loaded into, a model and AdamW of
torch's own modules: what the student's ``save_checkpoint`` wrote, read back with
``torch.load``, and what their ``load_checkpoint`` restored from a file in the documented
format (to a str path, a ``Path`` or a binary file).

A case's ``hint`` is what the student reads when it fails (never its inputs or values).
"""
import math

import numpy as np
import torch

from grader.trusted import (
    Case,
    args,
    autograd_case,
    checkpoint_case,
    clip_gradients_case,
    module_case,
    optimizer_steps_case,
    recipe,
    with_module_case,
)

gen = torch.Generator().manual_seed(20260202)
later = torch.Generator().manual_seed(20261206)   # inputs of cases added later: the others stay
rng = np.random.default_rng(20260202)


def randn(*shape, scale=1.0, dtype=torch.float32, generator=gen):
    return (torch.randn(*shape, generator=generator) * scale).to(dtype)


def weight(d_out, d_in):
    """A Linear weight at the lesson's initial scale."""
    return randn(d_out, d_in, scale=math.sqrt(2 / (d_in + d_out)))


def gains(d):
    return 0.5 + torch.rand(d, generator=gen)


def ids(high, *shape):
    return torch.randint(0, high, shape, generator=gen)


def rope(theta, d_k, max_seq_len):
    return recipe("RotaryPositionalEmbedding", theta, d_k, max_seq_len)


def attn_state(d, prefix=""):
    return {f"{prefix}{n}_proj.weight": weight(d, d) for n in ("q", "k", "v", "output")}


def ffn_state(d, d_ff, prefix=""):
    return {f"{prefix}w1.weight": weight(d_ff, d), f"{prefix}w2.weight": weight(d, d_ff),
            f"{prefix}w3.weight": weight(d_ff, d)}


def block_state(d, d_ff, prefix=""):
    return {f"{prefix}ln1.weight": gains(d), f"{prefix}ln2.weight": gains(d),
            **attn_state(d, f"{prefix}attn."), **ffn_state(d, d_ff, f"{prefix}ffn.")}


def lm_state(vocab, d, layers, d_ff):
    state = {"token_embeddings.weight": randn(vocab, d)}
    for i in range(layers):
        state |= block_state(d, d_ff, f"layers.{i}.")
    return state | {"ln_final.weight": gains(d), "lm_head.weight": weight(vocab, d)}


def mask(*shape):
    """A random boolean mask whose first key is always allowed."""
    m = torch.rand(*shape, generator=gen) > 0.4
    m[..., 0] = True
    return m


def steps(shapes, n, scale=1.0, dtype=torch.float32, none=()):
    """n steps of gradients for parameters of these shapes; ``none``: (step, index) without."""
    return [[None if (t, i) in none else randn(*shape, scale=scale, dtype=dtype)
             for i, shape in enumerate(shapes)] for t in range(n)]


FLOAT32 = dict(rtol=2e-5, atol=2e-6)     # one matmul or normalization in float32
DEEP = dict(rtol=1e-4, atol=2e-5)         # attention, blocks and the LM: many float32 sums
EMBED = dict(rtol=1e-6, atol=1e-7)        # a lookup (and its gradient): no arithmetic
ROPE = dict(rtol=1e-5, atol=1e-5)         # cos/sin tables in float32
ADAM = dict(rtol=1e-5, atol=1e-6)         # ten-odd float32 optimizer steps
CLIP = dict(rtol=1e-5, atol=1e-7)         # one norm in float32

# --- modules -----------------------------------------------------------------------------
_MHSA = attn_state(16)
_MHSA_ROPE = recipe("MultiHeadSelfAttention", 16, 4, rope=rope(10_000.0, 4, 32), state=_MHSA)
_BLOCK = block_state(16, 24)
_BLOCK_ROPE = recipe("TransformerBlock", 16, 4, 24, rope=rope(10_000.0, 4, 32), state=_BLOCK)
_BLOCK_ROPE_EPS = recipe("TransformerBlock", 16, 4, 24, rope=rope(10_000.0, 4, 32), eps=0.1,
                         state=_BLOCK)
_LM = (23, 12, 16, 2, 4, 24)   # vocab_size, context_length, d_model, num_layers, num_heads, d_ff
_LM_STATE = lm_state(23, 16, 2, 24)
_LM_STATE2 = lm_state(23, 16, 2, 24)
_POS = torch.tensor([5, 0, 31, 7, 7, 2, 30])
_CAUSAL = torch.ones(7, 7, dtype=torch.bool).tril()
_QQ = randn(2, 5, 16, scale=100)
_ROW_OFF = mask(4, 4)
_ROW_OFF[1] = False   # query 1 may attend to nothing
_LONG = randn(1, 1024, 16, generator=later)


# --- generate's fake models, from torch's own modules ----------------------------------------
def _successor_table(vocab=10):
    """Logits (vocab, vocab) whose row i peaks at (i + 1) % vocab, 3 above the others."""
    table = -2 * torch.rand(vocab, vocab, generator=gen)
    table[torch.arange(vocab), (torch.arange(vocab) + 1) % vocab] = 3.0
    return table


def _window_model():
    """Embedding, one encoder layer (every position sees the whole window), linear head."""
    with torch.random.fork_rng():
        torch.manual_seed(153)
        model = torch.nn.Sequential(torch.nn.Embedding(12, 8), torch.nn.TransformerEncoderLayer(
            8, 2, dim_feedforward=16, dropout=0.0, batch_first=True), torch.nn.Linear(8, 12))
    # a larger head: clear argmaxes
    return {k: v.detach().clone() * (4 if k.startswith("2.") else 1)
            for k, v in model.state_dict().items()}


_SUCCESSOR = recipe("torch.nn.Embedding", 10, 10, state={"weight": _successor_table()})
_HUGE = recipe("torch.nn.Embedding", 3, 3,
               state={"weight": torch.tensor([[1e4, 1e4 - 1, -1e4]] * 3)})
_WINDOW = recipe("torch.nn.Sequential",
                 recipe("torch.nn.Embedding", 12, 8),
                 recipe("torch.nn.TransformerEncoderLayer", 8, 2, dim_feedforward=16,
                        dropout=0.0, batch_first=True),
                 recipe("torch.nn.Linear", 8, 12),
                 state=_window_model(), attrs={"context_length": 4})
_WINDOW_EOS = 10


def _mlp_state(sizes):
    """State dict of ``nn.Sequential(Linear, ReLU, Linear, ...)`` (Linear layers at 0, 2, ...)."""
    state = {}
    for n, (d_in, d_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        state[f"{2 * n}.weight"], state[f"{2 * n}.bias"] = weight(d_out, d_in), randn(d_out)
    return state


_SIZES = [5, 7, 3]
_CKPT = dict(sizes=_SIZES, states=[_mlp_state(_SIZES), _mlp_state(_SIZES)],  # saved, fresh
             grads=[[randn(*t.shape) for t in _mlp_state(_SIZES).values()] for _ in range(2)],
             iteration=4242)


def rotary(init, x, positions, grad_output=None, tol=ROPE, hint=None):
    return module_case("RotaryPositionalEmbedding", init=init, inputs=[x, positions],
                       grad_output=grad_output, hint=hint).close(**tol)


def mhsa(inputs, grad_output=None, hint=None):
    """MultiHeadSelfAttention(16, 4) with RoPE (a recipe: the module takes a RoPE module)."""
    return with_module_case("MultiHeadSelfAttention.forward", _MHSA_ROPE, args=inputs,
                            grad_output=grad_output, hint=hint).close(**DEEP)


def block(module, inputs, grad_output=None, hint=None):
    return with_module_case("TransformerBlock.forward", module, args=inputs,
                            grad_output=grad_output, hint=hint).close(**DEEP)


def lm(init_kwargs, state, inputs, grad_output=None, hint=None):
    return module_case("TransformerLM", init=args(*_LM, **init_kwargs), state=state,
                       inputs=inputs, grad_output=grad_output, hint=hint).close(**DEEP)


def adamw(params, grads, hint=None, tol=ADAM, **hyper):
    return optimizer_steps_case("AdamW", params=params, grads=grads, hint=hint,
                                **hyper).close(**tol)


def clip(grads, *args, hint=None, tol=CLIP, **kwargs):
    case = clip_gradients_case("gradient_clipping", grads=grads, args=args, kwargs=kwargs,
                               hint=hint)
    return case if tol is None else case.close(**tol)


def generate(model, prompt, max_new_tokens, hint=None, **kwargs):
    return with_module_case("generate", model, args=[prompt, max_new_tokens],
                            kwargs=kwargs or None, hint=hint)


CASES = {
    "test_Linear": [
        module_case("Linear", init=(5, 3), state={"weight": weight(3, 5)}, inputs=[randn(2, 3, 5)],
                    grad_output=randn(2, 3, 3), hint="check the output and the gradients"
                    ).close(**FLOAT32),
        module_case("Linear", init=(4, 4), state={"weight": weight(4, 4)}, inputs=[randn(6, 4)],
                    grad_output=randn(6, 4), hint="a square weight: W x is not W^T x"
                    ).close(**FLOAT32),
        module_case("Linear", init=(7, 2), state={"weight": weight(2, 7)}, inputs=[randn(7)],
                    hint="an input without a batch dimension").close(**FLOAT32),
        module_case("Linear", init=(3, 6), state={"weight": weight(6, 3)},
                    inputs=[randn(2, 1, 4, 3, scale=10)],
                    hint="any number of leading dimensions").close(**FLOAT32),
    ],
    "test_Embedding": [
        module_case("Embedding", init=(10, 4), state={"weight": randn(10, 4)},
                    inputs=[torch.tensor([[1, 2, 2], [9, 0, 1]])], grad_output=randn(2, 3, 4),
                    hint="repeated ids: their gradients add up").close(**EMBED),
        module_case("Embedding", init=(7, 3), state={"weight": randn(7, 3)},
                    inputs=[torch.tensor(6)], hint="a 0-d tensor of one id").close(**EMBED),
        module_case("Embedding", init=(50, 5), state={"weight": randn(50, 5)},
                    inputs=[ids(20, 2, 3, 4)], grad_output=randn(2, 3, 4, 5),
                    hint="index the table by id (a one-hot product needs vocab_size classes)"
                    ).close(**EMBED),
    ],
    "test_RMSNorm": [
        module_case("RMSNorm", init=args(8, eps=1e-5), state={"weight": gains(8)},
                    inputs=[randn(2, 3, 8, scale=5)], grad_output=randn(2, 3, 8)
                    ).close(**FLOAT32),
        module_case("RMSNorm", init=args(8, eps=0.5), state={"weight": gains(8)},
                    inputs=[randn(4, 8, scale=0.3)], grad_output=randn(4, 8),
                    hint="eps goes inside the square root").close(**FLOAT32),
        module_case("RMSNorm", init=(6,), state={"weight": gains(6)},
                    inputs=[torch.cat([torch.zeros(1, 6), randn(2, 6)])],
                    hint="a row of zeros stays finite").close(**FLOAT32),
        module_case("RMSNorm", init=(8,), state={"weight": gains(8)},
                    inputs=[randn(4, 8, scale=1000, dtype=torch.float16)],
                    hint="float16 in and out, with x**2 computed in float32"
                    ).close(rtol=2e-3, atol=1e-3),
        module_case("RMSNorm", init=(8,), state={"weight": gains(8)},
                    inputs=[randn(3, 8, scale=300, dtype=torch.bfloat16)],
                    hint="bfloat16 in and out, with x**2 computed in float32"
                    ).close(rtol=1e-2, atol=1e-2),
        module_case("RMSNorm", init=(5,), state={"weight": gains(5)},
                    inputs=[randn(3, 5, dtype=torch.float64)],
                    hint="float64 stays float64 (computing it in float32 is allowed)"
                    ).close(**FLOAT32),
    ],
    "test_silu": [
        Case("silu", randn(4, 7, scale=5)).close(rtol=1e-6, atol=1e-7)
        .hint("x * sigmoid(x), elementwise"),
        Case("silu", torch.tensor([-1e4, -100.0, -20.0, 0.0, 20.0, 100.0, 1e4]))
        .close(rtol=1e-6, atol=1e-7).hint("large inputs: about 0 far below zero, x far above"),
        Case("silu", randn(3, 5, scale=8, dtype=torch.float16)).close(rtol=2e-3, atol=1e-3)
        .hint("float16 in and out"),
        Case("silu", randn(2, 3, 4, dtype=torch.float64)).close(rtol=1e-12, atol=1e-14)
        .hint("float64 stays float64"),
        autograd_case("silu", inputs=[torch.tensor([-1e4, -100.0, -3.0, 0.0, 3.0, 100.0])],
                      grad_output=torch.ones(6),
                      hint="finite gradients for large inputs: x / (1 + exp(-x)) gives inf / inf")
        .close(rtol=1e-6, atol=1e-7),
    ],
    "test_SwiGLU": [
        module_case("SwiGLU", init=(8, 24), state=ffn_state(8, 24), inputs=[randn(2, 5, 8)],
                    grad_output=randn(2, 5, 8), hint="w2(SiLU(w1 x) * w3 x)").close(**FLOAT32),
        module_case("SwiGLU", init=(8, 24), state=ffn_state(8, 24), inputs=[randn(3, 8, scale=20)],
                    hint="large pre-activations: SiLU(x) is x * sigmoid(x)"
                    ).close(rtol=2e-5, atol=1e-5),
        module_case("SwiGLU", init=(4, 6), state=ffn_state(4, 6), inputs=[randn(4)],
                    hint="an input without a batch dimension").close(**FLOAT32),
    ],
    "test_RotaryPositionalEmbedding": [
        rotary((10_000.0, 8, 32), randn(2, 7, 8), _POS, randn(2, 7, 8),
               hint="rotate pairs (x0, x1), (x2, x3), ... by position * theta^(-2k/d)"),
        rotary((10_000.0, 8, 32), randn(2, 3, 6, 8), torch.arange(6),
               hint="inputs of shape (batch, heads, seq, d_k)"),
        rotary((10_000.0, 8, 32), randn(2, 3, 6, 8), ids(32, 2, 1, 6),
               hint="positions given per sequence, not 0, 1, 2, ..."),
        rotary((500.0, 4, 10), randn(10, 4), torch.arange(10), hint="theta is not always 10000"),
        rotary((10_000.0, 16, 4096), randn(5, 16), torch.tensor([4095, 4000, 3001, 2048, 17]),
               tol=dict(rtol=1e-3, atol=5e-3), hint="positions up to max_seq_len - 1"),
        rotary((10_000.0, 8, 64), randn(6, 8, dtype=torch.float16), torch.arange(58, 64),
               tol=dict(rtol=1e-2, atol=1e-2), hint="a float16 input gives a float16 output"),
    ],
    "test_softmax": [
        Case("softmax", randn(2, 3, 4, 5), dim=-1).close(rtol=1e-5, atol=1e-8),
        Case("softmax", randn(2, 3, 4, 5), dim=0).close(rtol=1e-5, atol=1e-8)
        .hint("normalize along dim, whichever it is"),
        Case("softmax", randn(2, 3, 4, 5, scale=5), 2).close(rtol=1e-5, atol=1e-8),
        Case("softmax", torch.tensor([[1e4, 0.0, -1e4], [-1e4, -1e4 + 1, -1e4 + 3]]), dim=-1)
        .close(rtol=1e-5, atol=1e-8)
        .hint("subtract each row's own max: exp overflows, and one global max underflows"),
        Case("softmax", torch.tensor([[0.0, -math.inf, 1.0], [-math.inf, 2.0, -math.inf]]), dim=1)
        .close(rtol=1e-5, atol=0.0).hint("-inf scores get exact zeros"),
        Case("softmax", randn(4, 9, scale=20, dtype=torch.float16), dim=-1)
        .close(rtol=4e-3, atol=1e-4),
        Case("softmax", randn(3, 6, dtype=torch.float64), dim=0).close(rtol=1e-10, atol=1e-14),
        autograd_case("softmax", inputs=[randn(3, 7, scale=3)], grad_output=randn(3, 7), dim=-1,
                      hint="gradients flow through softmax").close(rtol=1e-5, atol=1e-6),
    ],
    "test_scaled_dot_product_attention": [
        Case("scaled_dot_product_attention", randn(3, 4, 8), randn(3, 6, 8), randn(3, 6, 5))
        .close(**DEEP).hint("d_v may differ from d_k; scale by 1/sqrt(d_k)"),
        Case("scaled_dot_product_attention", randn(3, 4, 8), randn(3, 6, 8), randn(3, 6, 5),
             mask(4, 6)).close(**DEEP),
        Case("scaled_dot_product_attention", randn(2, 3, 5, 8), randn(2, 3, 7, 8),
             randn(2, 3, 7, 4), mask=mask(2, 1, 5, 7)).close(**DEEP)
        .hint("a mask that broadcasts over heads"),
        Case("scaled_dot_product_attention", _QQ, _QQ, _QQ, _CAUSAL[:5, :5]).close(**DEEP)
        .hint("large scores stay finite"),
        Case("scaled_dot_product_attention", randn(2, 4, 8), randn(2, 4, 8), randn(2, 4, 3),
             torch.zeros(4, 4, dtype=torch.bool)).close(**DEEP)
        .hint("a query that may attend to nothing gets zeros, not NaN"),
        autograd_case("scaled_dot_product_attention",
                      inputs=[randn(2, 4, 8), randn(2, 4, 8), randn(2, 4, 6)],
                      grad_output=randn(2, 4, 6), mask=_ROW_OFF,
                      hint="a fully masked row: zeros, and no NaN gradient").close(**DEEP),
        Case("scaled_dot_product_attention", *(randn(2, 3, 4, dtype=torch.float64)
                                               for _ in range(3)),
             _CAUSAL[:3, :3]).close(rtol=1e-10, atol=1e-12),
        Case("scaled_dot_product_attention", *(randn(2, 6, 8, dtype=torch.float16)
                                               for _ in range(3)),
             _CAUSAL[:6, :6]).close(rtol=2e-2, atol=2e-2).hint("float16 stays float16"),
        Case("scaled_dot_product_attention", *(randn(2, 6, 8, dtype=torch.bfloat16,
                                                     generator=later) for _ in range(3)),
             _CAUSAL[:6, :6]).close(rtol=5e-2, atol=5e-2).hint("bfloat16 stays bfloat16"),
        autograd_case("scaled_dot_product_attention",
                      inputs=[randn(2, 3, 4, dtype=torch.float64, generator=later)
                              for _ in range(3)],
                      grad_output=randn(2, 3, 4, dtype=torch.float64, generator=later),
                      mask=_CAUSAL[:3, :3], hint="gradients flow through Q, K and V"
                      ).close(rtol=1e-10, atol=1e-12),
        Case("scaled_dot_product_attention", _LONG, _LONG, _LONG,
             torch.ones(1024, 1024, dtype=torch.bool).tril()).close(rtol=1e-4, atol=1e-5)
        .hint("a long causal sequence"),
    ],
    "test_MultiHeadSelfAttention": [
        module_case("MultiHeadSelfAttention", init=(16, 4), state=_MHSA, inputs=[randn(2, 7, 16)],
                    grad_output=randn(2, 7, 16),
                    hint="without RoPE: causal mask; heads are blocks of d_head rows"
                    ).close(**DEEP),
        mhsa([randn(2, 7, 16)], randn(2, 7, 16)),
        mhsa([randn(2, 7, 16), torch.stack([torch.arange(7), torch.arange(7) + 20])],
             hint="token_positions of shape (batch, seq) reach RoPE"),
        mhsa([randn(7, 16), torch.tensor([9, 3, 4, 30, 11, 12, 0])],
             hint="token_positions reach RoPE"),
        mhsa([randn(2, 3, 5, 16)], hint="any number of leading dimensions"),
        module_case("MultiHeadSelfAttention", init=(8, 1), state=attn_state(8),
                    inputs=[randn(1, 3, 8)]).close(**DEEP),
    ],
    "test_TransformerBlock": [
        block(_BLOCK_ROPE, [randn(2, 9, 16)], randn(2, 9, 16),
              hint="pre-norm: x + attn(ln1(x)), then x + ffn(ln2(x))"),
        module_case("TransformerBlock", init=(16, 4, 24), state=_BLOCK, inputs=[randn(2, 9, 16)],
                    hint="without RoPE (rope=None)").close(**DEEP),
        block(_BLOCK_ROPE_EPS, [randn(2, 9, 16, scale=0.1)], hint="eps reaches both norms"),
        # positions spaced by 2, not shifted: RoPE sees only their differences
        block(_BLOCK_ROPE, [randn(9, 16), 2 * torch.arange(9) + 4],
              hint="token_positions reach the attention"),
    ],
    "test_TransformerLM": [
        lm({"rope_theta": 1000.0}, _LM_STATE, [ids(23, 2, 12)], hint="rope_theta reaches RoPE"),
        lm({"rope_theta": 1000.0}, _LM_STATE, [ids(23, 3, 5)]),
        lm({"rope_theta": 1000.0}, _LM_STATE,
           [ids(23, 2, 10), torch.tensor([list(range(10)), [0, 1, 3, 4, 5, 7, 8, 9, 10, 11]])],
           hint="token_positions reach RoPE"),
        lm({}, _LM_STATE2, [ids(23, 12)], hint="the default theta, and an input without a batch"),
        lm({"eps": 0.05}, _LM_STATE2, [ids(23, 2, 6)], randn(2, 6, 23),
           hint="gradients of every parameter; the final norm before the head"),
    ],
    "test_cross_entropy": [
        Case("cross_entropy", randn(8, 11), ids(11, 8)).close(**FLOAT32),
        Case("cross_entropy", randn(2, 5, 11, scale=3), ids(11, 2, 5)).close(**FLOAT32)
        .hint("average over every batch dimension"),
        Case("cross_entropy", torch.tensor([[1e4, 0.0, -1e4], [-1e4, -1e4, 1e4]]),
             torch.tensor([1, 0])).close(**FLOAT32)
        .hint("use log-sum-exp: never the log of a softmax"),
        Case("cross_entropy", torch.zeros(4, 50), ids(50, 4)).close(**FLOAT32),
        Case("cross_entropy", randn(4, 3, 50, scale=10, dtype=torch.float16), ids(50, 4, 3))
        .close(**FLOAT32).hint("float16 logits give a float32 loss"),
        Case("cross_entropy", randn(5, 3, dtype=torch.float64), ids(3, 5))
        .close(rtol=1e-10, atol=1e-14),
        Case("cross_entropy", torch.tensor([[0.0, -math.inf], [3.0, -math.inf]]),
             torch.tensor([0, 0])).close(**FLOAT32).hint("-inf logits of other tokens"),
        autograd_case("cross_entropy", inputs=[randn(6, 9, scale=30)],
                      grad_output=torch.tensor(1.0), targets=ids(9, 6)).close(**FLOAT32),
        autograd_case("cross_entropy", inputs=[torch.tensor([[1e4, 1e4 - 5, -1e4]])],
                      grad_output=torch.tensor(1.0), targets=torch.tensor([2]),
                      hint="finite gradients for large logits").close(**FLOAT32),
    ],
    "test_AdamW": [
        adamw([randn(5, 3), randn(4), randn(2)],
              steps(((5, 3), (4,), (2,)), 10, none={(3, 1), (7, 1)} | {(t, 2) for t in range(10)}),
              lr=0.1, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.1,
              hint="a parameter without a gradient is skipped, its state and step count too"),
        adamw([randn(3, 4), randn(6)], steps(((3, 4), (6,)), 20),
              hint="the default hyperparameters"),
        adamw([randn(7)], steps(((7,),), 6, scale=0.1), lr=0.05, betas=(0.5, 0.6), eps=0.1,
              weight_decay=0.5, hint="eps is added to sqrt(v_hat), outside the square root"),
        adamw([torch.tensor([1.0, -2.0, 3.0])], [[torch.tensor([0.01, -100.0, 2.0])]],
              lr=0.5, weight_decay=0.0, hint="with bias correction the first step moves each "
              "parameter by lr against its gradient's sign"),
        adamw([randn(4, dtype=torch.float64)], steps(((4,),), 8, dtype=torch.float64),
              lr=0.01, weight_decay=0.2, tol=dict(rtol=1e-6, atol=1e-9),
              hint="float64 parameters (float32 scalars allowed)"),
        adamw([randn(5, 3), randn(4), randn(2)], steps(((5, 3), (4,), (2,)), 12),
              groups=[{"params": [0], "weight_decay": 0.0},
                      {"params": [1, 2], "lr": 0.05, "betas": (0.8, 0.99)}],
              lr=0.01, weight_decay=0.3, eps=1e-6,
              hint="read each group's own hyperparameters in step()"),
        adamw([randn(6)], steps(((6,),), 15), lrs=[0.02 * (t + 1) / 15 for t in range(15)],
              hint="read lr from the param group at every step: a schedule sets it"),
        adamw([randn(5, 3, generator=later), randn(4, generator=later)],
              [[randn(5, 3, generator=later), randn(4, generator=later)] for _ in range(8)],
              reload_at=4, lr=0.1, weight_decay=0.1,
              hint="keep m, v and the step count in self.state: state_dict() restores them"),
    ],
    "test_lr_cosine_schedule": [
        Case("lr_cosine_schedule", t, *schedule).close(rtol=1e-9, atol=1e-15)
        .hint("a linear warm-up to max_lr, a cosine down to min_lr at cosine_cycle_iters, "
              "then min_lr")
        for schedule, ts in (((1.0, 0.1, 7, 21), (0, 1, 6, 7, 8, 14, 20, 21, 22, 100)),
                             ((3e-3, 3e-4, 100, 2000), (0, 50, 99, 100, 101, 1000, 1999, 2000,
                                                        5000)),
                             ((2.0, 0.2, 0, 10), (0, 5, 10, 11)),  # no warm-up
                             ((1e-2, 0.0, 5, 6), (4, 5, 6, 7)))
        for t in ts
    ],
    "test_gradient_clipping": [
        clip([randn(3, 4, scale=10), randn(5, scale=10), randn(2, 2, scale=10)], 1.0,
             hint="one norm over all the gradients together"),
        clip([randn(3, 4, scale=0.01), randn(5, scale=0.01)], 1.0, tol=dict(rtol=1e-6, atol=0.0),
             hint="gradients below the limit stay unchanged"),
        clip([randn(3, 4, scale=3), None, randn(2, 2, scale=3)], 0.5,
             hint="skip parameters without a gradient"),
        clip([torch.zeros(3), torch.zeros(2, 2)], 1.0, tol=None, hint="zeros stay zeros"),
        clip([randn(4, scale=3), randn(3, scale=3)], 2.0, eps=1.0,
             hint="eps in max / (norm + eps)"),
        clip([randn(3, 4, scale=100, dtype=torch.bfloat16),
              randn(5, scale=100, dtype=torch.bfloat16)], 1.0, tol=dict(rtol=3e-2, atol=1e-3),
             hint="bfloat16 gradients"),
        clip([randn(6, scale=5, dtype=torch.float64)], 1.5, tol=dict(rtol=1e-6)),
        clip([None, None], 1.0, tol=None, hint="no gradient at all"),
        clip([], 1.0, tol=None, hint="no parameters at all"),
    ],
    "test_get_batch": [  # corpora of context_length + 1 tokens: one window, so the batch is set
        Case("get_batch", np.array([60_000, 65_535, 1, 2, 3], dtype=np.uint16), 2, 4, "cpu")
        .hint("uint16 tokens above 32767 become int64 ids"),
        Case("get_batch", rng.integers(0, 65_536, 9).astype(np.uint16), 3, 8, "cpu")
        .hint("the last window starts at len(data) - context_length - 1"),
        Case("get_batch", np.arange(100, 107, dtype=np.int32), 1, 6, "cpu")
        .hint("inputs and targets are int64 tensors"),
        Case("get_batch", rng.integers(0, 2000, 13), 4, 12, "cpu"),
    ],
    "test_save_checkpoint": [
        checkpoint_case("save_checkpoint", mode="save", **_CKPT, target=t,
                        hint="save the model, the optimizer and the iteration as a Python int")
        for t in ("path", "pathlib", "file")],
    "test_load_checkpoint": [
        checkpoint_case("load_checkpoint", mode="load", **_CKPT, target=t,
                        hint="restore the model and the optimizer from a path or a file object")
        for t in ("path", "pathlib", "file")],
    # last: the endless sample's generate never returns (its first case times out, the rest
    # fail fast)
    "test_generate": [
        generate(_SUCCESSOR, [3], 6, temperature=0, hint="temperature 0 is greedy"),
        generate(_SUCCESSOR, [3], 10, temperature=0, eos_id=6,
                 hint="stop after eos_id, and return it"),
        generate(_SUCCESSOR, [9], 3, temperature=0, eos_id=0,
                 hint="eos_id as the first new token"),
        generate(_SUCCESSOR, [3], 0, hint="max_new_tokens=0 gives no tokens"),
        generate(_SUCCESSOR, [5, 1], 5, top_p=0.5,
                 hint="top-p keeps the top token even when it alone exceeds top_p"),
        generate(_SUCCESSOR, [2], 5, temperature=0.01, hint="a tiny temperature"),
        generate(_HUGE, [1], 4, top_p=0.5, hint="logits of 1e4: no NaN"),
        generate(_WINDOW, [1, 7, 3, 3, 9, 0, 5], 8, temperature=0,
                 hint="crop the context to model.context_length"),
        generate(_WINDOW, [2], 8, temperature=0, top_p=0.3, eos_id=_WINDOW_EOS,
                 hint="stop at eos_id"),
    ],
}

def _adamw(bias_correction=True, coupled=False, shared_step=False, eps_inside=False,
           missing_as_zero=False, from_defaults=False, own_state=False):
    """An AdamW with one plausible mistake."""
    return f"""
        class AdamW(AdamW):
            @torch.no_grad()
            def step(self, closure=None):
                self.t = getattr(self, "t", 0) + 1
                for group in self.param_groups:
                    h = self.defaults if {from_defaults} else group
                    lr, (b1, b2), eps, wd = h["lr"], h["betas"], h["eps"], h["weight_decay"]
                    for p in group["params"]:
                        if p.grad is None and not {missing_as_zero}:
                            continue
                        g = torch.zeros_like(p) if p.grad is None else p.grad
                        # own_state: a dict of its own, which state_dict() does not save
                        state = (self.__dict__.setdefault("mine", {{}}).setdefault(p, {{}})
                                 if {own_state} else self.state[p])
                        if not state:
                            state.update(step=0, m=torch.zeros_like(p), v=torch.zeros_like(p))
                        state["step"] += 1
                        t = self.t if {shared_step} else state["step"]
                        if {coupled}:
                            g = g + wd * p
                        else:
                            p.mul_(1 - lr * wd)
                        state["m"].mul_(b1).add_(g, alpha=1 - b1)
                        state["v"].mul_(b2).addcmul_(g, g, value=1 - b2)
                        m_hat, v_hat = state["m"], state["v"]
                        if {bias_correction}:
                            m_hat, v_hat = m_hat / (1 - b1 ** t), v_hat / (1 - b2 ** t)
                        denom = (v_hat + eps).sqrt() if {eps_inside} else v_hat.sqrt() + eps
                        p.sub_(lr * m_hat / denom)
    """


_GENERATE = """
    @torch.no_grad()
    def generate(model, prompt_ids, max_new_tokens, temperature=1.0, top_p=1.0, eos_id=None,
                 generator=None):
        context_length = getattr(model, "context_length", None)
        ids, new = list(prompt_ids), []
        for _ in range(max_new_tokens):
            window = ids[-context_length:] if context_length else ids
            logits = model(torch.tensor([window]))[0, -1].float()
            if temperature == 0:
                token = int(logits.argmax())
            else:
                probs = softmax(logits / temperature, dim=-1)
                if top_p < 1.0:
                    sorted_probs, order = probs.sort(descending=True)
                    drop = sorted_probs.cumsum(-1) - sorted_probs >= top_p
                    kept = sorted_probs.masked_fill(drop, 0.0)
                    probs = torch.zeros_like(probs).scatter(-1, order, kept)
                token = int(torch.multinomial(probs / probs.sum(), 1, generator=generator))
            ids.append(token)
            new.append(token)
            if token == eos_id:
                break
        return new
"""


def _generate(old, new):
    """The solution's generate (above) with ``old`` replaced by ``new``."""
    assert old in _GENERATE
    return _GENERATE.replace(old, new)


# Plausible wrong answers these cases must catch (grader/tests/test_trusted.py runs each over
# the solution's definitions).
MUTANTS = {
    "test_Linear": ["""
        class Linear(Linear):  # the weight used without its transpose
            def forward(self, x):
                return x @ self.weight
    """],
    "test_Embedding": ["""
        class Embedding(Embedding):  # .data: no gradient reaches the table
            def forward(self, token_ids):
                return self.weight.data[token_ids]
    """, """
        class Embedding(Embedding):  # one-hot product with as many classes as the largest id
            def forward(self, token_ids):
                return F.one_hot(token_ids).to(self.weight.dtype) @ self.weight
    """],
    "test_RMSNorm": ["""
        class RMSNorm(RMSNorm):  # eps outside the square root
            def forward(self, x):
                x32 = x.float()
                rms = x32.pow(2).mean(-1, keepdim=True).sqrt()
                return (x32 / (rms + self.eps) * self.weight).to(x.dtype)
    """, """
        class RMSNorm(RMSNorm):  # no upcast: float16 x**2 overflows
            def forward(self, x):
                ms = x.pow(2).mean(-1, keepdim=True)
                return x / torch.sqrt(ms + self.eps) * self.weight.to(x.dtype)
    """],
    "test_silu": ["""
        def silu(x):  # x / (1 + exp(-x)): exp overflows, the gradient is inf / inf = NaN
            return x / (1 + torch.exp(-x))
    """, """
        def silu(x):  # the sigmoid alone (GLU's gate)
            return torch.sigmoid(x)
    """, """
        def silu(x):  # computed in float32: the dtype is lost
            return (x.float() * torch.sigmoid(x.float()))
    """],
    "test_SwiGLU": ["""
        class SwiGLU(SwiGLU):  # the gate and the activated branch swapped
            def forward(self, x):
                a = self.w3(x)
                return self.w2(a * torch.sigmoid(a) * self.w1(x))
    """, """
        class SwiGLU(SwiGLU):  # sigmoid (GLU) for SiLU
            def forward(self, x):
                return self.w2(torch.sigmoid(self.w1(x)) * self.w3(x))
    """],
    "test_RotaryPositionalEmbedding": ["""
        class RotaryPositionalEmbedding(RotaryPositionalEmbedding):  # halves (GPT-NeoX) for pairs
            def forward(self, x, token_positions):
                cos, sin = self.cos[token_positions], self.sin[token_positions]
                x0, x1 = x.chunk(2, dim=-1)
                return torch.cat((x0 * cos - x1 * sin, x0 * sin + x1 * cos), dim=-1).to(x.dtype)
    """, """
        # theta^(-k/d) for theta^(-2k/d)
        class RotaryPositionalEmbedding(RotaryPositionalEmbedding):
            def __init__(self, theta, d_k, max_seq_len, device=None):
                super().__init__(theta, d_k, max_seq_len, device)
                inv = theta ** (-torch.arange(d_k // 2, dtype=torch.float64) / d_k)
                angles = torch.outer(torch.arange(max_seq_len, dtype=torch.float64), inv)
                self.cos, self.sin = angles.cos().float(), angles.sin().float()
    """, """
        class RotaryPositionalEmbedding(RotaryPositionalEmbedding):  # positions ignored
            def forward(self, x, token_positions):
                return super().forward(x, torch.arange(x.shape[-2]))
    """],
    "test_softmax": ["""
        def softmax(x, dim):  # no max subtracted: exp overflows
            e = torch.exp(x)
            return e / e.sum(dim=dim, keepdim=True)
    """, """
        def softmax(x, dim):  # one global max: rows far below it underflow to 0 / 0
            e = torch.exp(x - x.max())
            return e / e.sum(dim=dim, keepdim=True)
    """, """
        def softmax(x, dim):  # dim ignored
            e = torch.exp(x - x.amax(dim=-1, keepdim=True))
            return e / e.sum(dim=-1, keepdim=True)
    """],
    "test_scaled_dot_product_attention": ["""
        def scaled_dot_product_attention(Q, K, V, mask=None):  # no 1/sqrt(d_k)
            scores = Q @ K.transpose(-2, -1)
            if mask is not None:
                scores = scores.masked_fill(~mask, float("-inf"))
            weights = softmax(scores, dim=-1)
            if mask is not None:
                weights = weights.masked_fill(~mask.any(dim=-1, keepdim=True), 0.0)
            return weights @ V
    """, """
        def scaled_dot_product_attention(Q, K, V, mask=None):  # all-masked rows left NaN
            scores = Q @ K.transpose(-2, -1) / math.sqrt(Q.shape[-1])
            if mask is not None:
                scores = scores.masked_fill(~mask, float("-inf"))
            return softmax(scores, dim=-1) @ V
    """, """
        def scaled_dot_product_attention(Q, K, V, mask=None):  # scaled by sqrt(d_v)
            scores = Q @ K.transpose(-2, -1) / math.sqrt(V.shape[-1])
            if mask is not None:
                scores = scores.masked_fill(~mask, float("-inf"))
            weights = softmax(scores, dim=-1)
            if mask is not None:
                weights = weights.masked_fill(~mask.any(dim=-1, keepdim=True), 0.0)
            return weights @ V
    """],
    "test_MultiHeadSelfAttention": ["""
        class MultiHeadSelfAttention(MultiHeadSelfAttention):  # no causal mask
            def forward(self, x, token_positions=None):
                q, k, v = (rearrange(proj(x), "... s (h d) -> ... h s d", h=self.num_heads)
                           for proj in (self.q_proj, self.k_proj, self.v_proj))
                if self.rope is not None:
                    positions = (torch.arange(x.shape[-2]) if token_positions is None
                                 else token_positions).unsqueeze(-2)
                    q, k = self.rope(q, positions), self.rope(k, positions)
                out = scaled_dot_product_attention(q, k, v)
                return self.output_proj(rearrange(out, "... h s d -> ... s (h d)"))
    """, """
        # heads interleaved, not blocks of rows
        class MultiHeadSelfAttention(MultiHeadSelfAttention):
            def forward(self, x, token_positions=None):
                q, k, v = (rearrange(proj(x), "... s (d h) -> ... h s d", h=self.num_heads)
                           for proj in (self.q_proj, self.k_proj, self.v_proj))
                if self.rope is not None:
                    positions = (torch.arange(x.shape[-2]) if token_positions is None
                                 else token_positions).unsqueeze(-2)
                    q, k = self.rope(q, positions), self.rope(k, positions)
                causal = torch.ones(x.shape[-2], x.shape[-2], dtype=torch.bool).tril()
                out = scaled_dot_product_attention(q, k, v, causal)
                return self.output_proj(rearrange(out, "... h s d -> ... s (d h)"))
    """, """
        class MultiHeadSelfAttention(MultiHeadSelfAttention):  # token_positions ignored
            def forward(self, x, token_positions=None):
                return super().forward(x)
    """],
    "test_TransformerBlock": ["""
        class TransformerBlock(TransformerBlock):  # post-norm
            def forward(self, x, token_positions=None):
                x = self.ln1(x + self.attn(x, token_positions))
                return self.ln2(x + self.ffn(x))
    """, """
        class TransformerBlock(TransformerBlock):  # the FFN's input not normalized
            def forward(self, x, token_positions=None):
                x = x + self.attn(self.ln1(x), token_positions)
                return x + self.ffn(x)
    """, """
        class TransformerBlock(TransformerBlock):  # eps not passed to the norms
            def __init__(self, d_model, num_heads, d_ff, rope=None, eps=1e-5, device=None,
                         dtype=None):
                super().__init__(d_model, num_heads, d_ff, rope, device=device, dtype=dtype)
    """, """
        class TransformerBlock(TransformerBlock):  # token_positions not passed to the attention
            def forward(self, x, token_positions=None):
                return super().forward(x)
    """],
    "test_TransformerLM": ["""
        class TransformerLM(TransformerLM):  # no final norm
            def forward(self, token_ids, token_positions=None):
                x = self.token_embeddings(token_ids)
                for layer in self.layers:
                    x = layer(x, token_positions)
                return self.lm_head(x)
    """, """
        class TransformerLM(TransformerLM):  # rope_theta ignored
            def __init__(self, vocab_size, context_length, d_model, num_layers, num_heads, d_ff,
                         rope_theta=10_000.0, eps=1e-5, device=None, dtype=None):
                super().__init__(vocab_size, context_length, d_model, num_layers, num_heads, d_ff,
                                 eps=eps)
    """, """
        class TransformerLM(TransformerLM):  # token_positions not passed to the blocks
            def forward(self, token_ids, token_positions=None):
                return super().forward(token_ids)
    """],
    "test_cross_entropy": ["""
        def cross_entropy(logits, targets):  # log of the softmax: log 0 for unlikely targets
            probs = softmax(logits.float() if logits.dtype != torch.float64 else logits, dim=-1)
            return -torch.log(probs.gather(-1, targets.unsqueeze(-1))).mean()
    """, """
        def cross_entropy(logits, targets):  # a sum, not a mean
            logits = logits.to(torch.promote_types(logits.dtype, torch.float32))
            m = logits.amax(dim=-1, keepdim=True).detach()
            lse = m.squeeze(-1) + torch.log(torch.exp(logits - m).sum(dim=-1))
            return (lse - logits.gather(-1, targets.unsqueeze(-1)).squeeze(-1)).sum()
    """, """
        def cross_entropy(logits, targets):  # computed in the logits' dtype (float16 stays)
            m = logits.amax(dim=-1, keepdim=True).detach()
            lse = m.squeeze(-1) + torch.log(torch.exp(logits - m).sum(dim=-1))
            return (lse - logits.gather(-1, targets.unsqueeze(-1)).squeeze(-1)).mean()
    """],
    "test_AdamW": [_adamw(bias_correction=False), _adamw(coupled=True), _adamw(shared_step=True),
                   _adamw(eps_inside=True), _adamw(missing_as_zero=True),
                   _adamw(from_defaults=True), _adamw(own_state=True)],
    "test_lr_cosine_schedule": ["""
        # cosine from step 0
        def lr_cosine_schedule(t, max_lr, min_lr, warmup_iters, cosine_cycle_iters):
            if t < warmup_iters:
                return max_lr * t / warmup_iters
            if t <= cosine_cycle_iters:
                cosine = 0.5 * (1 + math.cos(math.pi * t / cosine_cycle_iters))
                return min_lr + cosine * (max_lr - min_lr)
            return min_lr
    """, """
        # warm-up off by one
        def lr_cosine_schedule(t, max_lr, min_lr, warmup_iters, cosine_cycle_iters):
            if t < warmup_iters:
                return max_lr * (t + 1) / warmup_iters
            if t <= cosine_cycle_iters:
                progress = (t - warmup_iters) / (cosine_cycle_iters - warmup_iters)
                return min_lr + 0.5 * (1 + math.cos(math.pi * progress)) * (max_lr - min_lr)
            return min_lr
    """],
    "test_gradient_clipping": ["""
        def gradient_clipping(parameters, max_l2_norm, eps=1e-6):  # each tensor on its own
            for p in parameters:
                if p.grad is not None:
                    norm = p.grad.float().norm()
                    if norm > max_l2_norm:
                        p.grad.mul_(max_l2_norm / (norm + eps))
    """, """
        def gradient_clipping(parameters, max_l2_norm, eps=1e-6):  # scaled up too, below the limit
            grads = [p.grad for p in parameters if p.grad is not None]
            if grads:
                norm = torch.sqrt(sum(g.float().pow(2).sum() for g in grads))
                for g in grads:
                    g.mul_((max_l2_norm / (norm + eps)).to(g.dtype))
    """],
    "test_get_batch": ["""
        def get_batch(data, batch_size, context_length, device):  # the last start left out
            starts = np.random.randint(0, len(data) - context_length - 1, size=batch_size)
            windows = np.stack([np.asarray(data[s: s + context_length + 1], dtype=np.int64)
                                for s in starts])
            windows = torch.from_numpy(windows).to(device)
            return windows[:, :-1], windows[:, 1:]
    """, """
        def get_batch(data, batch_size, context_length, device):  # int32, not int64
            starts = np.random.randint(0, len(data) - context_length, size=batch_size)
            windows = torch.from_numpy(np.stack([data[s: s + context_length + 1].astype(np.int32)
                                                 for s in starts]))
            return windows[:, :-1].to(device), windows[:, 1:].to(device)
    """],
    "test_save_checkpoint": ["""
        def save_checkpoint(model, optimizer, iteration, out):  # the optimizer left out
            torch.save({"model": model.state_dict(), "iteration": int(iteration)}, out)
    """, """
        def save_checkpoint(model, optimizer, iteration, out):  # iteration saved as a tensor
            torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                        "iteration": torch.tensor(iteration)}, out)
    """],
    "test_load_checkpoint": ["""
        def load_checkpoint(src, model, optimizer):  # the optimizer not restored
            state = torch.load(src, weights_only=True)
            model.load_state_dict(state["model"])
            return int(state["iteration"])
    """, """
        def load_checkpoint(src, model, optimizer):  # only a path: a file object fails
            state = torch.load(open(str(src), "rb"), weights_only=True)
            model.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
            return int(state["iteration"])
    """],
    "test_generate": [
        # no crop
        _generate("window = ids[-context_length:] if context_length else ids", "window = ids"),
        # eos left out
        _generate("new.append(token)\n            if token == eos_id:\n                break",
                  "if token == eos_id:\n                break\n            new.append(token)"),
        # the top token dropped when it alone exceeds top_p
        _generate("drop = sorted_probs.cumsum(-1) - sorted_probs >= top_p",
                  "drop = sorted_probs.cumsum(-1) > top_p"),
    ],
}
