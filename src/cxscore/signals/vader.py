"""VADER's ``polarity_scores``, computed as ``vaderSentiment`` 3.3.2 computes it, faster.

``vaderSentiment`` (MIT) is the English scorer (signals.md, "Scoring"), and its lexicon,
emoji table and constants are read from that package. Its reference implementation spends
most of each call on bookkeeping: it rebuilds a lower-cased copy of every word of the text
for each rule it checks on each sentiment word (three to five times per word found), walks
the text character by character to replace emojis, and searches the negation list
linearly. :func:`polarity_scores` follows the same rules in the same order with the same
floating-point operations, on words lower-cased once, and looks for emojis only in a text
that has a character outside ASCII. Its results are those of the package, value for value:
``tests/unit/test_vader.py`` compares the two on the labelled sets, the synthetic world's
texts and generated texts that exercise every rule (negations, boosters, "but", "kind of",
"least", "no", idioms, capitals, punctuation, emojis).
"""

from __future__ import annotations

import functools
import math
import string
from typing import Any

from vaderSentiment import vaderSentiment as _ref

B_INCR = _ref.B_INCR
C_INCR = _ref.C_INCR
N_SCALAR = _ref.N_SCALAR
BOOSTER_DICT: dict[str, float] = _ref.BOOSTER_DICT
SPECIAL_CASES: dict[str, float] = _ref.SPECIAL_CASES
NEGATE = frozenset(_ref.NEGATE)
_PUNCTUATION = string.punctuation


@functools.cache
def _tables() -> tuple[dict[str, float], dict[str, str], bool]:
    """The package's lexicon and emoji table (read once), and whether every emoji key is
    outside ASCII (so that an ASCII text has none)."""
    analyzer = _ref.SentimentIntensityAnalyzer()
    emojis: dict[str, str] = analyzer.emojis
    return analyzer.lexicon, emojis, all(not key.isascii() for key in emojis)


def lexicon() -> dict[str, float]:
    return _tables()[0]


def _replace_emojis(text: str, emojis: dict[str, str]) -> str:
    # the package's loop, as it is
    text_no_emoji = ""
    prev_space = True
    for chr in text:
        if chr in emojis:
            description = emojis[chr]
            if not prev_space:
                text_no_emoji += " "
            text_no_emoji += description
            prev_space = False
        else:
            text_no_emoji += chr
            prev_space = chr == " "
    return text_no_emoji


def _negated(word: str) -> bool:
    # the package's negated([word]): the word lower-cased already
    return word in NEGATE or "n't" in word


def _scalar_inc_dec(word: str, lower: str, valence: float, cap_diff: bool) -> float:
    scalar = 0.0
    if lower in BOOSTER_DICT:
        scalar = BOOSTER_DICT[lower]
        if valence < 0:
            scalar *= -1
        if word.isupper() and cap_diff:
            if valence > 0:
                scalar += C_INCR
            else:
                scalar -= C_INCR
    return scalar


def _negation_check(valence: float, low: list[str], start_i: int, i: int) -> float:
    if start_i == 0 and _negated(low[i - 1]):
        valence = valence * N_SCALAR
    if start_i == 1:
        if low[i - 2] == "never" and (low[i - 1] == "so" or low[i - 1] == "this"):
            valence = valence * 1.25
        elif low[i - 2] == "without" and low[i - 1] == "doubt":
            valence = valence
        elif _negated(low[i - 2]):
            valence = valence * N_SCALAR
    if start_i == 2:
        if (low[i - 3] == "never" and (low[i - 2] == "so" or low[i - 2] == "this")) or (
            low[i - 1] == "so" or low[i - 1] == "this"
        ):
            valence = valence * 1.25
        elif low[i - 3] == "without" and (low[i - 2] == "doubt" or low[i - 1] == "doubt"):
            valence = valence
        elif _negated(low[i - 3]):
            valence = valence * N_SCALAR
    return valence


def _special_idioms_check(valence: float, low: list[str], i: int) -> float:
    onezero = f"{low[i - 1]} {low[i]}"
    twoonezero = f"{low[i - 2]} {low[i - 1]} {low[i]}"
    twoone = f"{low[i - 2]} {low[i - 1]}"
    threetwoone = f"{low[i - 3]} {low[i - 2]} {low[i - 1]}"
    threetwo = f"{low[i - 3]} {low[i - 2]}"
    for seq in (onezero, twoonezero, twoone, threetwoone, threetwo):
        if seq in SPECIAL_CASES:
            valence = SPECIAL_CASES[seq]
            break
    if len(low) - 1 > i:
        zeroone = f"{low[i]} {low[i + 1]}"
        if zeroone in SPECIAL_CASES:
            valence = SPECIAL_CASES[zeroone]
    if len(low) - 1 > i + 1:
        zeroonetwo = f"{low[i]} {low[i + 1]} {low[i + 2]}"
        if zeroonetwo in SPECIAL_CASES:
            valence = SPECIAL_CASES[zeroonetwo]
    for n_gram in (threetwoone, threetwo, twoone):
        if n_gram in BOOSTER_DICT:
            valence = valence + BOOSTER_DICT[n_gram]
    return valence


