"""Trusted cases of lesson 04 (``grader.trusted``): hidden inputs, compared outside the kernel.

Never released (``solutions/`` is not in a bundle) and hidden from students' kernels. Each
graded test cell below also keeps its in-kernel test; it scores only if both pass.

Every graded test cell has cases. What the in-kernel tests check that no case can:
- ``test_flash_forward_pytorch``: that no (n_q x n_k) tensor is ever created (a
  ``TorchDispatchMode`` watches the tensors; the cases see only the outputs). Causal tile
  skipping is in the cases: values hidden from the first query tile are NaN.
- ``test_FlashAttentionPytorch``: that exactly (Q, K, V, O, L) are saved for the backward
  pass (``grad_fn.saved_tensors``, not plain data); the cases compare O and the gradients.
- ``test_flash_fwd_kernel``: that the wrapper's forward does no attention math in PyTorch
  (a ``TorchDispatchMode``); the cases launch ``flash_fwd_kernel`` itself on given tensors.
- The Triton cells on a GPU (a notebook run at ``scale=full``): bfloat16, whose ``tl.dot`` the
  CPU interpreter gets wrong.
The other in-kernel hidden tests are short (a cell needs some): values, shapes, dtypes, tiles
and causal skipping are checked here.

The Triton cases run under ``TRITON_INTERPRET=1`` on the CPU, as all grading does, on any
machine (``grader.jupyter_kernel.grading_env`` hides GPUs), in float32 (exact ``tl.dot`` there) and
float16. Kernels are launched (``launch_case``) at the wrapper's 64 x 64 tiles and once per
kernel at other tile sizes (the kernels take them as ``tl.constexpr`` parameters), on
lengths that are not multiples of the tiles.

A case's ``hint`` is what the student reads when it fails (never its inputs or values).
"""
import math
import os

import torch

from grader.trusted import Case, autograd_case, launch_case

os.environ.setdefault("TRITON_INTERPRET", "1")  # tests load the solution in-process: kernels
                                               # must be decorated in interpreter mode

LOG2E = 1.4426950408889634
F64 = {"rtol": 1e-9, "atol": 1e-12}   # float64 inputs: only the order of sums differs
F32 = {"rtol": 2e-4, "atol": 5e-5}    # float32 results (a few times the float32 errors seen)
F16 = {"rtol": 1e-2, "atol": 1e-2}    # float16 results: one float16 rounding (~1e-3) and more
TILES = "other tile sizes: BLOCK_Q and BLOCK_K may differ from each other and from 64"
_seed = iter(range(4040, 5000))


def randn(*shape, dtype=torch.float64, scale=1.0):
    """Standard normal (times ``scale``) from a fresh seeded generator, rounded to ``dtype``."""
    gen = torch.Generator().manual_seed(next(_seed))
    return (torch.randn(*shape, generator=gen, dtype=torch.float64) * scale).to(dtype)


def qkv(*lead, n_q, n_k=None, d, dtype=torch.float64, scale=1.0):
    """Q (*lead, n_q, d) and K, V (*lead, n_k, d)."""
    n_k = n_q if n_k is None else n_k
    return (randn(*lead, n_q, d, dtype=dtype, scale=scale),
            randn(*lead, n_k, d, dtype=dtype, scale=scale), randn(*lead, n_k, d, dtype=dtype))


def attention64(Q, K, V, is_causal):
    """O and L (natural-log log-sum-exp of the scaled scores) in float64, written here."""
    Q, K, V = Q.double(), K.double(), V.double()
    S = Q @ K.transpose(-2, -1) / math.sqrt(Q.shape[-1])
    if is_causal:  # top-left aligned: query i sees keys j <= i
        i = torch.arange(S.shape[-2])[:, None]
        S = S.masked_fill(torch.arange(S.shape[-1])[None, :] > i, float("-inf"))
    L = torch.logsumexp(S, -1)
    return torch.exp(S - L[..., None]) @ V, L


def nan_after(V, row):
    V = V.clone()
    V[..., row:, :] = float("nan")
    return V


def close(case, tol, hint=None):
    return case.close(**tol).hint(hint)


