"""Tango's exact configuration (declare-lab/tango `configs/` and its AudioLDM parts), and a tiny
one of the same classes for tests.

The values are facts read from Tango's release: configs/diffusion_model_config.json (the U-Net),
main_config.json (google/flan-t5-large as the frozen text encoder, stabilityai/stable-diffusion-2-1's
scheduler: v-prediction, scaled-linear betas 0.00085..0.012, 1000 steps) and AudioLDM's
first-stage config (VAE ch 128, ch_mult [1, 2, 4], z_channels 8, 2 res blocks; HiFi-GAN 16 kHz from
64 mels, upsample rates [5, 4, 2, 2, 2], kernels [16, 16, 8, 4, 4], initial channels 1024,
resblock kernels [3, 7, 11] with dilations [1, 3, 5]). Only the sizes differ between FULL and TINY;
every component is built from the library class a real checkpoint loads into.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch

HOP_LENGTH = 160  # AudioLDM's STFT hop at 16 kHz: 100 mel frames per second
LATENT_DOWNSAMPLE = 4  # the VAE's three levels halve time and mel twice
FLAN_T5_VOCAB = 32128  # T5Config.vocab_size of every FLAN-T5 (32000 pieces + 100 sentinels, padded)


@dataclass(frozen=True)
class TangoSpec:
    name: str
    block_out_channels: tuple[int, ...] = (320, 640, 1280, 1280)
    attention_head_dim: tuple[int, ...] = (5, 10, 20, 20)  # diffusers reads these as head counts (64 dims each)
    layers_per_block: int = 2
    unet_norm_groups: int = 32
    t5: dict = field(default_factory=lambda: {  # google/flan-t5-large's encoder
        "d_model": 1024, "d_kv": 64, "d_ff": 2816, "num_layers": 24, "num_heads": 16,
        "relative_attention_num_buckets": 32, "relative_attention_max_distance": 128,
        "feed_forward_proj": "gated-gelu", "layer_norm_epsilon": 1e-6, "tie_word_embeddings": False})
    vae_channels: tuple[int, ...] = (128, 256, 512)  # ch 128 x ch_mult [1, 2, 4]
    vae_norm_groups: int = 32
    vocoder_initial_channel: int = 1024
    latent_channels: int = 8
    latent_frames: int = 256  # 10.24 s
    n_mels: int = 64
    sample_rate: int = 16000
    tokenizer_vocab: int = 32000  # FLAN-T5's sentencepiece size; the trainer stops where the captions run out
    caption_clips: int = 2600  # factory data plans whose captions train the tokenizer

    @property
    def hidden_size(self) -> int:
        return int(self.t5["d_model"])

    def to_dict(self) -> dict:
        return asdict(self)


FULL = TangoSpec("tango")
TINY = TangoSpec(
    "tango-tiny", block_out_channels=(8, 16, 32, 32), attention_head_dim=(1, 2, 4, 4), unet_norm_groups=8,
    t5={"d_model": 32, "d_kv": 8, "d_ff": 64, "num_layers": 2, "num_heads": 4, "relative_attention_num_buckets": 32,
        "relative_attention_max_distance": 128, "feed_forward_proj": "gated-gelu", "layer_norm_epsilon": 1e-6,
        "tie_word_embeddings": False},
    vae_channels=(8, 16, 32), vae_norm_groups=8, vocoder_initial_channel=32, tokenizer_vocab=1000, caption_clips=300)


def build_unet(spec: TangoSpec):
    from diffusers import UNet2DConditionModel

    n = len(spec.block_out_channels)
    return UNet2DConditionModel(
        sample_size=(spec.latent_frames, spec.n_mels // LATENT_DOWNSAMPLE),
        in_channels=spec.latent_channels, out_channels=spec.latent_channels,
        down_block_types=("CrossAttnDownBlock2D",) * (n - 1) + ("DownBlock2D",),
        up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * (n - 1),
        block_out_channels=spec.block_out_channels, layers_per_block=spec.layers_per_block,
        attention_head_dim=spec.attention_head_dim, cross_attention_dim=spec.hidden_size,
        norm_num_groups=spec.unet_norm_groups, use_linear_projection=True, upcast_attention=True,
        flip_sin_to_cos=True, freq_shift=0)


def build_text_encoder(spec: TangoSpec):
    from transformers import T5Config, T5EncoderModel

    config = T5Config(vocab_size=FLAN_T5_VOCAB, pad_token_id=0, eos_token_id=1, decoder_start_token_id=0,
                      is_encoder_decoder=False, use_cache=False, **spec.t5)
    return T5EncoderModel(config).eval()


def build_vae(spec: TangoSpec, scaling_factor: float = 1.0):
    from diffusers import AutoencoderKL

    n = len(spec.vae_channels)
    assert 2 ** (n - 1) == LATENT_DOWNSAMPLE, "the pack format fixes a 4x latent downsample"
    return AutoencoderKL(
        in_channels=1, out_channels=1, down_block_types=("DownEncoderBlock2D",) * n,
        up_block_types=("UpDecoderBlock2D",) * n, block_out_channels=spec.vae_channels, layers_per_block=2,
        latent_channels=spec.latent_channels, norm_num_groups=spec.vae_norm_groups,
        sample_size=spec.latent_frames * LATENT_DOWNSAMPLE, scaling_factor=scaling_factor)


def vocoder_config(spec: TangoSpec):
    from transformers import SpeechT5HifiGanConfig

    return SpeechT5HifiGanConfig(
        model_in_dim=spec.n_mels, sampling_rate=spec.sample_rate,
        upsample_initial_channel=spec.vocoder_initial_channel, upsample_rates=[5, 4, 2, 2, 2],
        upsample_kernel_sizes=[16, 16, 8, 4, 4], resblock_kernel_sizes=[3, 7, 11],
        resblock_dilation_sizes=[[1, 3, 5], [1, 3, 5], [1, 3, 5]], normalize_before=False)


def build_vocoder(spec: TangoSpec):
    from transformers import SpeechT5HifiGan

    return SpeechT5HifiGan(vocoder_config(spec)).eval()


def build_scheduler():
    """Stable Diffusion 2.1's schedule as Tango trains with it; trailing spacing, as the app samples."""
    from diffusers import DDIMScheduler

    return DDIMScheduler(num_train_timesteps=1000, beta_start=0.00085, beta_end=0.012,
                         beta_schedule="scaled_linear", prediction_type="v_prediction", clip_sample=False,
                         set_alpha_to_one=False, steps_offset=1, timestep_spacing="trailing")


def parameter_count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
