"""The phrase banks and cue tables of `data/answers.toml`, typed and compiled once per process."""

from __future__ import annotations

import re
import string
import tomllib
from dataclasses import dataclass
from importlib import resources
from typing import Any

Templates = tuple[str, ...]


def _any(patterns: list[str]) -> re.Pattern[str]:
    """One alternation for a list of patterns (none may carry inline global flags).

    Patterns that start at a word boundary share one leading `\\b`, so their alternatives are only
    tried where a word starts (several times faster on the hot path than one `\\b` each).
    """
    at_word = [p.removeprefix("\\b") for p in patterns if p.startswith("\\b")]
    others = [p for p in patterns if not p.startswith("\\b")]
    parts = [f"\\b(?:{'|'.join(f'(?:{p})' for p in at_word)})"] if at_word else []
    parts.extend(f"(?:{p})" for p in others)
    return re.compile("|".join(parts), re.MULTILINE)


def _bank(raw: list[str]) -> Templates:
    return tuple(str(t) for t in raw)


def template_fields(template: str) -> frozenset[str]:
    return frozenset(name for _, name, _, _ in string.Formatter().parse(template) if name)


@dataclass(frozen=True, slots=True)
class Kind:
    name: str
    terse: bool  # answers with its core alone when the request is labelled simple
    cue: re.Pattern[str]


@dataclass(frozen=True, slots=True)
class Sentiment:
    positive: frozenset[str]
    negative: frozenset[str]
    answers: dict[str, str]
    reasons: Templates


@dataclass(frozen=True, slots=True)
class Language:
    default: str
    scripts: tuple[tuple[str, re.Pattern[str]], ...]
    stop_words: tuple[tuple[str, frozenset[str]], ...]
    reasons: Templates


@dataclass(frozen=True, slots=True)
class YesNo:
    topics: tuple[tuple[re.Pattern[str], re.Pattern[str]], ...]  # (question cue, evidence)
    answers: dict[str, str]
    reasons: Templates


@dataclass(frozen=True, slots=True)
class Intent:
    default: str
    labels: tuple[tuple[str, re.Pattern[str]], ...]
    reasons: Templates


@dataclass(frozen=True, slots=True)
class Advice:
    cue: re.Pattern[str]
    absent: re.Pattern[str] | None
    text: str


@dataclass(frozen=True, slots=True)
class Review:
    advice: tuple[Advice, ...]
    generic: Templates
    closing: Templates


@dataclass(frozen=True, slots=True)
class Aggregate:
    function: str
    alias: str
    cue: re.Pattern[str]


@dataclass(frozen=True, slots=True)
class Sql:
    functions: frozenset[str]
    measures: tuple[str, ...]
    display: tuple[str, ...]
    aggregates: tuple[Aggregate, ...]
    ascending: re.Pattern[str]
    default_table: str
    notes: tuple[tuple[str, frozenset[str]], ...]  # (template, its slots)


@dataclass(frozen=True, slots=True)
class Summary:
    max_bullet_chars: int
    numbers: dict[str, int]
    default_points: int
    points: Templates
    closing: Templates


@dataclass(frozen=True, slots=True)
class Analysis:
    aspects: tuple[str, ...]
    answers: dict[str, Templates]
    more: Templates
    closing: Templates


@dataclass(frozen=True, slots=True)
class Prose:
    greeting_cue: re.Pattern[str]
    greeting: Templates
    short: Templates
    openers: tuple[tuple[re.Pattern[str], Templates], ...]
    default: Templates
    body: Templates


