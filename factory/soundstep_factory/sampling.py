"""The diffusion math shared with the app, and its one sampler loop (docs/sampling.md).

Notation (code name -> symbol of docs/sampling.md):
  abar[t]  -> alpha-bar_t        alpha -> alpha_t = sqrt(abar_t)   sigma -> sigma_t = sqrt(1 - abar_t)
  z        -> z_t (noisy latent) x_hat -> predicted clean latent  v -> v-prediction
  guidance -> guidance scale w   g_cond, g_uncond -> g_c, g_u (with the prompt, with "")
The TypeScript twin is src/engine/ (sample.ts for the loop); golden.json keeps the two from
drifting apart.

    z0 = sample(denoise, noise, trailing_grid(25), alphas_cumprod(), guidance=3.0)  # (B, C, T, F)
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

NUM_TRAIN_TIMESTEPS = 1000
BETA_START, BETA_END = 0.00085, 0.012
FINAL = -1  # the point after the last step: alpha = 1, sigma = 0 (set_alpha_to_one)


def alphas_cumprod(num_train_timesteps: int = NUM_TRAIN_TIMESTEPS) -> torch.Tensor:
    """abar_t = prod_{i<=t} (1 - beta_i), "scaled_linear" betas (E2)."""
    betas = torch.linspace(BETA_START**0.5, BETA_END**0.5, num_train_timesteps, dtype=torch.float64) ** 2
    return torch.cumprod(1.0 - betas, dim=0)


def alpha_sigma(abar: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(alpha_t, sigma_t) for integer timesteps t, with t = FINAL giving (1, 0) (E2)."""
    t = torch.as_tensor(t)
    a = torch.where(t >= 0, abar[t.clamp(min=0)], torch.ones((), dtype=abar.dtype))
    return a.sqrt(), (1.0 - a).sqrt()


def snr(abar: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """SNR_t = alpha_t^2 / sigma_t^2 (E2)."""
    a = abar[torch.as_tensor(t)]
    return a / (1.0 - a)


def trailing_grid(n: int, num_train_timesteps: int = NUM_TRAIN_TIMESTEPS) -> list[int]:
    """tau^N_k = round(T - k T / N) - 1 for k = 0..N-1, descending (E8)."""
    return [round(num_train_timesteps - k * num_train_timesteps / n) - 1 for k in range(n)]


def q_sample(x: torch.Tensor, eps: torch.Tensor, alpha: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """Forward process z_t = alpha_t x + sigma_t eps (E1)."""
    return alpha * x + sigma * eps


def v_target(x: torch.Tensor, eps: torch.Tensor, alpha: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """v = alpha eps - sigma x (E5)."""
    return alpha * eps - sigma * x


def x_from_v(z: torch.Tensor, v: torch.Tensor, alpha: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """x_hat = alpha z - sigma v (E4)."""
    return alpha * z - sigma * v


def guide(g_uncond: torch.Tensor, g_cond: torch.Tensor, scale: float) -> torch.Tensor:
    """Classifier-free guidance g = g_u + s (g_c - g_u) (E20)."""
    return g_uncond + scale * (g_cond - g_uncond)


def ddim_step_v(z: torch.Tensor, v: torch.Tensor, alpha_t, sigma_t, alpha_s, sigma_s) -> torch.Tensor:
    """DDIM (eta = 0) from t to s with a v-prediction (E7): z_s = alpha_s x_hat + sigma_s eps_hat."""
    x_hat = x_from_v(z, v, alpha_t, sigma_t)
    eps_hat = sigma_t * z + alpha_t * v  # E4
    return alpha_s * x_hat + sigma_s * eps_hat


# The network: z (R, C, T, F) at integer timestep t -> v (R, C, T, F). Guided, R = 2B: rows
# [0, B) take the prompts, rows [B, 2B) the empty prompt; unguided, R = B.
Denoise = Callable[[torch.Tensor, int], torch.Tensor]
Guidance = float | None


def sample(denoise: Denoise, noise: torch.Tensor, grid: Sequence[int], abar: torch.Tensor,
           guidance: Guidance | Sequence[Guidance] = None,
           on_step: Callable[[int, torch.Tensor], None] | None = None) -> torch.Tensor:
    """DDIM (eta = 0) with a v-prediction network from z = noise (B, C, T, F) at grid[0] to x_hat
    at FINAL (E7, E8), guided (E20) when `guidance` is a scale; a list gives step k its own
    (None: unguided). on_step(k, z) is called after step k. One denoise call per step."""
    z = noise
    for k, t in enumerate(grid):
        s = grid[k + 1] if k + 1 < len(grid) else FINAL  # E8
        scale = guidance[k] if isinstance(guidance, Sequence) else guidance
        z = sample_step(denoise, z, t, s, abar, scale)
        if on_step is not None:
            on_step(k, z)
    return z


def sample_step(denoise: Denoise, z: torch.Tensor, t: int, s: int, abar: torch.Tensor,
                guidance: Guidance = None) -> torch.Tensor:
    """One step of sample(): the (guided) v at t, then DDIM from t to s (E20, E7), in z's dtype."""
    if guidance is None:
        v = _checked(denoise(z, t), z, 1)
    else:
        v = guided_v(lambda rows: denoise(rows, t), z, guidance)
    a_t, s_t = (float(x) for x in alpha_sigma(abar, torch.tensor(t)))
    a_s, s_s = (float(x) for x in alpha_sigma(abar, torch.tensor(s)))
    return ddim_step_v(z, v, a_t, s_t, a_s, s_s).to(z.dtype)


def guided_v(denoise_rows: Callable[[torch.Tensor], torch.Tensor], z: torch.Tensor, scale: float) -> torch.Tensor:
    """Classifier-free guidance in one network call (E20): rows [z; z] -> [v_c; v_u] -> g_u + w (g_c - g_u)."""
    v_cond, v_uncond = _checked(denoise_rows(torch.cat([z, z])), z, 2).chunk(2)  # 1. batch, 2. split
    return guide(v_uncond, v_cond, scale)  # 3. combine


def _checked(v: torch.Tensor, z: torch.Tensor, rows: int) -> torch.Tensor:
    if v.shape != (rows * len(z), *z.shape[1:]):
        raise ValueError(f"denoise returned shape {tuple(v.shape)}, expected {rows} x {tuple(z.shape)}")
    return v
