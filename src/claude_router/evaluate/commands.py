"""The `train` and `eval classifier` commands: Typer functions the command line registers.

They read files and settings, run the library, and print; a bad file, setting or classifier
kind ends in one clear line on standard error and exit status 2, never a traceback.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from ..cli_runner import run
from ..errors import ConfigError, RouterError
from ..paths import CONFIG_ENV, data_home
from ..types import LABELS, Decision
from .baselines import LITELLM_ENV, LengthBaseline, litellm_labels
from .cascade_eval import CascadeComparison
from .classifier_eval import ClassifierReport, evaluate
from .comparison import Contender, NamedSet, SetComparison, default_sets
from .dataset import DatasetError, LabelledPrompt
from .public_data import PUBLIC_DATA_ENV, load_dataset
from .routing import PGR_TARGETS, PUBLISHED_RESOURCE, ROUTERS
from .train import TrainSettings
from .train import train as train_model

if TYPE_CHECKING:  # the classifiers and the SDK load when a command runs, not for --help
    from ..classify.base import Classifier
    from ..config import ClassifierSettings, Settings
    from ..types import Decision
    from ..upstream import Upstream
    from .cascade_eval import CascadeComparison
    from .classifier_eval import ClassifierReport
    from .dataset import LabelledPrompt

DEFAULT_MODEL_FILE = "local_classifier.json"
#: What answers as the LLM classifier without an API key: the emulator's rule, not a model.
EMULATED_LLM = "the emulator's stand-in rule"
CONFIG_FILE = "claude-router.toml"


class ClassifierKind(StrEnum):
    LOCAL = "local"
    LLM = "llm"
    CASCADE = "cascade"


DataOption = Annotated[
    list[Path],
    typer.Option(
        "--data",
        help="Labelled prompts: a JSONL file ({prompt or request, label} a line), a *.labels.jsonl "
        "file of public ids, or a folder of them. Repeat to combine.",
    ),
]
PublicDataOption = Annotated[
    Path | None,
    typer.Option(
        "--public-data",
        help=f"Where the public prompt collections are (else ${PUBLIC_DATA_ENV}, else /work/shared/data).",
    ),
]
ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="A claude-router TOML file (else $CLAUDE_ROUTER_CONFIG)."),
]


def _say(console: Console, text: str) -> None:
    """One plain line: no markup (paths and TOML contain brackets), no wrapping."""
    console.print(text, markup=False, highlight=False, soft_wrap=True)


def _fail(err: Console, exc: RouterError) -> typer.Exit:
    _say(err, f"error: {exc.message}")
    return typer.Exit(2)


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)


def train(
    data: Annotated[
        list[Path] | None,
        typer.Option(
            "--data",
            help="Labelled prompts: a JSONL file ({prompt or request, label} a line), a *.labels.jsonl "
            "file of public ids, or a folder of them. Repeat to combine. With --from-ledger: the base "
            "set mixed with the ledger's examples (default: this repository's training set).",
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help=f"Model file to write (default: <data home>/{DEFAULT_MODEL_FILE})."),
    ] = None,
    heldout: Annotated[
        Path | None,
        typer.Option("--heldout", help="Labelled prompts to score the new model on (never trained on)."),
    ] = None,
    epochs: Annotated[
        int | None, typer.Option(min=1, help="Passes over the data (default: the trainer's).")
    ] = None,
    folds: Annotated[
        int | None,
        typer.Option(
            min=1, help="Cross-validation folds for calibration (1: uncalibrated; default: the trainer's)."
        ),
    ] = None,
    public_data: PublicDataOption = None,
    from_ledger: Annotated[
        bool,
        typer.Option(
            "--from-ledger",
            help="Learn from the LLM classifier's labels kept in the ledger; the new model becomes the "
            "active one only if it beats the current one on the newest examples.",
        ),
    ] = False,
    ledger: Annotated[
        str | None, typer.Option(help="With --from-ledger: a SQLite path or postgresql:// URL.")
    ] = None,
    validation_share: Annotated[
        float, typer.Option(min=0.01, max=0.9, help="With --from-ledger: the newest share held back.")
    ] = 0.2,
    min_examples: Annotated[
        int, typer.Option(min=2, help="With --from-ledger: examples needed to try a retrain.")
    ] = 50,
    base: Annotated[
        bool, typer.Option(help="With --from-ledger: mix in the base training set (--data).")
    ] = True,
    activate: Annotated[
        bool, typer.Option(help="With --from-ledger: make a better model active (else only store it).")
    ] = True,
    config: ConfigOption = None,
    json_out: Annotated[
        bool, typer.Option("--json", help="With --from-ledger: print one JSON object.")
    ] = False,
) -> None:
    """Train the local classifier on labelled prompts, or on the LLM classifier's labels (--from-ledger)."""
    if from_ledger:
        from .learn_commands import train_from_ledger

        train_from_ledger(
            ledger=ledger,
            data=data,
            public_data=public_data,
            base=base,
            validation_share=validation_share,
            min_examples=min_examples,
            activate=activate,
            epochs=epochs,
            folds=folds,
            config=config,
            json_out=json_out,
        )
        return
    from ..classify.local import LocalClassifier, model_version

    console, err = Console(), Console(stderr=True)
    defaults = TrainSettings()
    try:
        if not data:
            raise DatasetError("give labelled prompts with --data (or learn from the ledger: --from-ledger)")
        items = load_dataset(data, public_data)
        started = time.perf_counter()
        result = train_model(
            items, TrainSettings(epochs=epochs or defaults.epochs, folds=folds or defaults.folds)
        )
        seconds = time.perf_counter() - started
        target = out or data_home() / DEFAULT_MODEL_FILE
        text = result.model.to_json()
        _write_atomic(target, text)
        classifier = LocalClassifier(result.model, model_version(text.encode("utf-8")))
        held = load_dataset([heldout], public_data) if heldout else None
        scored = run(evaluate(classifier, held, name="local")) if held else None
    except RouterError as exc:
        raise _fail(err, exc) from None
    counts = ", ".join(f"{n} {label}" for label, n in result.model.training["per_label"].items())
    _say(console, f"trained on {len(items)} prompts ({counts}) in {seconds:.1f} s")
    if result.cv_accuracy is not None and result.cv_ece is not None:
        _say(
            console,
            f"cross-validated accuracy {result.cv_accuracy:.1%}, "
            f"calibration error (ECE) {result.cv_ece:.3f}, temperature {result.model.temperature:.2f}",
        )
    if scored is not None:
        _say(console, f"held-out accuracy {scored.accuracy:.1%} on {scored.examples} prompts")
    size_kb = len(text.encode("utf-8")) / 1024
    _say(
        console,
        f"wrote {target} ({size_kb:.0f} KB, {len(result.model.weights)} features, {classifier.version})",
    )
    _say(console, f"use it with: [classifier] local_model_path = {json.dumps(str(target))}")


