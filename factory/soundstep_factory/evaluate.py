"""The judge, the reconstruction floor, and the evaluation of every denoiser of a pack (Table 1).

Usage: python -m soundstep_factory.evaluate --config small --stage judge|floor|generate|decode|table|seen|captions

The judge is a small multi-label CNN over log-mel (B, frames, mels) trained with BCE on the
rendered train split to name the sources heard in a clip (the vocabulary is every source key in
the clips). Its global-pooled penultimate layer (`JudgeConfig.widths[-1]`, 128-d) is the
embedding used for FAD_judge. Figures:

  judge accuracy  on the real TEST split: exact-set accuracy, macro/micro F1 over sources, and
                  the adherence of real clips (the ceiling a generator can reach with this judge).
  FAD_judge       frechet_distance between judge embeddings of generated and real test clips.
  FD_mel          the same on an independent embedding: per-clip log-mel mean and std over time
                  per mel bin (2 * n_mels = 128-d), no learned weights (`mel_stats_embedding`).
  adherence       fraction of generated clips in which the judge finds every prompted source.

Every figure is reported as the mean of several runs with different seeds and a Student-t 95%
interval (`mean_ci95`). For the judge, a run is a judge trained with seed JudgeConfig.seed + k
(run 0 lives in <work>/judge/checkpoint.pt, run k > 0 in <work>/judge/run<k>/checkpoint.pt).
For generated clips a run is one sampling seed of the generator (stage generate, the pack's own
ONNX graphs with the app's sampler), scored by one fixed judge (stage table).
"""
from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import math
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import scipy.linalg
import scipy.stats
import torch
import torch.nn.functional as F

from . import checkpoint
from .config import PackConfig, cpu_threads, default_out, load_config
from .train import warmup_cosine_lr

torch.set_num_threads(cpu_threads())


