"""The harmonic path of the vocoder (harmonic.py) and its pitch net (pitch_net.py): the oscillator
bank plays the asked-for partials, bin energy becomes the right amplitude and leaves the iSTFT,
every test sine comes back from its true magnitudes and f0, harmonicity tells a tone from noise,
a pitch net learns pitches from log-mels, and the whole vocoder exports to ONNX unchanged."""
import numpy as np
import onnxruntime as ort
import torch

from soundstep_factory import tones
from soundstep_factory.config import AudioConfig
from soundstep_factory.graphs import log_mel_relative_error
from soundstep_factory.harmonic import (
    HarmonicVocoder,
    harmonic_amplitudes,
    harmonic_bank,
    harmonic_bins,
    harmonicity_db,
    notch,
)
from soundstep_factory.mel import MelFrontEnd, mel_filters
from soundstep_factory.phase_oracles import real_stft
from soundstep_factory.pitch_net import TINY, PitchConfig, PitchNet, hz_to_bin, pitch_loss
from soundstep_factory.vocoder import IstftVocoder

AUDIO = AudioConfig()
SR, HOP = AUDIO.sample_rate, AUDIO.hop_length


def istft() -> IstftVocoder:
    torch.manual_seed(0)
    return IstftVocoder(mel_filters(AUDIO, 512), HOP, channels=8, blocks=1, noise_frames=16).eval()


def peak_hz(wave: np.ndarray) -> float:
    freqs, db = tones.spectrum_db(wave)
    return float(freqs[np.argmax(db)])


def test_the_bank_plays_each_harmonic_at_its_amplitude_and_frequency():
    frames = 64
    f0 = torch.full((1, frames), 220.0)
    amplitudes = torch.zeros(1, 4, frames)
    amplitudes[0, 2] = 0.5  # the third harmonic alone: 660 Hz
    wave = harmonic_bank(f0, amplitudes, HOP, SR)[0].numpy()
    assert wave.shape == (frames * HOP,)
    assert abs(peak_hz(wave) - 660) < 3
    assert abs(wave[2000:].max() - 0.5) < 0.01


def test_bin_energy_becomes_the_sines_amplitude_and_leaves_the_rest():
    v = istft()
    for hz, amplitude in ((200.0, 0.3), (1234.5, 0.8)):
        wave = torch.from_numpy(tones.sine((hz,), 0.64, peak=amplitude)).float().unsqueeze(0)
        magnitude = real_stft(v, wave).abs()
        f0 = torch.full(magnitude[:, 0].shape, hz)
        taken, k = harmonic_bins(f0, torch.ones_like(f0, dtype=torch.bool), magnitude.shape[1], SR)
        found = harmonic_amplitudes(magnitude, taken, k)[0, 0, 8:-8]  # inside the clip (the ends are reflected)
        assert torch.allclose(found, torch.full_like(found, amplitude), rtol=0.05), (hz, found.min(), found.max())
        rest = notch(magnitude.clamp(min=1e-6).log(), taken).exp()
        assert float(rest[:, :, 8:-8].square().sum() / magnitude[:, :, 8:-8].square().sum()) < 1e-3


def harmonic_resynthesis(wave: np.ndarray) -> np.ndarray:
    """The true magnitudes of `wave` and its true f0: the test sine nearest its strongest partial."""
    v = istft()
    w = torch.from_numpy(wave).float()
    with torch.no_grad():
        magnitude = real_stft(v, w).abs()
        hz = [min(tones.TEST_SINES_HZ, key=lambda f: abs(f - peak_hz(row))) for row in wave]
        f0 = torch.tensor(hz).view(-1, 1).expand(-1, magnitude.shape[2])
        voiced = harmonicity_db(magnitude, f0, SR) > 6
        taken, k = harmonic_bins(f0, voiced, magnitude.shape[1], SR)
        return harmonic_bank(f0, harmonic_amplitudes(magnitude, taken, k), HOP, SR).numpy()


