"""Stage: progressive distillation with a choice of loss weighting (paper Algorithm 1).

Usage: python -m soundstep_factory.distill --config small --method bsa
       accelerate launch --num_processes N --multi_gpu -m soundstep_factory.distill ...  (DDP: parallel.py)

Round r trains a student for N = teacher_steps / 2^r steps to match, in one DDIM step, two
DDIM steps of its teacher (docs/sampling.md E9-E12). Round 1's teacher is the guided
teacher (scale s, two evaluations per step), so every student samples without guidance.
Beyond the paper, DistillConfig.beyond_steps continues some methods to fewer steps with a larger
factor (25 -> 5 -> 1: each student step matches five of its teacher's; E12b).
Each round starts from its teacher's weights, trains until the validation loss stops
improving (or the shared step budget ends), keeps the best weights, and hands them on.
Outputs: <work>/distill/<method>/n<N>/checkpoint.pt, resumable within and across rounds, and
<work>/distill/round1-targets/<key>/, round 1's targets shared by every method (shared_targets.py).
"""
from __future__ import annotations

import argparse
import copy
import json
from collections.abc import Callable

import torch

from . import checkpoint, sampling
from .checkpoint import load_diffusion_set, load_trained
from .config import PackConfig, cpu_threads, load_config
from .models import build_unet
from .parallel import Parallel, from_env
from .round_loop import LoopPlan, train_until_plateau
from .shared_targets import SharedTargets

torch.set_num_threads(cpu_threads())

# w(SNR_t) on the x-space error (docs/sampling.md E15-E19, paper eqs. 6-10).
WEIGHTINGS: dict[str, Callable[[torch.Tensor, float], torch.Tensor]] = {
    "eps": lambda snr, gamma: snr,                              # eq. 6: eps-MSE
    "snr-trunc": lambda snr, gamma: snr.clamp(min=1.0),         # eq. 7: Salimans & Ho
    "snr+1": lambda snr, gamma: snr + 1.0,                      # eq. 8: v-MSE
    "min-snr": lambda snr, gamma: snr.clamp(max=gamma),         # eq. 9: Min-SNR-gamma
    "bsa": lambda snr, gamma: (snr + 1.0).clamp(max=gamma),     # eq. 10: Balanced SNR-Aware
}

VPredictor = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (z, t) -> v, conditioning bound


def loss_weight(method: str, snr: torch.Tensor, gamma: float) -> torch.Tensor:
    if method not in WEIGHTINGS:
        raise ValueError(f"unknown weighting {method!r}; choose one of {', '.join(WEIGHTINGS)}")
    return WEIGHTINGS[method](snr, gamma)


