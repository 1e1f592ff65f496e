"""Build `train.jsonl` and `heldout.jsonl` from the hand-written batches.

    .venv/bin/python data/labels/build.py

Batches (`batches/*.jsonl`) are the source of truth. A prompt, or any text of a request body, may
embed a long document with `{{doc:NAME}}`, read from `docs/NAME.txt`, so that one document can
carry instructions of every label. The split is stratified by label and fixed by SEED: the
held-out file is never trained on. Each style (the first prompts, terse API calls, agent steps,
chat tasks) is split on its own, so adding a batch leaves the other styles' split as it was.
"""

from __future__ import annotations

import json
import re
import sys
from importlib import resources
from pathlib import Path
from typing import Any

from claude_router.evaluate.dataset import LabelledPrompt, load_labelled, stratified_split, write_labelled

HERE = Path(__file__).resolve().parent
SEED = 20260314
HELDOUT_FRACTION = 0.2
DOC = re.compile(r"\{\{doc:([\w.-]+)\}\}")
#: Each style is split on its own, so a new batch of one style leaves the others' split as it was
#: (None: the first 781 hand-written prompts).
STYLES = (None, "api", "agent", "chat")


def _doc(match: re.Match[str]) -> str:
    return (HERE / "docs" / f"{match.group(1)}.txt").read_text(encoding="utf-8").strip()


def _expand_value(value: Any) -> Any:
    if isinstance(value, str):
        return DOC.sub(_doc, value)
    if isinstance(value, list):
        return [_expand_value(v) for v in value]
    if isinstance(value, dict):
        return {k: _expand_value(v) for k, v in value.items()}
    return value


def _expand(item: LabelledPrompt) -> LabelledPrompt:
    extra = {"lang": item.lang, "domain": item.domain, "style": item.style}
    if item.request is not None:
        return LabelledPrompt.of_request(_expand_value(dict(item.request)), item.label, **extra)
    return LabelledPrompt(DOC.sub(_doc, item.prompt), item.label, item.system, **extra)


def _demo_prompts() -> set[str]:
    raw = resources.files("claude_router").joinpath("data/demo_requests.json").read_text(encoding="utf-8")
    return {message["content"] for request in json.loads(raw) for message in request["messages"]}


def _key(item: LabelledPrompt) -> str:
    if item.request is not None:
        return json.dumps(item.request, sort_keys=True, ensure_ascii=False)
    return json.dumps([item.prompt, item.system], ensure_ascii=False)


def main() -> int:
    items: list[LabelledPrompt] = []
    for batch in sorted((HERE / "batches").glob("*.jsonl")):
        items.extend(_expand(item) for item in load_labelled(batch))
    seen: set[str] = set()
    demo = _demo_prompts()
    for item in items:
        key = _key(item)
        if key in seen:
            print(f"duplicate prompt: {item.prompt[:80]!r}", file=sys.stderr)
            return 1
        if item.prompt in demo:
            print(f"a demo prompt is in the labelled set: {item.prompt[:80]!r}", file=sys.stderr)
            return 1
        seen.add(key)
    train: list[LabelledPrompt] = []
    heldout: list[LabelledPrompt] = []
    for style in STYLES:
        kept, held = stratified_split([i for i in items if i.style == style], HELDOUT_FRACTION, SEED)
        train.extend(kept)
        heldout.extend(held)
    write_labelled(HERE / "train.jsonl", train)
    write_labelled(HERE / "heldout.jsonl", heldout)
    counts = {label: sum(1 for i in items if i.label == label) for label in ("simple", "moderate", "complex")}
    styles = {style or "prompt": sum(1 for i in items if i.style == style) for style in STYLES}
    langs = sorted({i.lang or "?" for i in items})
    print(
        f"{len(items)} prompts {counts} {styles}; train {len(train)}, held out {len(heldout)}; "
        f"languages: {langs}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
