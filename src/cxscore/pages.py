"""The Jinja2 environment of every page cxscore writes: the scorecard page
(``report.py``), its pain points section (``pain_points.py``) and the owner digest
(``signals/digest.py``), all from ``cxscore/templates``.

Templates named ``*.html.j2`` are autoescaped (every value, including touchpoint names and
owners that come from seeds people edit); ``*.txt.j2`` (the digest's text part) is not.
CSS and JS are templates too (``*.css.j2``, ``*.js.j2``), included inline so that a page
stays one self-contained file. JSON inside a ``<script>`` element goes through the
``script_json`` filter: entities are not decoded there, so ``<`` is escaped as ``\\u003c``
(no ``</script>`` can end the element early).
"""

from __future__ import annotations

import json
from functools import cache
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

if TYPE_CHECKING:
    from jinja2 import Environment


def script_json(value: Any) -> Markup:
    """JSON safe inside a <script> element (no entity decoding there: escape '<' instead)."""
    return Markup(json.dumps(value, default=str).replace("<", "\\u003c"))


@cache
def environment() -> Environment:
    """The one environment (templates are compiled once per process)."""
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(
        loader=PackageLoader("cxscore", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
        keep_trailing_newline=True,
    )
    env.filters["script_json"] = script_json
    return env


def render(name: str, **context: Any) -> str:
    """Render the template ``cxscore/templates/<name>``."""
    return environment().get_template(name).render(**context)
