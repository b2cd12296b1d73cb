"""Password hashing and the password policy."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from tenure.auth import passwords
from tenure.core.errors import ValidationError


def test_hash_verifies_the_right_password_only() -> None:
    hashed = passwords.hash_password("correct horse battery")
    assert hashed.startswith("$argon2id$")
    assert passwords.verify_password("correct horse battery", hashed).ok
    assert not passwords.verify_password("wrong horse battery", hashed).ok


def test_same_password_hashes_differently_each_time() -> None:
    assert passwords.hash_password("correct horse battery") != passwords.hash_password(
        "correct horse battery"
    )


def test_garbage_hash_does_not_verify() -> None:
    assert not passwords.verify_password("correct horse battery", "not-a-hash").ok


def test_weak_parameters_are_rehashed_on_success() -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash("correct horse battery")
    check = passwords.verify_password("correct horse battery", weak)
    assert check.ok
    assert check.new_hash is not None
    assert passwords.verify_password("correct horse battery", check.new_hash).new_hash is None


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("short", "at least 12"),
        ("x" * (passwords.MAX_PASSWORD_LENGTH + 1), "at most"),
        (" " * 12, "whitespace"),
        ("abababababab", "4 different"),
    ],
)
def test_policy_names_the_field_and_the_rule(password: str, reason: str) -> None:
    with pytest.raises(ValidationError, match=reason) as raised:
        passwords.check_password_policy(password)
    assert raised.value.field == "password"
    assert password not in raised.value.message


def test_generated_passwords_pass_the_policy_and_differ() -> None:
    generated = {passwords.generate_password() for _ in range(20)}
    assert len(generated) == 20
    for password in generated:
        passwords.check_password_policy(password)
