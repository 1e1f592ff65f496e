"""What the local classifier sees of a request: words, word pairs, character pairs, cues and shape.

Features are plain strings looked up in the model's weight table, so training and inference share
this one extractor and an unseen feature simply weighs nothing. Only the head and the tail of a
long text are read word by word: the instruction sits at one end or the other, while the middle
is usually pasted material whose size the shape features capture. That also bounds the cost of
a prompt whatever its length.

Names: `w:` word of the text, `e:` word of its edges (first and last `edge_chars`), `s:` word of
the system prompt; `b` before a prefix marks a word pair, `p` a word stem, `c` a character pair
(scripts written without spaces); `cue-e:` / `cue-s:` a cue group (`cues.toml`) found at the
edges or in the system prompt, `cue-e:GROUP@SIZE` the same with the text's coarse size (a
"which label?" ask over a long document is not the same request as over one line); `len:`,
`lines:`, `q:` ... the shape of the text.

Meaning beyond the words, read the same way in every language: `first:` the opening word (the
verb of an instruction); `ask:KIND:N` a length asked for ("300 words", "3 paragraphs", "5 bullet
points", "2文"); `sents:` how many sentences the instruction's edges hold (one ask or several).
Read from the request, not the text (`ClassifierInput`'s other fields): `tools:` how many tools
are offered, `toolres:` tool results handed back (an agent step), `turns:` / `hist:` the
conversation's length and the size of its history, `think:` a thinking budget, `effort:` the
effort asked for, `maxtok:` a small answer ceiling. Each fires only when the request has it, so a
labelled prompt and the same prompt sent as a plain message read alike.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from .base import ClassifierInput

CUES_RESOURCE = "cues.toml"

# Runs of Thai, kana and CJK ideographs: read as character pairs, since words are not spaced.
_UNSPACED = "\u0e00-\u0e7f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
# (run of unspaced script, word): one is empty. A word stops where an unspaced script starts, so
# "python写一个函数" is the word "python" and the run "写一个函数".
_TOKEN = re.compile(rf"([{_UNSPACED}]+)|([^\W{_UNSPACED}]+)")
# A numbered or bulleted item, or an enumerated requirement such as "(2)".
_ITEM = re.compile(r"(?:^|\n)\s*(?:\d{1,2}[.)]|[-*•])\s|\(\d\)")
_QUESTION_MARKS = ("?", "？", "؟")
_SENTENCE_END = re.compile(r"[.!?;](?:\s|$)|[。！？；]")
# A length asked for: a number, then a unit of text (words, sentences, paragraphs, lines, items).
_LENGTH_UNITS = {
    "w": r"words?|mots?|palabras?|palavras?|wörtern?|wort|parole|слов\w*|字|文字|語|단어|từ",
    "s": r"sentences?|phrases?|frases?|sätzen?|satz|frasi|предложени\w*|文",
    "p": r"paragraphs?|paragraphes?|párrafos?|absätzen?|paragrafi|абзац\w*|段落|단락|đoạn",
    "l": r"lines?|lignes?|líneas?|zeilen|righe|строк\w*|行",
    "i": r"bullets?|bullet points?|points?|puntos?|items?|steps?|étapes?|pasos?|punkte|箇条書き|項目|个要点",
}
_LENGTH_ASK = re.compile(
    r"(\d{1,5})\s*\+?\s*(?:[-–~]\s*\d{1,5}\s*)?(?:個の|つの)?("
    + "|".join(f"(?P<{kind}>{units})" for kind, units in _LENGTH_UNITS.items())
    + r")(?![a-z])",
    re.IGNORECASE,
)
_COARSE_SIZES = ((200, "short"), (1500, "mid"))  # characters; beyond the last: "long"
# Options of a multiple-choice question: "A. ...", "(B) ...", "c) ..." at the start of a line or
# after a space.
_OPTION = re.compile(r"(?:^|\n|\s)\(?([a-dA-D])[.)]\s")
_CODE_MARKERS = ("```", "def ", "function ", "=>", "};", "):\n", "SELECT ", "select ", "#include")
_NEWLINE = "\n"


def default_cues() -> dict[str, tuple[str, ...]]:
    """The packaged cue groups (`cues.toml`): group name -> words and phrases."""
    raw = resources.files(__package__).joinpath(CUES_RESOURCE).read_text(encoding="utf-8")
    return {group: tuple(phrases) for group, phrases in tomllib.loads(raw)["cues"].items()}


@dataclass(frozen=True, slots=True)
class FeatureConfig:
    """How a request is read; stored in the model file so training and use agree."""

    head_chars: int = 320
    tail_chars: int = 240
    edge_chars: int = 120  # the very start and end, where the instruction usually is
    system_chars: int = 320
    stem_chars: int = 5  # longer words also count by their first letters (0: off)
    cues: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def default(cls) -> FeatureConfig:
        """The default reading, with the packaged cue groups."""
        return cls(cues=default_cues())

    def to_dict(self) -> dict[str, Any]:
        fields = {name: getattr(self, name) for name in self.__dataclass_fields__}
        fields["cues"] = {group: list(phrases) for group, phrases in self.cues.items()}
        return fields

    @property
    def version(self) -> str:
        """The reading's hash: features stored under one version are only read by a model of it."""
        text = json.dumps(self.to_dict(), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return "feat-" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


@dataclass(frozen=True, slots=True)
class Features:
    """Groups of feature names, each name weighing 1/sqrt(size of its group), and shape features (1).

    Normalising per group keeps a long prompt from being louder, and keeps the pasted material
    from drowning the instruction at the prompt's edges or in the system prompt.
    """

    groups: tuple[tuple[str, ...], ...]
    shape: tuple[str, ...]

    def to_json(self) -> str:
        """`{"groups": [[name, ...], ...], "shape": [name, ...]}`: what training needs, and no more."""
        data = {"groups": [list(g) for g in self.groups], "shape": list(self.shape)}
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Features:
        """The features `to_json` wrote; `ValueError` if `text` is not that shape."""
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("features: not a JSON object")
        groups, shape = data.get("groups"), data.get("shape")
        if not isinstance(groups, list) or not isinstance(shape, list):
            raise ValueError("features: groups and shape must be lists")
        if not all(isinstance(g, list) and all(isinstance(n, str) for n in g) for g in groups):
            raise ValueError("features: every group must be a list of strings")
        if not all(isinstance(n, str) for n in shape):
            raise ValueError("features: shape must be a list of strings")
        return cls(tuple(tuple(g) for g in groups), tuple(shape))


def _bucket(count: int, cap: int) -> int:
    """0, 1, 2-3, 4-7, ... as 0, 1, 2, 3, ...; capped."""
    return min(count.bit_length(), cap)


class FeatureExtractor:
    """`extractor(item) -> Features` for one `FeatureConfig` (cue lookup built once)."""

    def __init__(self, config: FeatureConfig) -> None:
        self.config = config
        cue_index: dict[str, list[str]] = {}
        for group, phrases in config.cues.items():
            for phrase in phrases:
                key = " ".join(run or word for run, word in _TOKEN.findall(phrase.lower()))
                groups = cue_index.setdefault(key, [])
                if group not in groups:
                    groups.append(group)
        self._cues = {phrase: tuple(groups) for phrase, groups in cue_index.items()}

    def __call__(self, item: ClassifierInput) -> Features:
        config = self.config
        text = item.text.lower()
        window = text
        if len(text) > config.head_chars + config.tail_chars:
            window = text[: config.head_chars] + _NEWLINE + text[-config.tail_chars :]
        edges = text
        if len(text) > 2 * config.edge_chars:
            edges = text[: config.edge_chars] + _NEWLINE + text[-config.edge_chars :]
        shape = self._shape(item, window)
        shape.extend(_meaning(text, edges))
        hits: list[str] = []
        groups = [self._words(window, "w:", None), self._words(edges, "e:", hits)]
        size = _coarse_size(len(text))
        for group in dict.fromkeys(hits):
            shape.extend(("cue-e:" + group, f"cue-e:{group}@{size}"))
        if item.system:
            hits.clear()
            groups.append(self._words(item.system[: config.system_chars].lower(), "s:", hits))
            shape.extend("cue-s:" + group for group in dict.fromkeys(hits))
        return Features(tuple(g for g in groups if g), tuple(shape))

    def _words(self, text: str, prefix: str, cue_hits: list[str] | None) -> tuple[str, ...]:
        """Words, stems and word pairs (or character pairs) of `text`; cue groups go to `cue_hits`."""
        out: dict[str, None] = {}  # an ordered set: the same request, the same order
        cues = self._cues if cue_hits is not None else {}
        stem = self.config.stem_chars or 1_000_000
        stem_prefix, pair_prefix, char_prefix = "p" + prefix, "b" + prefix, "c" + prefix
        previous = ""
        for run, word in _TOKEN.findall(text):
            if run:
                pairs = [run] if len(run) == 1 else [run[i : i + 2] for i in range(len(run) - 1)]
                for pair in pairs:
                    out[char_prefix + pair] = None
                    if pair in cues:
                        cue_hits.extend(cues[pair])  # type: ignore[union-attr]
                previous = ""
                continue
            if word.isdigit():
                word = "#"
            out[prefix + word] = None
            if len(word) > stem + 1:
                out[stem_prefix + word[:stem]] = None
            if previous:
                pair = previous + " " + word
                out[pair_prefix + pair] = None
                if pair in cues:
                    cue_hits.extend(cues[pair])  # type: ignore[union-attr]
            if word in cues:
                cue_hits.extend(cues[word])  # type: ignore[union-attr]
            elif len(word) > stem and word[:stem] in cues:  # a listed stem of an inflected word
                cue_hits.extend(cues[word[:stem]])  # type: ignore[union-attr]
            previous = word
        return tuple(out)

    @staticmethod
    def _shape(item: ClassifierInput, window: str) -> list[str]:
        text = item.text
        questions = sum(text.count(mark) for mark in _QUESTION_MARKS)
        commas = window.count(",") + window.count("、") + window.count("，")
        shape = [
            f"len:{_bucket(len(text), 14)}",
            f"lines:{_bucket(text.count(_NEWLINE), 6)}",
            f"paras:{_bucket(text.count(_NEWLINE * 2), 4)}",
            f"q:{min(questions, 3)}",
            f"items:{_bucket(len(_ITEM.findall(window)), 4)}",
            f"commas:{_bucket(commas, 5)}",
            f"code:{min(sum(1 for marker in _CODE_MARKERS if marker in text), 3)}",
            f"indent:{_bucket(text.count(_NEWLINE + '    ') + text.count(_NEWLINE + chr(9)), 4)}",
            f"sys:{_bucket(len(item.system), 12) if item.system else 'none'}",
        ]
        shape.extend(_request_shape(item))
        return shape


def _coarse_size(chars: int) -> str:
    return next((name for limit, name in _COARSE_SIZES if chars < limit), "long")


def _meaning(text: str, edges: str) -> list[str]:
    """What the instruction asks, in any language: its first word, lengths asked for, how many asks."""
    found: list[str] = []
    first = _TOKEN.search(text)
    if first:
        run, word = first.groups()
        found.append("first:" + (run[:2] if run else "#" if word[0].isdigit() else word[:16]))
    asked: dict[str, None] = {}
    for match in _LENGTH_ASK.finditer(edges):
        kind = next(k for k in _LENGTH_UNITS if match.group(k))
        asked[f"ask:{kind}:{_bucket(int(match.group(1)), 12)}"] = None
    found.extend(asked)
    found.append(f"sents:{_bucket(len(_SENTENCE_END.findall(edges)), 4)}")
    options = {letter.lower() for letter in _OPTION.findall(text[-1500:])}
    if len(options) >= 3:
        found.append("choice:options")
    return found


def _request_shape(item: ClassifierInput) -> list[str]:
    """The request around the text: tools, tool results, history, thinking, effort, answer ceiling."""
    found: list[str] = []
    tools = item.tools
    if tools:
        found.extend(("tools", f"tools:{_bucket(tools, 5)}"))
    if item.tool_results:
        found.append(f"toolres:{_bucket(item.tool_results, 3)}")
    if item.turns > 1:
        history = max(item.context_chars - len(item.text) - len(item.system or ""), 0)
        found.extend((f"turns:{_bucket(item.turns, 5)}", f"hist:{_bucket(history, 17)}"))
    if item.thinking_tokens:
        found.append(f"think:{_bucket(item.thinking_tokens // 1024, 5)}")
    if item.effort:
        found.append("effort:" + item.effort)
    if 0 < item.max_tokens <= 512:  # a larger ceiling is usually a default, not a hint
        found.append(f"maxtok:{_bucket(item.max_tokens, 10)}")
    return found


__all__ = ["CUES_RESOURCE", "FeatureConfig", "FeatureExtractor", "Features", "default_cues"]
