"""All canonical, label and truth tables of one simulated chunk."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tenure.data.simulator.campaigns import ContactBatch
from tenure.data.simulator.chunk import ChunkResult
from tenure.data.simulator.churn import CAUSES
from tenure.data.simulator.config import SimulationConfig
from tenure.data.simulator.events import FEATURES, ChangeBatch, EventBatch, PayeeBatch
from tenure.data.simulator.formatting import (
    concat_strings,
    ipv4_strings,
    lookup_strings,
    padded_numbers,
    utc_timestamps,
)
from tenure.data.simulator.geography import CITIES
from tenure.data.simulator.labels import balance_flight, dormancy, initiated
from tenure.data.simulator.population import UPLIFT_CLASSES
from tenure.data.simulator.products import PRODUCT
from tenure.data.simulator.relationship_tables import contact_tables, service_tables
from tenure.data.simulator.rng import stream
from tenure.data.simulator.streams import TxBatch
from tenure.data.simulator.tables import (
    BANK_NAMES,
    CITY_NAMES,
    Ids,
    counterparty_names,
    device_ids,
    enum_strings,
    geo,
    make_table,
    optional_times,
    transactions_table,
)

__all__ = ["chunk_tables"]

DAY = 86_400
NULL_TIME = -1
REGIONS = pa.array([c.region for c in CITIES])


def _customers(result: ChunkResult, ids: Ids) -> pa.Table:
    people = result.people
    return make_table(
        "customers",
        {
            "customer_id": ids.customers(people.number),
            "customer_type": pc.if_else(pa.array(people.corporate), "corporate", "retail"),
            "full_name": people.full_name,
            "phone": people.phone,
            "email": people.email,
            "id_number": people.id_number,
            "birth_year": pa.array(people.birth_year, mask=people.birth_year < 0),
            "region": lookup_strings(REGIONS, people.city),
            "city": lookup_strings(CITY_NAMES, people.city),
            "income_band": enum_strings("customers", "income_band", people.income_band),
            "kyc_risk": enum_strings("customers", "kyc_risk", people.kyc),
            "channel_preference": enum_strings(
                "customers", "channel_preference", people.channel_pref
            ),
            "rm_id": pc.if_else(
                pa.array(people.rm >= 0),
                concat_strings(["RM", padded_numbers(np.maximum(people.rm, 0), 4)]),
                None,
            ),
            "opened_at": optional_times(people.opened_at),
            "closed_at": optional_times(result.closed_at),
        },
    )


def _accounts(
    config: SimulationConfig,
    result: ChunkResult,
    ids: Ids,
    account_ids: pa.Array,
    last_active: np.ndarray,
) -> pa.Table:
    accounts = result.accounts
    end = config.month_bounds()[-1]
    quiet = last_active[accounts.customer] < end - 90 * DAY
    status = np.where(
        accounts.closed_at >= 0, 2, np.where(quiet & (accounts.opened_at < end - 90 * DAY), 1, 0)
    )
    loan = accounts.product == PRODUCT["loan"]
    card = accounts.product == PRODUCT["card"]
    principal = accounts.payment * np.maximum(accounts.term_months, 1) * 100 // 112
    limit = np.where(loan, principal, accounts.limit)
    dated = accounts.maturity >= 0
    return make_table(
        "accounts",
        {
            "account_id": account_ids,
            "customer_id": ids.customers(result.people.number[accounts.customer]),
            "product": enum_strings("accounts", "product", accounts.product),
            "currency": pa.array(np.full(len(accounts.customer), "CNY")),
            "status": pa.array(np.array(["active", "dormant", "closed"])[status]),
            "opened_at": optional_times(accounts.opened_at),
            "closed_at": optional_times(accounts.closed_at),
            "balance_minor": accounts.balances(),
            "credit_limit_minor": pa.array(limit, mask=~(loan | card)),
            "interest_rate": accounts.rate,
            "maturity_date": pa.array(
                np.maximum(accounts.maturity, 0) // DAY, pa.int32(), mask=~dated
            ).cast(pa.date32()),
        },
    )


def _payee_frame(result: ChunkResult) -> tuple[PayeeBatch, np.ndarray]:
    drawn = result.payees
    base = PayeeBatch.build(
        customer=drawn.customer,
        name=drawn.name,
        number=drawn.number,
        bank=drawn.bank,
        kind=drawn.kind,
        added_at=drawn.added_at,
        channel=drawn.channel,
        device=drawn.device,
    )
    every = PayeeBatch.concat([base, *result.new_payees])
    order = np.lexsort((np.arange(len(every)), every.customer))
    seq = np.empty(len(every), dtype=np.int64)
    sorted_customer = every.customer[order]
    seq[order] = np.arange(len(every)) - np.searchsorted(sorted_customer, sorted_customer) + 1
    return every, seq


def _payees(
    result: ChunkResult, ids: Ids, every: PayeeBatch, payee_ids: pa.Array, order: np.ndarray
) -> pa.Table:
    p = every.take(order)
    names = counterparty_names(result)
    return make_table(
        "payees",
        {
            "payee_id": payee_ids.take(pa.array(order)),
            "customer_id": ids.customers(result.people.number[p.customer]),
            "payee_name": lookup_strings(names, p.name),
            "account_number": concat_strings(["62", padded_numbers(p.number, 17)]),
            "bank_code": lookup_strings(BANK_NAMES, p.bank),
            "payee_type": enum_strings("payees", "payee_type", p.kind),
            "added_at": utc_timestamps(p.added_at),
            "channel": enum_strings("payees", "channel", p.channel),
            "device_id": device_ids(p.device),
        },
    )


def _events(
    result: ChunkResult, ids: Ids, events: EventBatch, rng: np.random.Generator
) -> pa.Table:
    return make_table(
        "digital_events",
        {
            "event_id": ids.rows("E", result.chunk, len(events)),
            "customer_id": ids.customers(result.people.number[events.customer]),
            "occurred_at": utc_timestamps(events.time),
            "event_type": enum_strings("digital_events", "event_type", events.event_type),
            "channel": enum_strings("digital_events", "channel", events.channel),
            "device_id": device_ids(events.device),
            "ip": ipv4_strings(events.ip),
            **geo(rng, events.city),
            "success": events.success,
            "auth_method": enum_strings("digital_events", "auth_method", events.auth),
            "feature": lookup_strings(pa.array(FEATURES), events.feature),
            "latency_ms": np.clip(events.latency, 0, 600_000),
        },
    )


def _changes(result: ChunkResult, ids: Ids, changes: ChangeBatch, payee_ids: pa.Array) -> pa.Table:
    return make_table(
        "profile_changes",
        {
            "change_id": ids.rows("G", result.chunk, len(changes)),
            "customer_id": ids.customers(result.people.number[changes.customer]),
            "changed_at": utc_timestamps(changes.time),
            "field": enum_strings("profile_changes", "field", changes.field),
            "channel": enum_strings("profile_changes", "channel", changes.channel),
            "payee_id": lookup_strings(payee_ids, changes.payee),
            "device_id": device_ids(changes.device),
            "ip": ipv4_strings(changes.ip),
            "initiated_by": enum_strings("profile_changes", "initiated_by", changes.initiator),
        },
    )


def _fraud_labels(
    result: ChunkResult,
    ids: Ids,
    rows: dict[str, tuple[pa.Array, np.ndarray, np.ndarray, np.ndarray, np.ndarray]],
    rng: np.random.Generator,
) -> pa.Table:
    """Label rows for fraud (confirmed by case) and for unusual-but-genuine events."""
    parts = []
    for entity, (entity_ids, customer, times, fraud, genuine) in rows.items():
        keep = np.flatnonzero((fraud >= 0) | genuine)
        is_fraud = fraud[keep] >= 0
        delay = np.where(
            is_fraud,
            rng.integers(DAY, 10 * DAY, len(keep)),
            rng.integers(DAY // 2, 3 * DAY, len(keep)),
        )
        parts.append(
            make_table(
                "fraud_labels",
                {
                    "entity_type": pa.array([entity] * len(keep), pa.string()),
                    "entity_id": entity_ids.take(pa.array(keep)),
                    "customer_id": ids.customers(result.people.number[customer[keep]]),
                    "is_fraud": is_fraud,
                    "fraud_type": enum_strings("fraud_labels", "fraud_type", fraud[keep]),
                    "confirmed_at": utc_timestamps(times[keep] + delay),
                },
            )
        )
    return pa.concat_tables(parts)


def _churn_labels(config: SimulationConfig, result: ChunkResult, ids: Ids, tx: TxBatch) -> pa.Table:
    bounds = config.month_bounds()
    definition = config.churn_definition
    if definition == "closure":
        churned = result.closed_at
    elif definition == "dormancy_90d":
        mine = initiated(tx)
        anchor = np.maximum(result.people.opened_at, bounds[0])
        churned = dormancy(
            result.accounts.customer[tx.account[mine]], tx.time[mine], anchor, bounds[-1]
        )
    else:
        churned = balance_flight(np.column_stack(result.deposits), np.array(bounds, dtype=np.int64))
    n = result.people.size
    return make_table(
        "churn_labels",
        {
            "customer_id": ids.customers(result.people.number),
            "definition": pa.array([definition] * n, pa.string()),
            "churned": churned >= 0,
            "churned_at": optional_times(churned),
        },
    )


def _customer_truth(result: ChunkResult, ids: Ids) -> pa.Table:
    churn, people = result.churn, result.people
    return make_table(
        "customer_truth",
        {
            "customer_id": ids.customers(people.number),
            "base_hazard": np.round(people.base_hazard, 6),
            "mean_hazard": np.round(churn.hazard_total / np.maximum(churn.hazard_months, 1), 6),
            "churn_cause": lookup_strings(pa.array(CAUSES), churn.cause),
            "churned_at": optional_times(churn.decided_at),
            "uplift_class": lookup_strings(pa.array(UPLIFT_CLASSES), people.uplift),
            "is_mule": people.mule,
            "value_weight": np.round(people.value, 4),
        },
    )


def _last_active(result: ChunkResult, tx: TxBatch) -> np.ndarray:
    mine = initiated(tx)
    last = np.full(result.people.size, -1, dtype=np.int64)
    np.maximum.at(last, result.accounts.customer[tx.account[mine]], tx.time[mine])
    return np.where(last >= 0, last, result.people.opened_at)


def _settled_added_at(
    result: ChunkResult, every: PayeeBatch, tx: TxBatch, changes: ChangeBatch
) -> np.ndarray:
    """Registration dates no later than a payee's first use, nor than its owner's departure.

    Payees are drawn before the month-by-month simulation decides who leaves and which payee a
    transfer goes to, so a drawn date can fall after either; a bank's records never show that.
    """
    latest = np.full(len(every), np.iinfo(np.int64).max, dtype=np.int64)
    for payee, time in ((tx.payee, tx.time), (changes.payee, changes.time)):
        used = payee >= 0
        np.minimum.at(latest, payee[used], time[used] - 60)
    closed = result.closed_at[every.customer]
    latest = np.where(closed >= 0, np.minimum(latest, closed - 60), latest)
    opened = result.people.opened_at[every.customer]
    return np.asarray(np.maximum(np.minimum(every.added_at, latest), opened))


def chunk_tables(config: SimulationConfig, result: ChunkResult) -> dict[str, pa.Table]:
    """Every table this chunk contributes, keyed by table name."""
    ids = Ids(config)
    rng = stream(config.seed, result.chunk, "tables")
    accounts = result.accounts
    account_ids = ids.accounts(result.people.number[accounts.customer], accounts.seq)
    every, seq = _payee_frame(result)
    payee_ids = ids.payees(result.people.number[every.customer], seq)
    tx = TxBatch.concat(result.tx)
    changes = ChangeBatch.concat(result.changes)
    every.added_at = _settled_added_at(result, every, tx, changes)
    balance_after = np.concatenate(result.balance_after)
    order = np.lexsort((np.arange(len(tx)), tx.account, tx.time))
    tx, balance_after = tx.take(order), balance_after[order]
    events = EventBatch.concat(result.events)
    events = events.take(np.lexsort((np.arange(len(events)), events.customer, events.time)))
    changes = changes.take(np.lexsort((np.arange(len(changes)), changes.customer, changes.time)))
    transactions = transactions_table(result, ids, tx, balance_after, account_ids, payee_ids, rng)
    event_table = _events(result, ids, events, rng)
    change_table = _changes(result, ids, changes, payee_ids)
    tables = {
        "customers": _customers(result, ids),
        "accounts": _accounts(config, result, ids, account_ids, _last_active(result, tx)),
        "payees": _payees(result, ids, every, payee_ids, np.lexsort((seq, every.customer))),
        "transactions": transactions,
        "digital_events": event_table,
        "profile_changes": change_table,
    }
    tables.update(service_tables(result, ids))
    contacts = contact_tables(result, ids, ContactBatch.concat(result.contacts))
    tables["contacts"], tables["contact_truth"] = contacts
    tables["fraud_labels"] = _fraud_labels(
        result,
        ids,
        {
            "transaction": (
                transactions["transaction_id"].combine_chunks(),
                accounts.customer[tx.account],
                tx.time,
                tx.fraud,
                tx.genuine,
            ),
            "digital_event": (
                event_table["event_id"].combine_chunks(),
                events.customer,
                events.time,
                events.fraud,
                events.genuine,
            ),
            "payee": (
                payee_ids,
                every.customer,
                every.added_at,
                every.fraud,
                np.zeros(len(every), bool),
            ),
            "profile_change": (
                change_table["change_id"].combine_chunks(),
                changes.customer,
                changes.time,
                changes.fraud,
                np.zeros(len(changes), bool),
            ),
        },
        rng,
    )
    tables["churn_labels"] = _churn_labels(config, result, ids, tx)
    tables["customer_truth"] = _customer_truth(result, ids)
    return tables
