"""Caption variety (data_phrasing): each wording reads as English and names its source, the
data set uses many of them, held-out shapes stay in the test split, and no training caption
equals a hand-written free-form prompt."""
from __future__ import annotations

import collections

import numpy as np

from soundstep_factory import data
from soundstep_factory.data import CATALOGUE, DataConfig
from soundstep_factory.data_phrasing import (
    CATALOGUE_WORDING,
    NAMES,
    Name,
    Wording,
    caption,
    draw_wording,
    names_for,
    parts_of,
    vocabulary,
)

PLANS = data.plan_clips(DataConfig(seed=0, num_train=2400, num_test=200))
TRAIN = [p for p in PLANS if p["split"] == "train"]


def test_catalogue_wording_is_unchanged() -> None:
    piano = CATALOGUE["piano"]
    attrs = {"loudness": "loud", "tempo": "slow", "register": "high"}
    assert parts_of(piano, attrs).clause() == "a loud piano plays a slow high-pitched melody"
    assert caption("phrase", [(piano, attrs)]) == "a loud piano playing a slow high-pitched melody"
    man = CATALOGUE["man_speaking"]
    assert parts_of(man, {"loudness": "quiet", "tempo": "fast"}).clause() == "a man speaks quietly and quickly"


def test_each_shape_reads_as_english() -> None:
    piano, beeps, applause = CATALOGUE["piano"], CATALOGUE["beeps"], CATALOGUE["applause"]
    slow_high = {"tempo": "slow", "register": "high"}
    assert caption("progressive", [(piano, slow_high)]) == "a piano is playing a slow high-pitched melody"
    assert caption("sound_of", [(piano, {})]) == "the sound of a piano playing a melody"
    assert caption("hear", [(piano, {})]) == "you can hear a piano playing a melody"
    people = Wording(name=Name("people", "clap", "clapping"))
    assert caption("progressive", [(applause, {})], [people]) == "people are clapping"  # plural agreement
    # The bare name keeps the verb where the subject alone does not say the sound.
    assert caption("name", [(applause, {})]) == "a crowd applauding"
    assert caption("name", [(beeps, {"register": "high"})], [Wording(short_register=True)]) == "a high beep"
    assert caption("name", [(CATALOGUE["tuba"], {})], [Wording(bare=True, head_noun="music")]) == "tuba music"
    assert caption("name", [(CATALOGUE["siren"], {"loudness": "loud"})]) == "a loud siren"


def test_synonyms_plain_captions_and_someone_playing() -> None:
    piano, hiss = CATALOGUE["piano"], CATALOGUE["hiss"]
    someone = Wording(name=next(n for n in names_for(piano) if n.plays_it))
    assert caption("clause", [(piano, {"tempo": "fast"})], [someone]) == "someone plays a fast melody on the piano"
    assert caption("clause", [(CATALOGUE["acoustic_guitar"], {})], [Wording(name=Name("someone", plays_it=True))]) \
        == "someone strums chords on the acoustic guitar"
    static = Wording(name=NAMES["hiss"][0])
    assert caption("progressive", [(hiss, {"loudness": "quiet"})], [static]) == "quiet static is hissing"
    plain = Wording(plain=True)  # the clip is loud, slow and high; the caption does not say so
    assert caption("clause", [(piano, {"loudness": "loud", "tempo": "slow", "register": "high"})], [plain]) \
        == "a piano plays a melody"
    # A two-part caption words each part on its own.
    two = caption("progressive_while", [(hiss, {}), (piano, {})], [static, someone])
    assert two == "static is hissing while someone is playing a melody on the piano"


def test_draws_are_seeded_and_varied() -> None:
    piano = CATALOGUE["piano"]
    draws = [draw_wording(np.random.default_rng(s), piano) for s in range(200)]
    assert draws == [draw_wording(np.random.default_rng(s), piano) for s in range(200)]
    assert 0.3 < sum(d.name is not None for d in draws) / 200 < 0.7
    assert 0.1 < sum(d.plain for d in draws) / 200 < 0.4
    assert CATALOGUE_WORDING == Wording()


def test_training_captions_vary_and_keep_the_free_form_prompts_unseen() -> None:
    captions = [p["caption"] for p in TRAIN]
    assert len(set(captions)) / len(captions) > 0.9
    templates = collections.Counter(p["template"] for p in TRAIN)
    assert set(templates) == set(data.TEMPLATES) - data.TEST_TEMPLATES
    assert min(templates.values()) > len(TRAIN) / len(templates) / 2  # no shape is rare
    # A source with synonyms appears under more than one name ("a phone", "a telephone").
    phone = [c for p, c in zip(TRAIN, captions) if p["sources"] == ["telephone"]]
    assert any("a phone" in c for c in phone) and any("telephone" in c for c in phone)
    assert not set(captions) & data.held_out_prompts()
    assert len(data.held_out_prompts()) >= 50


def test_vocabulary_lists_every_source_with_examples_in_its_wording() -> None:
    vocab = vocabulary(data.SOURCES)
    assert [v["key"] for v in vocab] == list(CATALOGUE)
    hiss = next(v for v in vocab if v["key"] == "hiss")
    assert hiss == {"key": "hiss", "name": "white noise", "category": "synthetic",
                    "examples": ["white noise hisses", "white noise hissing"]}
    assert next(v for v in vocab if v["key"] == "piano")["examples"][0] == "a piano plays a melody"


def test_the_teacher_draws_each_of_a_clips_captions() -> None:
    import torch

    from soundstep_factory.train import any_caption
    n, k, length, width = 3, 2, 4, 5
    feats = {"hidden": torch.zeros(n, length, width), "mask": torch.ones(n, length),
             "reworded_hidden": torch.arange(1, k + 1.0).view(1, k, 1, 1).expand(n, k, length, width).clone(),
             "reworded_mask": torch.zeros(n, k, length)}
    feats["reworded_hidden"][2] += 10  # clip 2's rewordings: 11 and 12
    rows = torch.tensor([2] * 600)
    h, m = any_caption(feats, rows, torch.Generator().manual_seed(0))
    seen = collections.Counter(h[:, 0, 0].tolist())
    assert set(seen) == {0.0, 11.0, 12.0} and min(seen.values()) > 150  # each about a third
    assert torch.equal(m[:, 0] == 1, h[:, 0, 0] == 0)  # each mask goes with its own states
    assert feats["hidden"].abs().sum() == 0  # the features are not modified
    no_rewordings = {"hidden": feats["hidden"], "mask": feats["mask"]}
    assert torch.equal(any_caption(no_rewordings, rows, torch.Generator())[0], feats["hidden"][rows])
