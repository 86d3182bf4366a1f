"""Generate clips with a pack's ONNX graphs, in batches: what the app runs, so what we measure.

The sampler is the app's: sampling.sample, twin of src/engine/sample.ts (DDIM, eta = 0, on the
trailing grid with a v-prediction denoiser, classifier-free guidance for the teacher, none for
students, where distillation folded it in; docs/sampling.md E7, E8, E20). Onnxruntime on CPU,
batched over prompts.

    runner = PackRunner(pack_dir)
    hidden, mask = runner.encode(["a dog barks while a man speaks"])     # (N, L, H), (N, L)
    z0 = runner.sample("teacher", 200, hidden, mask, noise, guidance=3)  # (N, C, T, F)
    wave = runner.decode(z0)                                               # (N, samples)
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

from . import sampling
from .config import cpu_threads
from .text import UNCONDITIONAL_PROMPT, encode_prompts, load_tokenizer


def ort_session(path: Path, threads: int | None = None) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads or cpu_threads()
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def noise_for(seed: int, count: int, shape: tuple[int, ...]) -> np.ndarray:
    """z_T for `count` clips of run `seed`: one generator per run, so a run is reproducible."""
    g = torch.Generator().manual_seed(seed)
    return torch.randn((count, *shape), generator=g).numpy()  # (count, C, T, F)


@dataclass
class Timing:
    """Wall-clock seconds of one batch, and what it cost."""
    denoise_s: float = 0.0
    decode_s: float = 0.0
    clips: int = 0
    network_evaluations_per_clip: int = 0


class PackRunner:
    """Onnxruntime sessions over one pack folder (manifest.json and its graphs)."""

    def __init__(self, pack_dir: Path, threads: int | None = None, extra_denoisers: dict[str, Path] | None = None):
        self.dir = Path(pack_dir)
        self.manifest = json.loads((self.dir / "manifest.json").read_text())
        self.threads = threads
        self.latent = self.manifest["latent"]
        self.latent_shape = (self.latent["channels"], self.latent["frames"], self.latent["bins"])
        text = self.manifest["text"]
        self.tokenizer = load_tokenizer(self.dir) if text["tokenizer"] == "tokenizer.json" else None
        self.max_tokens, self.pad_id = text["max_tokens"], text["pad_token_id"]
        self.files = {d["id"]: self.dir / d["file"] for d in self.manifest["denoisers"]}
        self.files.update(extra_denoisers or {})
        self.entries = {d["id"]: d for d in self.manifest["denoisers"]}
        self._sessions: dict[str, ort.InferenceSession] = {}
        self._uncond: tuple[np.ndarray, np.ndarray] | None = None

    def session(self, key: str, path: Path) -> ort.InferenceSession:
        if key not in self._sessions:
            self._sessions[key] = ort_session(path, self.threads)
        return self._sessions[key]

    def encode(self, prompts: list[str], batch: int = 64) -> tuple[np.ndarray, np.ndarray]:
        """prompts -> hidden (N, L, H) float32, mask (N, L) int64, with the pack's tokenizer and encoder."""
        ids, mask, _ = encode_prompts(self.tokenizer, prompts, self.max_tokens, self.pad_id)
        enc = self.session("text", self.dir / self.manifest["text"]["encoder"])
        hidden = [enc.run(None, {"input_ids": ids[i:i + batch], "attention_mask": mask[i:i + batch]})[0]
                  for i in range(0, len(prompts), batch)]
        return np.concatenate(hidden), mask

    def uncond(self) -> tuple[np.ndarray, np.ndarray]:
        if self._uncond is None:
            h, m = self.encode([UNCONDITIONAL_PROMPT])
            self._uncond = (h[0], m[0])
        return self._uncond

    def sample(self, denoiser: str, steps: int, hidden: np.ndarray, mask: np.ndarray, noise: np.ndarray,
               guidance: float | None, timing: Timing | None = None) -> np.ndarray:
        """DDIM from z_T = noise (N, C, T, F) to the clean latent z_0 (still scaled), batched."""
        return self.sample_mixed(lambda step: (denoiser, guidance), steps, hidden, mask, noise, timing)

    def sample_mixed(self, plan: Callable[[int], tuple[str, float | None]], steps: int, hidden: np.ndarray,
                     mask: np.ndarray, noise: np.ndarray, timing: Timing | None = None) -> np.ndarray:
        """DDIM where step i (0 = the noisiest) is taken by plan(i) = (denoiser, guidance or None):
        one denoiser throughout is `sample`; a mix shows where along the trajectory one loses to
        another (diagnose.py)."""
        grid = sampling.trailing_grid(steps)
        step_of = {t: k for k, t in enumerate(grid)}
        text = {1: (hidden, mask)}  # rows per prompt -> text states; 2 (guided, E20) built on first use
        evaluations = 0

        def denoise(z: torch.Tensor, t: int) -> torch.Tensor:  # (N or 2N, C, T, F): 2N = prompts, then ""
            nonlocal evaluations
            per_prompt = len(z) // len(noise)
            if per_prompt not in text:
                text[per_prompt] = self.with_unconditional(hidden, mask)
            evaluations += per_prompt
            return torch.from_numpy(self.velocity(plan(step_of[t])[0], z.numpy(), t, *text[per_prompt]))

        started = time.perf_counter()
        noise32 = torch.from_numpy(noise.astype(np.float32))
        z = sampling.sample(denoise, noise32, grid, sampling.alphas_cumprod(), [plan(k)[1] for k in range(steps)])
        if timing is not None:
            timing.denoise_s += time.perf_counter() - started
            timing.clips += len(noise)
            timing.network_evaluations_per_clip = evaluations
        return z.numpy()

    def with_unconditional(self, hidden: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The text states of N prompts followed by N copies of the empty prompt's: (2N, L, H), (2N, L)."""
        uh, um = self.uncond()
        return (np.concatenate([hidden, np.broadcast_to(uh, hidden.shape)]).astype(np.float32),
                np.concatenate([mask, np.broadcast_to(um, mask.shape)]).astype(np.int64))

    def velocity(self, denoiser: str, z: np.ndarray, t: int, hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """One network evaluation: v for latents z (N, C, T, F) at timestep t."""
        session = self.session(denoiser, self.files[denoiser])
        return session.run(None, {"sample": z, "timestep": np.full(len(z), t, dtype=np.int64),
                                  "encoder_hidden_states": hidden, "encoder_attention_mask": mask})[0]

    def decode(self, z0: np.ndarray, batch: int = 32, timing: Timing | None = None) -> np.ndarray:
        """Scaled clean latents (N, C, T, F) -> waveforms (N, samples) via the VAE decoder and vocoder."""
        started = time.perf_counter()
        waves = [self.vocode(self.decode_mel(z0[i:i + batch] / self.latent["scale"]))
                 for i in range(0, len(z0), batch)]
        if timing is not None:
            timing.decode_s += time.perf_counter() - started
        return np.concatenate(waves)

    def decode_mel(self, latent: np.ndarray) -> np.ndarray:
        """Unscaled latents (B, C, T, F) -> log-mel (B, 1, frames, mels)."""
        vae = self.session("vae_decoder", self.dir / self.manifest["vae_decoder"]["file"])
        return vae.run(None, {"latent": latent.astype(np.float32)})[0]

    def vocode(self, log_mel: np.ndarray) -> np.ndarray:
        """log-mel (B, 1, frames, mels) or (B, frames, mels) -> waveform (B, samples)."""
        voc = self.session("vocoder", self.dir / self.manifest["vocoder"]["file"])
        mel = log_mel[:, 0] if log_mel.ndim == 4 else log_mel
        return voc.run(None, {"log_mel": np.ascontiguousarray(mel.transpose(0, 2, 1)).astype(np.float32)})[0]

    def guidance_for(self, denoiser: str, scale: float | None = None) -> float | None:
        """The teacher is guided (its default scale unless given); students have guidance folded in."""
        entry = self.entries.get(denoiser, {"guidance": {"type": "folded"}})
        if entry["guidance"]["type"] == "folded":
            return None
        return entry["guidance"]["default_scale"] if scale is None else scale
