"""Ordinary answers shaped like the task: a sentiment, a language, yes / no, a label, SQL, a code
review, a summary, a numbered analysis, or prose, all built from `data/answers.toml`.

`Composer.compose` picks the answer's kind from cues in the last user turn, builds the kind's
core (the bare product: "Positive.", the query, the bullets) and grows it with further sentences
until the natural length is reached: a length drawn from the label's `answer_tokens` range,
rounded up to a whole sentence and kept under the range's top where a sentence allows. A `terse`
kind labelled simple, or a request asking for the bare product, gets the core alone.
Everything is drawn from the caller's seeded `random.Random`, so the same conversation always
gets the same text.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import chain

from ..types import Label
from .phrasebook import Phrasebook, Templates
from .sql_writer import write_sql
from .text_cues import detail_score, noun_phrases, quoted, sentences, shorten, words
from .tokens import CHARS_PER_TOKEN

_ASK = re.compile(r"\(\d{1,2}\)\s*|^\s*\d{1,2}[.)]\s+", re.MULTILINE)
_ASK_END = re.compile(r"[.?;\n]|,?\s+and\s*$|,\s*$")
_COUNT = re.compile(
    r"\b(?:in|into|as|with)\s+(\d{1,2}|[a-z]+)\s+(?:short\s+|key\s+|main\s+)?(?:bullet|point|sentence)"
)
_PARAGRAPH = re.compile(r"\b(sentences?|paragraph)\b")
_SENTENCES_PER_PARAGRAPH = 4
_ANALYSIS_SENTENCE_CHARS = 130
_MAX_SENTENCES_PER_POINT = 4


@dataclass(slots=True)
class Request:
    """What a kind builds from: the user turn, the nouns lifted from it, and the seeded draw."""

    text: str
    lower: str
    book: Phrasebook
    rng: random.Random
    label: Label
    terse: bool
    goal: int  # characters (0 for a terse answer, which never grows)
    limit: int  # characters the answer should stay within when a sentence allows
    slots: dict[str, str] = field(default_factory=dict)
    found_nouns: list[str] | None = None  # lifted on first use: a one-word answer needs none
    padded_nouns: list[str] | None = None

    @property
    def own_nouns(self) -> list[str]:
        """Noun phrases lifted from the prompt itself."""
        if self.found_nouns is None:
            self.found_nouns = noun_phrases(self.text, self.book.not_nouns)
        return self.found_nouns

    @property
    def nouns(self) -> list[str]:
        """The prompt's noun phrases, padded with stand-ins to at least three."""
        if self.padded_nouns is None:
            own = self.own_nouns
            extra = [n for n in self.book.default_nouns if n not in own][: max(0, 3 - len(own))]
            self.padded_nouns = own + extra
        return self.padded_nouns

    @nouns.setter
    def nouns(self, value: list[str]) -> None:
        self.found_nouns, self.padded_nouns = value, None

    def fill(self, template: str, **extra: str) -> str:
        """A template with {a} {b} {c} drawn from the prompt's nouns ({a} favours the first)."""
        nouns, rng = self.nouns, self.rng
        a = extra.get("a") or (nouns[0] if rng.random() < 0.4 else nouns[int(rng.random() * len(nouns))])
        others = [n for n in nouns[:7] if n != a]
        first = int(rng.random() * len(others))
        second = (first + 1 + int(rng.random() * (len(others) - 1))) % len(others)
        values = {"a": a, "A": a[:1].upper() + a[1:], "b": others[first], "c": others[second], **self.slots}
        values.update(extra)
        return template.format_map(values)


@dataclass(frozen=True, slots=True)
class Draft:
    core: str
    more: Iterable[str]  # further pieces, each starting with its own separator


Builder = Callable[[Request], Draft]


