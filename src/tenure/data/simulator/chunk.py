"""Simulate one chunk of customers month by month; chunks never look at each other."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tenure.data.simulator import behaviour, exits, fraud, schedules
from tenure.data.simulator.campaigns import (
    CLASS_EFFECT,
    EFFECT_DAYS,
    Campaign,
    ContactBatch,
    assign_contacts,
)
from tenure.data.simulator.churn import ChurnState, Drivers
from tenure.data.simulator.config import SimulationConfig
from tenure.data.simulator.consents import Consents, draw_consents
from tenure.data.simulator.digital import digital_month, draw_trips
from tenure.data.simulator.events import ChangeBatch, EventBatch, PayeeBatch
from tenure.data.simulator.inserts import resolve_shares
from tenure.data.simulator.ledger import post
from tenure.data.simulator.month import Month
from tenure.data.simulator.population import Population, draw_population
from tenure.data.simulator.products import Accounts, Payees, draw_accounts, draw_payees
from tenure.data.simulator.profile import profile_month
from tenure.data.simulator.rng import stream
from tenure.data.simulator.service import (
    ComplaintBook,
    Interactions,
    Surveys,
    service_month,
    surveys_month,
)
from tenure.data.simulator.streams import FRAUD_TYPE, KIND, TX_STATUS, TxBatch
from tenure.data.simulator.vocabulary import counterparties

__all__ = ["ChunkResult", "simulate_chunk"]

DAY = 86_400
LEG_KIND = {KIND["bill_payment"]: KIND["transfer_in"]}


@dataclass(slots=True)
class ChunkResult:
    """Everything one chunk produced, as columns with chunk-local references."""

    chunk: int
    people: Population
    accounts: Accounts
    payees: Payees
    consents: Consents
    churn: ChurnState
    tx: list[TxBatch] = field(default_factory=list)
    balance_after: list[np.ndarray] = field(default_factory=list)
    events: list[EventBatch] = field(default_factory=list)
    changes: list[ChangeBatch] = field(default_factory=list)
    new_payees: list[PayeeBatch] = field(default_factory=list)
    interactions: list[Interactions] = field(default_factory=list)
    surveys: list[Surveys] = field(default_factory=list)
    contacts: list[ContactBatch] = field(default_factory=list)
    deposits: list[np.ndarray] = field(default_factory=list)
    closed_at: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))


def _month(
    config: SimulationConfig, chunk: int, m: int, people: Population, churn: ChurnState
) -> Month:
    bounds = config.month_bounds()
    start, end = bounds[m], bounds[m + 1]
    rng = stream(config.seed, chunk, "unusual", m)
    until = churn.until(end)
    trip_city, trip_from, trip_to = draw_trips(rng, people, start, end)
    total = config.start.month - 1 + m
    return Month(
        index=m,
        start=start,
        end=end,
        calendar_month=total % 12 + 1,
        engagement=churn.engagement(rng, start, end),
        alive=(people.opened_at < end) & (until > start),
        until=until,
        salary_on=churn.salary_on(start),
        trip_city=trip_city,
        trip_from=trip_from,
        trip_to=trip_to,
    )


def _open_rows(batch: TxBatch, accounts: Accounts, month: Month, closing: np.ndarray) -> TxBatch:
    """Rows on accounts that are open at that moment, before the owner's exit."""
    owner = accounts.customer[batch.account]
    closed = accounts.closed_at[batch.account]
    ok = (batch.time >= accounts.opened_at[batch.account]) & (batch.time < month.until[owner])
    ok &= (closed < 0) | (batch.time < closed)
    ok &= ~(closing[owner] & (batch.leg >= 0))
    ok &= (batch.time >= month.start) & (batch.time < month.end)
    return batch.take(ok)


def _legs(batch: TxBatch, month_end: int) -> TxBatch:
    """The receiving side of posted transfers between a customer's own accounts."""
    legs = batch.take((batch.leg >= 0) & (batch.status == TX_STATUS["posted"]))
    kinds = np.array([LEG_KIND.get(k, k) for k in range(len(KIND.values))])
    return TxBatch.build(
        legs.leg,
        np.minimum(legs.time + 1, month_end - 1),
        legs.amount,
        credit=True,
        kind=kinds[legs.kind],
        channel=legs.channel,
        counterparty=counterparties().fixed("本人账户"),
        bank=0,
    )


