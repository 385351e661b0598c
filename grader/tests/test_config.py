"""Tests for helpers.config: presets per scale, knobs that override them, derived fields, and
the checks each lesson's settings make.

Run: ``python -m pytest grader/tests/test_config.py -q``.
"""
from __future__ import annotations

import pytest

import helpers.config
from helpers.config import (
    FlashAttentionConfig,
    ResourceAccountingConfig,
    ScalingLawsConfig,
    TokenizerConfig,
    TransformerLMConfig,
    writable_dir,
)
from helpers.env import BUILD_DIR


def test_smoke_and_full_presets_and_knobs():
    smoke = TransformerLMConfig.build("smoke", "cpu", 3)
    assert (smoke.scale, smoke.device, smoke.seed) == ("smoke", "cpu", 3)
    assert (smoke.d_model, smoke.d_ff, smoke.num_steps, smoke.corpus_mb) == (64, 192, 500, 2)
    assert smoke.num_threads == 1 and smoke.out_dir is None and not smoke.tinystories
    full = TransformerLMConfig.build("full", "cpu", corpus_mb=50)
    assert (full.d_model, full.d_ff, full.num_steps, full.dtype) == (512, 1344, 2000, "bfloat16")
    assert full.out_dir == BUILD_DIR / "02_transformer_lm" / \
        "stories50mb_student_d512_L4_2000steps"
    mine = TransformerLMConfig.build("smoke", "cpu", d_model=128, lr=None, num_steps=7)
    assert (mine.d_model, mine.d_ff, mine.lr, mine.num_steps) == (128, 320, 1e-2, 7), \
        "a knob overrides its preset, None keeps it, and d_ff follows d_model"


def test_bad_settings_are_refused_with_a_message():
    with pytest.raises(ValueError, match="scale must be"):
        TransformerLMConfig.build("medium")
    with pytest.raises(TypeError, match="no setting"):
        TransformerLMConfig.build("smoke", "cpu", d_modle=3)
    with pytest.raises(ValueError, match="model_impl"):
        TransformerLMConfig.build("smoke", "cpu", model_impl="mine")


def test_tokenizer_config_needs_no_device():
    cfg = TokenizerConfig.build("smoke", "auto", num_processes=2)
    assert cfg.device == "cpu" and cfg.corpus.name == "stories_sample.txt" and cfg.corpus.exists()
    assert (cfg.vocab_size, cfg.num_processes, cfg.special_tokens) == \
        (1_000, 2, ("<|endoftext|>",))
    assert TokenizerConfig.build("smoke", corpus="x.txt", vocab_size=300).vocab_size == 300


def test_resource_accounting_models():
    cfg = ResourceAccountingConfig.build("smoke", "cpu", repeats=3)
    assert cfg.model.d_model == 128 and cfg.mfu_model == cfg.model
    assert (cfg.repeats, cfg.warmup, cfg.compile) == (3, 2, False) and cfg.out_dir.is_dir()


def test_flash_attention_device_checks(monkeypatch):
    monkeypatch.setenv("TRITON_INTERPRET", "1")
    cfg = FlashAttentionConfig.build("smoke", "cpu")
    assert cfg.train_seq_lens == (128,) and cfg.tokens_per_step == 256
    assert FlashAttentionConfig.build("smoke", "cpu", train_seq_lens=[64]).train_seq_lens == (64,)
    with pytest.raises(ValueError, match="on a GPU"):
        FlashAttentionConfig.build("full", "cpu")
    monkeypatch.setenv("TRITON_INTERPRET", "0")
    with pytest.raises(ValueError, match="TRITON_INTERPRET"):
        FlashAttentionConfig.build("smoke", "cpu")


def test_scaling_laws_presets():
    smoke = ScalingLawsConfig.build("smoke", "cpu")
    assert (smoke.max_inits, smoke.num_bootstrap, smoke.live_run) == (64, 100, True)
    full = ScalingLawsConfig.build("full", "cpu", service_seed=5)
    assert (full.max_inits, full.num_bootstrap, full.live_run, full.service_seed) == \
        (None, 400, False, 5)
    assert smoke.sweep.name == "runs.csv" and smoke.sweep.exists()
    assert smoke.out_dir == BUILD_DIR / "06_scaling_laws" and smoke.out_dir.is_dir()


def test_out_dir_falls_back_to_a_temporary_folder_where_build_cannot_be_written(
        tmp_path, monkeypatch):
    """The grader's sandboxed kernels see an empty, read-only build/: lesson 06's config must
    still build there (a config cell that raises leaves ``cfg`` undefined for every later
    cell, lesson 06's graded predict_large_run cells included)."""
    (tmp_path / "file").write_text("")
    monkeypatch.setattr(helpers.config, "BUILD_DIR", tmp_path / "file" / "build")  # mkdir fails
    monkeypatch.setattr(helpers.config.tempfile, "gettempdir", lambda: str(tmp_path / "tmp"))
    fallback = tmp_path / "tmp" / "lmkit-06_scaling_laws"
    assert writable_dir("06_scaling_laws") == fallback and fallback.is_dir()
    assert ScalingLawsConfig.build("smoke", "cpu").out_dir == fallback
    monkeypatch.setattr(helpers.config, "BUILD_DIR", tmp_path / "build")
    assert writable_dir("06_scaling_laws") == tmp_path / "build" / "06_scaling_laws"
