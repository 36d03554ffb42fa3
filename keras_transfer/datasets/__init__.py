"""Datasets shipped with keras_transfer (see README.md in this folder)."""