def _post_month(
    config: SimulationConfig, chunk: int, month: Month, result: ChunkResult, plan: fraud.FraudPlan
) -> TxBatch:
    people, accounts, churn = result.people, result.accounts, result.churn
    rng = stream(config.seed, chunk, "behaviour", month.index)
    closing = churn.closer & (churn.exit_at >= month.start) & (churn.exit_at < month.end)
    matured = schedules.maturities(rng, month, accounts, churn.leaving())
    regular = TxBatch.concat(
        [
            behaviour.everyday_month(rng, month, people, accounts, result.payees),
            behaviour.large_purchases(rng, month, people, accounts),
            schedules.scheduled_month(rng, month, people, accounts, matured),
            plan.candidates,
        ]
    )
    regular = _open_rows(regular, accounts, month, closing)
    first = post(regular, accounts.headroom)
    inserts = TxBatch.concat(
        [
            resolve_shares(exits.partial_flights(rng, month, people, accounts, churn), first),
            resolve_shares(plan.shares, first),
        ]
    )
    both = TxBatch.concat(
        [regular, _open_rows(inserts, accounts, month, np.zeros(people.size, bool))]
    )
    both.status = post(both, accounts.headroom).status
    sends = both.take((both.fraud == FRAUD_TYPE["mule"]) & (both.status == TX_STATUS["posted"]))
    mules = fraud.settle_mules(rng, plan.rings, sends, people, accounts, month.end)
    settled = TxBatch.concat([both, _legs(both, month.end), mules])
    third = post(settled, accounts.headroom)
    settled.status = third.status
    drains = TxBatch.concat(
        [
            exits.card_settlements(month, accounts, churn, third),
            resolve_shares(exits.closing_drains(rng, month, people, accounts, churn), third),
        ]
    )
    full = TxBatch.concat(
        [settled, _open_rows(drains, accounts, month, np.zeros(people.size, bool))]
    )
    final = post(full, accounts.headroom)
    full.status = final.status
    liability = accounts.liability[full.account]
    posted = full.status == TX_STATUS["posted"]
    result.balance_after.append(
        np.where(
            posted,
            np.where(
                liability, accounts.limit[full.account] - final.headroom_after, final.headroom_after
            ),
            np.iinfo(np.int64).min,
        )
    )
    accounts.headroom = final.closing
    _settle_products(full, accounts, matured, month, churn)
    return full


def _settle_products(
    full: TxBatch,
    accounts: Accounts,
    matured: schedules.Maturities,
    month: Month,
    churn: ChurnState,
) -> None:
    """Close paid-out deposits, roll the others over, close everything of customers who left."""
    paid = (
        (full.kind == KIND["deposit_maturity"])
        & (full.status == TX_STATUS["posted"])
        & ~full.credit
    )
    accounts.closed_at[full.account[paid]] = full.time[paid] + 1
    rolled = matured.accounts[accounts.closed_at[matured.accounts] < 0]
    accounts.maturity[rolled] += accounts.term_months[rolled] * 30 * DAY
    closing = churn.closer & (churn.exit_at >= month.start) & (churn.exit_at < month.end)
    shut = closing[accounts.customer] & (accounts.closed_at < 0)
    accounts.closed_at[shut] = np.maximum(
        churn.exit_at[accounts.customer[shut]], accounts.opened_at[shut]
    )


def _drivers(
    full: TxBatch, accounts: Accounts, friction: np.ndarray, plan: fraud.FraudPlan, n: int
) -> tuple[np.ndarray, np.ndarray]:
    owner = accounts.customer[full.account]
    fees = np.bincount(
        owner[(full.kind == KIND["fee"]) & (full.status == TX_STATUS["posted"])], minlength=n
    )
    declined = np.bincount(owner[full.status == TX_STATUS["declined"]], minlength=n)
    hurt = friction + declined + 3 * np.bincount(plan.victims, minlength=n)
    return fees, hurt


def _campaign_month(
    config: SimulationConfig,
    chunk: int,
    month: Month,
    result: ChunkResult,
    campaigns: tuple[Campaign, ...],
    treatment: tuple[np.ndarray, np.ndarray],
) -> None:
    rng = stream(config.seed, chunk, "campaigns", month.index)
    multiplier, until = treatment
    for campaign in campaigns:
        if campaign.month != month.index:
            continue
        contacts = assign_contacts(
            rng,
            campaign,
            month,
            result.people,
            result.consents,
            result.churn.hazard_now,
            result.churn.leaving(),
        )
        treated = contacts.sent_at >= 0
        who = contacts.customer[treated]
        multiplier[who] = CLASS_EFFECT[result.people.uplift[who]]
        until[who] = contacts.sent_at[treated] + EFFECT_DAYS * DAY
        result.contacts.append(contacts)


@dataclass(slots=True)
class _Carry:
    """What one month hands to the next: strain, open complaints, treatments, payee count."""

    drivers: Drivers
    complaints: ComplaintBook
    treatment: tuple[np.ndarray, np.ndarray]
    next_payee: int


