"""Transaction-style customer lifetime value: BG/NBD for how often, Gamma-Gamma for how much.

``rfm_summary`` turns transactions into the per-customer summary the models read, in the lifetimes
convention: ``frequency`` is the number of repeat periods with a purchase, ``recency`` the age of
the customer at the last purchase, ``T`` the age at the end of observation (both in periods since
the first purchase), ``monetary_value`` the mean value of the repeat periods (0 without repeats).
``TransactionValueModel`` fits ``lifetimes.BetaGeoFitter`` (Fader, Hardie & Lee 2005) on the summary
and ``lifetimes.GammaGammaFitter`` on the repeat customers, and turns both into a discounted value
over a horizon of months.
"""

from __future__ import annotations

import warnings
from typing import Any, Literal

import numpy as np
import pandas as pd

from tenure.core.errors import ValidationError
from tenure.retention.margin import to_minor_units

with warnings.catch_warnings():
    # lifetimes.fitters runs warnings.simplefilter("ignore", FutureWarning) at import; importing it
    # here keeps that process-wide change from hiding every FutureWarning in the host application.
    from lifetimes import BetaGeoFitter, GammaGammaFitter
    from lifetimes.utils import ConvergenceError

__all__ = ["Period", "TransactionValueModel", "rfm_summary"]

Period = Literal["D", "W"]

_DAYS_PER_MONTH = 365.25 / 12
_PERIOD_DAYS: dict[str, int] = {"D": 1, "W": 7}
_SUMMARY_COLUMNS = ("frequency", "recency", "T")


def _period_start(stamps: pd.Series, period: str) -> pd.Series:
    """Floor timestamps to the start of their day, or of their week (weeks start on Monday)."""
    days = stamps.dt.floor("D")
    if period == "W":
        return days - pd.to_timedelta(days.dt.dayofweek, unit="D")
    return days


def _check_period(period: str) -> None:
    if period not in _PERIOD_DAYS:
        raise ValidationError(f"period must be 'D' or 'W', not {period!r}", field="period")


def _aligned_end(stamps: pd.Series, observation_end: object) -> pd.Timestamp:
    """``observation_end`` as a timestamp comparable with the column (naive means UTC if needed)."""
    try:
        end = pd.Timestamp(observation_end)
    except (TypeError, ValueError) as exc:
        raise ValidationError("observation_end is not a time", field="observation_end") from exc
    if pd.isna(end):
        raise ValidationError("observation_end is not a time", field="observation_end")
    column_tz = getattr(stamps.dt, "tz", None)
    if column_tz is not None and end.tzinfo is None:
        return end.tz_localize("UTC").tz_convert(column_tz)
    if column_tz is None and end.tzinfo is not None:
        return end.tz_convert("UTC").tz_localize(None)
    return end


def _purchase_periods(
    transactions: pd.DataFrame, customer_col: str, time_col: str, value_col: str | None
) -> pd.DataFrame:
    """The columns the summary needs, checked, with times parsed and values as floats."""
    needed = [customer_col, time_col, *([value_col] if value_col else [])]
    for column in needed:
        if column not in transactions.columns:
            raise ValidationError(f"transactions have no {column} column", field=column)
        if transactions[column].isna().any():
            raise ValidationError(f"{column} has missing values", field=column)
    frame = pd.DataFrame({"customer": transactions[customer_col]})
    try:
        frame["at"] = pd.to_datetime(transactions[time_col], format="ISO8601")
    except (TypeError, ValueError) as exc:
        raise ValidationError(
            f"{time_col} holds values that are not times", field=time_col
        ) from exc
    if value_col is None:
        frame["value"] = 0.0
        return frame
    try:
        frame["value"] = pd.to_numeric(transactions[value_col]).astype(float)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"{value_col} holds non-numeric values", field=value_col) from exc
    return frame