@dataclass(frozen=True, slots=True)
class Phrasebook:
    kinds: tuple[Kind, ...]
    terse: re.Pattern[str]
    not_nouns: frozenset[str]
    default_nouns: tuple[str, ...]
    sentiment: Sentiment
    language: Language
    yes_no: YesNo
    intent: Intent
    review: Review
    sql: Sql
    summary: Summary
    analysis: Analysis
    prose: Prose

    @classmethod
    def load(cls) -> Phrasebook:
        text = resources.files(__package__).joinpath("data", "answers.toml").read_text("utf-8")
        return cls.from_mapping(tomllib.loads(text))

    @classmethod
    def from_mapping(cls, raw: dict[str, Any]) -> Phrasebook:
        return cls(
            kinds=tuple(Kind(k["name"], bool(k["terse"]), _any(k["cues"])) for k in raw["kinds"]),
            terse=_any(raw["terse_cues"]),
            not_nouns=frozenset(raw["not_nouns"]),
            default_nouns=_bank(raw["default_nouns"]),
            sentiment=_sentiment(raw["sentiment"]),
            language=_language(raw["language"]),
            yes_no=_yes_no(raw["yes_no"]),
            intent=_intent(raw["intent"]),
            review=_review(raw["review"]),
            sql=_sql(raw["sql"]),
            summary=_summary(raw["summary"]),
            analysis=_analysis(raw["analysis"]),
            prose=_prose(raw["prose"]),
        )


def _sentiment(raw: dict[str, Any]) -> Sentiment:
    return Sentiment(
        frozenset(raw["positive"]), frozenset(raw["negative"]), dict(raw["answers"]), _bank(raw["reasons"])
    )


def _language(raw: dict[str, Any]) -> Language:
    scripts = tuple((s["language"], re.compile(s["pattern"])) for s in raw["scripts"])
    stops = tuple((name, frozenset(ws)) for name, ws in raw["stop_words"].items())
    return Language(raw["default"], scripts, stops, _bank(raw["reasons"]))


def _yes_no(raw: dict[str, Any]) -> YesNo:
    topics = tuple((_any([t["question"]]), _any(t["evidence"])) for t in raw["topics"])
    return YesNo(topics, dict(raw["answers"]), _bank(raw["reasons"]))


def _intent(raw: dict[str, Any]) -> Intent:
    labels = tuple((entry["label"], _any(entry["cues"])) for entry in raw["labels"])
    return Intent(raw["default"], labels, _bank(raw["reasons"]))


def _review(raw: dict[str, Any]) -> Review:
    advice = tuple(
        Advice(re.compile(a["cue"]), re.compile(a["absent"]) if "absent" in a else None, a["text"])
        for a in raw["advice"]
    )
    return Review(advice, _bank(raw["generic"]), _bank(raw["closing"]))


def _sql(raw: dict[str, Any]) -> Sql:
    aggregates = tuple(Aggregate(a["function"], a["alias"], _any(a["cues"])) for a in raw["aggregates"])
    return Sql(
        functions=frozenset(raw["functions"]),
        measures=tuple(raw["measures"]),
        display=tuple(raw["display"]),
        aggregates=aggregates,
        ascending=_any(raw["ascending"]),
        default_table=raw["default_table"],
        notes=tuple((t, template_fields(t)) for t in raw["notes"]),
    )


def _summary(raw: dict[str, Any]) -> Summary:
    return Summary(
        int(raw["max_bullet_chars"]),
        {k: int(v) for k, v in raw["numbers"].items()},
        int(raw["default_points"]),
        _bank(raw["points"]),
        _bank(raw["closing"]),
    )


def _analysis(raw: dict[str, Any]) -> Analysis:
    answers = {k: _bank(v) for k, v in raw["answers"].items()}
    return Analysis(tuple(raw["aspects"]), answers, _bank(raw["more"]), _bank(raw["closing"]))


def _prose(raw: dict[str, Any]) -> Prose:
    openers = tuple((_any([o["cue"]]), _bank(o["text"])) for o in raw["openers"])
    return Prose(
        greeting_cue=_any([raw["greeting_cue"]]),
        greeting=_bank(raw["greeting"]),
        short=_bank(raw["short"]),
        openers=openers,
        default=_bank(raw["default"]),
        body=_bank(raw["body"]),
    )
