"""Build the configured classifier: pick the kind, then wrap it in the configured cache.

Kinds are a table (`CLASSIFIER_KINDS`): adding one is adding a builder there. With the Redis
cache, an in-process LRU sits in front so repeated requests never leave the process.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from types import MappingProxyType

from ..config import ClassifierSettings
from ..errors import ConfigError
from ..upstream import Upstream
from .base import Classifier
from .cache import CachedClassifier, LRUCache
from .cascade import CascadeClassifier
from .llm import LLMClassifier
from .local import LocalClassifier
from .registry import ModelRegistry
from .thresholds import ThresholdedLocal

ClassifierBuilder = Callable[[ClassifierSettings, Upstream], Classifier]


def _llm(settings: ClassifierSettings, upstream: Upstream) -> Classifier:
    return LLMClassifier(upstream, model=settings.model, max_tokens=settings.max_tokens)


def local_model_path(settings: ClassifierSettings) -> Path | None:
    """The local model file `settings` name, else the registry's active model (None: the packaged one)."""
    if settings.local_model_path:
        return Path(settings.local_model_path)
    return ModelRegistry.at(settings.models_dir).active_path()


def local_predictor(settings: ClassifierSettings) -> LocalClassifier | ThresholdedLocal:
    """The local classifier `settings` name, labelling by their thresholds when they give some."""
    local = LocalClassifier.from_file(local_model_path(settings))
    return local if settings.thresholds is None else ThresholdedLocal(local, settings.thresholds)


def _local(settings: ClassifierSettings, _: Upstream) -> Classifier:
    return local_predictor(settings)


def _cascade(settings: ClassifierSettings, upstream: Upstream) -> Classifier:
    return CascadeClassifier(local_predictor(settings), _llm(settings, upstream), settings.cascade_threshold)


#: kind -> builder. The cache wraps whatever a builder returns, so a cascade is cached as a whole.
CLASSIFIER_KINDS: Mapping[str, ClassifierBuilder] = MappingProxyType(
    {"llm": _llm, "local": _local, "cascade": _cascade}
)


def build_classifier(settings: ClassifierSettings, upstream: Upstream) -> Classifier:
    """The classifier `settings` describe, cached as they say (`ConfigError` if impossible)."""
    builder = CLASSIFIER_KINDS.get(settings.kind)
    if builder is None:
        raise ConfigError(
            f"classifier kind {settings.kind!r} is not available; available: {', '.join(CLASSIFIER_KINDS)}"
        )
    return with_cache(builder(settings, upstream), settings)


def with_cache(classifier: Classifier, settings: ClassifierSettings) -> Classifier:
    """Wrap `classifier` in the cache `settings.cache` names ("memory", "redis" or "none")."""
    if settings.cache == "none":
        return classifier
    if settings.cache == "redis":
        if not settings.redis_url:
            raise ConfigError("classifier.cache = 'redis' needs classifier.redis_url")
        from .cache_redis import REDIS_PREFIX, RedisCache  # the optional `redis` extra, only when used

        prefix = settings.redis_prefix or REDIS_PREFIX
        classifier = CachedClassifier(
            classifier, RedisCache(settings.redis_url, ttl_s=settings.cache_ttl_s, prefix=prefix)
        )
    return CachedClassifier(classifier, LRUCache(settings.cache_size))
