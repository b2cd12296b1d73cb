"""The identity vault on SQLite and PostgreSQL, and its in-memory double, behave the same."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from protection_store import BACKENDS, open_store
from sqlalchemy.engine import Engine

from tenure.adapters.sql.identity import (
    CHUNK,
    CUSTOMER_IDENTITY,
    SqlIdentityVault,
    SqlVaultMembership,
)
from tenure.privacy.identity import (
    CustomerIdentity,
    IdentityNotFound,
    IdentityVault,
    MemoryIdentityVault,
)
from tenure.privacy.keys import DecryptionFailed, KeyRing, add_key, generate_key_ring

ANN = CustomerIdentity(
    "C1", full_name="张三丰", phone="13812341234", email="ann@example.com",
    id_number="11010119900307123X",
)  # fmt: skip
BOB = CustomerIdentity(
    "C2", full_name="Bob Lee", phone="13812341234", id_number="310101198505052345"
)


@pytest.fixture
def ring() -> KeyRing:
    return generate_key_ring()


def _empty(engine: Engine) -> None:
    # The PostgreSQL database lives for the whole session: leave the vault empty.
    with engine.begin() as connection:
        connection.execute(sa.delete(CUSTOMER_IDENTITY))


@pytest.fixture
def sql_engine(engine: Engine) -> Iterator[Engine]:
    yield engine
    _empty(engine)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine | None]:
    yield from open_store(request, tmp_path, (CUSTOMER_IDENTITY,))


@pytest.fixture
def vault(backend: Engine | None, ring: KeyRing) -> IdentityVault:
    if backend is None:
        return MemoryIdentityVault(ring)
    return SqlIdentityVault(backend, ring=ring)


def _rows(engine: Engine) -> list[dict[str, object]]:
    with engine.connect() as connection:
        return [dict(r._mapping) for r in connection.execute(sa.select(CUSTOMER_IDENTITY))]


def test_reveal_returns_the_clear_values_that_were_stored(vault: IdentityVault) -> None:
    assert vault.upsert([ANN, CustomerIdentity("C3", full_name="Only A Name")]) == 2

    assert vault.reveal("C1") == ANN.values()
    assert vault.reveal("C3") == {
        "full_name": "Only A Name", "phone": None, "email": None, "id_number": None
    }  # fmt: skip
    assert vault.count() == 2


def test_finds_customers_by_id_number_and_phone_however_they_are_typed(
    vault: IdentityVault,
) -> None:
    vault.upsert([ANN, BOB])

    assert vault.find_by_id_number("110101 19900307123x") == ("C1",)
    assert vault.find_by_id_number("310101198505052345") == ("C2",)
    assert vault.find_by_phone("+86 138 1234 1234") == ("C1", "C2")
    assert vault.find_by_id_number("999999199001011234") == ()


def test_loading_a_customer_again_keeps_one_row_and_the_same_data_key(
    vault: IdentityVault, backend: Engine | None
) -> None:
    vault.upsert([ANN])
    versions = vault.key_versions()
    renamed = CustomerIdentity("C1", full_name="张三", phone=ANN.phone, id_number=ANN.id_number)

    vault.upsert([renamed])

    assert vault.count() == 1
    assert vault.key_versions() == versions == {1: 1}
    assert vault.reveal("C1")["full_name"] == "张三"
    if backend is not None:
        before = _rows(backend)[0]["wrapped_key"]
        vault.upsert([ANN])
        assert _rows(backend)[0]["wrapped_key"] == before


def test_erase_shreds_the_identity_and_a_later_load_does_not_bring_it_back(
    vault: IdentityVault,
) -> None:
    vault.upsert([ANN, BOB])

    assert vault.erase("C1") is True
    with pytest.raises(IdentityNotFound) as caught:
        vault.reveal("C1")

    assert caught.value.erased
    assert "张" not in caught.value.message
    assert vault.find_by_id_number(ANN.id_number or "") == ()
    assert vault.find_by_phone(ANN.phone or "") == ("C2",)
    assert vault.count() == 1
    assert vault.upsert([ANN]) == 0
    with pytest.raises(IdentityNotFound):
        vault.reveal("C1")
    assert vault.reveal("C2") == BOB.values()


def test_erasing_an_unknown_customer_keeps_their_identity_out_later(vault: IdentityVault) -> None:
    assert vault.erase("C9") is False

    vault.upsert([CustomerIdentity("C9", full_name="Late Arrival")])

    with pytest.raises(IdentityNotFound) as caught:
        vault.reveal("C9")
    assert caught.value.erased


def test_reveal_of_a_customer_never_loaded_is_not_found(vault: IdentityVault) -> None:
    with pytest.raises(IdentityNotFound) as caught:
        vault.reveal("C404")
    assert not caught.value.erased


def test_rotation_rewraps_every_key_under_the_new_master_and_data_stays_readable(
    vault: IdentityVault, ring: KeyRing
) -> None:
    vault.upsert([ANN, BOB])
    rotated = add_key(ring)
    seen: list[tuple[int, int]] = []

    report = vault.rewrap_all(rotated, progress=lambda done, total: seen.append((done, total)))

    assert (report.rewrapped, report.current) == (2, 0)
    assert vault.key_versions() == {2: 2}
    assert seen[-1] == (2, 2)
    assert vault.reveal("C1") == ANN.values()
    assert vault.find_by_id_number(ANN.id_number or "") == ("C1",)
    again = vault.rewrap_all(rotated)
    assert (again.rewrapped, again.current) == (0, 2)


def test_bulk_loads_span_several_chunks(vault: IdentityVault) -> None:
    people = [
        CustomerIdentity(f"C{i:05d}", full_name=f"Person {i}", phone=f"139{i:08d}")
        for i in range(CHUNK + 7)
    ]

    assert vault.upsert(people) == CHUNK + 7

    assert vault.count() == CHUNK + 7
    assert vault.find_by_phone(f"139{CHUNK + 3:08d}") == (f"C{CHUNK + 3:05d}",)


def test_the_store_holds_no_clear_value(sql_engine: Engine, ring: KeyRing) -> None:
    SqlIdentityVault(sql_engine, ring=ring).upsert([ANN, BOB])

    stored = repr(_rows(sql_engine))

    for identity in (ANN, BOB):
        for value in identity.values().values():
            assert value is None or value not in stored


def test_a_ciphertext_copied_onto_another_customer_does_not_open(
    sql_engine: Engine, ring: KeyRing
) -> None:
    vault = SqlIdentityVault(sql_engine, ring=ring)
    vault.upsert([ANN, BOB])
    with sql_engine.begin() as connection:
        (stolen,) = connection.execute(
            sa.select(CUSTOMER_IDENTITY.c.full_name_enc).where(
                CUSTOMER_IDENTITY.c.customer_id == "C1"
            )
        ).one()
        connection.execute(
            sa.update(CUSTOMER_IDENTITY)
            .where(CUSTOMER_IDENTITY.c.customer_id == "C2")
            .values(full_name_enc=stolen)
        )

    with pytest.raises(DecryptionFailed):
        vault.reveal("C2")


def test_membership_tells_held_erased_and_unknown_customers_apart_without_a_key(
    sql_engine: Engine, ring: KeyRing
) -> None:
    membership = SqlVaultMembership(sql_engine)
    assert not membership.holds_anyone()
    vault = SqlIdentityVault(sql_engine, ring=ring)
    vault.upsert([ANN, BOB])
    vault.erase("C2")
    membership.require("C1")  # held: nothing raised
    with pytest.raises(IdentityNotFound) as erased:
        membership.require("C2")
    assert erased.value.erased
    with pytest.raises(IdentityNotFound) as unknown:
        membership.require("C9")
    assert not unknown.value.erased
    assert membership.holds_anyone()
    assert membership.erased() == {"C2"}
    vault.erase("C1")
    assert not membership.holds_anyone()  # tombstones hold nobody
    assert membership.erased() == {"C1", "C2"}
