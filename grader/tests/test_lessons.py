"""End to end on the real lessons: every solution notebook executes headlessly at its default
(smoke) parameters, and its sample submissions get exactly the expected scores.

This is ``python -m grader demo`` under test, with each lesson's cell timeout fitted to its
solution's execution (``grader.demo.fitted_cell_timeout``). Expected scores are reasoned, not
recorded: lessons build on their own earlier exercises, so a broken early exercise costs later
tests. The lessons run once for the whole module (the ``result`` fixture).
Run: ``pytest grader/tests/test_lessons.py`` (about 2 minutes a lesson on 2 cores).
"""
from __future__ import annotations

import math

import nbformat
import pytest

from grader.demo import FIT_FACTOR, FIT_FALLBACK, FIT_FLOOR, demo, fitted_cell_timeout
from grader.execute import Run
from grader.paths import Layout

# lesson -> sample -> (score, status)
EXPECTED = {
    "01_bpe_tokenizer": {
        "solution": (22, "graded"),
        "untouched": (0, "graded"),
        # split_on_special_tokens (2) + merge_word (1) solved; count_pretokens is a stub, and
        # train_bpe, encode and the rest build on it or on find_chunk_boundaries.
        "partial": (3, "graded"),
        # split_on_special_tokens raises: what is left is merge_word (1), find_chunk_boundaries
        # (2), the constructor (1) and apply_merges (2), which do not call it.
        "raises": (6, "graded"),
        # from_files (1 point) loops forever: only its test is cut by the per-cell timeout.
        "endless": (21, "graded"),
    },
    "02_transformer_lm": {
        "solution": (37, "graded"),
        "untouched": (0, "graded"),
        # Linear 1, RMSNorm 2, softmax 1, AdamW 4, gradient_clipping 2, save_checkpoint 1 and
        # generate 3 solved; SwiGLU needs the stubbed silu, attention the stubbed
        # scaled_dot_product_attention, the LM the stubbed block.
        "partial": (14, "graded"),
        # Linear raises: Linear 1, SwiGLU 2, attention 3, block 2 and the LM 3 are lost (silu
        # does not use Linear).
        "raises": (26, "graded"),
        # generate (3 points) loops forever; its test is cut by the per-cell timeout.
        "endless": (34, "graded"),
    },
    "03_resource_accounting": {
        "solution": (22, "graded"),
        "untouched": (0, "graded"),
        # tensor_bytes 1, count_parameters 2, forward_flops 3, training_memory 3 (it calls the
        # solved count_parameters) and matmul_intensity 1 solved; model_flops_utilization needs
        # the stubbed training_flops.
        "partial": (10, "graded"),
        # tensor_bytes raises: only its own test (1) uses it.
        "raises": (21, "graded"),
        # update_loss_scale (2 points) loops forever; its test is cut by the per-cell timeout.
        "endless": (20, "graded"),
    },
    "04_flash_attention": {
        "solution": (18, "graded"),
        "untouched": (0, "graded"),
        # naive_attention 1, flash_backward_pytorch 2 and the forward kernel's two tests (4)
        # solved; FlashAttentionPytorch needs the stubbed tiled forward, and the dQ test's
        # trusted end-to-end case (the three kernels under autograd) calls the stubbed dK/dV
        # kernel.
        "partial": (7, "graded"),
        # naive_attention raises: only its own test (1) uses it.
        "raises": (17, "graded"),
        # The dQ kernel (3 points) loops forever in the interpreter; its test is cut by the
        # per-cell timeout (and so are the two later cells that run a backward pass).
        "endless": (15, "graded"),
    },
    "05_ddp": {
        "solution": (17, "graded"),
        "untouched": (0, "graded"),
        # bus_bandwidth 1, average_gradients 2 and ShardedOptimizer 3 solved (their tests start
        # the ranks from equal models, without broadcast_parameters); DDP and DDPBucketed call
        # the stubbed broadcast_parameters (and assign_buckets).
        "partial": (6, "graded"),
        # bus_bandwidth (1 point) raises; nothing else calls it.
        "raises": (16, "graded"),
        # ShardedOptimizer (3 points) loops forever inside the worker processes: the launcher's
        # 30 s timeout kills them, so its test fails without spending a cell timeout.
        "endless": (14, "graded"),
    },
    "06_scaling_laws": {
        "solution": (26, "graded"),
        "untouched": (0, "graded"),
        # compute_to_tokens 1, fit_power_law 1, huber 1, compute_optimal_allocation 2 solved;
        # fit_isoflops, fit_chinchilla and the budget task need the stubbed exercises.
        "partial": (5, "graded"),
        # compute_to_tokens raises: it (1), fit_isoflops (3) and the budget task's four tests
        # (8) that convert compute to tokens are lost.
        "raises": (14, "graded"),
        # The budget task (predict_large_run: four tests, 8 points) loops forever.
        "endless": (18, "graded"),
    },
    "07_common_crawl_filtering": {
        "solution": (17, "graded"),
        "untouched": (0, "graded"),
        # extract_text_from_html_bytes 2, mask_emails 1, mask_ips 1, classify_quality 1 and
        # classify_toxic_speech 1 solved; minhash_deduplication (3) needs the stubbed
        # normalize_text.
        "partial": (6, "graded"),
        # extract_text_from_html_bytes (2 points) raises; no other exercise calls it.
        "raises": (15, "graded"),
        # exact_line_deduplication (2 points) loops forever: its test and the pipeline cell
        # are cut by the per-cell timeout.
        "endless": (15, "graded"),
    },
    "08_grpo": {
        "solution": (17, "graded"),
        "untouched": (0, "graded"),
        # parse_gsm8k_response 1, tokenize_prompt_and_output 2 and masked_normalize 1 solved;
        # get_response_log_probs needs the stubbed compute_entropy, compute_rollout_rewards' test
        # uses the stubbed answer_reward_fn, and the clip fraction needs the stubbed masked_mean.
        "partial": (4, "graded"),
        # parse_gsm8k_response (1 point) raises; nothing else calls it.
        "raises": (16, "graded"),
        # grpo_microbatch_train_step (2 points) loops forever: its test and the first GRPO run
        # cell are cut by the per-cell timeout; the second GRPO cell and the ablation cells stop
        # at the first half's missing log, and the Hugging Face cell uses the SFT step.
        "endless": (15, "graded"),
    },
}


