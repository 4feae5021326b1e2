"""Customer text of the synthetic world: survey comments, ticket comments and call / chat
transcript turns in the customer's language, whose tone follows the experience (the mood
of the contact: waits, repeats, unresolved issues, the incident week).

Languages: English, German, Hungarian (scored), and a small share of French customers (no
scorer: they show up as unscored in ``sentiment_coverage_pct``). The language of a
customer is fixed by their index, so every contact of theirs uses it.
"""

from __future__ import annotations

import random

# share of customers per language (the rest English)
LANGUAGE_SHARES = (("de", 0.15), ("hu", 0.12), ("fr", 0.04))
LOCALES = {"en": "en-US", "de": "de", "hu": "hu", "fr": "fr"}
CONTACT_LENS_LANGUAGES = {"en": "en-US", "de": "de-DE", "hu": "hu-HU", "fr": "fr-FR"}

# tone -> language -> texts (customer's words)
CUSTOMER: dict[str, dict[str, tuple[str, ...]]] = {
    "good": {
        "en": (
            "Quick and friendly, thank you!",
            "Sorted in one call. Great job.",
            'The agent was "super helpful", thanks',
            "Easy, fast, no hassle. Very happy with the service",
            "Excellent help, I will recommend you",
        ),
        "de": (
            "Vielen Dank, super schnell und sehr freundlich",
            "Ausgezeichnet, alles gut gelöst",
            "Sehr zufrieden, danke für die tolle Hilfe",
            "Perfekt, schnelle und gute Beratung",
        ),
        "hu": (
            "Köszönöm, kiváló és gyors segítség",
            "Nagyon elégedett vagyok, remek munka",
            "Tökéletes, gyors és barátságos kiszolgálás",
            "Kiváló, köszönöm szépen a segítséget",
        ),
        "fr": ("Merci beaucoup, service rapide et agréable", "Parfait, merci pour l'aide"),
    },
    "mid": {
        "en": (
            "OK, but it took a while.",
            "Fine in the end",
            "Had to explain my issue twice, otherwise good",
            "The wait was long; the agent was nice",
        ),
        "de": (
            "Am Ende gut, aber es hat lange gedauert",
            "Okay, ich musste das Problem zweimal erklären",
            "Die Wartezeit war lang, der Mitarbeiter war nett",
        ),
        "hu": (
            "Végül jó lett, de sokáig tartott",
            "Rendben, bár kétszer kellett elmagyaráznom",
            "Hosszú volt a várakozás, de az ügyintéző kedves volt",
        ),
        "fr": ("Correct, mais l'attente était longue",),
    },
    "bad": {
        "en": (
            "Waited forever, then got cut off. Terrible service.",
            "Still not fixed after three contacts!! I am furious",
            "Nobody called back as promised. Awful service, I am angry.",
            "Nobody could tell me when the service is back, this is the worst",
            "Billing is a mess, charged twice. Unacceptable.",
            "Terrible.\nI want a refund.",
        ),
        "de": (
            "Eine Katastrophe, ich bin wütend und sehr enttäuscht",
            "Schrecklich, immer noch nicht gelöst. Furchtbar!",
            "Schlechter Service, ich warte seit Tagen. Enttäuscht",
            "Unverschämt, zweimal abgebucht. Ich bin wütend",
        ),
        "hu": (
            "Borzalmas, nagyon rossz szolgáltatás, dühös vagyok",
            "Szörnyű, még mindig nincs megoldva. Csalódott vagyok",
            "Rossz kiszolgálás, napok óta várok. Elfogadhatatlan",
            "Kétszer terheltek, felháborító és rossz",
        ),
        "fr": ("Service horrible, je suis furieux", "Toujours pas réglé, c'est inadmissible"),
    },
}

# an agent's reply (not scored: agents are not customers)
AGENT = {
    "en": "Thank you for contacting us, we are looking into it.",
    "de": "Danke für Ihre Nachricht, wir kümmern uns darum.",
    "hu": "Köszönjük megkeresését, vizsgáljuk az ügyet.",
    "fr": "Merci de nous avoir contactés, nous examinons votre demande.",
}


def customer_language(idx: int) -> str:
    """The language of customer ``idx`` (deterministic, independent of the world's rng)."""
    x = random.Random(f"language:{idx}").random()
    for language, share in LANGUAGE_SHARES:
        if x < share:
            return language
        x -= share
    return "en"


def tone_of(mood: float) -> str:
    """good / mid / bad from a contact's mood (the scale behind CSAT 1 + 4.4 * mood)."""
    if mood < 0.45:
        return "bad"
    if mood < 0.7:
        return "mid"
    return "good"


def customer_text(rng: random.Random, language: str, mood: float) -> str:
    bank = CUSTOMER[tone_of(mood)]
    return rng.choice(bank.get(language) or bank["en"])


def agent_text(language: str) -> str:
    return AGENT.get(language, AGENT["en"])
