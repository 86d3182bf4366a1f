"""The pack's ONNX graphs: PyTorch wrappers with the app's input and output names, and
`export_graph`, which exports one at opset 17, checks ONNX Runtime against PyTorch, and stores its
weights compressed (quantize.py) with a second check on what the compression moved.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch

from .config import AudioConfig
from .mel import MelFrontEnd
from .quantize import quantize_weights
from .time_axis import DENOISER_TIME, VAE_DECODER_TIME, VAE_ENCODER_TIME, VOCODER_TIME, free_time_axis

PARITY_TOLERANCE = 1e-3  # float32 graphs: ORT and PyTorch agree to ~1e-5 in practice
# Compressed weights: the output's RMS error relative to the output's RMS (int8 U-Net: ~1%).
STORED_RELATIVE_TOLERANCE = 0.05
# Compress every weight tensor from this size up: all convolutions of our small U-Nets (32x32x3x3
# = 9216), while biases and norm scales (at most a few hundred values) stay float32.
STORED_MIN_ELEMENTS = 1024


class DenoiserGraph(torch.nn.Module):
    """(sample, timestep, encoder_hidden_states, encoder_attention_mask) -> v_prediction."""

    def __init__(self, unet):
        super().__init__()
        self.unet = unet

    def forward(self, sample, timestep, encoder_hidden_states, encoder_attention_mask):
        return self.unet(sample, timestep, encoder_hidden_states=encoder_hidden_states,
                         encoder_attention_mask=encoder_attention_mask).sample


class VaeEncoderGraph(torch.nn.Module):
    """log_mel (B, 1, frames, mels), the decoder's output layout -> latent (B, C, T, F): the
    posterior mean times the latent scale, exactly what the denoisers were trained on (train.latents).
    The mean, not a sample: the latents stage and an audio-to-audio start both want the clip's
    own point, and a pack continued in another session must encode its data to the same latents."""

    def __init__(self, vae, scale: float):
        super().__init__()
        self.vae, self.scale = vae, float(scale)

    def forward(self, log_mel):
        return self.vae.encode(log_mel).latent_dist.mean * self.scale


class VaeDecoderGraph(torch.nn.Module):
    """latent (B, C, T, F), already divided by the scale -> log_mel (B, 1, frames, mels)."""

    def __init__(self, vae):
        super().__init__()
        self.vae = vae

    def forward(self, latent):
        return self.vae.decode(latent).sample


class VocoderGraph(torch.nn.Module):
    """log_mel (B, mels, frames) -> waveform (B, samples); SpeechT5HifiGan wants (B, frames, mels)."""

    def __init__(self, vocoder):
        super().__init__()
        self.vocoder = vocoder

    def forward(self, log_mel):
        return self.vocoder(log_mel.transpose(1, 2))


# The dynamic axes of each graph (only the batch, and the text length of the denoiser): export.py
# writes the pack with them, and from_pack.py exports the recipe's own modules the same way.
DENOISER_AXES = {"sample": {0: "B"}, "timestep": {0: "B"}, "encoder_hidden_states": {0: "B", 1: "L"},
                 "encoder_attention_mask": {0: "B", 1: "L"}, "v_prediction": {0: "B"}}
VAE_ENCODER_AXES = {"log_mel": {0: "B"}, "latent": {0: "B"}}
VAE_DECODER_AXES = {"latent": {0: "B"}, "log_mel": {0: "B"}}
VOCODER_AXES = {"log_mel": {0: "B"}, "waveform": {0: "B"}}
# each graph's time axes, found by its (unique) output name
TIME_AXES_BY_OUTPUT = {"v_prediction": DENOISER_TIME, "log_mel": VAE_DECODER_TIME, "latent": VAE_ENCODER_TIME,
                       "waveform": VOCODER_TIME}


def torch_export(module: torch.nn.Module, inputs: dict[str, torch.Tensor], output: str, path: Path,
                 dynamic: dict[str, dict[int, str]]) -> None:
    """torch.onnx.export as every pack graph is made (opset 17, float32, constant folding on).
    One function, so that from_pack.py's probe export names its nodes as the pack's graphs do."""
    path.parent.mkdir(parents=True, exist_ok=True)
    module.eval()
    with torch.no_grad():
        torch.onnx.export(module, tuple(inputs.values()), str(path), input_names=list(inputs),
                          output_names=[output], dynamic_axes=dynamic, opset_version=17)
    free_graph_time_axis(path, output)


def free_graph_time_axis(path: Path, output: str) -> None:
    """Declare the graph's time axis free (time_axis.py): the exported nodes read every length at
    run time, so clips of any multiple of the pack's length run through the same graphs. Done on the
    written graph rather than through dynamic_axes, which would export other nodes than the ones
    the shipped pack was measured with (time_axis.py's test runs those at 2x and 4x the length)."""
    axes = TIME_AXES_BY_OUTPUT.get(output)
    if axes is None:
        return
    model = onnx.load(str(path))
    if free_time_axis(model, axes):
        onnx.save(model, str(path))


def run_graph(path: Path, inputs: dict[str, torch.Tensor]) -> np.ndarray:
    """The graph's first output, computed by ONNX Runtime on the CPU."""
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {k: v.numpy() for k, v in inputs.items()})[0]


