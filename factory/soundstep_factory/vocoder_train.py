"""The vocoder's training stages: "vocoder" (the whole vocoder, from scratch) and "vocoder-low"
(low_band.py: a refiner of the trained iSTFT vocoder's low-band phase advances, the vocoder frozen).
"vocoder-gan" (gan.py) fine-tunes with discriminators instead. train.py runs them as its stages.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .checkpoint import load_features, load_trained
from .config import PackConfig
from .vocoder import STFT_RESOLUTIONS, build_vocoder, stft_magnitudes, training_loss


def vocoder_stage(cfg: PackConfig) -> str:
    """The checkpoint the pack's vocoder comes from."""
    if cfg.vocoder.gan_steps > 0:
        return "vocoder-gan"
    return "vocoder-low" if cfg.vocoder.low_band_steps > 0 else "vocoder"


def stft_loss(pred: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """Multi-resolution STFT loss (spectral convergence + log magnitude), as Parallel WaveGAN."""
    terms = []
    for p, r in stft_magnitudes(pred, real):
        p, r = p.clamp(min=1e-7), r.clamp(min=1e-7)
        terms.append(torch.linalg.norm(p - r) / torch.linalg.norm(r) + (p.log() - r.log()).abs().mean())
    return torch.stack(terms).sum() / len(STFT_RESOLUTIONS)


def training_clips(cfg: PackConfig, mel_fe: torch.nn.Module, pitched: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The training split's waveforms (N, S) and log-mels (N, frames, mels), with `pitched` clips of
    tones.pitched_clips (sines, harmonic tones, chords) added."""
    feats = load_features(cfg)
    wave, mel = feats["wave"], feats["mel"]
    if pitched > 0:
        from .tones import pitched_clips
        extra = torch.from_numpy(pitched_clips(pitched, cfg.audio.clip_seconds, cfg.audio.sample_rate,
                                               seed=cfg.data.seed)).to(wave.dtype)  # (P, S)
        with torch.no_grad():
            extra_mel = torch.cat([mel_fe(extra[i:i + 64]) for i in range(0, len(extra), 64)])
        wave, mel = torch.cat([wave, extra]), torch.cat([mel, extra_mel.to(mel.dtype)])
    return wave, mel


def segment_loss(cfg: PackConfig, wave: torch.Tensor, mel: torch.Tensor, mel_fe: torch.nn.Module,
                 n_fft: int | None):
    """loss_fn(model, generator) for train.run_loop: a batch of random segment_frames-long segments.
    An iSTFT vocoder (n_fft given) gets vocoder.training_loss, with n_fft / 2 samples of context each
    side so segment frames are the whole clip's frames; "hifigan" multi-resolution STFT + mel L1."""
    from .train import _batch
    v = cfg.vocoder
    seg, hop = v.segment_frames, cfg.audio.hop_length
    if n_fft is not None:
        context = n_fft // 2
        padded = F.pad(wave.unsqueeze(1), (context, context), mode="reflect").squeeze(1)  # (N, S + n_fft)

    def loss_fn(model, g):
        rows = _batch(len(mel), v.batch_size, g)
        starts = torch.randint(0, mel.shape[1] - seg + 1, (len(rows),), generator=g)
        m = torch.stack([mel[r, s:s + seg] for r, s in zip(rows, starts)])  # (B, seg, mels)
        w = torch.stack([wave[r, s * hop:(s + seg) * hop] for r, s in zip(rows, starts)])  # (B, seg*hop)
        if n_fft is not None:
            w_context = torch.stack([padded[r, s * hop:(s + seg) * hop + 2 * context] for r, s in zip(rows, starts)])
            return training_loss(model, mel_fe, m, w, w_context, v.phase_weight_power, v.phase_weight_prediction,
                                 v.group_delay_weight, v.phase_lags)
        pred = model(m)  # (B, seg*hop)
        mel_l1 = (mel_fe(pred) - mel_fe(w)).abs().mean()
        return stft_loss(pred, w) + mel_l1, {"mel_l1": mel_l1.item()}

    return loss_fn


def train_vocoder(cfg: PackConfig) -> None:
    """Random segments of the training clips. "hifigan": multi-resolution STFT + mel L1 on the
    waveform. "istft": mel L1 and spectral convergence on the waveform, plus direct targets for
    its two heads from the real STFT: compressed magnitudes and frame-to-frame phase advances."""
    from .mel import MelFrontEnd
    from .train import run_loop

    torch.manual_seed(cfg.data.seed)  # the same initial weights in every run, as the teacher's
    vocoder = build_vocoder(cfg, calibrated=False, refined=False)
    mel_fe = MelFrontEnd(cfg.audio)
    wave, mel = training_clips(cfg, mel_fe, cfg.vocoder.pitched_clips)
    n_fft = vocoder.n_fft if cfg.vocoder.architecture == "istft" else None
    run_loop(cfg, "vocoder", vocoder, cfg.vocoder.steps, cfg.vocoder.lr, segment_loss(cfg, wave, mel, mel_fe, n_fft))


def train_vocoder_low(cfg: PackConfig) -> None:
    """The "vocoder" stage's trained vocoder, frozen, with low_band.py's refiner trained on it by the
    same losses (only the refiner's weights move); its checkpoint holds both."""
    from .mel import MelFrontEnd
    from .train import run_loop

    if cfg.vocoder.low_band_steps <= 0:
        raise SystemExit("--stage vocoder-low: this recipe has no low-band stage (vocoder.low_band_steps is 0)")
    torch.manual_seed(cfg.data.seed)
    model = build_vocoder(cfg, calibrated=False)
    load_trained(cfg, "vocoder", model.vocoder)
    mel_fe = MelFrontEnd(cfg.audio)
    wave, mel = training_clips(cfg, mel_fe, cfg.vocoder.low_band_pitched_clips)
    run_loop(cfg, "vocoder-low", model, cfg.vocoder.low_band_steps, cfg.vocoder.low_band_lr,
             segment_loss(cfg, wave, mel, mel_fe, model.n_fft))
