"""The reference Transformer language model: the architecture lesson 02 builds, from PyTorch's
fast modules, for later lessons to train, measure and extend.

- Pre-norm, Llama-style decoder (Touvron et al., 2023): ``x + attn(ln1(x))``, then
  ``x + ffn(ln2(x))``; RMSNorm, no biases, a SwiGLU feed-forward ``w2(silu(w1 x) * w3 x)``,
  rotary position embeddings (RoPE) on queries and keys, a final RMSNorm and an untied
  ``lm_head``. Exactly the modules and parameter names of lesson 02's ``TransformerLM``, so a
  ``state_dict`` moves between the two.
- Built from PyTorch's own modules (``nn.Embedding``, ``nn.Linear(bias=False)``,
  ``nn.RMSNorm``) and ``F.scaled_dot_product_attention``: fast, and an independent
  implementation to check the students' from-scratch code against.
- RoPE uses the interleaved-pair convention of RoFormer (Su et al., 2021) and Meta's Llama
  code: the pair ``(x[2i], x[2i+1])`` of each head is rotated by ``pos * theta^(-2i/d_head)``.
  Its cos/sin tables are non-persistent buffers, so the ``state_dict`` holds parameters only.
- Attention is looked up by name in ``ATTENTION_BACKENDS`` ("sdpa", "naive"); a later
  lesson adds its own kernel with ``register_attention_backend("flash_triton", fn)``.
- Initialization: truncated normal, std ``sqrt(2 / (in + out))`` for linear weights and 1 for
  embeddings, cut at +-3 std; RMSNorm gains are ones.

Test: ``python -m pytest grader/tests/test_model.py -q``.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

ANSWERS = ("02_transformer_lm",)  # answers lesson 02: left out of its student bundle

AttentionFn = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass
class ModelConfig:
    """Sizes of a Transformer LM (defaults: lesson 02's TinyStories model, ~22.7M parameters)."""

    vocab_size: int = 10_000
    context_length: int = 256
    d_model: int = 512
    num_layers: int = 4
    num_heads: int = 16
    # ~ 8/3 d_model rounded to a multiple of 64: SwiGLU's 3 matrices ~ a 4 d_model FFN's 2
    d_ff: int = 1344
    rope_theta: float = 10_000.0
    eps: float = 1e-5  # RMSNorm's epsilon

    @property
    def d_head(self) -> int:
        return self.d_model // self.num_heads

    def __post_init__(self) -> None:
        if self.d_model % self.num_heads:
            raise ValueError(f"d_model={self.d_model} is not divisible by "
                             f"num_heads={self.num_heads}")
        if self.d_head % 2:
            raise ValueError(f"RoPE rotates pairs: d_head={self.d_head} must be even")


# ---------------------------------------------------------------------------------------------
# Attention backends: fn(q, k, v) -> out, all (batch, num_heads, seq, d_head), causal,
# softmax(q k^T / sqrt(d_head)) v.
# ---------------------------------------------------------------------------------------------
def sdpa_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """PyTorch's fused attention (FlashAttention / cuDNN / memory-efficient, chosen by PyTorch)."""
    return F.scaled_dot_product_attention(q, k, v, is_causal=True)


def naive_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Causal attention written out: materializes the (seq, seq) scores; softmax in float32."""
    seq_q, seq_k = q.shape[-2], k.shape[-2]
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])  # (batch, heads, seq_q, seq_k)
    # Query i sees keys j <= i (aligned at the end, as SDPA's is_causal for seq_q == seq_k).
    mask = torch.ones(seq_q, seq_k, dtype=torch.bool, device=q.device).tril(seq_k - seq_q)
    scores = scores.masked_fill(~mask, float("-inf"))
    probs = torch.softmax(scores.float(), dim=-1).to(v.dtype)
    return probs @ v  # (batch, heads, seq_q, d_head)


ATTENTION_BACKENDS: dict[str, AttentionFn] = {"sdpa": sdpa_attention, "naive": naive_attention}


def register_attention_backend(name: str, fn: AttentionFn) -> None:
    """Make ``fn(q, k, v) -> out`` (causal; (batch, num_heads, seq, d_head)) available as
    ``ReferenceLM(cfg, attn_backend=name)``. Re-registering a name replaces it."""
    if not callable(fn):
        raise TypeError(f"attention backend {name!r} must be callable, got {type(fn).__name__}")
    ATTENTION_BACKENDS[name] = fn


def _backend(name: str) -> AttentionFn:
    try:
        return ATTENTION_BACKENDS[name]
    except KeyError:
        raise ValueError(f"unknown attn_backend {name!r}; registered: {sorted(ATTENTION_BACKENDS)}"
                         " (add one with register_attention_backend)") from None


# ---------------------------------------------------------------------------------------------
# RoPE
# ---------------------------------------------------------------------------------------------
def rope_tables(d_head: int, context_length: int, theta: float = 10_000.0,
                device: torch.device | str | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """cos and sin of the angles ``pos * theta^(-2i/d_head)``, each (context_length, d_head/2)."""
    inv_freq = theta ** (-torch.arange(0, d_head, 2, dtype=torch.float64, device=device) / d_head)
    angles = torch.outer(torch.arange(context_length, dtype=torch.float64, device=device), inv_freq)
    return angles.cos().float(), angles.sin().float()


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate each interleaved pair ``(x[..., 2i], x[..., 2i+1])`` by the angle of its position.

    Args:
        x: (..., seq, d_head).
        cos, sin: (seq, d_head/2), or anything that broadcasts to (..., seq, d_head/2).
    Returns:
        (..., seq, d_head), same dtype as ``x``:
        ``(x0 cos - x1 sin, x0 sin + x1 cos)`` for each pair.
    """
    pairs = x.unflatten(-1, (-1, 2)).float()  # (..., seq, d_head/2, 2)
    x0, x1 = pairs[..., 0], pairs[..., 1]  # (..., seq, d_head/2)
    out = torch.stack((x0 * cos - x1 * sin, x0 * sin + x1 * cos), dim=-1)
    return out.flatten(-2).to(x.dtype)  # (..., seq, d_head)


# ---------------------------------------------------------------------------------------------
# Modules
# ---------------------------------------------------------------------------------------------
class CausalSelfAttention(nn.Module):
    """Multi-head causal self-attention with RoPE; heads are contiguous blocks of d_head rows
    of each (d_model, d_model) projection."""

    def __init__(self, cfg: ModelConfig, attn_backend: str = "sdpa"):
        super().__init__()
        self.num_heads, self.d_head = cfg.num_heads, cfg.d_head
        self.q_proj = nn.Linear(cfg.d_model, cfg.d_model, bias=False)
        self.k_proj = nn.Linear(cfg.d_model, cfg.d_model, bias=False)
        self.v_proj = nn.Linear(cfg.d_model, cfg.d_model, bias=False)
        self.output_proj = nn.Linear(cfg.d_model, cfg.d_model, bias=False)
        _backend(attn_backend)  # fail early on an unknown name
        self.attn_backend = attn_backend

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        # x: (batch, seq, d_model); cos, sin: (seq, d_head/2) or (batch, 1, seq, d_head/2)
        # (batch, seq, d_model) -> (batch, heads, seq, d_head)
        def heads(t: torch.Tensor) -> torch.Tensor:
            return t.unflatten(-1, (self.num_heads, self.d_head)).transpose(1, 2)

        q = apply_rope(heads(self.q_proj(x)), cos, sin)
        k = apply_rope(heads(self.k_proj(x)), cos, sin)
        v = heads(self.v_proj(x))
        out = _backend(self.attn_backend)(q, k, v)  # (batch, heads, seq, d_head)
        return self.output_proj(out.transpose(1, 2).flatten(-2))  # (batch, seq, d_model)


class SwiGLU(nn.Module):
    """Feed-forward ``w2(silu(w1 x) * w3 x)`` (Shazeer, 2020)."""

    def __init__(self, d_model: int, d_ff: int):
        super().__init__()
        self.w1 = nn.Linear(d_model, d_ff, bias=False)  # weight (d_ff, d_model)
        self.w2 = nn.Linear(d_ff, d_model, bias=False)  # weight (d_model, d_ff)
        self.w3 = nn.Linear(d_model, d_ff, bias=False)  # weight (d_ff, d_model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.w2(F.silu(self.w1(x)) * self.w3(x))


class TransformerBlock(nn.Module):
    """Pre-norm block: ``x + attn(ln1(x))``, then ``+ ffn(ln2(x))``."""

    def __init__(self, cfg: ModelConfig, attn_backend: str = "sdpa"):
        super().__init__()
        self.ln1 = nn.RMSNorm(cfg.d_model, eps=cfg.eps)
        self.attn = CausalSelfAttention(cfg, attn_backend)
        self.ln2 = nn.RMSNorm(cfg.d_model, eps=cfg.eps)
        self.ffn = SwiGLU(cfg.d_model, cfg.d_ff)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln1(x), cos, sin)
        return x + self.ffn(self.ln2(x))


