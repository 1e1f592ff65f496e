"""The router's own errors. Upstream API errors stay the official SDK's exceptions.

    RouterError
    ├── ConfigError            a settings file or value is wrong
    ├── UnknownModelError      a model id or route alias that the price table / policy lacks
    ├── PricingError           usage that cannot be priced
    ├── BudgetExceededError    a key's or customer's budget refuses the request
    ├── RateLimitedError       a key's requests- or tokens-per-minute limit refuses it
    ├── QueueError             the batch queue cannot take or give a job
    │   ├── InvalidJobError    a job or submission is malformed (400)
    │   └── MissingQueueError  a queue read before anything was ever submitted to it
    ├── LedgerError            the ledger cannot store a record or reach its database
    └── UnavailableError       a service a request needs (database, Redis, the upstream) does not answer

Errors raised by the Anthropic API (400, 401, 404, 429, 529, ...) reach the caller as the
`anthropic` SDK's own typed exceptions, unchanged, so code written for the SDK keeps working.
"""

from __future__ import annotations


class RouterError(Exception):
    """Base of every error claude-router raises itself."""

    #: The Anthropic error type an HTTP face reports this error as.
    error_type: str = "api_error"
    #: The HTTP status an HTTP face answers with.
    status_code: int = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigError(RouterError):
    error_type = "invalid_request_error"
    status_code = 400


class UnknownModelError(RouterError):
    error_type = "not_found_error"
    status_code = 404

    def __init__(self, model: str, known: list[str] | None = None) -> None:
        hint = f"; known: {', '.join(sorted(known))}" if known else ""
        super().__init__(f"unknown model or route alias {model!r}{hint}")
        self.model = model


class PricingError(RouterError):
    error_type = "api_error"
    status_code = 500


class BudgetExceededError(RouterError):
    error_type = "rate_limit_error"
    status_code = 429

    def __init__(self, message: str, retry_after_s: float | None = None, *, held: bool = False) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s  # until the budget's period starts again; None: never
        # True when the budget is not spent but held by requests in flight: it may free up soon.
        self.held = held


class RateLimitedError(RouterError):
    error_type = "rate_limit_error"
    status_code = 429

    def __init__(self, message: str, retry_after_s: float) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class QueueError(RouterError):
    error_type = "api_error"
    status_code = 503


class InvalidJobError(QueueError):
    """A job or a submission is malformed: a bad id, a naive deadline, params that are not JSON."""

    error_type = "invalid_request_error"
    status_code = 400


class MissingQueueError(QueueError):
    """A queue that was never written to, opened to read: it holds nothing (404)."""

    error_type = "not_found_error"
    status_code = 404


class LedgerError(RouterError):
    error_type = "api_error"
    status_code = 500


class UnavailableError(RouterError):
    """A service a request needs does not answer (503): the gateway is not ready to serve."""

    error_type = "api_error"
    status_code = 503