async def _decide(classifier: Classifier, items: list[LabelledPrompt], concurrency: int) -> list[Decision]:
    semaphore = asyncio.Semaphore(concurrency)

    async def one(item: LabelledPrompt) -> Decision:
        async with semaphore:
            return await classifier.classify(item.item)

    return list(await asyncio.gather(*(one(item) for item in items)))


async def _compare_cascade(
    section: ClassifierSettings, upstream: Upstream, items: list[LabelledPrompt], concurrency: int
) -> CascadeComparison:
    """Each classifier alone on `items`, and the cascade at every candidate threshold."""
    from ..classify.factory import build_classifier, local_predictor
    from .cascade_eval import CascadeComparison

    predictor = local_predictor(section)
    local = [predictor.predict(i.item) for i in items]
    llm = await _decide(
        build_classifier(section.model_copy(update={"kind": "llm"}), upstream), items, concurrency
    )
    return CascadeComparison.of(local, llm, [i.label for i in items], section.cascade_threshold)


async def _run(
    settings: Settings,
    kind: ClassifierKind,
    model: Path | None,
    items: list[LabelledPrompt],
    concurrency: int,
) -> tuple[ClassifierReport, CascadeComparison | None, bool]:
    """The report (and the cascade's comparison), and whether the built-in emulator answered the
    model-backed classifier's calls."""
    from ..classify.local import LocalClassifier
    from .classifier_eval import evaluate

    if kind is ClassifierKind.LOCAL:
        from ..classify.factory import local_model_path

        path = model or local_model_path(settings.classifier)
        return await evaluate(LocalClassifier.from_file(path), items, name=kind.value), None, False
    # Model-backed kinds run against the configured API, or the built-in emulator without a key.
    from ..classify.factory import build_classifier
    from ..upstream import Upstream
    from ..upstream.emulated import upstream_settings

    async with upstream_settings(settings, realistic=False) as (live, emulated):
        upstream = Upstream(live.upstream)
        try:
            update: dict[str, object] = {"kind": kind.value, "cache": "none"}
            if model is not None:
                update["local_model_path"] = str(model)
            section = live.classifier.model_copy(update=update)
            classifier = build_classifier(section, upstream)
            report = await evaluate(classifier, items, name=kind.value, concurrency=concurrency)
            if kind is not ClassifierKind.CASCADE:
                return report, None, emulated
            return report, await _compare_cascade(section, upstream, items, concurrency), emulated
        finally:
            await upstream.aclose()


