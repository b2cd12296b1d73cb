"""Great-circle distance and travel speed between two places, for impossible-travel checks."""

from __future__ import annotations

import math

__all__ = ["EARTH_RADIUS_KM", "MIN_TRAVEL_SECONDS", "km_between", "speed_kmh"]

EARTH_RADIUS_KM = 6371.0088
# Two events a few seconds apart with jittery geolocation would otherwise read as thousands of km/h.
MIN_TRAVEL_SECONDS = 60.0


def km_between(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Haversine distance in km between two (lat, lon) points in degrees.

    >>> round(km_between((39.9042, 116.4074), (31.2304, 121.4737)))
    1067
    >>> km_between((10.0, 20.0), (10.0, 20.0))
    0.0
    """
    lat1, lon1 = math.radians(a[0]), math.radians(a[1])
    lat2, lon2 = math.radians(b[0]), math.radians(b[1])
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def speed_kmh(
    from_place: tuple[float, float],
    from_at: float,
    to_place: tuple[float, float],
    to_at: float,
) -> float:
    """Speed in km/h needed to go from one place to the other in the time between them.

    The order of the two times does not matter (events arrive out of order), and gaps shorter than
    ``MIN_TRAVEL_SECONDS`` count as that long.

    >>> round(speed_kmh((39.9042, 116.4074), 0.0, (31.2304, 121.4737), 3600.0))
    1067
    """
    seconds = max(abs(to_at - from_at), MIN_TRAVEL_SECONDS)
    return km_between(from_place, to_place) / (seconds / 3600.0)
