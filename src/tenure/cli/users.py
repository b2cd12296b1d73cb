"""``tenure users``: create and list people, and issue machine keys, from the command line.

Passwords are prompted for (hidden, confirmed) unless ``--generate-password`` asks for one to be
made and printed once; ``--password`` exists for scripts but leaves the secret in shell history.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

import typer

from tenure.auth.ports import UnitOfWork
from tenure.cli.common import cli_actor
from tenure.core.clock import SystemClock
from tenure.core.errors import TenureError
from tenure.core.roles import Role

if TYPE_CHECKING:
    from tenure.adapters.sql.audit import SqlAuditLog

__all__ = ["register"]

RolesOption = Annotated[
    list[Role],
    typer.Option("--role", "-r", help="A role to grant; repeat for several.", show_choices=True),
]


@dataclass(frozen=True, slots=True)
class _Store:
    """An unopened unit of work on the migrated store, and the audit trail beside it."""

    uow: UnitOfWork
    audit: SqlAuditLog

    def record(self, action: str, subject: str, details: Mapping[str, object]) -> None:
        """Record a step this command took, as ``cli:<operating-system user>``."""
        at = SystemClock().now()
        self.audit.record(actor=cli_actor(), action=action, subject=subject, details=details, at=at)


@contextmanager
def _store() -> Iterator[_Store]:
    """The store (migrated first) for one command; the engine is disposed afterwards."""
    from tenure.adapters.sql import SqlUnitOfWorkFactory, create_store_engine, upgrade_to_head
    from tenure.adapters.sql.audit import SqlAuditLog
    from tenure.bootstrap import load_settings

    settings = load_settings()
    upgrade_to_head(settings.operational_url)
    engine = create_store_engine(settings.operational_url)
    try:
        yield _Store(SqlUnitOfWorkFactory(engine)(), SqlAuditLog(engine))
    finally:
        engine.dispose()


def _roles(roles: Iterable[Role]) -> list[str]:
    return sorted(role.value for role in roles)


def _fail(error: TenureError) -> typer.Exit:
    where = f" ({error.field})" if error.field else ""
    typer.echo(f"error{where}: {error.message}", err=True)
    return typer.Exit(code=1)


def create_user_command(
    username: Annotated[str, typer.Argument(help="Sign-in name (letters, digits, . _ @ -).")],
    roles: RolesOption,
    password: Annotated[
        str | None, typer.Option(help="The password (visible in shell history; prefer the prompt).")
    ] = None,
    generate_password: Annotated[
        bool, typer.Option("--generate-password", help="Generate a strong password, print it once.")
    ] = False,
    display_name: Annotated[str | None, typer.Option(help="Name shown in the console.")] = None,
) -> None:
    """Create a user with the given roles."""
    from tenure.auth.passwords import generate_password as make_password
    from tenure.auth.service import create_user

    if password is not None and generate_password:
        typer.echo("error: give --password or --generate-password, not both", err=True)
        raise typer.Exit(code=2)
    if generate_password:
        password = make_password()
    elif password is None:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        with _store() as store:
            user = create_user(
                uow=store.uow,
                username=username,
                password=password,
                roles=roles,
                display_name=display_name,
            )
            details = {"username": user.username, "roles": _roles(user.roles)}
            store.record("user.created", f"user:{user.id}", details)
    except TenureError as error:
        raise _fail(error) from None
    typer.echo(f"created user {user.username} ({', '.join(sorted(user.roles))})")
    if generate_password:
        typer.echo(f"password (shown once): {password}")


def list_users_command() -> None:
    """List users: username, roles, active, last sign-in."""
    from tenure.auth.service import list_users

    try:
        with _store() as store:
            users = list_users(uow=store.uow)
    except TenureError as error:
        raise _fail(error) from None
    for user in users:
        last = user.last_login_at.isoformat() if user.last_login_at else "never"
        state = "active" if user.active else "inactive"
        typer.echo(f"{user.username}\t{','.join(sorted(user.roles))}\t{state}\t{last}")


def create_api_key_command(
    name: Annotated[str, typer.Argument(help="What the key is for, e.g. 'core-banking feed'.")],
    roles: RolesOption,
) -> None:
    """Create a machine key and print it once (store it now; it cannot be shown again)."""
    from tenure.auth.service import create_api_key

    try:
        with _store() as store:
            key, plaintext = create_api_key(uow=store.uow, name=name, roles=roles)
            details = {"name": key.name, "roles": _roles(key.roles)}
            store.record("api_key.created", f"api_key:{key.id}", details)
    except TenureError as error:
        raise _fail(error) from None
    typer.echo(f"created API key {key.id} ({', '.join(sorted(key.roles))})")
    typer.echo(f"key (shown once): {plaintext}")


def register(app: typer.Typer) -> None:
    """Add ``users`` (``create``, ``list``, ``api-key create``) to the ``tenure`` command."""
    users_app = typer.Typer(help="Manage people and machine keys.", no_args_is_help=True)
    keys_app = typer.Typer(help="Manage machine (API) keys.", no_args_is_help=True)
    users_app.command("create")(create_user_command)
    users_app.command("list")(list_users_command)
    keys_app.command("create")(create_api_key_command)
    users_app.add_typer(keys_app, name="api-key")
    app.add_typer(users_app, name="users")
