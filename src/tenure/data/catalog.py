"""The catalogue of every declared table, in load order."""

from __future__ import annotations

from functools import cache

from tenure.data.model import LABEL_TABLES, MODEL_TABLES
from tenure.data.schema import Catalog
from tenure.data.truth import TRUTH_TABLES

__all__ = ["canonical_catalog"]


@cache
def canonical_catalog() -> Catalog:
    """Inputs, then labels, then simulator truth; parents always before children."""
    return Catalog(MODEL_TABLES + LABEL_TABLES + TRUTH_TABLES)
