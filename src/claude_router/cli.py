"""The `claude-router` command line: one Typer app over the library. Nothing imports this module.

Every command answers bad input with a one-line message and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import anthropic
import typer
from rich.console import Console

from .config import Settings
from .errors import RouterError

app = typer.Typer(
    name="claude-router",
    help="Route each Claude request to the cheapest model that can do it, and prove the saving.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="A claude-router TOML file (else $CLAUDE_ROUTER_CONFIG)."),
]


def _settings(config: Path | None) -> Settings:
    return Settings.load(config)


@app.command()
def demo(
    config: ConfigOption = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the usage records as JSON.")] = False,
    ledger: Annotated[
        str | None, typer.Option(help="Keep the ledger here (a SQLite path or postgresql:// URL).")
    ] = None,
    concurrency: Annotated[int, typer.Option(min=1, help="Requests in flight at once.")] = 3,
    latency: Annotated[
        bool, typer.Option(help="Emulate each tier's real latency (the emulator only).")
    ] = True,
) -> None:
    """Route the eight demo requests (the built-in emulator without an API key) and print the cost report."""
    from .demo import demo_main

    asyncio.run(
        demo_main(
            _settings(config),
            json_out=json_out,
            ledger_url=ledger,
            concurrency=concurrency,
            realistic=latency,
        )
    )


@app.command()
def emulate(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8099,
    realistic: Annotated[bool, typer.Option(help="Simulate each tier's real latency.")] = False,
    require_key: Annotated[
        bool,
        typer.Option(
            help="Answer 401 to requests without a key: x-api-key or Authorization: Bearer "
            "(x-api-key wins when both are sent)."
        ),
    ] = False,
) -> None:
    """Serve the offline Anthropic API emulator (point any Anthropic SDK's base URL at it).

    A key is read from x-api-key or from Authorization: Bearer, wherever the API takes one.
    """
    from .emulator.config import EmulatorConfig
    from .emulator.server import serve

    config = EmulatorConfig.realistic() if realistic else EmulatorConfig()
    if require_key:
        config = config.model_copy(update={"require_api_key": True})
    serve(config, host=host, port=port)


@app.command()
def classify(
    prompt: Annotated[str, typer.Argument(help="The user text to classify ('-' reads standard input).")],
    system: Annotated[str | None, typer.Option(help="The request's system prompt.")] = None,
    config: ConfigOption = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the decision as JSON.")] = False,
) -> None:
    """Label one prompt simple / moderate / complex and show the model it would be routed to."""
    from .routing.router import Router
    from .upstream.emulated import upstream_settings

    text = sys.stdin.read() if prompt == "-" else prompt
    params: dict[str, Any] = {"model": "auto", "messages": [{"role": "user", "content": text}]}
    if system:
        params["system"] = system

    async def run() -> dict[str, Any]:
        async with (
            upstream_settings(_settings(config), realistic=False) as (settings, _),
            Router(settings) as router,
        ):
            decision = await router.classify(params)
            route = router.route(params, decision)
            return {
                "label": decision.label.value,
                "confidence": round(decision.confidence, 3),
                "source": decision.source.value,
                "model": route.model,
                "reason": route.reason,
                "classifier_tokens": decision.usage.input_tokens + decision.usage.output_tokens,
            }

    result = asyncio.run(run())
    if json_out:
        typer.echo(json.dumps(result))
    else:
        Console().print(
            f"[bold]{result['label']}[/] (confidence {result['confidence']}, {result['source']}) "
            f"→ {result['model']} [dim]({result['reason']})[/]"
        )


def _register() -> None:
    """Commands whose code lives in its own room; imported here, at start-up, and nowhere else."""
    from .batch.commands import batch_app, worker
    from .evaluate.commands import calibrate, eval_classifier, eval_routing, train
    from .evaluate.learn_commands import model_app
    from .forecast.commands import forecast
    from .gateway.commands import register as register_gateway
    from .report.commands import logs, report

    app.command()(report)
    app.command()(logs)
    app.command()(train)
    app.command()(calibrate)
    eval_app = typer.Typer(help="Measure classifiers and routing policies.", no_args_is_help=True)
    eval_app.command("classifier")(eval_classifier)
    eval_app.command("routing")(eval_routing)
    app.add_typer(eval_app, name="eval")
    app.add_typer(model_app, name="model")
    register_gateway(app)
    app.command()(worker)
    app.command()(forecast)
    app.add_typer(batch_app, name="batch")


_register()


def main() -> None:
    """Console entry point: run the app, turning known errors into one clear line each."""
    err = Console(stderr=True)
    try:
        app()
    except RouterError as exc:
        err.print(f"[red]error:[/] {exc.message}")
        sys.exit(2)
    except anthropic.APIStatusError as exc:
        err.print(f"[red]upstream error {exc.status_code}:[/] {exc.message}")
        sys.exit(1)
    except anthropic.APIError as exc:
        err.print(f"[red]upstream error:[/] {exc.message}")
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
