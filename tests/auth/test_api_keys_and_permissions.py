"""Machine keys and the role -> permission table."""

from __future__ import annotations

import pytest

from tenure.auth import api_keys
from tenure.auth.permissions import ROLE_PERMISSIONS, Permission, has_permission, permissions_for
from tenure.core.errors import AuthenticationFailed
from tenure.core.roles import Role


def test_generated_key_parses_back_and_matches_its_hash() -> None:
    key = api_keys.generate_key()
    prefix, secret = api_keys.parse_key(key.plaintext)
    assert key.plaintext.startswith(f"tnr_{key.prefix}_")
    assert prefix == key.prefix
    assert api_keys.secret_matches(secret, key.secret_hash)
    assert secret not in key.secret_hash


def test_wrong_secret_does_not_match() -> None:
    key = api_keys.generate_key()
    other = api_keys.generate_key()
    _, other_secret = api_keys.parse_key(other.plaintext)
    assert not api_keys.secret_matches(other_secret, key.secret_hash)


@pytest.mark.parametrize("presented", ["", "tnr_", "tnr__x", "abc_123_x", "tnr_abc", "Bearer x"])
def test_malformed_key_is_rejected(presented: str) -> None:
    with pytest.raises(AuthenticationFailed):
        api_keys.parse_key(presented)


def test_every_role_has_permissions_declared() -> None:
    assert set(ROLE_PERMISSIONS) == set(Role)


def test_admin_holds_every_permission() -> None:
    assert permissions_for([Role.ADMIN]) == frozenset(Permission)


def test_only_admin_manages_users_and_keys() -> None:
    for role in Role:
        expected = role is Role.ADMIN
        assert has_permission([role], Permission.USERS_MANAGE) is expected
        assert has_permission([role], Permission.API_KEYS_MANAGE) is expected


def test_permissions_of_several_roles_add_up() -> None:
    combined = permissions_for([Role.SERVICE_AGENT, Role.PRIVACY_OFFICER])
    assert Permission.COMPLAINTS_WORK in combined
    assert Permission.AUDIT_READ in combined
