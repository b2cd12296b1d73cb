"""Service, consent and campaign tables of a run: interactions, surveys, consents, campaigns,
offers, contacts and the contacts' true potential outcomes."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tenure.data.simulator.campaigns import Campaign, ContactBatch
from tenure.data.simulator.chunk import ChunkResult
from tenure.data.simulator.formatting import lookup_strings, numbered_ids, utc_timestamps
from tenure.data.simulator.population import UPLIFT_CLASSES
from tenure.data.simulator.service import TOPICS, Interactions, Surveys
from tenure.data.simulator.tables import Ids, enum_strings, make_table, optional_times

__all__ = ["campaign_tables", "contact_tables", "service_tables"]


def _interactions(
    result: ChunkResult, ids: Ids, contacts: Interactions, order: np.ndarray
) -> pa.Table:
    resolved = contacts.resolved_at[order]
    return make_table(
        "interactions",
        {
            "interaction_id": ids.rows("I", result.chunk, len(order)),
            "customer_id": ids.customers(result.people.number[contacts.customer[order]]),
            "occurred_at": utc_timestamps(contacts.time[order]),
            "channel": enum_strings("interactions", "channel", contacts.channel[order]),
            "kind": enum_strings("interactions", "kind", contacts.kind[order]),
            "topic": lookup_strings(pa.array(TOPICS), contacts.topic[order]),
            "language": pc.if_else(pa.array(contacts.english[order]), "en", "zh"),
            "text": contacts.text.take(pa.array(order)),
            "status": pc.if_else(pa.array(resolved >= 0), "resolved", "open"),
            "resolved_at": optional_times(resolved),
        },
    )


def _surveys(result: ChunkResult, ids: Ids, surveys: Surveys, order: np.ndarray) -> pa.Table:
    comment = surveys.comment.take(pa.array(order))
    language = pc.if_else(pa.array(surveys.english[order]), "en", "zh")
    return make_table(
        "surveys",
        {
            "survey_id": ids.rows("S", result.chunk, len(order)),
            "customer_id": ids.customers(result.people.number[surveys.customer[order]]),
            "answered_at": utc_timestamps(surveys.time[order]),
            "kind": pc.if_else(pa.array(surveys.nps[order]), "nps", "csat"),
            "score": surveys.score[order],
            "comment": comment,
            "language": pc.if_else(pc.is_valid(comment), language, None),
        },
    )


def _consents(result: ChunkResult, ids: Ids) -> pa.Table:
    c = result.consents
    return make_table(
        "consents",
        {
            "consent_id": ids.rows("K", result.chunk, len(c.customer)),
            "customer_id": ids.customers(result.people.number[c.customer]),
            "purpose": enum_strings("consents", "purpose", c.purpose),
            "channel": enum_strings("consents", "channel", c.channel),
            "status": pc.if_else(pa.array(c.withdrawn), "withdrawn", "given"),
            "recorded_at": utc_timestamps(c.recorded_at),
        },
    )


def contact_tables(
    result: ChunkResult, ids: Ids, contacts: ContactBatch
) -> tuple[pa.Table, pa.Table]:
    """Contacts of one chunk and their true potential outcomes."""
    contact_ids = ids.rows("CT", result.chunk, len(contacts.customer))
    customer_ids = ids.customers(result.people.number[contacts.customer])
    table = make_table(
        "contacts",
        {
            "contact_id": contact_ids,
            "campaign_id": numbered_ids("CP", contacts.campaign, 4),
            "customer_id": customer_ids,
            "offer_id": pc.if_else(
                pa.array(contacts.offer >= 0),
                numbered_ids("OF", np.maximum(contacts.offer, 0), 4),
                None,
            ),
            "arm": enum_strings("contacts", "arm", contacts.arm),
            "assigned_at": utc_timestamps(contacts.assigned_at),
            "sent_at": optional_times(contacts.sent_at),
            "channel": enum_strings("contacts", "channel", contacts.channel),
            "outcome": enum_strings("contacts", "outcome", contacts.outcome),
        },
    )
    truth = make_table(
        "contact_truth",
        {
            "contact_id": contact_ids,
            "customer_id": customer_ids,
            "uplift_class": lookup_strings(
                pa.array(UPLIFT_CLASSES), result.people.uplift[contacts.customer]
            ),
            "churn_prob_if_treated": np.round(contacts.p_treated, 6),
            "churn_prob_if_holdout": np.round(contacts.p_control, 6),
            "treatment_effect": np.round(contacts.p_treated - contacts.p_control, 6),
        },
    )
    return table, truth


def service_tables(result: ChunkResult, ids: Ids) -> dict[str, pa.Table]:
    """Interactions, surveys and consents of one chunk."""
    contacts = result.interactions
    columns = ("customer", "time", "channel", "kind", "topic", "english", "resolved_at")
    merged = Interactions(
        **{f: np.concatenate([getattr(c, f) for c in contacts]) for f in columns},
        text=pa.concat_arrays([c.text for c in contacts]),
    )
    answers = Surveys(
        **{
            f: np.concatenate([getattr(s, f) for s in result.surveys])
            for f in ("customer", "time", "nps", "score", "english")
        },
        comment=pa.concat_arrays([s.comment for s in result.surveys]),
    )
    return {
        "interactions": _interactions(
            result, ids, merged, np.lexsort((merged.customer, merged.time))
        ),
        "surveys": _surveys(result, ids, answers, np.lexsort((answers.customer, answers.time))),
        "consents": _consents(result, ids),
    }


def campaign_tables(campaigns: tuple[Campaign, ...]) -> dict[str, pa.Table]:
    """The run-wide campaigns and offers tables."""
    numbers = np.array([c.number for c in campaigns], dtype=np.int64)
    campaign_table = make_table(
        "campaigns",
        {
            "campaign_id": numbered_ids("CP", numbers, 4),
            "name": pa.array([c.name for c in campaigns], pa.string()),
            "objective": enum_strings(
                "campaigns", "objective", np.array([c.objective for c in campaigns], dtype=np.int64)
            ),
            "channel": enum_strings(
                "campaigns", "channel", np.array([c.channel for c in campaigns], dtype=np.int64)
            ),
            "starts_at": utc_timestamps(np.array([c.starts_at for c in campaigns], dtype=np.int64)),
            "ends_at": utc_timestamps(np.array([c.ends_at for c in campaigns], dtype=np.int64)),
            "holdout_share": np.array([c.holdout_share for c in campaigns], dtype=np.float64),
        },
    )
    offers = [
        (c.number, n, name, kind, cost)
        for c in campaigns
        for n, name, kind, cost in zip(
            c.offer_numbers, c.offer_names, c.offer_kinds, c.offer_costs, strict=True
        )
    ]
    column = list(zip(*offers, strict=True)) if offers else [(), (), (), (), ()]
    offer_table = make_table(
        "offers",
        {
            "offer_id": numbered_ids("OF", np.array(column[1], dtype=np.int64), 4),
            "campaign_id": numbered_ids("CP", np.array(column[0], dtype=np.int64), 4),
            "name": pa.array(list(column[2]), pa.string()),
            "kind": enum_strings("offers", "kind", np.array(column[3], dtype=np.int64)),
            "cost_minor": np.array(column[4], dtype=np.int64),
        },
    )
    return {"campaigns": campaign_table, "offers": offer_table}
