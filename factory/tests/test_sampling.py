"""The diffusion math of DISTILLATION.md, checked on values."""
import torch

from soundstep_factory import sampling


def test_schedule_endpoints():
    abar = sampling.alphas_cumprod()
    betas = 1 - abar[1:] / abar[:-1]
    assert abs(float(1 - abar[0]) - 0.00085) < 1e-12
    assert abs(float(betas[-1]) - 0.012) < 1e-9
    assert torch.all(abar[1:] < abar[:-1])
    # SNR falls below 5 near t = 150 (DISTILLATION.md section 7).
    crossing = int(torch.nonzero(sampling.snr(abar, torch.arange(1000)) < 5)[0])
    assert 130 <= crossing <= 170


def test_trailing_grid_values_and_nesting():
    assert sampling.trailing_grid(200)[:3] == [999, 994, 989]
    assert sampling.trailing_grid(200)[-1] == 4
    assert sampling.trailing_grid(4) == [999, 749, 499, 249]
    for n in (100, 50, 25):
        assert sampling.trailing_grid(n) == sampling.trailing_grid(2 * n)[0::2]


def test_final_point_is_clean():
    abar = sampling.alphas_cumprod()
    alpha, sigma = sampling.alpha_sigma(abar, torch.tensor(sampling.FINAL))
    assert float(alpha) == 1.0 and float(sigma) == 0.0


def test_ddim_with_true_v_recovers_the_forward_process():
    """With the exact v, a DDIM step from t lands on alpha_s x + sigma_s eps (same eps)."""
    abar = sampling.alphas_cumprod()
    g = torch.Generator().manual_seed(0)
    x, eps = torch.randn(3, 4, 8, 8, generator=g, dtype=torch.float64), torch.randn(3, 4, 8, 8, generator=g, dtype=torch.float64)
    a_t, s_t = sampling.alpha_sigma(abar, torch.tensor(999))
    a_s, s_s = sampling.alpha_sigma(abar, torch.tensor(499))
    z_t = sampling.q_sample(x, eps, a_t, s_t)
    v = sampling.v_target(x, eps, a_t, s_t)
    z_s = sampling.ddim_step_v(z_t, v, a_t, s_t, a_s, s_s)
    assert torch.allclose(z_s, a_s * x + s_s * eps, atol=1e-12)
    assert torch.allclose(sampling.x_from_v(z_t, v, a_t, s_t), x, atol=1e-12)


def test_guidance_coefficients_sum_to_one():
    u, c = torch.tensor([1.0, 2.0]), torch.tensor([3.0, -1.0])
    assert torch.allclose(sampling.guide(u, c, 3.0), torch.tensor([7.0, -7.0]))
    assert torch.allclose(sampling.guide(u, c, 1.0), c)
