"""Reading a prompt for the parts an answer is built from: quoted material, noun phrases, sentences.

All of it is plain pattern matching over the text, compiled once at import (no per-request
compilation), and deterministic.
"""

from __future__ import annotations

import re
from collections.abc import Collection

# A quotation opens after whitespace, a colon or a bracket and closes before punctuation or the
# end, so an apostrophe inside it ("the Customer's") does not end it.
_QUOTED = re.compile(r"""(?:^|(?<=[\s:(]))['"‘“](.+?)['"’”](?=[\s.,;:!?)]|$)""", re.DOTALL)
_PHRASE = re.compile(
    r"\b(?:the|a|an|this|these|those|any|all|each|every|its|their|our|your|my)\s+"
    r"([A-Za-z][A-Za-z-]{2,})(?:\s+([A-Za-z][A-Za-z-]{2,}))?",
    re.IGNORECASE,
)
_WORD = re.compile(r"[A-Za-z][A-Za-z-]{3,}")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9])")
_CLAUSE = re.compile(r",\s+(?:and|but|which|while)\s+|;\s+")
_ARTICLE = re.compile(r"^(?:the|a|an)\s+", re.IGNORECASE)
_WORDS = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
_SECOND_WORD_ENDINGS = ("ly", "ed", "ing")


def quoted(text: str) -> str:
    """The quoted material in the text (joined), else what follows its first colon, else the text."""
    spans = _QUOTED.findall(text)
    if spans:
        return " ".join(spans)
    _, colon, rest = text.partition(":")
    return rest if colon and rest.strip() else text


def words(text: str) -> list[str]:
    """Lowercased words (letters of any script, with inner apostrophes)."""
    return _WORDS.findall(text.lower())


def noun_phrases(text: str, not_nouns: Collection[str], limit: int = 12) -> list[str]:
    """Noun phrases that follow a determiner ("the water cycle" -> "water cycle"), in order, unique.

    A phrase is one or two words; a second word is kept unless it looks like a verb or adverb
    (listed in `not_nouns`, or ending -ly / -ed / -ing). Falls back to long content words.
    """
    found: dict[str, str] = {}
    for first, second in _PHRASE.findall(text):
        head = first if first.lower() not in not_nouns else ""
        tail = second if second and second.lower() not in not_nouns else ""
        if tail.lower().endswith(_SECOND_WORD_ENDINGS):
            tail = ""
        phrase = f"{head} {tail}".strip() if head else tail
        if phrase:
            found.setdefault(phrase.lower(), phrase)
        if len(found) >= limit:
            break
    if not found:
        for word in _WORD.findall(text):
            if word.lower() not in not_nouns:
                found.setdefault(word.lower(), word.lower())
            if len(found) >= limit:
                break
    return list(found.values())


def sentences(text: str) -> list[str]:
    """The text's sentences, each stripped, in order."""
    return [s.strip() for s in _SENTENCE_END.split(text.strip()) if s.strip()]


def shorten(sentence: str, max_chars: int) -> str:
    """A bullet-style form of a sentence: no leading article or final stop, one clause when long."""
    text = sentence.strip().rstrip(".!?")
    if len(text) > max_chars:
        text = _CLAUSE.split(text, maxsplit=1)[0]
    text = _ARTICLE.sub("", text)
    return text[:1].upper() + text[1:]


def detail_score(sentence: str) -> int:
    """How much specific detail a sentence carries: numbers and capitalised terms past its start."""
    tokens = sentence.split()[1:]
    return sum(1 for t in tokens if t[:1].isupper() or any(c.isdigit() for c in t))
