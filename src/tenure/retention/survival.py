"""Time to churn: survival frames, a lifelines survival model, Kaplan-Meier and cohort retention.

Censoring: a customer followed from the snapshot ``as_of`` either churns at ``churned_at``
(``event`` true, ``duration_days`` = days from the snapshot to churn) or is still a customer
when observation stops at ``observation_end`` (``event`` false, ``duration_days`` = days from
the snapshot to ``observation_end``: right-censored). A churn after ``observation_end`` is not
yet known, so it is censored too. Customers who churned before the snapshot are not at risk.

``TimeToChurnModel`` defaults to a Weibull AFT: on the simulated bank its holdout concordance
matches Cox's (``bench/bench_survival.py``), and unlike Cox, whose baseline survival is flat
after the last observed churn, it extrapolates past the observation window, which the
expected months to churn (restricted mean survival time up to ``cap_months``, 60 by default)
needs. Cox and a log-normal AFT remain available through ``family``.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

import numpy as np
import pandas as pd
from lifelines import CoxPHFitter, KaplanMeierFitter, LogNormalAFTFitter, WeibullAFTFitter
from lifelines.exceptions import ConvergenceError
from lifelines.utils import concordance_index
from numpy.typing import NDArray

from tenure.core.errors import ValidationError
from tenure.retention.features import FEATURES

__all__ = [
    "DAYS_PER_MONTH",
    "DEFAULT_CAP_MONTHS",
    "CohortWarehouse",
    "Family",
    "TimeToChurnModel",
    "kaplan_meier_by_group",
    "retention_by_cohort",
    "survival_frame",
]

Family = Literal["weibull_aft", "cox", "lognormal_aft"]
FloatArray = NDArray[np.float64]
DAYS_PER_MONTH = 365.25 / 12
DEFAULT_CAP_MONTHS = 60
_FITTERS: dict[str, Any] = {
    "weibull_aft": WeibullAFTFitter,
    "cox": CoxPHFitter,
    "lognormal_aft": LogNormalAFTFitter,
}
_LOG_UNITS = frozenset({"count", "minor units", "minor units per day", "ms"})
_CATALOGUE_LOG_COLUMNS = frozenset(f.name for f in FEATURES if f.unit in _LOG_UNITS)
_DURATION, _EVENT = "__duration_days__", "__event__"
_RMST_POINTS = 361
_CHUNK = 20_000
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _utc(value: object, field: str) -> pd.Timestamp:
    """A timezone-aware instant as a UTC timestamp; naive or missing values are refused."""
    if not isinstance(value, datetime) or pd.isna(value) or value.tzinfo is None:
        raise ValidationError(f"{field} must be a timezone-aware datetime", field=field)
    return pd.Timestamp(value).tz_convert(UTC)


def _first_churn(churn_events: pd.DataFrame) -> pd.Series:
    """Earliest known churn time per customer (UTC); customers without one are left out."""
    for column in ("customer_id", "churned_at"):
        if column not in churn_events.columns:
            raise ValidationError(f"churn_events have no {column} column", field=column)
    stamps = pd.to_datetime(churn_events["churned_at"], utc=True)
    known = pd.DataFrame({"customer_id": churn_events["customer_id"].astype(str), "at": stamps})
    return known.dropna(subset=["at"]).groupby("customer_id")["at"].min()


def survival_frame(
    features: pd.DataFrame,
    churn_events: pd.DataFrame,
    *,
    as_of: datetime,
    observation_end: datetime,
) -> pd.DataFrame:
    """The features with ``duration_days`` and ``event`` added, censored at ``observation_end``."""
    start, end = _utc(as_of, "as_of"), _utc(observation_end, "observation_end")
    if end <= start:
        raise ValidationError("observation_end must be after as_of", field="observation_end")
    if "customer_id" not in features.columns:
        raise ValidationError("features have no customer_id column", field="customer_id")
    if "snapshot_at" in features.columns:
        snapshots = pd.to_datetime(features["snapshot_at"], utc=True)
        if (snapshots != start).any():
            raise ValidationError("features hold snapshots other than as_of", field="snapshot_at")
    churned_at = features["customer_id"].astype(str).map(_first_churn(churn_events))
    at_risk = (churned_at.isna() | (churned_at >= start)).to_numpy()
    frame = features.loc[at_risk].reset_index(drop=True)
    churned_at = churned_at[at_risk].reset_index(drop=True)
    event = (churned_at.notna() & (churned_at <= end)).to_numpy(dtype=bool)
    until = churned_at.where(event, end)
    frame["duration_days"] = ((until - start) / pd.Timedelta(days=1)).to_numpy(dtype=np.float64)
    frame["event"] = event
    return frame


def _signed_log(values: FloatArray) -> FloatArray:
    return np.sign(values) * np.log1p(np.abs(values))


def _penalizer_ladder(start: float, ceiling: float) -> list[float]:
    """The penalizers tried in turn: ``start``, then ten times more up to ``ceiling``."""
    ladder, value = [start], max(start * 10.0, 0.01)
    while value <= ceiling * (1 + 1e-9):
        ladder.append(value)
        value *= 10.0
    return ladder


def _as_frame(X: Any) -> pd.DataFrame:  # noqa: N803
    if not isinstance(X, pd.DataFrame):
        raise ValidationError("X must be a pandas DataFrame", field="X")
    return X


class TimeToChurnModel:
    """A lifelines survival model of time to churn with its own fitted preprocessing.

    ``fit`` learns the numeric columns that vary, their medians (for missing values), which get
    a signed ``log1p`` (counts, money, milliseconds of the feature catalogue, or ``log_columns``),
    and their means and scales; standardised values are clipped to ``+-clip``. When lifelines
    fails to converge the fit is retried with ten times the penalizer, up to ``max_penalizer``;
    ``penalizer_`` is the one that worked.
    """

    def __init__(
        self,
        *,
        family: Family = "weibull_aft",
        penalizer: float = 0.01,
        max_penalizer: float = 10.0,
        log_columns: Sequence[str] | None = None,
        clip: float = 6.0,
        min_duration_days: float = 0.5,
    ) -> None:
        self.family = family
        self.penalizer = penalizer
        self.max_penalizer = max_penalizer
        self.log_columns = log_columns
        self.clip = clip
        self.min_duration_days = min_duration_days

    def fit(self, X: Any, duration_days: Any, event: Any) -> TimeToChurnModel:  # noqa: N803
        """Learn the preprocessing and the survival model from these rows; returns self."""
        if self.family not in _FITTERS:
            raise ValidationError(f"family must be one of {sorted(_FITTERS)}", field="family")
        frame = _as_frame(X)
        durations, events = self._targets(frame, duration_days, event)
        self._learn_columns(frame)
        data = self._design(frame)
        data[_DURATION], data[_EVENT] = durations, events
        self.model_, self.penalizer_ = self._fit_with_retries(data)
        return self

    def _targets(self, frame: pd.DataFrame, duration: Any, event: Any) -> tuple[Any, Any]:
        durations = np.asarray(duration, dtype=np.float64)
        events = np.asarray(event).astype(bool)
        if durations.shape != (len(frame),) or events.shape != (len(frame),):
            raise ValidationError("duration and event need one value per row", field="duration")
        if not np.isfinite(durations).all() or (durations < 0).any():
            raise ValidationError("durations must be finite and non-negative", field="duration")
        if not events.any():
            raise ValidationError("no churn event to learn from", field="event")
        # AFT likelihoods need positive times: a churn on the snapshot's day counts as half a day.
        return np.maximum(durations, self.min_duration_days), events

    def _learn_columns(self, frame: pd.DataFrame) -> None:
        if {"duration_days", "event"} & set(frame.columns):
            raise ValidationError("X holds the targets duration_days / event", field="X")
        numeric = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])]
        values = frame[numeric].astype(np.float64)
        self.medians_ = values.median().fillna(0.0)
        varying = [c for c in numeric if values[c].nunique(dropna=True) > 1]
        if not varying:
            raise ValidationError("no numeric column varies", field="X")
        chosen = _CATALOGUE_LOG_COLUMNS if self.log_columns is None else set(self.log_columns)
        self.columns_ = tuple(str(c) for c in varying)
        self.log_columns_ = tuple(c for c in self.columns_ if c in chosen)
        self.medians_ = self.medians_[list(self.columns_)]
        transformed = self._transformed(frame)
        self.means_ = transformed.mean()
        self.scales_ = transformed.std(ddof=0).replace(0.0, 1.0)

    def _transformed(self, frame: pd.DataFrame) -> pd.DataFrame:
        missing = [c for c in self.columns_ if c not in frame.columns]
        if missing:
            raise ValidationError(f"missing feature column(s): {', '.join(missing)}", field="X")
        values = frame[list(self.columns_)].astype(np.float64).fillna(self.medians_)
        for column in self.log_columns_:
            values[column] = _signed_log(values[column].to_numpy())
        return values

    def _design(self, frame: pd.DataFrame) -> pd.DataFrame:
        scaled = (self._transformed(frame) - self.means_) / self.scales_
        return scaled.clip(-self.clip, self.clip).reset_index(drop=True)

    def _fit_with_retries(self, data: pd.DataFrame) -> tuple[Any, float]:
        failures: list[str] = []
        for penalizer in _penalizer_ladder(self.penalizer, self.max_penalizer):
            fitter = _FITTERS[self.family](penalizer=penalizer)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    fitter.fit(data, duration_col=_DURATION, event_col=_EVENT)
                except (ConvergenceError, np.linalg.LinAlgError, ValueError) as exc:
                    failures.append(f"penalizer {penalizer:g}: {type(exc).__name__}")
                    continue
            if not caught:
                return fitter, penalizer
            failures.append(f"penalizer {penalizer:g}: {caught[0].category.__name__}")
        raise ValidationError(
            f"the {self.family} model could not be fitted cleanly ({'; '.join(failures)}); "
            "raise max_penalizer or remove collinear columns",
            field="X",
        )

    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            raise ValidationError("the model is not fitted; call fit first", field="model")

    def _quiet(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """Call a lifelines prediction method; a warning there is a failure, not noise."""
        with warnings.catch_warnings(), np.errstate(over="ignore", under="ignore"):
            warnings.simplefilter("error")
            try:
                return getattr(self.model_, method)(*args, **kwargs)
            except Warning as exc:
                message = f"{self.family} {method} warned: {type(exc).__name__}"
                raise ValidationError(message, field="X") from exc

    def survival_at(self, X: Any, days: Sequence[float] | FloatArray) -> FloatArray:  # noqa: N803
        """S(d) for each row (rows) and each day count in ``days`` (columns)."""
        self._check_fitted()
        times = [float(d) for d in days]
        if not times or any(not math.isfinite(d) or d < 0 for d in times):
            raise ValidationError("days must be finite and non-negative", field="days")
        design = self._design(_as_frame(X))
        curves = self._quiet("predict_survival_function", design, times=times)
        result: FloatArray = np.clip(curves.to_numpy(dtype=np.float64).T, 0.0, 1.0)
        return result

    def predict_survival(
        self,
        X: Any,  # noqa: N803
        days: Sequence[int] = (30, 90, 180),
    ) -> pd.DataFrame:
        """P(churn within d days) = 1 - S(d), one column ``p_churn_<d>d`` per horizon."""
        frame = _as_frame(X)
        churn = 1.0 - self.survival_at(frame, days)
        return pd.DataFrame(churn, index=frame.index, columns=[f"p_churn_{d}d" for d in days])

    def expected_months_to_churn(
        self,
        X: Any,  # noqa: N803
        cap_months: float = DEFAULT_CAP_MONTHS,
    ) -> pd.Series:
        """Restricted mean survival time up to ``cap_months`` (60 by default), in months."""
        if not math.isfinite(cap_months) or cap_months <= 0:
            raise ValidationError("cap_months must be positive and finite", field="cap_months")
        frame = _as_frame(X)
        grid = np.linspace(0.0, cap_months * DAYS_PER_MONTH, _RMST_POINTS)
        # in chunks, so that the curves of a million customers never sit in memory at once
        days = [
            np.trapezoid(self.survival_at(frame.iloc[start : start + _CHUNK], grid), grid, axis=1)
            for start in range(0, len(frame), _CHUNK)
        ]
        months = np.concatenate(days) / DAYS_PER_MONTH if days else np.empty(0)
        return pd.Series(months, index=frame.index, name="expected_months", dtype=np.float64)

    def risk_score(self, X: Any) -> FloatArray:  # noqa: N803
        """A score that is higher for customers expected to churn sooner."""
        self._check_fitted()
        design = self._design(_as_frame(X))
        if self.family == "cox":
            scores = self._quiet("predict_log_partial_hazard", design)
            return np.asarray(scores, dtype=np.float64)
        medians = np.asarray(self._quiet("predict_median", design), dtype=np.float64)
        result: FloatArray = -np.log(np.maximum(medians, 1e-12))
        return result

    def concordance(self, X: Any, duration: Any, event: Any) -> float:  # noqa: N803
        """Harrell's concordance index of the risk ranking on these rows (0.5 = random)."""
        scores = self.risk_score(X)
        durations = np.asarray(duration, dtype=np.float64)
        events = np.asarray(event).astype(bool)
        if durations.shape != scores.shape or events.shape != scores.shape:
            raise ValidationError("duration and event need one value per row", field="duration")
        return float(concordance_index(durations, -scores, events))


