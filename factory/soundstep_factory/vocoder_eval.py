"""Which vocoder keeps what a listener hears: every candidate on the real test clips, in one table.

Usage: python -m soundstep_factory.vocoder_eval --config small [--pack public/models/soundstep-small]
           [--recipes voc-pitch ...] [--snapshots FILE ...] [--prompts 200] [--no-judge]

Candidates, each a function log-mel (N, frames, mels) -> waveform (N, samples):
  pack:<dir>      a pack's vocoder.onnx, run by onnxruntime as the app runs it
  griffin-lim     no training: the mel's pseudo-inverse, clamped at 0, then 64 Griffin-Lim
                  iterations (torchaudio) at the front end's STFT size
  tonal-prior:<r> no training: recipe r's vocoder trusting its tonal prior alone
  <recipe>        a recipe's trained vocoder checkpoint (float32, before export)
  <dir> step <n>  a generator gpu_vocoder.py sent back from a lent GPU (--snapshots)
  --harmonic r    recipe r's vocoder with the harmonic path of its pitch net (harmonic.py,
                  pitch_net.py), at each --voiced-db threshold (default: the recipe's)
  --decompose r   recipe r's vocoder with its magnitudes or phases swapped for the real clip's or
                  for phase locking: which of the two loses the pitch (phase_oracles.py)

Figures per candidate, against each test clip's real waveform (ears.py for the definitions):
V/UV F1, raw pitch accuracy, periodicity error (torchcrepe), speech presence (silero-vad, real
clips' rate beside it), mel L1, multi-resolution STFT error, the level lost (the median of real
minus vocoded RMS dB, vocoder_level.py), the judge's adherence and FAD_judge
(when <work>/judge exists), and the tone test (tones.py). Written to <work>/eval/vocoders.json.
"""
from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from . import ears, tones
from .config import PackConfig, default_out, load_config
from .phase_oracles import decomposition
from .vocoder import IstftVocoder
from .vocoder_level import level_gap_db

Vocode = Callable[[np.ndarray], np.ndarray]


def pack_vocoder(pack_dir: Path) -> Vocode:
    from .generate import PackRunner
    runner = PackRunner(pack_dir)
    return lambda mel: runner.vocode(mel.astype(np.float32))


def griffin_lim_vocoder(cfg: PackConfig, iterations: int = 64) -> Vocode:
    """The phase-reconstruction baseline: no weights, the mel's magnitudes spread back to linear
    bins by the filterbank's pseudo-inverse, then Griffin-Lim (torchaudio)."""
    import torchaudio

    from .mel import mel_filters

    a = cfg.audio
    inverse = torch.linalg.pinv(mel_filters(a))  # (mels, bins): |X| ~ mel @ pinv

    def vocode(mel: np.ndarray) -> np.ndarray:
        magnitude = (torch.from_numpy(mel).float().exp() @ inverse).clamp(min=0).transpose(1, 2)  # (N, bins, T)
        # The front end drops center=True's last frame (mel.py); the STFT of T * hop samples has T + 1.
        magnitude = torch.cat([magnitude, magnitude[:, :, -1:]], dim=2)
        with torch.no_grad():
            gl = torchaudio.transforms.GriffinLim(n_fft=a.n_fft, hop_length=a.hop_length, win_length=a.win_length,
                                                  power=1.0, n_iter=iterations, rand_init=False,
                                                  length=mel.shape[1] * a.hop_length)
            return gl(magnitude).numpy()

    return vocode


