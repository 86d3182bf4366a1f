"""Caption variety: the names, verbs and sentence shapes a clip's caption is written in.

People do not type the catalogue's one wording ("white noise hisses"): they type "static",
"the sound of static", "a man is talking", "piano". A model trained on one wording per source
hears any other as an unknown prompt (issue 17 found "static noise" coming out silent), so each
part of a caption draws a `Wording`:

- a synonym from NAMES, each with the verb forms that agree with it ("a phone rings", "people
  clap"); the sources played by a person also read "someone plays a melody on the piano";
- plain: the attributes left unsaid (the clip still has them), "a piano plays";
- short register words: "a high beep" as well as "a high-pitched beep";
- for the bare-name shape, no article and sometimes a head noun: "tuba", "piano music", "siren sound".

The sentence shapes are data_catalogue.TEMPLATES. The wording never changes what is rendered.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .data_catalogue import DETERMINERS, LOUD_ADJ, LOUD_ADV, SLOT_WORDS, TEMPLATES, fix_articles

if TYPE_CHECKING:
    from .data_catalogue import Source
    from .data_recipes import Attrs


@dataclass(frozen=True)
class Name:
    """A subject with the verb forms that agree with it ("people", "clap", "clapping")."""

    subject: str  # may hold the source's slots: "a {register} bleep"
    verb: str | None = None  # None: the source's own verb and gerund
    gerund: str | None = None
    plays_it: bool = False  # "someone" playing the source: "plays a melody on the piano"


# Everyday synonyms, from how sound captions (AudioCaps, Clotho) name such sources.
NAMES: dict[str, tuple[Name, ...]] = {
    "acoustic_guitar": (Name("a guitar"),),
    "electric_guitar": (Name("an electric guitar"),),
    "bass_guitar": (Name("a bass"),),
    "strings": (Name("strings", "play", "playing"), Name("an orchestra")),
    "choir": (Name("a chorus"), Name("voices", "sing", "singing")),
    "timpani": (Name("a kettle drum"),),
    "church_bell": (Name("a bell"), Name("bells", "ring", "ringing")),
    "synthesizer": (Name("a synth"),),
    "waves": (Name("ocean waves"), Name("the sea", "roars", "roaring")),
    "birds": (Name("a bird", "chirps", "chirping"), Name("birds", "sing", "singing"),
              Name("birds", "tweet", "tweeting")),
    "telephone": (Name("a phone"),),
    "helicopter": (Name("a helicopter", "hovers", "hovering"), Name("a chopper")),
    "applause": (Name("an audience"), Name("people", "clap", "clapping")),
    "gunshots": (Name("a gun", "shoots", "shooting"), Name("a rifle"), Name("gunshots", "ring out", "ringing out")),
    "drum_beat": (Name("a drum kit", "plays", "playing"), Name("a drummer", "plays", "playing")),
    "claps": (Name("a person"), Name("hands", "clap", "clapping")),
    "bass_drum": (Name("a kick drum"),),
    "man_speaking": (Name("a man", "talks", "talking"), Name("a male voice"), Name("a guy")),
    "woman_speaking": (Name("a woman", "talks", "talking"), Name("a female voice"), Name("a lady")),
    "man_whispering": (Name("a male voice"),),
    "woman_whispering": (Name("a female voice"),),
    "beeps": (Name("a {register} bleep"), Name("a {register} electronic beep")),
    "siren": (Name("a siren", "blares", "blaring"), Name("an emergency siren")),
    "hum": (Name("a transformer"), Name("electricity", "hums", "humming"), Name("an electric hum", "drones", "droning")),
    "hiss": (Name("static", "hisses", "hissing"), Name("static noise"), Name("noise", "hisses", "hissing")),
    "wind": (Name("the wind", "howls", "howling"), Name("a gust of wind")),
    "alarm": (Name("an alarm", "goes off", "going off"), Name("an alarm clock")),
    "dial_tone": (Name("a dial tone"),),
    "busy_signal": (Name("a busy signal"),),
    "clock": (Name("a wall clock"), Name("a clock", "tick-tocks", "tick-tocking")),
    "morse_code": (Name("a {register} morse code signal"),),
    "buzzer": (Name("a door buzzer"),),
}
# Subjects that do not name the sound without their verb ("a crowd" applauding, "a tone" rising):
# the bare-name shape keeps the verb for them, as for people.
NEEDS_VERB = frozenset({"a crowd", "an audience", "people", "hands", "a person", "a drummer", "a gun", "a rifle",
                        "electricity", "a tone", "voices", "someone", "a man", "a woman", "a male voice",
                        "a female voice", "a guy", "a lady"})
SHORT_REGISTER = {"low-pitched": "low", "high-pitched": "high"}

ALIAS_PROBABILITY = 0.5  # a synonym, where the source has one
PLAIN_PROBABILITY = 0.25  # attributes left unsaid
SHORT_REGISTER_PROBABILITY = 0.5
BARE_PROBABILITY = 0.5  # bare-name shape: "tuba" rather than "a tuba"
HEAD_NOUN_PROBABILITY = 0.3  # of those: "tuba music", "siren sound"


@dataclass(frozen=True)
class Wording:
    """How one part of a caption is worded; the default is the catalogue's own wording."""

    name: Name | None = None
    plain: bool = False
    short_register: bool = False
    bare: bool = False  # the name shape without its article
    head_noun: str = ""  # the name shape followed by "music" or "sound"


