"""The gateway's way to the API: JSON bytes out, the upstream's bytes back, over one aiohttp session.

    wire = WireClient(WireConfig(base_url, api_key, max_retries=2, timeout_s=600))
    answer, got = await wire.fetch(trace, model, body, headers, query)  # a 2xx's bytes and headers
    response = await wire.send(trace, model, body, headers, query)   # a 2xx, still open (streams)
    await wire.probe(timeout_s=2)                                    # does the API answer? (readiness)
    await wire.aclose()

A relay has nothing to gain from the SDK's per-field handling of a body it only passes on, and
that handling is most of the SDK's cost, so this client sends bytes and hands back the open
response. Each attempt follows the SDK's retry contract (`retry.py`) and is recorded on the call's
`CallTrace` as the SDK's attempts are (`attempts.AttemptObserver`), spend-limit 429s included,
which are never retried. A failure is a `WireError` carrying the upstream's status, headers and
body exactly as they came, for relaying unchanged.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

import aiohttp
from aiohttp.helpers import get_env_proxy_for_url
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from .attempts import Attempt, AttemptHook, CallTrace, RateLimits, spend_limited
from .retry import DEFAULT_MAX_RETRIES, retry_delay, should_retry, should_retry_failure
from .wire_error import WireError

# The anthropic-version the pinned SDK sends, for a client that sends none (the SDK face's too).
DEFAULT_VERSION = "2026-10-21"
MESSAGES_PATH = "/v1/messages"
PROBE_PATH = "/v1/models?limit=1"  # the cheapest authenticated request there is
RETRY_COUNT = "x-stainless-retry-count"  # as the SDK numbers its attempts (0 for the first)
CONNECT_TIMEOUT_S = 5.0  # the SDK's own connect timeout
Sleep = Callable[[float], Awaitable[None]]
Proxy = tuple[URL | None, aiohttp.BasicAuth | None]


@dataclass(frozen=True, slots=True)
class WireConfig:
    base_url: str
    api_key: str | None
    max_retries: int = DEFAULT_MAX_RETRIES
    timeout_s: float = 600.0
    headers: Mapping[str, str] = field(default_factory=dict)  # sent on every request


class WireClient:
    """One aiohttp session (made on first use, in the event loop that uses it) to the API."""

    def __init__(
        self, config: WireConfig, *, on_attempt: AttemptHook | None = None, sleep: Sleep = asyncio.sleep
    ) -> None:
        self.config = config
        self._on_attempt = on_attempt
        self._sleep = sleep
        base_url = config.base_url.rstrip("/")
        self._url = base_url + MESSAGES_PATH
        self._probe_url = base_url + PROBE_PATH
        base = {"content-type": "application/json", "anthropic-version": DEFAULT_VERSION, **config.headers}
        if config.api_key:
            base["x-api-key"] = config.api_key
        self._headers = base
        self._session: aiohttp.ClientSession | None = None
        self._proxy: Proxy = (None, None)

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=0, enable_cleanup_closed=True),
                timeout=aiohttp.ClientTimeout(
                    total=None, sock_connect=CONNECT_TIMEOUT_S, sock_read=self.config.timeout_s
                ),
                skip_auto_headers=("User-Agent",),
            )
            self._proxy = _env_proxy(self._url)
        return self._session

    async def send(
        self, trace: CallTrace, model: str, body: bytes, headers: Mapping[str, str], query: str = ""
    ) -> aiohttp.ClientResponse:
        """POST the body, retried as the SDK retries; a 2xx response, open for its caller to read
        and release (a stream). `headers` (the client's `anthropic-beta`, `anthropic-version`) go on
        top of the client's own; `query` is the client's query string, as it sent it."""
        response, _ = await self._post(trace, model, body, headers, query, read=False)
        return response

    async def fetch(
        self, trace: CallTrace, model: str, body: bytes, headers: Mapping[str, str], query: str = ""
    ) -> tuple[bytes, CIMultiDictProxy[str]]:
        """As `send`, for an answer read whole (its bytes and headers): a body cut short is
        retried, as the SDK does."""
        response, payload = await self._post(trace, model, body, headers, query, read=True)
        return payload, response.headers

    async def _post(
        self, trace: CallTrace, model: str, body: bytes, headers: Mapping[str, str], query: str, *, read: bool
    ) -> tuple[aiohttp.ClientResponse, bytes]:
        session = self._open()
        proxy, proxy_auth = self._proxy
        url = f"{self._url}?{query}" if query else self._url
        sent = CIMultiDict(self._headers)
        sent.update(headers)
        max_retries = self.config.max_retries
        for taken in range(max_retries + 1):
            sent[RETRY_COUNT] = str(taken)
            began = time.perf_counter()
            got: CIMultiDictProxy[str] | None = None
            try:
                response = await session.post(
                    url, data=body, headers=sent, proxy=proxy, proxy_auth=proxy_auth
                )
                got = response.headers
                if response.status < 300:
                    payload = await response.read() if read else b""
                    limits = RateLimits.from_headers(got, model)
                    self._observe(trace, _attempt(model, response.status, began, got), limits)
                    return response, payload
                try:
                    payload = await response.read()
                finally:
                    response.release()
            except (aiohttp.ClientError, TimeoutError) as exc:
                kind = "timeout_error" if isinstance(exc, TimeoutError) else "connection_error"
                status = response.status if got is not None else None  # a body cut short has one
                self._observe(trace, Attempt(model, status, began, time.perf_counter() - began, error=kind))
                if taken < max_retries and should_retry_failure(got):
                    await self._sleep(retry_delay(taken, got))
                    continue
                raise WireError(None, error_type=kind, message=f"the upstream API failed: {kind}") from exc
            status = response.status
            spend = spend_limited(status, got, payload)
            attempt = _attempt(model, status, began, got, spend_limited=spend)
            self._observe(trace, attempt, RateLimits.from_headers(got, model))
            if taken < max_retries and not spend and should_retry(status, got):
                await self._sleep(retry_delay(taken, got))
                continue
            raise WireError(status, payload, got)
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def probe(self, timeout_s: float) -> None:
        """One authenticated request, never retried: `WireError` unless the API answers it (2xx)."""
        session = self._open()
        proxy, proxy_auth = self._proxy
        timeout = aiohttp.ClientTimeout(total=timeout_s)
        try:
            async with session.get(
                self._probe_url, headers=self._headers, timeout=timeout, proxy=proxy, proxy_auth=proxy_auth
            ) as response:
                payload = await response.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            kind = "timeout_error" if isinstance(exc, TimeoutError) else "connection_error"
            raise WireError(None, error_type=kind, message=f"the upstream API failed: {kind}") from exc
        if response.status >= 300:
            raise WireError(response.status, payload, response.headers)

    def _observe(self, trace: CallTrace, attempt: Attempt, limits: RateLimits | None = None) -> None:
        trace.record(attempt, limits)
        if self._on_attempt is not None:
            self._on_attempt(attempt, limits)

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _env_proxy(url: str) -> Proxy:
    """The proxy HTTPS_PROXY / HTTP_PROXY name for `url` unless NO_PROXY exempts it, as the SDK's
    client heeds them. Read once per session: aiohttp's `trust_env` reads them (and ~/.netrc) in a
    worker thread on every request."""
    try:
        return get_env_proxy_for_url(URL(url))
    except LookupError:
        return None, None


def _attempt(
    model: str, status: int, began: float, headers: CIMultiDictProxy[str], *, spend_limited: bool = False
) -> Attempt:
    return Attempt(
        model=model,
        status=status,
        started_at=began,
        duration_s=time.perf_counter() - began,
        request_id=headers.get("request-id"),
        spend_limited=spend_limited,
    )
