"""The SQL that validates a file in one set-based pass and finds each row's first failing rule.

Every canonical column arrives as VARCHAR (``__v0``, ``__v1``, ... in column order) and is cast
with ``TRY_CAST`` into its canonical name. One ``CASE`` gives each row the code of its first
failing check: per column (required, type, allowed values, range), then row checks, then a key
repeated in the file, a key already in the warehouse, and each foreign key (an anti-join against
the parent table, which already holds this batch's accepted parents). Codes are turned into a field
and a reason only for the rows that fail (see :mod:`tenure.data.ingest.quarantine`).

The file is parsed once: :func:`validate_sql` keeps every row, typed, with its code in a scratch
table, from which :func:`load_sql` inserts the accepted rows. A repeated key needs every row first,
so :func:`duplicates_sql` marks repeats afterwards (and :func:`describe_sql` re-reads the text of
the few rows that failed nothing else).

Personal data: checks read the clear values, but what the scratch table keeps (and the warehouse
receives) for a ``pii=`` column is its pseudonym (``__p<i>``, from the function
:func:`~tenure.data.ingest.protection.pii_function` names), and keys are matched against loaded
rows on pseudonyms. A refused row's text values and source record are kept with personal data
pseudonymised. :func:`identity_sql` re-reads the accepted rows' clear identity for the vault
without storing it.
"""

from __future__ import annotations

from dataclasses import dataclass

from tenure.data.ingest.binding import ColumnBinding, quote_ident
from tenure.data.ingest.protection import pii_function
from tenure.data.schema import Column, ColumnType, Table

__all__ = [
    "Check",
    "CheckPlan",
    "describe_sql",
    "duplicates_sql",
    "identity_sql",
    "load_sql",
    "plan_checks",
    "validate_sql",
]

_NOT_A = {
    ColumnType.INT: "is not an integer",
    ColumnType.MONEY: "is not an integer (minor units)",
    ColumnType.FLOAT: "is not a number",
    ColumnType.BOOL: "is not true or false",
    ColumnType.DATE: "is not a valid date (YYYY-MM-DD)",
    ColumnType.TIMESTAMP: "is not a valid ISO 8601 timestamp",
}


@dataclass(frozen=True, slots=True)
class Check:
    """One rule: its code, the field it names, when a row fails it, and the reason (both SQL).

    ``fails`` reads the typed columns (canonical names) and ``__v<i>``; ``reason`` reads only
    ``__v<i>`` (the text as it arrived), ``__first_line`` and ``__line``.
    """

    code: int
    field: str
    fails: str
    reason: str


@dataclass(frozen=True, slots=True)
class CheckPlan:
    """All checks of a table: row-level ones, then the key and foreign-key ones."""

    row_checks: tuple[Check, ...]
    duplicate: Check
    existing: Check
    foreign_keys: tuple[tuple[Column, Check], ...]

    @property
    def all(self) -> tuple[Check, ...]:
        """Every check in the order rows are judged."""
        fks = tuple(check for _, check in self.foreign_keys)
        return (*self.row_checks, self.duplicate, self.existing, *fks)


def _v(table: Table, name: str) -> str:
    return f"__v{table.column_names.index(name)}"


def _text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _shown(column: Column, ref: str) -> str:
    """The offending value quoted in a reason, unless the column holds personal data."""
    if column.pii is not None:
        return "'the value'"
    return f"'''' || left({ref}, 80) || ''''"


def typed_sql(column: Column, value: str, fmt: str | None) -> str:
    """SQL that casts a VARCHAR value to the column's type (NULL when it does not cast)."""
    if column.type.is_text:
        return value
    target = column.type.duckdb_type
    if fmt is not None:
        return f"CAST(try_strptime({value}, {_text(fmt)}) AS {target})"
    return f"TRY_CAST({value} AS {target})"


def _bound_sql(column: Column, bound: int | float | str) -> str:
    if column.type.is_temporal:
        return f"{column.type.duckdb_type} {_text(str(bound))}"
    return repr(bound)


def _message(name: str, shown: str | None, tail: str) -> str:
    if shown is None:
        return _text(f"{name}: {tail}")
    return f"{_text(name + ': ')} || {shown} || {_text(' ' + tail)}"


