"""LiteLLM's rule-based `complexity_router`, run in LiteLLM's own environment, never this package's.

    <python with litellm> src/claude_router/evaluate/litellm_complexity.py --rounds 7 < prompts.json

`eval classifier` and `bench/classifier.py` run this file as a script with the interpreter given
by `--litellm-python` (`baselines.litellm_labels`), so it imports nothing from this package.

Reads a JSON list of `{"prompt", "system"}` on standard input; writes `{"labels": [...],
"us_per_prompt": float}`: LiteLLM's tiers mapped to this project's labels (REASONING counts as
complex) and the best of `--rounds` timed passes. Only the standard library and litellm are used,
because this runs outside the project's environment.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any

#: LiteLLM's tiers -> this project's labels.
TIER_LABELS = {"SIMPLE": "simple", "MEDIUM": "moderate", "COMPLEX": "complex", "REASONING": "complex"}


def complexity_router() -> Any:
    """The heuristic `ComplexityRouter` a litellm Router builds for an `auto_router` deployment."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no network fetch at import
    from litellm import Router  # type: ignore[import-not-found]  # its own environment only

    tiers = {"SIMPLE": "small", "MEDIUM": "medium", "COMPLEX": "large", "REASONING": "large"}
    router = Router(
        model_list=[
            *(
                {"model_name": name, "litellm_params": {"model": f"openai/{name}", "api_key": "unused"}}
                for name in ("small", "medium", "large")
            ),
            {
                "model_name": "auto",
                "litellm_params": {
                    "model": "auto_router/complexity_router",
                    "complexity_router_config": {"classifier_type": "heuristic", "tiers": tiers},
                    "complexity_router_default_model": "medium",
                },
            },
        ]
    )
    registry = getattr(router, "registry", None)
    if callable(registry):  # newer releases keep routing strategies in a plugin registry
        return registry().plugins("complexity")["auto"][0].strategy
    return router.complexity_routers["auto"][0].strategy  # e.g. 1.108: one list per model name


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    items = json.load(sys.stdin)
    router = complexity_router()

    def label(item: dict[str, Any]) -> str:
        tier, _score, _signals = router.classify(item["prompt"], item.get("system"))
        return TIER_LABELS[str(getattr(tier, "value", tier)).upper()]

    labels = [label(item) for item in items]
    best = float("inf")
    for _ in range(args.rounds):
        start = time.perf_counter()
        for item in items:
            label(item)
        best = min(best, time.perf_counter() - start)
    json.dump({"labels": labels, "us_per_prompt": best / len(items) * 1e6}, sys.stdout)


if __name__ == "__main__":
    main()
