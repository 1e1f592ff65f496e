"""Classifiers label a request simple / moderate / complex, as cheaply as they can."""

from .base import Classifier, ClassifierInput, classifier_input
from .cache import CacheBackend, CachedClassifier, LRUCache, cache_key
from .factory import CLASSIFIER_KINDS, build_classifier
from .llm import LLMClassifier

__all__ = [
    "CLASSIFIER_KINDS",
    "CacheBackend",
    "CachedClassifier",
    "Classifier",
    "ClassifierInput",
    "LLMClassifier",
    "LRUCache",
    "build_classifier",
    "cache_key",
    "classifier_input",
]
