"""The diffusion math shared with the app (../shared/design/DISTILLATION.md).

Notation (code name -> paper symbol):
  abar[t]  -> alpha-bar_t        alpha -> alpha_t = sqrt(abar_t)   sigma -> sigma_t = sqrt(1 - abar_t)
  z        -> z_t (noisy latent) x_hat -> predicted clean latent  v -> v-prediction
The TypeScript twin is src/engine/; golden.json keeps the two from drifting apart.
"""
from __future__ import annotations

import torch

NUM_TRAIN_TIMESTEPS = 1000
BETA_START, BETA_END = 0.00085, 0.012
FINAL = -1  # the point after the last step: alpha = 1, sigma = 0 (set_alpha_to_one)


def alphas_cumprod(num_train_timesteps: int = NUM_TRAIN_TIMESTEPS) -> torch.Tensor:
    """abar_t = prod_{i<=t} (1 - beta_i), "scaled_linear" betas (DISTILLATION.md section 1)."""
    betas = torch.linspace(BETA_START**0.5, BETA_END**0.5, num_train_timesteps, dtype=torch.float64) ** 2
    return torch.cumprod(1.0 - betas, dim=0)


def alpha_sigma(abar: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(alpha_t, sigma_t) for integer timesteps t, with t = FINAL giving (1, 0)."""
    t = torch.as_tensor(t)
    a = torch.where(t >= 0, abar[t.clamp(min=0)], torch.ones((), dtype=abar.dtype))
    return a.sqrt(), (1.0 - a).sqrt()


def snr(abar: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """SNR_t = alpha_t^2 / sigma_t^2."""
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
