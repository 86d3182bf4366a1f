"""Tango at full size, tested on its tiny configuration (same classes, a few channels): the random
folder's layout, the tokenizer, the pack (schema, the app's validator, every graph against
PyTorch) and the mapping of Tango's own release files."""
import json
import re
import subprocess
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch

from soundstep_factory.graphs import STORED_RELATIVE_TOLERANCE, relative_rms_error
from soundstep_factory.manifest import schema_errors
from soundstep_factory.tango import COMPONENTS, build_random, check_layout
from soundstep_factory.tango_pack import MAX_TOKENS, export_tango_pack
from soundstep_factory.tango_release import convert_release
from soundstep_factory.tango_spec import FULL, TINY, build_unet, build_vae, build_vocoder, parameter_count
from soundstep_factory.tango_tokenizer import load_tokenizer, train_unigram

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("tango")
    report = build_random(TINY, root / "random", seed=0)
    return {"root": root, "folder": root / "random", "report": report}


@pytest.fixture(scope="module")
def tiny_pack(tiny):
    result = export_tango_pack(tiny["folder"], tiny["root"] / "pack")
    return {"pack": Path(result["pack"]), "result": result}


def test_full_spec_is_tangos_unet():
    """866M parameters, as Tango's U-Net (built on the meta device: no memory)."""
    with torch.device("meta"):
        unet = build_unet(FULL)
    assert parameter_count(unet) == 865_933_768
    c = unet.config
    assert c.cross_attention_dim == 1024 and c.in_channels == 8 and c.use_linear_projection and c.upcast_attention
    assert list(c.down_block_types) == ["CrossAttnDownBlock2D"] * 3 + ["DownBlock2D"]


def test_random_folder_layout(tiny):
    folder = tiny["folder"]
    check_layout(folder)
    for name in ("unet", "vae"):
        assert (folder / name / "config.json").is_file() and (folder / name / "diffusion_pytorch_model.safetensors").is_file()
    for name in ("vocoder", "text_encoder"):
        assert (folder / name / "config.json").is_file() and (folder / name / "model.safetensors").is_file()
    scheduler = json.loads((folder / "scheduler" / "scheduler_config.json").read_text())
    assert (scheduler["prediction_type"], scheduler["beta_schedule"], scheduler["num_train_timesteps"]) == \
        ("v_prediction", "scaled_linear", 1000)
    vocoder = json.loads((folder / "vocoder" / "config.json").read_text())
    assert vocoder["upsample_rates"] == [5, 4, 2, 2, 2] and vocoder["model_in_dim"] == 64
    assert set(COMPONENTS) <= {p.name for p in folder.iterdir()}


def test_random_weights_come_from_the_seed(tiny, tmp_path):
    again = build_random(TINY, tmp_path / "again", seed=0)
    assert again["parameters"] == tiny["report"]["parameters"]
    for name, file in (("unet", "diffusion_pytorch_model.safetensors"), ("vocoder", "model.safetensors")):
        assert (tmp_path / "again" / name / file).read_bytes() == (tiny["folder"] / name / file).read_bytes()


def test_a_folder_without_a_component_is_refused(tiny, tmp_path):
    (tmp_path / "unet").mkdir()
    with pytest.raises(SystemExit, match=r"missing vae/, vocoder/"):
        check_layout(tmp_path)


def test_tokenizer_round_trip(tiny):
    tok = load_tokenizer(tiny["folder"] / "tokenizer")
    text = "a piano plays a melody while a man speaks"
    encoding = tok.encode(text)
    assert encoding.ids[-1] == tok.token_to_id("</s>") == 1
    assert [tok.token_to_id(t) for t in ("<pad>", "</s>", "<unk>")] == [0, 1, 2]
    assert tok.decode(encoding.ids) == text
    assert "▁piano" in encoding.tokens  # a caption word is one piece
    assert tok.token_to_id("<extra_id_99>") == tok.get_vocab_size() - 1
    from transformers import AutoTokenizer
    assert AutoTokenizer.from_pretrained(str(tiny["folder"] / "tokenizer"))(text).input_ids == encoding.ids


def test_tokenizer_size_is_capped_and_keeps_characters():
    tok = train_unigram(["a dog barks", "a dog barks loudly", "a cat"], vocab_size=12)
    assert tok.get_vocab_size() <= 12 + 100 + 12  # pieces + sentinels; characters are always kept
    assert tok.decode(tok.encode("a cab").ids) == "a cab"  # an unseen word, spelled in characters


