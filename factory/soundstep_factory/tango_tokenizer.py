"""A T5-style Unigram tokenizer trained on the factory's captions, for when FLAN-T5's own is not at hand.

It has FLAN-T5's layout: <pad> 0, </s> 1, <unk> 2, sentencepiece-style "▁" word starts (Metaspace),
"</s>" appended to every text, and 100 <extra_id_N> sentinels at the end. Its size is FLAN-T5's
(32000 pieces) at most; the factory's captions have a few hundred distinct words, so it has far
fewer, which the random model does not care about (its embedding table keeps FLAN-T5's 32128
rows). A real FLAN-T5 tokenizer.json dropped into `tokenizer/` is used as it is.
"""
from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

from .data import DataConfig, plan_clips

SPECIALS = ["<pad>", "</s>", "<unk>"]  # ids 0, 1, 2 as in T5
SENTINELS = [f"<extra_id_{i}>" for i in range(100)]


def factory_captions(clips: int) -> list[str]:
    """Every caption and rewording of the first `clips` planned clips (nothing is rendered)."""
    plans = plan_clips(DataConfig(num_train=clips, num_test=0))
    return [text for p in plans for text in [p["caption"], *p["rewordings"]]]


def caption_pieces(texts: list[str]) -> list[tuple[str, float]]:
    """A unigram language model over the captions: every word as one "▁word" piece and every
    character as a fallback piece, each scored by its log frequency.

    tokenizers' UnigramTrainer, given these captions (a few hundred distinct words), converges to
    mostly single characters ("dog" -> d, o, g) whatever the target size, so the pieces are counted
    directly, as sentencepiece's model stores them: (piece, log probability)."""
    counts: Counter[str] = Counter()
    for text in texts:
        for word in text.split():
            counts["▁" + word] += 1
            counts.update(word)
    counts["▁"] += 1
    total = sum(counts.values())
    words = sorted((p for p in counts if p.startswith("▁") and len(p) > 1), key=lambda p: (-counts[p], p))
    chars = sorted((p for p in counts if not p.startswith("▁") or len(p) == 1), key=lambda p: (-counts[p], p))
    # characters are the fallback: scored below every word so a known word is always one piece
    floor = min(math.log(counts[p] / total) for p in words) if words else 0.0
    return ([(p, math.log(counts[p] / total)) for p in words]
            + [(p, floor - 10.0 + math.log(counts[p] / total)) for p in chars])


def train_unigram(texts: list[str], vocab_size: int) -> Tokenizer:
    """The captions' unigram model (caption_pieces), its most frequent `vocab_size` pieces kept
    (characters always), with T5's special tokens, normalizer, Metaspace and "</s>" suffix."""
    pieces = caption_pieces(texts)
    words = [p for p in pieces if p[0].startswith("▁") and len(p[0]) > 1]
    chars = [p for p in pieces if p not in words]
    kept = words[: max(0, vocab_size - len(SPECIALS) - len(chars))] + chars
    tok = Tokenizer(models.Unigram([(name, 0.0) for name in SPECIALS] + kept, unk_id=SPECIALS.index("<unk>")))
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    tok.add_special_tokens(SPECIALS + SENTINELS)
    tok.post_processor = processors.TemplateProcessing(
        single="$A </s>", pair="$A </s> $B </s>", special_tokens=[("</s>", tok.token_to_id("</s>"))])
    for i, name in enumerate(SPECIALS):
        assert tok.token_to_id(name) == i, f"{name} must be id {i}, as in T5"
    return tok


def save_tokenizer(tok: Tokenizer, out: Path, model_max_length: int = 512) -> None:
    """tokenizer.json plus the transformers files, so AutoTokenizer.from_pretrained(out) loads it."""
    from transformers import PreTrainedTokenizerFast

    fast = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", unk_token="<unk>",
                                   additional_special_tokens=SENTINELS, model_max_length=model_max_length)
    fast.save_pretrained(str(out))


def build_tokenizer(out: Path, clips: int, vocab_size: int) -> dict:
    tok = train_unigram(factory_captions(clips), vocab_size)
    save_tokenizer(tok, out)
    return {"vocab_size": tok.get_vocab_size(), "target_pieces": vocab_size, "caption_clips": clips}


def load_tokenizer(folder: Path) -> Tokenizer:
    path = folder / "tokenizer.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no tokenizer.json (a T5 tokenizer saved by transformers or tokenizers)")
    return Tokenizer.from_file(str(path))
