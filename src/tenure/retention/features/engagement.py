"""Engagement features: digital use and its trend, profile changes, payees at other banks."""

from __future__ import annotations

from tenure.retention.features.definitions import (
    FeatureDefinition,
    Source,
    counted,
    derived,
    periods_with,
    window,
)

__all__ = ["ENGAGEMENT_FEATURES", "ENGAGEMENT_SOURCES"]

LOGIN = "login_ok"
FAILED_LOGIN = "login_failed"

DIGITAL = Source(
    "digital_events",
    "Logins and digital sessions.",
    ("digital_events",),
    "occurred_at",
    columns=(
        ("login_ok", "event_type = 'login' AND success"),
        ("login_failed", "event_type = 'login' AND NOT success"),
        ("feature_used", "event_type = 'feature_use'"),
    ),
)
PROFILE = Source(
    "profile_changes",
    "Changes to contact details, credentials and limits.",
    ("profile_changes",),
    "changed_at",
)
PAYEES = Source("payees", "Beneficiaries the customer registered.", ("payees",), "added_at")


def _digital() -> list[FeatureDefinition]:
    at = "occurred_at"
    features = [
        counted(f"logins_{d}d", f"Successful logins, last {d} days.", "digital_events",
                f"{LOGIN} AND {window(at, d)}")
        for d in (30, 90, 180)
    ]  # fmt: skip
    features += [
        counted(f"failed_logins_{d}d", f"Failed logins, last {d} days (friction).",
                "digital_events", f"{FAILED_LOGIN} AND {window(at, d)}")
        for d in (30, 90)
    ]  # fmt: skip
    features += [
        counted(f"feature_uses_{d}d", f"Digital features used, last {d} days.",
                "digital_events", f"feature_used AND {window(at, d)}")
        for d in (30, 90)
    ]  # fmt: skip
    features += [
        FeatureDefinition(
            "login_weeks_last_12",
            "Of the last twelve 7-day weeks, how many had a successful login (regularity).",
            "digital_events",
            periods_with(LOGIN, at, 12, days=7),
            fill=0,
        ),
        FeatureDefinition(
            "days_since_last_login",
            "Days since the last successful login; empty if there never was one.",
            "digital_events",
            f"DAYS_SINCE(MAX({at}) FILTER (WHERE {LOGIN}))",
            unit="days",
        ),
        FeatureDefinition(
            "latency_ms_avg_30d",
            "Average response time the customer saw in digital events, last 30 days.",
            "digital_events",
            f"AVG(latency_ms) FILTER (WHERE {window(at, 30)})",
            unit="ms",
        ),
    ]
    return features


def _profile_and_payees() -> list[FeatureDefinition]:
    other_bank = "bank_code <> 'TENURE'"
    own_elsewhere = f"payee_type = 'own_account' AND {other_bank}"
    return [
        counted("profile_changes_90d", "Profile changes of any kind, last 90 days.",
                "profile_changes", window("changed_at", 90)),
        counted("contact_changes_90d", "Phone, e-mail or address changes, last 90 days.",
                "profile_changes",
                f"field IN ('phone', 'email', 'address') AND {window('changed_at', 90)}"),
        counted("credential_resets_90d", "Password resets and device re-bindings, last 90 days.",
                "profile_changes",
                f"field IN ('password', 'device_binding') AND {window('changed_at', 90)}"),
        counted("payees_added_90d", "Payees registered, last 90 days.", "payees",
                window("added_at", 90)),
        counted("other_bank_payees_added_90d",
                "Payees at other banks registered, last 90 days.", "payees",
                f"{other_bank} AND {window('added_at', 90)}"),
        counted("own_accounts_other_banks",
                "The customer's own accounts at other banks registered as payees (ever).",
                "payees", own_elsewhere),
        counted("own_accounts_other_banks_added_90d",
                "Own accounts at other banks registered as payees, last 90 days.", "payees",
                f"{own_elsewhere} AND {window('added_at', 90)}"),
    ]  # fmt: skip


def _derived() -> list[FeatureDefinition]:
    return [
        derived(
            "logins_trend_30_90",
            "Logins in the last 30 days over the monthly average of the last 90.",
            "logins_30d / NULLIF(logins_90d / 3.0, 0)",
            "ratio",
        ),
        derived(
            "logins_ratio_90_prev_90",
            "Logins in the last 90 days over logins in the 90 days before.",
            "logins_90d / NULLIF(logins_180d - logins_90d, 0)",
            "ratio",
        ),
        derived(
            "failed_login_share_30d",
            "Share of login attempts that failed, last 30 days.",
            "failed_logins_30d / NULLIF(logins_30d + failed_logins_30d, 0)",
            "ratio",
        ),
    ]


ENGAGEMENT_SOURCES: tuple[Source, ...] = (DIGITAL, PROFILE, PAYEES)
ENGAGEMENT_FEATURES: tuple[FeatureDefinition, ...] = (
    *_digital(),
    *_profile_and_payees(),
    *_derived(),
)
