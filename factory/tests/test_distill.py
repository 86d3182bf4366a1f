"""Progressive distillation (docs/sampling.md E9-E19), checked on values."""

import pytest
import torch

from soundstep_factory import sampling
from soundstep_factory.config import load_config
from soundstep_factory.distill import (
    WEIGHTINGS,
    loss_weight,
    round_factors,
    round_timesteps,
    student_steps,
    teacher_target,
)


def _toy_teacher(z, t):
    """Any smooth v-predictor will do: the identity below holds for every teacher."""
    return torch.tanh(z) * (1 + t.view(-1, 1, 1, 1).to(z.dtype) / 1000)


@pytest.mark.parametrize("n_student", [100, 50, 25])
def test_one_student_step_with_x_target_lands_on_the_teachers_z2(n_student):
    abar = sampling.alphas_cumprod()
    g = torch.Generator().manual_seed(n_student)
    k = torch.arange(n_student)  # every grid point, the top step and the step to FINAL included
    t, path, t_next = round_timesteps(n_student, k)
    t_mid = path[:, 0]
    z_t = torch.randn(n_student, 2, 3, 3, generator=g, dtype=torch.float64)
    x_target = teacher_target(_toy_teacher, z_t, t, path, t_next, abar)

    def coefs(tt):
        a, s = sampling.alpha_sigma(abar, tt)
        return a.view(-1, 1, 1, 1), s.view(-1, 1, 1, 1)
    (a_t, s_t), (a_m, s_m), (a_n, s_n) = coefs(t), coefs(t_mid), coefs(t_next)
    z_mid = sampling.ddim_step_v(z_t, _toy_teacher(z_t, t), a_t, s_t, a_m, s_m)
    z_two = sampling.ddim_step_v(z_mid, _toy_teacher(z_mid, t_mid), a_m, s_m, a_n, s_n)
    v_student = (a_t * z_t - x_target) / s_t  # the v whose x_hat is x_target (E5)
    z_one = sampling.ddim_step_v(z_t, v_student, a_t, s_t, a_n, s_n)
    assert torch.allclose(z_one, z_two, atol=1e-10, rtol=0)
    assert torch.equal(t_next[-1:], torch.tensor([sampling.FINAL]))


def test_round_timesteps_nest_in_the_teacher_grid():
    t, path, t_next = round_timesteps(25, torch.arange(25))
    teacher = sampling.trailing_grid(50)
    assert path.shape == (25, 1)
    assert t.tolist() == teacher[0::2] and path[:, 0].tolist() == teacher[1::2]
    assert t_next[:-1].tolist() == teacher[2::2]


@pytest.mark.parametrize("n_student, factor", [(5, 5), (1, 5), (5, 2)])
def test_a_student_step_past_the_paper_lands_where_factor_teacher_steps_land(n_student, factor):
    """E12b: the k-step target, checked against the teacher's DDIM steps written out one by one."""
    abar = sampling.alphas_cumprod()
    k = torch.arange(n_student)
    t, path, t_next = round_timesteps(n_student, k, factor)
    teacher_grid = sampling.trailing_grid(factor * n_student) + [sampling.FINAL]
    assert path.shape == (n_student, factor - 1)
    assert [[int(t[i]), *path[i].tolist(), int(t_next[i])] for i in k] == \
        [teacher_grid[factor * i: factor * i + factor + 1] for i in range(n_student)]
    z_t = torch.randn(n_student, 2, 3, 3, generator=torch.Generator().manual_seed(factor), dtype=torch.float64)
    x_target = teacher_target(_toy_teacher, z_t, t, path, t_next, abar)

    def coefs(tt):
        a, s = sampling.alpha_sigma(abar, tt)
        return a.view(-1, 1, 1, 1), s.view(-1, 1, 1, 1)
    z, t_from = z_t, t
    for t_to in [*path.unbind(1), t_next]:
        z = sampling.ddim_step_v(z, _toy_teacher(z, t_from), *coefs(t_from), *coefs(t_to))
        t_from = t_to
    (a_t, s_t), (a_n, s_n) = coefs(t), coefs(t_next)
    z_one = sampling.ddim_step_v(z_t, (a_t * z_t - x_target) / s_t, a_t, s_t, a_n, s_n)
    assert torch.allclose(z_one, z, atol=1e-10, rtol=0)


def test_rounds_past_the_paper_for_the_named_methods_only():
    cfg = load_config("micro")
    cfg.distill.teacher_steps, cfg.distill.rounds, cfg.distill.beyond_steps = 200, 3, (5, 1)
    assert student_steps(cfg, "bsa") == [100, 50, 25, 5, 1]
    assert student_steps(cfg, "eps") == student_steps(cfg) == [100, 50, 25]
    assert round_factors([100, 50, 25, 5, 1], 200) == [2, 2, 2, 5, 5]
    with pytest.raises(ValueError, match="a 10-step student cannot match its 25-step teacher"):
        round_factors([100, 50, 25, 10], 200)


