"""Per-customer monthly inflow and spend, and a next-month forecast by exponential smoothing.

``monthly_flows`` sums posted money per customer and calendar month in the warehouse, in SQL kept
portable (``EXTRACT``, ``CASE``, an inline ``VALUES`` calendar; no DuckDB-only functions), so that
Spark can run the same text. Months are calendar months of the session time zone, which
``DuckDBWarehouse`` sets to UTC (on Spark set ``spark.sql.session.timeZone=UTC``).

- *Inflow* is money arriving from outside the customer's own accounts: credits of
  ``INFLOW_KINDS``. Credit legs of moves between the customer's own accounts (deposit maturity,
  loan disbursement and repayment, investment) are left out: they would count money twice.
- *Spend* is customer-initiated debits of ``SPEND_KINDS``.
- The month holding ``as_of`` is partial and is **excluded**: the frame holds the ``months``
  complete months before it, so only transactions before ``as_of`` (indeed before the first
  instant of its month) are read, and every row is a whole month.
- Each customer's rows run from their first month with counted money in the window to the last
  complete month, zero-filled where nothing moved.

``FlowForecaster`` is Holt's damped-trend exponential smoothing run over all customers at once with
numpy (one vector step per month). Its parameters are picked from a small grid by the pooled
one-step-ahead absolute error over the history, once for all customers (``"global"``, the default)
or per customer (``"per_customer"``: no better out of sample in ``bench/bench_forecast.py``, a dozen
months being too few to pick three parameters each). It forecasts a *typical* month: a rise of more
than ``clip`` running scales above the forecast (a bonus, a one-off transfer, a balance moved out)
updates the state only as far as that bound, so one lump does not inflate the following months;
falls pass unclipped, since a stopped salary is news. On simulated data this halves the spend error.
Customers with fewer than ``min_months`` months get the mean of their months; those with fewer than
2 get no forecast and a ``reason``. The interval is the forecast plus or minus ``z`` times the
customer's mean absolute one-step error, ``z`` being the pooled quantile of that ratio which
reaches ``coverage``; the lower bound is floored at 0.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

import numpy as np
import pandas as pd

from tenure.core.errors import ValidationError
from tenure.retention.margin import to_minor_units

__all__ = [
    "FLOW_COLUMNS",
    "INFLOW_KINDS",
    "SPEND_KINDS",
    "FlowForecaster",
    "Queryable",
    "month_index",
    "month_start",
    "monthly_flows",
    "monthly_flows_sql",
    "utc_instant",
]

INFLOW_KINDS = ("salary", "transfer_in", "cash_deposit", "interest", "refund")
SPEND_KINDS = ("card_purchase", "cash_withdrawal", "bill_payment", "transfer_out", "investment")
FLOW_COLUMNS = ("customer_id", "month", "inflow_minor", "spend_minor")
TARGETS = ("inflow", "spend")
Selection = Literal["global", "per_customer"]
Params = tuple[np.ndarray | float, np.ndarray | float, np.ndarray | float]

# running scale of the clipped smoother: its start as a share of the first month, its update rate,
# and E|e| / sigma for normal errors (so that the scale estimates a standard deviation)
_SCALE_START, _SCALE_RATE, _MEAN_ABS_NORMAL = 0.5, 0.3, 0.8
_WORD = re.compile(r"^[a-z_]+$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
MONTH_SQL = (
    "(CAST(EXTRACT(YEAR FROM occurred_at) AS BIGINT) * 12"
    " + CAST(EXTRACT(MONTH FROM occurred_at) AS BIGINT) - 1)"
)


class Queryable(Protocol):
    """The warehouse calls this module needs (``DuckDBWarehouse`` has them)."""

    def fetch_all(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]: ...

    def fetch_frame(self, sql: str, params: Sequence[object] = ()) -> pd.DataFrame: ...


def utc_instant(value: datetime | pd.Timestamp, field: str = "as_of") -> datetime:
    """A timezone-aware instant converted to UTC; naive or missing values are refused."""
    if not isinstance(value, datetime) or pd.isna(value):
        raise ValidationError(f"{field} must be a datetime", field=field)
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError(f"{field} must be timezone-aware", field=field)
    return value.astimezone(UTC)


def month_index(moment: datetime) -> int:
    """Months since year 0 of a datetime's calendar month (year * 12 + month - 1)."""
    return moment.year * 12 + moment.month - 1