def rfm_summary(
    transactions: pd.DataFrame,
    *,
    observation_end: object,
    customer_col: str = "customer_id",
    time_col: str = "occurred_at",
    value_col: str | None = "amount_minor",
    period: Period = "D",
) -> pd.DataFrame:
    """Frequency, recency, T and monetary value per customer, in the lifetimes convention.

    Purchases in the same period count once, with their values summed; the period holding
    ``observation_end`` is included, later ones are not. The caller chooses which rows are
    purchases. ``value_col=None`` leaves out ``monetary_value``.

    >>> tx = pd.DataFrame({"customer_id": ["a", "a", "a", "b"],
    ...                    "occurred_at": pd.to_datetime(["2024-01-01", "2024-01-03",
    ...                                                   "2024-01-08", "2024-01-05"]),
    ...                    "amount_minor": [500, 1_000, 3_000, 700]})
    >>> rfm_summary(tx, observation_end="2024-01-10").to_dict("index")["a"]
    {'frequency': 2, 'recency': 7.0, 'T': 9.0, 'monetary_value': 2000.0}
    """
    _check_period(period)
    frame = _purchase_periods(transactions, customer_col, time_col, value_col)
    end = _period_start(pd.Series([_aligned_end(frame["at"], observation_end)]), period).iloc[0]
    frame["at"] = _period_start(frame["at"], period)
    frame = frame.loc[frame["at"] <= end]
    if frame.empty:
        raise ValidationError("no transactions on or before observation_end", field=time_col)
    periods = frame.groupby(["customer", "at"], sort=True)["value"].sum().reset_index()
    by_customer = periods.groupby("customer", sort=True)
    first, last = by_customer["at"].min(), by_customer["at"].max()
    repeats = by_customer.size() - 1
    unit = pd.Timedelta(days=_PERIOD_DAYS[period])
    summary = pd.DataFrame(
        {
            "frequency": repeats.astype(np.int64),
            "recency": (last - first) / unit,
            "T": (end - first) / unit,
        }
    )
    if value_col:
        repeat_total = by_customer["value"].sum() - by_customer["value"].first()
        summary["monetary_value"] = (repeat_total / repeats.where(repeats > 0)).fillna(0.0)
    summary.index.name = customer_col
    return summary


def _summary_arrays(summary: pd.DataFrame, *, monetary: bool) -> dict[str, np.ndarray]:
    """The summary columns as float arrays, checked with errors that name the field."""
    arrays: dict[str, np.ndarray] = {}
    for column in (*_SUMMARY_COLUMNS, *(("monetary_value",) if monetary else ())):
        if column not in summary.columns:
            raise ValidationError(f"summary has no {column} column", field=column)
        values = pd.to_numeric(summary[column], errors="coerce").to_numpy(dtype=float)
        if not np.isfinite(values).all():
            raise ValidationError(f"{column} has missing or non-numeric values", field=column)
        if (values < 0).any():
            raise ValidationError(f"{column} has negative values", field=column)
        arrays[column] = values
    frequency, recency = arrays["frequency"], arrays["recency"]
    if (frequency != np.floor(frequency)).any():
        raise ValidationError("frequency must hold whole numbers", field="frequency")
    if (recency > arrays["T"] + 1e-9).any():
        raise ValidationError("recency is larger than T for some customers", field="recency")
    if (recency[frequency == 0] != 0).any():
        raise ValidationError("recency must be 0 when frequency is 0", field="recency")
    return arrays


def _portable(model: Any) -> Any:
    """A fitted lifetimes model without its training data copy and data generator."""
    # As lifetimes' own save_model(save_data=False, save_generate_data_method=False) does: the
    # generator is a lambda that pickle refuses, and the data copy would bloat every saved model.
    for attribute in ("generate_new_data", "data"):
        if hasattr(model, attribute):
            delattr(model, attribute)
    return model


