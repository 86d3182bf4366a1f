"""The judge and the evaluation metrics: formulas on hand-made inputs, a judge that learns.

Run: cd factory && .venv/bin/python -m pytest tests/test_evaluate.py -q
"""
from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from soundstep_factory import evaluate as ev
from soundstep_factory.config import PackConfig
from soundstep_factory.evaluate import JudgeConfig

TINY_JUDGE = JudgeConfig(widths=(4, 8, 16), crop_frames=32, steps=30, batch_size=8, lr=3e-3,
                         checkpoint_every=10, dropout=0.0)


def _cfg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, recipe: str = "t") -> PackConfig:
    monkeypatch.setenv("SOUNDSTEP_WORK", str(tmp_path))
    return PackConfig(recipe=recipe)


def _random_cov(rng: np.random.Generator, d: int) -> np.ndarray:
    a = rng.normal(size=(d, d))
    return a @ a.T / d + 0.1 * np.eye(d)


# ---------------------------------------------------------------- Frechet distance
def test_frechet_distance_of_identical_stats_is_zero() -> None:
    rng = np.random.default_rng(0)
    mu, cov = rng.normal(size=8), _random_cov(rng, 8)
    assert ev.frechet_distance(mu, cov, mu, cov) == pytest.approx(0.0, abs=1e-8)


def test_frechet_distance_of_shifted_means_is_squared_norm() -> None:
    rng = np.random.default_rng(1)
    mu, cov, d = rng.normal(size=6), _random_cov(rng, 6), rng.normal(size=6)
    assert ev.frechet_distance(mu, cov, mu + d, cov) == pytest.approx(float(d @ d), rel=1e-6, abs=1e-8)


def test_frechet_distance_is_symmetric_and_matches_closed_form() -> None:
    rng = np.random.default_rng(2)
    mu1, mu2 = rng.normal(size=5), rng.normal(size=5)
    c1, c2 = _random_cov(rng, 5), _random_cov(rng, 5)
    assert ev.frechet_distance(mu1, c1, mu2, c2) == pytest.approx(ev.frechet_distance(mu2, c2, mu1, c1), rel=1e-6)
    # Diagonal covariances: Tr(C1 + C2 - 2 sqrt(C1 C2)) = sum (sqrt(a) - sqrt(b))^2.
    a, b = rng.uniform(0.5, 2, size=5), rng.uniform(0.5, 2, size=5)
    expected = float((mu1 - mu2) @ (mu1 - mu2) + ((np.sqrt(a) - np.sqrt(b)) ** 2).sum())
    assert ev.frechet_distance(mu1, np.diag(a), mu2, np.diag(b)) == pytest.approx(expected, rel=1e-6)


def test_frechet_distance_survives_singular_covariances() -> None:
    rng = np.random.default_rng(3)
    e1, e2 = rng.normal(size=(4, 10)), rng.normal(size=(4, 10)) + 1.0  # rank 3 covariances in 10-d
    d = ev.fad_judge(e1, e2)
    assert math.isfinite(d) and d > 0


def test_embedding_stats_and_fd_mel() -> None:
    rng = np.random.default_rng(4)
    e = rng.normal(size=(50, 3))
    mu, cov = ev.embedding_stats(e)
    assert mu.shape == (3,) and cov.shape == (3, 3)
    np.testing.assert_allclose(cov, np.cov(e.T))
    mels = torch.from_numpy(rng.normal(size=(20, 16, 8)))
    assert ev.mel_stats_embedding(mels).shape == (20, 16)
    assert ev.fd_mel(mels, mels) == pytest.approx(0.0, abs=1e-8)
    assert ev.fd_mel(mels, mels + 1.0) == pytest.approx(8.0, rel=1e-6)  # mean shifts by 1 in 8 bins


