"""Rollouts for lesson 08: a batched, KV-cached sampler and one interface over two engines.

- ``sample_batch(model, prompt_ids, ...)``: the kit's sampler for
  ``helpers.reference.model.ReferenceLM``.
  Prompts are left-padded to one length; each row has its own RoPE positions (0 at its first
  real token) and a key mask that hides its padding. A prefill pass fills a preallocated
  key/value cache per layer (batch, heads, seq, d_head); each decode step then runs the model
  on one new token per row and attends to the cache, so a step costs O(seq) instead of the
  O(seq^2) of recomputing the whole prefix (``naive=True`` does that, for comparison; it is also
  the path for any other model ``model(ids) -> logits`` or ``.logits``, Hugging Face's included).
  Temperature, top-p, a stop token and stop strings, a token budget; rows that stop are padded.
- ``RolloutEngine.generate(prompts, sampling) -> list[str]``: ``KitEngine`` (the sampler
  above, CPU or GPU) and ``VLLMEngine`` (vLLM on a CUDA machine: ``pip install -e ".[gpu]"``).
  vLLM cannot run on the kit's CPUs: ``VLLMEngine`` is tested against ``FakeLLM``, a stand-in
  with vLLM's ``LLM.generate`` / ``SamplingParams`` surface, so its glue (parameters, output
  order, weight sync) is checked here and its speed only on a GPU.

Tests: ``pytest grader/tests/test_grpo.py -q -k rollout``. Speed: ``python benchmarks/grpo.py``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from helpers.reference.model import ReferenceLM, apply_rope

ANSWERS = ("02_transformer_lm",)  # top-p sampling answers lesson 02: left out of its bundle


@dataclass
class SamplingConfig:
    """How to sample: temperature (0 = greedy), nucleus top_p, token budget, stop strings."""

    temperature: float = 1.0
    top_p: float = 1.0
    max_tokens: int = 64
    stop: tuple[str, ...] = ("</answer>",)
    seed: int | None = None


def sample_tokens(logits: torch.Tensor, temperature: float, top_p: float,
                  generator: torch.Generator | None = None) -> torch.Tensor:
    """One token per row of ``logits`` (batch, vocab) with temperature and top-p: (batch,)."""
    if temperature == 0:
        return logits.argmax(-1)
    probs = torch.softmax(logits.float() / temperature, dim=-1)
    if top_p < 1:
        sorted_probs, order = probs.sort(-1, descending=True)
        drop = sorted_probs.cumsum(-1) - sorted_probs >= top_p  # already reached top_p
        probs = torch.zeros_like(probs).scatter(-1, order, sorted_probs.masked_fill(drop, 0))
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)


def _left_pad(prompt_ids: list[list[int]], pad_id: int,
              device) -> tuple[torch.Tensor, torch.Tensor]:
    """(batch, P) left-padded ids and the (batch,) number of pads of each row."""
    longest = max(len(p) for p in prompt_ids)
    ids = torch.full((len(prompt_ids), longest), pad_id, dtype=torch.long)
    for i, p in enumerate(prompt_ids):
        ids[i, longest - len(p):] = torch.tensor(p, dtype=torch.long)
    pads = torch.tensor([longest - len(p) for p in prompt_ids])
    return ids.to(device), pads.to(device)


def _cached_forward(model: ReferenceLM, x_ids, positions, cache, start, key_valid):
    """Run ``model`` on new tokens ``x_ids`` (batch, n) at ``positions``, attending to the cache.

    cache: per layer, (k, v) each (batch, heads, max_seq, d_head); the new keys/values are
    written at ``start : start + n``. key_valid: (batch, max_seq) bool, False on padding.
    Returns the logits of the last new token: (batch, vocab).
    """
    n = x_ids.shape[1]
    end = start + n
    cos = model.rope_cos[positions][:, None]  # (batch, 1, n, d_head/2)
    sin = model.rope_sin[positions][:, None]
    # Query i (absolute slot start+i) sees valid keys at slots <= start+i, and always itself
    # (so a padding query is never fully masked, which would give NaN).
    slots = torch.arange(end, device=x_ids.device)
    q_slots = torch.arange(start, end, device=x_ids.device)
    causal = slots[None, :] <= q_slots[:, None]  # (n, end)
    mask = causal[None] & key_valid[:, None, :end]  # (batch, n, end)
    mask = mask | (slots[None, None, :] == q_slots[None, :, None])
    mask = mask[:, None]  # (batch, 1, n, end): broadcast over heads
    x = model.token_embeddings(x_ids)  # (batch, n, d_model)
    for layer, (k_cache, v_cache) in zip(model.layers, cache):
        attn = layer.attn
        h = layer.ln1(x)

        def heads(t):  # (batch, n, d_model) -> (batch, heads, n, d_head)
            return t.unflatten(-1, (attn.num_heads, attn.d_head)).transpose(1, 2)

        q = apply_rope(heads(attn.q_proj(h)), cos, sin)
        k_cache[:, :, start:end] = apply_rope(heads(attn.k_proj(h)), cos, sin)
        v_cache[:, :, start:end] = heads(attn.v_proj(h))
        out = F.scaled_dot_product_attention(q, k_cache[:, :, :end], v_cache[:, :, :end],
                                             attn_mask=mask)  # (batch, heads, n, d_head)
        x = x + attn.output_proj(out.transpose(1, 2).flatten(-2))
        x = x + layer.ffn(layer.ln2(x))
    return model.lm_head(model.ln_final(x[:, -1]))  # (batch, vocab)


def _logits_of(model, ids: torch.Tensor) -> torch.Tensor:
    out = model(ids)
    return getattr(out, "logits", out)


@torch.no_grad()
def sample_batch(model, prompt_ids: list[list[int]], sampling: SamplingConfig, *, eos_id: int,
                 pad_id: int | None = None, decode=None, naive: bool | None = None,
                 generator: torch.Generator | None = None) -> list[list[int]]:
    """Sample one continuation per prompt; returns the new ids of each row (stop included).

    A row stops at ``eos_id`` (kept), or once ``decode(new ids)`` contains a stop string
    (checked only when ``decode`` is given), or after ``sampling.max_tokens`` tokens.
    ``naive`` (default: True unless ``model`` is a ``ReferenceLM``) recomputes the whole
    prefix at every step instead of using the KV cache.
    """
    pad_id = eos_id if pad_id is None else pad_id
    if naive is None:
        naive = not isinstance(model, ReferenceLM)
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    ids, pads = _left_pad(prompt_ids, pad_id, device)  # (batch, P), (batch,)
    batch, prompt_len = ids.shape
    max_seq = prompt_len + sampling.max_tokens
    key_valid = torch.ones(batch, max_seq, dtype=torch.bool, device=device)
    key_valid[:, :prompt_len] = torch.arange(prompt_len, device=device)[None] >= pads[:, None]
    positions = (torch.arange(prompt_len, device=device)[None] - pads[:, None]).clamp(min=0)
    new = torch.full((batch, sampling.max_tokens), pad_id, dtype=torch.long, device=device)
    done = torch.zeros(batch, dtype=torch.bool, device=device)
    lengths = torch.zeros(batch, dtype=torch.long, device=device)
    try:
        if not naive:
            cfg = model.cfg
            param = next(model.parameters())
            cache = [tuple(torch.empty(batch, cfg.num_heads, max_seq, cfg.d_head,
                                       dtype=param.dtype, device=device) for _ in range(2))
                     for _ in model.layers]
            logits = _cached_forward(model, ids, positions, cache, 0, key_valid)
        for t in range(sampling.max_tokens):
            if naive:
                seq = torch.cat([ids, new[:, :t]], dim=1)
                if isinstance(model, ReferenceLM):
                    all_pos = torch.cat([positions, positions[:, -1:] + 1 +
                                         torch.arange(t, device=device)[None]], dim=1)
                    logits = _cached_forward(model, seq, all_pos, [
                        tuple(torch.empty(batch, model.cfg.num_heads, seq.shape[1],
                                          model.cfg.d_head, device=device) for _ in range(2))
                        for _ in model.layers], 0, key_valid[:, :seq.shape[1]])
                else:  # any model(ids) -> logits: right-aligned prompts, pads visible
                    logits = _logits_of(model, seq)[:, -1]
            token = sample_tokens(logits, sampling.temperature, sampling.top_p, generator)
            token = torch.where(done, torch.full_like(token, pad_id), token)
            new[:, t] = token
            lengths += (~done).long()
            done |= token == eos_id
            if decode is not None and sampling.stop:
                for i in (~done).nonzero().flatten().tolist():
                    text = decode(new[i, :t + 1].tolist())
                    if any(s in text[-12 - max(map(len, sampling.stop)):] for s in sampling.stop):
                        done[i] = True
            if bool(done.all()):
                break
            if not naive and t + 1 < sampling.max_tokens:
                pos = positions[:, -1:] + 1 + t  # (batch, 1)
                logits = _cached_forward(model, token[:, None], pos, cache, prompt_len + t,
                                         key_valid)
    finally:
        model.train(was_training)
    return [new[i, :int(lengths[i])].tolist() for i in range(batch)]


# ---------------------------------------------------------------------------------------------
# One interface, two engines
# ---------------------------------------------------------------------------------------------
class RolloutEngine:
    """``generate(prompts, sampling) -> one response string per prompt``; ``sync(model)``
    makes the engine sample from the policy's current weights."""

    def generate(self, prompts: list[str], sampling: SamplingConfig) -> list[str]:
        raise NotImplementedError

    def sync(self, model) -> None:
        raise NotImplementedError


