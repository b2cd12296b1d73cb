"""The retention routes: one customer's scores and the at-risk worklist, read from the warehouse."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pytest

from tenure.adapters.sql import SqlUnitOfWorkFactory
from tenure.api.retention_schemas import format_money
from tenure.api.routes.retention import rm_scope
from tenure.auth import service, tokens
from tenure.auth.model import Principal
from tenure.auth.permissions import Permission
from tenure.core.clock import FixedClock
from tenure.core.roles import Role
from tenure.settings import Settings

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

ErrorOf = Callable[[object, str], dict[str, object]]
Headers = dict[str, str]
BearerFor = Callable[..., Headers]

LATEST = datetime(2025, 2, 28, 6, 0, tzinfo=UTC)
EARLIER = datetime(2025, 1, 31, 6, 0, tzinfo=UTC)
AT_RISK = "/v1/retention/at-risk"
NO_SCORES = "no retention scores yet; run `tenure retention score`"

COLUMNS = (
    "as_of TIMESTAMPTZ, customer_id VARCHAR, rm_id VARCHAR, model_version VARCHAR, "
    "p_churn DOUBLE, risk_band VARCHAR, value_tier VARCHAR, activity_tier VARCHAR, "
    "risk_tier VARCHAR, lifecycle_stage VARCHAR, lifecycle_reason VARCHAR, segment INTEGER, "
    "segment_name VARCHAR, value_12m_minor BIGINT, value_at_risk_minor BIGINT, "
    "expected_months_to_churn DOUBLE, p_churn_30d DOUBLE, p_churn_90d DOUBLE, "
    "p_churn_180d DOUBLE, inflow_forecast_minor BIGINT, spend_forecast_minor BIGINT, "
    "reason_1 VARCHAR, reason_2 VARCHAR, reason_3 VARCHAR, scored_at TIMESTAMPTZ"
)
# (customer, rm, p_churn, value tier, risk tier, stage, segment, segment name, value_12m)
LATEST_ROWS: tuple[tuple[Any, ...], ...] = (
    ("c01", "rm-amy", 0.80, "gold", "high", "at_risk", 1, "Savers", 1_000_000),
    ("c02", "rm-amy", 0.40, "gold", "medium", "active", 1, "Savers", 2_000_000),
    ("c03", "rm-bo", 0.90, "silver", "high", "at_risk", 2, "Spenders", 500_000),
    ("c04", "rm-bo", 0.10, "platinum", "low", "active", 0, "Wealth", 9_000_000),
    ("c05", "rm-amy", 0.55, "silver", "medium", "at_risk", 2, "Spenders", 100_000),
    ("c06", None, 0.05, "bronze", "low", "new", 3, "Starters", 20_000),
    ("c07", "rm-cy", 0.70, "bronze", "high", "at_risk", 3, "Starters", 60_000),
)
EARLIER_ROWS: tuple[tuple[Any, ...], ...] = (
    ("c01", "rm-amy", 0.30, "gold", "medium", "active", 1, "Savers", 1_000_000),
    ("c08", "rm-amy", 0.60, "silver", "high", "at_risk", 2, "Spenders", 300_000),
)
# By value at risk, descending; c01 and c02 tie at 800,000 and the id decides.
LATEST_ORDER = ["c04", "c01", "c02", "c03", "c05", "c07", "c06"]


def _record(as_of: datetime, spec: tuple[Any, ...]) -> tuple[Any, ...]:
    customer, rm_id, p_churn, value_tier, risk_tier, stage, segment, name, value = spec
    reasons = (
        ("Salary stopped arriving 2 months ago.", "Balance fell 60% in 90 days.", None)
        if customer == "c01"
        else (None, None, None)
    )
    return (
        as_of, customer, rm_id, "churn-v3", p_churn, "high" if p_churn >= 0.5 else "low",
        value_tier, "dormant" if p_churn >= 0.5 else "active", risk_tier, stage,
        "no card spend for 45 days" if stage == "at_risk" else None, segment, name, value,
        round(p_churn * value), 24 * (1 - p_churn), p_churn / 4, p_churn / 2, p_churn * 0.8,
        350_000, -120_049, *reasons, as_of + timedelta(hours=1),
    )  # fmt: skip


def _write_warehouse(path: Path) -> None:
    records = [_record(LATEST, spec) for spec in LATEST_ROWS]
    records += [_record(EARLIER, spec) for spec in EARLIER_ROWS]
    with duckdb.connect(str(path)) as connection:
        connection.execute(f"CREATE TABLE customer_retention ({COLUMNS})")
        marks = ", ".join("?" * len(records[0]))
        connection.executemany(f"INSERT INTO customer_retention VALUES ({marks})", records)


@pytest.fixture
def warehouse(settings: Settings) -> Path:
    _write_warehouse(settings.warehouse_path)
    return settings.warehouse_path


@pytest.fixture
def bearer_for(
    uow_factory: SqlUnitOfWorkFactory, settings: Settings, clock: FixedClock
) -> BearerFor:
    """Headers of a new user called ``username`` holding ``roles``."""

    def make(username: str, *roles: Role) -> Headers:
        user = service.create_user(
            uow=uow_factory(), username=username, password="correct horse battery", roles=roles
        )
        assert settings.jwt_secret is not None
        principal = service.principal_for(user)
        token = tokens.issue_token(
            principal=principal, secret=settings.jwt_secret, clock=clock, ttl=timedelta(hours=1)
        )
        return {"Authorization": f"Bearer {token}"}

    return make


@pytest.fixture
def retention_analyst(bearer_for: BearerFor) -> Headers:
    return bearer_for("ana", Role.RETENTION_ANALYST)


@pytest.fixture
def amy(bearer_for: BearerFor) -> Headers:
    """The relationship manager of c01, c02 and c05."""
    return bearer_for("rm-amy", Role.RELATIONSHIP_MANAGER)


def _ids(body: dict[str, Any]) -> list[str]:
    return [item["customer_id"] for item in body["items"]]


def test_at_risk_is_ordered_by_value_at_risk_with_ties_broken_by_id(
    client: TestClient, warehouse: Path, retention_analyst: Headers
) -> None:
    response = client.get(AT_RISK, headers=retention_analyst)
    assert response.status_code == 200
    body = response.json()
    assert _ids(body) == LATEST_ORDER
    assert (body["total"], body["next_offset"], body["limit"]) == (7, None, 50)
    assert datetime.fromisoformat(body["as_of"]) == LATEST


def test_at_risk_item_holds_value_tiers_segment_reasons_and_rm(
    client: TestClient, warehouse: Path, retention_analyst: Headers
) -> None:
    items = client.get(AT_RISK, headers=retention_analyst).json()["items"]
    c01 = next(item for item in items if item["customer_id"] == "c01")
    assert c01 == {
        "customer_id": "c01",
        "rm_id": "rm-amy",
        "p_churn": 0.8,
        "risk_band": "high",
        "value_at_risk": {"minor_units": 800_000, "currency": "CNY", "formatted": "8,000 CNY"},
        "value_12m": {"minor_units": 1_000_000, "currency": "CNY", "formatted": "10,000 CNY"},
        "tiers": {"value": "gold", "activity": "dormant", "risk": "high"},
        "lifecycle_stage": "at_risk",
        "segment": {"number": 1, "name": "Savers"},
        "reasons": ["Salary stopped arriving 2 months ago.", "Balance fell 60% in 90 days."],
    }


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"value_tier": "gold"}, ["c01", "c02"]),
        ({"risk_tier": "high"}, ["c01", "c03", "c07"]),
        ({"segment": 2}, ["c03", "c05"]),
        ({"lifecycle_stage": "at_risk"}, ["c01", "c03", "c05", "c07"]),
        ({"rm_id": "rm-bo"}, ["c04", "c03"]),
        ({"min_p_churn": 0.7}, ["c01", "c03", "c07"]),
        ({"risk_tier": "high", "segment": 3}, ["c07"]),
        ({"value_tier": "no-such-tier"}, []),
    ],
)
def test_each_filter_narrows_the_list_and_keeps_the_order(
    client: TestClient,
    warehouse: Path,
    retention_analyst: Headers,
    params: dict[str, Any],
    expected: list[str],
) -> None:
    body = client.get(AT_RISK, headers=retention_analyst, params=params).json()
    assert _ids(body) == expected
    assert body["total"] == len(expected)


def test_pages_return_every_row_once_with_the_total(
    client: TestClient, warehouse: Path, retention_analyst: Headers
) -> None:
    seen: list[str] = []
    offset: int | None = 0
    while offset is not None:
        params = {"limit": 3, "offset": offset}
        body = client.get(AT_RISK, headers=retention_analyst, params=params).json()
        assert body["total"] == 7
        assert len(body["items"]) <= 3
        seen += _ids(body)
        offset = body["next_offset"]
    assert seen == LATEST_ORDER
    past_end = client.get(AT_RISK, headers=retention_analyst, params={"offset": 50}).json()
    assert (past_end["items"], past_end["total"], past_end["next_offset"]) == ([], 7, None)


def test_as_of_picks_an_earlier_scoring_date(
    client: TestClient, warehouse: Path, retention_analyst: Headers
) -> None:
    body = client.get(AT_RISK, headers=retention_analyst, params={"as_of": "2025-01-31"}).json()
    assert _ids(body) == ["c01", "c08"]
    assert datetime.fromisoformat(body["as_of"]) == EARLIER
    earlier = client.get("/v1/customers/c01/retention?as_of=2025-01-31", headers=retention_analyst)
    latest = client.get("/v1/customers/c01/retention", headers=retention_analyst)
    assert (earlier.json()["p_churn"], latest.json()["p_churn"]) == (0.3, 0.8)


def test_customer_retention_holds_scores_tiers_value_reasons_and_forecast(
    client: TestClient, warehouse: Path, retention_analyst: Headers
) -> None:
    response = client.get("/v1/customers/c01/retention", headers=retention_analyst)
    assert response.status_code == 200
    body = response.json()
    assert datetime.fromisoformat(body.pop("as_of")) == LATEST
    assert datetime.fromisoformat(body.pop("scored_at")) == LATEST + timedelta(hours=1)
    assert body == {
        "customer_id": "c01",
        "model_version": "churn-v3",
        "rm_id": "rm-amy",
        "p_churn": 0.8,
        "risk_band": "high",
        "horizons": {
            "p_churn_30d": 0.2,
            "p_churn_90d": 0.4,
            "p_churn_180d": pytest.approx(0.64),
            "expected_months_to_churn": pytest.approx(4.8),
        },
        "tiers": {"value": "gold", "activity": "dormant", "risk": "high"},
        "lifecycle": {"stage": "at_risk", "reason": "no card spend for 45 days"},
        "segment": {"number": 1, "name": "Savers"},
        "value_12m": {"minor_units": 1_000_000, "currency": "CNY", "formatted": "10,000 CNY"},
        "value_at_risk": {"minor_units": 800_000, "currency": "CNY", "formatted": "8,000 CNY"},
        "reasons": ["Salary stopped arriving 2 months ago.", "Balance fell 60% in 90 days."],
        "forecast": {
            "inflow": {"minor_units": 350_000, "currency": "CNY", "formatted": "3,500 CNY"},
            "spend": {"minor_units": -120_049, "currency": "CNY", "formatted": "-1,200 CNY"},
        },
    }


def test_customer_without_reasons_has_an_empty_list(
    client: TestClient, warehouse: Path, retention_analyst: Headers
) -> None:
    body = client.get("/v1/customers/c06/retention", headers=retention_analyst).json()
    assert (body["reasons"], body["rm_id"], body["lifecycle"]["reason"]) == ([], None, None)


def test_money_is_whole_units_rounded_half_up_with_separators() -> None:
    assert format_money(1_141_250) == "11,413 CNY"
    assert format_money(49) == "0 CNY"
    assert format_money(-49) == "0 CNY"
    assert format_money(-150) == "-2 CNY"
    assert format_money(123_456_789_00) == "123,456,789 CNY"


@pytest.mark.parametrize(
    "path",
    [
        "/v1/customers/c99/retention",
        "/v1/customers/c08/retention",  # scored only on the earlier date
        "/v1/customers/c01/retention?as_of=2025-02-01",
        "/v1/customers/x' OR '1'='1/retention",
        AT_RISK + "?as_of=2024-12-31",
    ],
)
def test_unknown_customer_or_date_is_404_in_the_error_shape(
    client: TestClient, warehouse: Path, retention_analyst: Headers, error_of: ErrorOf, path: str
) -> None:
    response = client.get(path, headers=retention_analyst)
    assert response.status_code == 404
    error_of(response.json(), "not_found")


@pytest.mark.parametrize("path", ["/v1/customers/c01/retention", AT_RISK])
def test_missing_warehouse_or_table_is_404_saying_how_to_score(
    client: TestClient, settings: Settings, retention_analyst: Headers, error_of: ErrorOf, path: str
) -> None:
    missing_file = client.get(path, headers=retention_analyst)
    assert missing_file.status_code == 404
    assert error_of(missing_file.json(), "not_found")["message"] == NO_SCORES
    with duckdb.connect(str(settings.warehouse_path)) as connection:
        connection.execute("CREATE TABLE customers (customer_id VARCHAR)")
    missing_table = client.get(path, headers=retention_analyst)
    assert missing_table.status_code == 404
    assert error_of(missing_table.json(), "not_found")["message"] == NO_SCORES


@pytest.mark.parametrize(
    ("path", "field"),
    [
        (AT_RISK + "?limit=0", "limit"),
        (AT_RISK + "?limit=501", "limit"),
        (AT_RISK + "?min_p_churn=2", "min_p_churn"),
        (AT_RISK + "?offset=-1", "offset"),
        (AT_RISK + "?segment=two", "segment"),
        (AT_RISK + "?as_of=2025-02-30", "as_of"),
        (AT_RISK + "?tier=gold", "tier"),
        ("/v1/customers/c01/retention?as_of=yesterday", "as_of"),
    ],
)
def test_bad_parameters_are_422_in_the_error_shape(
    client: TestClient,
    warehouse: Path,
    retention_analyst: Headers,
    error_of: ErrorOf,
    path: str,
    field: str,
) -> None:
    response = client.get(path, headers=retention_analyst)
    assert response.status_code == 422
    assert error_of(response.json(), "validation_error")["field"] == field


def test_relationship_manager_lists_only_their_own_customers(
    client: TestClient, warehouse: Path, amy: Headers
) -> None:
    body = client.get(AT_RISK, headers=amy).json()
    assert _ids(body) == ["c01", "c02", "c05"]
    assert {item["rm_id"] for item in body["items"]} == {"rm-amy"}
    own = client.get(AT_RISK, headers=amy, params={"rm_id": "rm-amy", "risk_tier": "high"})
    assert _ids(own.json()) == ["c01"]


def test_relationship_manager_cannot_widen_the_list_to_another_rm(
    client: TestClient, warehouse: Path, amy: Headers, error_of: ErrorOf
) -> None:
    response = client.get(AT_RISK, headers=amy, params={"rm_id": "rm-bo"})
    assert response.status_code == 403
    assert error_of(response.json(), "permission_denied")["field"] == "rm_id"


def test_relationship_manager_sees_another_rms_customer_as_unknown(
    client: TestClient, warehouse: Path, amy: Headers, error_of: ErrorOf
) -> None:
    assert client.get("/v1/customers/c01/retention", headers=amy).status_code == 200
    others = client.get("/v1/customers/c03/retention", headers=amy)
    unknown = client.get("/v1/customers/c99/retention", headers=amy)
    assert others.status_code == unknown.status_code == 404
    assert error_of(others.json(), "not_found")["message"] == unknown.json()["error"]["message"]
    assert client.get("/v1/customers/c06/retention", headers=amy).status_code == 404


@pytest.mark.parametrize("role", [Role.ADMIN, Role.RETENTION_ANALYST])
def test_admin_and_retention_analyst_see_every_customer(
    client: TestClient, warehouse: Path, bearer_for: BearerFor, role: Role
) -> None:
    headers = bearer_for("staff", role)
    assert _ids(client.get(AT_RISK, headers=headers).json()) == LATEST_ORDER
    for customer in ("c03", "c06", "c07"):
        path = f"/v1/customers/{customer}/retention"
        assert client.get(path, headers=headers).status_code == 200


def test_rm_who_is_also_an_analyst_is_not_confined() -> None:
    rm = Principal(subject="u1", roles=frozenset({Role.RELATIONSHIP_MANAGER}), name="rm-amy")
    both = Principal(
        subject="u2",
        roles=frozenset({Role.RELATIONSHIP_MANAGER, Role.RETENTION_ANALYST}),
        name="rm-bo",
    )
    assert rm_scope(rm, Permission.WORKLIST_READ) == "rm-amy"
    assert rm_scope(both, Permission.WORKLIST_READ) is None


def test_roles_without_retention_permissions_are_403(
    client: TestClient, warehouse: Path, analyst_headers: Headers, error_of: ErrorOf
) -> None:
    for path in ("/v1/customers/c01/retention", AT_RISK):
        response = client.get(path, headers=analyst_headers)
        assert response.status_code == 403, path
        error_of(response.json(), "permission_denied")


def test_unauthenticated_callers_are_401(
    client: TestClient, warehouse: Path, error_of: ErrorOf
) -> None:
    for path in ("/v1/customers/c01/retention", AT_RISK):
        response = client.get(path)
        assert response.status_code == 401, path
        error_of(response.json(), "authentication_failed")