def eval_classifier(
    data: Annotated[
        list[str] | None,
        typer.Option(
            "--data",
            help="A labelled set, NAME=PATH or PATH (file or folder); repeat for several. Default, in "
            "this repository: the in-distribution and the second (public) held-out sets.",
        ),
    ] = None,
    classifier: Annotated[
        ClassifierKind, typer.Option(help="Which classifier to evaluate.")
    ] = ClassifierKind.LOCAL,
    json_out: Annotated[bool, typer.Option("--json", help="Print one JSON object a set.")] = False,
    model: Annotated[
        Path | None, typer.Option(help="The local model file (default: the config's, else the packaged one).")
    ] = None,
    baseline_train: Annotated[
        list[Path] | None,
        typer.Option(
            "--baseline-train",
            help="Labelled prompts to fit the length baseline on (default: the sets' training files; "
            "with none, each set itself, the baseline's best case).",
        ),
    ] = None,
    litellm_python: Annotated[
        str | None,
        typer.Option(
            "--litellm-python",
            envvar=LITELLM_ENV,
            help="An interpreter with litellm installed, to compare with its complexity router.",
        ),
    ] = None,
    public_data: PublicDataOption = None,
    concurrency: Annotated[int, typer.Option(min=1, help="Classifier calls in flight at once.")] = 8,
    config: ConfigOption = None,
) -> None:
    """Measure a classifier on labelled sets: accuracy, per-label figures, routing cost, latency, and
    the same figures for the length-only baseline (and LiteLLM's router) as ratios in the same run."""
    err = Console(stderr=True)
    try:
        if data:
            sets, train_paths = [NamedSet.parse(d) for d in data], list(baseline_train or [])
        else:
            sets, train_paths = default_sets()
            train_paths = list(baseline_train or train_paths)
        from ..config import Settings

        settings = Settings.load(config)
        train_items = load_dataset(train_paths, public_data) if train_paths else []
        results = []
        emulated = False
        for named in sets:
            items = load_dataset(named.paths, public_data)
            report, cascade, emulated_now = run(_run(settings, classifier, model, items, concurrency))
            emulated = emulated or emulated_now
            results.append((_compare(named.name, report, items, train_items, litellm_python), cascade))
    except RouterError as exc:
        raise _fail(err, exc) from None
    llm = EMULATED_LLM if emulated else "LLM"
    if json_out:
        for comparison, cascade in results:
            summary = comparison.to_dict()
            if classifier is not ClassifierKind.LOCAL:
                summary["llm_classifier"] = EMULATED_LLM if emulated else _llm_model(config)
            if cascade is not None:
                summary["cascade"] = cascade.to_dict()
            typer.echo(json.dumps(summary, ensure_ascii=False))
        return
    console = Console()
    if emulated:
        _say(
            console,
            "no ANTHROPIC_API_KEY: the LLM classifier's answers come from the built-in emulator's "
            "labelling rule, a stand-in, not from Haiku; set the key to measure Haiku",
        )
    for comparison, cascade in results:
        if len(results) > 1:
            _say(console, f"== {comparison.name} ==")
        print_report(comparison.report, console)
        if cascade is not None:
            print_cascade(cascade, console, llm=llm)
        print_comparison(comparison, console)