def _correlation(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson correlation, NaN when either side is constant (it is undefined then)."""
    if x.size < 2 or np.std(x) == 0 or np.std(y) == 0:
        return float("nan")
    return float(np.corrcoef(x, y)[0, 1])


class TransactionValueModel:
    """BG/NBD purchase counts with Gamma-Gamma spend, for value over a horizon of months.

    ``period`` is the unit of ``recency`` and ``T`` in the summaries ("D" days, "W" weeks). With
    ``fit_spend=False`` only BG/NBD is fitted (no ``monetary_value`` needed, no ``expected_value``).
    ``frequency_monetary_corr_`` reports the Gamma-Gamma independence check: spend per purchase
    should not move with purchase frequency; a correlation far from 0 (say above 0.3 in size)
    means the spend estimates are biased.
    """

    def __init__(
        self,
        *,
        period: Period = "D",
        penalizer_coef: float = 0.0,
        spend_penalizer_coef: float = 0.0,
        fit_spend: bool = True,
        min_customers: int = 20,
        min_repeat_customers: int = 10,
    ) -> None:
        self.period = period
        self.penalizer_coef = penalizer_coef
        self.spend_penalizer_coef = spend_penalizer_coef
        self.fit_spend = fit_spend
        self.min_customers = min_customers
        self.min_repeat_customers = min_repeat_customers

    def fit(self, summary: pd.DataFrame) -> TransactionValueModel:
        """Fit BG/NBD on every customer and Gamma-Gamma on those with repeat purchases."""
        _check_period(self.period)
        arrays = _summary_arrays(summary, monetary=self.fit_spend)
        if len(summary) < self.min_customers:
            raise ValidationError(
                f"{len(summary)} customers; BG/NBD needs at least {self.min_customers}",
                field="frequency",
            )
        if not (arrays["frequency"] > 0).any():
            raise ValidationError("no customer has a repeat purchase", field="frequency")
        self.purchase_model_ = self._fit_purchases(arrays)
        self.params_ = {k: float(v) for k, v in self.purchase_model_.params_.items()}
        self.n_customers_ = len(summary)
        if self.fit_spend:
            self._fit_spend(arrays)
        return self

    def _fit_purchases(self, arrays: dict[str, np.ndarray]) -> Any:
        model = BetaGeoFitter(penalizer_coef=self.penalizer_coef)
        try:
            fitted = model.fit(arrays["frequency"], arrays["recency"], arrays["T"])
        except ConvergenceError as exc:
            raise ValidationError(
                "BG/NBD did not converge on this summary", field="frequency"
            ) from exc
        return _portable(fitted)

    def _fit_spend(self, arrays: dict[str, np.ndarray]) -> None:
        """Gamma-Gamma on repeat customers with positive spend; records the independence check."""
        repeat = (arrays["frequency"] > 0) & (arrays["monetary_value"] > 0)
        frequency, monetary = arrays["frequency"][repeat], arrays["monetary_value"][repeat]
        if frequency.size < self.min_repeat_customers:
            raise ValidationError(
                f"{frequency.size} repeat customers with spend; Gamma-Gamma needs at least "
                f"{self.min_repeat_customers}",
                field="monetary_value",
            )
        model = GammaGammaFitter(penalizer_coef=self.spend_penalizer_coef)
        try:
            model.fit(frequency, monetary)
        except ConvergenceError as exc:
            raise ValidationError("Gamma-Gamma did not converge", field="monetary_value") from exc
        params = {k: float(v) for k, v in model.params_.items()}
        if params["q"] <= 1:
            message = "Gamma-Gamma spend has no finite mean (q <= 1)"
            raise ValidationError(message, field="monetary_value")
        self.spend_model_ = _portable(model)
        self.gg_params_ = params
        self.n_repeat_customers_ = int(frequency.size)
        self.frequency_monetary_corr_ = _correlation(frequency, monetary)

    def _fitted(self, attribute: str) -> Any:
        if not hasattr(self, attribute):
            field = "monetary_value" if attribute == "spend_model_" else "frequency"
            raise ValidationError(f"the model has no {attribute}; call fit first", field=field)
        return getattr(self, attribute)

    def expected_purchases(self, summary: pd.DataFrame, periods: float) -> pd.Series:
        """Expected number of purchases per customer in the next ``periods`` periods."""
        model = self._fitted("purchase_model_")
        arrays = _summary_arrays(summary, monetary=False)
        counts = model.conditional_expected_number_of_purchases_up_to_time(
            periods, arrays["frequency"], arrays["recency"], arrays["T"]
        )
        return pd.Series(np.asarray(counts, dtype=float), index=summary.index, name="purchases")

    def probability_alive(self, summary: pd.DataFrame) -> pd.Series:
        """P(the customer is still active) at the end of observation."""
        model = self._fitted("purchase_model_")
        arrays = _summary_arrays(summary, monetary=False)
        alive = model.conditional_probability_alive(
            arrays["frequency"], arrays["recency"], arrays["T"]
        )
        return pd.Series(np.asarray(alive, dtype=float), index=summary.index, name="p_alive")

    def expected_spend(self, summary: pd.DataFrame) -> pd.Series:
        """Expected value of one future purchase (the population mean for one-off customers)."""
        model = self._fitted("spend_model_")
        arrays = _summary_arrays(summary, monetary=True)
        spend = model.conditional_expected_average_profit(
            arrays["frequency"], arrays["monetary_value"]
        )
        return pd.Series(np.asarray(spend, dtype=float), index=summary.index, name="spend")

    def expected_value(
        self, summary: pd.DataFrame, months: int = 12, discount_rate: float = 0.01
    ) -> pd.Series:
        """Discounted value over ``months``: spend times purchases each month, in minor units.

        ``discount_rate`` is monthly (0.01 a month is about 12.7 % a year); the result has the
        units of ``monetary_value`` rounded to whole numbers (integer minor units).
        """
        if months < 1:
            raise ValidationError("months must be at least 1", field="months")
        if discount_rate <= -1:
            raise ValidationError("discount_rate must be above -1", field="discount_rate")
        spend = self.expected_spend(summary).to_numpy()
        model = self._fitted("purchase_model_")
        arrays = _summary_arrays(summary, monetary=False)
        per_month = _DAYS_PER_MONTH / _PERIOD_DAYS[self.period]
        value, before = np.zeros(len(summary)), np.zeros(len(summary))
        for month in range(1, months + 1):
            cumulative = np.asarray(
                model.conditional_expected_number_of_purchases_up_to_time(
                    month * per_month, arrays["frequency"], arrays["recency"], arrays["T"]
                ),
                dtype=float,
            )
            value += (cumulative - before) * spend / (1 + discount_rate) ** month
            before = cumulative
        return to_minor_units(pd.Series(value, index=summary.index, name="expected_value_minor"))
