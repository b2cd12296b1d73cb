"""Arrow tables of one chunk, with the canonical columns, identifiers and types."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tenure.data.catalog import canonical_catalog
from tenure.data.schema import ColumnType, Table
from tenure.data.simulator.chunk import ChunkResult
from tenure.data.simulator.config import SimulationConfig
from tenure.data.simulator.formatting import (
    hex_strings,
    ipv4_strings,
    lookup_strings,
    numbered_ids,
    utc_timestamps,
)
from tenure.data.simulator.geography import CITIES, city_arrays
from tenure.data.simulator.streams import TxBatch
from tenure.data.simulator.vocabulary import BANKS, CATEGORIES, counterparties

__all__ = ["ARROW_TYPES", "Ids", "arrow_schema", "make_table", "optional_times"]

ARROW_TYPES: dict[ColumnType, pa.DataType] = {
    ColumnType.ID: pa.string(),
    ColumnType.TEXT: pa.string(),
    ColumnType.ENUM: pa.string(),
    ColumnType.INT: pa.int64(),
    ColumnType.MONEY: pa.int64(),
    ColumnType.FLOAT: pa.float64(),
    ColumnType.BOOL: pa.bool_(),
    ColumnType.DATE: pa.date32(),
    ColumnType.TIMESTAMP: pa.timestamp("s", tz="UTC"),
}
CITY_NAMES = pa.array([c.name for c in CITIES])
BANK_NAMES = pa.array(BANKS)
CATEGORY_NAMES = pa.array([c.name for c in CATEGORIES])


def arrow_schema(table: Table) -> pa.Schema:
    """The typed Arrow schema of a declared table, columns in declaration order."""
    return pa.schema(
        [pa.field(c.name, ARROW_TYPES[c.type], nullable=not c.required) for c in table.columns]
    )


def make_table(name: str, columns: dict[str, pa.Array | np.ndarray]) -> pa.Table:
    """A typed table of the declared columns of ``name`` (every column must be given)."""
    schema = arrow_schema(canonical_catalog()[name])
    arrays = []
    for f in schema:
        value = columns[f.name]
        array = value if isinstance(value, pa.Array | pa.ChunkedArray) else pa.array(value)
        arrays.append(array.cast(f.type) if array.type != f.type else array)
    return pa.Table.from_arrays(arrays, schema=schema)


def optional_times(values: np.ndarray) -> pa.Array:
    """Timestamps from epoch seconds, null where negative."""
    return utc_timestamps(np.maximum(values, 0), values >= 0)


def enum_strings(table: str, column: str, codes: np.ndarray) -> pa.Array:
    """Declared enum values of ``table.column`` for integer codes (-1 gives null)."""
    values = pa.array(canonical_catalog()[table].column(column).values)
    return lookup_strings(values, codes)


class Ids:
    """Deterministic identifiers: customers and their accounts/payees by customer number,
    event-like rows by chunk and rank, so that no chunk depends on another."""

    def __init__(self, config: SimulationConfig) -> None:
        self.customer_width = max(8, len(str(config.customers)))
        self.row_width = 9 + max(4, len(str(config.chunk_count)))

    def customers(self, numbers: np.ndarray) -> pa.Array:
        """``C00000001``."""
        return numbered_ids("C", numbers, self.customer_width)

    def accounts(self, numbers: np.ndarray, seq: np.ndarray) -> pa.Array:
        """``A0000000101``: customer number then the account's place among theirs."""
        return numbered_ids("A", numbers * 100 + seq, self.customer_width + 2)

    def payees(self, numbers: np.ndarray, seq: np.ndarray) -> pa.Array:
        """``P00000001001``: customer number then the payee's place among theirs."""
        return numbered_ids("P", numbers * 1000 + seq, self.customer_width + 3)

    def rows(self, prefix: str, chunk: int, count: int) -> pa.Array:
        """``T0000000000001``: chunk, then the row's rank in the chunk."""
        return numbered_ids(prefix, chunk * 10**9 + np.arange(1, count + 1), self.row_width)


def geo(rng: np.random.Generator, city: np.ndarray) -> dict[str, pa.Array]:
    """City name and jittered coordinates (null where unknown)."""
    known = city >= 0
    places = city_arrays()
    safe = np.where(known, city, 0)
    lat = np.round(places.lat[safe] + rng.normal(0, 0.03, len(city)), 4)
    lon = np.round(places.lon[safe] + rng.normal(0, 0.03, len(city)), 4)
    mask = ~known if (~known).any() else None
    return {
        "geo_city": lookup_strings(CITY_NAMES, city),
        "geo_lat": pa.array(np.clip(lat, -90, 90), mask=mask),
        "geo_lon": pa.array(np.clip(lon, -180, 180), mask=mask),
    }


def counterparty_names(result: ChunkResult) -> pa.Array:
    """The shared counterparty pool followed by this chunk's customers' names."""
    pool = pa.array(counterparties().names)
    return pa.concat_arrays([pool, result.people.full_name.cast(pa.string())])


def device_ids(values: np.ndarray) -> pa.Array:
    """``dv-`` and 12 hex digits (null for -1)."""
    return hex_strings("dv-", values, 12)


def transactions_table(
    result: ChunkResult,
    ids: Ids,
    tx: TxBatch,
    balance_after: np.ndarray,
    account_ids: pa.Array,
    payee_ids: pa.Array,
    rng: np.random.Generator,
) -> pa.Table:
    """The transactions of one chunk, already in output order."""
    accounts = result.accounts
    owner = accounts.customer[tx.account]
    payee_taken = lookup_strings(payee_ids, tx.payee)
    posted = balance_after != np.iinfo(np.int64).min
    return make_table(
        "transactions",
        {
            "transaction_id": ids.rows("T", result.chunk, len(tx)),
            "account_id": account_ids.take(pa.array(tx.account)),
            "customer_id": ids.customers(result.people.number[owner]),
            "occurred_at": utc_timestamps(tx.time),
            "amount_minor": tx.amount,
            "currency": pa.array(["CNY"] * 1).take(pa.array(np.zeros(len(tx), dtype=np.int64))),
            "direction": pc.if_else(pa.array(tx.credit), "credit", "debit"),
            "channel": enum_strings("transactions", "channel", tx.channel),
            "kind": enum_strings("transactions", "kind", tx.kind),
            "merchant_category": lookup_strings(CATEGORY_NAMES, tx.category),
            "counterparty": lookup_strings(counterparty_names(result), tx.counterparty),
            "counterparty_bank": lookup_strings(BANK_NAMES, tx.bank),
            "payee_id": payee_taken,
            "device_id": device_ids(tx.device),
            "ip": ipv4_strings(tx.ip),
            **geo(rng, tx.city),
            "status": enum_strings("transactions", "status", tx.status),
            "balance_after_minor": pa.array(balance_after, mask=~posted),
        },
    )