def kaplan_meier_by_group(durations: Any, events: Any, groups: Any) -> pd.DataFrame:
    """Kaplan-Meier survival of each group: timeline, group, survival, at_risk, ci_lower/upper."""
    frame = pd.DataFrame(
        {
            "duration": np.asarray(durations, dtype=np.float64),
            "event": np.asarray(events).astype(bool),
            "group": np.asarray(groups),
        }
    )
    if frame["duration"].isna().any() or (frame["duration"] < 0).any():
        raise ValidationError("durations must be non-negative numbers", field="durations")
    parts = [_kaplan_meier(rows, name) for name, rows in frame.groupby("group", sort=True)]
    if not parts:
        raise ValidationError("no rows to estimate survival from", field="durations")
    return pd.concat(parts, ignore_index=True)


def _kaplan_meier(rows: pd.DataFrame, name: object) -> pd.DataFrame:
    fitter = KaplanMeierFitter()
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        warnings.simplefilter("error")
        fitter.fit(rows["duration"], event_observed=rows["event"])
    bounds = fitter.confidence_interval_survival_function_
    return pd.DataFrame(
        {
            "timeline": fitter.survival_function_.index.to_numpy(dtype=np.float64),
            "group": [name] * len(bounds),
            "survival": fitter.survival_function_.iloc[:, 0].to_numpy(dtype=np.float64),
            "at_risk": fitter.event_table["at_risk"].to_numpy(dtype=np.int64),
            "ci_lower": bounds.iloc[:, 0].fillna(0.0).to_numpy(dtype=np.float64),
            "ci_upper": bounds.iloc[:, 1].fillna(1.0).to_numpy(dtype=np.float64),
        }
    )