# ---------------------------------------------------------------- intervals
def test_mean_ci95() -> None:
    assert ev.mean_ci95([2.0] * 5) == (2.0, 0.0)
    values = [1.0, 2.0, 3.0, 4.0, 5.0]
    mean, half = ev.mean_ci95(values)
    # By hand: s = sqrt(2.5), t_{0.975, 4} = 2.776445, half = t * s / sqrt(5) = 1.963243.
    assert mean == pytest.approx(3.0)
    assert half == pytest.approx(2.776445 * math.sqrt(2.5) / math.sqrt(5), rel=1e-5)
    assert half == pytest.approx(1.963243, rel=1e-5)
    assert math.isnan(ev.mean_ci95([1.0])[1])
    summary = ev.summarize_runs([{"a": 1.0, "b": "x"}, {"a": 3.0, "b": "y"}])
    assert set(summary) == {"a"} and summary["a"]["mean"] == 2.0


# ---------------------------------------------------------------- adherence and accuracy
def test_adherence_on_hand_made_probabilities() -> None:
    vocab = ["bell", "dog", "rain"]
    probs = np.array([[0.9, 0.1, 0.2],   # bell: found
                      [0.9, 0.4, 0.2],   # bell + dog: dog missed
                      [0.6, 0.5, 0.9],   # bell + dog: both found (0.5 >= 0.5)
                      [0.1, 0.1, 0.3]])  # rain: missed
    prompts = [["bell"], ["bell", "dog"], ["dog", "bell"], ["rain"]]
    assert ev.adherence(probs, prompts, vocab) == pytest.approx(0.5)
    assert ev.adherence(probs, prompts, vocab, threshold=0.25) == pytest.approx(1.0)
    with pytest.raises(KeyError):
        ev.adherence(probs, [["bell"], ["cat"], ["dog"], ["rain"]], vocab)
    by_mix = ev.adherence_by_mix(probs, prompts, ["single", "while", "then", "single"], vocab)
    assert by_mix == {"adherence_single": pytest.approx(0.5), "adherence_while": 0.0, "adherence_then": 1.0}
    assert ev.adherence_by_mix(probs, prompts, ["single"] * 4, vocab) == {"adherence_single": pytest.approx(0.5)}
    # bell is named by three clips and found in all; dog by two, found in one; rain by one, missed
    assert ev.source_recall(probs, prompts, vocab) == {"bell": 1.0, "dog": 0.5, "rain": 0.0}
    assert ev.clips_found(probs, prompts, vocab).tolist() == [True, False, True, False]


def test_paired_found_counts_discordant_clips() -> None:
    a, b = [True] * 10 + [False] * 2 + [True] * 8, [False] * 10 + [True] * 2 + [True] * 8
    paired = ev.paired_found(a, b)
    assert (paired["a_only"], paired["b_only"]) == (10, 2)
    assert paired["p_value"] == pytest.approx(2 * sum(math.comb(12, k) for k in range(3)) / 2 ** 12)  # 0.039
    assert ev.paired_found(a, a) == {"a_only": 0, "b_only": 0, "p_value": 1.0}
    with pytest.raises(ValueError, match="same clips"):
        ev.paired_found(a, b[:-1])