def test_pack_validates_against_the_schema_and_the_app(tiny_pack):
    pack = tiny_pack["pack"]
    manifest = json.loads((pack / "manifest.json").read_text())
    assert schema_errors(manifest) == []
    assert manifest["audio"]["clip_seconds"] == pytest.approx(10.24) and manifest["audio"]["num_samples"] == 163840
    assert [manifest["latent"][k] for k in ("channels", "frames", "bins")] == [8, 256, 16]
    assert manifest["text"]["max_tokens"] == MAX_TOKENS and manifest["text"]["pad_token_id"] == 0
    assert manifest["denoisers"][0]["variants"][0]["file"] == "denoisers/teacher.fp16.onnx"
    assert manifest["vae_decoder"]["variants"][0]["dtype"] == "float16"
    assert "external_data" not in manifest["denoisers"][0]  # the tiny U-Net is far under 2 GB
    run = subprocess.run(["npx", "tsx", "src/cli/validate-pack.ts", str(pack)], check=False, cwd=REPO,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr


def test_pack_graphs_match_pytorch(tiny, tiny_pack):
    """Every graph was checked at export (build_log); here the denoiser once more, from the files,
    against the U-Net the folder holds, on the full and the shortened latent: within 1e-4 if it is
    stored float32, within the stored-weights tolerance (relative RMS) if int8 or float16."""
    log = json.loads((tiny_pack["pack"] / "build_log.json").read_text())["graphs"]
    assert set(log) == {"text_encoder.onnx", "vae_decoder.onnx", "vae_encoder.onnx", "vocoder.onnx",
                        "denoisers/teacher.onnx"}
    for entry in log.values():
        assert entry["float32"]["max_abs_error"] <= 1e-3 * entry["float32"]["output_max_abs"]
    from diffusers import UNet2DConditionModel
    storage = log["denoisers/teacher.onnx"]["storage"]
    assert storage in ("int8", "float16", "float32")  # the first that holds (tango_pack: int8 first)
    unet = UNet2DConditionModel.from_pretrained(str(tiny["folder"] / "unet")).eval()
    session = ort.InferenceSession(str(tiny_pack["pack"] / "denoisers/teacher.onnx"), providers=["CPUExecutionProvider"])
    g = torch.Generator().manual_seed(5)
    for frames in (256, 16):
        feeds = {"sample": torch.randn(1, 8, frames, 16, generator=g), "timestep": torch.tensor([400]),
                 "encoder_hidden_states": torch.randn(1, MAX_TOKENS, 32, generator=g),
                 "encoder_attention_mask": torch.ones(1, MAX_TOKENS, dtype=torch.int64)}
        with torch.no_grad():
            want = unet(feeds["sample"], feeds["timestep"], feeds["encoder_hidden_states"],
                        encoder_attention_mask=feeds["encoder_attention_mask"]).sample.numpy()
        got = session.run(None, {k: v.numpy() for k, v in feeds.items()})[0]
        assert got.shape == (1, 8, frames, 16)
        if storage == "float32":
            np.testing.assert_allclose(got, want, atol=1e-4, rtol=0)
        else:
            assert relative_rms_error(got, want) <= STORED_RELATIVE_TOLERANCE
    vocoder = ort.InferenceSession(str(tiny_pack["pack"] / "vocoder.onnx"), providers=["CPUExecutionProvider"])
    wave = vocoder.run(None, {"log_mel": np.zeros((1, 64, 1024), np.float32)})[0]
    assert wave.shape == (1, 163840)  # exactly 10.24 s at 16 kHz


def test_a_folder_with_another_schedule_is_refused(tiny, tmp_path):
    import shutil
    shutil.copytree(tiny["folder"], tmp_path / "eps")
    config = tmp_path / "eps" / "scheduler" / "scheduler_config.json"
    config.write_text(json.dumps({**json.loads(config.read_text()), "prediction_type": "epsilon"}))
    with pytest.raises(SystemExit, match="prediction_type"):
        export_tango_pack(tmp_path / "eps", tmp_path / "pack")


# ---------------------------------------------------------------------------------------
# Tango's release layout, written from a tiny random model with latent-diffusion names
# ---------------------------------------------------------------------------------------

def ldm_vae_key(key: str, levels: int) -> str:
    """diffusers' AutoencoderKL name -> the latent-diffusion name AudioLDM's checkpoints use."""
    def up(m):
        return f"decoder.up.{levels - 1 - int(m.group(1))}."
    def mid(m):
        return f"mid.block_{int(m.group(1)) + 1}."
    rules = [(r"^decoder\.up_blocks\.(\d+)\.", up), (r"down_blocks\.(\d+)\.", r"down.\1."),
             (r"mid_block\.resnets\.(\d+)\.", mid),
             (r"\.resnets\.(\d+)\.", r".block.\1."), (r"(up|down)\.(\d+)\.(up|down)samplers\.0\.", r"\1.\2.\3sample."),
             (r"conv_shortcut", "nin_shortcut"), (r"mid_block\.attentions\.0\.group_norm", "mid.attn_1.norm"),
             (r"mid_block\.attentions\.0\.to_out\.0", "mid.attn_1.proj_out"),
             (r"mid_block\.attentions\.0\.to_([qkv])", r"mid.attn_1.\1"), (r"conv_norm_out", "norm_out")]
    for pattern, replacement in rules:
        key = re.sub(pattern, replacement, key)
    return key


def write_release(src: Path, unet, t5, vae, vocoder) -> None:
    """pytorch_model_main.bin, pytorch_model_vae.bin and vae_config.json as Tango's release has them."""
    src.mkdir(parents=True)
    main = {**{f"unet.{k}": v for k, v in unet.state_dict().items()},
            **{f"text_encoder.{k}": v for k, v in t5.state_dict().items()}}
    torch.save(main, src / "pytorch_model_main.bin")
    levels = len(vae.config.block_out_channels)
    state = {}
    for k, v in vae.state_dict().items():
        if ".attentions.0.to_" in k and v.ndim == 2:
            v = v[:, :, None, None]  # latent diffusion's attention uses 1x1 convolutions
        state[ldm_vae_key(k, levels)] = v
    for k, v in vocoder.state_dict().items():
        if k not in ("mean", "scale"):
            state["vocoder." + k.replace("upsampler.", "ups.")] = v
    torch.save(state, src / "pytorch_model_vae.bin")
    ch = vae.config.block_out_channels[0]
    (src / "vae_config.json").write_text(json.dumps({
        "embed_dim": vae.config.latent_channels, "scale_factor": 0.5,
        "ddconfig": {"ch": ch, "ch_mult": [c // ch for c in vae.config.block_out_channels], "num_res_blocks": 2,
                     "z_channels": vae.config.latent_channels, "in_channels": 1, "out_ch": 1}}))


def test_tango_release_maps_to_the_same_models(tiny, tmp_path):
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import SpeechT5HifiGan, T5EncoderModel
    folder = tiny["folder"]
    torch.manual_seed(11)  # other weights than the folder's, so a mapping that ignored the file would fail
    unet, vae, vocoder = build_unet(TINY), build_vae(TINY), build_vocoder(TINY)
    t5 = T5EncoderModel.from_pretrained(str(folder / "text_encoder"))
    write_release(tmp_path / "release", unet, t5, vae, vocoder)
    result = convert_release(tmp_path / "release", tmp_path / "converted", folder / "tokenizer", spec=TINY)
    assert result["missing"] == [] and result["scale_factor"] == 0.5
    out = tmp_path / "converted"
    check_layout(out)
    g = torch.Generator().manual_seed(1)
    latent, mel = torch.randn(1, 8, 32, 16, generator=g), torch.randn(1, 64, 40, generator=g)
    hidden = torch.randn(1, 7, 32, generator=g)
    with torch.no_grad():
        pairs = [
            (unet(latent, 10, hidden).sample, UNet2DConditionModel.from_pretrained(str(out / "unet"))(latent, 10, hidden).sample),
            (vae.decode(latent).sample, AutoencoderKL.from_pretrained(str(out / "vae")).decode(latent).sample),
            (vae.encode(torch.randn(1, 1, 64, 64, generator=torch.Generator().manual_seed(2))).latent_dist.mean,
             AutoencoderKL.from_pretrained(str(out / "vae")).encode(
                 torch.randn(1, 1, 64, 64, generator=torch.Generator().manual_seed(2))).latent_dist.mean),
            (vocoder(mel.transpose(1, 2)), SpeechT5HifiGan.from_pretrained(str(out / "vocoder"))(mel.transpose(1, 2))),
        ]
    for want, got in pairs:
        assert torch.equal(want, got)


def test_a_release_without_a_tokenizer_says_what_is_missing(tiny, tmp_path):
    from transformers import T5EncoderModel
    torch.manual_seed(3)
    t5 = T5EncoderModel.from_pretrained(str(tiny["folder"] / "text_encoder"))
    write_release(tmp_path / "release", build_unet(TINY), t5, build_vae(TINY), build_vocoder(TINY))
    result = convert_release(tmp_path / "release", tmp_path / "converted", None, spec=TINY)
    assert len(result["missing"]) == 1 and result["missing"][0].startswith("tokenizer/")
    with pytest.raises(SystemExit, match="missing tokenizer/"):
        check_layout(tmp_path / "converted")


def test_a_release_of_another_architecture_is_refused(tiny, tmp_path):
    from transformers import T5EncoderModel
    t5 = T5EncoderModel.from_pretrained(str(tiny["folder"] / "text_encoder"))
    write_release(tmp_path / "release", build_unet(TINY), t5, build_vae(TINY), build_vocoder(TINY))
    main = torch.load(tmp_path / "release" / "pytorch_model_main.bin", weights_only=True)
    main["unet.conv_in.weight"] = torch.zeros(3, 3)
    torch.save(main, tmp_path / "release" / "pytorch_model_main.bin")
    with pytest.raises(SystemExit, match=r"unet: does not match .*conv_in.weight"):
        convert_release(tmp_path / "release", tmp_path / "converted", None, spec=TINY)
