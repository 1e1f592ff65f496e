"""The gateway's commands: `claude-router serve` (and `keys`, the virtual-key sub-app).

`register(app)` adds them to the CLI's Typer app; nothing here runs at import.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from ..config import Settings

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="A claude-router TOML file (else $CLAUDE_ROUTER_CONFIG)."),
]


def serve(
    config: ConfigOption = None,
    host: Annotated[
        str | None, typer.Option(help="Interface to listen on (else the gateway.host setting).")
    ] = None,
    port: Annotated[
        int | None, typer.Option(help="Port to listen on (else the gateway.port setting).")
    ] = None,
    no_auth: Annotated[
        bool,
        typer.Option("--no-auth", help="Accept requests without a virtual key (local development only)."),
    ] = False,
    log_level: Annotated[str, typer.Option(help="uvicorn's log level.")] = "info",
) -> None:
    """Serve the Anthropic-compatible gateway: point any Anthropic SDK's base URL at it."""
    from .app import create_app
    from .server import serve as serve_app

    settings = Settings.load(config)
    gateway = settings.gateway.model_copy(
        update={
            "host": host or settings.gateway.host,
            "port": port if port is not None else settings.gateway.port,
            "auth": settings.gateway.auth and not no_auth,
        }
    )
    settings = settings.model_copy(update={"gateway": gateway})
    err = Console(stderr=True)
    if settings.upstream.api_key is None and settings.upstream.base_url is None:
        err.print(
            "[bold yellow]WARNING: no ANTHROPIC_API_KEY and no base URL: answering from the built-in "
            "EMULATOR, not from Claude.[/]"
        )
    if not gateway.auth:
        err.print(
            "[bold red]WARNING: client authentication is OFF (--no-auth): anyone who can reach "
            f"{gateway.host}:{gateway.port} can spend on the upstream account.[/]"
        )
    serve_app(create_app(settings), host=gateway.host, port=gateway.port, log_level=log_level)


def register(app: typer.Typer) -> None:
    """Add `serve` to the CLI."""
    app.command()(serve)
