"""The Anthropic-compatible HTTP gateway (Starlette): `create_app(settings)`."""

from __future__ import annotations

from .app import create_app

__all__ = ["create_app"]
