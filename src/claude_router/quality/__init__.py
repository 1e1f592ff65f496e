"""Answer quality: local checks, an optional judge, and the cascade that re-runs weak answers one
tier up (opt-in through `[quality]`)."""

from __future__ import annotations

from .cascade import Checked, QualityCascade
from .checks import LocalChecks
from .judge import Judge, Rubric
from .score import Score, Scorer

__all__ = ["Checked", "Judge", "LocalChecks", "QualityCascade", "Rubric", "Score", "Scorer"]
