"""The command line's one line per failure: `explain(exc)` turns any exception into what the user
reads, naming the cause and, where there is one, the fix; `exit_code(exc)` is the status to end with.

Every command goes through the boundary in `cli.py`, which prints `error: <explain(exc)>` and
exits with `exit_code(exc)` (or shows the traceback under `--debug`). Rooms map their own
failures at their edge into our typed errors with a good message (the ledger: `LedgerError`, the
queue: `QueueError`); what reaches this module unmapped is described from the exception itself.

Nothing heavy is imported here: an exception of the SDK, SQLAlchemy or redis can only exist once
its library is loaded, so each is recognised through `sys.modules`.
"""

from __future__ import annotations

import errno
import re
import sys
from typing import Any

from .errors import ConfigError, InvalidJobError, RouterError, UnknownModelError

#: Exit statuses: 2 for input the user gave that is wrong (as click does for usage errors), 1 for
#: a failure met along the way (a database down, the API refusing), 130 for Ctrl-C.
USAGE_EXIT = 2
FAILURE_EXIT = 1

_USAGE_ERRORS = (ConfigError, InvalidJobError, UnknownModelError)
# A password in a URL (`scheme://user:secret@host`) and API or virtual keys (`sk-ant-...`, `sk-cr-...`).
_URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^:/@\s]*:)[^@\s]+@", re.IGNORECASE)
_KEY = re.compile(r"\bsk-[A-Za-z0-9_-]{8,}")


def scrub(text: str) -> str:
    """`text` without passwords in URLs or API keys, fit to print."""
    return _KEY.sub("sk-***", _URL_PASSWORD.sub(r"\g<head>***@", text))


def exit_code(exc: BaseException) -> int:
    return USAGE_EXIT if isinstance(exc, _USAGE_ERRORS) else FAILURE_EXIT


def explain(exc: BaseException) -> str:
    """One line for the user: what failed and why, with the fix where there is one. Never a secret."""
    return scrub(" ".join(_describe(exc).split()))


def _describe(exc: BaseException) -> str:
    if isinstance(exc, RouterError):
        return exc.message
    for describe in (_sdk_error, _database_error, _redis_error):
        line = describe(exc)
        if line is not None:
            return line
    if isinstance(exc, OSError):
        return os_error(exc)
    return f"internal error ({type(exc).__name__}: {exc}); run with --debug for the traceback"


def os_error(exc: OSError) -> str:
    """`Permission denied: /path`, `Read-only file system: /path`, or the system's own words."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    if exc.errno == errno.ECONNREFUSED:
        return f"connection refused ({reason}): is the server running?"
    return f"{reason}: {exc.filename}" if exc.filename else reason


def _module(name: str) -> Any:
    return sys.modules.get(name)


def _sdk_error(exc: BaseException) -> str | None:
    anthropic = _module("anthropic")
    if anthropic is None or not isinstance(exc, anthropic.APIError):
        return None
    if isinstance(exc, anthropic.AuthenticationError):
        return f"the API refused the key (401: {exc.message}): check ANTHROPIC_API_KEY"
    if isinstance(exc, anthropic.APIStatusError):
        return f"the API answered {exc.status_code}: {exc.message}"
    if isinstance(exc, anthropic.APITimeoutError):
        return "the API did not answer in time: try again, or raise [upstream] timeout_s"
    url = exc.request.url
    where = f"{url.host}:{url.port}" if url.port else url.host
    cause = str(exc.__cause__ or "").strip()
    why = f" ({cause})" if cause else ""
    return f"cannot reach the API at {where}{why}: check the network and ANTHROPIC_BASE_URL"


def _database_error(exc: BaseException) -> str | None:
    sa_exc = _module("sqlalchemy.exc")
    if sa_exc is None or not isinstance(exc, sa_exc.SQLAlchemyError):
        return None
    from .ledger.engine import db_reason

    return f"the ledger database: {db_reason(exc)}"


def _redis_error(exc: BaseException) -> str | None:
    redis_exc = _module("redis.exceptions")
    if redis_exc is None or not isinstance(exc, redis_exc.RedisError):
        return None
    return f"Redis: {exc}"


__all__ = ["FAILURE_EXIT", "USAGE_EXIT", "exit_code", "explain", "os_error", "scrub"]
