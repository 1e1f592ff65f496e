"""`ModelRegistry`: versioned local classifier models in one folder, and which one is active.

    <models dir>/local-<hash>.json     one file per model, named by its version (a hash of its bytes)
    <models dir>/active.json           {"active": "<id>", "previous": ["<id>", ...]}

The models directory is `[classifier] models_dir`, else `<data home>/models`. "packaged" names the
model shipped in the package, active when nothing else is. `use` makes a model active and
remembers the one before; `rollback` goes back to it. The pointer is one file replaced
atomically, so a reader never sees half a switch. The router reads the active model when it
starts (`factory.local_predictor`); `[classifier] local_model_path`, when set, wins over it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..paths import data_home_path
from .local import LocalClassifier, LocalModel, model_version

PACKAGED = "packaged"
POINTER = "active.json"
MODELS_FOLDER = "models"
_KEEP_PREVIOUS = 50


@dataclass(frozen=True, slots=True)
class ModelEntry:
    """One model in the registry (the packaged one has no path)."""

    id: str
    path: Path | None
    created_at: datetime | None  # when its file was written
    active: bool
    training: dict[str, Any]  # the model file's "training" summary


class ModelRegistry:
    """The versioned models of one folder (see the module docstring). Reading never creates it."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    @classmethod
    def at(cls, models_dir: str | Path | None) -> ModelRegistry:
        """The registry `[classifier] models_dir` names (None: `<data home>/models`)."""
        return cls(Path(models_dir).expanduser() if models_dir else data_home_path() / MODELS_FOLDER)

    # ---- reading ---------------------------------------------------------------------------

    def ids(self) -> list[str]:
        """Stored models, oldest file first."""
        if not self.directory.is_dir():
            return []
        files = [p for p in self.directory.glob("local-*.json") if p.is_file()]
        return [p.stem for p in sorted(files, key=lambda p: (p.stat().st_mtime, p.name))]

    def active(self) -> str:
        """The active model's id ("packaged" when none was chosen)."""
        return str(self._pointer().get("active") or PACKAGED)

    def path(self, model_id: str) -> Path | None:
        """The file of `model_id` (None for the packaged model); `ConfigError` if there is none."""
        if model_id == PACKAGED:
            return None
        path = self.directory / f"{model_id}.json"
        if not model_id.startswith("local-") or "/" in model_id or not path.is_file():
            known = ", ".join([PACKAGED, *self.ids()])
            raise ConfigError(f"no local model {model_id!r} in {self.directory}; known: {known}")
        return path

    def active_path(self) -> Path | None:
        """The active model's file (None: the packaged model); `ConfigError` if it went missing."""
        return self.path(self.active())

    def load(self, model_id: str | None = None) -> LocalClassifier:
        """A classifier on `model_id` (default: the active model)."""
        return LocalClassifier.from_file(self.path(model_id or self.active()))

    def entries(self) -> list[ModelEntry]:
        """The packaged model, then every stored one, oldest first."""
        active = self.active()
        packaged = LocalClassifier.from_file()
        out = [ModelEntry(PACKAGED, None, None, active == PACKAGED, dict(packaged.model.training))]
        for model_id in self.ids():
            path = self.directory / f"{model_id}.json"
            created = datetime.fromtimestamp(path.stat().st_mtime, UTC)
            training = LocalClassifier.from_file(path).model.training
            out.append(ModelEntry(model_id, path, created, model_id == active, dict(training)))
        return out

    # ---- changing --------------------------------------------------------------------------

    def save(self, model: LocalModel) -> str:
        """Store `model` (once: its id is its hash) and return its id; the active model is unchanged."""
        data = model.to_json().encode("utf-8")
        model_id = model_version(data)
        target = self.directory / f"{model_id}.json"
        if not target.exists():
            _write_atomic(target, data)
        return model_id

    def use(self, model_id: str) -> str:
        """Make `model_id` active (remembering the one before, for `rollback`); return the one before."""
        self.path(model_id)  # it must exist
        pointer = self._pointer()
        current = str(pointer.get("active") or PACKAGED)
        if model_id != current:
            previous = [*_previous(pointer), current][-_KEEP_PREVIOUS:]
            self._set_pointer({"active": model_id, "previous": previous})
        return current

    def rollback(self) -> str:
        """Make the model active before the current one again; return its id."""
        pointer = self._pointer()
        previous = _previous(pointer)
        if not previous:
            raise ConfigError(f"nothing to roll back to: {self.active()} has been active since the start")
        back = previous.pop()
        self.path(back)  # it must still exist
        self._set_pointer({"active": back, "previous": previous})
        return back

    def _pointer(self) -> dict[str, Any]:
        path = self.directory / POINTER
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{path}: unreadable active-model pointer ({exc})") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: not an active-model pointer")
        return data

    def _set_pointer(self, pointer: dict[str, Any]) -> None:
        _write_atomic(self.directory / POINTER, (json.dumps(pointer, indent=1) + "\n").encode("utf-8"))


def _previous(pointer: dict[str, Any]) -> list[str]:
    previous = pointer.get("previous") or []
    return [str(p) for p in previous] if isinstance(previous, list) else []


def _write_atomic(path: Path, data: bytes) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
        partial.write_bytes(data)
        os.replace(partial, path)
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc}") from None


__all__ = ["PACKAGED", "ModelEntry", "ModelRegistry"]
