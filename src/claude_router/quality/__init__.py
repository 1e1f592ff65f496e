"""Answer quality: local checks and an optional judge (the cascade that re-runs weak answers one tier
up is `routing.quality_cascade`, opt-in through `[quality]`)."""

from __future__ import annotations

from .checks import LocalChecks
from .judge import Judge, Rubric
from .score import Score, Scorer

__all__ = ["Judge", "LocalChecks", "Rubric", "Score", "Scorer"]
