"""The gateway's commands: `claude-router serve` (and `keys`, the virtual-key sub-app).

`register(app)` adds them to the CLI's Typer app; nothing here runs at import.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Awaitable, Callable
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from ..cli_options import ConfigOption, load_settings
from ..cli_runner import run
from .key_records import CustomerBudget, KeyInfo, NewKey, Period

if TYPE_CHECKING:  # the key store (and the database drivers) load when a command runs
    from rich.table import Table

    from ..config import Settings
    from .keys import KeyStore
    from .state import GatewayState

T = TypeVar("T")


def serve(
    config: ConfigOption = None,
    host: Annotated[
        str | None, typer.Option(help="Interface to listen on (else the gateway.host setting).")
    ] = None,
    port: Annotated[
        int | None, typer.Option(help="Port to listen on (else the gateway.port setting).")
    ] = None,
    no_auth: Annotated[
        bool,
        typer.Option("--no-auth", help="Accept requests without a virtual key (local development only)."),
    ] = False,
    log_level: Annotated[str, typer.Option(help="uvicorn's log level.")] = "info",
    workers: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Processes serving the one port (else the gateway.workers setting); more than one "
            "needs gateway.redis_url, where they share rate limits, budgets and cache affinity.",
        ),
    ] = None,
) -> None:
    """Serve the Anthropic-compatible gateway: point any Anthropic SDK's base URL at it.

    The ledger, the keys, Redis (when configured) and the upstream are opened and checked before
    it listens: a dependency that does not answer is one line naming it, not a traceback.
    """
    from rich.console import Console

    settings = load_settings(config)
    gateway = settings.gateway.model_copy(
        update={
            "host": host or settings.gateway.host,
            "port": port if port is not None else settings.gateway.port,
            "auth": settings.gateway.auth and not no_auth,
            "workers": workers or settings.gateway.workers,
        }
    )
    settings = shared_by_workers(settings.model_copy(update={"gateway": gateway}))
    err = Console(stderr=True)
    if settings.upstream.api_key is None and settings.upstream.base_url is None:
        err.print(
            "[bold yellow]WARNING: no ANTHROPIC_API_KEY and no base URL: answering from the built-in "
            "EMULATOR, not from Claude.[/]"
        )
    if not gateway.auth:
        err.print(
            "[bold red]WARNING: client authentication is OFF (--no-auth): anyone who can reach "
            f"{gateway.host}:{gateway.port} can spend on the upstream account.[/]"
        )
    if gateway.workers == 1:
        from uvicorn.loops.auto import auto_loop_factory

        # The loop uvicorn would pick (uvloop when installed), as each of several workers runs on.
        run(_serve(settings, log_level), loop_factory=auto_loop_factory())
    else:
        _serve_workers(settings, log_level)


def shared_by_workers(settings: Settings) -> Settings:
    """`settings` for `gateway.workers` processes: with more than one, what they must agree on
    lives in Redis (rate limits and budgets at `gateway.redis_url`, and cache affinity there too
    unless `cache_affinity.redis_url` names another); without a Redis URL, a `ConfigError`.
    Per-process caches (keys, classifier labels) stay: each expires or is only a shortcut."""
    from ..errors import ConfigError

    gateway = settings.gateway
    if gateway.workers == 1:
        return settings
    if not gateway.redis_url:
        raise ConfigError(
            f"--workers {gateway.workers} needs gateway.redis_url (CLAUDE_ROUTER_GATEWAY__REDIS_URL): "
            "the workers share their rate limits and budgets there"
        )
    if settings.cache_affinity.redis_url:
        return settings
    prefix = f"{gateway.redis_prefix}:affinity:" if gateway.redis_prefix else None
    affinity = settings.cache_affinity.model_copy(
        update={"redis_url": gateway.redis_url, "redis_prefix": prefix}
    )
    return settings.model_copy(update={"cache_affinity": affinity})


def _listen(settings: Settings) -> socket.socket:
    from ..errors import ConfigError
    from .server import listen

    host, port = settings.gateway.host, settings.gateway.port
    try:
        return listen(host, port)
    except OSError as exc:
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror}; choose another --port") from None


def _listening(settings: Settings, upstream: str) -> None:
    gateway = settings.gateway
    workers = f", {gateway.workers} workers" if gateway.workers > 1 else ""
    typer.echo(
        f"gateway listening on http://{gateway.host}:{gateway.port} (upstream: {upstream}{workers})", err=True
    )


def _upstream(state: GatewayState, *, workers: int = 1) -> str:
    base_url = state.router.settings.upstream.base_url or "https://api.anthropic.com"
    if not state.emulated:
        return base_url
    return "the built-in emulator, one per worker" if workers > 1 else f"the built-in emulator at {base_url}"


async def _serve(settings: Settings, log_level: str) -> None:
    from .app import create_app, open_gateway_state
    from .readiness import require_ready
    from .server import serve

    sock = _listen(settings)
    try:
        async with open_gateway_state(settings) as state:
            await require_ready(state)
            _listening(settings, _upstream(state))
            await serve(create_app(settings, state=state), sock, log_level=log_level)
    finally:
        sock.close()


def _serve_workers(settings: Settings, log_level: str) -> None:
    """Check every dependency once (and migrate the ledger) here, then let the workers each open
    their own: connections and event loops do not cross processes."""
    from functools import partial

    from ..errors import ConfigError
    from .app import create_app
    from .server import serve_workers

    _listen(settings).close()  # a port taken is one line before anything is opened
    upstream = run(_checked(settings))
    gateway = settings.gateway
    app = partial(create_app, settings)
    try:
        _listening(settings, upstream)
        serve_workers(app, gateway.host, gateway.port, workers=gateway.workers, log_level=log_level)
    except OSError as exc:
        raise ConfigError(f"cannot listen on {gateway.host}:{gateway.port}: {exc.strerror}") from None


async def _checked(settings: Settings) -> str:
    """The upstream the workers will use, once every dependency has answered."""
    from .app import open_gateway_state
    from .readiness import require_ready

    async with open_gateway_state(settings) as state:
        await require_ready(state)
        return _upstream(state, workers=settings.gateway.workers)


keys_app = typer.Typer(help="Virtual keys: what clients present to the gateway.", no_args_is_help=True)

LedgerOption = Annotated[
    str | None,
    typer.Option("--ledger", help="The ledger database holding the keys (SQLite path or postgresql:// URL)."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


@keys_app.command("create")
def keys_create(
    customer: Annotated[str, typer.Option(help="Who the key's spend is billed to.")],
    budget_usd: Annotated[
        str | None, typer.Option("--budget-usd", help="Dollar budget per period (e.g. 50).")
    ] = None,
    period: Annotated[Period | None, typer.Option(help="The budget's period (default: month).")] = None,
    rpm: Annotated[int | None, typer.Option(min=1, help="Requests per minute.")] = None,
    tpm: Annotated[int | None, typer.Option(min=1, help="Tokens per minute (input + max_tokens).")] = None,
    config: ConfigOption = None,
    ledger: LedgerOption = None,
    json_out: JsonOption = False,
) -> None:
    """Create a key. It is printed once: only its hash is stored."""
    budget = _budget(budget_usd)

    async def create_key(store: KeyStore) -> NewKey:
        return await store.create(customer, budget_usd=budget, period=period, rpm=rpm, tpm=tpm)

    try:
        new = run(_with_store(config, ledger, create_key))
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    if json_out:
        typer.echo(json.dumps({"key": new.key, **new.info.as_json()}))
        return
    from rich.console import Console
    from rich.markup import escape

    console = Console()
    console.print(f"[bold]{new.key}[/]", highlight=False, soft_wrap=True)
    console.print(
        f"[dim]{new.info.key_id} for {escape(new.info.customer)}: keep it now, it is not shown again.[/]"
    )


@keys_app.command("list")
def keys_list(
    all_keys: Annotated[bool, typer.Option("--all", help="Include revoked keys.")] = False,
    config: ConfigOption = None,
    ledger: LedgerOption = None,
    json_out: JsonOption = False,
) -> None:
    """List keys (never the keys themselves: their ids, customers, limits and last characters)."""
    from rich.console import Console

    async def list_keys(store: KeyStore) -> list[KeyInfo] | None:
        if not await store.holds_keys():
            return None
        return await store.list_keys(include_revoked=all_keys)

    found = run(_with_store(config, ledger, list_keys, readonly=True))
    if json_out:
        typer.echo(json.dumps([info.as_json() for info in found or []]))
        return
    if found is None:
        typer.echo("no keys yet: create one with `claude-router keys create --customer NAME`", err=True)
        return
    if not found:
        typer.echo("no active keys (--all lists the revoked ones too)", err=True)
        return
    console = Console()
    console.print(_keys_table(found, console.width))


def _keys_table(infos: list[KeyInfo], width: int) -> Table:
    """The keys, fitted to `width`: the key id (which `keys revoke` needs) is never cut."""
    from rich import box
    from rich.markup import escape

    from ..report.columns import Column, fitted_table

    revoked = any(info.revoked_at for info in infos)
    columns = [
        Column("key id", "id"),
        Column("customer", "id"),
        Column("key", drop=4),
        Column("budget", "number"),
        Column("rpm", "number", drop=2),
        Column("tpm", "number", drop=2),
        Column("created (UTC)", "number", drop=3),
        Column("revoked (UTC)", "number", drop=0 if revoked else 9),
    ]
    rows = []
    for info in infos:
        row = info.as_json()
        budget = f"${info.budget_usd.normalize():f}/{row['period']}" if info.budget_usd is not None else "-"
        rows.append(
            [
                info.key_id,
                escape(info.customer),
                row["hint"],
                budget,
                str(info.rpm or "-"),
                str(info.tpm or "-"),
                info.created_at.strftime("%Y-%m-%d %H:%M"),
                info.revoked_at.strftime("%Y-%m-%d %H:%M") if info.revoked_at else "",
            ]
        )
    return fitted_table(columns, rows, width, box=box.SIMPLE_HEAD)


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="The key's id (vk_...), from `keys list`.")],
    config: ConfigOption = None,
    ledger: LedgerOption = None,
) -> None:
    """Revoke a key: it is refused from now on (by other gateway processes within seconds)."""

    async def revoke(store: KeyStore) -> bool:
        return await store.revoke(key_id)

    if not run(_with_store(config, ledger, revoke)):
        typer.echo(f"error: no active key {key_id}", err=True)
        raise typer.Exit(1)
    typer.echo(f"revoked {key_id}")


@keys_app.command("budget")
def keys_budget(
    customer: Annotated[str, typer.Option(help="The customer whose keys share the budget.")],
    budget_usd: Annotated[
        str | None, typer.Option("--budget-usd", help="Dollar budget per period; omit to remove it.")
    ] = None,
    period: Annotated[Period, typer.Option(help="The budget's period.")] = Period.MONTH,
    config: ConfigOption = None,
    ledger: LedgerOption = None,
    json_out: JsonOption = False,
) -> None:
    """Set (or remove) a customer's budget, shared by all of its keys beside their own."""
    budget = _budget(budget_usd)

    async def set_budget(store: KeyStore) -> CustomerBudget | None:
        return await store.set_customer_budget(customer, budget, period)

    try:
        found = run(_with_store(config, ledger, set_budget))
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    if json_out:
        typer.echo(
            json.dumps(found.as_json() if found else {"customer": customer.strip(), "budget_usd": None})
        )
    elif found is None:
        typer.echo(f"{customer.strip()}: no customer budget")
    else:
        typer.echo(f"{found.customer}: ${found.budget_usd} per {found.period.value}")


async def _with_store(
    config: Path | None,
    ledger: str | None,
    work: Callable[[KeyStore], Awaitable[T]],
    *,
    readonly: bool = False,
) -> T:
    """Run `work` on the key store (--ledger, else the settings' ledger); `readonly`: open it
    without creating or migrating anything."""
    from .keys import KeyStore

    url = ledger if ledger is not None else load_settings(config).ledger.url
    store = await (KeyStore.open_readonly(url) if readonly else KeyStore.open(url))
    try:
        return await work(store)
    finally:
        await store.close()


def _budget(raw: str | None) -> Decimal | None:
    if raw is None:
        return None
    try:
        return Decimal(raw)
    except InvalidOperation:
        raise typer.BadParameter(f"{raw!r} is not an amount of dollars", param_hint="--budget-usd") from None


def register(app: typer.Typer) -> None:
    """Add `serve` and `keys` to the CLI."""
    app.command()(serve)
    app.add_typer(keys_app, name="keys")
