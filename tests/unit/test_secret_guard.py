"""Repository-wide guard: every secret setting is a ``SecretStr``, and no secret-named value
is formatted into a message (f-string, ``%``, ``.format``, a log call's arguments) unless it
goes through a redaction helper of ``cxscore.redaction``.

A name formatted for a good reason (it is not a secret's value, or the text is never
shown) is listed in ``ALLOWED`` with the reason, or its line carries
``# not-a-secret: <why>``.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from pydantic import BaseModel, SecretStr

from cxscore.settings import SECRET_KEYS, Settings

REPO = Path(__file__).resolve().parents[2]
SECRET_NAME = re.compile(
    r"(?i)(password|passwd|secret|token|webhook|hash_key|api_key|hmac|ipad|opad|credential)"
)
URL_NAME = re.compile(r"(?i)(^|_)(url|dsn|uri)$")
REDACTORS = frozenset(
    {
        "redact_url",
        "redact_text",
        "redact_webhook_url",
        "redact_obj",
        "describe_error",
        "len",
        "bool",
        "type",
        "is_secret_key",
        "isinstance",
    }
)
# (file, name) formatted on purpose, with the reason it is not a secret's value
ALLOWED = {
    (
        "src/cxscore/orchestration/connections.py",
        "password",
    ): "builds the connection's URL, never shown",
    ("src/cxscore/transform.py", "ipad"): "builds PGOPTIONS for dbt (masked), never shown",
    ("src/cxscore/transform.py", "opad"): "builds PGOPTIONS for dbt (masked), never shown",
    ("src/cxscore/sources/zendesk.py", "url"): "API URLs carry no credential (auth header)",
    ("src/cxscore/sources/zendesk.py", "base_url"): "API URLs carry no credential",
    ("src/cxscore/sources/zendesk.py", "CREDENTIALS_HINT"): "names the variables only",
    ("src/cxscore/standins/zendesk.py", "token"): "the stand-in's own check",
    ("src/cxscore/standins/zendesk.py", "base_url"): "the local stand-in's address",
}
LOG_METHODS = frozenset({"debug", "info", "warning", "error", "exception", "critical", "log"})
WAIVER = "# not-a-secret:"


def _secret_fields(model: type[BaseModel], prefix: str = "") -> dict[str, object]:
    fields: dict[str, object] = {}
    for name, field in model.model_fields.items():
        if field.exclude:
            continue
        annotation = field.annotation
        args = getattr(annotation, "__args__", ())
        inner = next((a for a in args if a is not type(None)), annotation) if args else annotation
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            fields.update(_secret_fields(inner, f"{prefix}{name}."))
        else:
            fields[f"{prefix}{name}"] = inner
    return fields


def test_every_secret_setting_is_a_secret_str() -> None:
    fields = _secret_fields(Settings)
    named_secret = {k for k in fields if SECRET_NAME.search(k.rsplit(".", 1)[-1])}
    typed_secret = {k for k, t in fields.items() if t is SecretStr}
    assert named_secret == typed_secret == set(SECRET_KEYS), (
        named_secret,
        typed_secret,
        SECRET_KEYS,
    )


def _names(node: ast.AST) -> list[str]:
    """Identifiers in ``node`` that are not inside a call to a redaction helper."""
    found: list[str] = []

    def visit(child: ast.AST) -> None:
        if isinstance(child, ast.Call):
            func = child.func
            called = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            if called in REDACTORS:
                return
            if called == "get_secret_value":
                found.append("get_secret_value")
        if isinstance(child, ast.Name):
            found.append(child.id)
        elif isinstance(child, ast.Attribute):
            found.append(child.attr)
        elif isinstance(child, ast.Constant) and isinstance(child.value, str):
            return
        for grandchild in ast.iter_child_nodes(child):
            visit(grandchild)

    visit(node)
    return found


def _formatted(tree: ast.AST) -> list[tuple[int, ast.AST]]:
    """(line, expression) of every value formatted into text."""
    out: list[tuple[int, ast.AST]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            out += [(v.lineno, v.value) for v in node.values if isinstance(v, ast.FormattedValue)]
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
            if isinstance(node.left, ast.Constant) and isinstance(node.left.value, str):
                out.append((node.lineno, node.right))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr == "format" and isinstance(node.func.value, ast.Constant):
                out += [(node.lineno, a) for a in [*node.args, *(k.value for k in node.keywords)]]
            elif node.func.attr in LOG_METHODS and node.args:
                out += [(node.lineno, a) for a in node.args[1:]]
    return out


def _violations(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    problems = []
    for lineno, expr in _formatted(ast.parse(text)):
        if WAIVER in lines[lineno - 1]:
            continue
        where = str(path.relative_to(REPO))
        bad = [
            n
            for n in _names(expr)
            if (SECRET_NAME.search(n) or URL_NAME.search(n)) and (where, n) not in ALLOWED
        ]
        if bad:
            problems.append(f"{where}:{lineno}: {', '.join(bad)}")
    return problems


def test_no_secret_is_formatted_without_the_redaction_helper() -> None:
    files = sorted([*(REPO / "src").rglob("*.py"), *(REPO / "dags").rglob("*.py")])
    assert len(files) > 30
    problems = [p for f in files for p in _violations(f)]
    assert not problems, "format these through cxscore.redaction:\n" + "\n".join(problems)


def test_the_guard_catches_a_leak(tmp_path: Path) -> None:
    leak = tmp_path / "leak.py"
    leak.write_text(
        "def f(settings, log, url, webhook_url, exc):\n"
        "    log.error('delivery to %s failed', webhook_url)\n"
        "    token = settings.sources.zendesk.api_token.get_secret_value()\n"
        "    a = f'token {token}'\n"
        "    b = 'at %s' % url\n"
        "    c = f'ok {redact_url(url)} {redact_webhook_url(webhook_url)}'\n"
    )
    found = [p.split(": ", 1)[1] for p in _violations_at(leak)]
    assert found == ["webhook_url", "token", "url"]


def _violations_at(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    problems = []
    for lineno, expr in _formatted(ast.parse(text)):
        bad = [n for n in _names(expr) if SECRET_NAME.search(n) or URL_NAME.search(n)]
        if bad:
            problems.append(f"{lineno}: {', '.join(bad)}")
    return sorted(problems)