@dataclass
class KitEngine(RolloutEngine):
    """The kit's KV-cached sampler on the policy itself (no copy: ``sync`` has nothing to do)."""

    model: object
    tokenizer: object
    batch_size: int = 256
    generator: torch.Generator | None = field(default=None, repr=False)

    def generate(self, prompts: list[str], sampling: SamplingConfig) -> list[str]:
        if self.generator is None and sampling.seed is not None:
            device = next(self.model.parameters()).device
            self.generator = torch.Generator(device).manual_seed(sampling.seed)
        out = []
        for i in range(0, len(prompts), self.batch_size):
            chunk = [self.tokenizer.encode(p) for p in prompts[i:i + self.batch_size]]
            ids = sample_batch(self.model, chunk, sampling, eos_id=self.tokenizer.eos_token_id,
                               pad_id=self.tokenizer.pad_token_id, decode=self.tokenizer.decode,
                               generator=self.generator)
            # The end-of-text token stays in the text: a response the model ended at once is
            # one token long, not empty (an empty response has no tokens to average over).
            out += [_cut_at_stop(self.tokenizer.decode(r), sampling.stop) for r in ids]
        return out

    def sync(self, model) -> None:
        self.model = model


def _cut_at_stop(text: str, stop) -> str:
    """Keep the text up to and including the first stop string (as vLLM's include_stop_str)."""
    cuts = [text.index(s) + len(s) for s in stop if s in text]
    return text[:min(cuts)] if cuts else text