def _type_rule(column: Column, v: str, typed: str, fmt: str | None) -> tuple[str, str]:
    bad = f"{typed} IS NULL"
    if column.type in (ColumnType.INT, ColumnType.MONEY):
        bad = f"({bad} OR contains({v}, '.'))"
    elif column.type is ColumnType.FLOAT:
        bad = f"({bad} OR NOT isfinite({typed}))"
    what = _NOT_A[column.type] if fmt is None else f"does not match the format {fmt}"
    return f"{v} IS NOT NULL AND {bad}", _message(column.name, _shown(column, v), what)


def _range_rules(column: Column, v: str, typed: str) -> list[tuple[str, str]]:
    timed = column.type.is_temporal
    rules = []
    for bound, op, word in (
        (column.minimum, "<", "before" if timed else "below the minimum"),
        (column.maximum, ">", "after" if timed else "above the maximum"),
    ):
        if bound is not None:
            tail = f"is {word} {bound}"
            rules.append(
                (
                    f"{typed} {op} {_bound_sql(column, bound)}",
                    _message(column.name, _shown(column, v), tail),
                )
            )
    return rules


def _column_rules(column: Column, v: str, fmt: str | None) -> list[tuple[str, str]]:
    typed = quote_ident(column.name)
    rules: list[tuple[str, str]] = []
    if column.required:
        rules.append((f"{v} IS NULL", _message(column.name, None, "required value is missing")))
    if not column.type.is_text:
        rules.append(_type_rule(column, v, typed, fmt))
    if column.values:
        allowed = ", ".join(_text(value) for value in column.values)
        tail = "is not one of " + ", ".join(column.values)
        rules.append(
            (f"{typed} NOT IN ({allowed})", _message(column.name, _shown(column, v), tail))
        )
    return rules + _range_rules(column, v, typed)


def _key_text(table: Table, columns: tuple[str, ...]) -> str:
    """SQL text ``a='x', b='y'`` naming a key's values (personal-data columns left out)."""
    parts = []
    for name in columns:
        column = table.column(name)
        shown = _shown(column, _v(table, name))
        parts.append(f"{_text(name + '=')} || {shown}")
    return " || ', ' || ".join(parts)


def plan_checks(table: Table, binding: ColumnBinding) -> CheckPlan:
    """Every check of a table, numbered in the order a row is judged."""
    rules: list[tuple[str, str, str]] = []
    for column in table.columns:
        v = _v(table, column.name)
        fmt = binding.formats.get(column.name)
        rules += [(column.name, f, r) for f, r in _column_rules(column, v, fmt)]
    for check in table.checks:
        fails = f"NOT coalesce(({check.condition}), true)"
        rules.append((check.field, fails, _text(f"{check.field}: {check.reason}")))
    row_checks = tuple(Check(i + 1, f, fails, reason) for i, (f, fails, reason) in enumerate(rules))
    code = len(row_checks)
    key_field = ",".join(table.primary_key)
    key_text = _key_text(table, table.primary_key)
    duplicate = Check(
        code + 1,
        key_field,
        "__ord > __first_seen",
        f"'duplicate key ' || {key_text} || ' (also at ' || __first_line || ')'",
    )
    existing = Check(
        code + 2,
        key_field,
        "__existing IS NOT NULL",
        f"'already loaded: ' || {key_text} || ' is already in {table.name}'",
    )
    fks = tuple(
        (column, _foreign_key_check(table, column, i, code + 3 + i))
        for i, column in enumerate(table.foreign_keys)
    )
    return CheckPlan(row_checks, duplicate, existing, fks)


def _foreign_key_check(table: Table, column: Column, index: int, code: int) -> Check:
    parent = column.referenced_table or ""
    noun = (column.referenced_column or "").removesuffix("_id")
    fails = f"{quote_ident(column.name)} IS NOT NULL AND __parent{index} IS NULL"
    if column.pii is not None:
        return Check(
            code, column.name, fails, _message(column.name, None, f"no {noun} in {parent}")
        )
    reason = (
        f"{_text(f'{column.name}: no {noun} ')} || {_shown(column, _v(table, column.name))} "
        f"|| {_text(' in ' + parent)}"
    )
    return Check(code, column.name, fails, reason)