# --- the PyTorch functions --------------------------------------------------------------------

def naive(lead, n_q, d, causal, n_k=None, dtype=torch.float64, scale=1.0, hint=None):
    tol = {torch.float64: F64, torch.float32: F32}[dtype]
    Q, K, V = qkv(*lead, n_q=n_q, n_k=n_k, d=d, dtype=dtype, scale=scale)
    return close(Case("naive_attention", Q, K, V, is_causal=causal), tol, hint)


def forward(lead, n_q, d, causal, n_k=None, dtype=torch.float64, scale=1.0, nan_from=None,
            hint=None, **blocks):
    Q, K, V = qkv(*lead, n_q=n_q, n_k=n_k, d=d, dtype=dtype, scale=scale)
    if nan_from is not None:
        V = nan_after(V, nan_from)
    tol = {torch.float64: F64, torch.float32: F32, torch.float16: F16}[dtype]
    return close(Case("flash_forward_pytorch", Q, K, V, causal, **blocks), tol, hint)


def saved(lead, n_q, d, causal, n_k=None, dtype=torch.float64, garbled=False):
    """Q, K, V, O, L, dO as the forward leaves them (L in the accumulation dtype); with
    ``garbled``, O and L are not the forward's: the answer is still the formulas' (P from L,
    D = rowsum(dO * O))."""
    Q, K, V = qkv(*lead, n_q=n_q, n_k=n_k, d=d, dtype=dtype)
    O, L = attention64(Q, K, V, causal)
    if garbled:
        O, L = randn(*O.shape), L + randn(*L.shape, scale=0.3)
    acc = torch.promote_types(dtype, torch.float32)
    return Q, K, V, O.to(dtype), L.to(acc), randn(*lead, n_q, d, dtype=dtype)


def backward(lead, n_q, d, causal, n_k=None, dtype=torch.float64, garbled=False, hint=None):
    tol = {torch.float64: F64, torch.float32: F32, torch.float16: F16}[dtype]
    inputs = saved(lead, n_q, d, causal, n_k, dtype, garbled)
    return close(Case("flash_backward_pytorch", *inputs, causal), tol, hint)


def function(lead, n_q, d, causal, n_k=None, dtype=torch.float64, hint=None):
    Q, K, V = qkv(*lead, n_q=n_q, n_k=n_k, d=d, dtype=dtype)
    tol = {torch.float64: F64, torch.float32: F32}[dtype]
    return close(autograd_case("FlashAttentionPytorch.apply", inputs=[Q, K, V],
                               grad_output=randn(*lead, n_q, d, dtype=dtype), is_causal=causal),
                 tol, hint)


# --- the Triton kernels: launched on flattened (BH, seq, d) tensors ---------------------------

def launch_forward(bh, n_q, d, causal, n_k=None, dtype=torch.float32, bq=64, bk=64, scale=1.0,
                   nan_from=None, hint=None):
    """``flash_fwd_kernel`` on one grid: returns [O, L]."""
    n_k = n_q if n_k is None else n_k
    q, k, v = qkv(bh, n_q=n_q, n_k=n_k, d=d, dtype=dtype, scale=scale)
    if nan_from is not None:
        v = nan_after(v, nan_from)
    o, lse = torch.zeros_like(q), torch.zeros(bh, n_q, dtype=torch.float32)
    case = launch_case("flash_fwd_kernel", grid=(math.ceil(n_q / bq), bh),
                       args=[q, k, v, o, lse, n_q, n_k, LOG2E / math.sqrt(d)],
                       kwargs={"D_HEAD": d, "BLOCK_Q": bq, "BLOCK_K": bk, "IS_CAUSAL": causal},
                       outputs=[3, 4])
    return close(case, F16 if dtype == torch.float16 else F32, hint)


def backward_inputs(bh, n_q, d, causal, n_k, dtype):
    """q, k, v, dO, L, D = rowsum(dO * O) (float32) for the backward kernels."""
    q, k, v, o, lse, do = saved((bh,), n_q, d, causal, n_k, dtype)
    delta = (do.float() * o.float()).sum(-1)
    return q, k, v, do, lse.float(), delta