def simulate_chunk(
    config: SimulationConfig, chunk: int, campaigns: tuple[Campaign, ...]
) -> ChunkResult:
    """Run every month for the chunk's customers and collect all rows."""
    first = chunk * config.chunk_size
    n = min(config.chunk_size, config.customers - first)
    people = draw_population(config, chunk, first, n)
    payees = draw_payees(config, chunk, people)
    result = ChunkResult(
        chunk,
        people,
        draw_accounts(config, chunk, people),
        payees,
        draw_consents(config, chunk, people),
        ChurnState.start(n),
    )
    result.deposits.append(_deposit_totals(result.accounts, n))
    empty = np.zeros(0, dtype=np.int64)
    carry = _Carry(
        Drivers.empty(n),
        ComplaintBook(empty, empty),
        (np.ones(n), np.zeros(n, dtype=np.int64)),
        len(payees.customer),
    )
    for m in range(config.months):
        _simulate_month(config, chunk, m, result, carry, campaigns)
    end = config.month_bounds()[-1]
    churn = result.churn
    closes = churn.closer & (churn.exit_at >= 0) & (churn.exit_at < end)
    result.closed_at = np.where(closes, churn.exit_at, -1)
    return result


def _simulate_month(
    config: SimulationConfig,
    chunk: int,
    m: int,
    result: ChunkResult,
    carry: _Carry,
    campaigns: tuple[Campaign, ...],
) -> None:
    """Decide leavers, then generate money, digital life and service for month ``m``."""
    people, accounts, drivers = result.people, result.accounts, carry.drivers
    start, end = config.month_bounds()[m], config.month_bounds()[m + 1]
    drivers.unresolved = carry.complaints.open_at(start, people.size)
    drivers.treatment = np.where(carry.treatment[1] > start, carry.treatment[0], 1.0)
    rng = stream(config.seed, chunk, "churn", m)
    result.churn.decide(rng, (start, end), people, accounts, drivers)
    month = _month(config, chunk, m, people, result.churn)
    _campaign_month(config, chunk, month, result, campaigns, carry.treatment)
    rng = stream(config.seed, chunk, "fraud", m)
    plan = fraud.plan_fraud(rng, month, people, accounts, result.payees, carry.next_payee)
    carry.next_payee += len(plan.payees)
    full = _post_month(config, chunk, month, result, plan)
    result.tx.append(full)
    friction = _events_month(config, chunk, month, result, plan)
    drivers.fees, drivers.friction = _drivers(full, accounts, friction, plan, people.size)
    _service_month(config, chunk, month, result, carry, plan)
    result.deposits.append(_deposit_totals(accounts, people.size))


def _service_month(
    config: SimulationConfig,
    chunk: int,
    month: Month,
    result: ChunkResult,
    carry: _Carry,
    plan: fraud.FraudPlan,
) -> None:
    """Service contacts (complaints follow strain) and the surveys that follow them."""
    drivers, people = carry.drivers, result.people
    contacts = service_month(
        stream(config.seed, chunk, "service", month.index),
        month,
        people,
        drivers.fees,
        drivers.friction,
        plan.victims,
        plan.victim_times,
        config.month_bounds()[-1],
    )
    result.interactions.append(contacts)
    carry.complaints = _book(carry.complaints, contacts)
    rng = stream(config.seed, chunk, "surveys", month.index)
    leaving = result.churn.leaving()
    result.surveys.append(surveys_month(rng, month, people, contacts, drivers.unresolved, leaving))


def _book(book: ComplaintBook, contacts: Interactions) -> ComplaintBook:
    complaint = contacts.kind == 1
    return ComplaintBook(
        np.r_[book.customer, contacts.customer[complaint]],
        np.r_[book.resolved_at, contacts.resolved_at[complaint]],
    )


def _events_month(
    config: SimulationConfig, chunk: int, month: Month, result: ChunkResult, plan: fraud.FraudPlan
) -> np.ndarray:
    events, friction = digital_month(
        stream(config.seed, chunk, "digital", month.index), month, result.people
    )
    changes, logins = profile_month(
        stream(config.seed, chunk, "profile", month.index),
        month,
        result.people,
        result.payees,
        result.churn.life_event,
    )
    result.events.append(EventBatch.concat([events, logins, plan.events]))
    result.changes.append(ChangeBatch.concat([changes, plan.changes]))
    result.new_payees.append(plan.payees)
    return friction


def _deposit_totals(accounts: Accounts, n: int) -> np.ndarray:
    held = ~accounts.liability
    totals = np.zeros(n, dtype=np.int64)
    np.add.at(totals, accounts.customer[held], accounts.headroom[held])
    return totals
