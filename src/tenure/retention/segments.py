"""Behavioural customer segments: k-means on scaled features, k chosen by silhouette, profiled.

Why k-means with silhouette rather than a Gaussian mixture with BIC: on a bank's book (hundreds
of thousands of customers, heavy-tailed money and count features) BIC keeps rewarding more
components, so it picks the largest k offered and the segments stop being explainable; the
silhouette peaks where segments are well apart, which is what an analyst can name and act on.
k-means is also cheap (one pass per candidate k on a sample) and its centroids are the profile.

Determinism: candidate models are fitted on a seeded sample with a fixed ``n_init`` and
``random_state``; segments are numbered by size (largest first, ties by centroid), never by the
arbitrary label order k-means returns, so the same data and seed give the same numbering.

>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> frame = pd.DataFrame({"x": np.r_[rng.normal(0, .1, 60), rng.normal(5, .1, 40)],
...                       "y": np.r_[rng.normal(0, .1, 60), rng.normal(5, .1, 40)]})
>>> model = CustomerSegmenter(features=("x", "y"), k_range=(2, 4)).fit(frame)
>>> model.k_, np.bincount(model.labels_).tolist()
(2, [60, 40])
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score, silhouette_score
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

from tenure.core.errors import ValidationError
from tenure.core.money import format_minor_units
from tenure.retention.features.catalogue import FEATURES

__all__ = ["DEFAULT_SEGMENT_FEATURES", "CustomerSegmenter", "SegmentProfile", "SegmentTrait"]

DEFAULT_SEGMENT_FEATURES: tuple[str, ...] = (
    # value
    "balance_last",
    "inflow_sum_90d",
    "outflow_sum_90d",
    "card_spend_90d",
    # activity
    "tx_count_90d",
    # products
    "products_held",
    "has_loan",
    "has_wealth",
    # digital
    "logins_90d",
    "login_weeks_last_12",
    # service
    "complaints_365d",
    "inquiries_90d",
)
"""Behavioural features segmented on by default: value, activity, products, digital, service."""

# label in a profile line, word for a high segment, word for a low one
_WORDS: dict[str, tuple[str, str, str]] = {
    "balance_last": ("deposit balance", "high balance", "low balance"),
    "inflow_sum_90d": ("money in over 90 days", "high inflow", "low inflow"),
    "outflow_sum_90d": ("money out over 90 days", "big spender", "low spend"),
    "card_spend_90d": ("card spend over 90 days", "card user", "little card use"),
    "tx_count_90d": ("transactions in 90 days", "transacting", "quiet"),
    "products_held": ("products held", "multi-product", "few products"),
    "has_loan": ("share with a loan", "borrower", "no loan"),
    "has_wealth": ("share with a wealth product", "investor", "no investments"),
    "logins_90d": ("logins in 90 days", "digital", "offline"),
    "login_weeks_last_12": ("weeks with a login, of 12", "regular online", "rarely online"),
    "complaints_365d": ("complaints in 365 days", "complaining", "no complaints"),
    "inquiries_90d": ("inquiries in 90 days", "service-heavy", "self-service"),
}
_LOG_UNITS = frozenset({"count", "minor units", "minor units per day", "days"})
_UNITS = {f.name: f.unit for f in FEATURES}


@dataclass(frozen=True, slots=True)
class SegmentTrait:
    """One feature that sets a segment apart, in numbers."""

    feature: str
    label: str
    segment_mean: float
    overall_mean: float
    effect: float
    """Standardised mean difference (segment vs all customers) on the model's scale."""

    @property
    def word(self) -> str:
        """The word for the trait ("digital", "offline")."""
        _, high, low = _WORDS.get(self.feature, ("", f"high {self.label}", f"low {self.label}"))
        return high if self.effect > 0 else low

    @property
    def text(self) -> str:
        """The trait in words and numbers ("logins in 90 days: 42 vs 11 overall")."""
        shown = (_number(self.segment_mean, self.feature), _number(self.overall_mean, self.feature))
        return f"{self.label}: {shown[0]} vs {shown[1]} overall"


@dataclass(frozen=True, slots=True)
class SegmentProfile:
    """What a segment is: its size, its name and the traits that set it apart."""

    segment: int
    name: str
    size: int
    share: float
    traits: tuple[SegmentTrait, ...]

    @property
    def description(self) -> str:
        """The traits in one line, most distinctive first."""
        return "; ".join(trait.text for trait in self.traits) or "close to the average customer"


