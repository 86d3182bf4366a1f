"""The diffusion math of docs/sampling.md and the sampler loop, checked on values and on the
shipped pack's golden.json."""
import json

import pytest
import torch

from soundstep_factory import sampling
from soundstep_factory.config import REPO_DIR


def test_schedule_endpoints():
    abar = sampling.alphas_cumprod()
    betas = 1 - abar[1:] / abar[:-1]
    assert abs(float(1 - abar[0]) - 0.00085) < 1e-12
    assert abs(float(betas[-1]) - 0.012) < 1e-9
    assert torch.all(abar[1:] < abar[:-1])
    # SNR falls below 5 near t = 150 (docs/sampling.md E2).
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


def test_sample_with_the_exact_v_ends_at_x():
    """A deterministic sampler: with the exact v of a fixed x at every step, sample() returns x (E5, E7, E8)."""
    abar = sampling.alphas_cumprod()
    g = torch.Generator().manual_seed(1)
    x, eps = torch.randn(2, 4, 8, 8, generator=g, dtype=torch.float64), torch.randn(2, 4, 8, 8, generator=g, dtype=torch.float64)

    def oracle(z, t):
        a, s = sampling.alpha_sigma(abar, torch.tensor(t))
        return sampling.v_target(x, eps, a, s)
    for steps in (1, 4, 25):
        grid = sampling.trailing_grid(steps)
        a0, s0 = sampling.alpha_sigma(abar, torch.tensor(grid[0]))
        seen = []
        z = sampling.sample(oracle, sampling.q_sample(x, eps, a0, s0), grid, abar, on_step=lambda k, zk, seen=seen: seen.append(k))
        assert torch.allclose(z, x, atol=1e-10, rtol=0)
        assert seen == list(range(steps))


def _toy(z, t):
    """A smooth network whose rows differ: with 2B rows, the first B are conditional (+0.3)."""
    shift = torch.full((len(z), 1, 1, 1), 0.3, dtype=z.dtype)
    if len(z) == 4:  # guided batch of B = 2
        shift[2:] = -0.2
    return torch.tanh(z) * (1 + t / 1000) + shift


def test_guided_sample_batches_cond_then_uncond_and_combines_with_e20():
    abar = sampling.alphas_cumprod()
    z = torch.randn(2, 3, 4, 4, generator=torch.Generator().manual_seed(2))
    calls = []

    def spy(zz, t):
        calls.append((zz.clone(), t))
        return _toy(zz, t)
    out = sampling.sample_step(spy, z, 749, 499, abar, 3.0)
    (given, t), = calls
    assert t == 749 and torch.equal(given, torch.cat([z, z]))
    both = _toy(given, t)
    expected = sampling.sample_step(lambda zz, tt: sampling.guide(both[2:], both[:2], 3.0), z, 749, 499, abar)
    assert torch.equal(out, expected)
    # at scale 1 the guided sampler is the conditional rows' unguided sampler
    grid = sampling.trailing_grid(4)
    guided = sampling.sample(_toy, z, grid, abar, 1.0)
    cond_only = sampling.sample(lambda zz, tt: _toy(torch.cat([zz, zz]), tt)[:2], z, grid, abar)
    assert torch.allclose(guided, cond_only, atol=1e-6, rtol=0)
    # per-step guidance: None at a step means one unguided call there
    calls.clear()
    sampling.sample(spy, z, grid, abar, [3.0, None, 3.0, None])
    assert [len(c[0]) for c in calls] == [4, 2, 4, 2] and [c[1] for c in calls] == grid


def test_sample_refuses_a_network_output_of_the_wrong_shape():
    abar = sampling.alphas_cumprod()
    z = torch.zeros(1, 2, 2, 2)
    with pytest.raises(ValueError, match="expected 2 x"):
        sampling.sample(lambda zz, t: zz[:1], z, [999], abar, 3.0)


# ---------------------------------------------------------------- golden.json of the shipped pack
SHIPPED_GOLDEN = REPO_DIR / "public" / "models" / "soundstep-small" / "golden.json"
Z_TOLERANCE = 1e-6  # the stored z were computed from the stored v by this very arithmetic (float32)


@pytest.fixture(scope="module")
def trajectory():
    if not SHIPPED_GOLDEN.is_file():
        pytest.fail(f"the shipped pack's golden file is missing: {SHIPPED_GOLDEN} (build it with soundstep_factory.build)")
    return json.loads(SHIPPED_GOLDEN.read_text())["trajectory"]


def _stored_network(traj, swap=False):
    """The network replayed from golden.json: rows [v_cond[k], v_uncond[k]] at tau_k (swapped with `swap`)."""
    def denoise(z2, t):
        k = traj["timesteps"].index(t)
        assert len(z2) == 2 and torch.equal(z2[0], z2[1])
        rows = [traj["v_cond"][k], traj["v_uncond"][k]]
        v = torch.tensor(rows[::-1] if swap else rows, dtype=torch.float32)
        return v.reshape(2, *traj["latent_shape"])
    return denoise


def _replay_errors(traj, swap=False) -> list[float]:
    """sample() from the stored noise with the stored network: max abs error to the stored z per step."""
    errors = []
    noise = torch.tensor(traj["noise"], dtype=torch.float32).reshape(1, *traj["latent_shape"])
    sampling.sample(_stored_network(traj, swap), noise, traj["timesteps"], sampling.alphas_cumprod(),
                    traj["guidance_scale"],
                    on_step=lambda k, z: errors.append(float((z.flatten() - torch.tensor(traj["z"][k])).abs().max())))
    return errors


def test_sample_replays_the_golden_trajectory(trajectory):
    assert trajectory["timesteps"] == sampling.trailing_grid(trajectory["steps"])
    errors = _replay_errors(trajectory)
    assert len(errors) == trajectory["steps"]
    assert max(errors) <= Z_TOLERANCE, errors


def test_golden_replay_detects_swapped_cond_and_uncond_rows(trajectory):
    """Rows handed back the wrong way round give g_c + s (g_u - g_c) (E20): the replay must miss."""
    errors = _replay_errors(trajectory, swap=True)
    print(f"\nswapped rows: z error per step {[f'{e:.2e}' for e in errors]}")
    assert errors[0] > 100 * Z_TOLERANCE and max(errors) > 1e-2