CATALOGUE_WORDING = Wording()


def names_for(source: Source) -> tuple[Name, ...]:
    """Every synonym of a source; instruments a person plays or strums also get "someone"."""
    played = source.category == "music" and source.verb in ("plays", "strums") and not source.person
    return NAMES.get(source.key, ()) + ((Name("someone", plays_it=True),) if played else ())


def draw_wording(rng: np.random.Generator, source: Source) -> Wording:
    names = names_for(source)
    alias = bool(names) and rng.random() < ALIAS_PROBABILITY
    name = names[int(rng.integers(len(names)))] if alias else None
    plain = bool(rng.random() < PLAIN_PROBABILITY)
    short_register = bool(rng.random() < SHORT_REGISTER_PROBABILITY)
    bare = bool(rng.random() < BARE_PROBABILITY)
    head = bool(rng.random() < HEAD_NOUN_PROBABILITY)
    head_noun = ("music" if source.category == "music" else "sound") if bare and head else ""
    return Wording(name, plain, short_register, bare, head_noun)


def is_plural(verb: str) -> bool:
    """'play', 'ring out' (plural subject) against 'plays', 'goes off' (singular)."""
    return not verb.split()[0].endswith("s")


@dataclass(frozen=True)
class Parts:
    """One sound in words: subject ("a loud piano"), verb, gerund and what follows them."""

    subject: str
    verb: str
    gerund: str
    tail: str
    needs_verb: bool  # the bare-name shape keeps the verb: "a man speaking", "a crowd applauding"
    bare: bool = False
    head_noun: str = ""

    def clause(self) -> str:
        return fix_articles(" ".join(f"{self.subject} {self.verb} {self.tail}".split()))

    def phrase(self) -> str:
        return fix_articles(" ".join(f"{self.subject} {self.gerund} {self.tail}".split()))

    def progressive(self) -> str:
        be = "are" if is_plural(self.verb) else "is"
        return fix_articles(" ".join(f"{self.subject} {be} {self.gerund} {self.tail}".split()))

    def name(self) -> str:
        """The subject alone ("a high beep"); a person needs the verb ("a man speaking")."""
        if self.needs_verb:
            return self.phrase()
        name = fix_articles(" ".join(self.subject.split()))
        if self.bare:
            name = next((name[len(d):] for d in DETERMINERS if name.startswith(d)), name)
        return " ".join(f"{name} {self.head_noun}".split())


def parts_of(source: Source, attrs: Attrs, wording: Wording = CATALOGUE_WORDING) -> Parts:
    said = {} if wording.plain else attrs
    fill = {slot: words.get(said.get(attr), "") for slot, (attr, words) in SLOT_WORDS.items()}
    if wording.short_register:
        fill = {k: SHORT_REGISTER.get(v, v) for k, v in fill.items()}
    name = wording.name or Name(source.subject)
    subject = name.subject.format(**fill)
    verb, gerund = name.verb or source.verb, name.gerund or source.gerund
    tail = " ".join(source.tail.format(**fill).split())
    if name.plays_it:  # "someone plays a slow melody on the piano", "someone strums chords on the guitar"
        tail = f"{tail} on the {source.noun}" if tail else f"the {source.noun}"
    person = source.person or name.plays_it
    loud = said.get("loudness")
    if loud and not person:  # an adjective right after the determiner: "a loud siren"
        det = next((d for d in DETERMINERS if subject.startswith(d)), "")
        subject = det + LOUD_ADJ[str(loud)] + " " + subject[len(det):]
    elif loud:  # "speaks loudly and quickly", "speaks loudly in a deep voice", "whistles a fast tune loudly"
        adv = LOUD_ADV[str(loud)]
        if tail.startswith(("a ", "an ", "the ")):
            tail = f"{tail} {adv}"
        elif tail.split(" ")[0] in SLOT_WORDS["tempo_adv"][1].values():
            tail = f"{adv} and {tail}"
        else:
            tail = f"{adv} {tail}"
    needs_verb = person or name.subject in NEEDS_VERB
    return Parts(subject, verb, gerund, tail, needs_verb, wording.bare, wording.head_noun)


def caption(template: str, parts: list[tuple[Source, Attrs]], wordings: list[Wording] | None = None) -> str:
    """Fill a template with the parts (in time order for "then" templates), each in its wording."""
    wordings = wordings or [CATALOGUE_WORDING] * len(parts)
    first = parts_of(*parts[0], wordings[0])
    second = parts_of(*parts[-1], wordings[-1])
    return TEMPLATES[template].text.format(
        A=first.clause(), a=first.phrase(), P=first.progressive(), N=first.name(),
        B=second.clause(), b=second.phrase(), Q=second.progressive(),
    )


def vocabulary(sources: tuple[Source, ...]) -> list[dict]:
    """The pack's sound vocabulary for its manifest: each source's name, category and two
    example prompts in the catalogue's own wording (every recipe's captions use it)."""
    return [{"key": s.key, "name": s.noun, "category": s.category,
             "examples": [parts_of(s, {}).clause(), parts_of(s, {}).phrase()]} for s in sources]
