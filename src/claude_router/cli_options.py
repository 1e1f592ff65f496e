"""What every command module of the command line shares: its common options and the settings.

Kept light on purpose: `claude-router --help` imports this and the command modules, and nothing of
the SDK, the database drivers or the settings machinery until a command runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from .config import Settings

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="A claude-router TOML file (else $CLAUDE_ROUTER_CONFIG)."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def load_settings(config: Path | None = None) -> Settings:
    """The settings for a command: `--config`, else `$CLAUDE_ROUTER_CONFIG`, and the environment."""
    from .config import Settings

    return Settings.load(config)


__all__ = ["ConfigOption", "JsonOption", "load_settings"]
