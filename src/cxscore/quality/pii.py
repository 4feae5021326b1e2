"""Keep personal data out of check results: values of the columns a suite marks ``pii``.

GX reports up to 20 unexpected values of a failing column expectation, an observed value
(a column's min, max, most common value) and, for SQL expectations, the unexpected rows.
``quality.check_results`` is readable by BI and its observed values go out in alerts, so
for a column listed under ``pii:`` in the suite file these values are replaced by ``***``
(their number is kept, so the result still says how many were found).
"""

from __future__ import annotations

from typing import Any

MASK = "***"
# result keys whose value is (or lists) values of the judged column
VALUE_KEYS = ("partial_unexpected_list", "observed_value", "unexpected_list")


def is_pii(column: str | None, pii: frozenset[str]) -> bool:
    """True when the expectation judges a PII column (one of a column list counts)."""
    if not column or not pii:
        return False
    return any(part.strip() in pii for part in column.split(","))


def redact_details(
    details: dict[str, Any], column: str | None, pii: frozenset[str]
) -> dict[str, Any]:
    """The result details without PII: the judged column's values when it is a PII column,
    and the PII columns among the unexpected rows of an SQL expectation (aggregates such as
    counts and the ``observed`` text stay)."""
    if not pii:
        return details
    judged = is_pii(column, pii)
    out = dict(details)
    if judged:
        for key in VALUE_KEYS:
            if key in out:
                out[key] = _mask(out[key])
    rows = out.get("unexpected_rows")
    if isinstance(rows, list):  # SQL expectations: mask the PII columns the query selected
        out["unexpected_rows"] = [
            {k: (MASK if k in pii and v is not None else v) for k, v in row.items()}
            if isinstance(row, dict)
            else row
            for row in rows
        ]
    return out


def redact_result(
    column: str | None,
    pii: frozenset[str],
    result: dict[str, Any],
    observed: str,
    details: dict[str, Any],
) -> tuple[str, dict[str, Any]]:
    """(observed, details) of one GX result without PII. The observed text is masked only
    when it is a value of a PII column (an aggregate such as its max); counts and shares
    ("97.00% as expected (3 of 100 rows not)") stay."""
    details = redact_details(details, column, pii)
    if is_pii(column, pii) and "observed_value" in result and "unexpected_count" not in result:
        observed = MASK
    return observed, details


def _mask(value: Any) -> Any:
    if isinstance(value, list):
        return [MASK if v is not None else None for v in value]
    return MASK if value is not None else None
