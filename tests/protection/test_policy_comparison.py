"""The policy comparison's bill: both policies decide, and are billed, with the exposures given."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tenure.core.decision import CostParameters, CustomerValue
from tenure.protection.comparison import Ledger, best_threshold, charge, expected_cost_result
from tenure.protection.events import EventKind

_CUSTOMER = CustomerValue(300_000, 0.1)


def _logins(*, fraud: bool) -> pd.DataFrame:
    return pd.DataFrame(
        {"kind": ["login"], "amount_minor": [0], "is_fraud": [fraud], "customer_id": ["C1"]}
    )


def test_the_expected_cost_policy_weighs_a_login_by_the_exposure_it_is_given() -> None:
    events, p, values = _logins(fraud=False), np.array([0.05]), np.array([300_000.0])
    built_in = Ledger(CostParameters.default(), 0.01)
    small = Ledger(CostParameters.default(), 0.01, {EventKind.LOGIN: 1_000})

    # 5 % of 2,000 CNY at stake is worth a one-time password; 5 % of 10 CNY is not
    assert expected_cost_result(events, p, [_CUSTOMER], values, built_in).outcomes == {"step_up": 1}
    assert expected_cost_result(events, p, [_CUSTOMER], values, small).outcomes == {"allow": 1}


def test_a_fraudulent_login_let_through_costs_the_configured_exposure() -> None:
    events, values = _logins(fraud=True), np.array([300_000.0])
    ledger = Ledger(CostParameters.default(), 0.01, {EventKind.LOGIN: 1_000})

    assert charge("allow", np.array([0]), events, values, ledger).fraud_loss_minor == 1_000.0
    _, threshold = best_threshold(events, np.array([0.001]), values, ledger)
    assert threshold.fraud_loss_minor <= 1_000.0
