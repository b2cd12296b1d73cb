"""What customers hold: accounts by product (balances, limits, rates, maturities) and payees."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tenure.data.simulator.config import SimulationConfig
from tenure.data.simulator.population import Population
from tenure.data.simulator.rng import stream
from tenure.data.simulator.vocabulary import BANKS, codes, counterparties

__all__ = ["Accounts", "Payees", "draw_accounts", "draw_payees"]

PRODUCT = codes("accounts", "product")
DAY = 86_400
MONTH = 30 * DAY
LIABILITY_LIMIT = 10**15
TD_TERMS = np.array([3, 6, 12, 24, 36, 60])
TD_RATES = np.array([0.0105, 0.0125, 0.0145, 0.0165, 0.0195, 0.0200])
LOAN_TERMS = np.array([12, 36, 60, 120, 240, 360])
LOAN_RATES = np.array([0.0385, 0.0420, 0.0450, 0.0380, 0.0355, 0.0330])


@dataclass(slots=True)
class Accounts:
    """Accounts of one chunk as columns; ``headroom`` is what the ledger debits against."""

    customer: np.ndarray
    product: np.ndarray
    seq: np.ndarray
    opened_at: np.ndarray
    closed_at: np.ndarray
    headroom: np.ndarray
    limit: np.ndarray
    rate: np.ndarray
    maturity: np.ndarray
    term_months: np.ndarray
    payment: np.ndarray
    of_product: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        customers = int(self.customer.max()) + 1 if len(self.customer) else 0
        self.of_product = np.full((customers, len(PRODUCT.values)), -1, dtype=np.int64)
        self.of_product[self.customer, self.product] = np.arange(len(self.customer))

    @property
    def liability(self) -> np.ndarray:
        """Whether each account holds what is owed (card, loan) rather than what is held."""
        return np.asarray((self.product == PRODUCT["card"]) | (self.product == PRODUCT["loan"]))

    def balances(self) -> np.ndarray:
        """Balance of each account: held money, or owed money for cards and loans."""
        return np.where(self.liability, self.limit - self.headroom, self.headroom)


def _holdings(rng: np.random.Generator, people: Population) -> np.ndarray:
    n = people.size
    value, corporate = people.value, people.corporate
    p = np.column_stack(
        [
            np.ones(n),
            np.where(corporate, 0.3, 0.55 + 0.05 * np.minimum(value, 4)),
            np.where(corporate, 0.35, np.minimum(0.12 + 0.06 * value, 0.6)),
            np.where(corporate, 0.1, 0.45),
            np.where(corporate, 0.35, 0.16),
            np.where(corporate, 0.15, np.minimum(0.08 + 0.05 * value, 0.5)),
        ]
    )
    return rng.random((n, 6)) < p


def draw_accounts(config: SimulationConfig, chunk: int, people: Population) -> Accounts:
    """Open each customer's products with balances as they stand at the window start."""
    rng = stream(config.seed, chunk, "accounts")
    customer, product = np.nonzero(_holdings(rng, people))
    m = len(customer)
    seq = np.arange(m) - np.searchsorted(customer, customer)
    start = config.start_second
    cust_open = people.opened_at[customer]
    before = cust_open + (rng.random(m) * np.maximum(start - cust_open, 0)).astype(np.int64)
    opened = np.where((product == PRODUCT["current"]) | (cust_open >= start), cust_open, before)
    income = people.income[customer].astype(np.float64)
    value = people.value[customer]
    term = np.full(m, -1, dtype=np.int64)
    td = product == PRODUCT["term_deposit"]
    loan = product == PRODUCT["loan"]
    td_term = rng.integers(0, len(TD_TERMS), size=m)
    loan_term = rng.integers(0, len(LOAN_TERMS), size=m)
    term = np.where(td, TD_TERMS[td_term], np.where(loan, LOAN_TERMS[loan_term], term))
    held = {
        PRODUCT["current"]: income * rng.uniform(0.3, 2.5, m),
        PRODUCT["savings"]: income * rng.lognormal(1.0, 1.0, m) * value,
        PRODUCT["term_deposit"]: income * rng.lognormal(1.6, 0.8, m) * value,
        PRODUCT["wealth"]: income * rng.lognormal(2.0, 0.9, m) * value,
    }
    balance = np.zeros(m)
    for code, amount in held.items():
        balance = np.where(product == code, amount, balance)
    balance = np.where(opened >= start, 0, np.round(balance, -2)).astype(np.int64)
    maturity = _maturities(opened, term, start)
    limit, payment, owed = _credit(rng, product, income, term, opened, start)
    rate = np.select(
        [
            product == PRODUCT["current"],
            product == PRODUCT["savings"],
            td,
            loan,
            product == PRODUCT["wealth"],
            product == PRODUCT["card"],
        ],
        [0.001, 0.0035, TD_RATES[td_term], LOAN_RATES[loan_term], 0.028, 0.18],
    )
    return Accounts(
        customer=customer.astype(np.int64),
        product=product.astype(np.int64),
        seq=(seq + 1).astype(np.int64),
        opened_at=opened,
        closed_at=np.full(m, -1, dtype=np.int64),
        headroom=np.where(limit > 0, limit - owed, balance),
        limit=limit,
        rate=rate,
        maturity=maturity,
        term_months=term,
        payment=payment,
    )