class BinJudge(torch.nn.Module):
    """A judge whose source j is heard where mel bin j is positive (any frame): p = 0.9, else 0.1."""

    def outputs(self, mel: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        heard = (mel > 0).any(dim=1)  # (N, V)
        return 0.1 + 0.8 * heard.double(), torch.zeros(len(mel), 1)


def test_order_adherence_tells_a_sequence_from_a_mixture() -> None:
    vocab = ["bell", "dog", "rain"]
    mel = -torch.ones(5, 8, 3)  # (clip, frame, source bin)
    mel[0, :4, 0] = mel[0, 4:, 1] = 1  # bell, then dog: in order
    mel[1, :4, 1] = mel[1, 4:, 0] = 1  # dog, then bell: reversed
    mel[2, :, 0] = mel[2, :, 1] = 1  # bell and dog throughout: a mixture
    mel[3, :4, 0] = 1  # bell, then silence
    mel[4, :4, 2] = mel[4, 4:, 0] = 1  # rain, then bell: in order
    prompts = [["bell", "dog"]] * 4 + [["rain", "bell"]]
    then = ["then"] * 5
    assert ev.order_adherence(BinJudge(), vocab, mel, prompts, then) == pytest.approx(2 / 5)
    # only "then" clips count; none gives None
    assert ev.order_adherence(BinJudge(), vocab, mel, prompts, ["then", "while", "while", "while", "then"]) == 1.0
    assert ev.order_adherence(BinJudge(), vocab, mel, prompts, ["single"] * 5) is None


def test_judge_accuracy_on_hand_made_probabilities() -> None:
    vocab = ["bell", "dog", "rain"]
    probs = np.array([[0.9, 0.1, 0.2], [0.9, 0.4, 0.2], [0.6, 0.7, 0.9], [0.1, 0.1, 0.8]])
    truth = [["bell"], ["bell", "dog"], ["dog", "bell"], ["rain"]]
    acc = ev.judge_accuracy(probs, truth, vocab)
    assert acc["exact_set_accuracy"] == pytest.approx(0.5)  # clip 2 misses dog, clip 3 adds rain
    assert acc["adherence"] == pytest.approx(0.75)
    # bell: tp 3 -> F1 1; dog: tp 1, fn 1 -> 2/3; rain: tp 1, fp 1 -> 2/3.
    assert acc["macro_f1"] == pytest.approx((1 + 2 / 3 + 2 / 3) / 3)
    assert acc["micro_f1"] == pytest.approx(2 * 5 / (2 * 5 + 1 + 1))


# ---------------------------------------------------------------- the judge
def _synthetic(n: int, seed: int = 0) -> tuple[torch.Tensor, list[list[str]]]:
    """Log-mels (n, 64, 16) in which source "low" lights bins 0-3 and "high" bins 12-15."""
    g = torch.Generator().manual_seed(seed)
    mel = torch.randn(n, 64, 16, generator=g) * 0.5 - 8.0
    sources = []
    for i in range(n):
        srcs = [["low"], ["high"], ["low", "high"]][i % 3]
        if "low" in srcs:
            mel[i, :, 0:4] += 5.0
        if "high" in srcs:
            mel[i, :, 12:16] += 5.0
        sources.append(srcs)
    return mel, sources


@pytest.mark.parametrize("pooling", ["attention", "mean"])
def test_judge_learns_and_embeds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pooling: str) -> None:
    cfg = _cfg(tmp_path, monkeypatch)
    mel, sources = _synthetic(24)
    vocab = ev.build_vocab(sources)
    assert vocab == ["high", "low"]
    jcfg = dataclasses.replace(TINY_JUDGE, pooling=pooling)
    judge, history = ev.train_judge(cfg, jcfg, mel, sources, vocab, log_every=0)
    assert judge.pooling == pooling
    losses = [h["loss"] for h in history]
    assert len(losses) == TINY_JUDGE.steps
    assert np.mean(losses[-5:]) < 0.7 * np.mean(losses[:5])
    probs, emb = ev.judge_outputs(judge, mel)
    assert probs.shape == (24, 2) and emb.shape == (24, TINY_JUDGE.widths[-1])
    assert ((probs >= 0) & (probs <= 1)).all()
    assert ev.judge_path(cfg).exists()
    loaded, loaded_vocab = ev.load_judge(ev.judge_path(cfg))
    assert loaded_vocab == vocab
    probs2, emb2 = ev.judge_outputs(loaded, mel)
    torch.testing.assert_close(probs2, probs)
    torch.testing.assert_close(emb2, emb)