def launch_dkdv(bh, n_q, d, causal, n_k=None, dtype=torch.float32, bq=64, bk=64, hint=None):
    """``flash_bwd_dkdv_kernel`` on one grid: returns [dK, dV]."""
    n_k = n_q if n_k is None else n_k
    q, k, v, do, lse, delta = backward_inputs(bh, n_q, d, causal, n_k, dtype)
    case = launch_case("flash_bwd_dkdv_kernel", grid=(math.ceil(n_k / bk), bh),
                       args=[q, k, v, do, lse, delta, torch.zeros_like(k), torch.zeros_like(v),
                             n_q, n_k, LOG2E / math.sqrt(d), 1 / math.sqrt(d)],
                       kwargs={"D_HEAD": d, "BLOCK_Q": bq, "BLOCK_K": bk, "IS_CAUSAL": causal},
                       outputs=[6, 7])
    return close(case, F16 if dtype == torch.float16 else F32, hint)


def launch_dq(bh, n_q, d, causal, n_k=None, dtype=torch.float32, bq=64, bk=64, hint=None):
    """``flash_bwd_dq_kernel`` on one grid: returns [dQ]."""
    n_k = n_q if n_k is None else n_k
    q, k, v, do, lse, delta = backward_inputs(bh, n_q, d, causal, n_k, dtype)
    case = launch_case("flash_bwd_dq_kernel", grid=(math.ceil(n_q / bq), bh),
                       args=[q, k, v, do, lse, delta, torch.zeros_like(q), n_q, n_k,
                             LOG2E / math.sqrt(d), 1 / math.sqrt(d)],
                       kwargs={"D_HEAD": d, "BLOCK_Q": bq, "BLOCK_K": bk, "IS_CAUSAL": causal},
                       outputs=[6])
    return close(case, F16 if dtype == torch.float16 else F32, hint)


def wrapper(call, lead, n_q, d, causal, n_k=None, dtype=torch.float32):
    """The lesson's given wrappers (``triton_dkdv``, ``triton_dq``) on (batch, [heads,] seq, d)."""
    return close(Case(call, *saved(lead, n_q, d, causal, n_k, dtype)[:6], is_causal=causal),
                 F16 if dtype == torch.float16 else F32)


