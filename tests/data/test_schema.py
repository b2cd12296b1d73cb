from __future__ import annotations

from pathlib import Path

import pytest

from tenure.data.catalog import canonical_catalog
from tenure.data.docs import render_data_model
from tenure.data.schema import Catalog, Column, ColumnType, Group, PiiKind, Table

ROOT = Path(__file__).resolve().parents[2]


def test_catalog_lists_parents_before_children() -> None:
    catalog = canonical_catalog()
    position = {table.name: i for i, table in enumerate(catalog)}
    for table in catalog:
        for column in table.foreign_keys:
            assert position[column.referenced_table or ""] <= position[table.name]


def test_identity_columns_are_marked_as_personal_data() -> None:
    customers = canonical_catalog()["customers"]
    marked = {c.name: c.pii for c in customers.pii_columns}
    assert marked == {
        "full_name": PiiKind.NAME,
        "phone": PiiKind.PHONE,
        "email": PiiKind.EMAIL,
        "id_number": PiiKind.ID_NUMBER,
    }


def test_money_columns_are_integer_minor_units() -> None:
    for table in canonical_catalog():
        for column in table.columns:
            if column.name.endswith("_minor"):
                assert column.type is ColumnType.MONEY, f"{table.name}.{column.name}"
                assert column.type.duckdb_type == "BIGINT"


def test_rejects_a_child_declared_before_its_parent() -> None:
    parent = Table("parents", "p", (Column("parent_id", ColumnType.ID, "id"),), ("parent_id",))
    child = Table(
        "children",
        "c",
        (
            Column("child_id", ColumnType.ID, "id"),
            Column("parent_id", ColumnType.ID, "ref", references="parents.parent_id"),
        ),
        ("child_id",),
    )
    assert len(Catalog((parent, child))) == 2
    with pytest.raises(ValueError, match="before its parent"):
        Catalog((child, parent))


def test_enum_columns_must_list_their_values() -> None:
    with pytest.raises(ValueError, match="enum"):
        Column("kind", ColumnType.ENUM, "no values")


def test_labels_and_truth_are_kept_apart_from_inputs() -> None:
    catalog = canonical_catalog()
    assert catalog["fraud_labels"].group is Group.LABEL
    assert catalog["customer_truth"].group is Group.TRUTH
    assert catalog["transactions"].group is Group.INPUT


def test_data_model_doc_is_generated_from_the_declaration() -> None:
    committed = (ROOT / "docs" / "data-model.md").read_text(encoding="utf-8")
    assert committed == render_data_model(canonical_catalog()), "run `make docs`"


def test_text_and_temporal_types_are_told_apart_once() -> None:
    assert {t for t in ColumnType if t.is_text} == {ColumnType.ID, ColumnType.TEXT, ColumnType.ENUM}
    assert {t for t in ColumnType if t.is_temporal} == {ColumnType.DATE, ColumnType.TIMESTAMP}
    assert all(t.duckdb_type == "VARCHAR" for t in ColumnType if t.is_text)
