"""Classifiers label a request simple / moderate / complex, as cheaply as they can.

The package itself loads only what every classifier shares (`base`, `cache`): the SDK comes in with
`factory` and `llm`, which are imported where a model-backed classifier is built.
"""

from .base import Classifier, ClassifierInput, classifier_input
from .cache import CacheBackend, CachedClassifier, LRUCache, cache_key

__all__ = [
    "CacheBackend",
    "CachedClassifier",
    "Classifier",
    "ClassifierInput",
    "LRUCache",
    "cache_key",
    "classifier_input",
]
