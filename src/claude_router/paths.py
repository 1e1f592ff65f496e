"""The one data directory that holds every embedded default (ledger, keys, queue)."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

HOME_ENV = "CLAUDE_ROUTER_HOME"


def data_home() -> Path:
    """`CLAUDE_ROUTER_HOME` if set, else the user data directory; created on first use."""
    home = data_home_path()
    home.mkdir(parents=True, exist_ok=True)
    return home


def data_home_path() -> Path:
    """Where `data_home()` is, without creating it (for readers that only look)."""
    raw = os.environ.get(HOME_ENV)
    return Path(raw).expanduser() if raw else Path(platformdirs.user_data_dir("claude-router"))
