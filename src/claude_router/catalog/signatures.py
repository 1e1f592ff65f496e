"""Thinking-block signatures that name the model which wrote them.

The API's signatures are opaque, but bound to their model: another model drops the block unread.
The emulator signs its blocks with the writer's id inside, so a router (and a test) can tell which
model a conversation's reasoning belongs to; a signature of any other form names no model.
"""

from __future__ import annotations

import base64
import hashlib

_PREFIX = "EmuSig"


def signature(model_id: str, material: str) -> str:
    """An opaque signature that names the model which wrote the block."""
    digest = hashlib.blake2b(f"{model_id}\n{material}".encode(), digest_size=24).digest()
    named = base64.urlsafe_b64encode(model_id.encode()).decode().rstrip("=")
    return f"{_PREFIX}.{named}.{base64.b64encode(digest).decode()}"


def origin(sig: str) -> str | None:
    """The model a signature names; None for a signature that names none."""
    parts = sig.split(".")
    if len(parts) != 3 or parts[0] != _PREFIX:
        return None
    try:
        return base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return None


__all__ = ["origin", "signature"]