class Composer:
    """Writes ordinary answers; the phrase banks are loaded once, at construction."""

    def __init__(self, book: Phrasebook, answer_tokens: dict[Label, tuple[int, int]]) -> None:
        self.book = book
        self._answer_tokens = answer_tokens
        self._builders: dict[str, Builder] = {
            "sentiment": self._sentiment,
            "language": self._language,
            "yes_no": self._yes_no,
            "intent": self._intent,
            "code_review": self._code_review,
            "sql": self._sql,
            "summary": self._summary,
            "analysis": self._analysis,
            "prose": self._prose,
        }

    @classmethod
    def load(cls, answer_tokens: dict[Label, tuple[int, int]]) -> Composer:
        return cls(Phrasebook.load(), answer_tokens)

    def kind(self, text: str) -> str:
        lower = text.lower()
        return next((k.name for k in self.book.kinds if k.cue.search(lower)), "prose")

    def compose(self, text: str, system: str, label: Label, rng: random.Random) -> str:
        lower = text.lower()
        kind = next((k for k in self.book.kinds if k.cue.search(lower)), None)
        low, high = self._answer_tokens[label]
        terse = bool(
            (label is Label.SIMPLE and (kind is None or kind.terse))
            or self.book.terse.search(system.lower())
            or self.book.terse.search(lower)
        )
        goal = 0 if terse else rng.randint(low, high) * CHARS_PER_TOKEN
        request = Request(text, lower, self.book, rng, label, terse, goal, high * CHARS_PER_TOKEN)
        draft = self._builders[kind.name if kind else "prose"](request)
        if terse:
            return draft.core
        more = chain(draft.more, self._prose_body(request))
        return _grow(draft.core, more, goal, low * CHARS_PER_TOKEN, request.limit)

    # --- one-word judgements -------------------------------------------------------------------

    def _sentiment(self, request: Request) -> Draft:
        book = self.book.sentiment
        found = words(quoted(request.text))
        good = [w for w in found if w in book.positive]
        bad = [w for w in found if w in book.negative]
        tone = "positive" if len(good) > len(bad) else "negative" if len(bad) > len(good) else "neutral"
        cited = (good if tone == "positive" else bad) or found[:2]
        reasons = _reasons(request, book.reasons, lambda: {"tone": tone, "evidence": _quote_words(cited)})
        return Draft(book.answers[tone], reasons)

    def _language(self, request: Request) -> Draft:
        book = self.book.language
        material = quoted(request.text)
        found = words(material)
        language = next((name for name, script in book.scripts if script.search(material)), None)
        hits: list[str] = []
        if language is None:
            # The most stop words wins (the first of equals in table order); none at all: the default.
            language = book.default
            for name, stops in book.stop_words:
                matched = [w for w in found if w in stops]
                if len(matched) > len(hits):
                    language, hits = name, matched
        cited = hits or found[:2]
        reasons = _reasons(
            request, book.reasons, lambda: {"language": language, "evidence": _quote_words(cited)}
        )
        return Draft(f"{language}.", reasons)

    def _yes_no(self, request: Request) -> Draft:
        book = self.book.yes_no
        material = quoted(request.text).lower()
        topic = next((evidence for question, evidence in book.topics if question.search(request.lower)), None)
        yes = bool(topic.search(material)) if topic is not None else request.rng.random() < 0.5
        answer = "yes" if yes else "no"
        return Draft(book.answers[answer], _reasons(request, book.reasons, lambda: {"answer": answer}))

    def _intent(self, request: Request) -> Draft:
        book = self.book.intent
        material = quoted(request.text).lower()
        label = next((name for name, cue in book.labels if cue.search(material)), None)
        if label is None:
            label = next((name for name, cue in book.labels if cue.search(request.lower)), book.default)
        return Draft(label, _reasons(request, book.reasons, lambda: {"label": f"`{label}`"}))

    # --- structured products -------------------------------------------------------------------

    def _code_review(self, request: Request) -> Draft:
        book = self.book.review
        points = []
        for advice in book.advice:
            match = advice.cue.search(request.text)
            if match and not (advice.absent and advice.absent.search(request.text)):
                points.append(advice.text.replace("{1}", match.group(1) if match.re.groups else ""))
        generic = list(book.generic)
        request.rng.shuffle(generic)
        if not points:
            points, generic = generic[:2], generic[2:]
        core = "\n".join(f"- {p}" for p in points)
        bullets = (f"\n- {g}" for g in generic)
        return Draft(core, chain(bullets, _paragraph(request, book.closing)))

    def _sql(self, request: Request) -> Draft:
        query = write_sql(request.text, self.book.sql)
        notes = [t for t, fields in self.book.sql.notes if fields <= query.slots.keys()]
        request.slots.update(query.slots)
        tables = [f"{query.slots[k]} table" for k in ("dim", "fact") if k in query.slots]
        request.nouns = [*tables, "join", "query plan", "result set"]
        core = query.sql if request.terse else f"```sql\n{query.sql}\n```"
        return Draft(core, _paragraph(request, tuple(notes), shuffle=False))

    def _summary(self, request: Request) -> Draft:
        book = self.book.summary
        count = _count(request.lower, book.numbers, book.default_points)
        material = _material(request.text)
        picked = _pick_sentences(sentences(material), count) if material else []
        short = [shorten(s, book.max_bullet_chars) for s in picked]
        if sum(len(s) + 3 for s in short) < request.goal:  # room to keep the sentences whole
            short = [shorten(s, 10 * len(s)) for s in picked]
        templates = list(book.points)
        request.rng.shuffle(templates)
        short += [request.fill(t) for t in templates[: max(0, count - len(short))]]
        if _PARAGRAPH.search(request.lower) and "bullet" not in request.lower:
            core = " ".join(f"{s}." for s in short)
        else:
            core = "\n".join(f"- {s}" for s in short)
        return Draft(core, _paragraph(request, book.closing))

    def _analysis(self, request: Request) -> Draft:
        book = self.book.analysis
        asks = _asks(request.text) or [f"{a}:" for a in book.aspects]
        fitting = request.goal // (len(asks) * _ANALYSIS_SENTENCE_CHARS)
        per_point = max(1, min(_MAX_SENTENCES_PER_POINT, fitting))
        parties = [n for n in request.nouns if n[:1].isupper()]
        request.slots["party"] = parties[0] if parties else request.nouns[0]
        points = []
        for number, ask in enumerate(asks, 1):
            first_word = ask.split(maxsplit=1)[0].lower().rstrip(":")
            bank = book.answers.get(first_word, book.answers["default"])
            ask_nouns = noun_phrases(ask, self.book.not_nouns) if not ask.endswith(":") else []
            focus = {"a": ask_nouns[-1]} if ask_nouns else {}
            said = [request.fill(request.rng.choice(bank), **focus)]
            said += [request.fill(t) for t in request.rng.sample(book.more, per_point - 1)]
            heading = ask if ask.endswith(":") else f"{ask[:1].upper()}{ask[1:]}:"
            points.append(f"{number}. {heading} {' '.join(said)}")
        return Draft("\n".join(points), _paragraph(request, book.closing))

    def _prose(self, request: Request) -> Draft:
        book = self.book.prose
        if request.label is Label.SIMPLE:
            if book.greeting_cue.search(request.lower):
                return Draft(request.rng.choice(book.greeting), ())
            usable = [t for t in book.short if request.own_nouns or "{" not in t]  # no stand-ins
            replies = [request.fill(t) for t in usable]
            fitting = [r for r in replies if len(r) <= request.limit] or [min(replies, key=len)]
            return Draft(request.rng.choice(fitting), ())
        openers = next((bank for cue, bank in book.openers if cue.search(request.lower)), book.default)
        opener = request.rng.choice(openers).format_map(_first_noun(request))
        return Draft(opener, ())

    def _prose_body(self, request: Request) -> Iterator[str]:
        """Sentences from the body bank without end, reshuffled each round, in short paragraphs."""
        bank = list(self.book.prose.body)
        written = 1
        while True:
            request.rng.shuffle(bank)
            for template in bank:
                separator = "\n\n" if written % _SENTENCES_PER_PARAGRAPH == 0 else " "
                written += 1
                yield separator + request.fill(template)