def month_start(index: int) -> datetime:
    """The first instant (UTC) of the month with this index."""
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


def sql_timestamp(moment: datetime) -> str:
    """A portable ``TIMESTAMP`` literal of a UTC instant (read in the session time zone, UTC)."""
    return f"TIMESTAMP '{moment.astimezone(UTC).strftime('%Y-%m-%d %H:%M:%S.%f')}'"


def sql_currency(currency: str) -> str:
    """A currency code checked and quoted for SQL."""
    if not _CURRENCY.match(currency):
        raise ValidationError("currency must be an ISO 4217 code", field="currency")
    return f"'{currency}'"


def _kind_list(kinds: Sequence[str], field: str) -> str:
    if not kinds or not all(_WORD.match(kind) for kind in kinds):
        raise ValidationError(f"{field} must be transaction kind names", field=field)
    return ", ".join(f"'{kind}'" for kind in kinds)


def monthly_flows_sql(
    as_of: datetime,
    *,
    months: int = 12,
    currency: str = "CNY",
    inflow_kinds: Sequence[str] = INFLOW_KINDS,
    spend_kinds: Sequence[str] = SPEND_KINDS,
) -> str:
    """Portable SQL of posted inflow and spend per customer and complete month before ``as_of``."""
    if months < 1:
        raise ValidationError("months must be at least 1", field="months")
    last = month_index(utc_instant(as_of)) - 1
    calendar = ", ".join(f"({index})" for index in range(last - months + 1, last + 1))
    inflow = _kind_list(inflow_kinds, "inflow_kinds")
    spend = _kind_list(spend_kinds, "spend_kinds")
    return f"""
WITH counted AS (
  SELECT customer_id, {MONTH_SQL} AS month_index,
    CASE WHEN direction = 'credit' AND kind IN ({inflow}) THEN amount_minor ELSE 0 END AS inflow,
    CASE WHEN direction = 'debit' AND kind IN ({spend}) THEN amount_minor ELSE 0 END AS spend
  FROM transactions
  WHERE status = 'posted' AND currency = {sql_currency(currency)}
    AND occurred_at >= {sql_timestamp(month_start(last - months + 1))}
    AND occurred_at < {sql_timestamp(month_start(last + 1))}
    AND kind IN ({inflow}, {spend})
), monthly AS (
  SELECT customer_id, month_index, SUM(inflow) AS inflow_minor, SUM(spend) AS spend_minor
  FROM counted GROUP BY customer_id, month_index
), first_months AS (
  SELECT customer_id, MIN(month_index) AS first_month FROM monthly GROUP BY customer_id
)
SELECT f.customer_id, c.month_index,
  COALESCE(m.inflow_minor, 0) AS inflow_minor, COALESCE(m.spend_minor, 0) AS spend_minor
FROM first_months f
JOIN (VALUES {calendar}) AS c(month_index) ON c.month_index >= f.first_month
LEFT JOIN monthly m ON m.customer_id = f.customer_id AND m.month_index = c.month_index
ORDER BY f.customer_id, c.month_index
"""


