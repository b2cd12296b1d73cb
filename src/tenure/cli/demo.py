"""``tenure demo``: simulate a small bank, load it, create an admin and start the API.

The demo runs the very commands a user would (``synth``, ``ingest``, ``serve``), so what it shows
is what those commands do.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.panel import Panel

from tenure.adapters.sql import SqlUnitOfWorkFactory, create_store_engine, upgrade_to_head
from tenure.auth.service import ensure_admin
from tenure.bootstrap import load_settings
from tenure.cli.ingest import ingest
from tenure.cli.serve import serve
from tenure.cli.synth import synth
from tenure.settings import Settings

__all__ = ["demo", "register"]

DEMO_FOLDER = "demo-bank"
CREDENTIALS_FILE = "demo-admin-credentials.txt"


def register(app: typer.Typer) -> None:
    """Add ``demo`` to the ``tenure`` command."""
    app.command("demo")(demo)


def demo(
    customers: Annotated[int, typer.Option(min=1, help="Customers to simulate.")] = 20_000,
    months: Annotated[int, typer.Option(min=1, max=120, help="Months of history.")] = 12,
    seed: Annotated[int, typer.Option(min=0, help="Seed of the simulated bank.")] = 7,
    serve_api: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Start the API after loading.")
    ] = True,
    port: Annotated[
        int | None, typer.Option(min=1, max=65535, help="API port [default: TENURE_API_PORT].")
    ] = None,
) -> None:
    """Simulate a bank, load it into the warehouse, create an admin, and start the API.

    Everything goes under TENURE_DATA_DIR (default ./tenure-data), including the key ring
    (keys.json, created on the first run unless TENURE_KEYS is set) that protects the simulated
    customers' personal data: the warehouse holds pseudonyms, the clear values sit encrypted in
    the operational store. Running it again reuses what is there: the same seed gives the same
    files, and a load of files already loaded adds nothing.
    """
    settings = load_settings()
    console = Console()
    source = settings.data_dir / DEMO_FOLDER
    console.rule(f"1/3 simulating {customers:,} customers x {months} months into {source}")
    synth(out=source, customers=customers, months=months, seed=seed)
    console.rule(f"2/3 loading into {settings.warehouse_path}")
    ingest(directory=source)
    console.rule("3/3 operational store and API")
    password = _admin_password(settings)
    host, bound_port = settings.api_host, port or settings.api_port
    console.print(_access_panel(host, bound_port, password))
    if serve_api:
        serve(host=host, port=bound_port)


def _admin_password(settings: Settings) -> str | None:
    """Create the admin on first run and keep its password for later runs (owner-only file)."""
    upgrade_to_head(settings.operational_url)
    engine = create_store_engine(settings.operational_url)
    try:
        password = ensure_admin(uow=SqlUnitOfWorkFactory(engine)())
    finally:
        engine.dispose()
    kept = credentials_path(settings.data_dir)
    if password is not None:
        kept.touch(mode=0o600, exist_ok=True)
        os.chmod(kept, 0o600)
        kept.write_text(password + "\n", encoding="utf-8")
        return password
    return kept.read_text(encoding="utf-8").strip() if kept.exists() else None


def _access_panel(host: str, port: int, password: str | None) -> Panel:
    url = f"http://{host}:{port}"
    secret = password or "(set when the admin was first created; see `tenure users --help`)"
    lines = [
        f"API:        {url}   (reference: {url}/docs)",
        "user:       admin",
        f"password:   {secret}",
        "",
        f"curl -s {url}/health",
        f"curl -s -X POST {url}/v1/auth/token -d 'username=admin&password=...'",
        f"curl -s -H 'Authorization: Bearer <access_token>' {url}/v1/warehouse/summary",
    ]
    return Panel("\n".join(lines), title="Tenure is ready", expand=False)


def credentials_path(data_dir: Path) -> Path:
    """Where the demo keeps the generated admin password."""
    return data_dir / CREDENTIALS_FILE