@pytest.fixture(scope="module")
def result():
    return demo(Layout(), workers=2, report=lambda *_: None)


def test_the_cell_timeout_is_fitted_to_the_slowest_cell(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1"),
                                         nbformat.v4.new_markdown_cell("text"),
                                         nbformat.v4.new_code_cell("2")])
    path = tmp_path / "executed.ipynb"

    def fitted(*seconds: float | None, error: str = "") -> int:
        for cell, duration in zip((nb.cells[0], nb.cells[2]), seconds, strict=True):
            cell.metadata["papermill"] = {"duration": duration}
        nbformat.write(nb, str(path))
        return fitted_cell_timeout(Run("01_x", path, 1.0, error))

    assert fitted(2.0, 30.5) == math.ceil(FIT_FACTOR * 30.5)
    assert fitted(0.1, None) == FIT_FLOOR  # quick cells; a cell that never ran
    assert fitted(2.0, 30.5, error="cell [3]: ValueError: bad") == FIT_FALLBACK
    assert fitted(None, None) == FIT_FALLBACK
    assert fitted_cell_timeout(Run("01_x", tmp_path / "absent.ipynb", 1.0)) == FIT_FALLBACK


def test_every_lesson_has_expected_scores():
    missing = sorted(set(Layout().lessons()) - set(EXPECTED))
    assert not missing, f"add the expected sample scores of {missing} to EXPECTED in {__file__}"


def test_solutions_execute_headlessly(result):
    failed = {run.lesson: run.error for run in result.runs if not run.ok}
    assert not failed, f"solution notebooks failed: {failed}"


@pytest.mark.parametrize("lesson", sorted(EXPECTED))
def test_sample_scores(result, lesson):
    got = {r.student: (r.score, r.status) for r in result.results[lesson]}
    assert got == EXPECTED[lesson], f"{lesson}: {got}"
    assert result.problems() == []
