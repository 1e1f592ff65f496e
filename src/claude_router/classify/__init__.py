"""Classifiers label a request simple / moderate / complex, as cheaply as they can."""

from .base import Classifier, ClassifierInput, classifier_input

__all__ = ["Classifier", "ClassifierInput", "classifier_input"]
