"""`eval routing` on slices of RouteLLM's real evaluation data: the curve, APGR, CPT, the splits."""

from __future__ import annotations

import csv
import dataclasses
import json
import shutil
from itertools import islice
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from claude_router.evaluate.commands import eval_routing
from claude_router.evaluate.public_data import public_data_root
from claude_router.evaluate.routing import (
    ROUTERS,
    evaluate_benchmark,
    figures,
    group_gain,
    quality_curve,
    random_figures,
    split,
)
from claude_router.evaluate.routing_data import Scored, contaminated, load_gsm8k, load_mmlu, load_mt_bench

from .shared_data import require_public_data

DATA = public_data_root() / "routellm"


@pytest.fixture(autouse=True)
def _routellm_data() -> None:
    """These tests read RouteLLM's real data: skip without it (fail under CI)."""
    require_public_data("routellm")


@pytest.fixture(scope="module")
def mmlu() -> list[Scored]:
    require_public_data("routellm")  # module fixtures run before the autouse check
    return load_mmlu(DATA, limit_per_subject=25)


def test_the_curve_runs_from_all_weak_to_all_strong(mmlu: list[Scored]) -> None:
    curve = quality_curve(mmlu, [len(i.prompt) for i in mmlu])
    weak, strong = (sum(getattr(i, side) for i in mmlu) / len(mmlu) for side in ("weak", "strong"))
    assert len(curve) == len(mmlu) + 1
    assert curve[0] == pytest.approx(weak)
    assert curve[-1] == pytest.approx(strong)
    assert weak < strong  # the strong model is the better one on this slice


def test_equal_scores_route_like_random_and_the_oracle_bounds_every_router(mmlu: list[Scored]) -> None:
    weak = sum(i.weak for i in mmlu) / len(mmlu)
    strong = sum(i.strong for i in mmlu) / len(mmlu)
    flat = figures("flat", quality_curve(mmlu, [0.0] * len(mmlu)), weak, strong)
    rand = random_figures(weak, strong)
    assert flat.apgr == pytest.approx(rand.apgr, abs=1e-3)
    for (share, q), (_, expected) in zip(flat.curve, rand.curve, strict=True):
        assert q == pytest.approx(expected, abs=1e-3), share
    result = evaluate_benchmark("MMLU slice", mmlu)
    by_name = {r.router: r for r in result.routers}
    assert set(by_name) == {"random", *ROUTERS}
    oracle = by_name["oracle"]
    for r in result.routers:
        assert r.apgr <= oracle.apgr + 1e-9
        cpts = [c for c in r.cpt.values() if c is not None]
        assert cpts == sorted(cpts)  # recovering more of the gap never needs fewer strong calls
    assert oracle.cpt[0.95] is not None
    assert oracle.cpt[0.95] < 0.5


def test_group_gain_learns_from_the_training_half_only(mmlu: list[Scored]) -> None:
    train, heldout = split(mmlu, seed=3)
    assert not {id(i) for i in train} & {id(i) for i in heldout}
    assert len(train) + len(heldout) == len(mmlu)
    score = group_gain(train)
    flipped = [dataclasses.replace(i, weak=i.strong, strong=i.weak) for i in heldout]
    assert [score(i) for i in heldout] == [score(i) for i in flipped]  # held-out answers unseen
    retrained = group_gain([dataclasses.replace(i, weak=1.0, strong=0.0) for i in train])
    assert [retrained(i) for i in heldout] != [score(i) for i in heldout]


def test_contaminated_prompts_are_dropped() -> None:
    drop = contaminated(DATA / "contaminated_prompts.jsonl")
    assert drop
    assert not {i.prompt for i in load_mmlu(DATA)} & drop
    gsm_drop = contaminated(DATA / "gsm_contam.jsonl")
    assert not {i.prompt for i in load_gsm8k(DATA)} & gsm_drop
    mt = load_mt_bench(DATA)
    questions = (DATA / "question.jsonl").read_text(encoding="utf-8").splitlines()
    dropped = len(questions) - len(mt)
    assert dropped == len(contaminated(DATA / "mt_contam.jsonl")) > 0
    assert all(1 <= i.weak <= 10 and 1 <= i.strong <= 10 for i in mt)


