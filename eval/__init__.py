"""Evaluation and benchmarks: ``python -m eval`` (quality) and ``python -m eval speed``."""
