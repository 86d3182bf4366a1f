"""Stage: the frozen text encoder, exported once and then used through ONNX Runtime.

Usage: python -m soundstep_factory.text --config small

The teacher trains on the hidden states of the exact graph the app runs (the int8 ONNX
encoder), so quantization error is part of what it learns rather than a train/serve gap.
Outputs in <work>/text/: text_encoder.onnx, tokenizer.json, tokenizer_config.json, parity.json.
"""
from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from tokenizers import Tokenizer

from .config import PackConfig, load_config
from .models import build_text_encoder, text_encoder_dir
from .quantize import quantize_weights_int8

UNCONDITIONAL_PROMPT = ""  # what sampling uses for g_u, and what condition dropout trains with


class EncoderForExport(torch.nn.Module):
    """MODEL_PACK.md interface: (input_ids, attention_mask) -> last_hidden_state, as FLAN-T5 exports."""

    def __init__(self, bert):
        super().__init__()
        self.bert = bert

    def forward(self, input_ids, attention_mask):
        return self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state


def encode_prompts(tokenizer: Tokenizer, prompts: list[str], max_tokens: int, pad_id: int):
    """Token ids padded to max_tokens; a longer prompt keeps its first tokens and its final [SEP].

    Mirrors src/runtime/tokenizer.ts exactly. Returns (ids, mask, truncated) as int64 arrays.
    """
    ids = np.full((len(prompts), max_tokens), pad_id, dtype=np.int64)
    mask = np.zeros((len(prompts), max_tokens), dtype=np.int64)
    truncated = []
    for i, prompt in enumerate(prompts):
        tokens = tokenizer.encode(prompt).ids
        truncated.append(len(tokens) > max_tokens)
        if len(tokens) > max_tokens:
            tokens = tokens[: max_tokens - 1] + tokens[-1:]
        ids[i, : len(tokens)] = tokens
        mask[i, : len(tokens)] = 1
    return ids, mask, truncated


def load_tokenizer(text_dir: Path) -> Tokenizer:
    return Tokenizer.from_file(str(text_dir / "tokenizer.json"))


def write_tokenizer_files(out: Path) -> dict:
    """Copy the encoder's tokenizer, with its own truncation and padding off: the app pads."""
    src = text_encoder_dir()
    tok = json.loads((src / "tokenizer.json").read_text())
    tok["truncation"], tok["padding"] = None, None
    (out / "tokenizer.json").write_text(json.dumps(tok, ensure_ascii=False))
    shutil.copy(src / "tokenizer_config.json", out / "tokenizer_config.json")
    return tok


def export_text_encoder(cfg: PackConfig, out: Path) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    tok = write_tokenizer_files(out)
    pad_id = tok["model"]["vocab"]["[PAD]"]
    bert, _ = build_text_encoder()
    wrapper = EncoderForExport(bert).eval()
    tokenizer = load_tokenizer(out)
    probe = ["a trumpet plays while a woman speaks", UNCONDITIONAL_PROMPT, "birds chirp followed by applause"]
    ids, mask, _ = encode_prompts(tokenizer, probe, cfg.text.max_tokens, pad_id)
    float_path = out / "text_encoder.float.onnx"
    torch.onnx.export(
        wrapper, (torch.from_numpy(ids), torch.from_numpy(mask)), str(float_path),
        input_names=["input_ids", "attention_mask"], output_names=["last_hidden_state"],
        dynamic_axes={"input_ids": {0: "B", 1: "L"}, "attention_mask": {0: "B", 1: "L"},
                      "last_hidden_state": {0: "B", 1: "L"}},
        opset_version=17,
    )
    with torch.no_grad():
        reference = wrapper(torch.from_numpy(ids), torch.from_numpy(mask)).numpy()  # (B, L, H)
    parity = {"float_max_abs_error": _max_error(float_path, ids, mask, reference)}
    final_path = out / "text_encoder.onnx"
    if cfg.text.quantize_int8:
        quantize_weights_int8(float_path, final_path)
        got = _run(final_path, ids, mask)
        valid = mask.astype(bool)
        cos = (got * reference).sum(-1) / (np.linalg.norm(got, axis=-1) * np.linalg.norm(reference, axis=-1))
        parity.update(int8_max_abs_error=float(np.abs(got - reference)[valid].max()),
                      int8_min_cosine=float(cos[valid].min()))
    else:
        shutil.copy(float_path, final_path)
    float_path.unlink()
    info = {"hidden_size": bert.config.hidden_size, "pad_token_id": pad_id,
            "model": "sentence-transformers/all-MiniLM-L6-v2 (BERT, 6 layers)"
                     + (", int8 weights (per channel), float32 activations" if cfg.text.quantize_int8 else ""),
            "parity": parity}
    (out / "text_info.json").write_text(json.dumps(info, indent=2))
    return info


def _run(path: Path, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"input_ids": ids, "attention_mask": mask})[0]


def _max_error(path: Path, ids, mask, reference) -> float:
    return float(np.abs(_run(path, ids, mask) - reference).max())


class TextEmbedder:
    """Hidden states from the exported encoder, cached per prompt."""

    def __init__(self, cfg: PackConfig, text_dir: Path, encoder: Path | None = None):
        self.cfg = cfg
        info = json.loads((text_dir / "text_info.json").read_text())
        self.pad_id = info["pad_token_id"]
        self.tokenizer = load_tokenizer(text_dir)
        self.session = ort.InferenceSession(str(encoder or text_dir / "text_encoder.onnx"),
                                            providers=["CPUExecutionProvider"])

    def __call__(self, prompts: list[str], batch_size: int = 64) -> tuple[np.ndarray, np.ndarray]:
        """prompts -> hidden (N, L, H) float32, mask (N, L) int64."""
        ids, mask, _ = encode_prompts(self.tokenizer, prompts, self.cfg.text.max_tokens, self.pad_id)
        hidden = [self.session.run(None, {"input_ids": ids[i:i + batch_size], "attention_mask": mask[i:i + batch_size]})[0]
                  for i in range(0, len(prompts), batch_size)]
        return np.concatenate(hidden), mask


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="small")
    cfg = load_config(ap.parse_args().config)
    print(json.dumps(export_text_encoder(cfg, cfg.work_dir / "text"), indent=2))


if __name__ == "__main__":
    main()
