"""A customer's identity from the vault: masked for staff who look customers up, clear (and
audited) for ``pii:read`` holders who ask and say why; lookups by ID number or phone.

The warehouse holds pseudonyms only; names, phones, e-mails and ID numbers are read from the
identity vault (:class:`~tenure.adapters.sql.identity.SqlIdentityVault`) and shown through
:func:`tenure.api.masking.disclose`. Lookups take the identifier in a JSON body so that it never
reaches an access log, and are audited with the kind searched, never the value.

Errors: an unknown customer, and an erased one, are 404 (the message says which); a server with
no key ring is 503, naming the fix. Whether the vault holds a customer (or anyone, for a lookup)
is read without the key ring, so those answers do not depend on it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from tenure.adapters.sql.identity import SqlIdentityVault, SqlVaultMembership
from tenure.api.customer_schemas import (
    MAX_MATCHES,
    CustomerIdentityOut,
    CustomerLookupIn,
    CustomerLookupOut,
    IdentityQuery,
)
from tenure.api.dependencies import State, require_any_permission
from tenure.api.masking import IDENTITY_COLUMNS, LOOKUP_ACTION, disclose
from tenure.api.state import ApiState
from tenure.auth.model import Principal
from tenure.auth.permissions import Permission
from tenure.core.errors import StoreUnavailable
from tenure.privacy.identity import IdentityNotFound
from tenure.privacy.keys import KeyRingError
from tenure.privacy.masking import mask_record

__all__ = ["LOOKUP_PERMISSIONS", "CustomerLookup", "router"]

router = APIRouter(prefix="/v1/customers", tags=["customers"])

# Staff whose work starts from a customer: RMs and analysts (worklists), service agents
# (complaints), fraud analysts (cases), and the privacy team.
LOOKUP_PERMISSIONS = (
    Permission.WORKLIST_READ,
    Permission.COMPLAINTS_WORK,
    Permission.CASES_WORK,
    Permission.PII_READ,
    Permission.PRIVACY_MANAGE,
)
CustomerLookup = Annotated[Principal, Depends(require_any_permission(*LOOKUP_PERMISSIONS))]
CustomerId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:@-]+$")]

_NO_KEY_RING = (
    "personal data cannot be read: this server has no key ring; an administrator runs "
    "`tenure keys init` or sets TENURE_KEYS (see `tenure keys --help`)"
)


def _vault(state: ApiState) -> SqlIdentityVault:
    """The identity vault; a missing or unreadable key ring is a 503 that names the fix."""
    try:
        return state.identity_vault()
    except KeyRingError as exc:
        # The ring's own message names server paths; the caller gets the fix, the log the rest.
        raise StoreUnavailable(_NO_KEY_RING, field="keys") from exc


@router.get("/{customer_id}/identity")
def customer_identity(
    customer_id: CustomerId,
    principal: CustomerLookup,
    state: State,
    query: Annotated[IdentityQuery, Query()],
) -> CustomerIdentityOut:
    """The customer's name, phone, e-mail and ID number, masked.

    With ``reveal=true`` and a ``reason``, a principal holding ``pii:read`` sees them in clear;
    the view is written to the audit trail (who, which customer, the fields shown, the reason).
    ``reveal`` without ``pii:read`` is 403. An unknown or erased customer is 404.
    """
    SqlVaultMembership(state.engine).require(customer_id)
    record = _vault(state).reveal(customer_id)
    shown = disclose(
        record,
        IDENTITY_COLUMNS,
        principal=principal,
        subject=f"customer:{customer_id}",
        audit=state.record_audit,
        reveal=query.reveal,
        reason=query.reason,
    )
    return CustomerIdentityOut.model_validate(
        {"customer_id": customer_id, "masked": shown.masked, **shown.values}
    )


def _find(state: ApiState, body: CustomerLookupIn) -> tuple[str, ...]:
    vault = _vault(state)
    if body.kind == "id_number":
        return vault.find_by_id_number(body.value)
    return vault.find_by_phone(body.value)


def _masked_identity(vault: SqlIdentityVault, customer_id: str) -> CustomerIdentityOut | None:
    try:
        record = vault.reveal(customer_id)
    except IdentityNotFound:
        return None  # erased between the search and now
    masked = mask_record(record, IDENTITY_COLUMNS)
    return CustomerIdentityOut.model_validate(
        {"customer_id": customer_id, "masked": True, **masked}
    )


@router.post("/lookup")
def lookup_customers(
    body: CustomerLookupIn, principal: CustomerLookup, state: State
) -> CustomerLookupOut:
    """Customers holding exactly this ID number or phone number (however it is typed), masked.

    The identifier goes in the body, never the URL. The search is audited with the kind of
    identifier and the customers found, never the value searched.
    """
    found = _find(state, body) if SqlVaultMembership(state.engine).holds_anyone() else ()
    state.record_audit(
        actor=principal.subject,
        action=LOOKUP_ACTION,
        subject=f"customers:{body.kind}",
        details={
            "searched": body.kind,
            "matches": len(found),
            "customer_ids": list(found[:MAX_MATCHES]),
        },
    )
    matches = [
        identity
        for customer_id in found[:MAX_MATCHES]
        if (identity := _masked_identity(_vault(state), customer_id)) is not None
    ]
    return CustomerLookupOut(
        searched=body.kind, matches=matches, truncated=len(found) > MAX_MATCHES
    )