def monthly_flows(
    *, warehouse: Queryable, as_of: datetime, months: int = 12, currency: str = "CNY"
) -> pd.DataFrame:
    """Posted inflow and spend (minor units) per customer x complete UTC month before ``as_of``."""
    raw = warehouse.fetch_frame(monthly_flows_sql(as_of, months=months, currency=currency))
    indexes = raw["month_index"].astype(np.int64)
    starts = pd.to_datetime(
        {"year": indexes // 12, "month": indexes % 12 + 1, "day": np.ones(len(raw), dtype=int)}
    )
    return pd.DataFrame(
        {
            "customer_id": raw["customer_id"].astype(object),
            "month": starts.dt.tz_localize("UTC"),
            "inflow_minor": raw["inflow_minor"].astype(np.int64),
            "spend_minor": raw["spend_minor"].astype(np.int64),
        }
    )


@dataclass(frozen=True, slots=True)
class _Panel:
    """Flows as dense customers x months arrays, NaN before each customer's first month."""

    customers: np.ndarray
    last_month: int
    history: np.ndarray
    values: dict[str, np.ndarray]


def _panel(flows: pd.DataFrame) -> _Panel:
    """Check a flows frame and lay it out densely; gaps after a customer's first month are 0."""
    for column in FLOW_COLUMNS:
        if column not in flows.columns:
            raise ValidationError(f"flows have no {column} column", field=column)
        if flows[column].isna().any():
            raise ValidationError(f"flows.{column} has missing values", field=column)
    if flows.empty:
        raise ValidationError("flows are empty", field="flows")
    stamps = pd.DatetimeIndex(flows["month"])
    months = (stamps.year * 12 + stamps.month - 1).to_numpy(dtype=np.int64)
    codes, customers = pd.factorize(flows["customer_id"], sort=True)
    first, last = int(months.min()), int(months.max())
    column = months - first
    started = np.full(len(customers), last - first + 1, dtype=np.int64)
    np.minimum.at(started, codes, column)
    alive = np.arange(last - first + 1)[None, :] >= started[:, None]
    values = {}
    for target in TARGETS:
        dense = np.where(alive, 0.0, np.nan)
        dense[codes, column] = flows[f"{target}_minor"].to_numpy(dtype=float)
        values[target] = dense
    history = alive.sum(axis=1)
    return _Panel(np.asarray(customers, dtype=object), last, history, values)


def _smooth(
    y: np.ndarray,
    alpha: np.ndarray | float,
    beta: np.ndarray | float,
    phi: np.ndarray | float,
    clip: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Holt's damped trend over each row at once: the next-step forecast and one-step errors.

    With ``clip``, a rise of more than ``clip`` running scales above the forecast updates the
    state as if it were that large; falls are never clipped.
    """
    customers, steps = y.shape
    level, scale = np.full(customers, np.nan), np.full(customers, np.nan)
    trend = np.zeros(customers)
    errors = np.full((customers, steps), np.nan)
    for step in range(steps):
        observed = y[:, step]
        forecast = level + phi * trend
        error = observed - forecast
        errors[:, step] = error
        seen = ~np.isnan(level)
        if clip is not None:
            error = np.minimum(error, clip * scale)
            scale = (1 - _SCALE_RATE) * scale + _SCALE_RATE * np.abs(error) / _MEAN_ABS_NORMAL
            scale = np.where(seen, scale, _SCALE_START * np.abs(observed))
        updated = np.where(seen, forecast + alpha * error, observed)
        trend = np.where(seen, phi * trend + alpha * beta * error, 0.0)
        trend = np.where(np.isnan(observed), 0.0, trend)
        scale = np.where(np.isnan(observed), np.nan, scale)
        level = np.where(np.isnan(observed), level, updated)
    return np.maximum(level + phi * trend, 0.0), errors


def _grid(alphas: Sequence[float], betas: Sequence[float], phis: Sequence[float]) -> np.ndarray:
    """Distinct (alpha, beta, phi) triples; without trend the damping does not matter."""
    triples = {(a, b, p if b > 0 else 1.0) for a, b, p in itertools.product(alphas, betas, phis)}
    return np.array(sorted(triples), dtype=float)


def _abs_error_by_customer(y: np.ndarray, grid: np.ndarray, clip: float | None) -> np.ndarray:
    """Sum of absolute one-step errors per customer (rows) and parameter triple (columns)."""
    totals = np.empty((y.shape[0], len(grid)))
    for g, (alpha, beta, phi) in enumerate(grid):
        _, errors = _smooth(y, alpha, beta, phi, clip)
        totals[:, g] = np.nansum(np.abs(errors), axis=1)
    return totals


def _validate_grid(name: str, values: Sequence[float], low: float, high: float) -> None:
    if not values or not all(low <= v <= high for v in values):
        raise ValidationError(f"{name} must be values in [{low}, {high}]", field=name)


class FlowForecaster:
    """Next-month expected inflow and spend per customer, with an interval, from monthly flows.

    >>> flows = pd.DataFrame({"customer_id": ["c"] * 4,
    ...     "month": pd.date_range("2025-01-01", periods=4, freq="MS", tz="UTC"),
    ...     "inflow_minor": [500] * 4, "spend_minor": [100, 200, 300, 400]})
    >>> row = FlowForecaster().fit(flows).predict(flows).iloc[0]
    >>> int(row["inflow_expected_minor"]), row["method"]
    (500, 'holt_damped')
    """

    def __init__(
        self,
        *,
        alphas: Sequence[float] = (0.1, 0.2, 0.3, 0.5, 0.7, 0.9, 1.0),
        betas: Sequence[float] = (0.0, 0.1, 0.3),
        phis: Sequence[float] = (0.8, 0.9, 0.98),
        selection: Selection = "global",
        clip: float | None = 2.0,
        min_months: int = 3,
        coverage: float = 0.8,
    ) -> None:
        self.alphas = alphas
        self.betas = betas
        self.phis = phis
        self.selection = selection
        self.clip = clip
        self.min_months = min_months
        self.coverage = coverage

    def _check(self) -> None:
        _validate_grid("alphas", self.alphas, 0.01, 1.0)
        _validate_grid("betas", self.betas, 0.0, 1.0)
        _validate_grid("phis", self.phis, 0.5, 1.0)
        if self.selection not in ("global", "per_customer"):
            raise ValidationError("selection must be global or per_customer", field="selection")
        if self.clip is not None and self.clip <= 0:
            raise ValidationError("clip must be positive or None", field="clip")
        if self.min_months < 2:
            raise ValidationError("min_months must be at least 2", field="min_months")
        if not 0.0 < self.coverage < 1.0:
            raise ValidationError("coverage must be between 0 and 1", field="coverage")

    def fit(self, flows: pd.DataFrame) -> FlowForecaster:
        """Pick smoothing parameters and interval width per target from one-step-ahead errors."""
        self._check()
        panel = _panel(flows)
        grid = _grid(self.alphas, self.betas, self.phis)
        smoothed = panel.history >= self.min_months
        self.params_: dict[str, tuple[float, float, float]] = {}
        self.customer_params_: dict[str, pd.DataFrame] = {}
        self.multiplier_: dict[str, float] = {}
        self.relative_scale_: dict[str, float] = {}
        self.one_step_mae_: dict[str, float] = {}
        for target in TARGETS:
            y = panel.values[target][smoothed]
            totals = _abs_error_by_customer(y, grid, self.clip)
            best = int(np.argmin(totals.sum(axis=0))) if len(y) else 0
            alpha, beta, phi = (float(value) for value in grid[best])
            self.params_[target] = (alpha, beta, phi)
            params = self._learn_customers(target, panel.customers[smoothed], grid, totals)
            _, errors = _smooth(y, *params, clip=self.clip)
            self._learn_scale(target, y, errors)
        self.n_customers_ = len(panel.customers)
        return self

    def _learn_customers(
        self, target: str, customers: np.ndarray, grid: np.ndarray, totals: np.ndarray
    ) -> Params:
        """Per-customer parameters when asked for; returns the parameters to smooth with."""
        if self.selection == "global" or not len(customers):
            return self.params_[target]
        chosen = grid[np.argmin(totals, axis=1)]
        self.customer_params_[target] = pd.DataFrame(
            chosen, index=pd.Index(customers, name="customer_id"), columns=["alpha", "beta", "phi"]
        )
        return chosen[:, 0], chosen[:, 1], chosen[:, 2]

    def _learn_scale(self, target: str, y: np.ndarray, errors: np.ndarray) -> None:
        """Interval multiplier and the error-to-level ratio used for short histories."""
        absolute = np.abs(errors)
        counts = (~np.isnan(absolute)).sum(axis=1)
        scale = np.nansum(absolute, axis=1) / np.maximum(counts, 1)
        ratio = absolute[scale > 0] / scale[scale > 0, None]
        ratio = ratio[~np.isnan(ratio)]
        self.multiplier_[target] = float(np.quantile(ratio, self.coverage)) if len(ratio) else 0.0
        level = np.nansum(np.abs(y), axis=1) / np.maximum((~np.isnan(y)).sum(axis=1), 1)
        relative = scale[level > 0] / level[level > 0]
        self.relative_scale_[target] = float(np.median(relative)) if len(relative) else 0.0
        total = counts.sum()
        self.one_step_mae_[target] = float(np.nansum(absolute) / total) if total else 0.0

    def _params_for(self, target: str, customers: np.ndarray) -> Params:
        known = self.customer_params_.get(target)
        if known is None:
            return self.params_[target]
        table = known.reindex(pd.Index(customers, name="customer_id"))
        table = table.fillna(dict(zip(table.columns, self.params_[target], strict=True)))
        chosen = table.to_numpy(dtype=float)
        return chosen[:, 0], chosen[:, 1], chosen[:, 2]

    def predict(self, flows: pd.DataFrame) -> pd.DataFrame:
        """Forecasts for the month after the last month of ``flows``, one row per customer."""
        if not hasattr(self, "params_"):
            raise ValidationError("the forecaster is not fitted; call fit first", field="fit")
        panel = _panel(flows)
        history = panel.history
        method = np.where(
            history >= self.min_months, "holt_damped", np.where(history >= 2, "mean", "none")
        )
        frame = pd.DataFrame(
            {
                "customer_id": panel.customers,
                "month": month_start(panel.last_month + 1),
                "method": method,
                "history_months": history.astype(np.int64),
            }
        )
        for target in TARGETS:
            expected, spread = self._target_forecast(target, panel, method)
            low, high = np.maximum(expected - spread, 0.0), expected + spread
            for suffix, values in (("expected", expected), ("lower", low), ("upper", high)):
                rounded = to_minor_units(pd.Series(np.nan_to_num(values)))
                frame[f"{target}_{suffix}_minor"] = pd.array(rounded, dtype="Int64")
                frame.loc[np.isnan(values), f"{target}_{suffix}_minor"] = pd.NA
        reason = "fewer than 2 months of history"
        frame["reason"] = [reason if m == "none" else None for m in method]
        return frame

    def _target_forecast(
        self, target: str, panel: _Panel, method: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Expected value and interval half-width per customer for one target."""
        y = panel.values[target]
        expected = np.full(len(y), np.nan)
        spread = np.full(len(y), np.nan)
        smoothed = method == "holt_damped"
        params = self._params_for(target, panel.customers[smoothed])
        forecast, errors = _smooth(y[smoothed], *params, clip=self.clip)
        counts = np.maximum((~np.isnan(errors)).sum(axis=1), 1)
        expected[smoothed] = forecast
        spread[smoothed] = np.nansum(np.abs(errors), axis=1) / counts
        averaged = method == "mean"
        rows = y[averaged]
        mean = np.nansum(rows, axis=1) / np.maximum((~np.isnan(rows)).sum(axis=1), 1)
        expected[averaged] = mean
        spread[averaged] = self.relative_scale_[target] * np.abs(mean)
        return expected, spread * self.multiplier_[target]