def test_every_test_sine_comes_back_from_its_magnitudes_and_f0():
    results = [r for r in tones.tone_test(harmonic_resynthesis) if len(r.expected_hz) == 1]
    assert len(results) == 12 and all(r.passed for r in results), [(r.expected_hz, r.found_hz, r.sideband_db)
                                                                    for r in results]


def test_harmonicity_tells_a_harmonic_tone_from_noise():
    v = istft()
    t = np.arange(int(0.64 * SR)) / SR
    buzz = sum(np.sin(2 * np.pi * 150 * k * t) / k for k in range(1, 12))
    noise = np.random.default_rng(0).standard_normal(len(t))
    magnitude = real_stft(v, torch.from_numpy(np.stack([buzz, noise])).float()).abs()
    db = harmonicity_db(magnitude, torch.full(magnitude[:, 0].shape, 150.0), SR)[:, 8:-8]
    assert float(db[0].min()) > 20 and float(db[1].abs().max()) < 6, db.mean(1)


def test_a_pitch_net_learns_pitches_from_log_mels():
    """Sines at five pitches, 200 Adam steps of the tiny net: every frame within 50 cents."""
    torch.manual_seed(0)
    pitches = (110.0, 196.0, 330.0, 587.0, 1046.0)
    front = MelFrontEnd(AUDIO)
    with torch.no_grad():
        mel = front(torch.from_numpy(np.stack([tones.sine((hz,), 0.64) for hz in pitches])).float())
    f0 = torch.tensor(pitches).view(-1, 1).expand(-1, mel.shape[1])
    pcfg = PitchConfig(channels=32, blocks=1)
    net = PitchNet(AUDIO.n_mels, pcfg)
    optimizer = torch.optim.Adam(net.parameters(), lr=3e-3)
    for _ in range(200):
        loss = pitch_loss(net.logits(mel), f0, torch.ones_like(f0), pcfg)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        cents = 1200 * torch.log2(net(mel) / f0)
    assert float(cents.abs().max()) < 50, cents.abs().amax(1)
    assert abs(float(hz_to_bin(torch.tensor(100.0), pcfg)) - 60) < 1e-4  # one octave above 50 Hz: 1200 cents


def test_the_harmonic_vocoder_exports_to_onnx_unchanged(tmp_path):
    model = HarmonicVocoder(istft(), PitchNet(AUDIO.n_mels, TINY).eval(), SR, voiced_db=-100.0).eval()
    log_mel = torch.randn(2, 32, AUDIO.n_mels) - 2
    with torch.no_grad():
        expected = model(log_mel).numpy()
        harmonic, _ = model.parts(log_mel)
    assert float(harmonic.abs().max()) > 0 and expected.shape == (2, 32 * HOP)
    path = tmp_path / "harmonic.onnx"
    torch.onnx.export(model, (log_mel,), path, input_names=["log_mel"], output_names=["waveform"],
                      dynamic_axes={"log_mel": {0: "B", 1: "T"}, "waveform": {0: "B", 1: "S"}}, opset_version=17)
    got = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"log_mel": log_mel.numpy()})[0]
    assert got.shape == expected.shape and np.isfinite(got).all()
    # The same sound: a 1e-6 relative difference in f0 between the runtimes drifts the bank's
    # phases, which moves samples but not the mel (graphs.export_graph checks vocoders this way)
    assert log_mel_relative_error(AUDIO)(got, expected) < 1e-3


def test_pesto_labels_a_sine_with_its_pitch_frame_by_frame():
    from soundstep_factory.pitch_net import pesto_track
    wave = torch.from_numpy(np.stack([tones.sine((hz,), 0.64) for hz in (196.0, 880.0)])).float()
    f0, confidence = pesto_track(wave, 64)
    assert f0.shape == confidence.shape == (2, 64)
    cents = 1200 * torch.log2(f0[:, 4:-4] / torch.tensor([[196.0], [880.0]]))
    assert float(cents.abs().max()) < 50 and float(confidence[:, 4:-4].min()) > 0.5, (cents.abs().max(), confidence.min())
