"""The offline sentiment scorer and ``cxscore sentiment`` (issue 18 acceptance)."""

from __future__ import annotations

import json
import socket
from typing import Any

import pytest
from typer.testing import CliRunner

from cxscore.cli import app
from cxscore.signals import sentiment
from cxscore.signals.sentiment import (
    NEGATIVE_THRESHOLD,
    detect_language,
    normalise_language,
    score_text,
    scorers,
    vendor_score,
)

NEGATIVE = {
    "en": "This is the worst service, I am furious",
    "de": "Das ist eine Katastrophe, ich bin wütend und sehr enttäuscht",
    "hu": "Borzalmas, nagyon rossz szolgáltatás, dühös vagyok",
}
POSITIVE = {
    "en": "Thank you, great help and very friendly",
    "de": "Vielen Dank, super schnell und sehr freundlich",
    "hu": "Köszönöm, kiváló és gyors segítség",
}


def test_the_english_acceptance_sentence_scores_below_minus_half() -> None:
    result = score_text(NEGATIVE["en"])
    assert result.score is not None and result.score < NEGATIVE_THRESHOLD
    assert (result.language, result.language_source, result.scorer) == ("en", "detected", "vader")


@pytest.mark.parametrize("language", ["de", "hu"])
def test_clearly_negative_german_and_hungarian_score_below_zero(language: str) -> None:
    for declared in (language, None):  # declared by the vendor, or detected offline
        result = score_text(NEGATIVE[language], declared)
        assert result.language == language
        assert result.score is not None and result.score < 0
        assert result.scorer == "afinn-mt"


@pytest.mark.parametrize("language", ["en", "de", "hu"])
def test_clearly_positive_texts_score_above_zero(language: str) -> None:
    result = score_text(POSITIVE[language], language)
    assert result.score is not None and result.score > 0


def test_a_language_without_a_scorer_is_unscored_never_zero() -> None:
    result = score_text("Это ужасный сервис, я в ярости")
    assert result.language == "ru" and result.score is None and result.scorer is None
    assert result.label == "unscored"
    assert score_text("ひどいサービスでした", "ja-JP").score is None


def test_no_scoring_word_is_unscored_not_zero() -> None:
    assert score_text("The parcel arrived on Monday at the depot", "en").score is None
    assert score_text("Die Bestellnummer ist 12345", "de").score is None
    assert score_text("", "en").score is None


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Η εξυπηρέτηση ήταν απαράδεκτη, είμαι πολύ θυμωμένος", "el"),
        ("השירות היה גרוע מאוד, אני כועס", "he"),
        ("Service horrible, je suis furieux", "fr"),
        ("Das ist gut. " * 500, "de"),  # long: its first 1,000 characters decide
        ("ok thanks", None),  # under 12 characters: not worth a guess
        ("12345 67890 1234", None),  # no language in it
    ],
)
def test_detection_names_the_language_or_none(text: str, language: str | None) -> None:
    assert detect_language(text) == language


def test_the_declared_language_wins_over_detection() -> None:
    result = score_text("Das ist gut", "de-AT")
    assert (result.language, result.language_source) == ("de", "declared")
    assert normalise_language("iw") == "he" and normalise_language("hu_HU") == "hu"
    assert normalise_language("") is None


def test_negation_flips_the_word_and_scores_stay_in_range() -> None:
    plain = score_text("Das war gut", "de").score
    negated = score_text("Das war nicht gut", "de").score
    assert plain is not None and negated is not None and plain > 0 > negated
    very = score_text(" ".join(["schrecklich"] * 50), "de").score
    assert very is not None and -1 <= very < -0.99


def test_vendor_scores_are_divided_by_five() -> None:
    assert vendor_score(-5) == -1.0 and vendor_score(2.5) == 0.5 and vendor_score(None) is None


def test_every_scorer_records_a_name_and_version() -> None:
    assert set(scorers()) >= {"en", "de", "hu"}
    assert all(name and version for name, version in scorers().values())


def test_scoring_needs_no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: Any, **_kwargs: Any) -> None:
        raise AssertionError("the scorer tried to open a network connection")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    sentiment._detector.cache_clear()  # the detector's model is loaded under the refusal
    for language, text in NEGATIVE.items():
        assert score_text(text, language).score is not None
    assert score_text("Γεια σας, ευχαριστώ πολύ για την εξαιρετική βοήθεια").language == "el"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["This is the worst service, I am furious"], "-0.8316"),
        ([NEGATIVE["de"], "--lang", "de"], "language=de (declared)"),
        ([NEGATIVE["hu"]], "language=hu (detected)"),
        (["Это ужасный сервис, я в ярости"], "unscored"),
        (["ひどい", "--lang", "ja"], "unscored  language=ja (declared)  scorer=none"),
    ],
)
def test_cli_prints_score_language_and_scorer(args: list[str], expected: str) -> None:
    result = CliRunner().invoke(app, ["sentiment", *args])
    assert result.exit_code == 0, result.output
    assert expected in result.output


def test_cli_json_and_the_negative_sign() -> None:
    result = CliRunner().invoke(app, ["sentiment", NEGATIVE["hu"], "--json"])
    assert result.exit_code == 0
    body = json.loads(result.output)
    assert body["score"] < 0 and body["language"] == "hu" and body["scorer"] == "afinn-mt"
    result = CliRunner().invoke(app, ["sentiment", "Это ужасно", "--lang", "ru", "--json"])
    assert json.loads(result.output)["score"] is None


def _word_list_reference(text: str, language: str) -> tuple[float | None, int]:
    """The word-list scorer written plainly (every phrase length tried at every word, the
    longest first): what ``_score_afinn`` computes with its shortcut for words that begin
    no phrase of several words."""
    import math

    words, negators, longest, _starts = sentiment._afinn(language)
    tokens = sentiment._TOKEN.findall(text.lower())
    total = hits = i = 0
    negate = False
    while i < len(tokens):
        for size in range(min(longest, len(tokens) - i), 0, -1):
            phrase = " ".join(tokens[i : i + size])
            if phrase in negators:
                negate, i = True, i + size
                break
            if phrase in words:
                total += -words[phrase] if negate else words[phrase]
                hits, negate, i = hits + 1, False, i + size
                break
        else:
            i += 1
    if hits == 0:
        return None, 0
    return total / math.sqrt(total * total + sentiment.ALPHA), hits


@pytest.mark.parametrize("language", ["de", "hu", "el", "he"])
def test_the_word_list_shortcut_scores_as_the_plain_algorithm(language: str) -> None:
    import random

    from cxscore.generate.texts import CUSTOMER

    words, negators, longest, starts = sentiment._afinn(language)
    phrases = [w for w in [*words, *negators] if " " in w]
    assert longest > 1 and phrases and starts  # the lists do hold phrases of several words
    rng = random.Random(5)
    vocabulary = [*rng.sample(sorted(words), 300), *negators, *phrases, "und", "a", "x"]
    texts = [t for by_language in CUSTOMER.values() for t in by_language.get(language, ())]
    for _ in range(3000):
        texts.append(" ".join(rng.choice(vocabulary) for _ in range(rng.randint(1, 12))))
    # phrases cut short, and a phrase's first word on its own
    texts += [" ".join(p.split()[:-1]) for p in phrases] + [p.split()[0] for p in phrases]
    different = [
        t for t in texts if sentiment._score_afinn(t, language) != _word_list_reference(t, language)
    ]
    assert different == []
    assert sum(_word_list_reference(t, language)[1] > 1 for t in texts) > 500  # not vacuous
