"""Render the canonical model as Markdown (``docs/data-model.md`` is generated from this)."""

from __future__ import annotations

from tenure.data.schema import Catalog, Column, Group, Table

__all__ = ["render_data_model"]

_GROUP_TITLES = {
    Group.INPUT: "Bank inputs",
    Group.LABEL: "Labels (kept apart from inputs)",
    Group.TRUTH: "Simulator truth (never in a real bank's extracts)",
}


def _rule(column: Column) -> str:
    parts: list[str] = []
    if column.values:
        parts.append("one of " + ", ".join(f"`{v}`" for v in column.values))
    if column.minimum is not None:
        parts.append(f">= {column.minimum}")
    if column.maximum is not None:
        parts.append(f"<= {column.maximum}")
    if column.references:
        parts.append(f"references `{column.references}`")
    return "; ".join(parts)


def _table(table: Table) -> list[str]:
    lines = [
        f"### `{table.name}`",
        "",
        table.description,
        "",
        f"File: `{table.file_stem}.csv` (or `.parquet`). Key: "
        + ", ".join(f"`{k}`" for k in table.primary_key)
        + ".",
        "",
        "| column | type | required | rule | personal data | meaning |",
        "|---|---|---|---|---|---|",
    ]
    for c in table.columns:
        required = "yes" if c.required else ""
        pii = c.pii.value if c.pii else ""
        lines.append(
            f"| `{c.name}` | {c.type.value} | {required} | {_rule(c)} | {pii} | {c.description} |"
        )
    if table.checks:
        lines += ["", "Row checks:", ""]
        lines += [f"- `{check.condition}` (else: {check.reason})" for check in table.checks]
    return [*lines, ""]


def render_data_model(catalog: Catalog) -> str:
    """The whole catalogue as one Markdown page."""
    lines = [
        "# Tenure data model",
        "",
        "Generated from `src/tenure/data/model.py` and `src/tenure/data/truth.py` by",
        "`tenure docs data-model`; do not edit by hand. The same declaration drives ingest",
        "validation and the warehouse tables.",
        "",
        "Conventions: money columns end in `_minor` and hold integer minor units (fen, cents);",
        "timestamps end in `_at`, are ISO 8601 and are stored as UTC; `id` columns are text.",
        "Columns marked as personal data are encrypted and pseudonymised by the privacy layer.",
        "",
    ]
    for group in Group:
        tables = catalog.in_groups([group])
        if tables:
            lines += [f"## {_GROUP_TITLES[group]}", ""]
            for table in tables:
                lines += _table(table)
    return "\n".join(lines).rstrip() + "\n"