def test_attention_pooling_weighs_a_source_heard_in_part_of_the_clip_fully() -> None:
    """Per-step evidence for source 0 in 4 of 16 time steps: attention pooling gives the clip the
    probability of those steps; mean pooling of the features dilutes it."""
    steps, channels = 16, 2
    frames = torch.zeros(1, steps, channels)
    frames[0, :4, 0] = 1.0  # channel 0: the source is heard (first quarter)
    probs = {}
    for pooling in ("attention", "mean"):
        judge = ev.Judge(1, dataclasses.replace(TINY_JUDGE, widths=(channels,), pooling=pooling)).eval()
        with torch.no_grad():
            judge.head.weight.copy_(torch.tensor([[12.0, 0.0]]))
            judge.head.bias.fill_(-6.0)  # per step: p = sigmoid(12 * heard - 6): 0.998 heard, 0.002 not
            if pooling == "attention":
                judge.attention.weight.copy_(torch.tensor([[10.0, 0.0]]))
                judge.attention.bias.zero_()
        judge.frame_features = lambda mel: frames  # the CNN's output, fixed
        probs[pooling] = float(judge(torch.zeros(1, 64, 16))[0, 0])
    assert probs["attention"] > 0.99  # e^10 / (4 e^10 + 12) of the weight on each heard step
    assert probs["mean"] < 0.1  # sigmoid(12 * 0.25 - 6)
    with pytest.raises(ValueError, match="pooling"):
        ev.Judge(1, dataclasses.replace(TINY_JUDGE, pooling="max"))


def test_judge_resumes_from_its_checkpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = _cfg(tmp_path, monkeypatch)
    mel, sources = _synthetic(12)
    vocab = ev.build_vocab(sources)
    short = dataclasses.replace(TINY_JUDGE, steps=4, checkpoint_every=2)
    _, h1 = ev.train_judge(cfg, short, mel, sources, vocab, log_every=0)
    state = torch.load(ev.judge_path(cfg), weights_only=False)
    assert state["stage"] == "judge" and state["step"] == 4 and state["extra"]["vocab"] == vocab
    _, h2 = ev.train_judge(cfg, dataclasses.replace(short, steps=6), mel, sources, vocab, log_every=0)
    assert len(h2) == 6 and h2[:4] == h1
    with pytest.raises(ValueError):
        ev.train_judge(cfg, short, mel, [["low"]] * 12, ["low"], log_every=0)


def test_a_judge_still_training_is_not_loaded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A checkpoint written at step 2 of a 6-step run (killed, or still running beside prompt_eval)
    would score rows apart from the finished judge's: load_judge says so; once finished it loads."""
    cfg = _cfg(tmp_path, monkeypatch)
    mel, sources = _synthetic(12)
    vocab = ev.build_vocab(sources)
    planned = dataclasses.replace(TINY_JUDGE, steps=6, checkpoint_every=2)
    ev.train_judge(cfg, dataclasses.replace(planned, steps=2), mel, sources, vocab, log_every=0)
    state = torch.load(ev.judge_path(cfg), weights_only=False)
    state["extra"]["judge_config"]["steps"] = planned.steps  # as the 6-step run writes it at step 2
    torch.save(state, ev.judge_path(cfg))
    with pytest.raises(RuntimeError, match="at step 2 of 6: it is still training"):
        ev.load_judge(ev.judge_path(cfg))
    ev.train_judge(cfg, planned, mel, sources, vocab, log_every=0)
    assert ev.load_judge(ev.judge_path(cfg))[1] == vocab


