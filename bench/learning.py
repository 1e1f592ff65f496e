"""The learning loop on traffic the shipped model has never seen: agreement up, LLM classifier calls down.

    .venv/bin/python bench/learning.py [--every 60] [--public-data DIR] [--keep DIR]

Traffic: arena_hard_v0.1 (lmarena/arena-hard-auto), a collection no model here was ever trained on.
Its prompts whose ids are divisible by 4 are the second held-out set's (labelled by hand, see
data/labels/README.md): they are never streamed, and are scored separately at the end. Of the
other 375, every fifth (by id) is a fixed validation sample (75), never streamed; the remaining
300 are the stream, in a fixed shuffled order.

Labeller: the emulator's rule labeller (emulator/data/labeler.toml), fixed, standing in for Haiku;
the stream's prompts have no hand labels. The validation sample is labelled by the same labeller,
asked through the router's own LLM classifier, so "agreement" is agreement with the labeller the
cascade learns from.

The stream runs through the real `Router` with the cascade classifier and a SQLite ledger, the
emulator (its own process) as upstream, the classifier wrapped exactly as the gateway wraps it
(the LLM classifier's labels become examples, without prompts). Every `--every` requests the
router is closed, `claude-router train --from-ledger` runs as a command (the very code a user
runs; the base set is this repository's training set), and a new router starts on whatever model
is active then. Before and after each retrain the script prints the active local model's
agreement with the labeller on the validation sample, and the share of the segment's requests
that went to the LLM classifier; ratios are against the shipped model on the same prompts, in
the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _common import BENCH_KEY, emulator_process
from claude_router.classify.base import ClassifierInput, classifier_input
from claude_router.classify.capture import CapturingClassifier
from claude_router.classify.llm import LLMClassifier
from claude_router.classify.local import LocalClassifier
from claude_router.classify.registry import ModelRegistry
from claude_router.config import Settings
from claude_router.evaluate.comparison import default_sets
from claude_router.evaluate.dataset import LabelledPrompt
from claude_router.evaluate.public_data import load_dataset, public_data_root
from claude_router.ledger import open_ledger
from claude_router.ledger.examples import ExampleBuffer, ExampleStore
from claude_router.routing.router import RoutedError, RoutedResponse, Router
from claude_router.types import LABELS, ClassifierSource, Label
from claude_router.upstream import Upstream

ROOT = Path(__file__).resolve().parents[1]
SOURCE = "arena_hard_v0.1"
MAX_TOKENS = 1024  # above the 512 the classifier reads as a hint
SEED = 2024


@dataclass(frozen=True, slots=True)
class Prompt:
    id: str
    body: dict[str, Any]

    @property
    def item(self) -> ClassifierInput:
        return classifier_input(self.body)


def split_source(public: Path, seed: int) -> tuple[list[Prompt], list[Prompt], int]:
    """(stream, validation sample, prompts left out as the second held-out set's)."""
    rows = [
        json.loads(line) for line in (public / "prompts" / f"{SOURCE}.jsonl").read_text("utf-8").splitlines()
    ]
    numbered = sorted((int(r["id"].rsplit("-", 1)[1]), r) for r in rows)
    kept = [(n, r) for n, r in numbered if n % 4 != 0]  # ids divisible by 4: the second held-out set
    prompts = [
        Prompt(
            r["id"],
            {
                "model": "auto",
                "max_tokens": MAX_TOKENS,
                "messages": [{"role": "user", "content": r["prompt"]}],
            },
        )
        for _, r in kept
    ]
    validation = prompts[::5]
    stream = [p for i, p in enumerate(prompts) if i % 5]
    random.Random(seed).shuffle(stream)
    return stream, validation, len(numbered) - len(kept)


def settings_for(base_url: str, home: Path) -> Settings:
    return Settings(
        upstream={"base_url": base_url, "api_key": BENCH_KEY, "max_retries": 0},  # type: ignore[arg-type]
        ledger={"url": str(home / "ledger.db")},  # type: ignore[arg-type]
        classifier={"models_dir": str(home / "models")},  # type: ignore[arg-type]
    )


async def label_sample(settings: Settings, sample: Sequence[Prompt]) -> list[Label]:
    """The labeller's labels, asked through the router's own LLM classifier (as the cascade asks)."""
    upstream = Upstream(settings.upstream)
    try:
        llm = LLMClassifier(
            upstream, model=settings.classifier.model, max_tokens=settings.classifier.max_tokens
        )
        return [(await llm.classify(p.item)).label for p in sample]
    finally:
        await upstream.aclose()


def agreement(model: LocalClassifier, sample: Sequence[Prompt], labels: Sequence[Label]) -> float:
    return sum(model.predict(p.item).label is y for p, y in zip(sample, labels, strict=True)) / len(labels)


async def run_segment(settings: Settings, prompts: Sequence[Prompt]) -> tuple[int, int, str]:
    """Route `prompts` through a fresh router (it loads the active model); (LLM labels, classified, model)."""
    async with await open_ledger(settings.ledger.url) as ledger:
        router = Router(settings, ledger=ledger)
        examples = ExampleBuffer(ExampleStore(ledger.store.engine))
        router.classifier = CapturingClassifier(router.classifier, examples, keep_prompts=False)
        try:
            # One at a time: the examples keep the stream's order, so a run is repeatable.
            results = await router.map([p.body for p in prompts], concurrency=1)
        finally:
            await examples.close()
            await router.aclose()
    decisions = [r.decision for r in results if isinstance(r, RoutedResponse) and r.decision is not None]
    failed = [r for r in results if isinstance(r, RoutedError)]
    if failed:
        raise RuntimeError(f"{len(failed)} requests failed, first: {failed[0].error!r}")
    llm = sum(d.source is ClassifierSource.LLM for d in decisions)
    return llm, len(decisions), ModelRegistry.at(settings.classifier.models_dir).active()


def retrain(home: Path, public: Path) -> dict[str, Any]:
    """`claude-router train --from-ledger`, as a user runs it (this repository's base set)."""
    config = home / "claude-router.toml"
    command = [str(Path(sys.executable).parent / "claude-router"), "train", "--from-ledger", "--json"]
    command += ["--ledger", str(home / "ledger.db"), "--public-data", str(public)]
    env = os.environ | {"CLAUDE_ROUTER_CONFIG": str(config), "CLAUDE_ROUTER_HOME": str(home)}
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"train --from-ledger failed: {done.stderr.strip() or done.stdout.strip()}")
    report: dict[str, Any] = json.loads(done.stdout)
    return report


