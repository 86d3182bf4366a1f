"""Distillation on a lent GPU machine: what travels there, and the students that come back.

Usage (scripts/distill_on_gpu.sh runs the middle two on the GPU machine):
  here:   python -m soundstep_factory.gpu_bundle pack    --out ../.devbundle
  there:  python -m soundstep_factory.gpu_bundle unpack  --bundle ../.devbundle   (SOUNDSTEP_WORK set)
          python -m soundstep_factory.distill --method bsa --device cuda          (one per method)
          python -m soundstep_factory.gpu_bundle collect --out $OUT
  here:   python -m soundstep_factory.gpu_bundle restore --files <the returned files>

With `pack --train-teacher` the bundle carries no teacher: the GPU machine trains one from
scratch on the bundle's latents (`train --stage teacher --device cuda`, TRAIN_TEACHER=1 in the
script) before distilling, and `collect` returns it too (teacher.pt: its EMA weights, float32),
so a new teacher recipe (a new U-Net class, more steps) and its students come back from one run.

The machine takes 64 MiB of files in all, the repository included, so the bundle is small:
  - the train latents x0 in float16 (19.7 MB; relative rounding 2^-11, far below the smallest
    noise level of the grid, sigma ~0.03);
  - the train captions: the text states are recomputed there with the pack's own encoder
    graph, and checked against rows computed here;
  - of the teacher, only the tensors the pack's teacher graph does not hold as they are (checked
    here at pack time): a few kB of group-norm parameters for a float32 graph, but 7.9 MB for the
    int8 graph the pack now ships, which makes the bundle 32 MB. With the repository's 41 MB that
    is over the 64 MiB the machine takes: carry a float32 teacher graph in a smaller checkout.
What comes back is at most 8 files: per method, every round's student as its float16 difference
from the teacher, with the round's history. `restore` writes ordinary distill checkpoints here.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import onnx
import torch
from onnx import numpy_helper

from . import checkpoint
from .checkpoint import load_trained
from .config import PackConfig, default_out, load_config
from .distill import distill_data, student_steps
from .models import build_unet
from .text import UNCONDITIONAL_PROMPT, TextEmbedder

CHECK_ROWS = 16  # text-state rows computed here that the GPU machine must reproduce
TEXT_FILES = ("text_encoder.onnx", "tokenizer.json", "tokenizer_config.json")


def teacher_from_graph(pack_dir: Path) -> dict[str, torch.Tensor]:
    """The teacher U-Net tensors that the pack's teacher.onnx keeps under their own names, as
    float32 (an int8- or float16-stored weight is renamed `<name>_int8` / `_fp16` and is not here)."""
    graph = onnx.load(str(pack_dir / "denoisers" / "teacher.onnx"))
    prefix = "unet."  # export wraps the U-Net as `unet`
    return {i.name[len(prefix):]: torch.from_numpy(numpy_helper.to_array(i).copy())
            for i in graph.graph.initializer if i.name.startswith(prefix) and i.data_type == onnx.TensorProto.FLOAT}


def pack(cfg: PackConfig, out: Path, pack_dir: Path, train_teacher: bool = False) -> dict:
    """The bundle; with `train_teacher`, without a teacher (the GPU machine trains its own)."""
    data = distill_data(cfg)  # train split
    teacher, in_graph = {}, {}
    if not train_teacher:
        teacher = load_trained(cfg, "teacher", build_unet(cfg, data["hidden"].shape[-1])).state_dict()
        in_graph = {k: w for k, w in teacher_from_graph(pack_dir).items() if k in teacher}
        if any(not torch.equal(w, teacher[k]) for k, w in in_graph.items()):
            raise SystemExit(f"{pack_dir}/denoisers/teacher.onnx does not hold the teacher checkpoint's weights: "
                             "re-export the pack before packing a bundle")
    x0 = data["x0"]  # (N, C, T, F)
    bundle = {
        "x0": x0.half(), "captions": data["captions"],
        "hidden_check": data["hidden"][:CHECK_ROWS].clone(), "mask_check": data["mask"][:CHECK_ROWS].clone(),
        "text_info": json.loads((cfg.work_dir / "text" / "text_info.json").read_text()),
        # Tensors the graph does not hold as they are: the group norms' (renamed by the export),
        # and every weight the pack stores compressed (int8 U-Nets: nearly all, 7.9 MB).
        "teacher_rest": None if train_teacher else {k: v for k, v in teacher.items() if k not in in_graph},
    }
    out.mkdir(parents=True, exist_ok=True)
    torch.save(bundle, out / f"{cfg.recipe}.pt")
    return {"bundle": str(out / f"{cfg.recipe}.pt"), "rows": len(x0),
            "x0_max_rounding": float((x0 - x0.half().float()).abs().max()),
            "teacher_tensors_from_graph": len(in_graph), "teacher_tensors_carried": len(teacher) - len(in_graph)}


def unpack(cfg: PackConfig, bundle_dir: Path, pack_dir: Path) -> dict:
    """Rebuild the work dir the distill stage reads: features.pt, latents.pt, teacher/checkpoint.pt."""
    bundle = torch.load(bundle_dir / f"{cfg.recipe}.pt", weights_only=False)
    work, text_dir = cfg.work_dir, cfg.work_dir / "text"
    text_dir.mkdir(parents=True, exist_ok=True)
    for name in TEXT_FILES:
        (text_dir / name).unlink(missing_ok=True)
        (text_dir / name).symlink_to((pack_dir / name).resolve())
    (text_dir / "text_info.json").write_text(json.dumps(bundle["text_info"]))
    hidden_np, mask_np = TextEmbedder(cfg, text_dir)(bundle["captions"] + [UNCONDITIONAL_PROMPT])
    hidden, mask = torch.from_numpy(hidden_np), torch.from_numpy(mask_np)
    if not torch.equal(mask[:CHECK_ROWS], bundle["mask_check"]):
        raise SystemExit("the tokenizer here gives other tokens than where the bundle was packed")
    text_error = float((hidden[:CHECK_ROWS] - bundle["hidden_check"]).abs().max())
    n = len(bundle["captions"])
    torch.save({"captions": bundle["captions"], "split": ["train"] * n,
                "hidden": hidden[:-1], "mask": mask[:-1], "uncond_hidden": hidden[-1], "uncond_mask": mask[-1]},
               work / "features.pt")
    torch.save({"latents": bundle["x0"].float(), "scale": 1.0}, work / "latents.pt")
    if bundle["teacher_rest"] is None:  # packed with --train-teacher: train --stage teacher comes next
        return {"rows": n, "text_max_abs_error": text_error, "teacher": "to be trained here"}
    unet = build_unet(cfg, hidden.shape[-1])
    in_graph = teacher_from_graph(pack_dir)
    unet.load_state_dict({k: bundle["teacher_rest"].get(k, in_graph.get(k)) for k in unet.state_dict()})
    checkpoint.save(work / "teacher" / "checkpoint.pt", cfg=cfg, stage="teacher", step=0, model=unet,
                    extra={"from": str(pack_dir / "denoisers" / "teacher.onnx")})
    return {"rows": n, "text_max_abs_error": text_error}


def _hidden_size(cfg: PackConfig) -> int:
    return json.loads((cfg.work_dir / "text" / "text_info.json").read_text())["hidden_size"]


def _teacher(cfg: PackConfig):
    """The teacher U-Net as distillation loads it (EMA weights)."""
    return load_trained(cfg, "teacher", build_unet(cfg, _hidden_size(cfg)))


def collect(cfg: PackConfig, out: Path, methods: list[str], with_teacher: bool = False) -> dict:
    """Per method one file: each finished round's student as float16 weights minus the teacher's;
    `with_teacher` (a teacher trained on this machine), teacher.pt too."""
    teacher = _teacher(cfg).state_dict()
    out.mkdir(parents=True, exist_ok=True)
    report = {}
    if with_teacher:
        trained = checkpoint.load(cfg.work_dir / "teacher" / "checkpoint.pt")
        if trained is None:
            raise SystemExit(f"collect --with-teacher: no teacher checkpoint in {cfg.work_dir / 'teacher'}")
        if "from" in trained["extra"]:
            raise SystemExit("collect --with-teacher: this teacher was unpacked from the pack's graph, not trained here")
        torch.save({"weights": teacher, "step": trained["step"], "history": trained["history"],
                    "revision": trained["revision"]}, out / "teacher.pt")
        report["teacher"] = {"steps": trained["step"], "final_loss": trained["history"][-1]["loss"]}
    for method in methods:
        rounds = {}
        for n in student_steps(cfg, method):
            state = checkpoint.load(cfg.work_dir / "distill" / method / f"n{n}" / "checkpoint.pt")
            if state is None or not state["extra"].get("done"):
                break
            delta = {k: (v - teacher[k]).half() for k, v in state["model"].items()}
            error = max(float((teacher[k] + delta[k].float() - v).abs().max()) for k, v in state["model"].items())
            rounds[n] = {"delta": delta, "history": state["history"], "extra": state["extra"],
                         "step": state["step"], "revision": state["revision"], "restore_max_abs_error": error}
            report[f"{method}/n{n}"] = {"best": state["extra"]["best"], "steps": state["step"],
                                        "stopped": state["extra"]["stopped"], "restore_max_abs_error": error}
        if rounds:  # the device tool returns only names of letters, digits, '.', '_' and '-'
            torch.save(rounds, out / f"students-{method.replace('+', '_plus_')}.pt")
    return report


def restore(cfg: PackConfig, files: list[Path], dest: Path) -> dict:
    """Write <dest>/<method>/n<N>/checkpoint.pt from collected files, teacher + delta in float32;
    a returned teacher.pt first becomes the teacher checkpoint (its EMA weights, as trained there)."""
    report = {}
    for f in [f for f in files if f.name == "teacher.pt"]:
        trained = torch.load(f, weights_only=False)
        unet = build_unet(cfg, _hidden_size(cfg))
        unet.load_state_dict(trained["weights"])
        checkpoint.save(cfg.work_dir / "teacher" / "checkpoint.pt", cfg=cfg, stage="teacher", step=trained["step"],
                        model=unet, history=trained["history"],
                        extra={"weights": "EMA, trained on a lent GPU", "trained_at_revision": trained["revision"]})
        report["teacher"] = {"steps": trained["step"]}
    files = [f for f in files if f.name != "teacher.pt"]
    teacher_model = _teacher(cfg)
    teacher = {k: v.clone() for k, v in teacher_model.state_dict().items()}
    for f in files:
        for n, r in torch.load(f, weights_only=False).items():
            method = r["extra"]["method"]
            teacher_model.load_state_dict({k: teacher[k] + d.float() for k, d in r["delta"].items()})
            extra = {**r["extra"], "weights": "float16 difference from the teacher, restored "
                     f"(max abs weight error {r['restore_max_abs_error']:.2e})", "trained_at_revision": r["revision"]}
            checkpoint.save(dest / method / f"n{n}" / "checkpoint.pt", cfg=cfg, stage=f"distill-{method}-{n}",
                            step=r["step"], model=teacher_model, history=r["history"], extra=extra)
            report[f"{method}/n{n}"] = {"best": extra["best"], "stopped": extra["stopped"],
                                        "device": extra.get("device"), "seconds": extra.get("seconds")}
        teacher_model.load_state_dict(teacher)
    return report


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("command", choices=["pack", "unpack", "collect", "restore"])
    ap.add_argument("--config", default="small")
    ap.add_argument("--out", type=Path)
    ap.add_argument("--bundle", type=Path)
    ap.add_argument("--files", type=Path, nargs="*")
    ap.add_argument("--method", action="append", help="collect: default every method of the recipe")
    ap.add_argument("--train-teacher", action="store_true",
                    help="pack: carry no teacher; the GPU machine trains one (TRAIN_TEACHER=1 in the script)")
    ap.add_argument("--with-teacher", action="store_true", help="collect: return the teacher trained there too")
    args = ap.parse_args()
    cfg = load_config(args.config)
    pack_dir = default_out(cfg)
    if args.command == "pack":
        result = pack(cfg, args.out, pack_dir, train_teacher=args.train_teacher)
    elif args.command == "unpack":
        result = unpack(cfg, args.bundle, pack_dir)
    elif args.command == "collect":
        result = collect(cfg, args.out, args.method or list(cfg.distill.methods), with_teacher=args.with_teacher)
    else:
        result = restore(cfg, args.files, cfg.work_dir / "distill")
    print(json.dumps(result, indent=1, default=str))


if __name__ == "__main__":
    main()
