"""Sampling text from a language model: the reference decoder that later lessons use.

- One token at a time from the last position's logits, with no KV cache: simple and the
  same for any model ``model(token_ids (1, seq)) -> logits (1, seq, vocab_size)``.
- Temperature scales the logits (``softmax(logits / temperature)``); ``temperature == 0``
  is greedy decoding (argmax, no randomness).
- Nucleus (top-p) sampling (Holtzman et al., 2020): keep the most probable tokens whose
  cumulative probability first reaches ``top_p`` (always at least the top one), renormalize.
- The prompt is cropped to the model's last ``context_length`` tokens (from ``model.cfg`` when
  the model has one), so generation can run past the context window.
- Reproducible: pass a ``torch.Generator``; sampling draws from it (on its device).

Test: ``python -m pytest grader/tests/test_model.py -q -k generate``.
"""
from __future__ import annotations

import torch
from torch import nn

ANSWERS = ("02_transformer_lm",)  # answers lesson 02: left out of its student bundle


def sample_next(logits: torch.Tensor, temperature: float = 1.0, top_p: float = 1.0,
                generator: torch.Generator | None = None) -> int:
    """Draw one token id from ``logits`` (vocab_size,) with temperature and nucleus sampling."""
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature}")
    if not 0 < top_p <= 1:
        raise ValueError(f"top_p must be in (0, 1], got {top_p}")
    logits = logits.float()
    if temperature == 0:
        return int(logits.argmax())
    probs = torch.softmax(logits / temperature, dim=-1)  # (vocab_size,)
    if top_p < 1:
        sorted_probs, order = probs.sort(descending=True)
        # Drop a token when the tokens strictly more probable already reach top_p.
        drop = sorted_probs.cumsum(-1) - sorted_probs >= top_p
        sorted_probs = sorted_probs.masked_fill(drop, 0.0)
        probs = torch.zeros_like(probs).scatter(-1, order, sorted_probs)
    if generator is not None:
        probs = probs.to(generator.device)
    return int(torch.multinomial(probs / probs.sum(), 1, generator=generator))


@torch.no_grad()
def generate(
    model: nn.Module,
    prompt_ids: list[int],
    max_new_tokens: int,
    *,
    temperature: float = 1.0,
    top_p: float = 1.0,
    eos_id: int | None = None,
    context_length: int | None = None,
    generator: torch.Generator | None = None,
) -> list[int]:
    """Continue ``prompt_ids`` by sampling from ``model``.

    Args:
        model: maps token ids (1, seq) to logits (1, seq, vocab_size).
        prompt_ids: the prompt's token ids (at least one).
        max_new_tokens: the most tokens to generate.
        temperature: softmax temperature; 0 means greedy (argmax).
        top_p: nucleus sampling threshold in (0, 1]; 1 keeps every token.
        eos_id: stop right after generating this id (it is included in the result).
        context_length: how many trailing tokens the model sees; default ``model.cfg.
            context_length`` when the model has a ``cfg``, else the whole sequence.
        generator: a ``torch.Generator`` for reproducible samples.
    Returns:
        The new token ids only (not the prompt): at most ``max_new_tokens``, ending with
        ``eos_id`` if it was generated.
    """
    if not prompt_ids:
        raise ValueError("prompt_ids is empty: start from at least one token (e.g. <|endoftext|>)")
    if context_length is None:
        context_length = getattr(getattr(model, "cfg", None), "context_length", None)
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    ids = list(prompt_ids)
    new: list[int] = []
    try:
        for _ in range(max_new_tokens):
            window = ids[-context_length:] if context_length else ids
            x = torch.tensor([window], dtype=torch.long, device=device)  # (1, seq)
            logits = model(x)[0, -1]  # (vocab_size,)
            token = sample_next(logits, temperature, top_p, generator)
            ids.append(token)
            new.append(token)
            if eos_id is not None and token == eos_id:
                break
    finally:
        model.train(was_training)
    return new
