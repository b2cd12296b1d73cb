"""The bank's own protection numbers, from one YAML file: costs, exposure, limits and step-up.

Everything the decision weighs is the bank's to set: what each action lets through and costs a
good customer and the bank, what a login or a new payee exposes, the customers' limit products,
and how a step-up challenge behaves. ``tenure protection config`` prints the numbers in force (the
defaults, with the file's changes); a file names only what it changes::

    costs:
      churn_sensitivity: 1.0
      unknown_customer: {clv_minor: 300000, p_churn: 0.1}
      actions:
        step_up: {miss: 0.12, direct_minor: 50, churn_uplift: 0.009, handling_minor: 10}
    exposure_minor: {login: 200000, payee_add: 500000, profile_change: 500000}
    limits:
      currency: CNY
      exceeded_outcome: decline
      step_up_window_minutes: 10
      products:
        transfer_daily: {default_minor: 200000000, maximum_minor: 4000000000,
                         cumulative: true, event_kind: transfer}
    step_up: {expiry_minutes: 5, max_attempts: 3, failed_outcome: decline,
              start_within_minutes: 15}

A product listed under ``limits.products`` replaces the default product of that name whole; an
action under ``costs.actions`` changes only the numbers it names. A refused file names the field
and the reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticError

from tenure.core.decision import CostParameters, CustomerValue
from tenure.core.errors import ConfigurationError, TenureError
from tenure.core.outcome import Outcome
from tenure.protection.events import EventKind
from tenure.protection.limits import LimitPolicy, ProductLimit
from tenure.protection.policy import DEFAULT_EXPOSURE_MINOR, ExpectedCostPolicy
from tenure.protection.stepup import StepUpPolicy

__all__ = ["ProtectionConfig", "apply_document", "config_document", "load_protection_config"]

OutcomeName = Literal["allow", "step_up", "confirm", "dual_approval", "hold", "decline"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _ActionIn(_Strict):
    miss: float | None = Field(default=None, ge=0, le=1)
    direct_minor: float | None = Field(default=None, ge=0)
    churn_uplift: float | None = Field(default=None, ge=0, le=1)
    handling_minor: float | None = Field(default=None, ge=0)


class _CustomerIn(_Strict):
    clv_minor: int = Field(ge=0)
    p_churn: float = Field(ge=0, le=1)


class _CostsIn(_Strict):
    churn_sensitivity: float | None = Field(default=None, ge=0)
    unknown_customer: _CustomerIn | None = None
    actions: dict[OutcomeName, _ActionIn] = Field(default_factory=dict)


class _ProductIn(_Strict):
    default_minor: int = Field(ge=0)
    maximum_minor: int = Field(ge=0)
    cumulative: bool = True
    exceeded_outcome: OutcomeName | None = None
    event_kind: Literal["transfer", "card_payment"] | None = None


class _LimitsIn(_Strict):
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    exceeded_outcome: OutcomeName | None = None
    step_up_window_minutes: float | None = Field(default=None, gt=0)
    products: dict[str, _ProductIn] = Field(default_factory=dict)


class _StepUpIn(_Strict):
    expiry_minutes: float | None = Field(default=None, gt=0)
    max_attempts: int | None = Field(default=None, ge=1)
    totp_window: int | None = Field(default=None, ge=0, le=10)
    max_challenges_per_decision: int | None = Field(default=None, ge=1)
    failed_outcome: OutcomeName | None = None
    start_within_minutes: float | None = Field(default=None, gt=0)


class _ConfigIn(_Strict):
    costs: _CostsIn = Field(default_factory=_CostsIn)
    exposure_minor: dict[Literal["login", "payee_add", "profile_change"], int] = Field(
        default_factory=dict
    )
    limits: _LimitsIn = Field(default_factory=_LimitsIn)
    step_up: _StepUpIn = Field(default_factory=_StepUpIn)


@dataclass(frozen=True, slots=True)
class ProtectionConfig:
    """The numbers in force: the defaults, with a bank's file applied."""

    costs: CostParameters = field(default_factory=CostParameters.default)
    exposure_minor: Mapping[EventKind, int] = field(
        default_factory=lambda: dict(DEFAULT_EXPOSURE_MINOR)
    )
    limits: LimitPolicy = field(default_factory=LimitPolicy)
    step_up: StepUpPolicy = field(default_factory=StepUpPolicy)

    def policy(self) -> ExpectedCostPolicy:
        """The expected-cost policy on these costs and exposures."""
        return ExpectedCostPolicy(params=self.costs, exposure_minor=self.exposure_minor)


def load_protection_config(path: Path | None) -> ProtectionConfig:
    """The defaults, with the file at ``path`` applied (None or a missing default: defaults)."""
    if path is None:
        return ProtectionConfig()
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise ConfigurationError(
            f"cannot read the protection config {path}: {error}", field="protection_config_file"
        ) from error
    return apply_document(raw if raw is not None else {})