def _typed_columns(table: Table, binding: ColumnBinding) -> list[str]:
    return [
        typed_sql(column, f"__v{i}", binding.formats.get(column.name))
        for i, column in enumerate(table.columns)
    ]


def _join_on(left: str, right: str, columns: tuple[str, ...], right_names: tuple[str, ...]) -> str:
    return " AND ".join(
        f"{left}.{quote_ident(c)} = {right}.{quote_ident(r)}"
        for c, r in zip(columns, right_names, strict=True)
    )


def _stored(table: Table, name: str) -> str:
    """The validated row's column as the warehouse stores it: the pseudonym of personal data."""
    return f"__p{table.column_names.index(name)}" if table.column(name).pii else quote_ident(name)


def _pseudonyms(table: Table) -> str:
    """``, <function>(__v<i>) AS __p<i>`` for each personal-data column (empty when none)."""
    return "".join(
        f", {pii_function(column.pii)}(__v{i}) AS __p{i}"
        for i, column in enumerate(table.columns)
        if column.pii is not None
    )


def _lookups(table: Table, plan: CheckPlan) -> tuple[str, str, str]:
    """CTEs of existing and parent keys, the LEFT JOINs onto them, and the columns they add."""
    key = table.primary_key
    keys = ", ".join(quote_ident(k) for k in key)
    ctes = [f", e AS (SELECT DISTINCT {keys}, true AS __existing FROM {quote_ident(table.name)})"]
    on = " AND ".join(f"c.{_stored(table, k)} = e.{quote_ident(k)}" for k in key)
    joins = [f"LEFT JOIN e ON {on}"]
    picked = ["e.__existing"]
    for i, (column, _) in enumerate(plan.foreign_keys):
        parent = quote_ident(column.referenced_table or "")
        ref = quote_ident(column.referenced_column or "")
        ctes.append(f", p{i} AS (SELECT DISTINCT {ref} AS __k, true AS __parent{i} FROM {parent})")
        joins.append(f"LEFT JOIN p{i} ON c.{_stored(table, column.name)} = p{i}.__k")
        picked.append(f"p{i}.__parent{i}")
    return "".join(ctes), " ".join(joins), ", ".join(picked)


def _source_sql(binding: ColumnBinding, *, scan: str, ordinal: str) -> str:
    """CTEs ``src`` (the file with its ordinal) and ``m`` (canonical text, source record)."""
    values = ", ".join(f"{sql} AS __v{i}" for i, sql in enumerate(binding.values.values()))
    source = ", ".join(f"{quote_ident(h)} := {quote_ident(h)}" for h in binding.record_columns)
    record = f"struct_pack({source})" if source else "NULL"
    return (
        f"WITH src AS (SELECT {ordinal} AS __ord, * FROM {scan}), "
        f"m AS (SELECT __ord, {values}, {record} AS __src FROM src)"
    )


def _described(table: Table, binding: ColumnBinding) -> tuple[str, str]:
    """SQL of a row's canonical text values (``__bad``) and its source record as JSON, with
    personal data pseudonymised in both."""
    bad = ", ".join(
        f"__v{i} := {pii_function(c.pii)}(__v{i})" if c.pii else f"__v{i} := __v{i}"
        for i, c in enumerate(table.columns)
    )
    fields = []
    for name in binding.record_columns:
        value = f"struct_extract(__src, {_text(name)})"
        kind = binding.source_pii.get(name)
        if kind is not None:
            value = f"{pii_function(kind)}(CAST({value} AS VARCHAR))"
        fields.append(f"{quote_ident(name)} := {value}")
    raw = f"CAST(to_json(struct_pack({', '.join(fields)})) AS VARCHAR)" if fields else "'{}'"
    return f"struct_pack({bad})", raw