@pytest.mark.parametrize("snr, expected", [
    (0.0, {"eps": 0.0, "snr-trunc": 1.0, "snr+1": 1.0, "min-snr": 0.0, "bsa": 1.0}),
    (0.5, {"eps": 0.5, "snr-trunc": 1.0, "snr+1": 1.5, "min-snr": 0.5, "bsa": 1.5}),
    (4.5, {"eps": 4.5, "snr-trunc": 4.5, "snr+1": 5.5, "min-snr": 4.5, "bsa": 5.0}),
    (100.0, {"eps": 100.0, "snr-trunc": 100.0, "snr+1": 101.0, "min-snr": 5.0, "bsa": 5.0}),
])
def test_weights_have_the_stated_values(snr, expected):
    assert set(WEIGHTINGS) == set(expected)
    for method, value in expected.items():
        assert float(loss_weight(method, torch.tensor(snr), 5.0)) == pytest.approx(value)
    assert float(loss_weight("bsa", torch.tensor(100.0), 3.0)) == 3.0  # gamma is configurable
    with pytest.raises(ValueError, match="unknown weighting"):
        loss_weight("snr-squared", torch.tensor(1.0), 5.0)


def test_round_lr_warms_up_then_anneals_to_zero():
    from soundstep_factory.distill import round_lr

    assert round_lr(0, 600, 1e-4, 25) == pytest.approx(1e-4 / 25)
    assert round_lr(24, 600, 1e-4, 25) == pytest.approx(1e-4 * (1 - 24 / 600))
    assert round_lr(300, 600, 1e-4, 25) == pytest.approx(5e-5)
    assert round_lr(599, 600, 1e-4, 25) == pytest.approx(1e-4 / 600)
    assert round_lr(0, 600, 1e-4, 0) == pytest.approx(1e-4)  # no warm-up: round 1


def test_shared_targets_are_kept_in_whole_chunks(tmp_path):
    from soundstep_factory.distill import SharedTargets

    writer = SharedTargets(tmp_path / "key", chunk=5)
    targets = torch.randn(8, 2, 4, 3, 3)
    for step in range(8):  # one whole chunk (0-4), and 5-7 of the next
        writer.put(step, targets[step])
    assert [p.name for p in (tmp_path / "key").iterdir()] == ["steps-00000.pt"]
    reader = SharedTargets(tmp_path / "key", chunk=5)  # another method's round, later
    assert all(torch.equal(reader.get(step), targets[step]) for step in range(5))
    assert reader.get(5) is None and reader.get(7) is None  # a partial chunk is computed again


def test_shared_targets_key_changes_with_the_teacher_and_the_data():
    from soundstep_factory.distill import SharedTargets

    teacher = torch.nn.Linear(3, 3)
    data = {k: torch.zeros(2, 3) for k in ("x0", "hidden", "mask", "uncond_hidden", "uncond_mask")}
    key = SharedTargets.key(teacher, data, 3.0, 100, 32)
    assert key == SharedTargets.key(teacher, data, 3.0, 100, 32)
    assert key != SharedTargets.key(teacher, data, 2.0, 100, 32)
    assert key != SharedTargets.key(teacher, {**data, "x0": torch.ones(2, 3)}, 3.0, 100, 32)
    with torch.no_grad():
        teacher.weight[0, 0] += 1e-3
    assert key != SharedTargets.key(teacher, data, 3.0, 100, 32)


def test_guided_teacher_puts_the_prompts_first_and_combines_with_e20():
    """Round 1's teacher: one batch of 2B rows (prompts, then ""), combined as g_u + s (g_c - g_u)."""
    from types import SimpleNamespace

    from soundstep_factory.distill import Conditioning

    def unet(z, t, encoder_hidden_states, encoder_attention_mask):
        shift = encoder_hidden_states.mean(dim=(1, 2)).view(-1, 1, 1, 1) * encoder_attention_mask[:, :1].view(-1, 1, 1, 1)
        return SimpleNamespace(sample=torch.tanh(z) * (1 + t.view(-1, 1, 1, 1) / 1000) + shift)
    g = torch.Generator().manual_seed(0)
    hidden, uncond = torch.randn(2, 3, 4, generator=g), torch.randn(3, 4, generator=g)
    mask, uncond_mask = torch.ones(2, 3, dtype=torch.int64), torch.ones(3, dtype=torch.int64)
    z, t = torch.randn(2, 1, 2, 2, generator=g), torch.tensor([999, 500])
    v = Conditioning(hidden, mask, uncond, uncond_mask).predictor(unet, 3.0)(z, t)
    v_c = unet(z, t, hidden, mask).sample
    v_u = unet(z, t, uncond.expand(2, -1, -1), uncond_mask.expand(2, -1)).sample
    assert torch.allclose(v, v_u + 3.0 * (v_c - v_u), atol=1e-6, rtol=0)
    assert not torch.allclose(v, v_c + 3.0 * (v_u - v_c), atol=1e-3)