def apply_document(raw: object) -> ProtectionConfig:
    """The defaults with ``raw`` (the parsed file) applied; ``ConfigurationError`` names the
    first field refused and why."""
    try:
        document = _ConfigIn.model_validate(raw)
    except PydanticError as error:
        problem = error.errors(include_url=False, include_input=False)[0]
        parts = [str(part) for part in problem["loc"] if part != "[key]"]  # a refused key
        where = ".".join(parts) or "protection config"
        raise ConfigurationError(f"{where}: {problem['msg']}", field=where) from None
    try:
        return _applied(document)
    except TenureError as error:
        raise ConfigurationError(str(error), field=error.field) from None


def _applied(document: _ConfigIn) -> ProtectionConfig:
    base = ProtectionConfig()
    exposure = dict(base.exposure_minor)
    exposure.update({EventKind(kind): amount for kind, amount in document.exposure_minor.items()})
    return ProtectionConfig(
        costs=_costs(base.costs, document.costs),
        exposure_minor=exposure,
        limits=_limits(base.limits, document.limits),
        step_up=_step_up(base.step_up, document.step_up),
    )


def _costs(base: CostParameters, given: _CostsIn) -> CostParameters:
    tables: dict[str, dict[Outcome, float]] = {
        name: dict(getattr(base, name))
        for name in ("miss", "direct_minor", "churn_uplift", "handling_minor")
    }
    for action, numbers in given.actions.items():
        for name, value in numbers.model_dump(exclude_none=True).items():
            tables[name][Outcome(action)] = float(value)
    customer = base.default_customer
    if given.unknown_customer is not None:
        customer = CustomerValue(
            given.unknown_customer.clv_minor, given.unknown_customer.p_churn, known=False
        )
    sensitivity = given.churn_sensitivity
    return CostParameters(
        **tables,
        churn_sensitivity=base.churn_sensitivity if sensitivity is None else sensitivity,
        default_customer=customer,
    )


def _limits(base: LimitPolicy, given: _LimitsIn) -> LimitPolicy:
    products: dict[str, ProductLimit] = dict(base.products)
    for name, product in given.products.items():
        products[name] = ProductLimit(
            default_minor=product.default_minor,
            maximum_minor=product.maximum_minor,
            cumulative=product.cumulative,
            exceeded_outcome=None
            if product.exceeded_outcome is None
            else Outcome(product.exceeded_outcome),
            event_kind=product.event_kind,
        )
    window = given.step_up_window_minutes
    return LimitPolicy(
        products=products,
        currency=given.currency or base.currency,
        exceeded_outcome=Outcome(given.exceeded_outcome or base.exceeded_outcome),
        step_up_window=base.step_up_window if window is None else timedelta(minutes=window),
    )


def _step_up(base: StepUpPolicy, given: _StepUpIn) -> StepUpPolicy:
    changes: dict[str, Any] = given.model_dump(exclude_none=True)
    if "expiry_minutes" in changes:
        changes["expiry"] = timedelta(minutes=changes.pop("expiry_minutes"))
    if "failed_outcome" in changes:
        changes["failed_outcome"] = Outcome(changes["failed_outcome"])
    if "start_within_minutes" in changes:
        changes["start_within"] = timedelta(minutes=changes.pop("start_within_minutes"))
    return replace(base, **changes)


def config_document(config: ProtectionConfig) -> dict[str, Any]:
    """``config`` as a whole file (what ``tenure protection config`` prints)."""
    costs = config.costs
    return {
        "costs": {
            "churn_sensitivity": costs.churn_sensitivity,
            "unknown_customer": {
                "clv_minor": costs.default_customer.clv_minor,
                "p_churn": costs.default_customer.p_churn,
            },
            "actions": {
                outcome.value: {
                    name: getattr(costs, name)[outcome]
                    for name in ("miss", "direct_minor", "churn_uplift", "handling_minor")
                }
                for outcome in Outcome
            },
        },
        "exposure_minor": {kind.value: amount for kind, amount in config.exposure_minor.items()},
        "limits": {
            "currency": config.limits.currency,
            "exceeded_outcome": config.limits.exceeded_outcome.value,
            "step_up_window_minutes": config.limits.step_up_window.total_seconds() / 60,
            "products": {name: _product_document(p) for name, p in config.limits.products.items()},
        },
        "step_up": {
            "expiry_minutes": config.step_up.expiry.total_seconds() / 60,
            "max_attempts": config.step_up.max_attempts,
            "totp_window": config.step_up.totp_window,
            "max_challenges_per_decision": config.step_up.max_challenges_per_decision,
            "failed_outcome": config.step_up.failed_outcome.value,
            "start_within_minutes": config.step_up.start_within.total_seconds() / 60,
        },
    }


def _product_document(product: ProductLimit) -> dict[str, Any]:
    return {
        "default_minor": product.default_minor,
        "maximum_minor": product.maximum_minor,
        "cumulative": product.cumulative,
        "exceeded_outcome": None
        if product.exceeded_outcome is None
        else product.exceeded_outcome.value,
        "event_kind": product.event_kind,
    }
