"""Client authentication: a virtual key as `x-api-key` or `Authorization: Bearer`, else 401.

The presented key is never echoed, logged or stored; only its hash is looked up.
"""

from __future__ import annotations

from starlette.datastructures import Headers

from .errors import GatewayError
from .keys import KeyInfo, KeyStore

MISSING = "a virtual key is required: send it as x-api-key or Authorization: Bearer"


def presented_key(headers: Headers) -> str | None:
    key = headers.get("x-api-key")
    if key:
        return key.strip()
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


async def authenticate(headers: Headers, keys: KeyStore) -> KeyInfo:
    key = presented_key(headers)
    if key is None:
        raise GatewayError(
            401,
            "authentication_error",
            "a virtual key is required: send it as x-api-key or Authorization: Bearer",
        )
    info = await keys.authenticate(key)
    if info is None:
        raise GatewayError(401, "authentication_error", "invalid virtual key (unknown or revoked)")
    return info
