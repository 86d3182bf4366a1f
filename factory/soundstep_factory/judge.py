"""The judge: a small multi-label CNN over log-mel (B, frames, mels), trained with BCE on the
rendered train split to name the sources heard in a clip (the vocabulary is every source key in
the clips). Its global-pooled penultimate layer (`JudgeConfig.widths[-1]`, 128-d) is the embedding
used for FAD_judge; `score_mels` turns its outputs into the evaluation's figures (metrics.py).

A run of the judge is one trained with seed JudgeConfig.seed + k (run 0 lives in
<work>/judge/checkpoint.pt, run k > 0 in <work>/judge/run<k>/checkpoint.pt).
"""
from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from . import checkpoint
from .config import PackConfig
from .metrics import adherence, adherence_by_mix, fad_judge, fd_mel, sources_to_targets
from .train import warmup_cosine_lr


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
    xs: list[torch.Tensor] = []
    ys: list[torch.Tensor] = []
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
        n_compose = round(jcfg.batch_size * jcfg.compose_prob) if len(singles) > 1 else 0
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
    planned = extra["judge_config"].get("steps")
    if planned is not None and state["step"] < planned:  # a judge halfway would score rows apart from the rest
        raise RuntimeError(f"the judge at {path} is at step {state['step']} of {planned}: it is still training, or "
                           "was stopped; finish it (python -m soundstep_factory.evaluate --stage judge) before scoring")
    jfields = {f.name for f in dataclasses.fields(JudgeConfig)}
    jd: dict = {k: (tuple(v) if isinstance(v, list) else v) for k, v in extra["judge_config"].items() if k in jfields}
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
