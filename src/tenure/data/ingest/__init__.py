"""Validated ingest: map, validate and load a bank's CSV or Parquet extracts, quarantining refusals.

Public API::

    ingest_directory(*, warehouse, source_dir, protector, mapping=None, progress=None)
        -> IngestReport
    load_mapping(path, *, catalog) -> IngestMapping
    KeyedPiiProtector(ring=..., vault=...), ephemeral_protector()   personal data on the way in
"""

from __future__ import annotations

from tenure.data.ingest.loader import ProgressCallback, ingest_directory
from tenure.data.ingest.mapping import IngestMapping, load_mapping, parse_mapping
from tenure.data.ingest.ports import QueryFailed, Warehouse
from tenure.data.ingest.protection import KeyedPiiProtector, PiiProtector, ephemeral_protector
from tenure.data.ingest.report import IngestProgress, IngestReport, TableReport, TableStatus

__all__ = [
    "IngestMapping",
    "IngestProgress",
    "IngestReport",
    "KeyedPiiProtector",
    "PiiProtector",
    "ProgressCallback",
    "QueryFailed",
    "TableReport",
    "TableStatus",
    "Warehouse",
    "ephemeral_protector",
    "ingest_directory",
    "load_mapping",
    "parse_mapping",
]