CASES = {
    "test_naive_attention": [
        naive((3,), 6, 8, False),
        naive((3,), 6, 8, True),
        naive((2, 2), 9, 16, True, hint="inputs of shape (batch, heads, seq, d)"),
        naive((2, 1), 1, 4, True, hint="a single query"),
        naive((1,), 5, 8, False, n_k=12),
        naive((2,), 4, 8, True, n_k=7, hint="causal, top-left aligned: query i sees keys 0..i"),
        naive((2,), 7, 8, True, n_k=4),
        naive((1, 2), 6, 8, True, scale=30.0,
              hint="scores in the thousands: subtract the row max (a stable softmax)"),
        close(Case("naive_attention", *qkv(2, n_q=10, d=16, dtype=torch.float32), True)
              .any_dtype(), F32),
        close(autograd_case("naive_attention", inputs=list(qkv(2, n_q=8, d=8)),
                            grad_output=randn(2, 8, 8), is_causal=True), F64,
              hint="gradients flow through the causal mask and the softmax"),
    ],
    "test_flash_forward_pytorch": [
        forward((2,), 50, 16, False, block_q=16, block_k=32),
        forward((2,), 50, 16, True, block_q=16, block_k=32),
        forward((1, 2), 45, 8, True, block_q=32, block_k=8),
        forward((2, 1), 70, 8, True, hint="the default tiles (32, 32)"),
        forward((1,), 10, 8, True, block_q=32, block_k=64, hint="tiles larger than the sequence"),
        forward((1, 1), 1, 4, False, block_q=8, block_k=8),
        forward((1,), 20, 16, False, n_k=53, block_q=8, block_k=16),
        forward((2,), 37, 8, True, n_k=21, block_q=16, block_k=16),
        forward((2,), 21, 8, True, n_k=37, block_q=16, block_k=8),
        forward((2,), 40, 16, True, dtype=torch.float32, block_q=16, block_k=16,
                hint="float32 inputs: O and L in float32"),
        forward((1, 2), 33, 16, True, dtype=torch.float16, block_q=16, block_k=16,
                hint="float16 inputs: O in float16, L in float32"),
        forward((1,), 48, 16, False, dtype=torch.float32, scale=8.0, block_q=16, block_k=16,
                hint="large scores: rescale by the running max"),
        forward((2,), 80, 8, True, nan_from=32, block_q=32, block_k=16,
                hint="causal: skip the key tiles a query tile cannot see (never read them)"),
        forward((1, 2), 48, 8, True, nan_from=16, block_q=16, block_k=16,
                hint="causal: skip the key tiles a query tile cannot see (never read them)"),
    ],
    "test_flash_backward_pytorch": [
        backward((2,), 13, 8, False),
        backward((2,), 13, 8, True),
        backward((1, 2), 19, 16, True),
        backward((1,), 9, 8, False, n_k=14),
        backward((2,), 11, 8, True, n_k=6),
        backward((1,), 24, 16, True, dtype=torch.float32),
        backward((1, 2), 20, 16, True, dtype=torch.float16,
                 hint="float16 inputs: L in float32, the gradients in float16"),
        backward((2,), 12, 8, False, garbled=True,
                 hint="recompute P = exp(S - L) from the saved L, and D = rowsum(dO * O)"),
        backward((1,), 12, 8, True, garbled=True,
                 hint="recompute P = exp(S - L) from the saved L, and D = rowsum(dO * O)"),
    ],
    "test_FlashAttentionPytorch": [
        function((2,), 21, 8, True),
        function((1, 2), 40, 16, False),
        function((1, 2), 35, 8, True),
        function((1,), 9, 8, False, n_k=23),
        function((2,), 17, 16, True, dtype=torch.float32),
    ],
    "test_flash_fwd_kernel": [
        launch_forward(2, 100, 16, False),
        launch_forward(3, 40, 32, False, n_k=90),
        launch_forward(1, 17, 128, False),
        launch_forward(2, 1, 16, False),
        launch_forward(1, 70, 64, False, dtype=torch.float16),
        launch_forward(1, 64, 16, False, scale=8.0,
                       hint="large scores: rescale by the running max"),
        launch_forward(2, 50, 16, False, n_k=45, bq=32, bk=16,
                       hint=TILES),
        close(Case("FlashAttentionTriton.apply", *qkv(1, 2, n_q=33, d=32, dtype=torch.float32)),
              F32),
    ],
    "test_flash_fwd_kernel_causal": [
        launch_forward(2, 130, 32, True),
        launch_forward(1, 1, 16, True),
        launch_forward(2, 70, 16, True, n_k=40),
        launch_forward(1, 40, 16, True, n_k=90),
        launch_forward(1, 65, 128, True),
        launch_forward(1, 80, 32, True, dtype=torch.float16),
        launch_forward(2, 150, 16, True, nan_from=64,
                       hint="causal: a query tile never reads keys after its last query"),
        launch_forward(2, 45, 16, True, bq=16, bk=32, hint=TILES),
        launch_forward(1, 45, 16, True, bq=32, bk=16),
        close(Case("FlashAttentionTriton.apply", *qkv(2, n_q=77, d=16, dtype=torch.float32), True),
              F32),
    ],
    "test_flash_bwd_dkdv_kernel": [
        launch_dkdv(2, 100, 16, False),
        launch_dkdv(2, 100, 16, True),
        launch_dkdv(1, 17, 64, True),
        launch_dkdv(2, 1, 16, True),
        launch_dkdv(1, 30, 32, False, n_k=75),
        launch_dkdv(1, 70, 16, True, dtype=torch.float16),
        launch_dkdv(1, 50, 16, True, bq=16, bk=32, hint=TILES),
        launch_dkdv(1, 50, 16, True, bq=32, bk=16),
        wrapper("triton_dkdv", (1, 2), 66, 32, True),
        wrapper("triton_dkdv", (2,), 40, 128, False),
    ],
    "test_flash_bwd_dq_kernel": [
        launch_dq(2, 100, 16, False),
        launch_dq(2, 100, 16, True),
        launch_dq(1, 17, 64, True),
        launch_dq(2, 1, 16, False),
        launch_dq(1, 30, 32, False, n_k=75),
        launch_dq(1, 70, 16, True, dtype=torch.float16),
        launch_dq(1, 50, 16, True, bq=16, bk=32, hint=TILES),
        launch_dq(1, 50, 16, True, bq=32, bk=16),
        wrapper("triton_dq", (1, 2), 66, 32, True),
        wrapper("triton_dq", (2,), 40, 128, False),
        close(autograd_case("FlashAttentionTriton.apply",
                            inputs=list(qkv(1, 2, n_q=70, d=16, dtype=torch.float32)),
                            grad_output=randn(1, 2, 70, 16, dtype=torch.float32), is_causal=True),
              F32, hint="the forward and both backward kernels together"),
    ],
}


