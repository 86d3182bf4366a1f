"""The tonal prior (tonal_prior.py): from a mel alone it puts a tone where it was, and a vocoder
that trusts it resynthesises steady tones with no sidebands before any training; in ONNX too."""
import numpy as np
import torch

from soundstep_factory import tones
from soundstep_factory.config import AudioConfig, VocoderConfig
from soundstep_factory.mel import MelFrontEnd, mel_filters
from soundstep_factory.tonal_prior import TonalPrior
from soundstep_factory.vocoder import IstftVocoder

AUDIO = AudioConfig()


def prior(n_fft: int = 1024) -> TonalPrior:
    a = AUDIO
    return TonalPrior(a.n_mels, a.f_min, a.f_max, a.n_fft, n_fft, a.sample_rate)


def trusting_vocoder(n_fft: int = 1024) -> IstftVocoder:
    """An untrained vocoder whose heads say: the tonal prior's magnitudes and frequencies, no noise."""
    torch.manual_seed(0)
    v = IstftVocoder(mel_filters(AUDIO, n_fft), AUDIO.hop_length, channels=8, blocks=1, tonal=prior(n_fft))
    return v.trust_tonal_prior().eval()


def log_mel(wave: np.ndarray) -> torch.Tensor:
    with torch.no_grad():
        return MelFrontEnd(AUDIO)(torch.from_numpy(wave))


def test_the_prior_finds_each_tone_within_two_percent():
    """Within 35 cents (RPA allows 50): below 1 kHz the front end's Hann lobe (+-31 Hz) reaches over
    a triangle's corner (bands 46 Hz apart), which biases the estimate by up to about 1.5%."""
    freqs = (131.0, 440.0, 968.0, 2500.0)
    magnitude, bin_hz = prior()(log_mel(np.stack([tones.sine((f,), 1.0) for f in freqs])))  # (B, bins, T)
    middle = magnitude.shape[-1] // 2
    for i, f in enumerate(freqs):
        k = int(magnitude[i, :, middle].argmax())
        assert abs(float(bin_hz[i, k, middle]) - f) < 0.02 * f, (f, float(bin_hz[i, k, middle]))
        # its peak at the synthesis STFT's scale: a Hann window of N gives A * N / 4 (A = 0.5 here)
        assert 0.7 < float(magnitude[i, k, middle]) / (0.5 * 1024 / 4) < 1.3


def test_a_vocoder_that_trusts_the_prior_passes_the_tone_test_untrained():
    v = trusting_vocoder()

    def vocode(wave: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return v(log_mel(wave)).numpy()

    results = tones.tone_test(vocode)
    sines = [r for r in results if len(r.expected_hz) == 1]
    assert all(r.passed for r in sines), [(r.expected_hz, r.found_hz, r.sideband_db) for r in sines if not r.passed]
    assert max(r.sideband_db for r in sines) < -40


def test_the_tonal_vocoder_exports_to_onnx_with_parity(tmp_path):
    from soundstep_factory.export import VocoderGraph, export_graph
    v = trusting_vocoder()
    with torch.no_grad():  # some weights, so the trunk's output matters too
        v.post.weight.normal_(0, 0.01)
    mel = log_mel(tones.sine((220.0, 1500.0), 0.64)[None]).transpose(1, 2).contiguous()  # (1, mels, frames)
    report = export_graph(VocoderGraph(v), {"log_mel": mel}, "waveform", tmp_path / "vocoder.onnx",
                          {"log_mel": {0: "B", 2: "T"}, "waveform": {0: "B", 1: "S"}})
    assert report["float32_max_abs_error"] < 1e-3


def test_the_recipe_switch_builds_it():
    from soundstep_factory.config import PackConfig
    from soundstep_factory.vocoder import build_vocoder
    cfg = PackConfig(vocoder=VocoderConfig(n_fft=1024, tonal_prior=True, channels=8, blocks=1))
    assert isinstance(build_vocoder(cfg).tonal, TonalPrior)
    assert build_vocoder(PackConfig()).tonal is None


def test_silence_holds_no_tones():
    """The front end's floor is no signal: read as one, a silent clip became a comb of faint tones
    at every band pair, and the spectral convergence of silent segments (divided by ~0) exploded."""
    magnitude, bin_hz = prior()(log_mel(np.zeros((1, 8000), dtype=np.float32)))
    assert float(magnitude.abs().max()) == 0.0
    assert torch.allclose(bin_hz[0, :, 0], torch.arange(513) * 16000 / 1024)
