"""The source catalogue (every kind of sound, how to caption it, how to render it), the caption
templates, and the split by caption combination (TEST_PAIRS, TEST_TEMPLATES).
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from .data_recipes import Gm, Kit, Recipe, Synth, Voice

# Caption slots: a slot is filled from an attribute, or vanishes when the attribute is unset.
SLOT_WORDS: dict[str, tuple[str, dict[object, str]]] = {
    "tempo": ("tempo", {"slow": "slow", "fast": "fast"}),
    "tempo_adv": ("tempo", {"slow": "slowly", "fast": "quickly"}),
    "register": ("register", {"low": "low-pitched", "high": "high-pitched"}),
    "voice": ("register", {"low": "in a deep voice", "high": "in a high voice"}),
    "count": ("count", {1: "once", 2: "twice", 3: "three times", 4: "four times", 5: "five times"}),
}
LOUD_ADJ = {"loud": "loud", "quiet": "quiet"}
LOUD_ADV = {"loud": "loudly", "quiet": "quietly"}
DETERMINERS = ("a ", "an ")


@dataclass(frozen=True)
class Source:
    """One kind of sound: how to caption it and how to render it.

    Captions are built as  subject + verb + tail  ("a piano" "plays" "a {tempo} {register} melody")
    for clauses, and with the gerund instead of the verb for noun phrases ("a piano playing ...").
    The slots in subject and tail decide which attributes the source varies.
    """

    key: str
    category: str  # music | percussion | effects | speech | synthetic: for balanced sampling
    subject: str  # with its determiner; "a" becomes "an" where needed
    verb: str
    gerund: str
    recipe: Recipe
    tail: str = ""
    person: bool = False  # loudness as an adverb ("a man speaks loudly"), not an adjective
    loudness: tuple[str | None, ...] = (None, "loud", "quiet")
    counts: tuple[int, int] = (1, 1)  # count range for a full clip, when the source has {count}
    count_period: float = 0.5  # seconds between counted events, at least

    @property
    def slots(self) -> set[str]:
        return set(re.findall(r"\{(\w+)\}", self.subject + " " + self.tail))

    @property
    def attributes(self) -> set[str]:
        return {SLOT_WORDS[s][0] for s in self.slots}

    @property
    def noun(self) -> str:
        """The source's name as it appears in every caption ("piano", "string section")."""
        s = re.sub(r"\{\w+\}", "", self.subject)
        for d in DETERMINERS:
            s = s.removeprefix(d)
        return " ".join(s.split())

    def counts_for(self, seconds: float) -> list[int]:
        """Counts whose events fit in `seconds` (the last one starting 0.2 s before the end)."""
        lo, hi = self.counts
        ok = [n for n in range(lo, hi + 1) if 0.12 + (n - 1) * self.count_period <= seconds - 0.2]
        return ok or [1]


def _music(key: str, subject: str, program: int, lo: int, hi: int, style: str = "melody", *,
           verb: str = "plays", gerund: str = "playing", tail: str = "a {tempo} {register} melody",
           bank: int = 0, person: bool = False) -> Source:
    return Source(key, "music", subject, verb, gerund, Gm(program, style, lo, hi, bank), tail, person)


