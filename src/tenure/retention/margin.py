"""Bank margin view of customer value: deposit margin, loan interest margin and fee income.

A bank earns on a deposit the funds-transfer-pricing (FTP) rate its treasury credits for the money
less the rate it pays the customer, and on a loan the rate the customer pays less the FTP rate (and
less expected credit loss). Fees are taken from the trailing window and annualised. Every rate lives
in :class:`MarginAssumptions`, which a bank edits to match its own treasury curve.

The functions are pure (DataFrames in, DataFrame out); output money is integer minor units, rounded
half away from zero per component, so that the components add up exactly to the total.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from tenure.core.errors import ValidationError

__all__ = ["MarginAssumptions", "margin_value", "to_minor_units"]

_ACCOUNT_COLUMNS = ("customer_id", "product", "balance_minor")
_OUTPUT_COLUMNS = ("deposit_margin_minor", "loan_margin_minor", "fee_income_minor")


@dataclass(frozen=True, slots=True)
class MarginAssumptions:
    """Rates and windows behind the margin view; the defaults are editable placeholders.

    - ``horizon_months``: months of value to count (12 gives the 12-month value used downstream).
    - ``funds_transfer_rate``: annual FTP rate: treasury pays it for deposits, charges it for loans.
    - ``loan_loss_rate``: annual expected credit loss as a share of loan balance (0 leaves it out).
    - ``fee_window_months``: months of trailing fees passed in; they are scaled to the horizon.
    - ``deposit_products`` / ``loan_products``: product families on each side of the balance sheet;
      others (wealth) earn through fees only.
    - ``missing_deposit_rate``: rate assumed for a deposit without ``interest_rate`` (none paid).
    - ``missing_loan_rate``: rate assumed for a loan without one; ``None`` uses the FTP rate, so
      such a loan adds no margin rather than an invented one.
    """

    horizon_months: int = 12
    funds_transfer_rate: float = 0.02
    loan_loss_rate: float = 0.0
    fee_window_months: int = 12
    deposit_products: tuple[str, ...] = ("current", "savings", "term_deposit")
    loan_products: tuple[str, ...] = ("loan", "card")
    missing_deposit_rate: float = 0.0
    missing_loan_rate: float | None = None

    def __post_init__(self) -> None:
        """Refuse windows that cannot be scaled."""
        if self.horizon_months < 1:
            raise ValidationError("horizon_months must be at least 1", field="horizon_months")
        if self.fee_window_months < 1:
            raise ValidationError("fee_window_months must be at least 1", field="fee_window_months")
        if set(self.deposit_products) & set(self.loan_products):
            raise ValidationError(
                "a product cannot be both deposit and loan", field="loan_products"
            )


def to_minor_units(values: pd.Series) -> pd.Series:
    """Round amounts to integer minor units, half away from zero."""
    numbers = values.to_numpy(dtype=float)
    rounded = np.sign(numbers) * np.floor(np.abs(numbers) + 0.5)
    return pd.Series(rounded.astype(np.int64), index=values.index, name=values.name)


def _require(frame: pd.DataFrame, columns: tuple[str, ...], table: str) -> None:
    for column in columns:
        if column not in frame.columns:
            raise ValidationError(f"{table} has no {column} column", field=column)
        if frame[column].isna().any():
            raise ValidationError(f"{table}.{column} has missing values", field=column)


def _open_accounts(accounts: pd.DataFrame) -> pd.DataFrame:
    _require(accounts, _ACCOUNT_COLUMNS, "accounts")
    if "status" in accounts.columns:
        accounts = accounts.loc[accounts["status"] != "closed"]
    rates = accounts["interest_rate"] if "interest_rate" in accounts.columns else np.nan
    return pd.DataFrame(
        {
            "customer_id": accounts["customer_id"],
            "product": accounts["product"],
            "balance": pd.to_numeric(accounts["balance_minor"]).astype(float),
            "rate": pd.to_numeric(pd.Series(rates, index=accounts.index)).astype(float),
        }
    )


def _account_margins(accounts: pd.DataFrame, assume: MarginAssumptions) -> pd.DataFrame:
    """Deposit and loan margin per account, in fractional minor units over the horizon."""
    years = assume.horizon_months / 12
    ftp = assume.funds_transfer_rate
    is_deposit = accounts["product"].isin(assume.deposit_products)
    is_loan = accounts["product"].isin(assume.loan_products)
    # an overdrawn deposit is lending, not funding: it earns no deposit margin
    deposit_balance = accounts["balance"].clip(lower=0.0)
    deposit_rate = accounts["rate"].fillna(assume.missing_deposit_rate)
    deposit = deposit_balance * (ftp - deposit_rate) * years
    # banks differ in the sign they give what is owed; the size is what earns interest
    loan_balance = accounts["balance"].abs()
    loan_fill = ftp if assume.missing_loan_rate is None else assume.missing_loan_rate
    loan_rate = accounts["rate"].fillna(loan_fill)
    loan = loan_balance * (loan_rate - ftp - assume.loan_loss_rate) * years
    return pd.DataFrame(
        {
            "customer_id": accounts["customer_id"],
            "deposit_margin_minor": deposit.where(is_deposit, 0.0),
            "loan_margin_minor": loan.where(is_loan, 0.0),
        }
    )


def _fee_income(fees: pd.DataFrame, assume: MarginAssumptions) -> pd.Series:
    """Trailing fees per customer, scaled from the fee window to the horizon."""
    _require(fees, ("customer_id", "amount_minor"), "fees")
    if "kind" in fees.columns:
        fees = fees.loc[fees["kind"] == "fee"]
    if "status" in fees.columns:
        fees = fees.loc[fees["status"] == "posted"]
    amounts = pd.to_numeric(fees["amount_minor"]).astype(float)
    totals = amounts.groupby(fees["customer_id"]).sum()
    return (totals * assume.horizon_months / assume.fee_window_months).rename("fee_income_minor")


def _apply_survival(value: pd.DataFrame, survival: pd.Series) -> pd.Series:
    """Total value times P(still a customer); every customer needs a probability in [0, 1]."""
    probability = survival.reindex(value.index)
    if probability.isna().any():
        missing = int(probability.isna().sum())
        message = f"survival has no probability for {missing} customer(s)"
        raise ValidationError(message, field="survival")
    if ((probability < 0) | (probability > 1)).any():
        raise ValidationError("survival probabilities must lie in [0, 1]", field="survival")
    return to_minor_units(value["total_value_minor"] * probability.astype(float))


def margin_value(
    *,
    accounts: pd.DataFrame,
    fees: pd.DataFrame,
    assumptions: MarginAssumptions | None = None,
    survival: pd.Series | None = None,
) -> pd.DataFrame:
    """Value per customer over the horizon: deposit margin, loan margin, fees, total (minor units).

    ``accounts`` has ``customer_id``, ``product``, ``balance_minor`` (an average balance is best)
    and optionally ``interest_rate`` and ``status`` (closed accounts are left out). ``fees`` has
    ``customer_id`` and ``amount_minor`` for the trailing fee window; canonical transaction rows are
    narrowed to posted fees. ``survival`` (P(still a customer) by customer id) adds
    ``expected_value_minor``. The result is indexed by ``customer_id``, every column ``int64``.

    >>> accounts = pd.DataFrame({"customer_id": ["c1", "c1"], "product": ["savings", "loan"],
    ...                          "balance_minor": [1_000_000, 500_000],
    ...                          "interest_rate": [0.005, 0.05]})
    >>> fees = pd.DataFrame({"customer_id": ["c1"], "amount_minor": [1_200]})
    >>> margin_value(accounts=accounts, fees=fees).loc["c1"].to_dict()
    {'deposit_margin_minor': 15000, 'loan_margin_minor': 15000, 'fee_income_minor': 1200, \
'total_value_minor': 31200}
    """
    assume = assumptions or MarginAssumptions()
    margins = _account_margins(_open_accounts(accounts), assume)
    per_customer = margins.groupby("customer_id").sum()
    value = per_customer.join(_fee_income(fees, assume), how="outer").fillna(0.0)
    value.index.name = "customer_id"
    result = pd.DataFrame({column: to_minor_units(value[column]) for column in _OUTPUT_COLUMNS})
    result["total_value_minor"] = result[list(_OUTPUT_COLUMNS)].sum(axis=1).astype(np.int64)
    if survival is not None:
        result["expected_value_minor"] = _apply_survival(result, survival)
    return result
