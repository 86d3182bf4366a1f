"""How loud the vocoder plays a clip against the clip itself, and the gain that calibrates it.

Usage: python -m soundstep_factory.vocoder_level --config small-next-voc2 [--clips 400] [--test-clips 100]

The iSTFT vocoders trained here play real clips about 1 dB below the clips' own RMS (docs/listening.md):
frames whose phases disagree partly cancel in the overlap-add, and no loss ties the output's level to
the clip's. Issue 17's floor (no known prompt below -35 dBFS) is missed by less than that. Measured
(2026-12-05): the loss sits in steady tones (beeps 3 dB, marimba 0.1 dB), so the shipped vocoder's
calibrated 0.88 dB lifted every known free-form clip above -35 dBFS but made the rest of the spectrum too
loud (FD_mel +5-6 on every Table 1 row); no shipped recipe sets the gain. The gap is a figure of the phase.

This measures the gap on training clips (the calibration) and on the first test clips (the check): per
clip, real RMS dB minus vocoded RMS dB, through the pack's front end, with the recipe's vocoder as it
would ship (its VocoderConfig.output_gain_db included). It prints the median gaps and the
output_gain_db that closes the training clips' gap; write that into the recipe, then ship_graph.
Clips under SILENT_DBFS are left out: a near-silent clip's level says nothing about the vocoder.
"""
from __future__ import annotations

import argparse
import json

import numpy as np
import torch

from . import ears
from .config import PackConfig, load_config

SILENT_DBFS = -60.0


def level_gap_db(real: np.ndarray, vocoded: np.ndarray, silent_dbfs: float = SILENT_DBFS) -> np.ndarray:
    """(N, samples) real clips and their vocoded copies -> (n,) real minus vocoded RMS in dB, for the
    clips whose real level is above silent_dbfs. Positive: the vocoder plays quieter."""
    real_db, vocoded_db = ears.rms_dbfs(real), ears.rms_dbfs(vocoded)
    audible = real_db > silent_dbfs
    return (real_db - vocoded_db)[audible]


def vocode_waves(cfg: PackConfig, vocoder: torch.nn.Module, wave: torch.Tensor, batch: int = 16) -> np.ndarray:
    """Waveforms (N, S) -> the pack's log-mel -> vocoder -> waveforms (N, S)."""
    from .eval_data import waves_to_mel
    with torch.no_grad():
        return torch.cat([vocoder(waves_to_mel(cfg, wave[i:i + batch])) for i in range(0, len(wave), batch)]).numpy()


def calibrated_gain_db(current_gain_db: float, train_gaps: np.ndarray) -> float:
    """The output_gain_db that closes the median training gap, to 0.01 dB (the recipe's precision)."""
    return round(current_gain_db + float(np.median(train_gaps)), 2)


def summary(gaps: np.ndarray) -> dict:
    return {"clips": len(gaps), "median_db": round(float(np.median(gaps)), 3),
            "mean_db": round(float(np.mean(gaps)), 3),
            "p10_p90_db": [round(float(q), 3) for q in np.percentile(gaps, [10, 90])]}


def main(argv: list[str] | None = None) -> None:
    from .checkpoint import load_features
    from .eval_data import EvalConfig, test_prompts
    from .pitch_net import shipped_vocoder
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", required=True, help="the recipe whose trained vocoder is measured")
    ap.add_argument("--clips", type=int, default=400, help="training clips for the calibration")
    ap.add_argument("--test-clips", type=int, default=100, help="first test clips for the check")
    args = ap.parse_args(argv)
    cfg = load_config(args.config)
    vocoder = shipped_vocoder(cfg).eval()
    train_wave = load_features(cfg)["wave"][:args.clips]  # (N, S)
    test_wave = test_prompts(cfg, EvalConfig(num_prompts=args.test_clips))["wave"]
    train_gaps = level_gap_db(train_wave.numpy(), vocode_waves(cfg, vocoder, train_wave))
    test_gaps = level_gap_db(test_wave.numpy(), vocode_waves(cfg, vocoder, test_wave))
    print(json.dumps({"recipe": args.config, "output_gain_db": cfg.vocoder.output_gain_db,
                      "train": summary(train_gaps), "test": summary(test_gaps),
                      "calibrated_output_gain_db": calibrated_gain_db(cfg.vocoder.output_gain_db, train_gaps)},
                     indent=1))


if __name__ == "__main__":
    main()
