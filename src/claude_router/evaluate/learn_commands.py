"""`claude-router train --from-ledger` and `claude-router model list | use <id> | rollback`.

`train --from-ledger` retrains the local model on the LLM classifier's labels kept in the ledger
(`evaluate.learning.retrain`); models are the versioned files of `classify.registry.ModelRegistry`.
A switch takes effect when a router or gateway starts. Library imports happen inside the
commands, so `--help` stays light.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from ..classify.registry import ModelRegistry
    from ..config import Settings
    from .learning import RetrainReport

model_app = typer.Typer(
    help="Local classifier models: list them, switch the active one, roll back.", no_args_is_help=True
)
ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="A claude-router TOML file (else $CLAUDE_ROUTER_CONFIG)."),
]


def _say(console: Console, text: str) -> None:
    console.print(text, markup=False, highlight=False, soft_wrap=True)


def _open(config: Path | None) -> tuple[Settings, ModelRegistry]:
    from ..classify.registry import ModelRegistry
    from ..config import Settings

    settings = Settings.load(config)
    return settings, ModelRegistry.at(settings.classifier.models_dir)


def _fail(message: str) -> typer.Exit:
    _say(Console(stderr=True), f"error: {message}")
    return typer.Exit(2)


def _overridden(settings: Settings, console: Console) -> None:
    if settings.classifier.local_model_path:
        _say(
            console,
            f"note: [classifier] local_model_path = {settings.classifier.local_model_path} is set, "
            "and wins over the active model",
        )


@model_app.command("list")
def list_models(config: ConfigOption = None) -> None:
    """The packaged model and every stored one, oldest first; * marks the active one."""
    from ..errors import RouterError

    try:
        settings, registry = _open(config)
        entries = registry.entries()
    except RouterError as exc:
        raise _fail(exc.message) from None
    console = Console()
    for e in entries:
        t = e.training
        trained = f"{t.get('examples', '?')} prompts"
        if "ledger_examples" in t:
            trained += f" ({t['ledger_examples']} from the ledger)"
        check = t.get("validation")
        if isinstance(check, dict):
            trained += (
                f"; on the newest {check.get('examples', 0)}: agreement {check.get('agreement', 0):.1%}, "
                f"cost-weighted error {check.get('cost_weighted_error', 0):.1%}"
            )
        created = e.created_at.strftime("%Y-%m-%d %H:%M:%S UTC") if e.created_at else "shipped"
        _say(console, f"{'*' if e.active else ' '} {e.id:<18}  {created:<23}  {trained}")
    _say(console, f"models directory: {registry.directory}")
    _overridden(settings, console)


@model_app.command("use")
def use_model(
    model_id: Annotated[str, typer.Argument(help="A model id from `model list`, or 'packaged'.")],
    config: ConfigOption = None,
) -> None:
    """Make a model the active one (routers and gateways pick it up when they start)."""
    from ..errors import RouterError

    try:
        settings, registry = _open(config)
        before = registry.use(model_id)
    except RouterError as exc:
        raise _fail(exc.message) from None
    console = Console()
    _say(console, f"active model: {model_id} (was {before}); restart the gateway to use it")
    _overridden(settings, console)


@model_app.command("rollback")
def rollback_model(config: ConfigOption = None) -> None:
    """Make the model that was active before the current one active again."""
    from ..errors import RouterError

    try:
        settings, registry = _open(config)
        current = registry.active()
        back = registry.rollback()
    except RouterError as exc:
        raise _fail(exc.message) from None
    console = Console()
    _say(console, f"active model: {back} (rolled back from {current}); restart the gateway to use it")
    _overridden(settings, console)


def train_from_ledger(
    *,
    ledger: str | None,
    data: list[Path] | None,
    public_data: Path | None,
    base: bool,
    validation_share: float,
    min_examples: int,
    activate: bool,
    epochs: int | None,
    folds: int | None,
    config: Path | None,
    json_out: bool,
) -> None:
    """`train --from-ledger`: a candidate from the ledger's examples, active only if it is better."""
    import asyncio

    from ..catalog.pricing import PriceTable
    from ..classify.factory import local_model_path
    from ..classify.local import LocalClassifier
    from ..errors import ConfigError, RouterError
    from ..ledger.engine import resolve_url, sqlite_path
    from .comparison import default_sets
    from .learning import LearnSettings, ledger_examples, retrain
    from .public_data import load_dataset
    from .train import TrainSettings

    try:
        settings, registry = _open(config)
        url = resolve_url(ledger or settings.ledger.url, create=False)  # reading leaves nothing behind
        if (path := sqlite_path(url)) is not None and not path.exists():
            raise ConfigError(f"no ledger at {path}: nothing has been recorded there yet")
        if data:
            base_items = load_dataset(data, public_data)
        elif base:
            try:
                _, paths = default_sets()
            except RouterError:
                raise ConfigError(
                    "no base training set here (data/labels): run from a claude-router checkout, give "
                    "--data, or --no-base to train on the ledger's examples alone"
                ) from None
            base_items = load_dataset(paths, public_data)
        else:
            base_items = []
        current = LocalClassifier.from_file(local_model_path(settings.classifier))
        current_id = current.version if settings.classifier.local_model_path else registry.active()
        defaults = TrainSettings()
        learn = LearnSettings(
            validation_share=validation_share,
            min_examples=min_examples,
            train=TrainSettings(epochs=epochs or defaults.epochs, folds=folds or defaults.folds),
        )
        rows = asyncio.run(ledger_examples(url))
        result = retrain(
            rows, base_items, current, current_id, registry, PriceTable.default(), learn, activate=activate
        )
    except (RouterError, ValueError) as exc:
        raise _fail(exc.message if isinstance(exc, RouterError) else str(exc)) from None
    if json_out:
        typer.echo(json.dumps(result.to_dict()))
        return
    console = Console()
    print_retrain(result, console)
    if result.replaced:
        _overridden(settings, console)


def print_retrain(report: RetrainReport, console: Console) -> None:
    """What `train --from-ledger` found, as a few lines and a table."""
    _say(
        console,
        f"{report.examples} examples in the ledger ({report.unreadable} unreadable); "
        f"training on {report.base_examples} base prompts + {report.train_examples} examples "
        f"(each counting {report.user_weight:.2f}x), validating on the newest {report.validation_examples}",
    )
    table = Table("", "model", "agreement", "cost-weighted error", title="on the validation examples")
    table.add_row(
        "current",
        report.current_id,
        f"{report.current.agreement:.1%}",
        f"{report.current.cost_weighted_error:.1%}",
    )
    if report.candidate is not None:
        table.add_row(
            "candidate",
            str(report.candidate_id),
            f"{report.candidate.agreement:.1%}",
            f"{report.candidate.cost_weighted_error:.1%}",
        )
    console.print(table)
    if report.replaced:
        _say(console, f"{report.candidate_id} is the active model now: {report.reason}")
        _say(console, "restart the gateway to use it; `claude-router model rollback` undoes it")
    elif report.candidate_id is not None:
        _say(console, f"kept {report.current_id}: {report.reason} ({report.candidate_id} is stored)")
    else:
        _say(console, f"kept {report.current_id}: {report.reason}")
    _say(console, f"in {report.seconds:.1f} s")


__all__ = ["model_app", "print_retrain", "train_from_ledger"]
