"""Fuse ranked lists from the dense and keyword retrievers."""

from __future__ import annotations

import numpy as np


def reciprocal_rank_fusion(rankings: list[list[int]], k: int = 60,
                           weights: list[float] | None = None) -> list[tuple[int, float]]:
    """Σ w / (k + rank) over the rankings (rank from 1), best first."""
    weights = weights or [1.0] * len(rankings)
    scores: dict[int, float] = {}
    for ranking, weight in zip(rankings, weights):
        for rank, item in enumerate(ranking, 1):
            scores[item] = scores.get(item, 0.0) + weight / (k + rank)
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))


def weighted_score_fusion(dense: dict[int, float], keyword: dict[int, float],
                          dense_weight: float = 0.5) -> list[tuple[int, float]]:
    """Convex combination of min-max normalised scores, best first."""
    fused: dict[int, float] = {}
    for scores, weight in ((dense, dense_weight), (keyword, 1.0 - dense_weight)):
        if not scores:
            continue
        values = np.fromiter(scores.values(), dtype=np.float64)
        low, span = values.min(), values.max() - values.min()
        for item, score in scores.items():
            norm = (score - low) / span if span > 0 else 1.0
            fused[item] = fused.get(item, 0.0) + weight * norm
    return sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))
