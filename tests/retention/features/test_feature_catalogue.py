"""The catalogue is well formed, and every compiled snapshot query transpiles to Spark SQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import get_args

import pytest
import sqlglot
from sqlglot.errors import ErrorLevel

from tenure.retention.features import (
    FEATURES,
    SOURCES,
    compile_features,
    feature,
    features_by_source,
    referenced_features,
    required_tables,
    to_spark_sql,
)
from tenure.retention.features.definitions import Unit

AS_OF = datetime(2025, 4, 1, 12, 30, tzinfo=UTC)
CANONICAL = ("customers", "accounts", "transactions", "digital_events", "payees",
             "profile_changes", "interactions", "surveys")  # fmt: skip


def test_names_are_unique_lower_case_identifiers() -> None:
    names = [f.name for f in FEATURES]
    assert len(names) == len(set(names))
    assert all(n.isidentifier() and n == n.lower() for n in names)


def test_every_feature_has_a_description_a_known_source_and_a_unit() -> None:
    for f in FEATURES:
        assert f.description.strip().endswith("."), f.name
        assert f.source in SOURCES or f.kind == "derived", f.name
        assert f.unit in get_args(Unit), f.name


def test_derived_features_refer_only_to_non_derived_features() -> None:
    base = {f.name for f in FEATURES if f.kind != "derived"}
    for f in FEATURES:
        if f.kind == "derived":
            assert referenced_features(f), f.name
            assert referenced_features(f) <= base, f.name


def test_every_source_has_features_and_tables() -> None:
    grouped = features_by_source()
    for name, source in SOURCES.items():
        assert grouped[name], name
        assert source.tables, name
    assert set(CANONICAL) <= required_tables()


@pytest.mark.parametrize(
    "name",
    ["tx_count_30d", "inflow_sum_90d", "outflow_sum_365d", "days_since_last_tx",
     "balance_slope_90d", "balance_ratio_90d", "inflow_trend_30_90", "salary_months_last_6",
     "salary_missing_since_days", "salary_stopped", "recurring_income_stopped",
     "outflow_other_banks_share_90d", "products_held", "products_closed_90d", "logins_30d",
     "logins_trend_30_90", "complaints_open", "complaints_unresolved_over_14d",
     "complaint_resolution_days_avg_365d", "nps_last", "nps_trend", "csat_last", "csat_trend",
     "friction_events_90d", "step_ups_90d", "tenure_days", "age_years"],
)  # fmt: skip
def test_catalogue_covers_the_issue(name: str) -> None:
    assert feature(name).name == name


def test_unknown_feature_is_a_key_error() -> None:
    with pytest.raises(KeyError, match="nope"):
        feature("nope")


@pytest.mark.parametrize("tables", [None, CANONICAL])
@pytest.mark.parametrize("customers", [None, ["C1", "O'Brien"]])
def test_compiled_query_transpiles_to_spark_and_parses_back(
    tables: tuple[str, ...] | None, customers: list[str] | None
) -> None:
    sql = compile_features(AS_OF, available_tables=tables, customers=customers)
    assert "{" not in sql
    assert "DAYS_SINCE" not in sql
    assert "LATEST" not in sql
    spark = sqlglot.transpile(sql, read="duckdb", write="spark", unsupported_level=ErrorLevel.RAISE)
    assert len(spark) == 1
    assert spark[0] == to_spark_sql(AS_OF, available_tables=tables, customers=customers)
    back = sqlglot.parse_one(spark[0], read="spark")
    assert len(back.selects) == len(FEATURES) + 2


def test_absent_source_is_filled_not_joined() -> None:
    sql = compile_features(AS_OF, available_tables=CANONICAL)
    assert "protection_decisions" not in sql
    assert "protection_decisions" in compile_features(AS_OF)


def test_spark_sql_uses_no_duckdb_only_functions() -> None:
    spark = to_spark_sql(AS_OF).upper()
    for name in ("EPOCH(", "ARG_MAX(", "ARG_MIN(", "TIMESTAMPTZ"):
        assert name not in spark, name
