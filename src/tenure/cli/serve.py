"""``tenure serve``: migrate the operational store, then run the HTTP API under uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer

__all__ = ["APP_FACTORY", "register", "serve"]

APP_FACTORY = "tenure.api.app:create_app_from_environment"


def serve(
    host: Annotated[
        str | None, typer.Option(help="Interface to listen on [default: TENURE_API_HOST].")
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(min=1, max=65535, help="Port to listen on [default: TENURE_API_PORT]."),
    ] = None,
    workers: Annotated[
        int, typer.Option(min=1, help="Worker processes; each keeps its own store connections.")
    ] = 1,
    access_log: Annotated[
        bool,
        typer.Option(
            help="Log every request: client, method, path (query strings are left out: they can "
            "carry personal data) and status. Turn off for benchmarks."
        ),
    ] = True,
) -> None:
    """Run the HTTP API (OpenAPI docs at /docs), after bringing the store schema up to date."""
    import uvicorn

    from tenure.adapters.sql import upgrade_to_head
    from tenure.api.access_log import access_log_config
    from tenure.bootstrap import load_settings

    settings = load_settings()
    upgrade_to_head(settings.operational_url)
    uvicorn.run(
        APP_FACTORY,
        factory=True,
        host=host or settings.api_host,
        port=port or settings.api_port,
        workers=workers,
        access_log=access_log,
        log_config=access_log_config(),
        proxy_headers=False,
        server_header=False,
    )


def register(app: typer.Typer) -> None:
    """Add ``serve`` to the ``tenure`` command."""
    app.command("serve")(serve)
