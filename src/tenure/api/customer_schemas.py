"""Request and response bodies of the customer identity routes (``tenure.api.routes.customers``).

Identifiers a caller searches by travel in a JSON body, never in the URL, so that they stay out
of access logs and browser histories. Validation messages describe the rule, never the input.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tenure.api.masking import REASON_MAX_LENGTH, REASON_MIN_LENGTH

__all__ = [
    "MAX_MATCHES",
    "CustomerIdentityOut",
    "CustomerLookupIn",
    "CustomerLookupOut",
    "IdentityQuery",
    "LookupKind",
]

MAX_MATCHES = 50
LookupKind = Literal["id_number", "phone"]


class IdentityQuery(BaseModel):
    """Query of ``GET /v1/customers/{customer_id}/identity``; an unknown parameter is a 422."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    reveal: bool = Field(
        default=False,
        description="Show the values in clear (needs pii:read and a reason; the view is audited).",
    )
    reason: str | None = Field(
        default=None,
        min_length=REASON_MIN_LENGTH,
        max_length=REASON_MAX_LENGTH,
        description="Why the clear values are needed (e.g. a complaint or case number); "
        "recorded in the audit trail. Required with reveal=true.",
        examples=["complaint CMP-2025-0042: customer called to confirm identity"],
    )


class CustomerIdentityOut(BaseModel):
    """A customer's name, phone, e-mail and ID number: masked unless ``masked`` is false."""

    model_config = ConfigDict(extra="forbid")

    customer_id: str = Field(examples=["C000123"])
    masked: bool = Field(description="False only for an audited clear view.")
    full_name: str | None = Field(examples=["张**"])
    phone: str | None = Field(examples=["138****1234"])
    email: str | None = Field(examples=["a***@example.com"])
    id_number: str | None = Field(examples=["1101**********1234"])


class CustomerLookupIn(BaseModel):
    """Find customers by exact ID number or phone number (one of them, not both)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id_number: str | None = Field(default=None, min_length=1, max_length=64)
    phone: str | None = Field(default=None, min_length=1, max_length=64)

    @model_validator(mode="after")
    def _exactly_one(self) -> CustomerLookupIn:
        if (self.id_number is None) == (self.phone is None):
            raise ValueError("give exactly one of id_number or phone")
        return self

    @property
    def kind(self) -> LookupKind:
        """Which identifier is searched."""
        return "id_number" if self.id_number is not None else "phone"

    @property
    def value(self) -> str:
        """The identifier searched (never logged, audited or echoed)."""
        found = self.id_number if self.id_number is not None else self.phone
        assert found is not None  # the validator guarantees one
        return found


class CustomerLookupOut(BaseModel):
    """The customers holding the searched identifier, masked, by customer id."""

    model_config = ConfigDict(extra="forbid")

    searched: LookupKind
    matches: list[CustomerIdentityOut] = Field(
        description=f"At most {MAX_MATCHES}; reveal one with GET /v1/customers/{{id}}/identity."
    )
    truncated: bool = Field(description=f"More than {MAX_MATCHES} customers matched.")