def _llm_model(config: Path | None) -> str:
    """The model the LLM classifier calls, per the settings."""
    from ..config import Settings

    return Settings.load(config).classifier.model


def _compare(
    name: str,
    report: ClassifierReport,
    items: list[LabelledPrompt],
    train_items: list[LabelledPrompt],
    litellm_python: str | None,
) -> SetComparison:
    """The report's classifier, the length baseline and (when it can run) LiteLLM on `items`."""
    if not items:
        raise DatasetError(f"the set {name!r} has no labelled prompts")
    fit_on = train_items or items
    baseline = LengthBaseline.fit(fit_on)
    fitted = f"{len(train_items)} training prompts" if train_items else "these prompts (its best case)"
    contenders = [
        Contender.of(report.classifier, items, report.predicted, report.latency_p50_ms * 1000),
        Contender.of("length-only", items, [baseline.predict(i.item) for i in items]),
    ]
    skipped: dict[str, str] = {}
    if litellm_python:
        run = litellm_labels(litellm_python, items)
        if isinstance(run, str):
            skipped["litellm-complexity"] = run
        else:
            contenders.append(Contender.of("litellm-complexity", items, run.labels, run.us_per_prompt))
    else:
        skipped["litellm-complexity"] = (
            f"no interpreter with litellm given (--litellm-python or ${LITELLM_ENV})"
        )
    return SetComparison(name, report, fitted, contenders, skipped)


def print_comparison(comparison: SetComparison, console: Console) -> None:
    """Every contender on the set, with its accuracy as a ratio of the length baseline's."""
    base = comparison.baseline
    table = Table(
        "classifier",
        "accuracy",
        "× length-only",
        "under-routed",
        "over-routed",
        title=f"{comparison.name}: against the length-only baseline (fitted on {comparison.baseline_fit})",
    )
    for c in comparison.contenders:
        table.add_row(
            c.name,
            f"{c.accuracy:.1%}",
            f"{c.accuracy / base.accuracy:.2f}",
            f"{c.under_routing_rate:.1%}",
            f"{c.over_routing_rate:.1%}",
        )
    console.print(table)
    for name, why in comparison.skipped.items():
        _say(console, f"{name} skipped: {why}")


def print_report(report: ClassifierReport, console: Console) -> None:
    """The report as tables for a terminal."""
    _say(
        console,
        f"{report.classifier} classifier ({report.version}) on {report.examples} prompts: "
        f"accuracy {report.accuracy:.1%}",
    )
    figures = Table("label", "precision", "recall", "F1", "support", title="per label")
    for label, f in report.per_label.items():
        figures.add_row(label.value, f"{f.precision:.1%}", f"{f.recall:.1%}", f"{f.f1:.3f}", str(f.support))
    console.print(figures)
    confusion = Table("true \\ predicted", *(label.value for label in LABELS), title="confusion matrix")
    for label, row in report.confusion.items():
        confusion.add_row(label.value, *(str(row[p]) for p in LABELS))
    console.print(confusion)
    r = report.routing
    _say(
        console,
        f"under-routed {r.under_routing_rate:.1%} of prompts (quality at risk on "
        f"${r.under_routing_cost_usd:.4f} of work), over-routed {r.over_routing_rate:.1%} "
        f"(${r.over_routing_cost_usd:.4f} wasted), two tiers off {r.two_tier_rate:.1%}",
    )
    _say(
        console,
        f"cost-weighted error {r.cost_weighted_error:.1%} of the ideal spend "
        f"(${r.routed_cost_usd:.4f} routed vs ${r.ideal_cost_usd:.4f} ideal)",
    )
    _say(
        console,
        f"latency p50 {report.latency_p50_ms:.3f} ms, p95 {report.latency_p95_ms:.3f} ms; "
        f"calibration error (ECE) {report.ece:.3f}; LLM classifier calls {report.llm_calls}",
    )