def _grow(core: str, more: Iterable[str], goal: int, low: int, limit: int) -> str:
    """The core plus whole pieces until `goal` characters, staying within `limit` once past `low`."""
    parts, size = [core], len(core)
    for piece in more:
        if size >= goal or (size + len(piece) > limit and size >= low):
            break
        parts.append(piece)
        size += len(piece)
    return "".join(parts)


def _reasons(request: Request, bank: Templates, slots: Callable[[], dict[str, str]]) -> Iterator[str]:
    """Sentences explaining a judgement; its slots are worked out only if the answer grows."""
    values = slots()
    for template in bank:
        yield " " + request.fill(template, **values)


def _paragraph(request: Request, bank: Templates, *, shuffle: bool = True) -> Iterator[str]:
    """A closing paragraph from a bank: its first sentence after a blank line."""
    order = list(bank)
    if shuffle:
        request.rng.shuffle(order)
    for index, template in enumerate(order):
        yield ("\n\n" if index == 0 else " ") + request.fill(template)


def _quote_words(found: list[str]) -> str:
    unique = list(dict.fromkeys(found))[:3]
    return ", ".join(f'"{w}"' for w in unique) if unique else "the overall wording"


def _first_noun(request: Request) -> dict[str, str]:
    a = request.nouns[0]
    return {"a": a, "A": a[:1].upper() + a[1:], "b": request.nouns[1]}


def _count(lower: str, numbers: dict[str, int], default: int) -> int:
    match = _COUNT.search(lower)
    if match is None:
        return default
    raw = match.group(1)
    value = int(raw) if raw.isdigit() else numbers.get(raw, default)
    return max(1, min(value, 10))


def _material(text: str) -> str:
    """What a request asks to be summarised: quoted text, else what follows its first line or colon."""
    body = quoted(text)
    if body is not text:
        return body
    _, newline, rest = text.partition("\n")
    return rest if newline and rest.strip() else ""


def _pick_sentences(found: list[str], count: int) -> list[str]:
    """The first sentence and the most detailed others, in their order; clauses when too few."""
    if len(found) < count:
        found = [c for s in found for c in re.split(r",\s+and\s+|;\s+", s)]
    if len(found) <= count:
        return found
    ranked = sorted(range(1, len(found)), key=lambda i: -detail_score(found[i]))[: count - 1]
    return [found[i] for i in sorted([0, *ranked])]


def _asks(text: str) -> list[str]:
    """The numbered asks of a request ("(1) which party ..., (2) whether ..."), each trimmed."""
    parts = _ASK.split(text)
    if len(parts) < 3:  # fewer than two numbered asks
        return []
    asks = []
    for part in parts[1:]:
        ask = _ASK_END.split(part.strip(), maxsplit=1)[0].strip().rstrip(",")
        if ask:
            asks.append(ask)
    return asks
