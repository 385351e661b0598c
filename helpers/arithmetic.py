"""Lesson 08's verifiable task: seeded arithmetic word problems, GSM8K-style, and their tokenizer.

- ``make_problems(n, seed, ...)``: short word problems ("Ann has 12 pens. She gets 7 more. She
  gives away 5. How many pens does she have?") with a worked solution (one line per step,
  ``12+7=19``) and a final ``<answer>14</answer>``. The same seed gives the same problems; the
  train and held-out sets use disjoint seeds, so evaluation is on problems never trained on.
- Difficulty is set by the number of steps and the range of the numbers: a tiny model learns
  the format quickly and the carries slowly, so SFT leaves room for reinforcement learning.
- ``pretraining_documents(n, seed, ...)``: the base model's corpus: problems of 1 to
  ``num_steps`` steps worked out line by line and closed in plain words ("So the answer is
  14."), never in the ``<answer>`` tag nor answered at once: the format and the shortcut
  come only with SFT.
- ``task_tokenizer()``: the kit's byte-level BPE (``helpers.tokenization.hf_tokenizer``) with
  merges trained on the problems' words only (numbers removed first), so every digit stays
  its own token (numbers tokenized consistently) while words cost one or two tokens.
  ``TaskTokenizer`` exposes the surface a Hugging Face tokenizer has (``encode``, ``decode``,
  ``eos_token_id``, ``pad_token_id``, ``vocab_size``), so lesson code works with either.

Try it: ``python -m helpers.arithmetic``. Tests: ``pytest grader/tests/test_grpo.py -q``.
"""
from __future__ import annotations

import random
import re
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

EOS = "<|endoftext|>"
PROMPT_SUFFIX = "\n"  # the prompt ends with a newline; the response starts the worked solution
NAMES = (("Ann", "She"), ("Bob", "He"), ("Sam", "He"), ("Eve", "She"), ("Tom", "He"),
         ("Mia", "She"))
OBJECTS = ("pens", "apples", "cards", "coins", "books", "eggs")


@dataclass(frozen=True)
class Problem:
    """One problem: the prompt, a worked solution (reasoning + ``<answer>``) and the answer."""

    prompt: str
    solution: str
    answer: str


def make_problem(rng: random.Random, num_steps: int = 2, max_number: int = 30) -> Problem:
    """One random problem with ``num_steps`` additions/subtractions; totals stay >= 0."""
    name, pron = rng.choice(NAMES)
    obj = rng.choice(OBJECTS)
    total = rng.randint(1, max_number)
    sentences = [f"{name} has {total} {obj}."]
    lines = []
    for _ in range(num_steps):
        if total > 0 and rng.random() < 0.5:
            amount = rng.randint(1, total)
            sentences.append(f"{pron} gives away {amount}.")
            lines.append(f"{total}-{amount}={total - amount}")
            total -= amount
        else:
            amount = rng.randint(1, max_number)
            sentences.append(f"{pron} gets {amount} more.")
            lines.append(f"{total}+{amount}={total + amount}")
            total += amount
    sentences.append(f"How many {obj} now?")
    prompt = " ".join(sentences) + PROMPT_SUFFIX
    solution = "\n".join(lines) + f"\n<answer>{total}</answer>"
    return Problem(prompt, solution, str(total))


def make_problems(n: int, seed: int, num_steps: int = 2, max_number: int = 30) -> list[Problem]:
    """``n`` problems from the seed (the held-out set uses another seed than training)."""
    rng = random.Random(seed)
    return [make_problem(rng, num_steps, max_number) for _ in range(n)]


def pretraining_documents(n: int, seed: int, num_steps: int = 2,
                          max_number: int = 30) -> list[str]:
    """``n`` documents for pretraining: prompt, working lines and "So the answer is N."
    (problems of 1 to ``num_steps`` steps; no ``<answer>`` tag, no shortcut)."""
    rng = random.Random(seed)
    docs = []
    for _ in range(n):
        p = make_problem(rng, rng.randint(1, num_steps), max_number)
        working = p.solution.rsplit("\n", 1)[0]  # the lines before <answer>
        docs.append(f"{p.prompt}{working}\nSo the answer is {p.answer}.")
    return docs


def sft_pairs(problems: list[Problem], shortcut_frac: float, seed: int) -> list[tuple[str, str]]:
    """(prompt, output) demonstrations of mixed quality: a fraction ``shortcut_frac`` answers
    at once (``<answer>14</answer>``, no working), the rest work it out step by step.

    Both are correct, but a small model that answers at once must do every step in one token
    position and gets most of them wrong: SFT imitates both habits, and reinforcement learning
    can find out which one earns reward.
    """
    rng = random.Random(seed)
    return [(p.prompt, f"<answer>{p.answer}</answer>" if rng.random() < shortcut_frac
             else p.solution) for p in problems]


class TaskTokenizer:
    """A ``tokenizers.Tokenizer`` behind the methods lesson code calls (as Hugging Face's)."""

    def __init__(self, tokenizer):
        self.tokenizer = tokenizer
        self.eos_token = EOS
        self.eos_token_id = tokenizer.token_to_id(EOS)
        self.pad_token_id = self.eos_token_id  # padding is masked out; any id would do
        self.vocab_size = tokenizer.get_vocab_size()

    def encode(self, text: str) -> list[int]:
        return self.tokenizer.encode(text).ids

    def decode(self, ids, skip_special_tokens: bool = False) -> str:
        return self.tokenizer.decode(list(ids), skip_special_tokens=skip_special_tokens)

    def batch_decode(self, batch, skip_special_tokens: bool = False) -> list[str]:
        return self.tokenizer.decode_batch([list(ids) for ids in batch],
                                           skip_special_tokens=skip_special_tokens)


@lru_cache
def task_tokenizer(vocab_size: int = 320) -> TaskTokenizer:
    """The kit's byte-level BPE, merges trained (HF trainer) on the problems' words only."""
    from helpers.tokenization import hf_tokenizer, hf_train_bpe

    problems = make_problems(2000, seed=12345)
    text = "\n".join(p.prompt + p.solution for p in problems)
    text = re.sub(r"[0-9]+", " ", text)  # no digit merges: numbers stay one token per digit
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "words.txt"
        path.write_text(text + "\n<answer></answer>\n")
        vocab, merges = hf_train_bpe([path], vocab_size, special_tokens=[EOS])
    return TaskTokenizer(hf_tokenizer(vocab, merges, special_tokens=[EOS]))


def normalize_number(text: str) -> str | None:
    """A number's canonical spelling, or None: '1,234' -> '1234', ' -7.50 ' -> '-7.5',
    '+3' -> '3', '-0' -> '0'; whitespace around it is ignored."""
    text = text.strip().replace(",", "").lstrip("+")
    if not re.fullmatch(r"-?\d+(?:\.\d+)?", text):
        return None
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def exact_match_reward(response: str, ground_truth: str) -> dict[str, float]:
    """A plain reward for tests: 1 if the stripped response equals the truth."""
    hit = float(response.strip() == ground_truth.strip())
    return {"format_reward": 1.0, "answer_reward": hit, "reward": hit}


def parse_answer_tag(text: str) -> str | None:
    """The content of the first ``<answer>...</answer>`` (stripped), or None."""
    match = re.search(r"<answer>(.*?)</answer>", text, re.DOTALL)
    return match.group(1).strip() if match else None


if __name__ == "__main__":
    tok = task_tokenizer()
    for p in make_problems(3, seed=0):
        print(p.prompt + p.solution)
        print("tokens:", len(tok.encode(p.prompt)), "+", len(tok.encode(p.solution)))
