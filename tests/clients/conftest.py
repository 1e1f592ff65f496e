"""Fixtures for the real clients: the emulator and two gateways in front of it (one with a virtual
key, one with --no-auth) for the whole session, and the client programs, started together.

Without node (or when an install fails) the tests of the clients concerned skip with the reason,
except under CI=true, where they fail.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .harness import Launcher, Services
from .scenarios import KEYED, NOTES, OPEN
from .servers import Gateway, start_gateway, stop_gateway, upstream

HERE = Path(__file__).resolve().parent
SELECTED = pytest.StashKey[set[str]]()
#: A test here may wait for a cold install (npm ci, pip) and every client program: not the usual 60 s.
TIMEOUT_S = 900
NOTES_KEY = pytest.StashKey[list[str]]()


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Which clients this run's selected tests need (after -k / -m deselection); their timeout."""
    mine = [item for item in items if Path(str(item.fspath)).resolve().parent == HERE]
    for item in mine:
        item.add_marker(pytest.mark.timeout(TIMEOUT_S))
    config.stash[SELECTED] = {
        client
        for item in mine
        if isinstance(client := getattr(getattr(item, "module", None), "CLIENT", None), str)
    }


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    notes = config.stash.get(NOTES_KEY, [])
    if notes:
        terminalreporter.write_sep("-", "real clients")
        for line in notes:
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    """The emulator, both gateways in front of it (started side by side), and Claude Code's
    workspace (a directory holding notes.txt)."""
    workspace = tmp_path_factory.mktemp("workspace")
    (workspace / "notes.txt").write_text(NOTES + "\n", encoding="utf-8")
    with upstream() as found:
        started: dict[str, Gateway] = {}
        failures: list[BaseException] = []

        def start(name: str, auth: bool) -> None:
            try:
                started[name] = start_gateway(tmp_path_factory.mktemp(name), found.url, auth=auth)
            except BaseException as exc:  # noqa: BLE001 - a thread boundary: raised below
                failures.append(exc)

        threads = [threading.Thread(target=start, args=(name, name == KEYED)) for name in (KEYED, OPEN)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        try:
            if failures:
                raise failures[0]
            yield Services(found, started, workspace)
        finally:
            for gateway in started.values():
                stop_gateway(gateway)


@pytest.fixture(scope="session")
def launched(
    request: pytest.FixtureRequest, services: Services, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Launcher]:
    """Every selected client's program, started at once against the three targets."""
    launcher = Launcher(services, tmp_path_factory.mktemp("programs"))
    request.config.stash[NOTES_KEY] = launcher.notes
    try:
        launcher.start(request.config.stash.get(SELECTED, set()))
        yield launcher
    finally:
        launcher.close()
