"""Build `train.jsonl` and `heldout.jsonl` from the hand-written batches.

    .venv/bin/python data/labels/build.py

Batches (`batches/*.jsonl`) are the source of truth. A prompt may embed a long document with
`{{doc:NAME}}`, read from `docs/NAME.txt`, so that one document can carry instructions of every
label. The split is stratified by label and fixed by SEED: the held-out file is never trained on.
"""

from __future__ import annotations

import json
import re
import sys
from importlib import resources
from pathlib import Path

from claude_router.evaluate.dataset import LabelledPrompt, load_labelled, stratified_split, write_labelled

HERE = Path(__file__).resolve().parent
SEED = 20260314
HELDOUT_FRACTION = 0.2
DOC = re.compile(r"\{\{doc:([\w.-]+)\}\}")


def _expand(item: LabelledPrompt) -> LabelledPrompt:
    def body(match: re.Match[str]) -> str:
        return (HERE / "docs" / f"{match.group(1)}.txt").read_text(encoding="utf-8").strip()

    return LabelledPrompt(DOC.sub(body, item.prompt), item.label, item.system, item.lang, item.domain)


def _demo_prompts() -> set[str]:
    raw = resources.files("claude_router").joinpath("data/demo_requests.json").read_text(encoding="utf-8")
    return {message["content"] for request in json.loads(raw) for message in request["messages"]}


def main() -> int:
    items: list[LabelledPrompt] = []
    for batch in sorted((HERE / "batches").glob("*.jsonl")):
        items.extend(_expand(item) for item in load_labelled(batch))
    seen: set[tuple[str, str | None]] = set()
    demo = _demo_prompts()
    for item in items:
        key = (item.prompt, item.system)
        if key in seen:
            print(f"duplicate prompt: {item.prompt[:80]!r}", file=sys.stderr)
            return 1
        if item.prompt in demo:
            print(f"a demo prompt is in the labelled set: {item.prompt[:80]!r}", file=sys.stderr)
            return 1
        seen.add(key)
    train, heldout = stratified_split(items, HELDOUT_FRACTION, SEED)
    write_labelled(HERE / "train.jsonl", train)
    write_labelled(HERE / "heldout.jsonl", heldout)
    counts = {label: sum(1 for i in items if i.label == label) for label in ("simple", "moderate", "complex")}
    langs = sorted({i.lang or "?" for i in items})
    print(f"{len(items)} prompts {counts}; train {len(train)}, held out {len(heldout)}; languages: {langs}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
