"""The vocabulary of the canonical data model: column types, columns, tables, the catalogue.

The tables themselves are declared in :mod:`tenure.data.model` (what a bank loads) and
:mod:`tenure.data.truth` (what only the simulator knows). That one declaration drives ingest
validation, the warehouse DDL and ``docs/data-model.md``; personal-data columns carry a ``pii``
kind so that encryption and pseudonymisation can be applied in one place.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

__all__ = [
    "Catalog",
    "Column",
    "ColumnType",
    "Group",
    "PiiKind",
    "RowCheck",
    "Table",
]


class ColumnType(StrEnum):
    """Logical column types; each maps to one warehouse type."""

    ID = "id"
    TEXT = "text"
    ENUM = "enum"
    INT = "int"
    MONEY = "money"
    FLOAT = "float"
    BOOL = "bool"
    DATE = "date"
    TIMESTAMP = "timestamp"

    @property
    def duckdb_type(self) -> str:
        """The DuckDB type this logical type is stored as."""
        return _DUCKDB_TYPES[self]

    @property
    def is_text(self) -> bool:
        """Stored as text, so a value read from a file needs no cast."""
        return self in (ColumnType.ID, ColumnType.TEXT, ColumnType.ENUM)

    @property
    def is_temporal(self) -> bool:
        """A date or a timestamp (bounds and formats are ISO strings)."""
        return self in (ColumnType.DATE, ColumnType.TIMESTAMP)


_DUCKDB_TYPES = {
    ColumnType.ID: "VARCHAR",
    ColumnType.TEXT: "VARCHAR",
    ColumnType.ENUM: "VARCHAR",
    ColumnType.INT: "BIGINT",
    ColumnType.MONEY: "BIGINT",
    ColumnType.FLOAT: "DOUBLE",
    ColumnType.BOOL: "BOOLEAN",
    ColumnType.DATE: "DATE",
    ColumnType.TIMESTAMP: "TIMESTAMPTZ",
}


class PiiKind(StrEnum):
    """Kinds of personal data; the privacy domain encrypts, pseudonymises and masks by kind."""

    NAME = "name"
    PHONE = "phone"
    EMAIL = "email"
    ID_NUMBER = "id_number"
    ACCOUNT_NUMBER = "account_number"


class Group(StrEnum):
    """Where a table belongs: bank inputs, labels (kept apart from inputs), simulator truth."""

    INPUT = "input"
    LABEL = "label"
    TRUTH = "truth"


@dataclass(frozen=True, slots=True)
class Column:
    """One column: its type, whether it is required, its allowed values or range, and meaning.

    ``minimum`` / ``maximum`` are inclusive; for DATE and TIMESTAMP they are ISO strings.
    ``references`` names ``table.column`` for a foreign key. Money is integer minor units.
    """

    name: str
    type: ColumnType
    description: str
    required: bool = True
    values: tuple[str, ...] = ()
    minimum: int | float | str | None = None
    maximum: int | float | str | None = None
    references: str | None = None
    pii: PiiKind | None = None

    def __post_init__(self) -> None:
        if (self.type is ColumnType.ENUM) != bool(self.values):
            raise ValueError(f"column {self.name}: enum columns, and only they, list values")
        if self.references is not None and self.references.count(".") != 1:
            raise ValueError(f"column {self.name}: references must be 'table.column'")

    @property
    def referenced_table(self) -> str | None:
        """The table a foreign key points at, if any."""
        return None if self.references is None else self.references.split(".")[0]

    @property
    def referenced_column(self) -> str | None:
        """The column a foreign key points at, if any."""
        return None if self.references is None else self.references.split(".")[1]


@dataclass(frozen=True, slots=True)
class RowCheck:
    """A rule across columns of one row, as a portable SQL boolean over the table's columns.

    A row fails when ``condition`` is false; NULLs in the condition count as passing, so that
    optional columns are judged only when present.
    """

    name: str
    field: str
    condition: str
    reason: str


@dataclass(frozen=True, slots=True)
class Table:
    """One table of the canonical model."""

    name: str
    description: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]
    group: Group = Group.INPUT
    checks: tuple[RowCheck, ...] = ()
    file_stem: str = ""

    def __post_init__(self) -> None:
        names = [c.name for c in self.columns]
        if len(set(names)) != len(names):
            raise ValueError(f"table {self.name}: duplicate column names")
        missing = [k for k in self.primary_key if k not in names]
        if missing:
            raise ValueError(f"table {self.name}: primary key columns {missing} not declared")
        if not self.file_stem:
            object.__setattr__(self, "file_stem", self.name)

    def column(self, name: str) -> Column:
        """The column called ``name``."""
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(f"table {self.name} has no column {name!r}")

    @property
    def column_names(self) -> tuple[str, ...]:
        """Column names in declaration order (also the order of files the simulator writes)."""
        return tuple(c.name for c in self.columns)

    @property
    def foreign_keys(self) -> tuple[Column, ...]:
        """Columns that reference another table."""
        return tuple(c for c in self.columns if c.references is not None)

    @property
    def pii_columns(self) -> tuple[Column, ...]:
        """Columns holding personal data."""
        return tuple(c for c in self.columns if c.pii is not None)


@dataclass(frozen=True)
class Catalog:
    """An ordered set of tables, parents before children (the order loads must follow)."""

    tables: tuple[Table, ...]
    _by_name: dict[str, Table] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {t.name: t for t in self.tables})
        seen: set[str] = set()
        for table in self.tables:
            for column in table.foreign_keys:
                parent = column.referenced_table
                if parent not in self._by_name:
                    raise ValueError(f"{table.name}.{column.name} references unknown {parent}")
                if parent not in seen and parent != table.name:
                    raise ValueError(f"{table.name} is declared before its parent {parent}")
                ref = self._by_name[parent]
                if (column.referenced_column,) != ref.primary_key:
                    raise ValueError(f"{table.name}.{column.name} must reference {parent}'s key")
            seen.add(table.name)

    def __iter__(self) -> Iterator[Table]:
        return iter(self.tables)

    def __len__(self) -> int:
        return len(self.tables)

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __getitem__(self, name: str) -> Table:
        try:
            return self._by_name[name]
        except KeyError:
            raise KeyError(f"no table {name!r} in the canonical model") from None

    def in_groups(self, groups: Sequence[Group]) -> tuple[Table, ...]:
        """Tables of the given groups, in load order."""
        return tuple(t for t in self.tables if t.group in groups)
