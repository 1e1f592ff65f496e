"""The clients' cache: a second look installs nothing, and git never sees it."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable

import pytest

from .harness import unavailable
from .runtimes import CACHE, ROOT, Runtime, Unavailable, digest, node_runtime, python_runtime


@pytest.mark.parametrize("get", [node_runtime, python_runtime], ids=["node", "python"])
def test_a_second_look_installs_nothing(get: Callable[[], Runtime]) -> None:
    try:
        first = get()  # installed now, or (usually) already cached by this or an earlier run
    except Unavailable as exc:
        unavailable(str(exc))
    again = get()

    assert again.installed is False
    assert again.home == first.home
    assert again.home.parent.parent == CACHE
    assert (again.home / ".installed").exists()


def test_the_cache_key_is_the_lock_files_content() -> None:
    assert digest(b"lock", b"file") == digest(b"lock", b"file")
    assert digest(b"lock", b"file") != digest(b"lock", b"files")
    assert digest(b"ab", b"c") != digest(b"a", b"bc")


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not on PATH")
def test_the_cache_is_ignored_by_git() -> None:
    ignored = subprocess.run(["git", "check-ignore", "-q", str(CACHE)], cwd=ROOT, check=False)
    assert ignored.returncode == 0