def _number(value: float, feature: str) -> str:
    """A figure as an analyst reads it: shares as %, money in whole CNY, large amounts as k / M."""
    if np.isnan(value):
        return "n/a"
    if _UNITS.get(feature) == "flag":
        return f"{value:.0%}"
    if _UNITS.get(feature) == "minor units":
        return format_minor_units(round(value))
    size = abs(value)
    if size >= 1e6:
        return f"{value / 1e6:,.1f}M"
    if size >= 1e4:
        return f"{value / 1e3:,.0f}k"
    return f"{value:,.0f}" if size >= 100 else f"{value:.1f}"


class CustomerSegmenter:
    """Segments customers with k-means, choosing k by silhouette; seeded and stable.

    Parameters: ``features`` to segment on (defaults: :data:`DEFAULT_SEGMENT_FEATURES`);
    ``k_range`` the smallest and largest k tried; ``sample_size`` the rows (a seeded sample)
    candidate models are fitted on, ``silhouette_size`` the rows of it each is scored on (the
    silhouette costs the square of the rows: 8,000 take about 1 s, 20,000 about 8 s);
    ``clip_quantiles`` where each transformed feature is clipped; ``n_init`` k-means restarts;
    ``random_state`` the seed; ``threads`` caps OpenMP / BLAS threads while fitting and
    predicting (None keeps the library default; 1 is fastest on a machine busy with other work,
    and never changes the result). Money, counts and days are log1p-transformed (signed),
    then clipped, then standardised; flags and ratios are only clipped and standardised.
    """

    def __init__(
        self,
        *,
        features: tuple[str, ...] = DEFAULT_SEGMENT_FEATURES,
        k_range: tuple[int, int] = (3, 8),
        sample_size: int = 20_000,
        silhouette_size: int = 8_000,
        clip_quantiles: tuple[float, float] = (0.01, 0.99),
        n_init: int = 4,
        random_state: int = 0,
        threads: int | None = None,
    ) -> None:
        self.features = features
        self.k_range = k_range
        self.sample_size = sample_size
        self.silhouette_size = silhouette_size
        self.clip_quantiles = clip_quantiles
        self.n_init = n_init
        self.random_state = random_state
        self.threads = threads

    def _limits(self) -> AbstractContextManager[Any]:
        return nullcontext() if self.threads is None else threadpool_limits(self.threads)

    def _raw(self, frame: pd.DataFrame) -> np.ndarray:
        """The selected features, by name (column order of ``frame`` is irrelevant)."""
        missing = [name for name in self.features if name not in frame.columns]
        if missing:
            raise ValidationError(f"features have no {missing[0]} column", field=missing[0])
        columns = [pd.to_numeric(frame[name], errors="coerce") for name in self.features]
        return np.column_stack([np.asarray(c, dtype=float) for c in columns])

    def _transformed(self, frame: pd.DataFrame) -> np.ndarray:
        raw = self._raw(frame)
        logged = np.sign(raw) * np.log1p(np.abs(raw))
        use_log = np.array([_UNITS.get(name) in _LOG_UNITS for name in self.features])
        return np.where(use_log, logged, raw)

    def _fit_transform(self, frame: pd.DataFrame) -> np.ndarray:
        values = self._transformed(frame)
        if np.isnan(values).all(axis=0).any():
            raise ValidationError("a segment feature has no value at all", field="features")
        self.medians_ = np.nanmedian(values, axis=0)
        values = np.where(np.isnan(values), self.medians_, values)
        low, high = self.clip_quantiles
        self.lower_ = np.quantile(values, low, axis=0)
        self.upper_ = np.quantile(values, high, axis=0)
        self.scaler_ = StandardScaler().fit(np.clip(values, self.lower_, self.upper_))
        return self._scale(values)

    def _scale(self, values: np.ndarray) -> np.ndarray:
        filled = np.where(np.isnan(values), self.medians_, values)
        scaled = self.scaler_.transform(np.clip(filled, self.lower_, self.upper_))
        return np.asarray(scaled, dtype=float)

    def transform(self, features: pd.DataFrame) -> np.ndarray:
        """The features on the model's scale (logged, clipped, standardised)."""
        return self._scale(self._transformed(features))

    def _kmeans(self, k: int, seed_offset: int = 0) -> KMeans:
        return KMeans(
            n_clusters=k, n_init=self.n_init, random_state=self.random_state + seed_offset
        )

    def _candidates(self, sample: np.ndarray) -> list[int]:
        """The k to try: the range, capped so that every cluster can hold a distinct point."""
        distinct = len(np.unique(sample, axis=0))
        low, high = self.k_range
        if low < 2 or high < low:
            raise ValidationError(
                "k_range must be (low, high) with 2 <= low <= high", field="k_range"
            )
        ks = [k for k in range(low, high + 1) if k < distinct]
        if not ks:
            raise ValidationError(
                f"only {distinct} distinct customers to segment", field="features"
            )
        return ks

    def _choose_k(self, sample: np.ndarray) -> int:
        scores: dict[int, float] = {}
        for k in self._candidates(sample):
            labels = self._kmeans(k).fit_predict(sample)
            scored = slice(0, self.silhouette_size)
            scores[k] = float(silhouette_score(sample[scored], labels[scored]))
        self.scores_ = scores
        # the highest silhouette; a tie goes to the smaller k
        return max(scores, key=lambda k: (round(scores[k], 9), -k))

    def _stability(self, sample: np.ndarray) -> float:
        """Adjusted Rand index between models fitted on two bootstrap resamples of the sample."""
        rng = np.random.default_rng(self.random_state + 1)
        labelings = []
        for offset in (1, 2):
            rows = rng.integers(0, len(sample), len(sample))
            model = self._kmeans(self.k_, offset).fit(sample[np.unique(rows)])
            labelings.append(model.predict(sample))
        return float(adjusted_rand_score(*labelings))

    def fit(self, features: pd.DataFrame) -> CustomerSegmenter:
        """Choose k on a seeded sample, fit the final model on every row, number by size."""
        with self._limits():
            return self._fit(features)

    def _fit(self, features: pd.DataFrame) -> CustomerSegmenter:
        scaled = self._fit_transform(features)
        rng = np.random.default_rng(self.random_state)
        size = min(len(scaled), self.sample_size)
        # in drawn (random) order, so that any prefix of the sample is a random sample too
        sample = scaled[rng.choice(len(scaled), size, replace=False)]
        self.k_ = self._choose_k(sample)
        self.model_ = self._kmeans(self.k_).fit(scaled)
        raw_labels = np.asarray(self.model_.labels_, dtype=np.int64)
        counts = np.bincount(raw_labels, minlength=self.k_)
        centers = np.asarray(self.model_.cluster_centers_, dtype=float)
        # largest first; ties by centroid coordinates, so numbering never depends on k-means
        order = np.lexsort((*centers.T[::-1], -counts))
        self.segment_of_ = np.empty(self.k_, dtype=np.int64)
        self.segment_of_[order] = np.arange(self.k_)
        self.cluster_centers_ = centers[order]
        self.labels_ = self.segment_of_[raw_labels]
        self.stability_ = self._stability(sample)
        return self

    def predict(self, features: pd.DataFrame) -> np.ndarray:
        """The segment number (0 = largest at fit) of each row."""
        with self._limits():
            raw = np.asarray(self.model_.predict(self.transform(features)), dtype=np.int64)
        return np.asarray(self.segment_of_[raw], dtype=np.int64)

    def _label(self, feature: str) -> str:
        label = _WORDS[feature][0] if feature in _WORDS else feature.replace("_", " ")
        return f"{label} (median)" if _UNITS.get(feature) == "minor units" else label

    def profile(
        self, features: pd.DataFrame, *, n_traits: int = 4, min_effect: float = 0.2
    ) -> list[SegmentProfile]:
        """Each segment's size, share, name and the traits that most set it apart."""
        labels = self.predict(features)
        scaled = pd.DataFrame(self.transform(features), columns=list(self.features))
        raw = pd.DataFrame(self._raw(features), columns=list(self.features))
        spread = scaled.std(ddof=0).replace(0.0, np.nan)
        effects = (scaled.groupby(labels).mean() - scaled.mean()) / spread
        # money is heavy-tailed: its mean says little about the typical customer, its median does
        money = [f for f in self.features if _UNITS.get(f) == "minor units"]
        means = raw.groupby(labels).mean()
        means[money] = raw[money].groupby(labels).median()
        overall = raw.mean()
        overall[money] = raw[money].median()
        profiles = []
        for segment in range(self.k_):
            size = int((labels == segment).sum())
            if size == 0:
                continue
            row = effects.loc[segment].fillna(0.0)
            top = row.abs().sort_values(ascending=False, kind="stable").index[:n_traits]
            traits = tuple(
                SegmentTrait(f, self._label(f), float(means.loc[segment, f]),
                             float(overall[f]), float(row[f]))
                for f in top if abs(row[f]) >= min_effect
            )  # fmt: skip
            profiles.append(self._profile(segment, size, len(labels), traits))
        return profiles

    @staticmethod
    def _profile(
        segment: int, size: int, total: int, traits: tuple[SegmentTrait, ...]
    ) -> SegmentProfile:
        words = list(dict.fromkeys(trait.word for trait in traits[:3]))
        name = ", ".join(words) if words else "typical"
        return SegmentProfile(segment, name, size, size / total, traits)
