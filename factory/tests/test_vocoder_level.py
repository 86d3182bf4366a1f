"""The vocoder's level calibration: the gap is real minus vocoded RMS dB, the gain scales the
waveform by exactly that many dB, and the calibrated gain closes the median gap it was measured on."""
import math

import numpy as np
import pytest
import torch

from soundstep_factory.config import PackConfig, VocoderConfig
from soundstep_factory.vocoder import IstftVocoder, build_vocoder
from soundstep_factory.vocoder_level import calibrated_gain_db, level_gap_db, vocode_waves

CFG = PackConfig(vocoder=VocoderConfig(channels=8, blocks=1))
SR = CFG.audio.sample_rate


def sines(amplitudes: list[float], hz: float = 440.0, seconds: float = 0.64) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return np.stack([a * np.sin(2 * np.pi * hz * t) for a in amplitudes]).astype(np.float32)


def test_level_gap_is_real_minus_vocoded_db_and_skips_silent_clips():
    real = sines([0.5, 0.2, 1e-5])  # the last is at -103 dBFS: silent
    vocoded = sines([0.25, 0.2, 1e-7])
    gaps = level_gap_db(real, vocoded)
    assert gaps.shape == (2,)
    assert gaps[0] == pytest.approx(20 * math.log10(2), abs=1e-4)
    assert gaps[1] == pytest.approx(0.0, abs=1e-4)


def vocoder_with_gain(gain_db: float) -> IstftVocoder:
    cfg = PackConfig(vocoder=VocoderConfig(channels=8, blocks=1, output_gain_db=gain_db))
    torch.manual_seed(0)
    model = build_vocoder(cfg)
    assert isinstance(model, IstftVocoder)
    return model.eval()


def test_gain_scales_the_waveform_by_its_decibels():
    log_mel = torch.randn(2, 40, CFG.audio.n_mels, generator=torch.Generator().manual_seed(3)) - 4
    with torch.no_grad():
        plain, doubled = vocoder_with_gain(0.0)(log_mel), vocoder_with_gain(20 * math.log10(2))(log_mel)
    assert plain.abs().max() > 1e-4  # something to scale
    assert torch.allclose(doubled, 2 * plain, rtol=1e-4, atol=1e-7)


def test_calibrated_gain_closes_the_median_gap():
    rng = np.random.default_rng(0)
    real = torch.from_numpy(sines([0.5, 0.3, 0.1, 0.05]) + 0.01 * rng.standard_normal((4, int(0.64 * SR))).astype(np.float32))
    before = level_gap_db(real.numpy(), vocode_waves(CFG, vocoder_with_gain(0.0), real))
    assert abs(np.median(before)) > 1.0  # an untrained vocoder is far off: the test calibrates something
    gain = calibrated_gain_db(0.0, before)
    after = level_gap_db(real.numpy(), vocode_waves(CFG, vocoder_with_gain(gain), real))
    assert np.median(after) == pytest.approx(0.0, abs=0.01)
    assert np.allclose(after, before - gain, atol=1e-3)  # one gain for every clip: the spread stays


def test_only_the_istft_vocoder_takes_a_gain():
    cfg = PackConfig(vocoder=VocoderConfig(architecture="hifigan", output_gain_db=1.0))
    with pytest.raises(ValueError, match="output_gain_db"):
        build_vocoder(cfg)


def test_training_builds_the_vocoder_without_its_calibration():
    cfg = PackConfig(vocoder=VocoderConfig(channels=8, blocks=1, output_gain_db=3.0))
    trained_on, shipped = build_vocoder(cfg, calibrated=False), build_vocoder(cfg)
    assert isinstance(trained_on, IstftVocoder) and isinstance(shipped, IstftVocoder)
    assert trained_on.log_gain == 0.0
    assert shipped.log_gain == pytest.approx(3.0 * math.log(10) / 20)
