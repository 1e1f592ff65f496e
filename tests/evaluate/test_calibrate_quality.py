"""`calibrate --quality`: the cascade's threshold from answers recorded on the emulator, written to
the config and honoured by the cascade."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anthropic
import pytest
import typer
from pydantic import SecretStr
from typer.testing import CliRunner

from claude_router.catalog.pricing import PriceTable
from claude_router.config import Settings, UpstreamSettings
from claude_router.emulator.config import EmulatorConfig
from claude_router.emulator.server import emulator_thread
from claude_router.errors import ConfigError
from claude_router.evaluate.calibrate_quality import (
    Agreement,
    bootstrap_share,
    calibrate_quality,
    choose_threshold,
    load_answers,
    with_quality_threshold,
)
from claude_router.evaluate.commands import calibrate as calibrate_command
from claude_router.evaluate.dataset import DatasetError
from claude_router.routing.quality_cascade import QualityCascade
from claude_router.types import TokenUsage
from claude_router.upstream import Upstream, UpstreamResult

HAIKU = "claude-haiku-4-5"
TOPICS = ["a blender", "a tent", "a novel", "a bus route", "a coffee shop", "a phone case"]
SOUND = [f"Is this review of {t} positive or negative? 'Works well, would buy again.'" for t in TOPICS]
SOUND += [f"Give one tip for looking after {t}." for t in TOPICS]
SOUND += [f"Suggest a short name for {t}." for t in TOPICS]
SOUND += [f"Summarise in one sentence why someone might choose {t}." for t in TOPICS]


@dataclass(frozen=True, slots=True)
class Recording:
    path: Path
    kinds: list[str]  # sound / truncated / not_json, line by line
    verdicts: list[bool]


def _body(text: str, max_tokens: int = 1024, **extra: Any) -> dict[str, Any]:
    return {
        "model": HAIKU,
        "max_tokens": max_tokens,
        "messages": [{"role": "user", "content": text}],
        **extra,
    }


def _requests() -> list[tuple[str, dict[str, Any]]]:
    sound = [("sound", _body(text)) for text in SOUND]  # 24
    truncated = [("truncated", _body(text, max_tokens=1)) for text in SOUND[:10]]
    not_json = [("not_json", _body(text, system="Reply with a JSON object only.")) for text in SOUND[:6]]
    return sound + truncated + not_json


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Recording:
    """Answers recorded on the emulator with the real SDK. Humans disagree with the checks on three:
    two sound-looking answers they would re-run, one truncated answer they would keep."""
    path = tmp_path_factory.mktemp("answers") / "answers.jsonl"
    kinds, verdicts, lines = [], [], []
    with emulator_thread(EmulatorConfig()) as url:
        client = anthropic.Anthropic(base_url=url, api_key="sk-ant-calibrate-test-0123", max_retries=0)
        for number, (kind, body) in enumerate(_requests()):
            message = client.messages.create(**body)
            verdict = kind != "sound"
            if number in (0, 1, len(SOUND)):  # two sound answers, the first truncated one
                verdict = not verdict
            kinds.append(kind)
            verdicts.append(verdict)
            record = {"request": body, "response": message.model_dump(mode="json"), "escalate": verdict}
            lines.append(json.dumps(record))
        client.close()
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return Recording(path, kinds, verdicts)


def test_the_recording_holds_what_the_checks_tell_apart(recording: Recording) -> None:
    answers = load_answers(recording.path)
    stops = {
        kind: {a.message.stop_reason for a, k in zip(answers, recording.kinds, strict=True) if k == kind}
        for kind in ("sound", "truncated")
    }
    assert stops == {"sound": {"end_turn"}, "truncated": {"max_tokens"}}
    assert [a.escalate for a in answers] == recording.verdicts


@pytest.mark.parametrize(
    ("target", "kinds"), [(16 / 40, {"truncated", "not_json"}), (0.15, {"not_json"}), (0.0, set[str]())]
)
def test_the_threshold_escalates_the_asked_share_of_the_recording(
    recording: Recording, target: float, kinds: set[str]
) -> None:
    result = calibrate_quality(load_answers(recording.path), target)
    expected = sum(kind in kinds for kind in recording.kinds) / len(recording.kinds)
    assert result.estimate.share == pytest.approx(expected)
    assert abs(result.estimate.share - target) <= 0.05  # the nearest level the scores allow
    assert result.estimate.low <= result.estimate.share <= result.estimate.high
    assert sum(result.levels.values()) == result.answers == len(recording.kinds)


def test_precision_and_recall_follow_the_human_verdicts(recording: Recording) -> None:
    result = calibrate_quality(load_answers(recording.path), 16 / 40)
    escalated = [kind != "sound" for kind in recording.kinds]
    hits = sum(e and v for e, v in zip(escalated, recording.verdicts, strict=True))
    assert result.agreement is not None
    assert result.agreement.precision == pytest.approx(hits / sum(escalated))
    assert result.agreement.recall == pytest.approx(hits / sum(recording.verdicts))
    assert hits < sum(escalated)  # the disagreements are in the figures: neither is 100%
    assert hits < sum(recording.verdicts)


def test_an_unreachable_share_takes_the_nearest_level_and_the_cheaper_on_a_tie() -> None:
    scores = [0.0] * 10 + [0.4] * 10 + [1.0] * 20
    assert choose_threshold(scores, 0.2) == 0.2  # below 0.4: the ten empty answers
    assert choose_threshold(scores, 0.5) == 0.7  # the twenty imperfect ones
    assert choose_threshold(scores, 0.125) == 0.0  # a tie between nothing and a quarter: nothing
    assert choose_threshold(scores, 0.9) == 0.7  # a perfect score is never re-run (threshold <= 1)
    assert choose_threshold([0.4] * 5, 1.0) == 1.0


def test_the_bootstrap_interval_narrows_with_more_answers() -> None:
    few = bootstrap_share([True, False, False, False] * 10, rounds=400)
    many = bootstrap_share([True, False, False, False] * 1000, rounds=400)
    assert few.share == many.share == 0.25
    assert many.high - many.low < few.high - few.low
    assert bootstrap_share([False] * 30) == bootstrap_share([False] * 30, seed=7)


def test_no_verdicts_no_agreement() -> None:
    assert Agreement.of([True, False], [None, None]) is None
    only_kept = Agreement.of([False, False], [False, None])
    assert only_kept is not None
    assert (only_kept.precision, only_kept.recall) == (None, None)


def test_the_threshold_is_set_and_every_other_line_kept() -> None:
    original = (
        '[quality]\nauto = true\naliases = ["careful"]\nthreshold = 0.5\n\n[upstream]\nmax_retries = 3\n'
    )
    text = with_quality_threshold(original, 0.7)
    assert text.count("threshold") == 1
    assert text.replace(
        "threshold = 0.7  # written by claude-router calibrate --quality", "threshold = 0.5"
    ) == (original)
    inserted = with_quality_threshold("[quality]\nauto = true\n[upstream]\nmax_retries = 3\n", 0.2)
    assert inserted.startswith("[quality]\nthreshold = 0.2")
    assert with_quality_threshold("", 0.2).startswith("[quality]\n")
    for unplaceable in ("quality.auto = true\n[quality]\nthreshold = 0.1\n", "quality = { auto = true }\n"):
        with pytest.raises(ConfigError):
            with_quality_threshold(unplaceable, 0.2)


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command("calibrate")(calibrate_command)
    app.command("noop")(lambda: None)
    return app


async def _invoke(*args: str) -> Any:
    return await asyncio.to_thread(CliRunner().invoke, _app(), ["calibrate", *args])


async def test_calibrate_quality_writes_a_threshold_the_cascade_honours(
    recording: Recording, tmp_path: Path
) -> None:
    config = tmp_path / "router.toml"
    config.write_text(
        '[quality]\nauto = true\naliases = ["careful"]\n\n[upstream]\nmax_retries = 3\n', "utf-8"
    )
    args = ["--quality", "--data", str(recording.path), "--target-escalation", "0.4", "--config", str(config)]
    result = await _invoke(*args)
    assert result.exit_code == 0, result.output
    assert "95% bootstrap interval" in result.output
    assert "precision" in result.output
    assert "recall" in result.output
    settings = Settings.load(config)
    assert (settings.quality.auto, settings.quality.aliases, settings.upstream.max_retries) == (
        True,
        ["careful"],
        3,
    )
    upstream = Upstream(UpstreamSettings(base_url="http://127.0.0.1:9", api_key=SecretStr("sk-unused")))
    cascade = QualityCascade(settings.quality, PriceTable.default(), upstream)
    answers = load_answers(recording.path)
    escalated = 0
    for answer in answers:
        usage = TokenUsage.from_api(answer.message.usage)
        score = await cascade.score(answer.params, UpstreamResult(answer.message, HAIKU, usage))
        escalated += score.value is not None and score.value < settings.quality.threshold
    assert escalated == sum(kind != "sound" for kind in recording.kinds)
    await upstream.aclose()


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("{not json", "not JSON"),
        ('{"request": {"messages": [{"role": "user", "content": "hi"}]}}', "response"),
        ('{"request": {"max_tokens": 5}, "response": RESPONSE}', "messages"),
        ('{"request": {"messages": [{"role": "user", "content": "hi"}]}, "response": {"id": 3}}', "response"),
        (
            '{"request": {"messages": [1]}, "response": RESPONSE, "escalate": true, "label": false}',
            "disagree",
        ),
    ],
)
async def test_a_malformed_line_is_named_in_one_line(
    recording: Recording, tmp_path: Path, line: str, says: str
) -> None:
    good = recording.path.read_text("utf-8").splitlines()[0]
    response = json.dumps(json.loads(good)["response"])
    data = tmp_path / "answers.jsonl"
    data.write_text(f"{good}\n\n{line.replace('RESPONSE', response)}\n", encoding="utf-8")
    config = tmp_path / "router.toml"
    config.write_text("[quality]\nthreshold = 0.5\n", "utf-8")
    result = await _invoke("--quality", "--data", str(data), "--target-escalation", "0.2", "-c", str(config))
    assert result.exit_code == 2
    message = result.output.strip()
    assert message.startswith("error: ")
    assert "\n" not in message
    assert f"{data}, line 3:" in message
    assert says in message
    assert "Traceback" not in result.output
    assert config.read_text("utf-8") == "[quality]\nthreshold = 0.5\n"
    with pytest.raises(DatasetError, match="line 3"):
        load_answers(data)


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--quality", "--target-escalation", "1.5"], "between 0 and 1"),
        (["--quality"], "--target-escalation"),
        (["--target-escalation", "0.2"], "--quality"),
        (["--quality", "--target-escalation", "0.2", "--target", "opus=0.1"], "not --target"),
        ([], "--target is required"),
    ],
)
async def test_the_options_are_checked(
    recording: Recording, tmp_path: Path, args: list[str], says: str
) -> None:
    config = tmp_path / "router.toml"
    result = await _invoke("--data", str(recording.path), "-c", str(config), *args)
    assert result.exit_code == 2
    assert says in result.output
    assert not config.exists()
