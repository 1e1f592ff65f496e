"""`[monitor]` settings: off by default, read from the config file and the environment, validated."""

from __future__ import annotations

from pathlib import Path

import pytest

from claude_router.config import Settings
from claude_router.errors import ConfigError
from claude_router.ledger.verdicts import VerdictStore
from claude_router.monitor import attach_monitor
from claude_router.routing.router import Router

from .conftest import MonitoredRouter


def test_defaults_and_file_and_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CLAUDE_ROUTER_CONFIG", raising=False)
    defaults = Settings.load().monitor
    assert (defaults.enabled, defaults.sample_rate, defaults.judge_model, defaults.concurrency) == (
        False,
        0.05,
        "claude-haiku-5-5",
        2,
    )
    path = tmp_path / "router.toml"
    path.write_text("[monitor]\nenabled = true\nsample_rate = 0.25\n", encoding="utf-8")
    monkeypatch.setenv("CLAUDE_ROUTER_MONITOR__CONCURRENCY", "4")
    loaded = Settings.load(path).monitor
    assert (loaded.enabled, loaded.sample_rate, loaded.concurrency) == (True, 0.25, 4)
    path.write_text("[monitor]\nsample_rate = 1.5\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"monitor\.sample_rate"):
        Settings.load(path)


async def test_a_disabled_monitor_is_not_attached(
    monitored: MonitoredRouter, verdicts: VerdictStore, emulator_url: str
) -> None:
    router, _ = monitored()  # the fixture's router, to reuse its emulator settings
    plain = Router(router.settings)
    try:
        assert attach_monitor(plain, verdicts) is None
        assert plain.observers == []
    finally:
        await plain.aclose()