def relative_rms_error(got: np.ndarray, reference: np.ndarray) -> float:
    return float(np.sqrt(np.mean((got - reference) ** 2) / np.mean(reference ** 2)))


def log_mel_relative_error(audio: AudioConfig):
    """For a vocoder: the relative RMS error of the mel magnitudes of two waveforms, what the judge
    and a listener hear. The iSTFT vocoder's phases are sums over frames, so rounded weights shift
    a tone's phase slowly (0.3 rad after 256 frames: 6% of the waveform's RMS) without changing
    how it sounds."""
    front_end = MelFrontEnd(audio)

    def log_mel_relative_rms_error(got: np.ndarray, reference: np.ndarray) -> float:
        with torch.no_grad():
            mel = [front_end(torch.from_numpy(w)).exp().numpy() for w in (got, reference)]
        return relative_rms_error(*mel)
    return log_mel_relative_rms_error


def export_graph(module: torch.nn.Module, inputs: dict[str, torch.Tensor], output: str, path: Path,
                 dynamic: dict[str, dict[int, str]], storage: str = "float32",
                 stored_error=relative_rms_error, parity_error=None) -> dict:
    """Export at opset 17, check ONNX Runtime against PyTorch, then store the weights as `storage`
    (float32 inputs, outputs and compute; quantize.py) and check again with stored_error(got,
    reference) (default: the output's relative RMS error). Returns both errors.
    The float32 check is on the largest absolute difference, or on parity_error(got, reference)
    when given: an oscillator bank (harmonic.py) accumulates a 1e-6 relative difference in f0 into
    a phase drift (an untrained one: samples move by 0.12 of a peak of 5.4, the mel by 5e-4
    relative RMS)."""
    torch_export(module, inputs, output, path, dynamic)
    with torch.no_grad():
        reference = module(*inputs.values()).numpy()
    got = run_graph(path, inputs)
    error = float(np.abs(got - reference).max())
    report = {"float32_max_abs_error": error, "storage": storage}
    if parity_error is not None:
        error = parity_error(got, reference)
        report[f"float32_{parity_error.__name__}"] = error
    if not error <= PARITY_TOLERANCE:
        raise RuntimeError(f"{path.name}: ONNX Runtime differs from PyTorch by {error:.2e} (> {PARITY_TOLERANCE})")
    if storage == "float32":
        return report
    float_path = path.with_suffix(".float32.onnx")
    path.replace(float_path)
    quantize_weights(float_path, path, storage, STORED_MIN_ELEMENTS)
    float_path.unlink()
    got = run_graph(path, inputs)
    relative = stored_error(got, reference)
    if not relative <= STORED_RELATIVE_TOLERANCE:
        raise RuntimeError(f"{path.name}: {storage} weights move the output by {relative:.1%} RMS "
                           f"({stored_error.__name__}, > {STORED_RELATIVE_TOLERANCE:.0%})")
    return {**report, "stored_max_abs_error": float(np.abs(got - reference).max()),
            f"stored_{stored_error.__name__}": relative}
