"""The one data directory that holds every embedded default (ledger, keys, queue)."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

HOME_ENV = "CLAUDE_ROUTER_HOME"


def data_home() -> Path:
    """`CLAUDE_ROUTER_HOME` if set, else the user data directory; created on first use."""
    raw = os.environ.get(HOME_ENV)
    home = Path(raw).expanduser() if raw else Path(platformdirs.user_data_dir("claude-router"))
    home.mkdir(parents=True, exist_ok=True)
    return home