def round_timesteps(n_student: int, k: torch.Tensor, factor: int = 2) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(t, path, t'') for indices k (B,): t = tau^N_k, the teacher's grid points between it and
    the student's next, path = tau^fN_(fk+1), ..., tau^fN_(fk+f-1) (B, f-1), and t'' = tau^N_(k+1) or
    FINAL (E9, with f = 2: path is t'). tau^fN_(fk) = tau^N_k, so the paths nest in both grids."""
    student = torch.tensor(sampling.trailing_grid(n_student) + [sampling.FINAL])
    teacher = torch.tensor(sampling.trailing_grid(factor * n_student))
    path = teacher[factor * k.unsqueeze(1) + torch.arange(1, factor)]
    return student[k], path, student[k + 1]


def _coefs(abar: torch.Tensor, t: torch.Tensor, dtype=torch.float32) -> tuple[torch.Tensor, torch.Tensor]:
    """(alpha_t, sigma_t) shaped (B, 1, 1, 1) to scale latents."""
    alpha, sigma = sampling.alpha_sigma(abar, t)
    return alpha.to(dtype).view(-1, 1, 1, 1), sigma.to(dtype).view(-1, 1, 1, 1)


def teacher_target(teacher_v: VPredictor, z_t: torch.Tensor, t: torch.Tensor, path: torch.Tensor,
                   t_next: torch.Tensor, abar: torch.Tensor) -> torch.Tensor:
    """x_target: the x_hat whose single DDIM step t -> t'' lands where the teacher's DDIM steps
    t -> path -> t'' land (E10-E12: two steps through t' in the paper; E12b: f steps).

    Float32 throughout: the denominator is ~0.004 at the top step for N = 100 and amplifies error.
    """
    z, t_from = z_t, t
    for t_to in [*path.unbind(1), t_next]:  # z' (, ...), z''
        a_f, s_f = _coefs(abar, t_from, z_t.dtype)
        a_to, s_to = _coefs(abar, t_to, z_t.dtype)
        z, t_from = sampling.ddim_step_v(z, teacher_v(z, t_from), a_f, s_f, a_to, s_to), t_to
    a_t, s_t = _coefs(abar, t, z_t.dtype)
    a_n, s_n = _coefs(abar, t_next, z_t.dtype)
    ratio = s_n / s_t  # 0 when t'' is FINAL, and then x_target = z''
    return (z - ratio * z_t) / (a_n - ratio * a_t)


class Conditioning:
    """Text states of a batch, and how a denoiser is called on them (guided or not)."""

    def __init__(self, hidden, mask, uncond_hidden, uncond_mask):
        self.hidden, self.mask = hidden, mask  # (B, L, H), (B, L)
        self.uncond_hidden, self.uncond_mask = uncond_hidden, uncond_mask  # (L, H), (L,)

    def predictor(self, unet, guidance_scale: float | None) -> VPredictor:
        if guidance_scale is None:
            return lambda z, t: unet(z, t, encoder_hidden_states=self.hidden, encoder_attention_mask=self.mask).sample
        b = len(self.hidden)
        hidden = torch.cat([self.hidden, self.uncond_hidden.expand(b, -1, -1)])  # (2B, L, H)
        mask = torch.cat([self.mask, self.uncond_mask.expand(b, -1)])

        def guided(z, t):  # classifier-free guidance in one batch of 2B (E20)
            return sampling.guided_v(lambda rows: unet(rows, torch.cat([t, t]), encoder_hidden_states=hidden,
                                                       encoder_attention_mask=mask).sample, z, guidance_scale)
        return guided


def student_x_hat(student, z_t, t, cond: Conditioning, abar) -> torch.Tensor:
    """x_hat_student = alpha_t z_t - sigma_t v_hat (E4)."""
    a_t, s_t = _coefs(abar, t)
    return sampling.x_from_v(z_t, cond.predictor(student, None)(z_t, t), a_t, s_t)


def make_batch(x0, hidden, mask, rows, n_student, g, abar, device="cpu", factor: int = 2):
    """Noisy latents at the student's grid points, with their timesteps and teacher paths (E1, E9).

    The random draws come from the CPU generator `g` on every device, so a GPU run trains on
    the same batches as a CPU run of the same round."""
    k = torch.randint(0, n_student, (len(rows),), generator=g)
    t, path, t_next = round_timesteps(n_student, k, factor)
    a_t, s_t = _coefs(abar, t)
    eps = torch.randn(x0[rows].shape, generator=g)
    batch = sampling.q_sample(x0[rows], eps, a_t, s_t), t, path, t_next, hidden[rows], mask[rows]
    return tuple(x.to(device) for x in batch)


def weighted_loss(method, gamma, x_hat, x_target, t, abar) -> torch.Tensor:
    """E_k[ w(SNR_t) * mean((x_hat - x_target)^2) ] (E13)."""
    per_sample = (x_hat - x_target).pow(2).mean(dim=(1, 2, 3))
    return (loss_weight(method, sampling.snr(abar, t).float(), gamma) * per_sample).mean()


def step_generator(n_student: int, step: int) -> torch.Generator:
    """The random draws of training step `step`: the same whether the round ran straight through or
    was resumed, and the same for every weighting, so round 1's targets can be shared."""
    return torch.Generator().manual_seed(1000 * n_student + step)


def round_lr(step: int, total: int, base: float, warmup: int) -> float:
    """Linear warm-up over `warmup` steps, then linear decay to 0 at `total` (Salimans & Ho anneal)."""
    return base * min(1.0, (step + 1) / max(1, warmup)) * (1 - step / total)


def distill_round(cfg: PackConfig, method: str, teacher, guidance: float | None, n_student: int,
                  data: dict, out_dir, device: str = "cpu", factor: int = 2,
                  par: Parallel | None = None) -> tuple[torch.nn.Module, dict]:
    """One round: a student for `n_student` steps, each matching `factor` steps of `teacher`.
    Under `par` of several processes (parallel.py), each trains on its shard of every batch."""
    d, par = cfg.distill, par or Parallel(device)
    saved_at = out_dir / "checkpoint.pt"
    state = checkpoint.load(saved_at)
    if state is not None and state["extra"].get("done"):
        student = copy.deepcopy(teacher)
        student.load_state_dict(state["model"])
        return student.eval(), state["extra"]
    abar_cpu = sampling.alphas_cumprod()  # indexes the timesteps make_batch draws on the CPU
    abar = abar_cpu.to(device)
    x0, hidden, mask = data["x0"], data["hidden"], data["mask"]
    uncond = (data["uncond_hidden"].to(device), data["uncond_mask"].to(device))
    teacher = teacher.to(device)
    teacher.eval().requires_grad_(False)

    # A fixed validation set: its own rows, noise and k; targets computed once.
    g_val = torch.Generator().manual_seed(12345)
    val_rows = torch.randperm(len(x0), generator=g_val)[: d.val_size]
    z_v, t_v, path_v, tn_v, h_v, m_v = make_batch(x0, hidden, mask, val_rows, n_student, g_val, abar_cpu, device,
                                                  factor)
    val_cond = Conditioning(h_v, m_v, *uncond)
    with torch.no_grad():  # only the main process validates: the others get its numbers (from_main)
        target_v = teacher_target(val_cond.predictor(teacher, guidance), z_v, t_v, path_v, tn_v, abar) \
            if par.is_main else None

    def validate(model) -> tuple[float, float]:
        if not par.is_main:
            return par.from_main((0.0, 0.0))
        with torch.no_grad():
            x_hat = student_x_hat(model, z_v, t_v, val_cond, abar)
        return par.from_main((float(weighted_loss(method, d.gamma, x_hat, target_v, t_v, abar)),
                              float((x_hat - target_v).pow(2).mean())))

    student = copy.deepcopy(teacher).train().requires_grad_(True)
    optimizer = torch.optim.AdamW(student.parameters(), lr=d.lr, weight_decay=0.0)
    shared, targets_read = None, 0
    if guidance is not None and d.share_round1_targets:
        key = SharedTargets.key(teacher, data, guidance, n_student, d.batch_size)
        shared = SharedTargets(cfg.work_dir / "distill" / "round1-targets" / key, d.eval_every)
    model = par.prepare(student)  # DDP's wrapper under accelerate: trains `student`'s weights
    if par.world_size > 1 and par.is_main:
        print(f"[distill {method} N={n_student}] world size {par.world_size}: "
              f"{d.batch_size // par.world_size} of each step's {d.batch_size} rows per process", flush=True)
    # Round 1 distills the guided teacher from far away: full rate at once. Later halving rounds: see
    # later_lr. A round past the paper's (factor > 2) starts far from its target too: full rate, warmed up.
    if guidance is not None:
        base_lr, warmup = d.lr, 0
    else:
        base_lr, warmup = (d.later_lr if factor == 2 else d.lr), d.warmup_steps

    def train_step(step: int) -> torch.Tensor:
        nonlocal targets_read
        g = step_generator(n_student, step)
        rows = torch.randint(0, len(x0), (d.batch_size,), generator=g)
        # The global batch's draws on every process; this process's rows of it (all of them in one process).
        z_t, t, t_path, t_next, h, m = par.shard(make_batch(x0, hidden, mask, rows, n_student, g, abar_cpu, "cpu",
                                                            factor))
        cond = Conditioning(h, m, *uncond)
        x_target = shared.get(step) if shared is not None else None
        read = par.all_agree(x_target is not None)  # read by all, or computed by all (a chunk may land between)
        targets_read += read
        if read and x_target is not None:  # (read implies it; for the type checker)
            (x_target,) = par.shard((x_target,))
        else:
            with torch.no_grad():
                x_target = teacher_target(cond.predictor(teacher, guidance), z_t, t, t_path, t_next, abar)
            if shared is not None:
                every_row = par.gather(x_target)  # (B, C, T, F) in row order: one chunk for any world size
                if par.is_main:
                    shared.put(step, every_row)
        x_target = x_target.to(device)
        loss = weighted_loss(method, d.gamma, student_x_hat(model, z_t, t, cond, abar), x_target, t, abar)
        optimizer.zero_grad(set_to_none=True)
        par.backward(loss)  # DDP averages the shards' gradients: the global batch's mean
        par.clip_grad_norm_(student.parameters(), 1.0)
        optimizer.step()
        return loss

    stage = f"distill-{method}-{n_student}"
    plan = LoopPlan(d.max_steps, d.eval_every, d.patience, lambda step: round_lr(step, d.max_steps, base_lr, warmup),
                    f"distill {method} N={n_student}")
    done = train_until_plateau(
        student, optimizer, state, plan, train_step, lambda: validate(student),
        lambda step, history, extra: checkpoint.save(saved_at, cfg=cfg, stage=stage, step=step, model=student,
                                                     optimizer=optimizer, history=history, extra=extra), par)
    extra = {"done": True, "best": done.best, "steps_trained": done.step, "method": method, "n_student": n_student,
             "factor": factor, "stopped": done.stopped, "device": device_name(device),
             "seconds": done.seconds,  # of the last (resumed) session of the round
             "targets_read_from_shared": targets_read, "processes": par.world_size}
    if par.is_main:
        checkpoint.save(saved_at, cfg=cfg, stage=stage, step=done.step, model=student, history=done.history,
                        extra=extra)
    par.wait()  # the next round, or the caller, may read this checkpoint
    return student.eval(), extra


def distill_data(cfg: PackConfig) -> dict:
    """The train split's scaled latents x0 (N, C, T, F), text states and captions."""
    feats = load_diffusion_set(cfg)
    return {k: feats[k] for k in ("x0", "hidden", "mask", "uncond_hidden", "uncond_mask", "captions")}


def student_steps(cfg: PackConfig, method: str | None = None) -> list[int]:
    """The step counts of `method`'s students, round by round: the paper's halvings, then, for the
    methods DistillConfig.beyond_methods names, its beyond_steps (None: the halvings only)."""
    d = cfg.distill
    halvings = [d.teacher_steps // 2 ** r for r in range(1, d.rounds + 1)]
    return halvings + list(d.beyond_steps) if method in d.beyond_methods else halvings


def round_factors(steps: list[int], teacher_steps: int) -> list[int]:
    """How many of its teacher's steps each student step matches, round by round (2 in the paper)."""
    factors = [teacher // n for teacher, n in zip([teacher_steps, *steps], steps)]
    for teacher, n, f in zip([teacher_steps, *steps], steps, factors):
        if teacher != f * n:
            raise ValueError(f"a {n}-step student cannot match its {teacher}-step teacher step for step: "
                             f"choose step counts that divide the previous round's")
    return factors


def round_done(cfg: PackConfig, method: str, n_student: int) -> bool:
    state = checkpoint.load(cfg.work_dir / "distill" / method / f"n{n_student}" / "checkpoint.pt")
    return state is not None and bool(state["extra"].get("done"))


def device_name(device: str) -> str:
    return torch.cuda.get_device_name(device) if str(device).startswith("cuda") else "cpu"


def distill(cfg: PackConfig, method: str, device: str = "cpu", par: Parallel | None = None) -> list[dict]:
    """All rounds for one weighting; returns each round's summary (par: parallel.py's processes)."""
    par = par or Parallel(device)
    data = distill_data(cfg)
    teacher = load_trained(cfg, "teacher", build_unet(cfg, data["hidden"].shape[-1]))
    summaries: list[dict] = []
    guidance: float | None = cfg.guidance_scale
    steps = student_steps(cfg, method)
    done = [n for n in steps if round_done(cfg, method, n)]
    for n, factor in zip(steps, round_factors(steps, cfg.distill.teacher_steps)):
        if n not in done and any(later < n for later in done):
            # from_pack brought back a later round (a pack ships a method's last halving round only)
            summaries.append({"n_student": n, "factor": factor, "skipped": "a later round is done"})
            guidance = None
            continue
        teacher, summary = distill_round(cfg, method, teacher, guidance, n, data,
                                         cfg.work_dir / "distill" / method / f"n{n}", par.device, factor, par)
        summaries.append(summary)
        guidance = None  # later rounds distill the (unguided) previous student
    return summaries


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="small")
    ap.add_argument("--method", choices=list(WEIGHTINGS), action="append",
                    help="repeat for several; default: every method of the recipe")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = ap.parse_args()
    par = from_env(args.device)  # several processes under `accelerate launch`, else one on --device
    if par.device.startswith("cuda"):
        # Full float32: the x_target denominator (~0.004 at the top step) amplifies TF32's error.
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    cfg = load_config(args.config)
    for method in args.method or cfg.distill.methods:
        summaries = distill(cfg, method, par.device, par)
        if par.is_main:
            print(json.dumps(summaries, default=str))


if __name__ == "__main__":
    main()