def kernel_mutant(name: str, *edits: tuple[str, str]) -> str:
    """A mutant of the solution's Triton kernel ``name``: its source with ``edits`` (old, new)
    applied, compiled with its source in ``linecache`` (``triton.jit`` reads the source)."""
    return f'''
        import inspect as _inspect, linecache as _linecache
        _src = _inspect.getsource({name}.fn)
        for _old, _new in {list(edits)!r}:
            assert _src.count(_old) == 1, _old
            _src = _src.replace(_old, _new)
        _linecache.cache["<mutant {name}>"] = (len(_src), None, _src.splitlines(True),
                                               "<mutant {name}>")
        exec(compile(_src, "<mutant {name}>", "exec"), globals())
    '''


# Plausible wrong answers these cases must catch (grader/tests/test_trusted.py runs each over
# the solution's definitions).
MUTANTS = {
    "test_naive_attention": [
        """
        def naive_attention(Q, K, V, is_causal=False):  # no 1/sqrt(d)
            S = Q @ K.transpose(-2, -1)
            if is_causal:
                above = torch.ones(S.shape[-2:], dtype=torch.bool).tril().logical_not()
                S = S.masked_fill(above, float("-inf"))
            return torch.softmax(S, -1) @ V
        """,
        """
        def naive_attention(Q, K, V, is_causal=False):  # softmax over the queries
            S = Q @ K.transpose(-2, -1) / math.sqrt(Q.shape[-1])
            if is_causal:
                above = torch.ones(S.shape[-2:], dtype=torch.bool).tril().logical_not()
                S = S.masked_fill(above, float("-inf"))
            return torch.softmax(S, -2) @ V
        """,
        """
        def naive_attention(Q, K, V, is_causal=False):  # exp without subtracting the max
            S = Q @ K.transpose(-2, -1) / math.sqrt(Q.shape[-1])
            if is_causal:
                above = torch.ones(S.shape[-2:], dtype=torch.bool).tril().logical_not()
                S = S.masked_fill(above, float("-inf"))
            E = torch.exp(S)
            return E / E.sum(-1, keepdim=True) @ V
        """,
        """
        def naive_attention(Q, K, V, is_causal=False):  # causal aligned bottom-right
            S = Q @ K.transpose(-2, -1) / math.sqrt(Q.shape[-1])
            n_q, n_k = S.shape[-2:]
            if is_causal:
                above = torch.ones(n_q, n_k, dtype=torch.bool).tril(n_k - n_q).logical_not()
                S = S.masked_fill(above, float("-inf"))
            return torch.softmax(S, -1) @ V
        """,
    ],
    "test_flash_forward_pytorch": [
        """
        _right = flash_forward_pytorch
        def flash_forward_pytorch(Q, K, V, is_causal=False, block_q=32, block_k=32):  # L in float32
            O, L = _right(Q, K, V, is_causal, block_q, block_k)
            return O, L.float()
        """,
        """
        # mask, no skip
        def flash_forward_pytorch(Q, K, V, is_causal=False, block_q=32, block_k=32):
            n_q, n_k, d = Q.shape[-2], K.shape[-2], Q.shape[-1]
            acc_dtype = torch.promote_types(Q.dtype, torch.float32)
            O, L = torch.empty_like(Q), torch.empty(Q.shape[:-1], dtype=acc_dtype)
            for q0 in range(0, n_q, block_q):
                Qi = Q[..., q0:q0 + block_q, :].to(acc_dtype)
                m = torch.full(Qi.shape[:-1], float("-inf"), dtype=acc_dtype)
                l, acc = torch.zeros_like(m), torch.zeros_like(Qi)
                for k0 in range(0, n_k, block_k):
                    Kj = K[..., k0:k0 + block_k, :].to(acc_dtype)
                    Vj = V[..., k0:k0 + block_k, :].to(acc_dtype)
                    S = Qi @ Kj.transpose(-2, -1) / math.sqrt(d)
                    if is_causal:
                        qi = torch.arange(q0, q0 + Qi.shape[-2])[:, None]
                        hidden = torch.arange(k0, k0 + Kj.shape[-2])[None, :] > qi
                        S = S.masked_fill(hidden, float("-inf"))
                    m_new = torch.maximum(m, S.amax(-1))
                    P, alpha = torch.exp(S - m_new[..., None]), torch.exp(m - m_new)
                    l, acc, m = alpha * l + P.sum(-1), alpha[..., None] * acc + P @ Vj, m_new
                O[..., q0:q0 + block_q, :] = (acc / l[..., None]).to(Q.dtype)
                L[..., q0:q0 + block_q] = m + torch.log(l)
            return O, L
        """,
        """
        # l not rescaled
        def flash_forward_pytorch(Q, K, V, is_causal=False, block_q=32, block_k=32):
            n_q, n_k, d = Q.shape[-2], K.shape[-2], Q.shape[-1]
            acc_dtype = torch.promote_types(Q.dtype, torch.float32)
            O, L = torch.empty_like(Q), torch.empty(Q.shape[:-1], dtype=acc_dtype)
            for q0 in range(0, n_q, block_q):
                Qi = Q[..., q0:q0 + block_q, :].to(acc_dtype)
                m = torch.full(Qi.shape[:-1], float("-inf"), dtype=acc_dtype)
                l, acc = torch.zeros_like(m), torch.zeros_like(Qi)
                for k0 in range(0, min(n_k, q0 + block_q) if is_causal else n_k, block_k):
                    Kj = K[..., k0:k0 + block_k, :].to(acc_dtype)
                    Vj = V[..., k0:k0 + block_k, :].to(acc_dtype)
                    S = Qi @ Kj.transpose(-2, -1) / math.sqrt(d)
                    if is_causal:
                        qi = torch.arange(q0, q0 + Qi.shape[-2])[:, None]
                        hidden = torch.arange(k0, k0 + Kj.shape[-2])[None, :] > qi
                        S = S.masked_fill(hidden, float("-inf"))
                    m_new = torch.maximum(m, S.amax(-1))
                    P, alpha = torch.exp(S - m_new[..., None]), torch.exp(m - m_new)
                    l, acc, m = l + P.sum(-1), alpha[..., None] * acc + P @ Vj, m_new
                O[..., q0:q0 + block_q, :] = (acc / l[..., None]).to(Q.dtype)
                L[..., q0:q0 + block_q] = m + torch.log(l)
            return O, L
        """,
    ],
    "test_flash_backward_pytorch": [
        """
        def flash_backward_pytorch(Q, K, V, O, L, dO, is_causal=False):  # D from P, not from O
            acc = L.dtype
            Q_, K_, V_, dO_ = (t.to(acc) for t in (Q, K, V, dO))
            S = Q_ @ K_.transpose(-2, -1) / math.sqrt(Q.shape[-1])
            if is_causal:
                above = torch.ones(S.shape[-2:], dtype=torch.bool).tril().logical_not()
                S = S.masked_fill(above, float("-inf"))
            P = torch.exp(S - L[..., None])
            dP = dO_ @ V_.transpose(-2, -1)
            dS = P * (dP - (P * dP).sum(-1, keepdim=True))
            return ((dS @ K_ / math.sqrt(Q.shape[-1])).to(Q.dtype),
                    (dS.transpose(-2, -1) @ Q_ / math.sqrt(Q.shape[-1])).to(K.dtype),
                    (P.transpose(-2, -1) @ dO_).to(V.dtype))
        """,
        """
        _right = flash_backward_pytorch
        def flash_backward_pytorch(Q, K, V, O, L, dO, is_causal=False):  # a fresh softmax, L unused
            S = Q.to(L.dtype) @ K.to(L.dtype).transpose(-2, -1) / math.sqrt(Q.shape[-1])
            if is_causal:
                above = torch.ones(S.shape[-2:], dtype=torch.bool).tril().logical_not()
                S = S.masked_fill(above, float("-inf"))
            return _right(Q, K, V, O, torch.logsumexp(S, -1), dO, is_causal)
        """,
        """
        _right = flash_backward_pytorch
        def flash_backward_pytorch(Q, K, V, O, L, dO, is_causal=False):  # dK without 1/sqrt(d)
            dQ, dK, dV = _right(Q, K, V, O, L, dO, is_causal)
            return dQ, dK * math.sqrt(Q.shape[-1]), dV
        """,
    ],
    "test_FlashAttentionPytorch": [
        """
        class FlashAttentionPytorch(torch.autograd.Function):  # backward forgets is_causal
            @staticmethod
            def forward(ctx, Q, K, V, is_causal=False):
                O, L = flash_forward_pytorch(Q, K, V, is_causal)
                ctx.save_for_backward(Q, K, V, O, L)
                return O

            @staticmethod
            def backward(ctx, dO):
                return (*flash_backward_pytorch(*ctx.saved_tensors, dO), None)
        """,
    ],
    "test_flash_fwd_kernel": [
        # L in base 2
        kernel_mutant("flash_fwd_kernel", ("(m_i + tl.log2(l_i)) * LN2", "m_i + tl.log2(l_i)")),
        kernel_mutant("flash_fwd_kernel", ("acc * alpha[:, None])", "acc)")),  # acc not rescaled
        kernel_mutant("flash_fwd_kernel", ("visible = offs_k[None, :] < N_KEYS",
                                           "visible = offs_k[None, :] >= 0")),
    ],
    "test_flash_fwd_kernel_causal": [
        # no skip
        kernel_mutant("flash_fwd_kernel",
                      ("tl.minimum(q0 + BLOCK_Q, N_KEYS) if IS_CAUSAL else ", "")),
        kernel_mutant("flash_fwd_kernel", ("offs_k[None, :] <= offs_q[:, None]",
                                           "offs_k[None, :] < offs_q[:, None]")),
        kernel_mutant("flash_fwd_kernel", ("hi = tl.minimum(q0 + BLOCK_Q, N_KEYS)",
                                           "hi = tl.minimum(q0 + BLOCK_K, N_KEYS)")),
    ],
    "test_flash_bwd_dkdv_kernel": [
        kernel_mutant("flash_bwd_dkdv_kernel", ("(dk * sm_scale)", "dk")),  # no 1/sqrt(d)
        # natural-log L in exp2
        kernel_mutant("flash_bwd_dkdv_kernel", ("lse[None, :] * LOG2E", "lse[None, :]")),
        kernel_mutant("flash_bwd_dkdv_kernel", ("(k0 // BLOCK_Q) * BLOCK_Q",
                                                "tl.program_id(0) * BLOCK_Q")),
    ],
    "test_flash_bwd_dq_kernel": [
        kernel_mutant("flash_bwd_dq_kernel", ("(dp - delta[:, None])", "(dp + delta[:, None])")),
        kernel_mutant("flash_bwd_dq_kernel", ("""        if IS_CAUSAL:
            visible = visible & (offs_k[None, :] <= offs_q[:, None])
""", "")),  # causal mask forgotten in the diagonal tile
        kernel_mutant("flash_bwd_dq_kernel", ("hi = tl.minimum(q0 + BLOCK_Q, N_KEYS)",
                                              "hi = tl.minimum(q0 + BLOCK_K, N_KEYS)")),
    ],
}
