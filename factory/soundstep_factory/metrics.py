"""The evaluation's figures as pure functions of embeddings, probabilities and seeds' results.

Notation (code name: symbol, shape):
  emb, e_i       judge embeddings (N, D), or mel_stats_embedding of log-mels (N, 2 * mels)
  mu, C          mean (D,) and covariance (D, D) of an embedding set (embedding_stats)
  probs, p_n(s)  the judge's sigmoid probabilities (N, V), columns in vocab order
  vocab          every source key the judge names (V of them)
  prompted_n     the sources prompt n names; y (N, V) their multi-hot targets
  th             the detection threshold (JudgeConfig.threshold, 0.5)

  FAD_judge   frechet_distance between judge embeddings of generated and real test clips.
  FD_mel      the same on an independent embedding: per-clip log-mel mean and std over time
              per mel bin (2 * n_mels = 128-d), no learned weights (`mel_stats_embedding`).
  adherence   fraction of generated clips in which the judge finds every prompted source.
  mean_ci95   every figure is the mean of several runs with a Student-t 95% interval.
"""
from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np
import scipy.linalg
import scipy.stats
import torch


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
            warnings.warn(f"frechet_distance: sqrtm has an imaginary part of {imag:.3g} (dropped)", stacklevel=2)
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