def torch_vocoder(model: torch.nn.Module) -> Vocode:
    """A PyTorch vocoder (float32, before export) as a Vocode."""
    def vocode(mel: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return model(torch.from_numpy(mel).float()).numpy()

    return vocode


def tonal_prior_vocoder(recipe: str) -> Vocode:
    """The recipe's vocoder untrained, trusting its tonal prior alone (tonal_prior.py)."""
    from .vocoder import build_vocoder
    return torch_vocoder(build_vocoder(load_config(recipe)).trust_tonal_prior().eval())


def trained_vocoder(recipe: str) -> torch.nn.Module:
    """The recipe's trained vocoder checkpoint, in eval mode."""
    from .checkpoint import load_trained
    from .train import vocoder_stage
    from .vocoder import build_vocoder
    cfg = load_config(recipe)
    return load_trained(cfg, vocoder_stage(cfg), build_vocoder(cfg)).eval()


def harmonic_vocoders(recipe: str, thresholds: list[float]) -> dict[str, Vocode]:
    """The recipe's iSTFT vocoder with the harmonic path of its pitch net, per voicing threshold."""
    from .harmonic import HarmonicVocoder
    from .pitch_net import load_pitch_net
    cfg = load_config(recipe)
    istft, pitch = trained_vocoder(recipe), load_pitch_net(cfg)
    return {f"{Path(recipe).stem} + harmonic >= {db:g} dB": torch_vocoder(
        HarmonicVocoder(istft, pitch, cfg.audio.sample_rate, db).eval())
        for db in thresholds or [cfg.vocoder.harmonic_voiced_db]}


def snapshot_vocoder(cfg: PackConfig, file: Path) -> tuple[str, Vocode]:
    """A generator that gpu_vocoder.py sent back (a snapshot of its run) as the recipe's vocoder,
    named by its run's folder and its step."""
    from .vocoder import build_vocoder
    snapshot = torch.load(file, weights_only=False)
    vocoder = build_vocoder(cfg)
    vocoder.load_state_dict(snapshot["generator"])
    return f"{file.parent.name} step {snapshot['step']}", torch_vocoder(vocoder.eval())


def checkpoint_vocoder(recipe: str) -> Vocode:
    """The recipe's trained vocoder checkpoint."""
    return torch_vocoder(trained_vocoder(recipe))


def through_mel(cfg: PackConfig, vocode: Vocode) -> Vocode:
    """wave -> the pack's log-mel -> vocoder -> wave: how a vocoder is scored."""
    from .evaluate import waves_to_mel
    return lambda wave: vocode(waves_to_mel(cfg, torch.from_numpy(wave)).numpy())


def score_resynthesis(cfg: PackConfig, resynth, real: dict, reference: ears.Pitch, judge=None) -> dict:
    """Every figure of one candidate, a waveform -> waveform function (a vocoder through the front
    end, `through_mel`, or an oracle of phase_oracles.py), on the real clips `real` (test_prompts'
    dict, 16 at a time) and the tone test's sines."""
    from .evaluate import reconstruction_errors, score_mels, waves_to_mel
    wave = torch.from_numpy(np.concatenate([resynth(real["wave"][i:i + 16].numpy().astype(np.float32))
                                            for i in range(0, len(real["wave"]), 16)]))
    out = {**reconstruction_errors(cfg, wave, real["wave"], real["mel"]),
           **ears.listen(wave.numpy(), [ears.speech_group(s) for s in real["sources"]], reference),
           "level_gap_db": float(np.median(level_gap_db(real["wave"].numpy(), wave.numpy())))}
    if judge is not None:
        model, vocab = judge
        judged = score_mels(model, vocab, waves_to_mel(cfg, wave), real["sources"], real["mel"])
        out.update(adherence=judged["adherence"], fad_judge=judged["fad_judge"])
    results = tones.tone_test(resynth)
    out["tones_passed"] = sum(r.passed for r in results)
    out["tones"] = [{"expected_hz": r.expected_hz, "found_hz": r.found_hz, "sideband_db": round(r.sideband_db, 1),
                     "passed": r.passed} for r in results]
    return out


COLUMNS = ("vuv_f1", "raw_pitch_accuracy", "periodicity_error", "speech_present[speaking]", "mel_l1", "mrstft",
           "level_gap_db", "adherence", "fad_judge", "tones_passed")


def markdown(rows: dict[str, dict]) -> str:
    head = "| vocoder | " + " | ".join(COLUMNS) + " |\n|---|" + "---|" * len(COLUMNS) + "\n"
    fmt = lambda v: "" if v is None else (f"{v:.3f}" if isinstance(v, float) else str(v))
    return head + "".join(f"| {name} | " + " | ".join(fmt(r.get(c)) for c in COLUMNS) + " |\n"
                          for name, r in rows.items())


def main(argv: list[str] | None = None) -> None:
    from .evaluate import EvalConfig, eval_dir, judge_path, load_judge, test_prompts
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="small", help="the recipe whose test clips (and judge) are used")
    ap.add_argument("--pack", type=Path, action="append", help="a pack folder (repeatable); default: the recipe's")
    ap.add_argument("--recipes", nargs="*", default=[], help="recipes whose trained vocoder checkpoints compete")
    ap.add_argument("--snapshots", type=Path, nargs="*", default=[],
                    help="generators gpu_vocoder.py sent back, each named <folder> step <n> in the table")
    ap.add_argument("--tonal-prior", nargs="*", default=[], help="recipes whose untrained tonal prior competes")
    ap.add_argument("--harmonic", nargs="*", default=[], help="recipes whose vocoder plays with its pitch net's harmonics")
    ap.add_argument("--voiced-db", type=float, nargs="*", default=[], help="--harmonic: voicing thresholds to compare")
    ap.add_argument("--no-baselines", action="store_true", help="skip Griffin-Lim and the packs' vocoders")
    ap.add_argument("--decompose", nargs="*", default=[],
                    help="recipes whose trained vocoder is taken apart: magnitudes vs phases (phase_oracles.py)")
    ap.add_argument("--prompts", type=int, default=100)
    ap.add_argument("--no-judge", action="store_true")
    args = ap.parse_args(argv)
    cfg = load_config(args.config)
    real = test_prompts(cfg, EvalConfig(num_prompts=args.prompts))
    reference = ears.crepe_pitch(real["wave"].numpy())
    judge = None if args.no_judge or not judge_path(cfg).exists() else load_judge(judge_path(cfg))
    candidates: dict[str, Vocode] = {} if args.no_baselines else {"griffin-lim": griffin_lim_vocoder(cfg)}
    for pack in [] if args.no_baselines else args.pack or [default_out(cfg)]:
        candidates[f"pack:{pack.name}"] = pack_vocoder(pack)
    for recipe in args.tonal_prior:
        candidates[f"tonal-prior:{Path(recipe).stem}"] = tonal_prior_vocoder(recipe)
    for recipe in args.recipes:
        candidates[recipe] = checkpoint_vocoder(recipe)
    for file in args.snapshots:
        name, vocode = snapshot_vocoder(cfg, file)
        candidates[name] = vocode
    for recipe in args.harmonic:
        candidates.update(harmonic_vocoders(recipe, args.voiced_db))
    real_row = ears.listen(real["wave"].numpy(), [ears.speech_group(s) for s in real["sources"]], reference,
                           pitch=reference)
    rows = {"real clips": real_row}
    resyntheses = {name: through_mel(cfg, vocode) for name, vocode in candidates.items()}
    for recipe in args.decompose:
        vocoder = trained_vocoder(recipe)
        if not isinstance(vocoder, IstftVocoder):
            raise SystemExit(f"--decompose {recipe}: its vocoder has no magnitudes and phases to swap (an iSTFT "
                             f"vocoder has; this one is {type(vocoder).__name__})")
        resyntheses.update(decomposition(cfg, vocoder, Path(recipe).stem))
    for name, resynth in resyntheses.items():
        rows[name] = score_resynthesis(cfg, resynth, real, reference, judge)
        print(f"[vocoders] {name}: " + json.dumps({c: rows[name].get(c) for c in COLUMNS}), flush=True)
    eval_dir(cfg).mkdir(parents=True, exist_ok=True)
    (eval_dir(cfg) / "vocoders.json").write_text(json.dumps({"num_clips": len(real["ids"]), "rows": rows}, indent=1) + "\n")
    print(markdown(rows))


if __name__ == "__main__":
    main()