def test_evaluate_generated_runs_structure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The generated-clip path end to end with a stand-in generator (noise waveforms)."""
    cfg = _cfg(tmp_path, monkeypatch)
    _, sources = _synthetic(12)
    vocab = ev.build_vocab(sources)
    judge = ev.Judge(len(vocab), TINY_JUDGE).eval()
    n, samples = 6, 64 * cfg.audio.hop_length
    real_mel = ev.waves_to_mel(cfg, torch.randn(8, samples, generator=torch.Generator().manual_seed(9)) * 0.1)

    def generate(seed: int) -> torch.Tensor:
        return torch.randn(n, samples, generator=torch.Generator().manual_seed(seed)) * 0.1

    out = ev.evaluate_generated_runs(cfg, judge, vocab, generate, sources[:n], real_mel, seeds=(0, 1, 2))
    assert set(out["summary"]) == {"fad_judge", "fd_mel", "adherence"}
    for fig in out["summary"].values():
        assert len(fig["values"]) == 3 and math.isfinite(fig["mean"]) and fig["ci95"] >= 0


def test_judge_stage_on_a_tiny_real_render(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """12 rendered clips (8 train, 4 test): the stage trains, checkpoints and reports."""
    from soundstep_factory.data import DataConfig, ToolError, render_dataset
    cfg = _cfg(tmp_path, monkeypatch, recipe="tiny")
    try:
        render_dataset(DataConfig(seed=0, num_train=8, num_test=4), cfg.work_dir / "data", workers=2)
    except ToolError as e:
        pytest.skip(f"render tools missing: {e}")
    jcfg = dataclasses.replace(TINY_JUDGE, steps=3, crop_frames=64)
    result = ev.stage_judge(cfg, jcfg, runs=2)
    assert result["num_train"] == 8 and result["num_test"] == 4 and result["runs"] == 2
    summary = result["summary"]
    for key in ("exact_set_accuracy", "macro_f1", "micro_f1", "adherence"):
        assert 0.0 <= summary[key]["mean"] <= 1.0 and len(summary[key]["values"]) == 2
    assert ev.judge_path(cfg, 0).exists() and ev.judge_path(cfg, 1).exists()


def test_prompt_eval_judges_the_prompts_whose_sources_it_knows_and_their_order() -> None:
    from soundstep_factory.prompt_eval import judge_run, summarize
    vocab = ["bell", "dog", "rain"]
    mel = -torch.ones(4, 8, 3)  # (clip, frame, source bin)
    mel[0, :4, 0] = mel[0, 4:, 1] = 1  # bell, then dog
    mel[1, :, 2] = 1  # rain, where a dog was asked for
    mel[2, :, 0] = 1  # a sound the judge has no name for: not counted
    mel[3, 4:, 0] = mel[3, :4, 1] = 1  # "bell then dog" played backwards
    prompts = [{"prompt": "a bell, then a dog", "sources": ["bell", "dog"], "mix": "then"},
               {"prompt": "a dog", "sources": ["dog"], "mix": "single"},
               {"prompt": "a theremin", "sources": []},
               {"prompt": "a bell followed by a dog", "sources": ["bell", "dog"], "order": "speech_second"}]
    run = judge_run((BinJudge(), vocab), prompts, mel)
    assert run["judge_found"] == [True, False, True]  # both heard in clip 3, only in the wrong order
    assert run["judge_order"] == pytest.approx(1 / 2)
    row = summarize(prompts, [{"rms_dbfs": [-20.0] * 4, "speech": [False] * 4, "pairs_ordered": {},
                               "speech_second_half": [], **run}])
    assert row["judge_adherence"] == pytest.approx(2 / 3)
    assert row["judge_order"] == pytest.approx(1 / 2)


def test_prompt_eval_pools_the_pairs_seed_by_seed_and_names_the_pair_that_falls_short() -> None:
    from soundstep_factory.prompt_eval import summarize
    prompts = [{"prompt": p, "sources": ["piano"]} for p in ("a high piano note", "a low piano note")]
    runs = [{"rms_dbfs": [-20.0] * 2, "speech": [False] * 2, "speech_second_half": [],
             "pairs_ordered": {"piano": True, "voice": voice}} for voice in (False, True, False, False)]
    row = summarize(prompts, runs)
    assert row["pairs_ordered"] == pytest.approx(5 / 8)
    assert row["pairs_ordered_by_pair"] == {"piano": 1.0, "voice": 0.25}