class ReferenceLM(nn.Module):
    """The lesson-02 Transformer LM from PyTorch's modules.

    Args:
        cfg: sizes (``ModelConfig``).
        attn_backend: a name in ``ATTENTION_BACKENDS`` ("sdpa" or "naive", or one registered).
        autocast_residual: under autocast, carry the residual stream in autocast's dtype
            (bf16) rather than the float32 of the embeddings: half the memory traffic of the
            element-wise kernels (norms, adds), with bf16 rounding of the sum after each
            block, as Megatron-LM does by default (its ``fp32_residual_connection`` is off).
            No effect without autocast.
    """

    def __init__(self, cfg: ModelConfig, attn_backend: str = "sdpa",
                 autocast_residual: bool = False):
        super().__init__()
        self.cfg = cfg
        self.autocast_residual = autocast_residual
        self.token_embeddings = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.layers = nn.ModuleList(TransformerBlock(cfg, attn_backend)
                                    for _ in range(cfg.num_layers))
        self.ln_final = nn.RMSNorm(cfg.d_model, eps=cfg.eps)
        self.lm_head = nn.Linear(cfg.d_model, cfg.vocab_size, bias=False)  # weight (vocab, d_model)
        cos, sin = rope_tables(cfg.d_head, cfg.context_length, cfg.rope_theta)
        self.register_buffer("rope_cos", cos, persistent=False)  # (context_length, d_head/2)
        self.register_buffer("rope_sin", sin, persistent=False)
        self.reset_parameters()

    @property
    def attn_backend(self) -> str:
        return self.layers[0].attn.attn_backend if len(self.layers) else "sdpa"

    @attn_backend.setter
    def attn_backend(self, name: str) -> None:
        _backend(name)
        for layer in self.layers:
            layer.attn.attn_backend = name

    @torch.no_grad()
    def reset_parameters(self) -> None:
        """Truncated normal (cut at +-3 std): std sqrt(2/(in+out)) for linears, 1 for embeddings."""
        for module in self.modules():
            if isinstance(module, nn.Linear):
                fan_out, fan_in = module.weight.shape
                std = math.sqrt(2.0 / (fan_in + fan_out))
                nn.init.trunc_normal_(module.weight, mean=0.0, std=std, a=-3 * std, b=3 * std)
            elif isinstance(module, nn.Embedding):
                nn.init.trunc_normal_(module.weight, mean=0.0, std=1.0, a=-3.0, b=3.0)
            elif isinstance(module, nn.RMSNorm):
                nn.init.ones_(module.weight)

    def forward(self, token_ids: torch.Tensor,
                token_positions: torch.Tensor | None = None) -> torch.Tensor:
        """Next-token logits.

        Args:
            token_ids: (batch, seq) int64, seq <= context_length (unless positions are given).
            token_positions: optional (seq,) or (batch, seq) positions; default ``0..seq-1``.
        Returns:
            logits: (batch, seq, vocab_size), unnormalized.
        """
        seq = token_ids.shape[-1]
        if token_positions is None:
            if seq > self.rope_cos.shape[0]:
                raise ValueError(f"sequence of {seq} tokens is longer than context_length="
                                 f"{self.rope_cos.shape[0]}; crop it (generation keeps the last "
                                 "context_length tokens)")
            cos, sin = self.rope_cos[:seq], self.rope_sin[:seq]  # (seq, d_head/2)
        else:
            cos, sin = self._rope_at(token_positions)
        x = self.token_embeddings(token_ids)  # (batch, seq, d_model)
        if self.autocast_residual and torch.is_autocast_enabled(x.device.type):
            x = x.to(torch.get_autocast_dtype(x.device.type))  # the residual stream in bf16
        for layer in self.layers:
            x = layer(x, cos, sin)
        return self.lm_head(self.ln_final(x))  # (batch, seq, vocab_size)

    def _rope_at(self, positions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """cos/sin at arbitrary positions: (seq, d_head/2), or (batch, 1, seq, d_head/2) so
        that they broadcast over heads."""
        positions = positions.to(self.rope_cos.device).long()
        if int(positions.max()) < self.rope_cos.shape[0]:
            cos, sin = self.rope_cos[positions], self.rope_sin[positions]
        else:  # beyond the table: compute the angles directly
            inv_freq = self.cfg.rope_theta ** (
                -torch.arange(0, self.cfg.d_head, 2, dtype=torch.float64, device=positions.device)
                / self.cfg.d_head)
            angles = positions.double()[..., None] * inv_freq
            cos, sin = angles.cos().float(), angles.sin().float()
        if cos.dim() == 3:  # (batch, seq, d_head/2) -> (batch, 1, seq, d_head/2)
            cos, sin = cos[:, None], sin[:, None]
        return cos, sin
