"""Where the public data shared between machines is, for tests that read it.

Such a test skips, saying why, when the data is not on this machine; under CI (CI=true) the data
must be there, so the test fails instead of passing silently.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from claude_router.evaluate.public_data import public_data_root


def require_public_data(*parts: str) -> Path:
    """The path under the public data root, or skip (fail under CI) when it is missing."""
    path = public_data_root().joinpath(*parts)
    if not path.exists():
        message = f"public data not found: {path} (set $CLAUDE_ROUTER_PUBLIC_DATA)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path
