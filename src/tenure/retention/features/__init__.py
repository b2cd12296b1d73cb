"""Point-in-time customer features, defined once in portable SQL and computed in the warehouse.

Public API::

    compute_features(*, warehouse, as_of, customers=None) -> pandas.DataFrame
    compute_feature_snapshots(*, warehouse, snapshots) -> pandas.DataFrame
    write_features(*, warehouse, as_of) -> int            # into table customer_features
    compile_features(as_of, *, dialect="duckdb", available_tables=None, customers=None) -> str
    to_spark_sql(as_of, *, available_tables=None, customers=None) -> str
    FEATURES, SOURCES, feature(name)                       # the catalogue

A snapshot at ``as_of`` sees only rows strictly before ``as_of``; an ``Nd`` window is
``[as_of - N days, as_of)``.
"""

from __future__ import annotations

from tenure.retention.features.catalogue import FEATURES, SOURCES, feature, features_by_source
from tenure.retention.features.compiler import (
    compile_features,
    referenced_features,
    required_tables,
    to_spark_sql,
)
from tenure.retention.features.compute import (
    FEATURES_TABLE,
    FeatureWarehouse,
    FrameWarehouse,
    compute_feature_snapshots,
    compute_features,
    warehouse_tables,
    write_features,
)
from tenure.retention.features.definitions import FeatureDefinition, Source, Unit

__all__ = [
    "FEATURES",
    "FEATURES_TABLE",
    "SOURCES",
    "FeatureDefinition",
    "FeatureWarehouse",
    "FrameWarehouse",
    "Source",
    "Unit",
    "compile_features",
    "compute_feature_snapshots",
    "compute_features",
    "feature",
    "features_by_source",
    "referenced_features",
    "required_tables",
    "to_spark_sql",
    "warehouse_tables",
    "write_features",
]
