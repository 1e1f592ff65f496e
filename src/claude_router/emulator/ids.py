"""Object ids shaped like the API's (`msg_01…`, `toolu_01…`, `req_01…`): unique, not deterministic."""

from __future__ import annotations

import base64
import os

_LENGTH = 22
_ALTCHARS = b"Xq"  # base64's "+" and "/" would not be alphanumeric


class IdFactory:
    """Random ids of 22 letters and digits after the API's `01` version prefix."""

    def new(self, prefix: str) -> str:
        return f"{prefix}_01{base64.b64encode(os.urandom(17), _ALTCHARS)[:_LENGTH].decode()}"
