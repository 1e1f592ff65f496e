"""The one data directory that holds every embedded default (ledger, keys, queue)."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

HOME_ENV = "CLAUDE_ROUTER_HOME"
CONFIG_ENV = "CLAUDE_ROUTER_CONFIG"  # the settings file (`config.Settings.load`)


def data_home(*, create: bool = True) -> Path:
    """`CLAUDE_ROUTER_HOME` if set, else the user data directory; created on first use unless
    `create` is False (a command that only reads must leave nothing behind)."""
    home = data_home_path()
    if create:
        home.mkdir(parents=True, exist_ok=True)
    return home


def data_home_path() -> Path:
    """Where `data_home()` is, without creating it (for readers that only look)."""
    raw = os.environ.get(HOME_ENV)
    return Path(raw).expanduser() if raw else Path(platformdirs.user_data_dir("claude-router"))