def eval_routing(
    data: Annotated[
        Path, typer.Option("--data", help="RouteLLM's evaluation folder (mmlu/, gsm8k_responses.csv, ...).")
    ],
    json_out: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    seed: Annotated[int, typer.Option(help="Seed of the training / held-out split.")] = 0,
) -> None:
    """Route public benchmarks between a weak and a strong model: quality curve, APGR and CPT."""
    from .routing import evaluate_routing

    try:
        results = evaluate_routing(data, seed=seed)
    except RouterError as exc:
        raise _fail(Console(stderr=True), exc) from None
    if json_out:
        typer.echo(json.dumps({"benchmarks": [b.to_dict() for b in results]}, ensure_ascii=False))
        return
    console = Console()
    for bench in results:
        _say(
            console,
            f"{bench.benchmark}: {bench.heldout_prompts} held-out prompts (routers learn on "
            f"{bench.train_prompts}); weak {bench.weak_quality:.3f}, strong {bench.strong_quality:.3f}",
        )
        table = Table("router", "APGR", *(f"CPT({t:.0%})" for t in PGR_TARGETS), "quality @ 10/30/50%")
        for r in bench.routers:
            cpts = ("never" if s is None else f"{s:.1%}" for s in r.cpt.values())
            curve = " / ".join(f"{r.curve[d][1]:.3f}" for d in (1, 3, 5))
            table.add_row(r.router, f"{r.apgr:.3f}", *cpts, curve)
        if bench.published is not None:
            p = bench.published
            cpts = ("n/r" if p.cpt.get(t) is None else f"{p.cpt[t]:.1%}" for t in PGR_TARGETS)
            table.add_row("RouteLLM (published)", f"{p.apgr:.3f}", *cpts, "-", style="italic")
        console.print(table)
        if bench.published is not None:
            ours = {r.router: r for r in bench.routers}
            vs = ", ".join(
                f"{name} {ours[name].apgr / bench.published.apgr:.2f}x" for name in ROUTERS if name in ours
            )
            _say(console, f"APGR as a ratio of RouteLLM's published {bench.published.apgr:.3f}: {vs}")
            _say(console, f"  (RouteLLM's router: {bench.published.router})")
    _say(
        console,
        f"RouteLLM (published): arXiv:2406.18665, see evaluate/{PUBLISHED_RESOURCE}; n/r: not recorded",
    )


