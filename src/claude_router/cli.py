"""The `claude-router` command line: one Typer app over the library. Nothing imports this module.

Every failure a user can cause or meet ends in one line on standard error naming the cause (and
the fix, where there is one) and a non-zero exit; never a traceback unless `--debug` asks for it.
The boundary that does this is `_Boundary.invoke`, the one place every command runs through.

Start-up stays light: the command modules import only Typer and their own options at the top;
the SDK, the database drivers and the settings load inside the commands that use them.
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer
from typer.core import TyperGroup
from typer.exceptions import TyperException

from . import __version__
from .cli_errors import exit_code, explain
from .cli_options import ConfigOption, load_settings
from .cli_runner import INTERRUPTED_EXIT, INTERRUPTED_LINE, fast_exit, hard_exit, run


class _Boundary(TyperGroup):
    """The process boundary: a command's exception becomes one line and an exit status."""

    def invoke(self, ctx: Any) -> Any:  # Typer's (vendored) click.Context
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, TyperException, BrokenPipeError):
            raise  # exits, usage errors Typer says in one line, and a reader gone (`| head`): Typer's
        except KeyboardInterrupt:
            _say(INTERRUPTED_LINE)
            raise typer.Exit(INTERRUPTED_EXIT) from None
        except Exception as exc:  # the boundary: every failure, as one line
            if ctx.params.get("debug"):
                raise
            _say(f"error: {explain(exc)}")
            raise typer.Exit(exit_code(exc)) from None


def _say(line: str) -> None:
    """One plain line on standard error: no markup (paths and TOML hold brackets), no wrapping."""
    typer.echo(line, err=True)


app = typer.Typer(
    name="claude-router",
    cls=_Boundary,
    help="Route each Claude request to the cheapest model that can do it, and prove the saving.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"claude-router {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: Annotated[
        bool, typer.Option("--debug", help="Show the full traceback of a failure instead of one line.")
    ] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """Route each Claude request to the cheapest model that can do it, and prove the saving."""


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

    failed = run(
        demo_main(
            load_settings(config),
            json_out=json_out,
            ledger_url=ledger,
            concurrency=concurrency,
            realistic=latency,
        )
    )
    if failed:
        raise typer.Exit(1)


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
    opaque_signatures: Annotated[
        bool, typer.Option(help="Sign thinking blocks as the API does, naming no model.")
    ] = False,
) -> None:
    """Serve the offline Anthropic API emulator (point any Anthropic SDK's base URL at it).

    A key is read from x-api-key or from Authorization: Bearer, wherever the API takes one.
    """
    from .emulator.config import EmulatorConfig
    from .emulator.server import serve

    config = EmulatorConfig.realistic() if realistic else EmulatorConfig()
    config = config.model_copy(
        update={"require_api_key": require_key, "opaque_signatures": opaque_signatures}
    )
    serve(config, host=host, port=port)


@app.command()
def classify(
    prompt: Annotated[str, typer.Argument(help="The user text to classify ('-' reads standard input).")],
    system: Annotated[str | None, typer.Option(help="The request's system prompt.")] = None,
    config: ConfigOption = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the decision as JSON.")] = False,
) -> None:
    """Label one prompt simple / moderate / complex and show the model it would be routed to."""
    import json

    from rich.console import Console
    from rich.markup import escape

    from .routing.router import Router
    from .upstream.emulated import upstream_settings

    text = sys.stdin.read() if prompt == "-" else prompt
    params: dict[str, Any] = {"model": "auto", "messages": [{"role": "user", "content": text}]}
    if system:
        params["system"] = system

    async def decide() -> dict[str, Any]:
        async with (
            upstream_settings(load_settings(config), realistic=False) as (settings, _),
            Router(settings) as router,
        ):
            decision = await router.classify(params)
            route = router.route(params, decision)
            return {
                "label": decision.label.value,
                "confidence": round(decision.confidence, 3),
                "source": decision.source.value,
                "model": route.model,
                "effort": route.effort,
                "reason": route.reason,
                "classifier_tokens": decision.usage.input_tokens + decision.usage.output_tokens,
            }

    result = run(decide())
    if json_out:
        typer.echo(json.dumps(result))
    else:
        Console().print(
            f"[bold]{result['label']}[/] (confidence {result['confidence']}, {result['source']}) "
            f"→ {escape(result['model'])}{' at ' + result['effort'] if result['effort'] else ''} "
            f"[dim]({escape(result['reason'])})[/]"
        )


def _register() -> None:
    """Commands whose code lives in its own room. Their modules are light (see the docstring)."""
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
    """Console entry point."""
    try:
        app()
    except SystemExit as done:
        if done.code == INTERRUPTED_EXIT:  # Ctrl-C, said already: skip the interpreter's slow teardown
            fast_exit(INTERRUPTED_EXIT)
        raise
    except KeyboardInterrupt:  # before or after a command ran (the boundary covers the command)
        hard_exit()


if __name__ == "__main__":
    main()