# ---------------------------------------------------------------- metrics (pure functions)
def embedding_stats(emb: np.ndarray | torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance of embeddings (N, D): mu = mean_i e_i, C = 1/(N-1) sum (e_i-mu)(e_i-mu)^T."""
    e = np.asarray(emb.detach().cpu().numpy() if isinstance(emb, torch.Tensor) else emb, dtype=np.float64)
    if e.ndim != 2 or e.shape[0] < 2:
        raise ValueError(f"embedding_stats needs (N >= 2, D) embeddings, got {e.shape}")
    return e.mean(axis=0), np.cov(e, rowvar=False)


def frechet_distance(mu1: np.ndarray, cov1: np.ndarray, mu2: np.ndarray, cov2: np.ndarray,
                     eps: float = 1e-6) -> float:
    """Frechet distance between Gaussians N(mu1, C1) and N(mu2, C2) (Dowson & Landau 1982; FID,
    Heusel et al. 2017; FAD, Kilgour et al. 2019):

        d^2 = ||mu1 - mu2||^2 + Tr(C1 + C2 - 2 (C1 C2)^{1/2})

    (C1 C2)^{1/2} comes from scipy.linalg.sqrtm. If it is not finite (singular product, e.g. fewer
    clips than dimensions) eps*I is added to both covariances, as pytorch-fid does. The square
    root of a product of PSD matrices has real eigenvalues; the tiny imaginary part sqrtm returns
    is numerical drift and is dropped (a warning is raised if it is not tiny). The result is
    clamped at 0 (rounding can make identical statistics give -1e-12).
    """
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    c1, c2 = np.atleast_2d(np.asarray(cov1, np.float64)), np.atleast_2d(np.asarray(cov2, np.float64))
    if mu1.shape != mu2.shape or c1.shape != c2.shape or c1.shape != (mu1.size, mu1.size):
        raise ValueError(f"shape mismatch: mu {mu1.shape} {mu2.shape}, cov {c1.shape} {c2.shape}")
    diff = mu1 - mu2
    covmean = scipy.linalg.sqrtm(c1 @ c2)
    if not np.isfinite(covmean).all():
        offset = np.eye(c1.shape[0]) * eps
        covmean = scipy.linalg.sqrtm((c1 + offset) @ (c2 + offset))
    if np.iscomplexobj(covmean):
        imag = np.abs(covmean.imag).max()
        scale = max(1.0, np.abs(covmean.real).max())
        if imag > 1e-3 * scale:
            warnings.warn(f"frechet_distance: sqrtm has an imaginary part of {imag:.3g} (dropped)")
        covmean = covmean.real
    d2 = diff @ diff + np.trace(c1) + np.trace(c2) - 2.0 * np.trace(covmean)
    return float(max(d2, 0.0))


def mel_stats_embedding(mels: np.ndarray | torch.Tensor) -> np.ndarray:
    """The independent embedding for FD_mel: per clip, the mean and std over time of every log-mel
    bin, concatenated: (N, frames, mels) -> (N, 2 * mels). No learned weights."""
    m = torch.as_tensor(mels, dtype=torch.float64)
    if m.ndim != 3:
        raise ValueError(f"expected log-mels (N, frames, mels), got {tuple(m.shape)}")
    return torch.cat([m.mean(dim=1), m.std(dim=1)], dim=1).numpy()


def fd_mel(mels_a: np.ndarray | torch.Tensor, mels_b: np.ndarray | torch.Tensor) -> float:
    """FD_mel = frechet_distance of the Gaussians fitted to mel_stats_embedding of two clip sets."""
    return frechet_distance(*embedding_stats(mel_stats_embedding(mels_a)),
                            *embedding_stats(mel_stats_embedding(mels_b)))


def fad_judge(emb_gen: np.ndarray | torch.Tensor, emb_real: np.ndarray | torch.Tensor) -> float:
    """FAD_judge = frechet_distance of the Gaussians fitted to judge embeddings (N, D) of two sets."""
    return frechet_distance(*embedding_stats(emb_gen), *embedding_stats(emb_real))


def sources_to_targets(sources: Sequence[Sequence[str]], vocab: Sequence[str]) -> torch.Tensor:
    """Multi-hot targets (N, V) from per-clip source lists; a source not in vocab is an error."""
    index = {k: i for i, k in enumerate(vocab)}
    y = torch.zeros(len(sources), len(vocab))
    for n, srcs in enumerate(sources):
        for s in srcs:
            if s not in index:
                raise KeyError(f"source {s!r} is not in the judge's vocabulary")
            y[n, index[s]] = 1.0
    return y


def clips_found(probs: np.ndarray | torch.Tensor, prompted_sources: Sequence[Sequence[str]],
                vocab: Sequence[str], threshold: float = 0.5) -> torch.Tensor:
    """Per clip (N,) bool: the judge finds every prompted source, min_{s in prompted_n} p_n(s) >= threshold.
    probs: (N, V) sigmoid outputs, columns in vocab order. Extra detected sources are not penalised."""
    p = torch.as_tensor(probs, dtype=torch.float64)
    if p.ndim != 2 or p.shape != (len(prompted_sources), len(vocab)):
        raise ValueError(f"probs {tuple(p.shape)} does not match {len(prompted_sources)} prompts x {len(vocab)} sources")
    if len(prompted_sources) == 0:
        raise ValueError("adherence of no clips")
    y = sources_to_targets(prompted_sources, vocab).bool()
    if not y.any(dim=1).all():
        raise ValueError("every prompt needs at least one source")
    return ((p >= threshold) | ~y).all(dim=1)


def adherence(probs: np.ndarray | torch.Tensor, prompted_sources: Sequence[Sequence[str]],
              vocab: Sequence[str], threshold: float = 0.5) -> float:
    """Fraction of clips in which the judge finds every prompted source:
        adherence = 1/N sum_n [ min_{s in prompted_n} p_n(s) >= threshold ]."""
    return float(clips_found(probs, prompted_sources, vocab, threshold).double().mean())


def source_recall(probs: np.ndarray | torch.Tensor, prompted_sources: Sequence[Sequence[str]],
                  vocab: Sequence[str], threshold: float = 0.5) -> dict[str, float]:
    """For each prompted source, the fraction of the clips naming it in which the judge finds it:
    which sounds a model loses, where adherence only says how many clips lose any."""
    p = torch.as_tensor(probs, dtype=torch.float64)
    found: dict[str, list[bool]] = {}
    for n, srcs in enumerate(prompted_sources):
        for s in srcs:
            found.setdefault(s, []).append(bool(p[n, vocab.index(s)] >= threshold))
    return {s: float(np.mean(hits)) for s, hits in sorted(found.items())}


def paired_found(found_a: Sequence[bool], found_b: Sequence[bool]) -> dict:
    """Two models judged on the same clips: the clips only A gets right, only B gets right, and
    McNemar's exact two-sided p-value (a binomial test on those discordant clips), which says
    whether A and B differ by more than the luck of which clips were drawn."""
    if len(found_a) != len(found_b):
        raise ValueError(f"{len(found_a)} against {len(found_b)} clips: not the same clips")
    a_only = sum(bool(a) and not b for a, b in zip(found_a, found_b))
    b_only = sum(bool(b) and not a for a, b in zip(found_a, found_b))
    p = scipy.stats.binomtest(a_only, a_only + b_only, 0.5).pvalue if a_only + b_only else 1.0
    return {"a_only": a_only, "b_only": b_only, "p_value": float(p)}


MIXES = ("single", "while", "then")  # how a clip's sources are combined (data.py)


def adherence_by_mix(probs: np.ndarray | torch.Tensor, prompted_sources: Sequence[Sequence[str]],
                     mixes: Sequence[str], vocab: Sequence[str], threshold: float = 0.5) -> dict:
    """Adherence over the clips of each composition: {"adherence_single", "adherence_while",
    "adherence_then"} (a mix with no clips is left out)."""
    p = torch.as_tensor(probs)
    out = {}
    for mix in MIXES:
        rows = [i for i, m in enumerate(mixes) if m == mix]
        if rows:
            out[f"adherence_{mix}"] = adherence(p[rows], [prompted_sources[i] for i in rows], vocab, threshold)
    return out


def order_adherence(judge: Judge, vocab: Sequence[str], mel: torch.Tensor, prompted_sources: Sequence[Sequence[str]],
                    mixes: Sequence[str], threshold: float = 0.5) -> float | None:
    """Over the "X followed by Y" clips (sources listed in time order, as data.py plans them), the
    fraction in which the judge hears X in the first half only and Y in the second half only:
        order = 1/N sum_n [ p1(X) >= th > p2(X)  and  p2(Y) >= th > p1(Y) ]   (p1, p2: the halves).
    Adherence cannot tell a sequence from the same two sources heard together; this can (on our
    real test clips: 0.77 in order, 0 with the halves swapped or mixed). None when there are no
    such clips. mel: (N, frames, mels)."""
    rows = [i for i, m in enumerate(mixes) if m == "then"]
    if not rows:
        return None
    half = mel.shape[1] // 2
    first, _ = judge_outputs(judge, mel[rows, :half])  # (N, V)
    second, _ = judge_outputs(judge, mel[rows, half:])
    column = {s: j for j, s in enumerate(vocab)}
    x, y = (torch.tensor([[column[prompted_sources[i][k]]] for i in rows]) for k in (0, 1))  # (N, 1)

    def heard(p: torch.Tensor, source: torch.Tensor) -> torch.Tensor:
        return p.gather(1, source)[:, 0] >= threshold

    in_order = heard(first, x) & ~heard(second, x) & heard(second, y) & ~heard(first, y)
    return float(in_order.double().mean())


def mean_ci95(values: Sequence[float]) -> tuple[float, float]:
    """Mean and the half-width of its 95% Student-t interval over n runs:
        mean +- t_{0.975, n-1} * s / sqrt(n),  s = sample std (ddof 1).
    One value gives a half-width of nan (no interval)."""
    v = np.asarray(values, dtype=np.float64)
    if v.size == 0:
        raise ValueError("mean_ci95 of no values")
    mean = float(v.mean())
    if v.size < 2:
        return mean, float("nan")
    half = float(scipy.stats.t.ppf(0.975, v.size - 1) * v.std(ddof=1) / math.sqrt(v.size))
    return mean, half


def summarize_runs(runs: Sequence[dict]) -> dict:
    """{key: {"mean", "ci95", "values"}} over the numeric keys every run has."""
    keys = [k for k in runs[0] if all(isinstance(r.get(k), (int, float)) for r in runs)]
    out = {}
    for k in keys:
        values = [float(r[k]) for r in runs]
        mean, half = mean_ci95(values)
        out[k] = {"mean": mean, "ci95": half, "values": values}
    return out


# ---------------------------------------------------------------- the judge
@dataclass
class JudgeConfig:
    """A small CNN: conv3x3-BN-ReLU-maxpool blocks, global pooling, linear head."""
    widths: tuple[int, ...] = (16, 32, 64, 128)  # the last width is the embedding size
    dropout: float = 0.2
    pooling: str = "attention"  # over time: "attention" (per source) or "mean" (the first judges; see Judge)
    # The judge hears nothing below this mel magnitude (about 60 dB under the loudest clips):
    # rendered clips have digital silence, vocoded ones a faint noise floor, and a judge that
    # tells those apart measures the vocoder's hiss instead of the sources (VGGish: log(mel + 0.01)).
    input_floor: float = 1e-3
    crop_frames: int = 256  # random time crops while training (256 = whole 2.56 s clips); whole clips at evaluation
    gain_db: float = 6.0  # random gain in [-gain_db, gain_db] while training
    # Compositions made on the fly from two single-source clips, so that the judge sees source
    # pairs the data set never renders (the test split's pairs are held out of training):
    compose_prob: float = 0.5  # fraction of each batch replaced by a composition
    background_db: float = 12.0  # the second source of a "while" is up to this much quieter
    steps: int = 3000
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 1e-4
    seed: int = 0
    threshold: float = 0.5
    checkpoint_every: int = 250


class Judge(torch.nn.Module):
    """log-mel (B, frames, mels) -> clip probabilities (B, V); `outputs` also gives the (B, widths[-1])
    embedding (the features' mean over time) that FAD_judge compares.

    The CNN's features are max-pooled over frequency into one vector per time step (B, T', C).
    pooling "attention" decides per time step and lets a per-source attention over time pick the
    steps that count (PANNs' decision-level attention): a source heard in half the clip, as in
    "X followed by Y", weighs fully. pooling "mean" (the first judges) classifies the time-averaged
    features, which dilutes such a source by half."""

    def __init__(self, num_sources: int, jcfg: JudgeConfig, log_floor: float = 1e-5):
        super().__init__()
        if jcfg.pooling not in ("attention", "mean"):
            raise ValueError(f"unknown judge pooling {jcfg.pooling!r}: use 'attention' or 'mean'")
        self.pooling = jcfg.pooling
        self.log_floor = math.log(max(log_floor, jcfg.input_floor))
        layers, c_in = [], 1
        for w in jcfg.widths:
            layers += [torch.nn.Conv2d(c_in, w, 3, padding=1, bias=False), torch.nn.BatchNorm2d(w),
                       torch.nn.ReLU(inplace=True), torch.nn.MaxPool2d(2)]
            c_in = w
        self.input_norm = torch.nn.BatchNorm2d(1)
        self.features = torch.nn.Sequential(*layers)
        self.dropout = torch.nn.Dropout(jcfg.dropout)
        self.head = torch.nn.Linear(c_in, num_sources)  # mean: on the clip; attention: on each time step
        if self.pooling == "attention":
            self.attention = torch.nn.Linear(c_in, num_sources)
        self.embedding_dim = c_in

    def frame_features(self, mel: torch.Tensor) -> torch.Tensor:
        x = self.features(self.input_norm(mel.clamp(min=self.log_floor).unsqueeze(1)))  # (B, C, T', F')
        return x.amax(dim=3).transpose(1, 2)  # (B, T', C): max over frequency (where the energy is)

    def outputs(self, mel: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Clip probabilities (B, V) and the embedding (B, C) from one pass."""
        frames = self.frame_features(mel)  # (B, T', C)
        emb = frames.mean(dim=1)  # (B, C): mean over time (how much of the clip)
        if self.pooling == "mean":
            return torch.sigmoid(self.head(self.dropout(emb))), emb
        frames = self.dropout(frames)
        weights = torch.softmax(self.attention(frames).clamp(-10, 10), dim=1)  # (B, T', V), sums to 1 over time
        return (weights * torch.sigmoid(self.head(frames))).sum(dim=1), emb

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        return self.outputs(mel)[0]


def build_vocab(sources: Sequence[Sequence[str]]) -> list[str]:
    """Every source key seen in the clips, sorted."""
    return sorted({s for srcs in sources for s in srcs})


def judge_path(cfg: PackConfig, run: int = 0) -> Path:
    return cfg.work_dir / "judge" / ("checkpoint.pt" if run == 0 else f"run{run}/checkpoint.pt")


def _augment(mel: torch.Tensor, rows: torch.Tensor, jcfg: JudgeConfig, log_floor: float,
             g: torch.Generator) -> torch.Tensor:
    """Random time crop and gain (in the log-magnitude domain: + ln 10^(dB/20), floored)."""
    crop = min(jcfg.crop_frames, mel.shape[1])
    starts = torch.randint(0, mel.shape[1] - crop + 1, (len(rows),), generator=g)
    x = torch.stack([mel[r, s:s + crop] for r, s in zip(rows.tolist(), starts.tolist())])
    db = (torch.rand(len(rows), 1, 1, generator=g) * 2 - 1) * jcfg.gain_db
    return (x + db * (math.log(10) / 20)).clamp(min=log_floor)


def compose(a: torch.Tensor, b: torch.Tensor, mode: str, param: float, log_floor: float) -> torch.Tensor:
    """Two log-magnitude mels (frames, mels) -> one clip with both sources.

    "while": magnitudes add (phases ignored), b attenuated by `param` dB: log(e^a + e^(b - g));
    "then":  a up to frame `param`, b from there on (the order the "X followed by Y" clips have)."""
    if mode == "while":
        return torch.logaddexp(a, b - param * (math.log(10) / 20)).clamp(min=log_floor)
    if mode == "then":
        cut = int(param)
        return torch.cat([a[:cut], b[cut:]])
    raise ValueError(f"unknown composition {mode!r}: use 'while' or 'then'")


def _compose_batch(mel: torch.Tensor, y: torch.Tensor, singles: torch.Tensor, count: int, jcfg: JudgeConfig,
                   log_floor: float, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """`count` compositions of two single-source clips of different sources, with the union of their labels."""
    frames = mel.shape[1]
    xs, ys = [], []
    while len(xs) < count:
        i, j = singles[torch.randint(0, len(singles), (2,), generator=g)].tolist()
        if torch.equal(y[i], y[j]):
            continue
        if torch.rand((), generator=g) < 0.5:
            x = compose(mel[i], mel[j], "while", float(torch.rand((), generator=g)) * jcfg.background_db, log_floor)
        else:
            cut = frames // 2 + int(torch.randint(-frames // 8, frames // 8 + 1, (), generator=g))
            x = compose(mel[i], mel[j], "then", cut, log_floor)
        xs.append(x)
        ys.append(torch.maximum(y[i], y[j]))
    return torch.stack(xs), torch.stack(ys)


def train_judge(cfg: PackConfig, jcfg: JudgeConfig, mel: torch.Tensor, sources: Sequence[Sequence[str]],
                vocab: Sequence[str], path: Path | None = None, log_every: int = 50) -> tuple[Judge, list[dict]]:
    """Train (or resume) the judge on log-mels (N, frames, mels) with BCE; returns (judge, history).

    history holds one {"step", "loss"} per step. The checkpoint (stage "judge") keeps the vocab and
    the JudgeConfig in "extra", so `load_judge` needs nothing else."""
    path = path or judge_path(cfg)
    torch.manual_seed(jcfg.seed)
    model = Judge(len(vocab), jcfg, cfg.audio.log_floor)
    optimizer = torch.optim.AdamW(model.parameters(), lr=jcfg.lr, weight_decay=jcfg.weight_decay)
    y = sources_to_targets(sources, vocab)
    singles = torch.tensor([i for i, srcs in enumerate(sources) if len(srcs) == 1])
    step, history = 0, []
    state = checkpoint.load(path)
    if state is not None:
        if list(state["extra"].get("vocab", [])) != list(vocab):
            raise ValueError(f"{path} was trained on another source vocabulary; delete it to retrain")
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        step, history = state["step"], state["history"]
        print(f"[judge] resumed at step {step}", flush=True)
    extra = {"vocab": list(vocab), "judge_config": dataclasses.asdict(jcfg)}
    g = torch.Generator().manual_seed(jcfg.seed * 1_000_003 + step)  # resumed runs draw fresh batches
    model.train()
    started = time.time()
    while step < jcfg.steps:
        for group in optimizer.param_groups:
            group["lr"] = warmup_cosine_lr(step, jcfg.steps, jcfg.lr, warmup=50)
        n_compose = int(round(jcfg.batch_size * jcfg.compose_prob)) if len(singles) > 1 else 0
        rows = torch.randint(0, len(mel), (jcfg.batch_size - n_compose,), generator=g)
        x, target = mel[rows], y[rows]
        if n_compose:
            xc, yc = _compose_batch(mel, y, singles, n_compose, jcfg, model.log_floor, g)
            x, target = torch.cat([x, xc]), torch.cat([target, yc])
        x = _augment(x, torch.arange(len(x)), jcfg, model.log_floor, g)
        loss = F.binary_cross_entropy(model(x).clamp(1e-6, 1 - 1e-6), target)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        step += 1
        history.append({"step": step, "loss": loss.item()})
        if log_every and (step % log_every == 0 or step == jcfg.steps):
            recent = np.mean([h["loss"] for h in history[-log_every:]])
            print(f"[judge] step {step}/{jcfg.steps} loss {recent:.4f} "
                  f"({log_every / max(1e-9, time.time() - started):.2f} steps/s)", flush=True)
            started = time.time()
        if step % jcfg.checkpoint_every == 0 or step == jcfg.steps:
            checkpoint.save(path, cfg=cfg, stage="judge", step=step, model=model, optimizer=optimizer,
                            history=history, extra=extra)
    return model.eval(), history


def load_judge(path: Path) -> tuple[Judge, list[str]]:
    """A trained judge (eval mode) and its vocabulary from a checkpoint."""
    state = checkpoint.load(path)
    if state is None:
        raise FileNotFoundError(f"no judge checkpoint at {path}: run --stage judge first")
    extra = state["extra"]
    jfields = {f.name for f in dataclasses.fields(JudgeConfig)}
    jd = {k: (tuple(v) if isinstance(v, list) else v) for k, v in extra["judge_config"].items() if k in jfields}
    jd.setdefault("pooling", "mean")  # judges saved before pooling was configurable
    log_floor = state["config"].get("audio", {}).get("log_floor", 1e-5)
    model = Judge(len(extra["vocab"]), JudgeConfig(**jd), log_floor)
    model.load_state_dict(state["model"])
    return model.eval(), list(extra["vocab"])


@torch.no_grad()
def judge_outputs(judge: Judge, mel: torch.Tensor, batch: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
    """Whole-clip probabilities (N, V) and embeddings (N, D) for log-mels (N, frames, mels)."""
    judge.eval()
    probs, embs = [], []
    for i in range(0, len(mel), batch):
        p, e = judge.outputs(mel[i:i + batch].float())
        probs.append(p)
        embs.append(e)
    return torch.cat(probs), torch.cat(embs)


def judge_accuracy(probs: np.ndarray | torch.Tensor, sources: Sequence[Sequence[str]], vocab: Sequence[str],
                   threshold: float = 0.5) -> dict:
    """Multi-label scores of judge probabilities (N, V) against the true source lists:
      exact_set_accuracy  fraction of clips whose predicted set {s: p >= threshold} equals the truth;
      macro_f1            mean over sources present in the truth of F1 = 2TP / (2TP + FP + FN);
      micro_f1            F1 over all (clip, source) decisions;
      adherence           fraction of clips with every true source found (the real-clip ceiling
                          for the adherence of generated clips)."""
    p = torch.as_tensor(probs, dtype=torch.float64)
    y = sources_to_targets(sources, vocab).bool()
    pred = p >= threshold
    tp, fp, fn = (pred & y).sum(0).double(), (pred & ~y).sum(0).double(), (~pred & y).sum(0).double()
    present = y.any(0)
    f1 = 2 * tp / (2 * tp + fp + fn).clamp(min=1)
    micro = float(2 * tp.sum() / (2 * tp.sum() + fp.sum() + fn.sum()).clamp(min=1))
    return {
        "exact_set_accuracy": float((pred == y).all(1).double().mean()),
        "macro_f1": float(f1[present].mean()) if present.any() else float("nan"),
        "micro_f1": micro,
        "adherence": adherence(p, sources, vocab, threshold),
        "num_clips": len(sources),
        "num_sources": int(present.sum()),
    }


# ---------------------------------------------------------------- real clips
def load_real(cfg: PackConfig) -> dict:
    """Log-mels (N, frames, mels), sources, split and ids of every rendered clip: from
    <work>/features.pt when the features stage has run, else straight from <work>/data."""
    feats_path = cfg.work_dir / "features.pt"
    if feats_path.exists():
        f = torch.load(feats_path, weights_only=False)
        return {"mel": f["mel"], "sources": f["sources"], "split": f["split"], "ids": f["ids"]}
    from .data import load_audio, load_clips
    clips = load_clips(cfg.work_dir / "data")
    wave = torch.stack([torch.from_numpy(load_audio(cfg.work_dir / "data" / c["file"])) for c in clips])
    return {"mel": waves_to_mel(cfg, wave), "sources": [c["sources"] for c in clips],
            "split": [c["split"] for c in clips], "ids": [c["id"] for c in clips]}


def waves_to_mel(cfg: PackConfig, wave: torch.Tensor) -> torch.Tensor:
    """Waveforms (N, S) -> log-mels (N, frames, mels) with the pack's front end."""
    from .mel import MelFrontEnd
    fe = MelFrontEnd(cfg.audio)
    with torch.no_grad():
        return torch.cat([fe(wave[i:i + 64].float()) for i in range(0, len(wave), 64)])


def split_rows(real: dict, split: str) -> dict:
    keep = [i for i, s in enumerate(real["split"]) if s == split]
    return {"mel": real["mel"][keep], "sources": [real["sources"][i] for i in keep],
            "ids": [real["ids"][i] for i in keep]}


def stage_judge(cfg: PackConfig, jcfg: JudgeConfig, runs: int = 1) -> dict:
    """Train (or resume/load) `runs` judges with seeds jcfg.seed + k; score each on the real test split."""
    real = load_real(cfg)
    vocab = build_vocab(real["sources"])
    train, test = split_rows(real, "train"), split_rows(real, "test")
    per_run = []
    for k in range(runs):
        judge, _ = train_judge(cfg, dataclasses.replace(jcfg, seed=jcfg.seed + k), train["mel"],
                               train["sources"], vocab, path=judge_path(cfg, k))
        probs, _ = judge_outputs(judge, test["mel"])
        per_run.append({"seed": jcfg.seed + k, **judge_accuracy(probs, test["sources"], vocab, jcfg.threshold)})
    result = {"stage": "judge", "recipe": cfg.recipe, "runs": runs, "vocab_size": len(vocab),
              "num_train": len(train["sources"]), "num_test": len(test["sources"]),
              "judge_config": dataclasses.asdict(jcfg),
              "summary": summarize_runs([{k: v for k, v in r.items() if k not in ("seed", "num_clips", "num_sources")}
                                         for r in per_run]),
              "per_run": per_run}
    (cfg.work_dir / "judge" / "report.json").write_text(json.dumps(result, indent=1) + "\n")
    return result


# ---------------------------------------------------------------- generated clips
def evaluate_generated(cfg: PackConfig, judge: Judge, vocab: Sequence[str], wave: torch.Tensor,
                       prompted_sources: Sequence[Sequence[str]], real_test_mel: torch.Tensor,
                       threshold: float = 0.5) -> dict:
    """One run: generated waveforms (N, S) for prompts naming `prompted_sources`, scored against the
    real test clips' log-mels: {"fad_judge", "fd_mel", "adherence"}."""
    return score_mels(judge, vocab, waves_to_mel(cfg, wave), prompted_sources, real_test_mel, threshold)


def score_mels(judge: Judge, vocab: Sequence[str], mel: torch.Tensor, prompted_sources: Sequence[Sequence[str]],
               real_mel: torch.Tensor, threshold: float = 0.5, mixes: Sequence[str] | None = None) -> dict:
    """FAD_judge, FD_mel and adherence of clips given as log-mels (N, frames, mels) against real ones;
    with `mixes` (each clip's composition), adherence per composition and the order of sequences too."""
    probs, emb = judge_outputs(judge, mel.float())
    _, emb_real = judge_outputs(judge, real_mel.float())
    by_mix = {}
    if mixes is not None:
        by_mix = adherence_by_mix(probs, prompted_sources, mixes, vocab, threshold)
        order = order_adherence(judge, vocab, mel.float(), prompted_sources, mixes, threshold)
        if order is not None:
            by_mix["order_then"] = order
    return {"fad_judge": fad_judge(emb, emb_real), "fd_mel": fd_mel(mel.float(), real_mel.float()),
            "adherence": adherence(probs, prompted_sources, vocab, threshold), **by_mix}


def evaluate_generated_runs(cfg: PackConfig, judge: Judge, vocab: Sequence[str],
                            generate: Callable[[int], torch.Tensor], prompted_sources: Sequence[Sequence[str]],
                            real_test_mel: torch.Tensor, seeds: Sequence[int] = (0, 1, 2, 3, 4),
                            threshold: float = 0.5) -> dict:
    """Every figure as the mean over sampling seeds with a 95% interval. generate(seed) returns the
    waveforms (N, S) for the N prompts whose sources are `prompted_sources` (in the same order)."""
    per_run = [{"seed": s, **evaluate_generated(cfg, judge, vocab, generate(s), prompted_sources,
                                                 real_test_mel, threshold)} for s in seeds]
    return {"summary": summarize_runs([{k: v for k, v in r.items() if k != "seed"} for r in per_run]),
            "per_run": per_run}


@dataclass
class EvalConfig:
    """What the table's runs generate (the paper's Table 1: 5 runs, mean and 95% interval)."""
    runs: int = 5  # sampling seeds 0 .. runs-1
    num_prompts: int = 100  # the first test clips' captions (their order is random at render time)
    batch_size: int = 50
    examples: int = 4  # waveforms kept per run, for the report's pictures


def eval_dir(cfg: PackConfig) -> Path:
    return cfg.work_dir / "eval"


def test_prompts(cfg: PackConfig, ecfg: EvalConfig, split: str = "test") -> dict:
    """The first prompts of a split (the held-out test split unless told) and their real clips:
    captions, sources, mixes (single/while/then, from the data set's captions.jsonl; None without
    it), wave (P, S), mel (P, frames, mels), and the VAE posterior means (P, C, T, F) (unscaled)
    for the reconstruction floor."""
    f = torch.load(cfg.work_dir / "features.pt", weights_only=False)
    latents_path = cfg.work_dir / "latents.pt"  # absent before the latents stage (stage_vae needs none)
    lat = torch.load(latents_path, weights_only=False)["latents"] if latents_path.exists() else None
    rows = [i for i, s in enumerate(f["split"]) if s == split][: ecfg.num_prompts]
    if not rows:
        raise ValueError(f"no {split!r} clips in {cfg.work_dir / 'features.pt'}")
    ids = [f["ids"][i] for i in rows]
    mixes = None
    if (cfg.work_dir / "data" / "captions.jsonl").exists():
        from .data import load_clips
        mix_of = {c["id"]: c["mix"] for c in load_clips(cfg.work_dir / "data")}
        mixes = [mix_of[i] for i in ids]
    return {"captions": [f["captions"][i] for i in rows], "sources": [f["sources"][i] for i in rows],
            "mixes": mixes, "ids": ids, "wave": f["wave"][rows], "mel": f["mel"][rows],
            "latents": None if lat is None else lat[rows]}


def reconstruction_errors(cfg: PackConfig, wave: torch.Tensor, real_wave: torch.Tensor, real_mel: torch.Tensor) -> dict:
    """mel_l1: mean |log-mel(wave) - log-mel(real)|; mrstft: the vocoder's multi-resolution STFT loss."""
    from .train import stft_loss
    mel = waves_to_mel(cfg, wave)
    with torch.no_grad():
        mrstft = float(np.mean([float(stft_loss(wave[i:i + 32].float(), real_wave[i:i + 32].float()))
                                for i in range(0, len(wave), 32)]))
    return {"mel_l1": float((mel - real_mel).abs().mean()), "mrstft": mrstft}


def stage_floor(cfg: PackConfig, ecfg: EvalConfig, pack_dir: Path) -> dict:
    """The reconstruction floor: real test clips through the pack's vocoder alone, and through
    mel -> VAE latent -> VAE decoder -> vocoder; no generator can beat the second."""
    from .generate import PackRunner
    judge, vocab = load_judge(judge_path(cfg))
    real = test_prompts(cfg, ecfg)
    runner = PackRunner(pack_dir)
    paths = {
        "vocoder": lambda: runner.vocode(real["mel"].numpy()),
        "vae+vocoder": lambda: np.concatenate([runner.vocode(runner.decode_mel(real["latents"][i:i + 32].numpy()))
                                               for i in range(0, len(real["latents"]), 32)]),
    }
    score = functools.partial(score_mels, judge, vocab, prompted_sources=real["sources"], real_mel=real["mel"],
                              mixes=real["mixes"])
    out = {"stage": "floor", "num_prompts": len(real["captions"]), "real": score(real["mel"])}
    if real["mixes"] is not None:
        out["mix_counts"] = {m: real["mixes"].count(m) for m in MIXES}
    # The VAE alone, judged on its decoded log-mel (no audio): the floor of the mel-domain columns.
    vae_mel = torch.from_numpy(np.concatenate([runner.decode_mel(real["latents"][i:i + 32].numpy())[:, 0]
                                               for i in range(0, len(real["latents"]), 32)]))
    out["vae (mel)"] = {"mel_l1": float((vae_mel - real["mel"]).abs().mean()),
                        **score(vae_mel)}
    for name, make in paths.items():
        wave = torch.from_numpy(make())
        out[name] = {**reconstruction_errors(cfg, wave, real["wave"], real["mel"]),
                     **score(waves_to_mel(cfg, wave))}
        print(f"[floor] {name}: {json.dumps(out[name])}", flush=True)
    (eval_dir(cfg)).mkdir(parents=True, exist_ok=True)
    (eval_dir(cfg) / "floor.json").write_text(json.dumps(out, indent=1) + "\n")
    return out


def stage_vae(cfg: PackConfig, ecfg: EvalConfig, against: str | None = None) -> dict:
    """The floor a VAE recipe sets before any teacher is trained on its latents: the first test
    clips' log-mels through the recipe's encoder (posterior mean) and the decoder the pack would
    ship (vae-decoder when the recipe trains one), judged like generated log-mels, by composition.
    The same measurement as the floor stage's "vae (mel)" row, from checkpoints instead of a pack,
    so VAE recipes can be compared at the cost of training a VAE, not a teacher. `against`: another
    recipe whose vae.json to compare with clip by clip (paired_found; this recipe is A)."""
    from .models import build_vae
    from .train import vae_stage
    judge, vocab = load_judge(judge_path(cfg))
    real = test_prompts(cfg, ecfg)
    encoder = checkpoint.load_trained(cfg, "vae", build_vae(cfg))
    decoder = encoder if vae_stage(cfg) == "vae" else checkpoint.load_trained(cfg, vae_stage(cfg), build_vae(cfg))
    mel = real["mel"].float().unsqueeze(1)  # (P, 1, frames, mels)
    with torch.no_grad():
        recon = torch.cat([decoder.decode(encoder.encode(mel[i:i + 32]).latent_dist.mean).sample[:, 0]
                           for i in range(0, len(mel), 32)])  # (P, frames, mels)
    score = functools.partial(score_mels, judge, vocab, prompted_sources=real["sources"], real_mel=real["mel"],
                              mixes=real["mixes"])
    probs = {"real": judge_outputs(judge, real["mel"].float())[0], "vae (mel)": judge_outputs(judge, recon)[0]}
    out = {"stage": "vae", "recipe": cfg.recipe, "vae": dataclasses.asdict(cfg.vae),
           "num_prompts": len(real["captions"]), "real": score(real["mel"]),
           "vae (mel)": {"mel_l1": float((recon - real["mel"]).abs().mean()), **score(recon)},
           "source_recall": {k: source_recall(p, real["sources"], vocab) for k, p in probs.items()},
           # per clip, so two recipes can be compared clip by clip (paired) on the same test clips
           "clip_ids": real["ids"],
           "found": {k: clips_found(p, real["sources"], vocab).tolist() for k, p in probs.items()}}
    if against is not None:
        other = json.loads((eval_dir(load_config(against)) / "vae.json").read_text())
        if other["clip_ids"] != out["clip_ids"]:
            raise ValueError(f"{against}'s vae.json judged other clips: run it with the same --prompts")
        out["paired"] = {"against": against, **paired_found(out["found"]["vae (mel)"], other["found"]["vae (mel)"])}
    eval_dir(cfg).mkdir(parents=True, exist_ok=True)
    (eval_dir(cfg) / "vae.json").write_text(json.dumps(out, indent=1) + "\n")
    return out


def generated_path(cfg: PackConfig, denoiser: str, steps: int, seed: int) -> Path:
    return eval_dir(cfg) / "generated" / f"{denoiser}-{steps}" / f"seed{seed}.pt"


def generate_run(cfg: PackConfig, ecfg: EvalConfig, runner, denoiser: str, steps: int, seed: int,
                 real: dict | None = None) -> Path:
    """Generate the test prompts with one denoiser, step count and seed; cached (a rerun skips it).
    Keeps the log-mels of the vocoded audio (float16), timing, and a few waveforms. `real` is
    test_prompts(cfg, ecfg), passed in by callers that generate many runs (it reads features.pt)."""
    from .generate import Timing
    path = generated_path(cfg, denoiser, steps, seed)
    if path.exists():
        return path
    real = real or test_prompts(cfg, ecfg)
    timing = Timing()
    z0 = sample_latents(ecfg, runner, denoiser, steps, real["captions"], seed, timing)
    started = time.perf_counter()
    decoded = decode_run(cfg, ecfg, runner, z0)
    timing.decode_s += time.perf_counter() - started
    path.parent.mkdir(parents=True, exist_ok=True)
    # z0 is kept so that a new VAE decoder or vocoder can be judged without sampling again (--stage decode).
    torch.save({"denoiser": denoiser, "steps": steps, "seed": seed, "guidance": runner.guidance_for(denoiser),
                "captions": real["captions"], "z0": torch.from_numpy(z0), **decoded,
                "timing": dataclasses.asdict(timing)}, path)
    print(f"[generated] {denoiser} N={steps} seed {seed}: {timing.clips} clips, "
          f"{(timing.denoise_s + timing.decode_s) / timing.clips:.3f} s/clip", flush=True)
    return path


def sample_latents(ecfg: EvalConfig, runner, denoiser: str, steps: int, captions: Sequence[str], seed: int,
                   timing) -> np.ndarray:
    """Scaled latents (P, C, T, F) for the captions, sampled in batches from seed's noise (the
    denoiser's own guidance: the teacher's scale, none for students)."""
    from .generate import noise_for
    hidden, mask = runner.encode(list(captions))
    noise = noise_for(seed, len(hidden), runner.latent_shape)
    guidance = runner.guidance_for(denoiser)
    return np.concatenate([runner.sample(denoiser, steps, hidden[i:i + ecfg.batch_size], mask[i:i + ecfg.batch_size],
                                         noise[i:i + ecfg.batch_size], guidance, timing)
                           for i in range(0, len(hidden), ecfg.batch_size)])


def decoders_id(runner) -> str:
    """Which VAE decoder and vocoder turned latents into audio: their files' SHA-256, shortened."""
    files = runner.manifest["files"]
    return "+".join(files[runner.manifest[k]["file"]]["sha256"][:12] for k in ("vae_decoder", "vocoder"))


def vae_log_mel(runner, z0: np.ndarray, batch: int = 32) -> np.ndarray:
    """Scaled latents (P, C, T, F) -> the VAE decoder's log-mel (P, 1, frames, mels), in batches."""
    return np.concatenate([runner.decode_mel(z0[i:i + batch] / runner.latent["scale"]) for i in range(0, len(z0), batch)])


def decode_run(cfg: PackConfig, ecfg: EvalConfig, runner, z0: np.ndarray) -> dict:
    """Scaled latents (P, C, T, F) -> the VAE's log-mel, the audio's log-mel and a few waveforms."""
    vae_mel = vae_log_mel(runner, z0)
    wave = torch.from_numpy(np.concatenate([runner.vocode(vae_mel[i:i + 32]) for i in range(0, len(z0), 32)]))
    return {"mel": waves_to_mel(cfg, wave).half(), "vae_mel": torch.from_numpy(vae_mel[:, 0]).half(),
            "examples": wave[: ecfg.examples].clone(), "decoders": decoders_id(runner)}


def redecode_runs(cfg: PackConfig, ecfg: EvalConfig, pack_dir: Path) -> list[str]:
    """Decode every stored run's z0 again with the pack's current VAE decoder and vocoder (no sampling)."""
    from .generate import PackRunner
    runner = PackRunner(pack_dir)
    done = []
    for path in sorted((eval_dir(cfg) / "generated").glob("*/seed*.pt")):
        run = torch.load(path, weights_only=False)
        if run.get("decoders") == decoders_id(runner):
            continue
        run.update(decode_run(cfg, ecfg, runner, run["z0"].numpy()))
        torch.save(run, path)
        done.append(str(path))
        print(f"[decode] {path.parent.name} {path.stem}", flush=True)
    return done


def score_decoded(judge: Judge, vocab: Sequence[str], decoded: dict, real: dict) -> dict:
    """The figures of decoded clips (decode_run's "mel" and "vae_mel") against the real clips of the
    same prompts: on the audio, and with the suffix _vae_mel on the VAE decoder's log-mel."""
    score = functools.partial(score_mels, judge, vocab, prompted_sources=real["sources"], real_mel=real["mel"],
                              mixes=real["mixes"])
    return {**score(decoded["mel"]), **{f"{k}_vae_mel": v for k, v in score(decoded["vae_mel"]).items()}}


def score_run(judge: Judge, vocab: Sequence[str], run: dict, real: dict) -> dict:
    """The figures of one stored run (a generate_run file, loaded)."""
    t = run["timing"]
    return {"seed": run["seed"], **score_decoded(judge, vocab, run, real),
            "seconds_per_clip": (t["denoise_s"] + t["decode_s"]) / t["clips"],
            "nfe": t["network_evaluations_per_clip"]}


def stage_table(cfg: PackConfig, ecfg: EvalConfig) -> dict:
    """Score every generated run in <work>/eval/generated with the judge: one row per (denoiser, steps)."""
    judge, vocab = load_judge(judge_path(cfg))
    real = test_prompts(cfg, ecfg)
    rows, decoders = [], set()
    for folder in sorted((eval_dir(cfg) / "generated").glob("*-*")):
        runs = sorted(folder.glob("seed*.pt"))
        if not runs:
            continue
        denoiser, steps = folder.name.rsplit("-", 1)
        loaded = [torch.load(p, weights_only=False) for p in runs]
        per_run = [score_run(judge, vocab, run, real) for run in loaded]
        decoders.update(run.get("decoders") for run in loaded)
        rows.append({"denoiser": denoiser, "steps": int(steps), "runs": len(per_run),
                     **summarize_runs([{k: v for k, v in r.items() if k != "seed"} for r in per_run])})
    if len(decoders) > 1:
        raise RuntimeError(f"the runs were decoded by different VAE decoders or vocoders ({sorted(map(str, decoders))}): "
                           "run --stage decode first")
    out = {"stage": "table", "num_prompts": len(real["captions"]), "decoders": decoders.pop() if decoders else None,
           "rows": rows}
    (eval_dir(cfg) / "table.json").write_text(json.dumps(out, indent=1) + "\n")
    return out


def stage_seen(cfg: PackConfig, ecfg: EvalConfig, pack_dir: Path, steps: int = 50) -> dict:
    """Seen or unseen captions: the guided teacher on the first prompts of the training split and of
    the test split (same count, same seeds), each scored against the real clips of its own prompts.
    If the teacher's adherence relative to the real clips' is as low on training prompts as on test
    prompts, it fails to follow captions it was trained on (capacity, training), not new pairs."""
    from .generate import PackRunner, Timing
    judge, vocab = load_judge(judge_path(cfg))
    runner = PackRunner(pack_dir)
    out = {"stage": "seen", "denoiser": "teacher", "steps": steps, "num_prompts": ecfg.num_prompts,
           "runs": ecfg.runs, "splits": {}}
    for split in ("train", "test"):
        real = test_prompts(cfg, ecfg, split)
        per_run = []
        for seed in range(ecfg.runs):
            z0 = sample_latents(ecfg, runner, "teacher", steps, real["captions"], seed, Timing())
            per_run.append(score_decoded(judge, vocab, decode_run(cfg, ecfg, runner, z0), real))
            print(f"[seen] {split} seed {seed}: adherence {per_run[-1]['adherence']:.3f}", flush=True)
        out["splits"][split] = {"real": score_mels(judge, vocab, real["mel"], real["sources"], real["mel"],
                                                   mixes=real["mixes"]),
                                "teacher": summarize_runs(per_run)}
    eval_dir(cfg).mkdir(parents=True, exist_ok=True)
    (eval_dir(cfg) / "seen.json").write_text(json.dumps(out, indent=1) + "\n")
    return out


CAPTION_TIMESTEPS = tuple(range(49, 1000, 100))  # 49, 149, ..., 949: every noise level, none at the ends


def stage_captions(cfg: PackConfig, split: str = "test", timesteps: Sequence[int] = CAPTION_TIMESTEPS,
                   batch: int = 50, seed: int = 0) -> dict:
    """How much the teacher listens to the caption, without sampling or a judge: its v-prediction
    error on the split's clips (same noise, same timesteps) given each clip's own caption, the
    unconditional "" prompt, and the next clip's caption. A teacher that ignores the text has all
    three equal; `caption_gain` = 1 - own / empty is the share of its error the caption removes.
    Cheap (forward passes of the PyTorch teacher), so teacher recipes can be compared early."""
    from . import sampling
    from .checkpoint import load_diffusion_set
    from .models import build_unet

    data = load_diffusion_set(cfg, split)
    x0, hidden, mask = data["x0"], data["hidden"], data["mask"]  # (N, C, T, F), (N, L, H), (N, L)
    unet = checkpoint.load_trained(cfg, "teacher", build_unet(cfg, hidden.shape[-1]))
    other = torch.roll(torch.arange(len(x0)), 1)
    conditions = {"own": (hidden, mask), "other": (hidden[other], mask[other]),
                  "empty": (data["uncond_hidden"].expand_as(hidden), data["uncond_mask"].expand_as(mask))}
    abar = sampling.alphas_cumprod().float()
    g = torch.Generator().manual_seed(seed)
    mse = {name: [] for name in conditions}  # per timestep
    for t in timesteps:
        eps = torch.randn(x0.shape, generator=g)
        alpha, sigma = (a.view(-1, 1, 1, 1) for a in sampling.alpha_sigma(abar, torch.full((len(x0),), t)))
        z, target = sampling.q_sample(x0, eps, alpha, sigma), sampling.v_target(x0, eps, alpha, sigma)
        steps = torch.full((len(x0),), t)
        for name, (h, m) in conditions.items():
            with torch.no_grad():
                v = torch.cat([unet(z[i:i + batch], steps[i:i + batch], encoder_hidden_states=h[i:i + batch],
                                    encoder_attention_mask=m[i:i + batch]).sample for i in range(0, len(x0), batch)])
            mse[name].append(float(F.mse_loss(v, target)))
    mean = {name: float(np.mean(values)) for name, values in mse.items()}
    out = {"stage": "captions", "split": split, "clips": len(x0), "timesteps": list(timesteps),
           "teacher_step": checkpoint.load(cfg.work_dir / "teacher" / "checkpoint.pt")["step"],
           "v_mse": mse, "mean_v_mse": mean,
           "caption_gain": 1 - mean["own"] / mean["empty"], "wrong_caption_gain": 1 - mean["own"] / mean["other"]}
    eval_dir(cfg).mkdir(parents=True, exist_ok=True)
    (eval_dir(cfg) / f"captions-{split}.json").write_text(json.dumps(out, indent=1) + "\n")
    return out


STAGES = ("judge", "floor", "vae", "generate", "decode", "table", "seen", "captions")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="small")
    ap.add_argument("--stage", choices=STAGES, required=True)
    ap.add_argument("--runs", type=int, default=None, help="judge: judges trained with seeds seed..seed+runs-1; "
                    "generate: sampling seeds 0..runs-1 (default 1 judge, 5 seeds)")
    ap.add_argument("--steps", type=int, default=None, help="judge: override JudgeConfig.steps")
    ap.add_argument("--seed", type=int, default=None, help="judge: override JudgeConfig.seed")
    ap.add_argument("--pack", type=Path, default=None, help="pack folder (default: the recipe's)")
    ap.add_argument("--denoiser", action="append", help="generate: a denoiser id of the pack (repeatable; default all)")
    ap.add_argument("--sampling-steps", type=int, action="append",
                    help="generate: step counts (repeatable; default: every count the denoiser supports); "
                    "seen: the teacher's step count (default 50)")
    ap.add_argument("--prompts", type=int, default=None, help="override EvalConfig.num_prompts")
    ap.add_argument("--against", default=None, help="vae: another recipe to compare with clip by clip")
    args = ap.parse_args(argv)
    cfg = load_config(args.config)
    ecfg = EvalConfig()
    if args.prompts is not None:
        ecfg = dataclasses.replace(ecfg, num_prompts=args.prompts)
    pack_dir = args.pack or default_out(cfg)
    if args.stage == "judge":
        jcfg = JudgeConfig()
        if args.steps is not None:
            jcfg = dataclasses.replace(jcfg, steps=args.steps)
        if args.seed is not None:
            jcfg = dataclasses.replace(jcfg, seed=args.seed)
        result = stage_judge(cfg, jcfg, runs=args.runs or 1)
    elif args.stage == "floor":
        result = stage_floor(cfg, ecfg, pack_dir)
    elif args.stage == "vae":
        result = stage_vae(cfg, ecfg, against=args.against)
        result = {k: v for k, v in result.items() if k not in ("clip_ids", "found")}  # per clip: in vae.json
    elif args.stage == "generate":
        from .generate import PackRunner
        runner = PackRunner(pack_dir)
        real, done = test_prompts(cfg, ecfg), []
        for entry in runner.manifest["denoisers"]:
            if args.denoiser and entry["id"] not in args.denoiser:
                continue
            for n in entry["steps"]:
                if args.sampling_steps and n not in args.sampling_steps:
                    continue
                for seed in range(args.runs or ecfg.runs):
                    done.append(str(generate_run(cfg, ecfg, runner, entry["id"], n, seed, real)))
        result = {"stage": "generate", "runs": done}
    elif args.stage == "decode":
        result = {"stage": "decode", "runs": redecode_runs(cfg, ecfg, pack_dir)}
    elif args.stage == "captions":
        result = stage_captions(cfg)
        result = {k: v for k, v in result.items() if k != "v_mse"}
    elif args.stage == "seen":
        result = stage_seen(cfg, ecfg, pack_dir, steps=(args.sampling_steps or [50])[0])
    else:
        result = stage_table(cfg, ecfg)
    print(json.dumps(result, indent=1, default=str))

if __name__ == "__main__":
    main()
