"""Digital life of one month: logins (with step-ups and failures), feature use, logouts, and the
legitimate surprises (new phones, trips) that look like fraud to a naive rule."""

from __future__ import annotations

import numpy as np

from tenure.data.simulator.events import AUTH, EVENT_CHANNEL, EVENT_TYPE, FEATURES, EventBatch
from tenure.data.simulator.geography import CITIES, DOMESTIC_COUNT, city_arrays
from tenure.data.simulator.month import Month
from tenure.data.simulator.population import Population
from tenure.data.simulator.streams import local_day_times, spread_counts

__all__ = ["TRIP_RATE", "digital_month", "draw_trips"]

TRIP_RATE = 0.02
STEP_UP_RATE = 0.04
FAILURE_RATE = 0.04
CARRIER_BLOCK = 0x7000
DAY = 86_400


def draw_trips(
    rng: np.random.Generator, people: Population, start: int, end: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Who travels this month, where, from when and until when (city -1 = stays home)."""
    n = people.size
    goes = ~people.corporate & (rng.random(n) < TRIP_RATE * (0.5 + np.minimum(people.value, 3)))
    weights = city_arrays()
    abroad = rng.random(n) < 0.3
    city = np.where(
        abroad,
        rng.choice(len(CITIES), n, p=weights.abroad_weight),
        rng.choice(len(CITIES), n, p=weights.domestic_weight),
    )
    city = np.where(city == people.city, (city + 1) % DOMESTIC_COUNT, city)
    leave = start + (rng.random(n) * (end - start - 3 * DAY)).astype(np.int64)
    back = np.minimum(leave + rng.integers(3 * DAY, 11 * DAY, n), end)
    return np.where(goes, city, -1), np.where(goes, leave, -1), np.where(goes, back, -1)


def _logins(rng: np.random.Generator, month: Month, people: Population) -> EventBatch:
    rate = people.login_rate * month.engagement * month.alive * rng.lognormal(0, 0.3, people.size)
    owner = spread_counts(rng, rate)
    n = len(owner)
    times = local_day_times(rng, n, month.start, month.end)
    web = people.corporate[owner] | (people.channel_pref[owner] == 1) | (rng.random(n) < 0.1)
    second = people.second_device[owner]
    device = np.where((second >= 0) & (rng.random(n) < 0.2), second, people.device[owner])
    travelling = month.on_trip(owner, times)
    city = np.where(travelling, month.trip_city[owner], people.city[owner])
    home = np.where(
        rng.random(n) < 0.6,
        people.home_ip[owner],
        (CARRIER_BLOCK << 16) + rng.integers(0, 1 << 20, n),
    )
    ip = np.where(
        travelling, (city_arrays().ip_block[city] << 16) + rng.integers(1, 65_535, n), home
    )
    step_up = rng.random(n) < np.where(travelling, 0.35, STEP_UP_RATE)
    auth = np.where(
        step_up,
        AUTH["sms_otp"],
        np.where(
            web,
            AUTH["password"],
            np.where(rng.random(n) < 0.65, AUTH["biometric"], AUTH["password"]),
        ),
    )
    latency = np.minimum(rng.lognormal(np.log(280), 0.55, n), 600_000).astype(np.int64)
    return EventBatch.build(
        customer=owner,
        time=times,
        channel=np.where(web, EVENT_CHANNEL["web"], EVENT_CHANNEL["mobile"]),
        device=device,
        ip=ip,
        city=city,
        success=rng.random(n) >= FAILURE_RATE,
        auth=auth,
        latency=latency,
        genuine=travelling & (rng.random(n) < 0.1),
    )


def _follow_ups(rng: np.random.Generator, logins: EventBatch) -> EventBatch:
    ok = np.flatnonzero(logins.success)
    uses = rng.random(len(ok)) < 0.45
    leaves = rng.random(len(ok)) < 0.2
    feature = logins.take(ok[uses])
    feature.event_type[:] = EVENT_TYPE["feature_use"]
    feature.feature = rng.integers(0, len(FEATURES), len(feature))
    feature.time = feature.time + rng.integers(5, 300, len(feature))
    feature.auth[:] = AUTH["none"]
    feature.genuine[:] = False
    logout = logins.take(ok[leaves])
    logout.event_type[:] = EVENT_TYPE["logout"]
    logout.time = logout.time + rng.integers(60, 1_200, len(logout))
    logout.auth[:] = AUTH["none"]
    logout.genuine[:] = False
    retry = logins.take(np.flatnonzero(~logins.success))
    retry.time = retry.time + rng.integers(10, 120, len(retry))
    retry.success[:] = True
    return EventBatch.concat([feature, logout, retry])


def digital_month(
    rng: np.random.Generator, month: Month, people: Population
) -> tuple[EventBatch, np.ndarray]:
    """This month's digital events and the friction (step-ups, failures) each customer met."""
    logins = _logins(rng, month, people)
    events = EventBatch.concat([logins, _follow_ups(rng, logins)])
    events.time = np.minimum(events.time, month.end - 1)
    events = events.take(events.time < month.until[events.customer])
    hurt = (events.auth == AUTH["sms_otp"]) | ~events.success
    friction = np.bincount(events.customer[hurt], minlength=people.size)
    return events, friction