@pytest.fixture
def slice_folder(tmp_path: Path) -> Path:
    """The data folder's layout, with two MMLU subjects and the first 120 GSM8K prompts.

    Not high-school mathematics: the strong model's recorded correctness there is 3%.
    """
    (tmp_path / "mmlu").mkdir()
    for subject in ("anatomy", "college_computer_science"):
        shutil.copy(DATA / "mmlu" / f"mmlu_{subject}.csv", tmp_path / "mmlu")
    for name in ("contaminated_prompts.jsonl", "gsm_contam.jsonl", "mt_contam.jsonl"):
        shutil.copy(DATA / name, tmp_path)
    shutil.copy(DATA / "question.jsonl", tmp_path)
    shutil.copy(DATA / "judgements.jsonl", tmp_path)
    source, target = DATA / "gsm8k_responses.csv", tmp_path / "gsm8k_responses.csv"
    with (
        source.open(encoding="utf-8", newline="") as src,
        target.open("w", encoding="utf-8", newline="") as out,
    ):
        csv.writer(out).writerows(islice(csv.reader(src), 121))  # the header and 120 prompts
    return tmp_path


def _app() -> typer.Typer:
    app = typer.Typer()
    group = typer.Typer()
    group.command("routing")(eval_routing)
    app.add_typer(group, name="eval")
    return app


def test_eval_routing_prints_one_json_object_per_run(slice_folder: Path) -> None:
    result = CliRunner().invoke(_app(), ["eval", "routing", "--data", str(slice_folder), "--json"])
    assert result.exit_code == 0, result.output
    benchmarks = json.loads(result.output)["benchmarks"]
    assert [b["benchmark"] for b in benchmarks] == ["MMLU", "GSM8K", "MT-Bench"]
    for bench in benchmarks:
        routers = {r["router"]: r for r in bench["routers"]}
        assert routers["random"]["cpt"] == {"50%": 0.5, "80%": 0.8, "95%": 0.95}
        assert routers["oracle"]["apgr"] > routers["random"]["apgr"]
        curve = routers["local classifier"]["curve"]
        assert [p["strong_share"] for p in curve] == [d / 10 for d in range(11)]
        assert curve[0]["quality"] == pytest.approx(bench["weak_quality"], abs=1e-4)
        assert curve[-1]["quality"] == pytest.approx(bench["strong_quality"], abs=1e-4)
    assert "group gain" not in {r["router"] for r in benchmarks[1]["routers"]}  # GSM8K has one group


def test_a_missing_folder_is_one_clear_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(_app(), ["eval", "routing", "--data", str(tmp_path / "nowhere")])
    assert result.exit_code == 2
    assert "routing data file not found" in result.output
    assert "Traceback" not in result.output


def test_eval_routing_prints_routellms_published_figures_beside_ours(slice_folder: Path) -> None:
    text = CliRunner().invoke(_app(), ["eval", "routing", "--data", str(slice_folder)])
    as_json = CliRunner().invoke(_app(), ["eval", "routing", "--data", str(slice_folder), "--json"])

    assert text.exit_code == 0, text.output
    published = {
        b["benchmark"]: b["routellm_published"]["apgr"] for b in json.loads(as_json.output)["benchmarks"]
    }
    assert published == {"MMLU": 0.603, "GSM8K": 0.622, "MT-Bench": 0.802}
    assert text.output.count("│ RouteLLM") == 3  # a row in each benchmark's table
    for apgr in ("0.603", "0.622", "0.802"):
        assert f"APGR as a ratio of RouteLLM's published {apgr}: local classifier" in text.output
    assert "arXiv:2406.18665" in text.output


def test_labelled_routellm_prompts_are_all_in_the_routers_training_half() -> None:
    labels = Path(__file__).resolve().parents[2] / "data" / "labels" / "public" / "train"
    ids = {
        json.loads(line)["id"]
        for path in labels.glob("routellm_*.labels.jsonl")
        for line in path.read_text(encoding="utf-8").splitlines()
    }
    train_ids: set[str] = set()
    heldout_ids: set[str] = set()
    for load in (load_mmlu, load_gsm8k):
        train, heldout = split(load(DATA), seed=0)
        train_ids |= {i.id for i in train}
        heldout_ids |= {i.id for i in heldout}

    assert ids
    assert ids <= train_ids
    assert not ids & heldout_ids
