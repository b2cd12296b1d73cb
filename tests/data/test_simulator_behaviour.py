"""The simulated bank behaves as designed: labels match their definitions, churners and fraud
leave realistic traces, campaigns are randomised and their truth is recorded."""

from __future__ import annotations

import bisect
from collections import defaultdict
from pathlib import Path

import duckdb
import pytest
from test_simulator import load, run

from tenure.data.simulator import SimulationConfig

DAY = 86_400
INITIATED = (
    "('transfer_out','card_purchase','cash_withdrawal','cash_deposit','bill_payment','investment')"
)


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> duckdb.DuckDBPyConnection:
    return load(run(tmp_path_factory.mktemp("bank")))


def _rows(db: duckdb.DuckDBPyConnection, sql: str) -> list[tuple[object, ...]]:
    return db.execute(sql).fetchall()


def _count(db: duckdb.DuckDBPyConnection, sql: str) -> int:
    found = db.execute(sql).fetchone()
    assert found is not None
    return int(found[0])


def test_closure_labels_are_the_closed_customers(db: duckdb.DuckDBPyConnection) -> None:
    mismatched = _count(
        db,
        """
        SELECT count(*) FROM churn_labels l JOIN customers c USING (customer_id)
        WHERE l.definition <> 'closure' OR l.churned <> (c.closed_at IS NOT NULL)
           OR l.churned_at IS DISTINCT FROM c.closed_at""",
    )
    assert mismatched == 0
    rate = _count(db, "SELECT 1000 * avg(churned::INT) FROM churn_labels") / 1000
    assert 0.06 <= rate <= 0.2
    closed_accounts = _count(
        db,
        """
        SELECT count(*) FROM accounts a JOIN customers c USING (customer_id)
        WHERE c.closed_at IS NOT NULL AND (a.status <> 'closed' OR a.balance_minor <> 0)""",
    )
    assert closed_accounts == 0


def test_payees_are_registered_before_use_and_before_their_owner_leaves(
    db: duckdb.DuckDBPyConnection,
) -> None:
    assert _count(db, "SELECT count(*) FROM payees") > 0
    after_closure = _count(
        db,
        "SELECT count(*) FROM payees p JOIN customers c USING (customer_id) "
        "WHERE p.added_at > c.closed_at",
    )
    used_before = _count(
        db,
        "SELECT count(*) FROM transactions t JOIN payees p USING (payee_id) "
        "WHERE t.occurred_at < p.added_at",
    )
    changed_before = _count(
        db,
        "SELECT count(*) FROM profile_changes x JOIN payees p USING (payee_id) "
        "WHERE x.changed_at < p.added_at",
    )
    assert (after_closure, used_before, changed_before) == (0, 0, 0)


def test_dormancy_labels_follow_90_days_without_initiated_transactions(tmp_path: Path) -> None:
    db = load(run(tmp_path, customers=900, chunk_size=450, churn_definition="dormancy_90d"))
    start = SimulationConfig().start_second
    end = _count(db, "SELECT epoch(TIMESTAMPTZ '2026-01-01 00:00:00+00')")
    opened = dict(_rows(db, "SELECT customer_id, epoch(opened_at)::BIGINT FROM customers"))
    moments: dict[object, list[int]] = defaultdict(list)
    for customer, moment in _rows(
        db,
        f"""
            SELECT customer_id, epoch(occurred_at)::BIGINT FROM transactions
            WHERE status = 'posted' AND channel <> 'batch' AND kind IN {INITIATED}""",
    ):
        moments[customer].append(int(moment))  # type: ignore[call-overload]
    labels = dict(_rows(db, "SELECT customer_id, epoch(churned_at)::BIGINT FROM churn_labels"))
    for customer, anchor in opened.items():
        points = sorted([max(int(anchor), start), *moments[customer]])  # type: ignore[call-overload]
        expected = None
        for here, following in zip(points, [*points[1:], end], strict=True):
            if following - here >= 90 * DAY and here + 90 * DAY <= end:
                expected = here + 90 * DAY
                break
        assert labels[customer] == expected, customer
    assert 0 < sum(v is not None for v in labels.values()) < len(labels)


