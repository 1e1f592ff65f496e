"""Measuring classifiers: labelled data, training the local model, accuracy and cost-weighted error."""