def _least_check(valence: float, low: list[str], i: int, lex: dict[str, float]) -> float:
    if i > 1 and low[i - 1] not in lex and low[i - 1] == "least":
        if low[i - 2] != "at" and low[i - 2] != "very":
            valence = valence * N_SCALAR
    elif i > 0 and low[i - 1] not in lex and low[i - 1] == "least":
        valence = valence * N_SCALAR
    return valence


def _but_check(low: list[str], sentiments: list[Any]) -> list[Any]:
    # the package's loop, as it is (it finds each value's first occurrence)
    if "but" in low:
        bi = low.index("but")
        for sentiment in sentiments:
            si = sentiments.index(sentiment)
            if si < bi:
                sentiments.pop(si)
                sentiments.insert(si, sentiment * 0.5)
            elif si > bi:
                sentiments.pop(si)
                sentiments.insert(si, sentiment * 1.5)
    return sentiments


def _score_valence(sentiments: list[Any], text: str) -> tuple[float, float, float, float]:
    """(neg, neu, pos, compound), rounded as the package rounds them."""
    if not sentiments:
        return 0.0, 0.0, 0.0, 0.0
    sum_s = float(sum(sentiments))
    ep_amplifier = min(text.count("!"), 4) * 0.292
    qm_count = text.count("?")
    qm_amplifier: float = 0
    if qm_count > 1:
        qm_amplifier = qm_count * 0.18 if qm_count <= 3 else 0.96
    punct_emph_amplifier = ep_amplifier + qm_amplifier
    if sum_s > 0:
        sum_s += punct_emph_amplifier
    elif sum_s < 0:
        sum_s -= punct_emph_amplifier
    compound = _ref.normalize(sum_s)
    pos_sum = 0.0
    neg_sum = 0.0
    # the zeros add nothing to either sum: only their count is needed
    scores = [score for score in sentiments if score != 0]
    neu_count = len(sentiments) - len(scores)
    for sentiment_score in scores:
        if sentiment_score > 0:
            pos_sum += float(sentiment_score) + 1
        else:
            neg_sum += float(sentiment_score) - 1
    if pos_sum > math.fabs(neg_sum):
        pos_sum += punct_emph_amplifier
    elif pos_sum < math.fabs(neg_sum):
        neg_sum -= punct_emph_amplifier
    total = pos_sum + math.fabs(neg_sum) + neu_count
    return (
        round(math.fabs(neg_sum / total), 3),
        round(math.fabs(neu_count / total), 3),
        round(math.fabs(pos_sum / total), 3),
        round(compound, 4),
    )


def polarity_scores(text: str) -> dict[str, float]:
    """``SentimentIntensityAnalyzer().polarity_scores(text)`` of vaderSentiment 3.3.2."""
    neg, neu, pos, compound = polarity(text)
    return {"neg": neg, "neu": neu, "pos": pos, "compound": compound}


def polarity(text: str) -> tuple[float, float, float, float]:
    """:func:`polarity_scores` as a tuple ``(neg, neu, pos, compound)``."""
    lex, emojis, emojis_not_ascii = _tables()
    if not (emojis_not_ascii and text.isascii()):
        text = _replace_emojis(text, emojis)
    text = text.strip()
    words = [t if len(core := t.strip(_PUNCTUATION)) <= 2 else core for t in text.split()]
    n = len(words)
    low = [w.lower() for w in words]
    # a word outside the lexicon scores 0 whatever surrounds it: only lexicon words are
    # looked at (in the package's order; each word's valence depends on the words alone)
    sentiments: list[Any] = [0] * n
    cap_diff: bool | None = None  # some but not all words in capitals: asked for rarely
    for i in [i for i, w in enumerate(low) if w in lex]:
        item_lowercase = low[i]
        if item_lowercase in BOOSTER_DICT:
            continue
        if i < n - 1 and item_lowercase == "kind" and low[i + 1] == "of":
            continue
        item = words[i]
        valence = lex[item_lowercase]
        if item_lowercase == "no" and i != n - 1 and low[i + 1] in lex:
            valence = 0.0
        if (
            (i > 0 and low[i - 1] == "no")
            or (i > 1 and low[i - 2] == "no")
            or (i > 2 and low[i - 3] == "no" and low[i - 1] in ("or", "nor"))
        ):
            valence = lex[item_lowercase] * N_SCALAR
        if item.isupper():
            if cap_diff is None:
                cap_diff = _allcap_differential(words)
            if cap_diff:
                if valence > 0:
                    valence += C_INCR
                else:
                    valence -= C_INCR
        for start_i in range(0, 3):
            if i > start_i and low[i - (start_i + 1)] not in lex:
                before = i - (start_i + 1)
                s = 0.0
                if low[before] in BOOSTER_DICT:
                    if cap_diff is None:
                        cap_diff = _allcap_differential(words)
                    s = _scalar_inc_dec(words[before], low[before], valence, cap_diff)
                if start_i == 1 and s != 0:
                    s = s * 0.95
                if start_i == 2 and s != 0:
                    s = s * 0.9
                valence = valence + s
                valence = _negation_check(valence, low, start_i, i)
                if start_i == 2:
                    valence = _special_idioms_check(valence, low, i)
        sentiments[i] = _least_check(valence, low, i, lex)
    sentiments = _but_check(low, sentiments)
    return _score_valence(sentiments, text)


def _allcap_differential(words: list[str]) -> bool:
    allcap_words = sum(1 for w in words if w.isupper())
    return 0 < len(words) - allcap_words < len(words)
