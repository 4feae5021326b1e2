"""Suites as data: read the YAML files in ``expectations/`` into plain objects (no GX here).

A suite file names one table, how it is cut into batches, extra SQL columns derived from
``payload`` and the expectations with their severities. The format is documented in
docs/quality.md. Every problem is a :class:`ConfigError` naming the file and the key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from cxscore.settings import ConfigError, Settings

SEVERITIES = ("critical", "warning")
STAGES = ("raw", "marts")
SCOPES = ("table", "batch", "days")
# A template whose first line is this marker reads the table's counts per business day of its
# column (scope ``days``: cxscore.quality.day_counts) instead of the table itself.
DAYS_MARKER = "-- cxscore: scope days"
# Expectations about the table's shape: validated once per run on the whole table (cheap,
# they read the catalogue), never per batch.
SCHEMA_TYPES = frozenset(
    {
        "expect_column_to_exist",
        "expect_column_values_to_be_in_type_list",
        "expect_column_values_to_be_of_type",
        "expect_table_columns_to_match_set",
        "expect_table_columns_to_match_ordered_list",
    }
)
SQL_TYPE = "unexpected_rows_expectation"
# Expectations that compare rows with each other (GX joins the batch with its own grouped
# keys): they read the batch's plain rows, like the SQL checks (cxscore.quality.runner).
UNIQUENESS_TYPES = frozenset(
    {"expect_column_values_to_be_unique", "expect_compound_columns_to_be_unique"}
)
# Keys of an expectation entry that belong to cxscore; every other key goes to GX.
OWN_KEYS = frozenset(
    {"type", "name", "severity", "scope", "params", "threshold", "description", "query_template"}
)
SUITE_KEYS = frozenset(
    {
        "suite",
        "description",
        "stage",
        "table",
        "batch_column",
        "fields",
        "derived",
        "decompress_payload",
        "pii",
        "expectations",
    }
)
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")


@dataclass(frozen=True)
class ExpectationSpec:
    """One expectation of a suite, templates resolved, ready to hand to GX."""

    name: str
    type: str
    severity: str
    scope: str
    column: str | None
    kwargs: dict[str, Any]
    threshold: str | None
    description: str | None
    where: str  # "file: expectations[i]" for messages

    @property
    def is_sql(self) -> bool:
        return self.type == SQL_TYPE

    @property
    def reads_plain_rows(self) -> bool:
        """Validated on the batch's plain query rather than its fenced one: the SQL checks
        and the uniqueness expectations, which read a few key columns."""
        return self.is_sql or self.type in UNIQUENESS_TYPES

    @property
    def gx_class_name(self) -> str:
        return "".join(part.capitalize() for part in self.type.split("_"))


@dataclass(frozen=True)
class Suite:
    name: str
    path: Path
    stage: str
    schema: str
    table: str
    batch_column: str | None
    fields: dict[str, str]
    derived: dict[str, str]
    expectations: list[ExpectationSpec] = field(default_factory=list)
    description: str | None = None
    # columns (or `fields` names) holding personal data: their values never reach
    # quality.check_results or an alert (cxscore.quality.pii)
    pii: frozenset[str] = frozenset()
    # the batch query reads the table's jsonb `payload` decompressed once per row (a
    # large, compressed record read field by field: docs/quality.md, "Per-batch validation")
    decompress_payload: bool = False

    @property
    def checked_schema(self) -> str:
        """Where the expectations run. A marts suite names the published table (``marts.x``)
        but checks the build candidate in ``marts_build``: a build is published only after
        its checks passed (cxscore.publish)."""
        from cxscore.publish import BUILD_SCHEMA, PUBLISHED_SCHEMA

        if self.stage == "marts" and self.schema == PUBLISHED_SCHEMA:
            return BUILD_SCHEMA
        return self.schema

    @property
    def qualified_table(self) -> str:
        """The relation the checks query (see :attr:`checked_schema`)."""
        return f"{self.checked_schema}.{self.table}"

    def scoped(self, scope: str) -> list[ExpectationSpec]:
        return [e for e in self.expectations if e.scope == scope]


def expectations_dir(settings: Settings) -> Path:
    """``quality.expectations_dir``, else the shipped ``expectations/`` (cxscore.paths)."""
    from cxscore.paths import expectations_dir as shipped

    configured = settings.quality.expectations_dir
    return Path(configured) if configured else shipped()


def template_values(settings: Settings, now: datetime) -> dict[str, Any]:
    """Values a suite may reference as ``${name}`` (typed when a value is only the reference)."""
    from datetime import timedelta

    quality = settings.quality
    start = quality.min_timestamp or settings.sources.zendesk.start_time
    return {
        "mostly": quality.completeness_mostly,
        "start_time": start,
        "now": now,
        "future_limit": now + timedelta(minutes=quality.future_tolerance_minutes),
        "freshness_hours": quality.freshness_hours,
        "volume_factor": quality.volume_factor,
        "volume_days": quality.volume_days,
        "volume_min_baseline": quality.volume_min_baseline,
        "business_timezone": settings.business_timezone,
        "max_reject_pct": settings.load.max_reject_pct,
    }


def _render(value: Any, values: dict[str, Any], where: str) -> Any:
    """Replace ``${name}`` references; a string that is one reference keeps the value's type."""
    if isinstance(value, dict):
        return {k: _render(v, values, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [_render(v, values, f"{where}[{i}]") for i, v in enumerate(value)]
    if not isinstance(value, str):
        return value

    def lookup(name: str) -> Any:
        if name not in values:
            raise ConfigError(
                f"{where}: unknown template reference ${{{name}}}; "
                f"known: {', '.join(sorted(values))}"
            )
        return values[name]

    whole = _PLACEHOLDER.fullmatch(value.strip())
    if whole:
        return lookup(whole.group(1))

    def text(match: re.Match[str]) -> str:
        found = lookup(match.group(1))
        return found.isoformat() if isinstance(found, datetime) else str(found)

    return _PLACEHOLDER.sub(text, value)


def _require(data: dict[str, Any], key: str, kind: type, where: str) -> Any:
    if key not in data:
        raise ConfigError(f"{where}: missing key '{key}'")
    value = data[key]
    if not isinstance(value, kind):
        raise ConfigError(f"{where}: key '{key}' must be a {kind.__name__}, got {value!r}")
    return value


def load_suite(path: Path, values: dict[str, Any]) -> Suite:
    """Read and check one suite file."""
    try:
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C parser when built
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping (suite, table, expectations)")
    unknown = set(data) - SUITE_KEYS
    if unknown:
        raise ConfigError(
            f"{path}: unknown key(s) {', '.join(sorted(map(str, unknown)))}; "
            f"allowed: {', '.join(sorted(SUITE_KEYS))}"
        )
    where = str(path)
    name = _require(data, "suite", str, where)
    stage = _require(data, "stage", str, where)
    if stage not in STAGES:
        raise ConfigError(f"{path}: key 'stage' must be one of {STAGES}, got {stage!r}")
    qualified = _require(data, "table", str, where)
    if qualified.count(".") != 1 or not all(_IDENT.match(p) for p in qualified.split(".")):
        raise ConfigError(f"{path}: key 'table' must be schema.table, got {qualified!r}")
    schema, table = qualified.split(".")
    batch_column = data.get("batch_column")
    if batch_column is not None and not (
        isinstance(batch_column, str) and _IDENT.match(batch_column)
    ):
        raise ConfigError(f"{path}: key 'batch_column' must be a column name")
    fields = data.get("fields") or {}
    derived = data.get("derived") or {}
    for key, mapping in (("fields", fields), ("derived", derived)):
        if not isinstance(mapping, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in mapping.items()
        ):
            raise ConfigError(f"{path}: key '{key}' must map names to SQL expressions (text)")
    for column in derived:
        if not _IDENT.match(column):
            raise ConfigError(f"{path}: derived.{column}: not a valid column name")
    if derived and batch_column is None:
        raise ConfigError(f"{path}: 'derived' columns need a 'batch_column' (batch queries)")
    decompress_payload = data.get("decompress_payload", False)
    if not isinstance(decompress_payload, bool):
        raise ConfigError(f"{path}: key 'decompress_payload' must be true or false")
    if decompress_payload and batch_column is None:
        raise ConfigError(f"{path}: 'decompress_payload' needs a 'batch_column' (batch queries)")
    pii = data.get("pii") or []
    if not isinstance(pii, list) or not all(isinstance(c, str) and c for c in pii):
        raise ConfigError(f"{path}: key 'pii' must be a list of column names")
    raw_list = _require(data, "expectations", list, where)
    specs: list[ExpectationSpec] = []
    seen: set[tuple[str, str | None]] = set()
    for index, entry in enumerate(raw_list):
        spec = _expectation(
            entry, f"{path}: expectations[{index}]", values, batch_column, path.parent
        )
        ident = (spec.name, spec.column)
        if ident in seen:
            raise ConfigError(
                f"{spec.where}: duplicate expectation {spec.name!r} on column {spec.column!r}; "
                "give one of them a distinct 'name'"
            )
        seen.add(ident)
        specs.append(spec)
    return Suite(
        name=name,
        path=path,
        stage=stage,
        schema=schema,
        table=table,
        batch_column=batch_column,
        fields=dict(fields),
        derived=dict(derived),
        expectations=specs,
        description=data.get("description"),
        pii=frozenset(pii),
        decompress_payload=decompress_payload,
    )


def _expectation(
    entry: Any, where: str, values: dict[str, Any], batch_column: str | None, folder: Path
) -> ExpectationSpec:
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: each expectation must be a mapping with a 'type'")
    template = entry.get("query_template")
    if template is not None:
        entry = _from_template(entry, str(template), folder, where)
    etype = _require(entry, "type", str, where)
    severity = entry.get("severity", "warning")
    if severity not in SEVERITIES:
        raise ConfigError(f"{where}: key 'severity' must be critical or warning, got {severity!r}")
    default_scope = "table" if etype in SCHEMA_TYPES or batch_column is None else "batch"
    scope = entry.get("scope", default_scope)
    if scope not in SCOPES:
        raise ConfigError(f"{where}: key 'scope' must be table, batch or days, got {scope!r}")
    if scope in ("batch", "days") and batch_column is None:
        raise ConfigError(f"{where}: scope {scope!r} needs the suite's 'batch_column'")
    if (scope == "days") != bool(entry.get("_days")):
        raise ConfigError(
            f"{where}: scope 'days' is the scope of the day-count templates "
            "(freshness, volume_same_weekday, missing_days: their SQL reads day, n, newest); "
            + ("drop 'scope' or write scope: days" if entry.get("_days") else "use one of them")
        )
    params = entry.get("params") or {}
    if not isinstance(params, dict):
        raise ConfigError(f"{where}: key 'params' must be a mapping")
    local = {**values, **_render(params, values, f"{where}.params")}
    kwargs = {
        k: _render(v, local, f"{where}.{k}")
        for k, v in entry.items()
        if k not in OWN_KEYS and k != "_days"
    }
    if etype == SQL_TYPE:
        query = kwargs.get("unexpected_rows_query")
        if not isinstance(query, str) or "{batch}" not in query:
            raise ConfigError(
                f"{where}: an {SQL_TYPE} needs 'unexpected_rows_query' text that reads "
                "from {batch}"
            )
        if "name" not in entry:
            raise ConfigError(f"{where}: an {SQL_TYPE} needs a 'name'")
    if etype == SQL_TYPE:
        column = kwargs.pop("column", None)  # a label only: what the SQL judges
    else:
        column = kwargs.get("column")
        if column is None and isinstance(kwargs.get("column_list"), list):
            column = ",".join(str(c) for c in kwargs["column_list"])
    threshold = entry.get("threshold")
    return ExpectationSpec(
        name=str(entry.get("name", etype)),
        type=etype,
        severity=severity,
        scope=scope,
        column=column if column is None else str(column),
        kwargs=kwargs,
        threshold=None if threshold is None else str(_render(threshold, local, where)),
        description=entry.get("description"),
        where=where,
    )


def _from_template(entry: dict[str, Any], name: str, folder: Path, where: str) -> dict[str, Any]:
    """An SQL expectation whose query is ``templates/<name>.sql`` (``${column}`` = its column)."""
    path = folder / "templates" / f"{name}.sql"
    if not _IDENT.match(name) or not path.is_file():
        raise ConfigError(f"{where}: query_template {name!r}: no file {path}")
    if not isinstance(entry.get("column"), str):
        raise ConfigError(f"{where}: query_template {name!r} needs a 'column'")
    params = dict(entry.get("params") or {})
    params.setdefault("column", entry["column"])
    text = path.read_text(encoding="utf-8")
    days = text.startswith(DAYS_MARKER)
    scope = entry.get("scope")
    if days and scope in (None, "table"):  # "table": how suites said it before day counts
        scope = "days"
    if days and not _IDENT.match(entry["column"]):
        raise ConfigError(
            f"{where}: query_template {name!r} counts a column of the table: 'column' must be "
            f"a column name, got {entry['column']!r}"
        )
    return {
        "type": SQL_TYPE,
        "name": name,
        **entry,
        **({"scope": scope, "_days": True} if days else {}),
        "params": params,
        "unexpected_rows_query": text,
    }


def load_suites(
    settings: Settings, now: datetime, directory: Path | None = None
) -> dict[str, Suite]:
    """All suites of the expectations folder, by name (sorted by file name)."""
    folder = directory or expectations_dir(settings)
    if not folder.is_dir():
        raise ConfigError(
            f"expectations folder {folder} does not exist (set quality.expectations_dir)"
        )
    values = template_values(settings, now)
    suites: dict[str, Suite] = {}
    for path in sorted([*folder.glob("*.yml"), *folder.glob("*.yaml")]):
        suite = load_suite(path, values)
        if suite.name in suites:
            raise ConfigError(
                f"{path}: suite {suite.name!r} is already defined in {suites[suite.name].path}"
            )
        suites[suite.name] = suite
    return suites
