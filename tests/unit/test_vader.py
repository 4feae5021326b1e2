"""cxscore.signals.vader gives vaderSentiment's polarity scores, value for value: on real
labelled sentences, on the synthetic world's texts, and on generated texts that exercise
each of VADER's rules."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from vaderSentiment.vaderSentiment import (
    BOOSTER_DICT,
    NEGATE,
    SPECIAL_CASES,
    SentimentIntensityAnalyzer,
)

from cxscore.generate.texts import AGENT, CUSTOMER
from cxscore.signals import vader

UCI = Path(__file__).resolve().parents[2] / "benchmarks" / "data" / "uci_sentiment_labelled"


@pytest.fixture(scope="module")
def reference() -> SentimentIntensityAnalyzer:
    return SentimentIntensityAnalyzer()


def _differences(reference: SentimentIntensityAnalyzer, texts: list[str]) -> list[str]:
    return [
        f"{text!r}: {vader.polarity_scores(text)} != {reference.polarity_scores(text)}"
        for text in texts
        if vader.polarity_scores(text) != reference.polarity_scores(text)
    ]


def test_the_labelled_sentences_score_as_the_package_scores_them(
    reference: SentimentIntensityAnalyzer,
) -> None:
    texts = [
        json.loads(line)["text"]
        for path in sorted(UCI.glob("*.jsonl"))
        for line in path.read_text(encoding="utf-8").split("\n")
        if line.strip()
    ]
    assert len(texts) == 3000
    assert _differences(reference, texts) == []
    # not a vacuous comparison: most of them carry sentiment
    assert sum(vader.polarity_scores(t)["compound"] != 0 for t in texts) > 2000


def test_the_synthetic_worlds_texts_score_as_the_package_scores_them(
    reference: SentimentIntensityAnalyzer,
) -> None:
    texts = [t for by_language in CUSTOMER.values() for ts in by_language.values() for t in ts]
    texts += list(AGENT.values())
    assert _differences(reference, texts) == []


def test_every_rule_scores_as_the_package_scores_it(
    reference: SentimentIntensityAnalyzer,
) -> None:
    lexicon = reference.lexicon
    rng = random.Random(11)
    sentiment_words = rng.sample(sorted(lexicon), 400)
    rule_words = [
        *BOOSTER_DICT, *NEGATE, *" ".join(SPECIAL_CASES).split(),
        "but", "BUT", "kind", "of", "least", "at", "very", "no", "No", "or", "nor", "never",
        "so", "this", "without", "doubt", "isn't", "don't", "the", "service", "agent",
    ]  # fmt: skip
    decorations = ["!", "?", "!!", "???", "!!!!!", ":)", ":(", ":D", "<3", "...", "--"]
    emojis = ["\U0001f618", "\U0001f44d", "\U0001f621", "\u2764", "\U0001f600"]
    texts = []
    for _ in range(6000):
        words = []
        for _ in range(rng.randint(1, 14)):
            roll = rng.random()
            if roll < 0.35:
                word = rng.choice(sentiment_words)
            elif roll < 0.8:
                word = rng.choice(rule_words)
            elif roll < 0.9:
                word = rng.choice(decorations)
            elif roll < 0.95:
                word = rng.choice(emojis)
            else:
                word = rng.choice(("Dr.", "(ok)", "'great'", "e-mail", "2x", "a"))
            if rng.random() < 0.15:
                word = word.upper()
            if rng.random() < 0.1:
                word += rng.choice((",", ".", "!", "?!"))
            words.append(word)
        sep = rng.choice((" ", " ", "  ", "\t", ""))
        texts.append(sep.join(words) if sep else " ".join(words) + rng.choice(emojis))
    assert _differences(reference, texts) == []
    # the rules were met: negated, boosted, capitalised and "but" texts are among them
    for marker in ("not", "very", "BUT", "kind of", "least", "!!"):
        assert any(marker in t for t in texts), marker


def test_edge_texts_score_as_the_package_scores_them(
    reference: SentimentIntensityAnalyzer,
) -> None:
    texts = [
        "", " ", "!!!", ":)", "no", "No good", "not bad at all", "at least it works",
        "very least good", "kind of good", "GOOD service but BAD agent", "good but good",
        "never so good", "without doubt the best", "the shit", "this is the bomb!!",
        "I love it \U0001f618\U0001f618", "bad\u00a0service", "Ünfreundlich und schlecht",
        "not not good", "no or nor bad", "yeah right", "kiss of death",
    ]  # fmt: skip
    assert _differences(reference, texts) == []