def calibrate(
    data: Annotated[
        Path,
        typer.Option(
            "--data",
            help="Your traffic, JSONL: {prompt, system?} a line (--quality: {request, response} a line).",
        ),
    ],
    target: Annotated[
        str | None,
        typer.Option("--target", help="Shares for the dearer tiers, e.g. opus=0.10,sonnet=0.40."),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config", "-c", help=f"The TOML file to update (else ${CONFIG_ENV}, else ./{CONFIG_FILE})."
        ),
    ] = None,
    quality: Annotated[
        bool, typer.Option("--quality", help="Calibrate the answer-quality cascade's threshold instead.")
    ] = False,
    target_escalation: Annotated[
        float | None,
        typer.Option(
            "--target-escalation", help="With --quality: the share of answers to re-run, e.g. 0.15."
        ),
    ] = None,
) -> None:
    """Choose the local classifier's thresholds for the tier shares you want (or, with --quality,
    the answer-quality cascade's threshold for the escalation share you want), and write them."""
    from ..catalog.pricing import Tier
    from ..classify.local import LocalClassifier
    from ..config import Settings
    from .calibrate import calibrate as run_calibration
    from .calibrate import load_traffic, parse_targets, with_thresholds

    err = Console(stderr=True)
    path = config or Path(os.environ.get(CONFIG_ENV) or CONFIG_FILE)
    if quality or target_escalation is not None:
        well_formed = quality and target is None
        _calibrate_quality(data, target_escalation if well_formed else None, path)
        return
    try:
        if target is None:
            raise ConfigError("--target is required (or --quality with --target-escalation)")
        from ..classify.factory import local_model_path

        targets = parse_targets(target)
        current = Settings.load(path) if path.is_file() else Settings()
        classifier = LocalClassifier.from_file(local_model_path(current.classifier))
        result = run_calibration(classifier, load_traffic(data), targets)
        text = with_thresholds(path.read_text(encoding="utf-8") if path.is_file() else "", result.thresholds)
        _write_atomic(path, text)
        Settings.load(path)  # what was written must read back
    except RouterError as exc:
        raise _fail(err, exc) from None
    console = Console()
    t = result.thresholds
    _say(
        console,
        f"wrote [classifier.thresholds] complex = {t.complex:.4f}, moderate = {t.moderate:.4f} to {path}",
    )
    _say_how_it_is_read(console, path)
    _say(console, f"expected shares on {result.prompts} prompts (95% bootstrap interval):")
    for estimate in reversed(result.estimates):
        tier = Tier.for_label(estimate.label).value
        _say(console, f"  {tier:<7}{estimate.share:7.1%}  ({estimate.low:.1%} - {estimate.high:.1%})")


def _say_how_it_is_read(console: Console, path: Path) -> None:
    """Settings are read from --config or $CLAUDE_ROUTER_CONFIG only: when that is not the file just
    written, say how to make every command read it."""
    written = path.resolve()
    named = os.environ.get(CONFIG_ENV)
    if named and Path(named).expanduser().resolve() == written:
        return
    _say(
        console,
        f"commands read their settings from ${CONFIG_ENV} or --config, not from {written} by itself: "
        f"export {CONFIG_ENV}={written}",
    )


def _calibrate_quality(data: Path, share: float | None, path: Path) -> None:
    """`calibrate --quality`: the cascade's threshold from recorded answers, scored locally."""
    from ..config import Settings
    from . import calibrate_quality as cq

    try:
        if share is None:
            raise ConfigError(
                "the quality threshold takes --quality --target-escalation <share>, not --target"
            )
        result = cq.calibrate_quality(cq.load_answers(data), cq.parse_share(share))
        text = path.read_text(encoding="utf-8") if path.is_file() else ""
        _write_atomic(path, cq.with_quality_threshold(text, result.threshold))
        Settings.load(path)  # what was written must read back
    except RouterError as exc:
        raise _fail(Console(stderr=True), exc) from None
    console = Console()
    cq.report(result, path, console)
    _say_how_it_is_read(console, path)


def print_cascade(cascade: CascadeComparison, console: Console, *, llm: str = "LLM") -> None:
    """The cascade against each classifier alone, and what other thresholds would give. `llm`
    names what answered as the LLM classifier."""
    _say(
        console,
        f"cascade at threshold {cascade.threshold:.2f}: accuracy {cascade.at_threshold.accuracy:.1%} "
        f"(local alone {cascade.local_accuracy:.1%}, {llm} alone {cascade.llm_accuracy:.1%}); "
        f"LLM classifier calls avoided {cascade.at_threshold.avoided:.1%}",
    )
    table = Table("threshold", "calls avoided", "accuracy", title="cascade by threshold")
    for point in cascade.points:
        table.add_row(f"{point.threshold:.2f}", f"{point.avoided:.1%}", f"{point.accuracy:.1%}")
    console.print(table)
    best = cascade.best
    if best is None:
        _say(console, "no threshold avoids 70% of the LLM calls at the LLM's accuracy or better")
    else:
        _say(console, f"most accurate threshold avoiding >= 70% of the calls here: {best.threshold:.2f}")


__all__ = [
    "ClassifierKind",
    "calibrate",
    "eval_classifier",
    "eval_routing",
    "print_cascade",
    "print_comparison",
    "print_report",
    "train",
]
