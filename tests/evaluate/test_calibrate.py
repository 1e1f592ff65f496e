"""`calibrate`: thresholds that give the asked tier shares, written to the config and honoured."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
import typer
from pydantic import SecretStr
from typer.testing import CliRunner

from claude_router.classify.cascade import CascadeClassifier
from claude_router.classify.factory import build_classifier
from claude_router.classify.local import LocalClassifier
from claude_router.classify.thresholds import ThresholdedLocal
from claude_router.config import LabelThresholds, Settings, UpstreamSettings
from claude_router.errors import ConfigError
from claude_router.evaluate.calibrate import (
    bootstrap,
    calibrate,
    choose_thresholds,
    load_traffic,
    parse_targets,
    with_thresholds,
)
from claude_router.evaluate.commands import calibrate as calibrate_command
from claude_router.evaluate.dataset import DatasetError
from claude_router.types import Label
from claude_router.upstream import Upstream

TRAFFIC = Path(__file__).resolve().parents[2] / "data" / "labels" / "heldout.jsonl"


@pytest.fixture(scope="module")
def local() -> LocalClassifier:
    return LocalClassifier.from_file()


def test_targets_are_read_by_tier_name() -> None:
    assert parse_targets("opus=0.10, sonnet=0.4") == {Label.COMPLEX: 0.10, Label.MODERATE: 0.40}
    for bad in ("gpt=0.1", "opus=1.5", "opus=0.7,sonnet=0.5", "haiku=0.5", "opus"):
        with pytest.raises(ConfigError):
            parse_targets(bad)


@pytest.mark.parametrize(("opus", "sonnet"), [(0.10, 0.40), (0.30, 0.20), (0.05, 0.75)])
def test_the_thresholds_give_the_asked_shares_on_the_traffic(
    local: LocalClassifier, opus: float, sonnet: float
) -> None:
    traffic = load_traffic(TRAFFIC)
    result = calibrate(local, traffic, {Label.COMPLEX: opus, Label.MODERATE: sonnet})
    by_label = {e.label: e for e in result.estimates}
    tolerance = 2 / len(traffic)  # rounding to whole prompts, and a tie
    assert by_label[Label.COMPLEX].share == pytest.approx(opus, abs=tolerance)
    assert by_label[Label.MODERATE].share == pytest.approx(sonnet, abs=tolerance)
    for estimate in result.estimates:
        assert estimate.low <= estimate.share <= estimate.high
        assert estimate.high - estimate.low < 0.25  # 157 prompts pin a share to within a few points


def test_no_share_asked_means_that_tier_is_never_chosen(local: LocalClassifier) -> None:
    traffic = load_traffic(TRAFFIC)
    probabilities = [local.model.probabilities(i) for i in traffic]
    nothing = choose_thresholds(probabilities, {})
    assert nothing.complex > 1
    assert nothing.moderate > 1
    everything = choose_thresholds(probabilities, {Label.COMPLEX: 1.0})
    assert all(p[2] >= everything.complex for p in probabilities)


def test_the_bootstrap_interval_narrows_with_more_traffic() -> None:
    few = bootstrap([Label.SIMPLE, Label.COMPLEX] * 20, rounds=400)
    many = bootstrap([Label.SIMPLE, Label.COMPLEX] * 2000, rounds=400)
    width = {e.label: e.high - e.low for e in few}
    for estimate in many:
        assert estimate.high - estimate.low <= width[estimate.label]
    assert bootstrap([Label.MODERATE] * 30)[1].low == 1.0  # no variation, no interval


def test_the_table_is_replaced_and_everything_else_kept(tmp_path: Path) -> None:
    path = tmp_path / "router.toml"
    original = (
        '[classifier]\ncache = "none"\n\n'
        "[classifier.thresholds]\ncomplex = 0.5\nmoderate = 0.5\n\n"
        "[upstream]\nmax_retries = 3\n"
    )
    path.write_text(with_thresholds(original, LabelThresholds(complex=0.9, moderate=0.8)), encoding="utf-8")
    settings = Settings.load(path)
    assert settings.classifier.thresholds == LabelThresholds(complex=0.9, moderate=0.8)
    assert settings.classifier.cache == "none"
    assert settings.upstream.max_retries == 3


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command("calibrate")(calibrate_command)
    app.command("noop")(lambda: None)
    return app


async def test_calibrate_writes_thresholds_the_classifiers_honour(tmp_path: Path) -> None:
    config = tmp_path / "router.toml"
    config.write_text("[upstream]\nmax_retries = 3\n", encoding="utf-8")
    args = ["calibrate", "--data", str(TRAFFIC), "--target", "opus=0.10,sonnet=0.40", "--config", str(config)]
    result = await asyncio.to_thread(CliRunner().invoke, _app(), args)
    assert result.exit_code == 0, result.output
    assert "95% bootstrap interval" in result.output
    assert "opus" in result.output
    settings = Settings.load(config)
    assert settings.upstream.max_retries == 3
    section = settings.classifier.model_copy(update={"cache": "none"})
    upstream = Upstream(UpstreamSettings(base_url="http://127.0.0.1:9", api_key=SecretStr("sk-unused")))
    local = build_classifier(section.model_copy(update={"kind": "local"}), upstream)
    assert isinstance(local, ThresholdedLocal)
    labels = [(await local.classify(item)).label for item in load_traffic(TRAFFIC)]
    assert labels.count(Label.COMPLEX) == pytest.approx(0.10 * len(labels), abs=2)
    assert labels.count(Label.MODERATE) == pytest.approx(0.40 * len(labels), abs=2)
    cascade = build_classifier(section, upstream)
    assert isinstance(cascade, CascadeClassifier)
    assert isinstance(cascade.local, ThresholdedLocal)
    await upstream.aclose()


def test_bad_traffic_is_one_clear_line(tmp_path: Path) -> None:
    traffic = tmp_path / "traffic.jsonl"
    traffic.write_text(json.dumps({"prompt": "ok"}) + "\n{not json\n", encoding="utf-8")
    args = ["calibrate", "--data", str(traffic), "--target", "opus=0.1", "--config", str(tmp_path / "c.toml")]
    result = CliRunner().invoke(_app(), args)
    assert result.exit_code == 2
    assert "line 2" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "c.toml").exists()
    with pytest.raises(DatasetError, match="not found"):
        load_traffic(tmp_path / "missing.jsonl")
