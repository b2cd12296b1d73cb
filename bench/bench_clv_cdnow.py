"""Benchmark BG/NBD and Gamma-Gamma on CDNOW against the published parameters.

Usage: ``python -m bench clv_cdnow``. BG/NBD is fitted on ``clv/cdnow_customers_summary.csv`` and
compared with Fader, Hardie & Lee (2005): r=0.243, alpha=4.414, a=0.793, b=2.426, to three
decimals. Gamma-Gamma is fitted on the repeat customers of a summary rebuilt from
``clv/CDNOW_sample.txt`` (daily periods, observation end 1997-09-30, times in weeks, as the
lifetimes ``cdnow_customers_summary_with_transactions`` file was made) and compared with the
lifetimes documentation: p=6.25, q=3.74, v=15.45, to two decimals. That file stores the mean spend
rounded to cents (half up), so the fit is shown on exact and on cent-rounded spend. Skips with a
message when the reference data are absent.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tenure.data.reference import ReferenceDataMissing, reference_file
from tenure.retention.clv import TransactionValueModel, rfm_summary
from tenure.retention.margin import to_minor_units

BGNBD_PUBLISHED = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
GAMMA_GAMMA_PUBLISHED = {"p": 6.25, "q": 3.74, "v": 15.45}
CDNOW_END = "1997-09-30"


def _compare(fitted: dict[str, float], published: dict[str, float], decimals: int) -> bool:
    """Print fitted vs published per parameter; True when every one matches when rounded."""
    print(f"  {'param':<6}{'fitted':>12}{'published':>12}{'|diff|':>12}  match ({decimals} dp)")
    every = True
    for name, target in published.items():
        value = fitted[name]
        same = round(value, decimals) == target
        every &= same
        print(
            f"  {name:<6}{value:>12.6f}{target:>12.{decimals}f}{abs(value - target):>12.6f}  {same}"
        )
    return every


def _bgnbd(summary_path: Path) -> None:
    summary = pd.read_csv(summary_path, index_col="ID")
    model = TransactionValueModel(period="W", fit_spend=False).fit(summary)
    print(f"BG/NBD on {summary_path.name} ({len(summary):,} customers, weeks):")
    ok = _compare(model.params_, BGNBD_PUBLISHED, 3)
    print(f"  reproduces Fader, Hardie & Lee (2005) to three decimals: {ok}")


def _cdnow_summary(sample_path: Path) -> pd.DataFrame:
    """The CDNOW summary with mean repeat spend in cents, rebuilt from the raw purchase log."""
    columns = ["customer", "customer_id", "date", "cds", "dollars"]
    raw = pd.read_csv(sample_path, sep=r"\s+", header=None, names=columns, dtype={"date": str})
    raw["date"] = pd.to_datetime(raw["date"], format="%Y%m%d")
    # integer cents, so that sums carry no float noise into the half-cent rounding below
    raw["cents"] = (raw["dollars"] * 100).round().astype("int64")
    summary = rfm_summary(
        raw, observation_end=CDNOW_END, time_col="date", value_col="cents", period="D"
    )
    return summary.assign(recency=summary["recency"] / 7, T=summary["T"] / 7)


def _gamma_gamma(sample_path: Path, summary_path: Path) -> None:
    summary = _cdnow_summary(sample_path)
    published = pd.read_csv(summary_path, index_col="ID")
    same_counts = summary["frequency"].to_numpy().tolist() == published["frequency"].tolist()
    print(f"Gamma-Gamma on repeat customers of a summary rebuilt from {sample_path.name}")
    print(f"  rebuilt frequency equals {summary_path.name}: {same_counts}")
    cents = summary["monetary_value"]
    exact = summary.assign(monetary_value=cents / 100)
    rounded = summary.assign(monetary_value=to_minor_units(cents) / 100)
    for label, spend in (("exact spend", exact), ("spend rounded to cents", rounded)):
        model = TransactionValueModel(period="W").fit(spend)
        print(
            f"  {label}: {model.n_repeat_customers_} repeat customers, "
            f"corr(frequency, spend) = {model.frequency_monetary_corr_:.3f}"
        )
        ok = _compare(model.gg_params_, GAMMA_GAMMA_PUBLISHED, 2)
        print(f"  matches the lifetimes documentation to two decimals: {ok}")


def main() -> None:
    """Fit BG/NBD and Gamma-Gamma on CDNOW and print fitted against published parameters."""
    try:
        summary_path = reference_file("clv/cdnow_customers_summary.csv")
    except ReferenceDataMissing as exc:
        print(f"skipped: CDNOW summary unavailable ({exc.message})")
        return
    _bgnbd(summary_path)
    try:
        sample_path = reference_file("clv/CDNOW_sample.txt")
    except ReferenceDataMissing as exc:
        print(f"Gamma-Gamma skipped: CDNOW purchase log unavailable ({exc.message})")
        return
    _gamma_gamma(sample_path, summary_path)


if __name__ == "__main__":
    main()
