"""Write src/engine/testdata/mel-golden.json: a test signal and its log-mel by the factory's front end.

Usage (from the repo root): factory/.venv/bin/python scripts/golden-mel.py

src/engine/mel.test.ts compares src/engine/mel.ts against these numbers, so the page's
spectrogram and the factory's MelFrontEnd (factory/soundstep_factory/mel.py) cannot drift apart.
"""
import json
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "factory"))
from soundstep_factory.config import AudioConfig  # noqa: E402
from soundstep_factory.mel import MelFrontEnd  # noqa: E402

cfg = AudioConfig()  # the pack's audio settings: 16 kHz, n_fft 1024, hop 160, 64 mels, 0..8000 Hz
n = 4000  # 25 frames
t = np.arange(n) / cfg.sample_rate
rng = np.random.default_rng(0)
x = (0.5 * np.sin(2 * np.pi * 440 * t)
     + 0.3 * np.sin(2 * np.pi * (200 + 6000 * t) * t)
     + 0.05 * rng.standard_normal(n)).astype(np.float32)
x[:800] *= np.linspace(0, 1, 800, dtype=np.float32)  # a fade-in: low frames hit the log floor region
mel = MelFrontEnd(cfg)(torch.from_numpy(x)[None])[0].numpy()  # (frames, n_mels)
audio = {k: getattr(cfg, k) for k in ("sample_rate", "n_fft", "hop_length", "win_length", "n_mels", "f_min", "f_max", "log_floor")}
out = {
    "format": "soundstep-mel-golden/1",
    "audio": audio,
    "waveform": [float(v) for v in x],
    "frames": int(mel.shape[0]),
    "n_mels": int(mel.shape[1]),
    "log_mel": [float(v) for v in mel.reshape(-1)],
}
dest = Path(__file__).resolve().parents[1] / "src/engine/testdata/mel-golden.json"
dest.write_text(json.dumps(out))
print(f"wrote {dest}: {mel.shape}")
