"""Order prompts sampled in two halves (time_split.py)."""
import numpy as np
import pytest
import torch

from soundstep_factory.time_split import blend, first_part_weight, sample_latents_split, sample_split, split_in_time


@pytest.mark.parametrize("prompt, halves", [
    ("a phone rings followed by a man talking", ("a phone rings", "a man talking")),
    ("piano music and then a woman talks", ("piano music", "a woman talks")),
    ("a bell rings, then a man speaks", ("a bell rings", "a man speaks")),
    ("First a dog barks, then rain falls.", ("a dog barks", "rain falls")),
    ("A dog barks FOLLOWED BY applause", ("A dog barks", "applause")),
    ("a dog barks while rain falls", None),
    ("thunder", None),
    ("followed by a man talking", None),
    ("the athens orchestra", None),  # "then" inside a word is not the sequence word
    ("a door slams before a dog barks", ("a door slams", "a dog barks")),
    ("a woman speaks slowly after someone plays the tuba", ("someone plays the tuba", "a woman speaks slowly")),
    ("A guitar strums, after someone claps.", ("someone claps", "A guitar strums")),
    ("after the rain", None),
    ("the afterglow hums", None),  # nor "after" inside one
])
def test_split_in_time(prompt, halves):
    assert split_in_time(prompt) == halves


def test_the_first_part_holds_the_first_half_and_crossfades_at_the_middle():
    w = first_part_weight(64)[0, 0, :, 0]
    assert w.shape == (64,)
    assert torch.all(w[1:] < w[:-1])  # falls throughout
    assert w[0] > 0.999 and w[-1] < 0.001
    assert w[31] == pytest.approx(1 - w[32], abs=1e-6) and 0.5 < w[31] < 0.65  # symmetric about 31.5
    assert w[:16].min() > 0.98 and w[48:].max() < 0.02  # mixed within the middle half of the clip


def test_blend_takes_each_part_in_its_half():
    first, second = torch.ones(2, 4, 64, 16), -torch.ones(2, 4, 64, 16)
    v = blend(first, second)
    assert v[:, :, 0].min() > 0.99 and v[:, :, -1].max() < -0.99
    assert torch.allclose(v[:, :, 31], -v[:, :, 32], atol=1e-6)


def test_sampling_splits_only_the_prompts_that_name_an_order(micro):
    from soundstep_factory.generate import PackRunner, noise_for
    runner = PackRunner(micro["pack"])
    prompts = ["a dog barks followed by a man speaking", "rain falls on a roof"]
    noise = noise_for(3, 2, runner.latent_shape)
    hidden, mask = runner.encode(prompts)
    # the micro pack's one denoiser, guided (a third, unconditional row) as the pack says
    z = sample_latents_split(runner, "teacher", 2, prompts, seed=3)
    assert z.shape == (2, *runner.latent_shape) and np.isfinite(z).all()
    whole = runner.sample("teacher", 2, hidden, mask, noise, runner.guidance_for("teacher"))
    np.testing.assert_allclose(z[1], whole[1], atol=1e-5)  # no order named: sampled as before
    assert np.abs(z[0] - whole[0]).max() > 1e-3  # an order named: sampled in two halves


def test_an_unguided_split_is_the_blend_of_the_two_halves_v(micro):
    """Unguided, one step from pure noise: x_hat = -v (E4 at alpha 0, sigma 1, up to the grid's
    first alpha), so the split sample is the time blend of the two halves' own samples."""
    from soundstep_factory.generate import PackRunner, noise_for
    runner = PackRunner(micro["pack"])
    noise = noise_for(5, 1, runner.latent_shape)
    split = sample_split(runner, "teacher", 1, [("a dog barks", "a man speaking")], noise, None)
    parts = [runner.sample("teacher", 1, *runner.encode([p]), noise, None) for p in ("a dog barks", "a man speaking")]
    expected = blend(torch.from_numpy(parts[0]), torch.from_numpy(parts[1])).numpy()
    np.testing.assert_allclose(split, expected, atol=1e-5)


def test_a_subset_keeps_its_rows_of_the_whole_sets_noise(micro):
    """prompt_eval samples only the order prompts of a split row and reuses the whole-prompt row's
    latents for the rest: each order prompt must get the noise row it has in the whole set."""
    from soundstep_factory.generate import PackRunner
    runner = PackRunner(micro["pack"])
    prompts = ["rain falls", "a dog barks followed by a man speaking", "wind, then thunder"]
    full = sample_latents_split(runner, "teacher", 2, prompts, seed=4)
    part = sample_latents_split(runner, "teacher", 2, prompts[1:], seed=4, noise_rows=[1, 2], noise_count=3)
    np.testing.assert_allclose(part, full[1:], atol=1e-5)


def test_prompt_eval_caches_a_split_row_and_reuses_the_whole_rows_latents(micro, tmp_path):
    from soundstep_factory.generate import PackRunner
    from soundstep_factory.prompt_eval import generate
    runner = PackRunner(micro["pack"])
    prompts = [{"prompt": p} for p in ("rain falls", "a dog barks followed by a man speaking")]
    whole, split = tmp_path / "teacher-2" / "seed0.npy", tmp_path / "teacher-2-split" / "seed0.npy"
    wave_whole = generate(runner, "teacher", 2, prompts, 0, whole)
    wave_split = generate(runner, "teacher", 2, prompts, 0, split, split=True, whole_cache=whole)
    assert whole.exists() and split.exists()  # both rows cached: a second run reads them back
    z_whole, z_split = np.load(whole), np.load(split)
    np.testing.assert_array_equal(z_split[0], z_whole[0])  # no order named: the whole row's latent
    assert np.abs(z_split[1] - z_whole[1]).max() > 1e-3
    np.testing.assert_array_equal(generate(runner, "teacher", 2, prompts, 0, split, split=True), wave_split)
    assert wave_whole.shape == wave_split.shape