def _strip_stop(text: str, stop) -> str:
    for s in stop:
        if text.endswith(s):
            return text[:-len(s)]
    return text


class VLLMEngine(RolloutEngine):
    """Rollouts with vLLM (a CUDA machine: ``pip install -e ".[gpu]"``).

    Args:
        llm: a ``vllm.LLM`` built on the policy's checkpoint (e.g. saved with
            ``save_pretrained``), typically with ``gpu_memory_utilization`` well below 1 so the
            trainer shares the GPU.
        sampling_params_cls: ``vllm.SamplingParams`` (a stand-in in tests).
    """

    def __init__(self, llm, sampling_params_cls=None):
        if sampling_params_cls is None:
            from vllm import SamplingParams as sampling_params_cls
        self.llm, self.sampling_params_cls = llm, sampling_params_cls

    def generate(self, prompts: list[str], sampling: SamplingConfig) -> list[str]:
        params = self.sampling_params_cls(
            temperature=sampling.temperature, top_p=sampling.top_p,
            max_tokens=sampling.max_tokens, stop=list(sampling.stop),
            include_stop_str_in_output=True, seed=sampling.seed)
        outputs = self.llm.generate(prompts, params, use_tqdm=False)
        return [o.outputs[0].text for o in outputs]  # vLLM keeps the prompts' order

    def sync(self, model) -> None:
        """Load the policy's weights into vLLM's model (names must match vLLM's: a Hugging
        Face model's ``state_dict``)."""
        runner = self.llm.llm_engine.model_executor.driver_worker.model_runner
        runner.model.load_weights(model.state_dict().items())


class FakeLLM:
    """A stand-in for ``vllm.LLM`` in tests: vLLM's call surface over the kit's sampler."""

    @dataclass
    class SamplingParams:  # the fields of vllm.SamplingParams that VLLMEngine sets
        temperature: float = 1.0
        top_p: float = 1.0
        max_tokens: int = 16
        stop: list = field(default_factory=list)
        include_stop_str_in_output: bool = False
        seed: int | None = None

    def __init__(self, model, tokenizer):
        self.model, self.tokenizer, self.loaded = model, tokenizer, []
        runner = type("Runner", (), {"model": self})()
        worker = type("Worker", (), {"model_runner": runner})()
        executor = type("Executor", (), {"driver_worker": worker})()
        self.llm_engine = type("Engine", (), {"model_executor": executor})()

    def load_weights(self, weights) -> None:
        state = dict(weights)
        self.loaded.append(sorted(state))
        self.model.load_state_dict(state)

    def generate(self, prompts, params, use_tqdm=True):
        sampling = SamplingConfig(params.temperature, params.top_p, params.max_tokens,
                                  tuple(params.stop), params.seed)
        texts = KitEngine(self.model, self.tokenizer).generate(prompts, sampling)
        if not params.include_stop_str_in_output:
            texts = [_strip_stop(t, params.stop) for t in texts]
        completion = type("Completion", (), {})
        return [type("RequestOutput", (), {"prompt": p, "outputs": [
            type("CompletionOutput", (completion,), {"text": t})()]})()
            for p, t in zip(prompts, texts)]