def _maturities(opened: np.ndarray, term: np.ndarray, start: int) -> np.ndarray:
    """Maturity of term deposits (rolled forward past the window start) and loans."""
    length = np.maximum(term, 1) * MONTH
    rolls = np.maximum(np.ceil((start - opened) / length), 1)
    rolled = opened + (rolls * length).astype(np.int64)
    return np.where(term > 0, np.maximum(rolled, opened + length), -1)


def _credit(
    rng: np.random.Generator,
    product: np.ndarray,
    income: np.ndarray,
    term: np.ndarray,
    opened: np.ndarray,
    start: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Limits, monthly loan payments and amounts owed at the window start for cards and loans."""
    m = len(product)
    card = product == PRODUCT["card"]
    loan = product == PRODUCT["loan"]
    card_limit = np.round(income * rng.uniform(2, 8, m), -5)
    principal = np.round(income * rng.uniform(8, 60, m), -4)
    months = np.maximum(term, 1)
    payment = np.where(loan, np.round(principal / months * 1.12, -2), 0).astype(np.int64)
    elapsed = np.clip((start - opened) / MONTH, 0, months)
    owed_loan = np.where(opened >= start, 0, principal * (1 - elapsed / months))
    owed_card = card_limit * rng.uniform(0, 0.3, m)
    limit = np.select([card, loan], [np.maximum(card_limit, 500_000), LIABILITY_LIMIT], 0)
    owed = np.select([card, loan], [owed_card, owed_loan], 0)
    payment = np.where(loan & (opened >= start), np.round(principal / months * 1.12, -2), payment)
    return limit.astype(np.int64), payment, np.round(owed, -2).astype(np.int64)


@dataclass(slots=True)
class Payees:
    """Registered beneficiaries of one chunk as columns, sorted by customer."""

    customer: np.ndarray
    name: np.ndarray
    number: np.ndarray
    bank: np.ndarray
    kind: np.ndarray
    added_at: np.ndarray
    channel: np.ndarray
    device: np.ndarray
    start: np.ndarray = field(init=False)
    count: np.ndarray = field(init=False)

    def index(self, customers: int) -> None:
        """Rebuild the per-customer slices after payees were added."""
        self.start = np.searchsorted(self.customer, np.arange(customers))
        self.count = np.searchsorted(self.customer, np.arange(customers), side="right") - self.start


PAYEE_TYPE = codes("payees", "payee_type")
PAYEE_CHANNEL = codes("payees", "channel")


def draw_payees(config: SimulationConfig, chunk: int, people: Population) -> Payees:
    """Register each customer's people, businesses and own accounts at other banks."""
    rng = stream(config.seed, chunk, "payees")
    n = people.size
    pool = counterparties()
    persons = rng.poisson(np.where(people.corporate, 1.0, 1.6))
    businesses = np.where(people.corporate, rng.integers(3, 10, size=n), 0)
    own = (rng.random(n) < 0.45).astype(np.int64)
    counts = persons + businesses + own
    customer = np.repeat(np.arange(n), counts)
    m = len(customer)
    rank = np.arange(m) - np.searchsorted(customer, customer)
    kind = np.where(
        rank < own[customer],
        PAYEE_TYPE["own_account"],
        np.where(
            rank < own[customer] + businesses[customer],
            PAYEE_TYPE["business"],
            PAYEE_TYPE["person"],
        ),
    )
    name = np.select(
        [kind == PAYEE_TYPE["own_account"], kind == PAYEE_TYPE["business"]],
        [len(pool.names) + customer, pool.employer_start + rng.integers(0, pool.employer_count, m)],
        pool.person_start + rng.integers(0, pool.person_count, m),
    )
    bank_weights = np.array(
        [0.25, 0.12, 0.12, 0.1, 0.1, 0.06, 0.09, 0.04, 0.03, 0.03, 0.03, 0.02, 0.01]
    )
    bank = rng.choice(len(BANKS), size=m, p=bank_weights / bank_weights.sum())
    bank = np.where(kind == PAYEE_TYPE["own_account"], rng.choice([2, 6, 7, 11, 12], size=m), bank)
    start, end = config.start_second, config.month_bounds()[-1]
    opened = people.opened_at[customer]
    in_window = rng.random(m) < 0.1
    added = np.where(
        in_window,
        np.maximum(opened, start)
        + (rng.random(m) * (end - np.maximum(opened, start)) * 0.95).astype(np.int64),
        opened + (rng.random(m) * np.maximum(start - opened, 0)).astype(np.int64),
    )
    channel = rng.choice(
        [PAYEE_CHANNEL["mobile"], PAYEE_CHANNEL["web"], PAYEE_CHANNEL["branch"]],
        size=m,
        p=[0.6, 0.25, 0.15],
    )
    digital = channel != PAYEE_CHANNEL["branch"]
    payees = Payees(
        customer=customer.astype(np.int64),
        name=name.astype(np.int64),
        number=rng.integers(10**16, 10**17, size=m),
        bank=bank.astype(np.int64),
        kind=kind.astype(np.int64),
        added_at=added,
        channel=channel.astype(np.int64),
        device=np.where(digital, people.device[customer], -1),
    )
    payees.index(n)
    return payees
