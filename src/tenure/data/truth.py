"""Tables only the simulator knows: the latent state behind churn, fraud and campaign response.

A real bank has none of these; they let Tenure's models be measured against the truth. The simulator
writes them into ``truth/`` beside the canonical files.
"""

from __future__ import annotations

from tenure.data.schema import Column, ColumnType, Group, Table

__all__ = ["TRUTH_TABLES"]

T = ColumnType

CUSTOMER_TRUTH = Table(
    "customer_truth",
    "Latent state per customer: churn hazard and cause, when churn happened, uplift class.",
    (
        Column("customer_id", T.ID, "The customer.", references="customers.customer_id"),
        Column(
            "base_hazard", T.FLOAT, "Monthly churn hazard before drivers.", minimum=0.0, maximum=1.0
        ),
        Column(
            "mean_hazard",
            T.FLOAT,
            "Average monthly hazard over the simulation.",
            minimum=0.0,
            maximum=1.0,
        ),
        Column(
            "churn_cause",
            T.ENUM,
            "Strongest driver of churn for a churner.",
            required=False,
            values=("complaints", "fees", "friction", "competitor_offer", "life_event", "baseline"),
        ),
        Column("churned_at", T.TIMESTAMP, "When the customer decided to leave.", required=False),
        Column(
            "uplift_class",
            T.ENUM,
            "True response type to retention offers.",
            values=("persuadable", "sure_thing", "lost_cause", "do_not_disturb"),
        ),
        Column("is_mule", T.BOOL, "Whether the account is used as a money mule."),
        Column("value_weight", T.FLOAT, "Latent wealth multiplier.", minimum=0.0),
    ),
    ("customer_id",),
    group=Group.TRUTH,
)

CONTACT_TRUTH = Table(
    "contact_truth",
    "True potential outcomes of each campaign contact: churn probability under each arm.",
    (
        Column("contact_id", T.ID, "The contact.", references="contacts.contact_id"),
        Column("customer_id", T.ID, "The customer contacted.", references="customers.customer_id"),
        Column(
            "uplift_class",
            T.ENUM,
            "True response type of the customer.",
            values=("persuadable", "sure_thing", "lost_cause", "do_not_disturb"),
        ),
        Column(
            "churn_prob_if_treated",
            T.FLOAT,
            "Probability of deciding to leave within 90 days if sent the offer.",
            minimum=0.0,
            maximum=1.0,
        ),
        Column(
            "churn_prob_if_holdout",
            T.FLOAT,
            "Probability of deciding to leave within 90 days if held out.",
            minimum=0.0,
            maximum=1.0,
        ),
        Column(
            "treatment_effect",
            T.FLOAT,
            "Treated minus holdout churn probability (negative = the offer retains).",
            minimum=-1.0,
            maximum=1.0,
        ),
    ),
    ("contact_id",),
    group=Group.TRUTH,
)

TRUTH_TABLES: tuple[Table, ...] = (CUSTOMER_TRUTH, CONTACT_TRUTH)