SOURCES: tuple[Source, ...] = (
    # --- General MIDI instruments (program numbers 0-based) ---
    _music("piano", "a piano", 0, 36, 96),
    _music("harpsichord", "a harpsichord", 6, 41, 89),
    _music("music_box", "a music box", 10, 72, 96, tail="a {tempo} melody"),
    _music("vibraphone", "a vibraphone", 11, 53, 89),
    _music("marimba", "a marimba", 12, 45, 84),
    _music("xylophone", "a xylophone", 13, 65, 96, tail="a {tempo} melody"),
    _music("church_organ", "a church organ", 19, 36, 84, "chords", tail="{tempo} {register} chords"),
    _music("accordion", "an accordion", 21, 53, 89),
    _music("harmonica", "a harmonica", 22, 60, 84, tail="a {tempo} melody"),
    _music("acoustic_guitar", "an acoustic guitar", 24, 40, 76, "strum", verb="strums", gerund="strumming",
           tail="{tempo} chords"),
    _music("ukulele", "a ukulele", 24, 60, 81, "strum", verb="strums", gerund="strumming", tail="{tempo} chords",
           bank=8),
    _music("mandolin", "a mandolin", 25, 55, 88, bank=16),
    _music("electric_guitar", "a distorted electric guitar", 30, 40, 64, "riff", tail="a {tempo} riff"),
    _music("bass_guitar", "a bass guitar", 33, 28, 55, "bassline", tail="a {tempo} bass line"),
    _music("violin", "a violin", 40, 55, 100),
    _music("cello", "a cello", 42, 36, 76),
    _music("harp", "a harp", 46, 36, 91, "arpeggio", tail="{tempo} {register} arpeggios"),
    _music("timpani", "a timpani drum", 47, 40, 55, "hits", verb="booms", gerund="booming", tail="{tempo_adv}"),
    _music("strings", "a string section", 48, 36, 88, "chords", tail="{tempo} {register} chords"),
    _music("choir", "a choir", 52, 48, 79, "chords", verb="sings", gerund="singing", tail="{tempo} {register} chords"),
    _music("trumpet", "a trumpet", 56, 55, 82),
    _music("trombone", "a trombone", 57, 40, 72),
    _music("tuba", "a tuba", 58, 28, 58, tail="a {tempo} melody"),
    _music("french_horn", "a French horn", 60, 41, 77),
    _music("saxophone", "a saxophone", 65, 49, 81),
    _music("oboe", "an oboe", 68, 58, 91),
    _music("clarinet", "a clarinet", 71, 50, 91),
    _music("flute", "a flute", 73, 60, 96),
    _music("pan_flute", "a pan flute", 75, 60, 96),
    _music("whistling", "someone", 78, 72, 96, verb="whistles", gerund="whistling", tail="a {tempo} tune",
           person=True),
    _music("synthesizer", "a synthesizer", 80, 40, 88),
    _music("sitar", "a sitar", 104, 48, 77),
    _music("banjo", "a banjo", 105, 48, 84),
    _music("bagpipes", "bagpipes", 109, 55, 77, verb="play", tail="a {tempo} melody"),
    _music("steel_drums", "steel drums", 114, 52, 88, verb="play"),
    Source("church_bell", "music", "a church bell", "rings", "ringing", Gm(14, "strikes", 48, 67, bank=8),
           "{count}", counts=(1, 4), count_period=0.7),
    # --- GM sound effects (FluidR3 programs 122-127) ---
    Source("waves", "effects", "waves", "crash", "crashing", Gm(122, "sustain", 55, 67, preroll=0.6), "on a shore"),
    Source("birds", "effects", "birds", "chirp", "chirping", Gm(123, "tweets", 60, 84)),
    Source("telephone", "effects", "a telephone", "rings", "ringing", Gm(124, "ring", 60, 72)),
    Source("helicopter", "effects", "a helicopter", "flies", "flying", Gm(125, "sustain", 55, 67, preroll=1.2)),
    Source("applause", "effects", "a crowd", "applauds", "applauding", Gm(126, "sustain", 55, 67, preroll=0.6)),
    Source("gunshots", "effects", "a gun", "fires", "firing", Gm(127, "shots", 48, 72), "{count}",
           counts=(1, 4), count_period=0.25),
    # --- the drum channel ---
    Source("drum_beat", "percussion", "drums", "play", "playing", Kit("beat"), "a {tempo} beat"),
    Source("snare_roll", "percussion", "a snare drum", "rolls", "rolling", Kit("roll")),
    Source("claps", "percussion", "someone", "claps", "clapping", Kit("pulse", (39,)), "{tempo_adv}", person=True),
    Source("cowbell", "percussion", "a cowbell", "clanks", "clanking", Kit("pulse", (56,)), "{tempo_adv}"),
    Source("tambourine", "percussion", "a tambourine", "jingles", "jingling", Kit("pulse", (54,)), "{tempo_adv}"),
    Source("bass_drum", "percussion", "a bass drum", "thumps", "thumping", Kit("pulse", (36,)), "{tempo_adv}"),
    Source("bongos", "percussion", "bongos", "play", "playing", Kit("bongos", (60, 61)), "a {tempo} rhythm"),
    Source("cymbal", "percussion", "a cymbal", "crashes", "crashing", Kit("strikes", (49, 57)), "{count}",
           counts=(1, 3), count_period=0.5),
    Source("triangle", "percussion", "a triangle", "dings", "dinging", Kit("strikes", (81,)), "{count}",
           counts=(1, 4), count_period=0.4),
    # --- espeak-ng speech ---
    Source("man_speaking", "speech", "a man", "speaks", "speaking", Voice("en-us+m3"), "{tempo_adv} {voice}",
           person=True),
    Source("woman_speaking", "speech", "a woman", "speaks", "speaking", Voice("en-us+f3"), "{tempo_adv} {voice}",
           person=True),
    # A whisper is quiet by nature: "whispers loudly" would be a caption the clip contradicts.
    Source("man_whispering", "speech", "a man", "whispers", "whispering", Voice("en-us+whisper"), "{tempo_adv}",
           person=True, loudness=(None, "quiet")),
    Source("woman_whispering", "speech", "a woman", "whispers", "whispering", Voice("en-us+whisperf"), "{tempo_adv}",
           person=True, loudness=(None, "quiet")),
    # --- numpy synthesis ---
    Source("beeps", "synthetic", "a {register} beep", "sounds", "sounding", Synth("beeps"), "{count}",
           counts=(1, 5), count_period=0.25),
    Source("siren", "synthetic", "a siren", "wails", "wailing", Synth("siren")),
    Source("hum", "synthetic", "an electrical transformer", "hums", "humming", Synth("hum")),
    Source("hiss", "synthetic", "white noise", "hisses", "hissing", Synth("hiss")),
    Source("wind", "synthetic", "wind", "blows", "blowing", Synth("wind")),
    Source("alarm", "synthetic", "an alarm", "beeps", "beeping", Synth("alarm"), "{tempo_adv}"),
    Source("tone_rising", "synthetic", "a tone", "rises", "rising", Synth("tone_up"), "in pitch"),
    Source("tone_falling", "synthetic", "a tone", "falls", "falling", Synth("tone_down"), "in pitch"),
    Source("dial_tone", "synthetic", "a telephone dial tone", "sounds", "sounding", Synth("dial_tone")),
    Source("busy_signal", "synthetic", "a telephone busy signal", "beeps", "beeping", Synth("busy_signal")),
    Source("clock", "synthetic", "a clock", "ticks", "ticking", Synth("clock"), "{tempo_adv}"),
    Source("morse_code", "synthetic", "{register} morse code", "beeps", "beeping", Synth("morse"), "{tempo_adv}"),
    Source("buzzer", "synthetic", "a buzzer", "buzzes", "buzzing", Synth("buzzer"), "{count}",
           counts=(1, 3), count_period=0.6),
)
CATALOGUE: dict[str, Source] = {s.key: s for s in SOURCES}
assert len(CATALOGUE) == len(SOURCES), "duplicate source key"