def _month_end_deposits(
    db: duckdb.DuckDBPyConnection, bounds: list[int]
) -> dict[object, list[int]]:
    postings: dict[object, list[tuple[int, int, int]]] = defaultdict(list)
    for account, moment, after, signed in _rows(
        db,
        """
            SELECT account_id, epoch(occurred_at)::BIGINT, balance_after_minor,
                   CASE WHEN direction = 'credit' THEN amount_minor ELSE -amount_minor END
            FROM transactions WHERE status = 'posted' ORDER BY occurred_at, transaction_id""",
    ):
        postings[account].append((int(moment), int(after), int(signed)))  # type: ignore[call-overload]
    totals: dict[object, list[int]] = defaultdict(lambda: [0] * len(bounds))
    for account, customer, balance in _rows(
        db,
        """
            SELECT account_id, customer_id, balance_minor FROM accounts
            WHERE product IN ('current', 'savings', 'term_deposit', 'wealth')""",
    ):
        rows = postings.get(account, [])
        opening = rows[0][1] - rows[0][2] if rows else int(balance)  # type: ignore[call-overload]
        times = [r[0] for r in rows]
        for i, bound in enumerate(bounds):
            at = bisect.bisect_left(times, bound)
            totals[customer][i] += rows[at - 1][1] if at else opening
    return totals


def test_balance_flight_labels_follow_the_deposit_totals(tmp_path: Path) -> None:
    config = SimulationConfig(
        customers=900, chunk_size=450, seed=11, churn_definition="balance_flight_80"
    )
    db = load(run(tmp_path, customers=900, chunk_size=450, churn_definition="balance_flight_80"))
    bounds = config.month_bounds()
    labels = dict(_rows(db, "SELECT customer_id, epoch(churned_at)::BIGINT FROM churn_labels"))
    for customer, totals in _month_end_deposits(db, bounds).items():
        expected = None
        for column in range(3, len(bounds)):
            average = sum(totals[column - 3 : column]) / 3
            if average >= 100_000 and totals[column] <= 0.2 * average:
                expected = bounds[column] - 1
                break
        assert labels[customer] == expected, customer
    assert sum(v is not None for v in labels.values()) > 0


def test_churners_fade_before_they_close(db: duckdb.DuckDBPyConnection) -> None:
    before, last = db.execute("""
        WITH closers AS (SELECT customer_id, closed_at FROM customers
                         WHERE closed_at >= TIMESTAMPTZ '2025-06-01 00:00:00+00')
        SELECT
          sum(count(*) FILTER (WHERE e.occurred_at < c.closed_at - INTERVAL 120 DAY)
              / (epoch(c.closed_at - INTERVAL 120 DAY)
                 - epoch(TIMESTAMPTZ '2025-01-01 00:00:00+00'))
              * 30 * 86400) OVER (),
          sum(count(*) FILTER (WHERE e.occurred_at >= c.closed_at - INTERVAL 60 DAY) / 2.0) OVER ()
        FROM closers c LEFT JOIN digital_events e
          ON e.customer_id = c.customer_id AND e.event_type = 'login'
        GROUP BY c.customer_id, c.closed_at LIMIT 1""").fetchone() or (0, 0)
    assert float(last) < 0.7 * float(before)
    drained = _count(
        db,
        """
        SELECT 1000 * avg(((SELECT count(*) FROM transactions t
                    WHERE t.customer_id = c.customer_id AND t.kind = 'transfer_out'
                      AND t.counterparty_bank <> 'TENURE' AND t.counterparty = c.full_name
                      AND t.occurred_at >= c.closed_at - INTERVAL 90 DAY) > 0)::INT)
        FROM customers c WHERE c.closed_at IS NOT NULL""",
    )
    assert drained > 800


def test_fraud_is_rare_labelled_and_points_to_rows(db: duckdb.DuckDBPyConnection) -> None:
    share = _count(
        db,
        """SELECT 1e6 * (SELECT count(*) FROM fraud_labels
                         WHERE entity_type = 'transaction' AND is_fraud)
                          / (SELECT count(*) FROM transactions)""",
    )
    assert 0 < share < 10_000
    kinds = {k for (k,) in _rows(db, "SELECT DISTINCT fraud_type FROM fraud_labels WHERE is_fraud")}
    assert kinds == {"account_takeover", "card_testing", "mule", "payee_change_fraud"}
    assert _count(db, "SELECT count(*) FROM fraud_labels WHERE NOT is_fraud") > 0
    for entity, table, key in (
        ("transaction", "transactions", "transaction_id"),
        ("digital_event", "digital_events", "event_id"),
        ("payee", "payees", "payee_id"),
        ("profile_change", "profile_changes", "change_id"),
    ):
        orphans = _count(
            db,
            f"""SELECT count(*) FROM fraud_labels l WHERE entity_type = '{entity}' AND NOT EXISTS
                                 (SELECT 1 FROM {table} r
                                  WHERE r.{key} = l.entity_id AND r.customer_id = l.customer_id)""",
        )
        assert orphans == 0, entity


