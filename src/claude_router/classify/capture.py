"""`CapturingClassifier`: every label the LLM classifier gives becomes a training example.

The cascade asks the LLM classifier (Haiku) exactly when the local model is unsure, so its answers
are labels on the requests the local model most needs to learn, from the user's own traffic, at
no extra cost. This wrapper hands each one to an `ExampleSink` (the ledger's `ExampleBuffer`,
which writes them off the request path); `claude-router train --from-ledger` learns from them.

What an example holds (`docs/classifier.md`, "The learning loop"):

- always: the label, the model that gave it, when, and the *features* the local model reads
  (`Features.to_json()`: the word, word-pair, stem, character-pair, cue and shape strings of
  `classify/features.py`, from the text's first 320 and last 240 characters, its first and last
  120, and the system prompt's first 320), with the feature reading's version;
- only with `[classifier] keep_prompts = true`: the whole `ClassifierInput` (the last user turn's
  text, the system prompt and the request's shape), so a future reading can extract new features.

Only answers that named a label are kept: a failed call (fallback) or a reply naming none (moderate
assumed) is not a label. Cache hits are not kept again: the first answer already was.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from ..types import ClassifierSource, Decision, Label
from .base import Classifier, ClassifierInput
from .cache import Closable
from .features import FeatureConfig, FeatureExtractor
from .llm import UNPARSED_CONFIDENCE


def input_to_json(item: ClassifierInput) -> str:
    """A `ClassifierInput` as JSON (every field), for examples kept with their prompt."""
    return json.dumps(dataclasses.asdict(item), ensure_ascii=False, separators=(",", ":"))


def input_from_json(text: str) -> ClassifierInput:
    """The `ClassifierInput` `input_to_json` wrote; `ValueError` if `text` is not one."""
    data = json.loads(text)
    names = {f.name for f in dataclasses.fields(ClassifierInput)}
    if not isinstance(data, dict) or not isinstance(data.get("text"), str) or not set(data) <= names:
        raise ValueError("not a stored classifier input")
    try:
        return ClassifierInput(**data)
    except TypeError as exc:
        raise ValueError(f"not a stored classifier input: {exc}") from None


@dataclass(frozen=True, slots=True)
class LabelledExample:
    """One request the LLM classifier labelled. Its features are read only when the example is
    written (`features_json`), in the writer's task, never on the request's path."""

    created_at: datetime
    label: Label
    labeller: str | None  # the model that gave the label
    features_version: str  # `FeatureConfig.version` of the reading below
    item: ClassifierInput = field(repr=False)
    keep_prompt: bool = False
    reader: FeatureExtractor | None = field(default=None, repr=False, compare=False)

    @property
    def features_json(self) -> str:
        """The features the local model reads (`Features.to_json()`): what training needs."""
        reader = self.reader or FeatureExtractor(FeatureConfig.default())
        return reader(self.item).to_json()

    @property
    def input_json(self) -> str | None:
        """The whole `ClassifierInput` as JSON when the user opted in to keeping prompts, else None."""
        return input_to_json(self.item) if self.keep_prompt else None


class ExampleSink(Protocol):
    """Takes examples without waiting (the ledger's `ExampleBuffer`). Never raises."""

    def offer(self, example: LabelledExample) -> None: ...


class CapturingClassifier:
    """Wraps any classifier; each label its LLM classifier gives goes to `sink` as an example."""

    def __init__(
        self,
        inner: Classifier,
        sink: ExampleSink,
        *,
        keep_prompts: bool = False,
        features: FeatureConfig | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.inner = inner
        self.sink = sink
        self.keep_prompts = keep_prompts
        self.version = inner.version  # capturing never changes a label
        config = features or FeatureConfig.default()
        self._reader = FeatureExtractor(config)
        self._features_version = config.version
        self._clock = clock or _utcnow

    async def classify(self, item: ClassifierInput) -> Decision:
        decision = await self.inner.classify(item)
        if is_llm_label(decision):
            self.sink.offer(self.example(item, decision))
        return decision

    def example(self, item: ClassifierInput, decision: Decision) -> LabelledExample:
        return LabelledExample(
            created_at=self._clock(),
            label=decision.label,
            labeller=decision.model,
            features_version=self._features_version,
            item=item,
            keep_prompt=self.keep_prompts,
            reader=self._reader,
        )

    async def aclose(self) -> None:
        if isinstance(self.inner, Closable):
            await self.inner.aclose()


def is_llm_label(decision: Decision) -> bool:
    """Whether `decision` is a label the LLM classifier gave (not a cache hit, a failure or a
    reply that named no label)."""
    return decision.source is ClassifierSource.LLM and decision.confidence > UNPARSED_CONFIDENCE


def _utcnow() -> datetime:
    return datetime.now(UTC)


__all__ = [
    "CapturingClassifier",
    "ExampleSink",
    "LabelledExample",
    "input_from_json",
    "input_to_json",
    "is_llm_label",
]