# How often each category is drawn: music has far more sources than speech, and uniform sampling
# over sources would make speech rare, while "a man speaks" is the commonest prompt of all.
CATEGORY_WEIGHTS = {"music": 0.35, "percussion": 0.15, "effects": 0.15, "speech": 0.15, "synthetic": 0.20}

# ----------------------------------------------------------------------------------------------
# Captions
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Template:
    mix: str  # single | while | then
    text: str  # {A}/{B}: clauses ("a man speaks"), {a}/{b}: noun phrases ("a man speaking")


# {A}/{B}: clauses, {a}/{b}: noun phrases, {P}/{Q}: progressive clauses ("a man is speaking"),
# {N}: the subject alone ("a high beep"); data_phrasing words each of them.
TEMPLATES: dict[str, Template] = {
    "clause": Template("single", "{A}"),
    "phrase": Template("single", "{a}"),
    "progressive": Template("single", "{P}"),
    "sound_of": Template("single", "the sound of {a}"),
    "name": Template("single", "{N}"),
    "hear": Template("single", "you can hear {a}"),
    "recording": Template("single", "a recording of {a}"),
    "while": Template("while", "{A} while {B}"),
    "background": Template("while", "{A} with {b} in the background"),  # rendered with B quieter
    "same_time": Template("while", "{a} and {b} at the same time"),
    "as": Template("while", "{A} as {B}"),
    "followed_by": Template("then", "{a} followed by {b}"),
    "then": Template("then", "{A}, then {B}"),
    "after": Template("then", "{B} after {A}"),  # names the second sound first: order is in the words
    "and_then": Template("then", "{A} and then {B}"),
    "and": Template("while", "{a} and {b}"),
    "progressive_while": Template("while", "{P} while {Q}"),
    "first_then": Template("then", "first {A}, then {B}"),
}
# Phrasings only the test split uses: does the model understand "as", "and then", "you can hear"
# and "a recording of" without having been trained on them?
TEST_TEMPLATES = frozenset({"as", "and_then", "hear", "recording"})

_VOWEL_EXCEPTIONS = ("uk", "uni", "one", "eu")  # vowel letter, consonant sound: "a ukulele"


def fix_articles(text: str) -> str:
    """'a' before a vowel sound becomes 'an', and 'an' before a consonant sound becomes 'a'."""

    def pick(m: re.Match[str]) -> str:
        word = m.group(2)
        vowel = word[0].lower() in "aeiou" and not word.lower().startswith(_VOWEL_EXCEPTIONS)
        return ("an " if vowel else "a ") + word

    return re.sub(r"\b(a|an) (\w+)", pick, text)


# ----------------------------------------------------------------------------------------------
# Splits by caption combination
# ----------------------------------------------------------------------------------------------

TEST_PAIR_FRACTION = 0.10


def _pair(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a < b else (b, a)


def is_test_pair(a: str, b: str) -> bool:
    """About 10% of unordered source pairs, chosen by a hash of their keys.

    A hash rather than the seed: every data set (any seed, any size) holds out the same pairs,
    and adding a source to the catalogue does not move existing pairs between splits.
    """
    x, y = _pair(a, b)
    h = int.from_bytes(hashlib.sha256(f"soundstep-pair:{x}|{y}".encode()).digest()[:8], "big")
    return h / 2**64 < TEST_PAIR_FRACTION


TEST_PAIRS: frozenset[tuple[str, str]] = frozenset(
    _pair(a, b) for i, a in enumerate(CATALOGUE) for b in list(CATALOGUE)[i + 1 :] if is_test_pair(a, b)
)
