"""Counts of the labelled data by set, source, label, language and style, for README.md.

    .venv/bin/python data/labels/stats.py    # needs the public collections (see README.md)

Public prompts carry no language field: it is the collection's (M-IFEval es / fr / ja, ja-vicuna,
Rakuda), else guessed from the script (kana: ja, Han: zh, Hangul: ko, Cyrillic: ru), else en.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from claude_router.evaluate.dataset import LabelledPrompt
from claude_router.evaluate.public_data import load_dataset

HERE = Path(__file__).resolve().parent
LANG_OF_SOURCE = {
    "m_ifeval_es": "es",
    "m_ifeval_fr": "fr",
    "m_ifeval_ja": "ja",
    "ja_vicuna_qa": "ja",
    "rakuda_ja": "ja",
}


def language(item: LabelledPrompt) -> str:
    if item.lang:
        return item.lang
    if item.source in LANG_OF_SOURCE:
        return LANG_OF_SOURCE[item.source]
    text = item.prompt[:400]
    scripts = (
        ("ja", "\u3040", "\u30ff"),
        ("ko", "\uac00", "\ud7af"),
        ("zh", "\u4e00", "\u9fff"),
        ("ru", "\u0400", "\u04ff"),
    )
    for code, low, high in scripts:
        if sum(low <= c <= high for c in text) > len(text) // 5:
            return code
    return "en"


def collection(item: LabelledPrompt) -> str:
    source = item.source or f"hand-written {item.style or 'prompt'}"
    return "routellm/mmlu" if source.startswith("routellm/mmlu") else source


def table(name: str, items: list[LabelledPrompt]) -> None:
    print(f"\n{name}: {len(items)}")
    rows: dict[str, Counter[str]] = {}
    for item in items:
        rows.setdefault(collection(item), Counter())[item.label.value] += 1
    print("| source | simple | moderate | complex | total |\n|---|---:|---:|---:|---:|")
    for source, counts in sorted(rows.items()):
        cells = " | ".join(str(counts[label]) for label in ("simple", "moderate", "complex"))
        print(f"| {source} | {cells} | {sum(counts.values())} |")
    total = Counter(item.label.value for item in items)
    print(f"| **total** | {total['simple']} | {total['moderate']} | {total['complex']} | {len(items)} |")
    langs = Counter(language(item) for item in items)
    print("languages: " + ", ".join(f"{lang} {n}" for lang, n in langs.most_common()))
    styles = Counter(item.style or ("chat" if item.source else "prompt") for item in items)
    print("styles: " + ", ".join(f"{style} {n}" for style, n in styles.most_common()))


def main() -> None:
    table("training", load_dataset([HERE / "train.jsonl", HERE / "public" / "train"]))
    table("in-distribution held-out", load_dataset([HERE / "heldout.jsonl"]))
    table("second held-out (public sources)", load_dataset([HERE / "public" / "heldout"]))


if __name__ == "__main__":
    main()
