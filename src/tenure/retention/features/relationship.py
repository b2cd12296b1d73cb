"""Relationship features: tenure and demographics, product holdings and their changes."""

from __future__ import annotations

from tenure.retention.features.definitions import (
    FeatureDefinition,
    Source,
    Unit,
    counted,
    derived,
    window,
)

__all__ = ["RELATIONSHIP_FEATURES", "RELATIONSHIP_SOURCES"]

PRODUCTS = ("current", "savings", "term_deposit", "card", "loan", "wealth")
# Held at the snapshot: opened before it (the compiler's rule) and not closed before it. The
# extract-time ``status`` and ``balance_minor`` columns are not used: they describe the future.
HELD = "(closed_at IS NULL OR closed_at >= {as_of})"

CUSTOMERS = Source(
    "customers",
    "The customer's own record: the spine, one row per customer open at the snapshot.",
    ("customers",),
    "opened_at",
)
ACCOUNTS = Source("accounts", "Products the customer holds or held.", ("accounts",), "opened_at")


def _attribute(name: str, description: str, expression: str, unit: Unit) -> FeatureDefinition:
    fill = 0 if unit == "flag" else None
    return FeatureDefinition(name, description, "customers", expression, "attribute", unit, fill)


def _customers() -> list[FeatureDefinition]:
    return [
        _attribute("tenure_days", "Days since the relationship started.",
                   "DAYS_SINCE(opened_at)", "days"),
        _attribute("age_years", "Age in years at the snapshot (from the birth year); empty for "
                   "corporate clients.", "{as_of_year} - birth_year", "years"),
        _attribute("is_corporate", "1 for a corporate client, 0 for a retail customer.",
                   "CASE WHEN customer_type = 'corporate' THEN 1 ELSE 0 END", "flag"),
        _attribute("has_relationship_manager", "1 when a relationship manager is assigned.",
                   "CASE WHEN rm_id IS NOT NULL THEN 1 ELSE 0 END", "flag"),
        _attribute("income_band_rank", "Income band from 1 (low) to 5 (high); empty if unknown.",
                   "CASE income_band WHEN 'low' THEN 1 WHEN 'lower_middle' THEN 2 "
                   "WHEN 'middle' THEN 3 WHEN 'upper_middle' THEN 4 WHEN 'high' THEN 5 END",
                   "rank"),
        _attribute("kyc_risk_rank", "KYC risk from 1 (low) to 3 (high).",
                   "CASE kyc_risk WHEN 'low' THEN 1 WHEN 'medium' THEN 2 WHEN 'high' THEN 3 END",
                   "rank"),
        _attribute("prefers_digital", "1 when the preferred channel is mobile or web.",
                   "CASE WHEN channel_preference IN ('mobile', 'web') THEN 1 ELSE 0 END", "flag"),
    ]  # fmt: skip


def _holdings() -> list[FeatureDefinition]:
    features = [
        counted("products_held", "Accounts held at the snapshot.", "accounts", HELD),
        FeatureDefinition(
            "product_families_held",
            "Distinct product families held at the snapshot (current, savings, card...).",
            "accounts",
            f"COUNT(DISTINCT product) FILTER (WHERE {HELD})",
            fill=0,
        ),
    ]
    features += [
        FeatureDefinition(
            f"has_{product}",
            f"1 when a {product.replace('_', ' ')} account is held at the snapshot.",
            "accounts",
            f"CASE WHEN COUNT(*) FILTER (WHERE product = '{product}' AND {HELD}) > 0 "
            "THEN 1 ELSE 0 END",
            unit="flag",
            fill=0,
        )
        for product in PRODUCTS
    ]
    return features


def _changes() -> list[FeatureDefinition]:
    return [
        counted("products_opened_90d", "Accounts opened, last 90 days.", "accounts",
                window("opened_at", 90)),
        counted("products_closed_90d", "Accounts closed, last 90 days.", "accounts",
                f"{window('closed_at', 90)} AND closed_at < {{as_of}}"),
        counted("products_closed_365d", "Accounts closed, last 365 days.", "accounts",
                f"{window('closed_at', 365)} AND closed_at < {{as_of}}"),
        counted("term_deposits_maturing_30d",
                "Term deposits held that mature in the next 30 days (known by contract).",
                "accounts", f"product = 'term_deposit' AND {HELD} AND maturity_date >= "
                "{as_of_date} AND maturity_date < {as_of_date_plus_30d}"),
        FeatureDefinition(
            "days_since_last_product_opened",
            "Days since the customer last opened an account; empty if none is known.",
            "accounts",
            "DAYS_SINCE(MAX(opened_at))",
            unit="days",
        ),
        derived("products_net_change_90d", "Accounts opened minus accounts closed, last 90 days.",
                "products_opened_90d - products_closed_90d", "count", fill=0),
    ]  # fmt: skip


RELATIONSHIP_SOURCES: tuple[Source, ...] = (CUSTOMERS, ACCOUNTS)
RELATIONSHIP_FEATURES: tuple[FeatureDefinition, ...] = (*_customers(), *_holdings(), *_changes())