def llm_share(model: LocalClassifier, prompts: Sequence[Prompt], threshold: float) -> float:
    """The share of `prompts` a cascade on `model` sends to the LLM classifier."""
    return sum(model.predict(p.item).confidence < threshold for p in prompts) / len(prompts)


def accuracy(model: LocalClassifier, items: Sequence[LabelledPrompt]) -> float:
    return sum(model.predict(i.item).label is i.label for i in items) / len(items)


async def main(every: int, public: Path, keep: Path | None, seed: int) -> None:
    stream, sample, left_out = split_source(public, seed)
    home = keep or Path(tempfile.mkdtemp(prefix="claude-router-learning-"))
    home.mkdir(parents=True, exist_ok=True)
    (home / "claude-router.toml").write_text(f'[classifier]\nmodels_dir = "{home / "models"}"\n', "utf-8")
    shipped = LocalClassifier.from_file()
    print(
        f"{SOURCE}: stream {len(stream)} prompts (order seed {seed}), validation sample {len(sample)} "
        f"(never streamed), {left_out} left out (second held-out set); retrain every {every} requests; "
        f"work in {home}"
    )
    with emulator_process() as base_url:
        settings = settings_for(base_url, home)
        threshold = settings.classifier.cascade_threshold
        labels = await label_sample(settings, sample)
        counts = {label.value: labels.count(label) for label in LABELS}
        base_agreement = agreement(shipped, sample, labels)
        base_sample_share = llm_share(shipped, sample, threshold)
        print(
            f"labeller on the validation sample: {counts}; shipped model: agreement {base_agreement:.1%}, "
            f"LLM share {base_sample_share:.1%}\n"
        )
        print(f"{'':11}{'':20}{'segment':^20}  {'validation sample':^40}")
        print(
            f"{'requests':<11}{'active model':<20}{'LLM share':>10}{'x':>10}  "
            f"{'agreement':>10}{'x':>10}{'LLM share':>10}{'x':>10}"
        )
        for start in range(0, len(stream), every):
            segment = stream[start : start + every]
            active = ModelRegistry.at(settings.classifier.models_dir).load()
            llm, classified, model_id = await run_segment(settings, segment)
            share = llm / classified
            base_share = llm_share(shipped, segment, threshold)
            agree, sample_share = agreement(active, sample, labels), llm_share(active, sample, threshold)
            print(
                f"{f'{start + 1}-{start + len(segment)}':<11}{model_id:<20}{share:>10.1%}"
                f"{share / base_share:>10.2f}  {agree:>10.1%}{agree / base_agreement:>10.2f}"
                f"{sample_share:>10.1%}{sample_share / base_sample_share:>10.2f}"
            )
            report = retrain(home, public)
            candidate = report["candidate"]
            verdict = "replaced" if report["replaced"] else "kept"
            scored = (
                f"candidate {candidate['agreement']:.1%} / {candidate['cost_weighted_error']:.1%} vs current "
                f"{report['current']['agreement']:.1%} / {report['current']['cost_weighted_error']:.1%}"
                " (agreement / cost-weighted error)"
                if candidate
                else report["reason"]
            )
            print(
                f"{'':11}retrain on {report['train_examples']} examples, validating on the newest "
                f"{report['validation_examples']}: {verdict}; {scored}"
            )
        final = ModelRegistry.at(settings.classifier.models_dir).load()
        final_agree, final_share = agreement(final, sample, labels), llm_share(final, sample, threshold)
        print(
            f"\nafter the last retrain ({final.version}) on the validation sample: agreement "
            f"{final_agree:.1%} ({final_agree / base_agreement:.2f}x the shipped model's), LLM share "
            f"{final_share:.1%} ({final_share / base_sample_share:.2f}x)"
        )
    print("\nhand-labelled sets (never streamed), accuracy: shipped model -> final model")
    sets, _ = default_sets(ROOT / "data" / "labels")
    for named in sets:
        items = load_dataset(named.paths, public)
        same_source = [i for i in items if i.source == SOURCE]
        for name, subset in ((named.name, items), (f"  of which {SOURCE}", same_source)):
            if subset:
                before, after = accuracy(shipped, subset), accuracy(final, subset)
                print(f"  {name} ({len(subset)}): {before:.1%} -> {after:.1%} ({after / before:.2f}x)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--every", type=int, default=60, help="Requests between retrains.")
    parser.add_argument("--public-data", type=Path, default=None, help="The shared public collections.")
    parser.add_argument("--keep", type=Path, default=None, help="Work here (ledger, models) and keep it.")
    parser.add_argument("--seed", type=int, default=SEED, help="The order of the stream.")
    args = parser.parse_args()
    asyncio.run(main(args.every, public_data_root(args.public_data), args.keep, args.seed))
