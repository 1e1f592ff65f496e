"""Ordinary answers are shaped like the task they answer, deterministic, and sized by the label."""

from __future__ import annotations

import random
import re
from typing import Any

import anthropic
import pytest
from anthropic.types import MessageParam, TextBlock

from claude_router.demo import demo_requests
from claude_router.emulator.compose import Composer
from claude_router.emulator.labeler import RuleLabeler
from claude_router.emulator.phrasebook import Phrasebook, template_fields
from claude_router.types import Label

from .support import HAIKU, SONNET

DEMO = {r.task_id: r.params for r in demo_requests()}
RULE = RuleLabeler.load()


@pytest.fixture(scope="module")
def composer() -> Composer:
    return Composer.load(RULE.answer_tokens)


def compose(composer: Composer, text: str, system: str = "", seed: int = 1) -> str:
    return composer.compose(text, system, RULE.label(text), random.Random(seed))


async def demo_answer(sdk: anthropic.AsyncAnthropic, task_id: str, max_tokens: int = 2_000) -> str:
    params: dict[str, Any] = {**DEMO[task_id], "model": HAIKU, "max_tokens": max_tokens}
    message = await sdk.messages.create(**params)
    assert message.stop_reason == "end_turn"
    block = message.content[0]
    assert isinstance(block, TextBlock)
    return block.text


async def test_the_demo_judgements(sdk: anthropic.AsyncAnthropic) -> None:
    assert await demo_answer(sdk, "sentiment-001") == "Positive."
    assert await demo_answer(sdk, "lang-detect-002") == "German."
    assert await demo_answer(sdk, "yes-no-006") == "Yes."
    assert await demo_answer(sdk, "batch-label-008") == "billing_duplicate_charge"


async def test_the_demo_sql_joins_both_tables(sdk: anthropic.AsyncAnthropic) -> None:
    sql = await demo_answer(sdk, "sql-gen-004")

    assert sql.startswith("SELECT ")
    assert "FROM customers" in sql
    assert "JOIN orders" in sql
    assert "o.customer_id = c.id" in sql
    assert "SUM(o.total)" in sql
    assert "GROUP BY" in sql
    assert sql.endswith("LIMIT 10;")


async def test_the_demo_summary_has_three_bullets_from_the_spec(sdk: anthropic.AsyncAnthropic) -> None:
    summary = await demo_answer(sdk, "summary-007")
    bullets = [line for line in summary.splitlines() if line.startswith("- ")]

    assert len(bullets) == 3
    assert summary.startswith("- ")
    assert "gRPC" in bullets[0]
    assert any("Kubernetes" in b or "PostgreSQL" in b for b in bullets)


async def test_the_demo_code_review_points_at_the_code(sdk: anthropic.AsyncAnthropic) -> None:
    review = await demo_answer(sdk, "code-review-003")
    bullets = [line for line in review.splitlines() if line.startswith("- ")]

    assert "`import json`" in bullets[0]
    assert any("`with`" in b for b in bullets)
    assert any("load_config" in b and "type hints" in b for b in bullets)


async def test_the_demo_analysis_answers_each_numbered_ask(sdk: anthropic.AsyncAnthropic) -> None:
    analysis = await demo_answer(sdk, "doc-analysis-005")
    points = re.findall(r"^(\d)\. (\w+)", analysis, re.MULTILINE)

    assert points == [("1", "Which"), ("2", "Whether"), ("3", "Whether")]
    assert "Supplier" in analysis


async def test_answers_are_the_same_for_the_same_conversation(sdk: anthropic.AsyncAnthropic) -> None:
    for task_id in DEMO:
        assert await demo_answer(sdk, task_id) == await demo_answer(sdk, task_id)


