"""The bank's protection numbers from YAML: defaults when silent, changes where named, refusals
that name the field."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from tenure.core.errors import ConfigurationError
from tenure.core.outcome import Outcome
from tenure.protection.configuration import (
    ProtectionConfig,
    apply_document,
    config_document,
    load_protection_config,
)
from tenure.protection.events import EventKind


def test_no_file_means_the_defaults_and_the_printed_defaults_read_back_the_same() -> None:
    defaults = load_protection_config(None)
    assert config_document(defaults) == config_document(ProtectionConfig())
    printed = yaml.safe_dump(config_document(defaults))
    assert config_document(apply_document(yaml.safe_load(printed))) == config_document(defaults)


def test_a_file_changes_only_what_it_names(tmp_path: Path) -> None:
    path = tmp_path / "protection.yaml"
    path.write_text(
        """
costs:
  churn_sensitivity: 2.5
  unknown_customer: {clv_minor: 800000, p_churn: 0.2}
  actions:
    step_up: {handling_minor: 25}
exposure_minor: {login: 1000000}
limits:
  step_up_window_minutes: 3
  products:
    transfer_daily: {default_minor: 5000000, maximum_minor: 9000000, event_kind: transfer}
    wealth_transfer_daily: {default_minor: 0, maximum_minor: 100000000}
step_up: {expiry_minutes: 2, max_attempts: 5, failed_outcome: hold}
""",
        encoding="utf-8",
    )
    config = load_protection_config(path)
    defaults = ProtectionConfig()
    costs = config.costs
    assert costs.handling_minor[Outcome.STEP_UP] == 25.0
    assert costs.miss[Outcome.STEP_UP] == defaults.costs.miss[Outcome.STEP_UP]  # not named
    assert costs.direct_minor == defaults.costs.direct_minor
    assert (costs.churn_sensitivity, costs.default_customer.clv_minor) == (2.5, 800_000)
    assert costs.default_customer.known is False
    assert config.exposure_minor[EventKind.LOGIN] == 1_000_000
    payee_add = EventKind.PAYEE_ADD
    assert config.exposure_minor[payee_add] == defaults.exposure_minor[payee_add]
    daily = config.limits.product("transfer_daily")
    assert (daily.default_minor, daily.maximum_minor, daily.event_kind) == (
        5_000_000,
        9_000_000,
        "transfer",
    )
    assert config.limits.product("single_transfer") == defaults.limits.product("single_transfer")
    assert config.limits.product("wealth_transfer_daily").event_kind is None
    assert config.limits.step_up_window == timedelta(minutes=3)
    assert config.step_up.expiry == timedelta(minutes=2)
    assert (config.step_up.max_attempts, config.step_up.failed_outcome) == (5, Outcome.HOLD)
    policy = config.policy()
    assert policy.params is costs
    assert policy.exposure_minor[EventKind.LOGIN] == 1_000_000


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ({"costs": {"actions": {"step_up": {"mis": 0.1}}}}, "costs.actions.step_up.mis"),
        ({"costs": {"actions": {"step_up": {"miss": 1.5}}}}, "costs.actions.step_up.miss"),
        ({"costs": {"actions": {"block": {"miss": 0.1}}}}, "costs.actions.block"),
        ({"exposure_minor": {"transfer": 5}}, "exposure_minor.transfer"),
        (
            {"limits": {"products": {"x": {"default_minor": 9, "maximum_minor": 1}}}},
            "default_minor",
        ),
        (
            {"limits": {"products": {"x": {"maximum_minor": 9, "event_kind": "login"}}}},
            "limits.products.x.default_minor",
        ),
        (
            {
                "limits": {
                    "products": {
                        "x": {"default_minor": 1, "maximum_minor": 9, "event_kind": "login"}
                    }
                }
            },
            "limits.products.x.event_kind",
        ),
        ({"limits": {"currency": "yuan"}}, "limits.currency"),
        ({"step_up": {"max_attempts": 0}}, "step_up.max_attempts"),
        ({"step_up": {"totp_window": 11}}, "step_up.totp_window"),
        (["not", "a", "mapping"], "protection config"),
    ],
)
def test_a_refused_file_names_the_field(document: object, field: str) -> None:
    with pytest.raises(ConfigurationError) as refused:
        apply_document(document)
    assert refused.value.field == field
    assert field in str(refused.value) or refused.value.field == "default_minor"


def test_a_file_that_is_not_yaml_is_refused_with_its_path(tmp_path: Path) -> None:
    path = tmp_path / "protection.yaml"
    path.write_text("costs: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match=r"protection\.yaml") as refused:
        load_protection_config(path)
    assert refused.value.field == "protection_config_file"