def test_takeovers_follow_login_change_new_payee_then_transfer(
    db: duckdb.DuckDBPyConnection,
) -> None:
    takeovers = _count(
        db,
        """
        SELECT count(*) FROM transactions t
        JOIN fraud_labels l ON l.entity_id = t.transaction_id
        WHERE l.fraud_type = 'account_takeover'""",
    )
    assert takeovers >= 3
    broken = _count(
        db,
        """
        WITH ato AS (SELECT t.* FROM transactions t
                     JOIN fraud_labels l ON l.entity_id = t.transaction_id
                     WHERE l.fraud_type = 'account_takeover')
        SELECT count(*) FROM ato WHERE NOT (
          EXISTS (SELECT 1 FROM digital_events e JOIN fraud_labels l ON l.entity_id = e.event_id
                  WHERE e.customer_id = ato.customer_id AND e.device_id = ato.device_id
                    AND e.event_type = 'login'
                    AND e.success AND e.occurred_at < ato.occurred_at)
          AND EXISTS (SELECT 1 FROM profile_changes c
                  JOIN fraud_labels l ON l.entity_id = c.change_id
                  WHERE c.customer_id = ato.customer_id AND c.device_id = ato.device_id
                    AND c.field IN ('phone', 'password', 'device_binding')
                    AND c.changed_at < ato.occurred_at)
          AND EXISTS (SELECT 1 FROM payees p JOIN fraud_labels l ON l.entity_id = p.payee_id
                  WHERE p.payee_id = ato.payee_id AND p.added_at < ato.occurred_at
                    AND p.device_id = ato.device_id)
          AND NOT EXISTS (SELECT 1 FROM digital_events e WHERE e.customer_id = ato.customer_id
                  AND e.device_id = ato.device_id
                  AND e.occurred_at < ato.occurred_at - INTERVAL 1 DAY))""",
    )
    assert broken == 0


def test_mules_fan_in_from_many_customers_then_fan_out(db: duckdb.DuckDBPyConnection) -> None:
    rings = _rows(
        db,
        """
        SELECT t.customer_id, count(DISTINCT t.counterparty) FILTER (WHERE t.direction = 'credit'),
               count(*) FILTER (WHERE t.direction = 'debit' AND t.counterparty_bank <> 'TENURE')
        FROM transactions t JOIN fraud_labels l ON l.entity_id = t.transaction_id
        JOIN customer_truth c ON c.customer_id = t.customer_id
        WHERE l.fraud_type = 'mule' AND c.is_mule GROUP BY t.customer_id""",
    )
    assert rings
    assert all(int(senders) >= 3 and int(out) >= 2 for _, senders, out in rings)  # type: ignore[call-overload]


def test_campaign_arms_are_random_with_the_declared_holdout(db: duckdb.DuckDBPyConnection) -> None:
    shares = _rows(
        db,
        """
        SELECT c.holdout_share, avg((k.arm = 'holdout')::INT), count(*)
        FROM contacts k JOIN campaigns c USING (campaign_id)
        GROUP BY c.campaign_id, c.holdout_share""",
    )
    assert len(shares) >= 3
    for declared, observed, size in shares:
        tolerance = 4 * (float(declared) * (1 - float(declared)) / int(size)) ** 0.5 + 0.01  # type: ignore[call-overload]
        assert abs(float(observed) - float(declared)) < tolerance  # type: ignore[arg-type]
    effects = dict(
        _rows(db, "SELECT uplift_class, avg(treatment_effect) FROM contact_truth GROUP BY 1")
    )
    assert float(effects["persuadable"]) < 0 < float(effects["do_not_disturb"])  # type: ignore[arg-type]
    assert float(effects["sure_thing"]) == 0.0  # type: ignore[arg-type]


def test_service_text_comes_in_chinese_and_english_and_varies(
    db: duckdb.DuckDBPyConnection,
) -> None:
    languages = dict(
        _rows(db, "SELECT language, count(DISTINCT text) FROM interactions GROUP BY 1")
    )
    assert int(languages["zh"]) > 200  # type: ignore[call-overload]
    assert int(languages["en"]) > 10  # type: ignore[call-overload]
    topics = {
        t for (t,) in _rows(db, "SELECT DISTINCT topic FROM interactions WHERE kind = 'complaint'")
    }
    assert {"fees", "app", "transfer", "card", "fraud"} <= topics
    assert (
        _count(db, "SELECT count(*) FROM interactions WHERE text LIKE '%' || chr(10) || '%'") == 0
    )
    nps = _count(db, "SELECT count(DISTINCT score) FROM surveys WHERE kind = 'nps'")
    assert nps >= 8
    assert _count(db, "SELECT count(*) FROM consents WHERE status = 'withdrawn'") > 0
