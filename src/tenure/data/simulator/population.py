"""Who the customers are: type, place, age, income, risk, habits and latent traits."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tenure.data.simulator import identity
from tenure.data.simulator.config import SimulationConfig
from tenure.data.simulator.geography import CITIES, DOMESTIC_COUNT, city_arrays
from tenure.data.simulator.rng import stream
from tenure.data.simulator.vocabulary import BANKS, counterparties

__all__ = ["UPLIFT_CLASSES", "Population", "draw_population"]

UPLIFT_CLASSES = ("persuadable", "sure_thing", "lost_cause", "do_not_disturb")
SECONDS_PER_YEAR = 31_556_952
INCOME_YUAN = np.array([3_500, 6_500, 11_000, 20_000, 45_000], dtype=np.float64)
SALARY_DAYS = np.array([1, 5, 8, 10, 10, 15, 15, 20, 25, 28])


@dataclass(frozen=True, slots=True)
class Population:
    """One chunk of customers as columns; index ``i`` is the chunk-local customer."""

    size: int
    number: np.ndarray
    corporate: np.ndarray
    birth_year: np.ndarray
    city: np.ndarray
    income_band: np.ndarray
    kyc: np.ndarray
    channel_pref: np.ndarray
    rm: np.ndarray
    opened_at: np.ndarray
    value: np.ndarray
    income: np.ndarray
    salary_day: np.ndarray
    employer: np.ndarray
    employer_bank: np.ndarray
    card_rate: np.ndarray
    bill_rate: np.ndarray
    transfer_rate: np.ndarray
    login_rate: np.ndarray
    base_hazard: np.ndarray
    uplift: np.ndarray
    mule: np.ndarray
    satisfaction: np.ndarray
    english: np.ndarray
    device: np.ndarray
    second_device: np.ndarray
    home_ip: np.ndarray
    full_name: pa.Array
    phone: pa.Array
    email: pa.Array
    id_number: pa.Array


def _opened_at(rng: np.random.Generator, config: SimulationConfig, age: np.ndarray) -> np.ndarray:
    n = len(age)
    start = config.start_second
    window = config.month_bounds()[-1] - start
    tenure_years = np.minimum(rng.exponential(6.0, size=n), np.maximum(age - 18, 0.5))
    opened = start - (tenure_years * SECONDS_PER_YEAR).astype(np.int64) - 86_400
    joins_in_window = rng.random(n) < 0.04
    inside = start + (rng.random(n) * window * 0.9).astype(np.int64)
    return np.where(joins_in_window, inside, opened) // 60 * 60 + rng.integers(0, 60, size=n)


def _habits(
    rng: np.random.Generator, corporate: np.ndarray, age: np.ndarray, value: np.ndarray
) -> dict[str, np.ndarray]:
    n = len(age)
    young = age < 35
    prefs = np.where(
        corporate,
        rng.choice(4, size=n, p=[0.25, 0.55, 0.15, 0.05]),
        np.where(
            age > 60,
            rng.choice(4, size=n, p=[0.3, 0.05, 0.5, 0.15]),
            rng.choice(4, size=n, p=[0.72, 0.1, 0.12, 0.06]),
        ),
    )
    login_base = np.array([3.2, 2.4, 0.5, 0.6])[prefs]
    card = 0.7 + rng.lognormal(-1.2, 1.0, size=n) * np.where(young, 1.3, 1.0) * np.sqrt(value)
    return {
        "channel_pref": prefs,
        "card_rate": np.where(corporate, 0.5, np.minimum(card, 40.0)),
        "bill_rate": np.where(corporate, 2.0, 0.35 + 0.3 * rng.random(n)),
        "transfer_rate": np.where(corporate, 4.0 * np.sqrt(value / 30), 0.3 * rng.gamma(2, 0.5, n)),
        "login_rate": np.where(corporate, 5.0, login_base) * rng.lognormal(0, 0.4, size=n),
    }


def _latent(
    rng: np.random.Generator, age: np.ndarray, has_rm: np.ndarray, corporate: np.ndarray
) -> dict[str, np.ndarray]:
    n = len(age)
    hazard = rng.lognormal(np.log(0.0058), 0.6, size=n) * np.where(age < 30, 1.3, 1.0)
    hazard = np.clip(hazard * np.where(has_rm, 0.7, 1.0), 0.0005, 0.05)
    risky = hazard > np.quantile(hazard, 0.6) if n else hazard > 0
    probabilities = np.where(risky[:, None], [[0.3, 0.15, 0.38, 0.17]], [[0.2, 0.5, 0.17, 0.13]])
    uplift = (rng.random(n)[:, None] > np.cumsum(probabilities, axis=1)).sum(axis=1)
    mule = ~corporate & (rng.random(n) < np.where(age < 35, 0.004, 0.0006))
    return {"base_hazard": hazard, "uplift": uplift, "mule": mule}


def draw_population(config: SimulationConfig, chunk: int, first: int, n: int) -> Population:
    """Draw ``n`` customers numbered from ``first + 1`` for one chunk."""
    rng = stream(config.seed, chunk, "population")
    cities = city_arrays()
    corporate = rng.random(n) < config.corporate_share
    city = rng.choice(len(CITIES), size=n, p=cities.domestic_weight)
    birth_year = config.start.year - np.clip(rng.normal(40, 14, size=n), 18, 88).astype(np.int64)
    age = (config.start.year - birth_year).astype(np.float64)
    value = rng.lognormal(0.0, 0.9, size=n) * np.where(corporate, 30.0, 1.0)
    band = np.clip(
        np.searchsorted([0.45, 0.8, 1.4, 2.6], value * rng.lognormal(0, 0.3, size=n)), 0, 4
    )
    income = INCOME_YUAN[band] * rng.lognormal(0, 0.25, size=n) * np.where(corporate, 25, 1)
    has_rm = (value > 3.2) | (corporate & (rng.random(n) < 0.8))
    latent = _latent(rng, age, has_rm, corporate)
    kyc = rng.choice(3, size=n, p=[0.82, 0.15, 0.03])
    kyc = np.where(latent["mule"] & (rng.random(n) < 0.5), 1 + rng.integers(0, 2, size=n), kyc)
    salaried = ~corporate & (rng.random(n) < np.where(age < 62, 0.78, 0.85))
    pool = counterparties()
    habits = _habits(rng, corporate, age, value)
    pii = _identity(config, chunk, corporate, city, birth_year)
    return Population(
        size=n,
        number=np.arange(first + 1, first + n + 1, dtype=np.int64),
        corporate=corporate,
        birth_year=np.where(corporate, -1, birth_year),
        city=city,
        income_band=band,
        kyc=kyc,
        channel_pref=habits["channel_pref"],
        rm=np.where(has_rm, 1 + (city * 37 + rng.integers(0, 40, size=n)) % 999, -1),
        opened_at=_opened_at(rng, config, age),
        value=value,
        income=(income * 100).astype(np.int64),
        salary_day=np.where(salaried, SALARY_DAYS[rng.integers(len(SALARY_DAYS), size=n)], -1),
        employer=pool.employer_start + rng.integers(0, pool.employer_count, size=n),
        employer_bank=rng.integers(0, len(BANKS), size=n),
        card_rate=habits["card_rate"],
        bill_rate=habits["bill_rate"],
        transfer_rate=habits["transfer_rate"],
        login_rate=habits["login_rate"],
        base_hazard=latent["base_hazard"],
        uplift=latent["uplift"],
        mule=latent["mule"],
        satisfaction=rng.normal(0, 1, size=n),
        english=rng.random(n) < np.where(corporate, 0.2, 0.08),
        device=rng.integers(1 << 40, 1 << 47, size=n),
        second_device=np.where(rng.random(n) < 0.35, rng.integers(1 << 40, 1 << 47, size=n), -1),
        home_ip=(cities.ip_block[city] << 16) + rng.integers(1, 65_535, size=n),
        **pii,
    )


def _identity(
    config: SimulationConfig,
    chunk: int,
    corporate: np.ndarray,
    city: np.ndarray,
    birth_year: np.ndarray,
) -> dict[str, pa.Array]:
    rng = stream(config.seed, chunk, "identity")
    n = len(city)
    city_names = pa.array([c.name for c in CITIES]).take(pa.array(city))
    people, surname, given = identity.person_names(rng, n)
    companies = identity.company_names(rng, city_names)
    area = city_arrays().area_code[city] + rng.integers(0, 5, size=n) * np.where(
        city < DOMESTIC_COUNT, 1, 0
    )
    births = (np.maximum(birth_year, 1900) - 1970).astype("datetime64[Y]").astype("datetime64[D]")
    births = births + rng.integers(0, 365, size=n).astype("timedelta64[D]")
    is_corporate = pa.array(corporate)
    corporate_mail = pc.binary_join_element_wise(
        "finance",
        pc.cast(pa.array(rng.integers(100, 99_999, size=n)), pa.string()),
        "@qiye.163.com",
        "",
    )
    return {
        "full_name": pc.if_else(is_corporate, companies, people),
        "phone": identity.phone_numbers(rng, n),
        "email": pc.if_else(is_corporate, corporate_mail, identity.emails(rng, surname, given)),
        "id_number": pc.if_else(
            is_corporate, identity.credit_codes(rng, area), identity.resident_ids(rng, area, births)
        ),
    }
