"""A request's session: the conversation it belongs to, the key of cache-aware routing, of the ledger's
`session` column and of `report --by session`.

Where it comes from, first found wins:

1. `RequestMeta.session`: the library's `RequestMeta(session=...)`; over HTTP the `x-router-session`
   header, else Claude Code's `X-Claude-Code-Session-Id` (`gateway/meta.py`).
2. `metadata.user_id` in the body. Claude Code 2.1 sends a JSON object in that string
   (`{"device_id": ..., "account_uuid": ..., "session_id": ...}`), earlier releases
   `user_<hash>_account_<uuid>_session_<uuid>`: the session id is taken out of either. Any other
   user id is the session as it is (a caller's own conversation id).

A key longer than `MAX_SESSION_CHARS` is replaced by a hash of it, so every session fits the ledger.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

from ..types import RequestMeta

MAX_SESSION_CHARS = 128
_LEGACY = re.compile(r"_session_([0-9A-Za-z-]{8,})$")


def session_key(meta: RequestMeta, params: Mapping[str, Any]) -> str | None:
    """The request's session (see the module's docstring), or None when nothing names one."""
    if meta.session:
        return fitted(meta.session)
    metadata = params.get("metadata")
    user_id = metadata.get("user_id") if isinstance(metadata, Mapping) else None
    if not isinstance(user_id, str) or not user_id:
        return None
    return fitted(claude_code_session(user_id) or user_id)


def claude_code_session(user_id: str) -> str | None:
    """The session id Claude Code embeds in `metadata.user_id`, or None for any other user id."""
    if user_id.startswith("{"):
        try:
            found = json.loads(user_id)
        except ValueError:
            return None
        session = found.get("session_id") if isinstance(found, dict) else None
        return session if isinstance(session, str) and session else None
    match = _LEGACY.search(user_id)
    return match.group(1) if match else None


def with_session(meta: RequestMeta, params: Mapping[str, Any]) -> RequestMeta:
    """`meta` with its session filled in from the body when the caller gave none."""
    session = session_key(meta, params)
    return meta if session == meta.session else dataclasses.replace(meta, session=session)


def fitted(session: str) -> str:
    """`session` as the ledger keeps it: itself, or a hash of it when too long."""
    if len(session) <= MAX_SESSION_CHARS and "\x00" not in session:
        return session
    return "sha256:" + hashlib.sha256(session.encode("utf-8", "replace")).hexdigest()


__all__ = ["MAX_SESSION_CHARS", "claude_code_session", "fitted", "session_key", "with_session"]