def validate_sql(
    table: Table, binding: ColumnBinding, plan: CheckPlan, *, scan: str, ordinal: str
) -> str:
    """One query over the file: every row's ordinal, typed values and first failing check.

    Failing rows also carry their canonical text values (``__bad``) and the source record as JSON
    (``__raw``). ``__first`` stays NULL: repeated keys are marked by :func:`duplicates_sql`.
    """
    casts = _typed_columns(table, binding)
    typed = ", ".join(
        f"{sql} AS {quote_ident(c)}" for sql, c in zip(casts, table.column_names, strict=True)
    )
    columns = ", ".join(
        f"{_stored(table, c)} AS {quote_ident(c)}" if table.column(c).pii else quote_ident(c)
        for c in table.column_names
    )
    row_case = " ".join(f"WHEN {c.fails} THEN {c.code}" for c in plan.row_checks)
    later = " ".join(f"WHEN {c.fails} THEN {c.code}" for c in plan.all[len(plan.row_checks) + 1 :])
    lookups, joins, picked = _lookups(table, plan)
    bad, raw = _described(table, binding)
    return (
        f"{_source_sql(binding, scan=scan, ordinal=ordinal)}, "
        f"t AS (SELECT *, {typed}{_pseudonyms(table)} FROM m), "
        f"c AS (SELECT *, CASE {row_case or 'WHEN false THEN 0'} ELSE 0 END AS __code FROM t)"
        f"{lookups}, j AS (SELECT c.*, {picked} FROM c {joins}), "
        f"f AS (SELECT *, CASE WHEN __code > 0 THEN __code {later} ELSE 0 END AS __final FROM j) "
        f"SELECT __ord, {columns}, __final AS __code, CAST(NULL AS BIGINT) AS __first, "
        f"CASE WHEN __final > 0 THEN {bad} END AS __bad, "
        f"CASE WHEN __final > 0 THEN {raw} END AS __raw FROM f"
    )


def duplicates_sql(table: Table, plan: CheckPlan, *, rows: str) -> str:
    """``UPDATE`` of ``rows``: a key seen at an earlier ordinal fails, unless an earlier check did.

    Keys are first grouped by hash (cheap), and only the few colliding ones by value.
    """
    keys = ", ".join(quote_ident(k) for k in table.primary_key)
    code = plan.duplicate.code
    repeated = (
        f"SELECT {keys}, min(__ord) AS __first_seen FROM {rows} WHERE hash({keys}) IN "
        f"(SELECT hash({keys}) FROM {rows} GROUP BY ALL HAVING count(*) > 1) "
        "GROUP BY ALL HAVING count(*) > 1"
    )
    return (
        f"UPDATE {rows} AS r SET __code = {code}, __first = d.__first_seen FROM ({repeated}) AS d "
        f"WHERE {_join_on('r', 'd', table.primary_key, table.primary_key)} "
        f"AND r.{plan.duplicate.fails} AND (r.__code = 0 OR r.__code > {code})"
    )


def describe_sql(
    table: Table, binding: ColumnBinding, *, rows: str, scan: str, ordinal: str
) -> str:
    """``UPDATE`` of ``rows``: text values and source record of failing rows that lack them."""
    bad, raw = _described(table, binding)
    wanted = f"SELECT __ord FROM {rows} WHERE __code > 0 AND __raw IS NULL"
    return (
        f"UPDATE {rows} AS r SET __bad = x.__bad, __raw = x.__raw FROM "
        f"({_source_sql(binding, scan=scan, ordinal=ordinal)} "
        f"SELECT __ord, {bad} AS __bad, {raw} AS __raw FROM m WHERE __ord IN ({wanted})) AS x "
        "WHERE r.__ord = x.__ord"
    )


def identity_sql(
    table: Table,
    binding: ColumnBinding,
    columns: tuple[str, ...],
    *,
    rows: str,
    scan: str,
    ordinal: str,
) -> str:
    """The clear text of ``columns`` (NULL for one the table lacks) of the rows accepted into
    ``rows``, re-read from the file: clear personal data is returned, never stored."""
    picked = ", ".join(
        f"__v{table.column_names.index(c)}" if c in table.column_names else "NULL" for c in columns
    )
    return (
        f"{_source_sql(binding, scan=scan, ordinal=ordinal)} SELECT {picked} FROM m "
        f"WHERE __ord IN (SELECT __ord FROM {rows} WHERE __code = 0)"
    )


def load_sql(table: Table, *, rows: str) -> str:
    """``INSERT`` of a file's accepted rows, in file order, from the validated ``rows``."""
    columns = ", ".join(quote_ident(c) for c in table.column_names)
    return (
        f"INSERT INTO {quote_ident(table.name)} ({columns}) "
        f"SELECT {columns} FROM {rows} WHERE __code = 0"
    )
