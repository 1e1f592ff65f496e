"""`GatewayError`: a request the gateway refuses itself, with its status and Anthropic error type.

Apart from `errors.py` (which shapes every failure into a response, and knows the SDK's errors)
so that the key store, which the command line uses, can refuse without loading the SDK.
"""

from __future__ import annotations


class GatewayError(Exception):
    """A request refused by the gateway itself, before or instead of any upstream call.

    `should_retry` is the `x-should-retry` the official SDKs obey before anything else: a request
    that was wrong (400, 401, 413, ...) fails the same way again, so they must not retry it.
    """

    def __init__(self, status_code: int, error_type: str, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.error_type = error_type
        self.message = message

    @property
    def should_retry(self) -> bool:
        return self.status_code in (408, 409, 429) or self.status_code >= 500


def invalid_request(message: str) -> GatewayError:
    return GatewayError(400, "invalid_request_error", message)


__all__ = ["GatewayError", "invalid_request"]
