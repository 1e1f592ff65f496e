"""`LLMClassifier`: asks a small model (Haiku by default) for a one-word label.

Confidence is a fixed, documented value, because a one-word reply carries no score:

- `LABEL_CONFIDENCE` (0.8): the reply named a label;
- `UNPARSED_CONFIDENCE` (0.5): the reply named none and moderate was assumed (tokens were spent);
- `FALLBACK_CONFIDENCE` (0.0): the call failed (or there was no text); moderate was assumed.

What it reads is the whole `ClassifierInput`: the user text (clipped to `max_text_chars`, head and
tail kept), an excerpt of the caller's system prompt (`max_system_chars`) and whether tools are
offered. A cache keyed on the `ClassifierInput` plus `version` is therefore exact.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from typing import TYPE_CHECKING, Any

from ..errors import RouterError
from ..types import ClassifierSource, Decision, Label
from ..upstream import Upstream
from .base import ClassifierInput
from .prompt import ClassifierPrompt, clip

if TYPE_CHECKING:  # the SDK is imported where it is used
    from anthropic.types import Message

log = logging.getLogger(__name__)

DEFAULT_MODEL = "claude-haiku-4-5"
LABEL_CONFIDENCE = 0.8
UNPARSED_CONFIDENCE = 0.5
FALLBACK_CONFIDENCE = 0.0

# Decoration a model may put before its word ("**Complex**", "'simple'").
_LEADING_NOISE = " \t\r\n\"'`*_"


def parse_label(reply: str) -> Label | None:
    """The label a reply starts with (case- and space-insensitive); None if it names none.

    Moderate is reported only when the reply says so, so a caller can tell it from garbage.
    """
    word = reply.lstrip(_LEADING_NOISE).lower()
    for label in (Label.SIMPLE, Label.COMPLEX, Label.MODERATE):
        if word.startswith(label.value):
            return label
    return None


def describe_error(exc: BaseException) -> str:
    """Type and status only: an error's message may quote the request or a key."""
    status = getattr(exc, "status_code", None)
    return f"{type(exc).__name__} {status}" if isinstance(status, int) else type(exc).__name__


def _reply_text(message: Message) -> str:
    for block in message.content:
        if block.type == "text":
            return block.text
    return ""


class LLMClassifier:
    """Labels a request by one small, deterministic model call; never raises for upstream failures."""

    def __init__(
        self,
        upstream: Upstream,
        *,
        model: str = DEFAULT_MODEL,
        max_tokens: int = 32,
        timeout_s: float | None = 10.0,
        max_text_chars: int = 6000,
        max_system_chars: int = 500,
        prompt: ClassifierPrompt | None = None,
    ) -> None:
        self.upstream = upstream
        self.model = model
        self.max_tokens = max_tokens
        self.timeout_s = timeout_s
        self.max_text_chars = max_text_chars
        self.max_system_chars = max_system_chars
        self.prompt = prompt or ClassifierPrompt.load()
        self.version = self._version()

    def _version(self) -> str:
        # Everything that can change a label for the same input; the timeout cannot.
        material = "\x00".join(
            (
                self.prompt.system("\x01", has_tools=True),
                self.model,
                str(self.max_tokens),
                str(self.max_text_chars),
                str(self.max_system_chars),
            )
        )
        return "llm-" + hashlib.sha256(material.encode("utf-8", "surrogatepass")).hexdigest()[:16]

    def request(self, item: ClassifierInput) -> dict[str, Any]:
        """The Messages API body sent for `item` (without the model, which `Upstream` sets)."""
        caller_system = clip(item.system, self.max_system_chars) if item.system else None
        return {
            "max_tokens": self.max_tokens,
            "system": self.prompt.system(caller_system, has_tools=item.has_tools),
            "messages": [{"role": "user", "content": clip(item.text, self.max_text_chars)}],
        }

    async def classify(self, item: ClassifierInput) -> Decision:
        import anthropic

        if not item.text.strip():
            # The API refuses empty text; nothing to pay for.
            return self._fallback("no text to classify", 0.0)
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self.timeout_s):
                result = await self.upstream.create(self.request(item), model=self.model, fallbacks=())
        except (anthropic.APIError, RouterError, TimeoutError) as exc:
            error = describe_error(exc)
            log.warning("classifier call to %s failed (%s); assuming moderate", self.model, error)
            return self._fallback(error, time.perf_counter() - started)
        label = parse_label(_reply_text(result.message))
        return Decision(
            label=label or Label.MODERATE,
            confidence=LABEL_CONFIDENCE if label else UNPARSED_CONFIDENCE,
            source=ClassifierSource.LLM,
            usage=result.usage,
            model=result.model_used,
            latency_s=time.perf_counter() - started,
        )

    def _fallback(self, error: str, latency_s: float) -> Decision:
        return Decision(
            label=Label.MODERATE,
            confidence=FALLBACK_CONFIDENCE,
            source=ClassifierSource.FALLBACK,
            model=self.model,
            error=error,
            latency_s=latency_s,
        )
