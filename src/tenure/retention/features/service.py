"""Service features: complaints (open, unresolved, time to resolve) and NPS / CSAT answers."""

from __future__ import annotations

from tenure.retention.features.definitions import (
    FeatureDefinition,
    Source,
    counted,
    derived,
    window,
)

__all__ = ["SERVICE_FEATURES", "SERVICE_SOURCES"]

COMPLAINT = "kind = 'complaint'"
# Open at the snapshot: not resolved before it. The extract-time ``status`` column is not used,
# because it would tell what happened after the snapshot; a complaint with no resolution time
# therefore counts as open.
OPEN = f"{COMPLAINT} AND (resolved_at IS NULL OR resolved_at >= {{as_of}})"
RESOLVED = f"{COMPLAINT} AND resolved_at < {{as_of}}"

INTERACTIONS = Source(
    "interactions", "Service contacts: inquiries, complaints, praise.", ("interactions",),
    "occurred_at",
)  # fmt: skip
SURVEYS = Source("surveys", "NPS and CSAT answers.", ("surveys",), "answered_at")


def _complaints() -> list[FeatureDefinition]:
    at = "occurred_at"
    return [
        counted("complaints_90d", "Complaints made, last 90 days.", "interactions",
                f"{COMPLAINT} AND {window(at, 90)}"),
        counted("complaints_365d", "Complaints made, last 365 days.", "interactions",
                f"{COMPLAINT} AND {window(at, 365)}"),
        counted("complaints_open", "Complaints not resolved before the snapshot.",
                "interactions", OPEN),
        counted("complaints_unresolved_over_14d",
                "Complaints made more than 14 days before the snapshot and still not resolved.",
                "interactions", f"{OPEN} AND {at} < {{as_of_minus_14d}}"),
        counted("fee_complaints_365d", "Complaints about fees, last 365 days.", "interactions",
                f"{COMPLAINT} AND topic = 'fees' AND {window(at, 365)}"),
        counted("fraud_complaints_365d", "Complaints about fraud, last 365 days.",
                "interactions", f"{COMPLAINT} AND topic = 'fraud' AND {window(at, 365)}"),
        counted("inquiries_90d", "Inquiries, last 90 days.", "interactions",
                f"kind = 'inquiry' AND {window(at, 90)}"),
        counted("praise_365d", "Praise given, last 365 days.", "interactions",
                f"kind = 'praise' AND {window(at, 365)}"),
        FeatureDefinition(
            "complaint_resolution_days_avg_365d",
            "Average days to resolve the complaints made in the last 365 days and resolved "
            "before the snapshot; empty if none.",
            "interactions",
            "AVG((EPOCH(resolved_at) - EPOCH(occurred_at)) / 86400.0) "
            f"FILTER (WHERE {RESOLVED} AND {window(at, 365)})",
            unit="days",
        ),
        FeatureDefinition(
            "complaint_open_days_max",
            "Days the oldest open complaint has waited; empty if none is open.",
            "interactions",
            f"DAYS_SINCE(MIN({at}) FILTER (WHERE {OPEN}))",
            unit="days",
        ),
        FeatureDefinition(
            "days_since_last_complaint",
            "Days since the last complaint; empty if there never was one.",
            "interactions",
            f"DAYS_SINCE(MAX({at}) FILTER (WHERE {COMPLAINT}))",
            unit="days",
        ),
    ]  # fmt: skip


def _survey(kind: str, label: str) -> list[FeatureDefinition]:
    last = f"LATEST(score, answered_at, survey_id) FILTER (WHERE kind = '{kind}')"
    total = f"SUM(score) FILTER (WHERE kind = '{kind}')"
    answers = f"COUNT(*) FILTER (WHERE kind = '{kind}')"
    return [
        FeatureDefinition(
            f"{kind}_last",
            f"The last {label} score given before the snapshot; empty if none.",
            "surveys",
            last,
            unit="score",
        ),
        FeatureDefinition(
            f"{kind}_trend",
            f"The last {label} score minus the average of the customer's earlier {label} "
            "scores; empty with fewer than two answers.",
            "surveys",
            f"{last} - ({total} - {last}) / NULLIF({answers} - 1, 0)",
            unit="score",
        ),
        FeatureDefinition(
            f"{kind}_avg_365d",
            f"Average {label} score, last 365 days; empty if none.",
            "surveys",
            f"AVG(score) FILTER (WHERE kind = '{kind}' AND {window('answered_at', 365)})",
            unit="score",
        ),
    ]


def _surveys() -> list[FeatureDefinition]:
    return [
        *_survey("nps", "NPS (0-10)"),
        *_survey("csat", "CSAT (1-5)"),
        counted("surveys_answered_365d", "Survey answers given, last 365 days.", "surveys",
                window("answered_at", 365)),
        FeatureDefinition(
            "days_since_last_survey",
            "Days since the last survey answer; empty if there never was one.",
            "surveys",
            "DAYS_SINCE(MAX(answered_at))",
            unit="days",
        ),
    ]  # fmt: skip


def _derived() -> list[FeatureDefinition]:
    return [
        derived(
            "nps_detractor_last",
            "1 when the last NPS answer was a detractor (0-6), 0 otherwise or with no answer.",
            "CASE WHEN nps_last <= 6 THEN 1 ELSE 0 END",
            "flag",
            fill=0,
        ),
        derived(
            "csat_unhappy_last",
            "1 when the last CSAT answer was 1 or 2, 0 otherwise or with no answer.",
            "CASE WHEN csat_last <= 2 THEN 1 ELSE 0 END",
            "flag",
            fill=0,
        ),
    ]


SERVICE_SOURCES: tuple[Source, ...] = (INTERACTIONS, SURVEYS)
SERVICE_FEATURES: tuple[FeatureDefinition, ...] = (*_complaints(), *_surveys(), *_derived())