class CohortWarehouse(Protocol):
    """The one warehouse call cohort retention needs (``DuckDBWarehouse`` has it)."""

    def fetch_all(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]: ...


_COHORT_SQL = """
WITH base AS (
    SELECT c.customer_id, {group_expr} AS grp,
           c.opened_at AT TIME ZONE 'UTC' AS opened, c.closed_at AT TIME ZONE 'UTC' AS closed
    FROM customers AS c {group_join}
    WHERE c.opened_at < ?
), marks AS (
    SELECT CAST(date_trunc('{unit}', b.opened) AS DATE) AS cohort, b.grp, k.months,
           b.opened + to_months(CAST(k.months AS INTEGER)) AS mark, b.closed
    FROM base AS b CROSS JOIN range(0, ?) AS k(months)
)
SELECT cohort, grp, CAST(months AS BIGINT) AS months, count(*) AS observed,
       count(*) FILTER (WHERE closed IS NULL OR closed > mark) AS retained
FROM marks WHERE mark <= CAST(? AS TIMESTAMP)
GROUP BY cohort, grp, months ORDER BY cohort, grp, months
"""


def retention_by_cohort(
    *,
    warehouse: CohortWarehouse,
    as_of: datetime,
    cohort: Literal["month", "quarter"] = "month",
    group_table: str | None = None,
    group_column: str = "group",
) -> pd.DataFrame:
    """Share of each opening cohort still a customer ``months`` after opening, as seen at as_of.

    A customer counts towards month ``k`` once ``opened_at + k months <= as_of`` (``observed``)
    and is ``retained`` unless closed by then. With ``group_table`` (a warehouse table with
    ``customer_id`` and ``group_column``, e.g. tiers or segments) each cohort is split by group.
    """
    if cohort not in ("month", "quarter"):
        raise ValidationError("cohort must be 'month' or 'quarter'", field="cohort")
    end = _utc(as_of, "as_of").tz_localize(None).to_pydatetime()
    group_expr, group_join = "CAST(NULL AS VARCHAR)", ""
    if group_table is not None:
        for name, field in ((group_table, "group_table"), (group_column, "group_column")):
            if not _IDENTIFIER.match(name):
                raise ValidationError(f"{field} must be a plain identifier", field=field)
        group_expr = f'CAST(g."{group_column}" AS VARCHAR)'
        group_join = f'LEFT JOIN "{group_table}" AS g ON g.customer_id = c.customer_id'
    sql = _COHORT_SQL.format(unit=cohort, group_expr=group_expr, group_join=group_join)
    rows = warehouse.fetch_all(sql, (as_of, _months_span(warehouse, end) + 1, end))
    frame = pd.DataFrame(rows, columns=["cohort", "group", "months", "observed", "retained"])
    frame["share"] = frame["retained"] / frame["observed"]
    frame["cohort"] = pd.to_datetime(frame["cohort"]).dt.date
    return frame if group_table is not None else frame.drop(columns="group")


def _months_span(warehouse: CohortWarehouse, end: datetime) -> int:
    """Whole months between the earliest opening and ``end`` (0 without customers)."""
    ((first,),) = warehouse.fetch_all("SELECT min(opened_at AT TIME ZONE 'UTC') FROM customers")
    if first is None:
        return 0
    return max(0, (end.year - int(first.year)) * 12 + end.month - int(first.month))
