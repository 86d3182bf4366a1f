"""The iSTFT vocoder's fixed parts: the synthesis is an exact inverse STFT, accumulated phase
advances give steady tones at any frequency, the mel prior keeps a flat spectrum's level; and
the reason it exists: a HiFi-GAN generator answers a steady mel with a hop-periodic signal."""
import math

import torch

from soundstep_factory.config import AudioConfig, PackConfig, VocoderConfig
from soundstep_factory.mel import MelFrontEnd, mel_filters
from soundstep_factory.vocoder import IstftVocoder, build_vocoder, group_delay_loss, mel_to_linear, phase_advance_loss

AUDIO = AudioConfig()
SR, HOP = AUDIO.sample_rate, AUDIO.hop_length


def vocoder(n_fft: int = 512) -> IstftVocoder:
    torch.manual_seed(0)
    return IstftVocoder(mel_filters(AUDIO, n_fft), HOP, channels=8, blocks=1, noise_frames=16).eval()


def tones(samples: int, *freqs_amps: tuple[float, float]) -> torch.Tensor:
    n = torch.arange(samples, dtype=torch.float64)
    return sum(a * torch.sin(2 * math.pi * f * n / SR + i) for i, (f, a) in enumerate(freqs_amps)).float()


def test_overlap_add_is_torch_istft():
    v = vocoder()
    frames = 40
    x = torch.randn(1, frames * HOP, generator=torch.Generator().manual_seed(1))
    window = torch.hann_window(v.n_fft)
    spec = torch.stft(x, v.n_fft, HOP, window=window, center=True, return_complex=True)[:, :, :frames]
    ours = v.overlap_add(spec.real, spec.imag)
    theirs = torch.istft(spec, v.n_fft, HOP, window=window, center=True, length=frames * HOP)
    assert ours.shape == (1, frames * HOP)
    # the last N/2 samples miss the frames past the end that istft had; the rest is the signal itself
    inner = slice(0, (frames * HOP) - v.n_fft // 2)
    assert torch.allclose(ours[:, inner], theirs[:, inner], atol=1e-5)
    assert torch.allclose(ours[:, inner], x[:, inner], atol=1e-5)


def test_accumulated_phase_advances_make_steady_tones_off_the_hop_grid():
    """953 Hz and 317.3 Hz are not multiples of sample_rate / hop = 100 Hz. Given the real
    magnitudes and frame-to-frame phase advances (not the phases), the synthesis starts each bin
    at phase 0 and still makes both tones at their frequencies and levels."""
    v = vocoder()
    frames = 64
    x = tones(frames * HOP + v.n_fft, (953.0, 0.5), (317.3, 0.2))
    spec = v.analysis(x.unsqueeze(0), frames)  # (1, bins, frames)
    advance = torch.angle(spec[:, :, 1:] * spec[:, :, :-1].conj())
    advance = torch.cat([advance[:, :, :1], advance], dim=2)
    y = v.synthesize(spec.abs().clamp(min=1e-9).log(), advance)[0]
    ref = x[v.n_fft // 2: v.n_fft // 2 + frames * HOP]
    inner = slice(v.n_fft, frames * HOP - v.n_fft)
    assert abs(float(y[inner].pow(2).mean().sqrt() / ref[inner].pow(2).mean().sqrt()) - 1) < 0.02
    spectrum = torch.fft.rfft(y[inner] * torch.hann_window(len(y[inner])), n=SR).abs()  # 1 Hz bins
    peaks = sorted(torch.topk(spectrum, 40).indices.tolist())
    assert any(abs(p - 953) <= 1 for p in peaks) and any(abs(p - 317) <= 1 for p in peaks)
    assert float(spectrum[953]) > 2 * float(spectrum[317]) > 0  # amplitudes 0.5 vs 0.2


def test_mel_prior_returns_a_flat_spectrum_at_its_level():
    filters = mel_filters(AUDIO, 512)  # (257, 64)
    flat = torch.full((1, 257), 3.0)
    back = (mel_to_linear(filters) @ (flat @ filters).T).T  # |X| -> mel -> |X|
    covered = filters.sum(1) > 0  # bins under some mel band (0 and 8 kHz edges are not)
    assert torch.allclose(back[0, covered], torch.full_like(back[0, covered], 3.0), rtol=1e-5)


def test_hifigan_answers_a_steady_mel_with_a_hop_periodic_signal():
    """Why the pack does not use SpeechT5HifiGan: any strided-convolution generator maps a mel
    that repeats every frame to a waveform that repeats every hop samples."""
    cfg = PackConfig(vocoder=VocoderConfig(architecture="hifigan", upsample_initial_channel=16))
    torch.manual_seed(0)
    hifigan = build_vocoder(cfg).eval()
    steady = torch.randn(1, 1, AUDIO.n_mels).expand(1, 48, AUDIO.n_mels).contiguous()
    with torch.no_grad():
        y = hifigan(steady)[0]
    inner = y[16 * HOP: 32 * HOP]
    assert float(inner.abs().max()) > 0
    assert torch.allclose(inner[HOP:], inner[:-HOP], atol=1e-6 * float(inner.abs().max()) + 1e-7)
    shifted = y[16 * HOP + 1: 32 * HOP + 1]  # not periodic at other lags
    assert not torch.allclose(inner, shifted, atol=1e-3 * float(inner.abs().max()))


def test_training_learns_a_steady_tone_off_the_hop_grid():
    """The training loss teaches the vocoder a 953 Hz tone from its mel alone: at its level (a
    trained SpeechT5HifiGan made such a beep at 1/100 of it) and at its own frequency, not on the
    100 Hz grid (900 or 1000 Hz) a hop-periodic generator is held to."""
    from soundstep_factory.vocoder import training_loss
    v = vocoder().train()
    fe = MelFrontEnd(AUDIO)
    frames = 24
    context = tones(frames * HOP + v.n_fft, (953.0, 0.4)).unsqueeze(0)  # (1, T * hop + N)
    wave = context[:, v.n_fft // 2: v.n_fft // 2 + frames * HOP]
    mel = fe(wave)  # (1, T, mels)
    optimizer = torch.optim.Adam(v.parameters(), lr=1e-3)
    for _ in range(200):
        loss, logs = training_loss(v, fe, mel, wave, context)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        y = v.eval()(mel)[0]
    inner = slice(v.n_fft, frames * HOP - v.n_fft)
    ratio = float(y[inner].pow(2).mean().sqrt() / wave[0, inner].pow(2).mean().sqrt())
    spectrum = torch.fft.rfft(y[inner] * torch.hann_window(len(y[inner])), n=SR).abs()  # 1 Hz bins
    assert 0.5 < ratio < 1.5, ratio
    assert abs(int(spectrum.argmax()) - 953) < 25, int(spectrum.argmax())
    assert logs["phase_advance"] < 0.3, logs  # 1 - cos of the advance error, magnitude-weighted


def test_group_delay_loss_is_zero_on_real_phases_and_sees_bins_that_drift_apart():
    v = vocoder()
    frames = 16
    x = tones(frames * HOP + v.n_fft, (953.0, 0.5), (317.3, 0.2))
    real = v.analysis(x.unsqueeze(0), frames)  # (1, bins, frames)
    assert float(group_delay_loss(torch.angle(real), real)) < 1e-6
    # the same frame-to-frame rotation in every bin (phase_advance_loss cannot tell), but each bin
    # started at its own phase: the lobes' bins no longer add up
    drift = 2 * math.pi * torch.rand(1, real.shape[1], 1, generator=torch.Generator().manual_seed(0))
    assert float(group_delay_loss(torch.angle(real) + drift, real)) > 0.5


def test_phase_advance_loss_over_longer_lags_sees_drift_that_frame_to_frame_hides():
    v = vocoder()
    frames = 32
    x = tones(frames * HOP + v.n_fft, (953.0, 0.5), (317.3, 0.2))
    real = v.analysis(x.unsqueeze(0), frames)  # (1, bins, frames)
    true_advance = torch.angle(real[:, :, 1:] * real[:, :, :-1].conj())
    advance = torch.cat([torch.zeros_like(real[:, :, :1].real), true_advance], dim=2)  # frame 0 has no advance
    lags = (1, 2, 4, 8, 16)
    assert float(phase_advance_loss(advance, real, lags=lags)) < 1e-5
    # a steady 0.1 rad per frame: nearly free frame to frame (1 - cos 0.1 = 0.005), but 1.6 rad
    # after 16 frames, which is what the accumulated phase plays
    off = advance + 0.1
    one, many = float(phase_advance_loss(off, real)), float(phase_advance_loss(off, real, lags=lags))
    assert abs(one - (1 - math.cos(0.1))) < 1e-4, one
    expected = sum(1 - math.cos(0.1 * lag) for lag in lags) / len(lags)
    assert abs(many - expected) < 1e-3, (many, expected)
    assert many > 20 * one