async def test_a_cut_structured_answer_is_a_prefix_of_the_whole(sdk: anthropic.AsyncAnthropic) -> None:
    prompt: list[MessageParam] = [
        {"role": "user", "content": str(DEMO["sql-gen-004"]["messages"][0]["content"])}
    ]
    full = await sdk.messages.create(model=SONNET, max_tokens=4_000, messages=prompt)
    cut = await sdk.messages.create(model=SONNET, max_tokens=25, messages=prompt)
    full_text, cut_text = full.content[0], cut.content[0]

    assert isinstance(full_text, TextBlock)
    assert isinstance(cut_text, TextBlock)
    assert cut.stop_reason == "max_tokens"
    assert len(cut_text.text) == 100
    assert full_text.text.startswith(cut_text.text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("What is the sentiment of this review? 'Arrived late and broken, I want a refund.'", "Negative."),
        ("Classify the sentiment: 'The parcel came on Tuesday.'", "Neutral."),
        ("Which language is this? 'Bonjour, je voudrais un café avec du lait.'", "French."),
        ("Which language is this? 'Hola, ¿cómo está usted? Muy bien, gracias.'", "Spanish."),
        ("Which language is this? 'Ciao, come stai? Sono molto contento, grazie.'", "Italian."),
        ("Which language is this? 'Olá, você não está em casa hoje?'", "Portuguese."),
        ("Which language is this? 'Goedemorgen, hoe gaat het met je?'", "Dutch."),
        ("Which language is this? 'How are you doing with the report?'", "English."),
        ("Which language is this? 'お元気ですか'", "Japanese."),
        ("Which language is this? '你好吗'", "Chinese."),
        ("Does this email ask for a meeting? Yes or no. 'Thanks for the report, all good.'", "No."),
        ("What is the intent of this ticket? 'Please refund my last order.'", "refund_request"),
        ("What is the intent of this ticket? 'I forgot my password again.'", "password_reset"),
        ("Label this ticket: 'My package hasn't arrived yet.'", "shipping_delay"),
    ],
)
def test_judgements_follow_the_cue_words(composer: Composer, text: str, expected: str) -> None:
    assert compose(composer, text) == expected


def test_sql_for_one_table_with_a_count(composer: Composer) -> None:
    text = "Write a SQL query for the number of rows per customer in orders(id, customer_id, amount)."
    sql = compose(composer, text, system="Reply with the SQL only.")

    assert sql.splitlines() == [
        "SELECT customer_id, COUNT(*) AS order_count",
        "FROM orders",
        "GROUP BY customer_id",
        "ORDER BY order_count DESC;",
    ]


def test_the_bare_product_only_when_asked_for(composer: Composer) -> None:
    text = str(DEMO["sql-gen-004"]["messages"][0]["content"])
    bare = compose(composer, text, system="Reply with the SQL only.")
    explained = compose(composer, text)

    assert bare.startswith("SELECT")
    assert explained.startswith(f"```sql\n{bare}\n```\n\n")
    assert "orders.customer_id" in explained


def test_a_summary_gives_the_number_of_points_asked_for(composer: Composer) -> None:
    text = (
        "Summarize this in two bullet points:\nThe cache holds 10,000 entries. Entries expire after "
        "five minutes. Writes go to PostgreSQL first. Reads fall back to the primary."
    )
    bullets = [line for line in compose(composer, text).splitlines() if line.startswith("- ")]

    assert len(bullets) == 2
    assert bullets[0] == "- Cache holds 10,000 entries"


@pytest.mark.parametrize(
    "text",
    [
        "Explain how a hash map works.",
        "Describe the water cycle step by step.",
        "Write a short story about a lighthouse keeper.",
        "Summarize the history of the printing press in detail.",
    ],
)
def test_prose_is_sentences_about_the_prompt(composer: Composer, text: str) -> None:
    answer = compose(composer, text)
    low, _ = RULE.answer_tokens[Label.MODERATE]

    assert len(answer) >= low * 4
    assert re.search(r"[.!?]$", answer)
    noun = re.search(r"(hash map|water cycle|lighthouse keeper|printing press)", text)
    assert noun is not None
    assert noun.group(1) in answer


@pytest.mark.parametrize("seed", range(20))
def test_natural_lengths_stay_in_the_label_range(composer: Composer, seed: int) -> None:
    for params in DEMO.values():
        text = str(params["messages"][-1]["content"])
        label = RULE.label(text)
        low, high = RULE.answer_tokens[label]
        size = len(composer.compose(text, "", label, random.Random(seed)))
        assert size <= high * 4
        if label is not Label.SIMPLE:
            assert size >= low * 4


def test_a_greeting_gets_a_greeting(composer: Composer) -> None:
    assert compose(composer, "Hi there.").startswith(("Hello", "Hi"))


def test_every_template_fills_with_the_documented_slots() -> None:
    book = Phrasebook.load()
    known = {"a", "A", "b", "c", "party", "tone", "evidence", "language", "answer", "label"}
    banks = [
        book.sentiment.reasons,
        book.language.reasons,
        book.yes_no.reasons,
        book.intent.reasons,
        book.review.closing,
        book.summary.points,
        book.summary.closing,
        book.analysis.more,
        book.analysis.closing,
        *book.analysis.answers.values(),
        book.prose.short,
        book.prose.default,
        book.prose.body,
        *(bank for _, bank in book.prose.openers),
    ]
    for bank in banks:
        assert bank
        for template in bank:
            assert template_fields(template) <= known, template
    sql_slots = {"fact", "dim", "fk", "col", "limit"}
    assert all(fields <= sql_slots for _, fields in book.sql.notes)
