"""Choosing an approximate index's search parameter by measured recall against exact search.

Pure functions over any search callable (FAISS HNSW ``efSearch``, IVF ``nprobe``, a Milvus
server's ``ef``): ``calibrate`` walks an ascending grid and keeps the smallest value whose
recall@k on a query sample reaches the target, with the measured curve.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

DEFAULT_TARGET = 0.95  # recall@10 against exact search
EF_GRID = (16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024)
NPROBE_GRID = (1, 2, 4, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512)
# Calibration queries are indexed vectors moved by noise with the data's own covariance
# (``perturbed_queries``), scaled so that a query is about as far from its nearest indexed
# vector as a real question is from its best passage (measured in `python -m eval.ann_sweep`).
DEFAULT_NOISE = 1.0
DEFAULT_SAMPLE = 500
CALIBRATION_K = 10
# The calibration sample (500 queries) estimates recall to about ±0.01, so the calibration aims
# this much above the target (at 1M, held-out questions calibrated to exactly 0.95 gave 0.942
# on other questions).
CALIBRATION_MARGIN = 0.01
# HNSW graph degree and build effort (FAISS and Milvus), from `python -m eval.ann_sweep` on e5
# vectors with real questions: at 100k, efConstruction 80 halves the efSearch that recall@10
# 0.95 needs (M=16: 192 vs 384), and M=32 needs a smaller efSearch than M=16 for ~8 % more
# memory.
HNSW_M = 32
EF_CONSTRUCTION = 80


@dataclass(frozen=True)
class Calibration:
    """The chosen value of one search parameter and the recall curve that chose it."""

    param: str  # "efSearch" | "nprobe" | "ef"
    value: int
    recall: float  # recall@k measured at ``value`` on the calibration sample
    target: float
    k: int
    sample: int  # number of calibration queries
    reached: bool  # False: no grid value reached the target; ``value`` is the largest tried
    curve: tuple[tuple[int, float], ...]  # (value, recall@k) in the order measured

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["curve"] = [[int(v), round(float(r), 4)] for v, r in self.curve]
        out["recall"] = round(float(self.recall), 4)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Calibration:
        return cls(param=str(data["param"]), value=int(data["value"]),
                   recall=float(data["recall"]), target=float(data["target"]),
                   k=int(data["k"]), sample=int(data["sample"]), reached=bool(data["reached"]),
                   curve=tuple((int(v), float(r)) for v, r in data.get("curve", ())))


def recall_at_k(found: np.ndarray, exact: np.ndarray) -> float:
    """Mean share of each row's exact neighbours (ids ≥ 0) that ``found`` holds."""
    found = np.atleast_2d(found)
    exact = np.atleast_2d(exact)
    if len(found) != len(exact):
        raise ValueError(f"{len(found)} result rows for {len(exact)} exact rows")
    shares = []
    for f, e in zip(found, exact, strict=True):
        truth = set(e[e >= 0].tolist())
        if truth:
            shares.append(len(truth & set(f[f >= 0].tolist())) / len(truth))
    return float(np.mean(shares)) if shares else 1.0


def calibrate(search: Callable[[int], np.ndarray], exact: np.ndarray, grid: Sequence[int],
              target: float = DEFAULT_TARGET, param: str = "efSearch") -> Calibration:
    """Smallest ``grid`` value whose ``search(value)`` ids reach ``target`` recall@k.

    ``search(value)`` returns the (n_queries, k) ids found with the parameter at ``value``;
    ``exact`` holds the true (n_queries, k) ids. The grid is walked in ascending order and
    stops at the first value that reaches the target (recall grows with these parameters).
    """
    values = sorted({int(v) for v in grid})
    if not values:
        raise ValueError("empty calibration grid")
    if not 0 < target <= 1:
        raise ValueError(f"recall target must be in (0, 1], got {target}")
    exact = np.atleast_2d(exact)
    curve: list[tuple[int, float]] = []
    for value in values:
        recall = recall_at_k(search(value), exact)
        curve.append((value, recall))
        if recall >= target:
            break
    value, recall = curve[-1]
    return Calibration(param=param, value=value, recall=recall, target=target,
                       k=int(exact.shape[1]), sample=int(exact.shape[0]),
                       reached=recall >= target, curve=tuple(curve))


def nprobe_grid(nlist: int) -> list[int]:
    """``NPROBE_GRID`` below ``nlist``, then ``nlist`` itself: searching every list is exact,
    so an IVF calibration always reaches its target."""
    return [p for p in NPROBE_GRID if p < nlist] + [nlist]


def calibrate_index(search: Callable[[np.ndarray, int, int], np.ndarray], vectors: np.ndarray,
                    queries: np.ndarray | None, grid: Sequence[int], recall_target: float,
                    param: str, size: int = DEFAULT_SAMPLE) -> tuple[Calibration, str]:
    """Calibrate an approximate index over ``vectors``: ``search(queries, k, value)`` gives its
    (n_queries, k) ids with the parameter at ``value``. On ``queries`` (held-out query
    vectors), else ``size`` perturbed indexed vectors, against their exact top-10, to
    ``recall_target`` plus the sample's margin. Returns the calibration and which queries it
    used ("held-out queries" | "perturbed vectors")."""
    source = "held-out queries"
    if queries is None or not len(queries):
        log.warning("calibrating the %s search on perturbed indexed vectors: they are easier "
                    "than real queries (see README, Approximate search); pass held-out query "
                    "vectors for a trustworthy recall", param)
        queries, source = perturbed_queries(vectors, size), "perturbed vectors"
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    exact = exact_neighbours(vectors, queries, CALIBRATION_K)
    k = exact.shape[1]
    target = min(1.0, recall_target + CALIBRATION_MARGIN)
    return calibrate(lambda value: search(queries, k, value), exact, grid, target, param), source


def perturbed_queries(vectors: np.ndarray, size: int, noise: float = DEFAULT_NOISE,
                      seed: int = 0) -> np.ndarray:
    """``size`` unit query vectors: random indexed rows plus noise, renormalised.

    The noise has the data's own covariance (random combinations of centred rows), times
    ``noise``, so queries move along the directions the data spreads in, not off into
    isotropic noise that no real query resembles.
    """
    n = len(vectors)
    if n == 0 or size <= 0:
        return np.zeros((0, vectors.shape[1] if vectors.ndim == 2 else 0), dtype=np.float32)
    rng = np.random.default_rng(seed)
    rows = vectors[rng.choice(n, size=min(size, n), replace=False)].astype(np.float32)
    basis = vectors[rng.choice(n, size=min(n, 256), replace=False)].astype(np.float32)
    basis -= basis.mean(axis=0, keepdims=True)
    mix = rng.standard_normal((len(rows), len(basis)), dtype=np.float32)
    mix /= np.sqrt(max(1, len(basis) - 1))
    queries = rows + noise * (mix @ basis)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    return np.ascontiguousarray(queries, dtype=np.float32)


def exact_neighbours(vectors: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """True top-``k`` inner-product neighbour ids (brute force, no index copy)."""
    import faiss

    k = min(k, len(vectors))
    _, ids = faiss.knn(np.ascontiguousarray(queries, dtype=np.float32),
                       np.ascontiguousarray(vectors, dtype=np.float32), k,
                       metric=faiss.METRIC_INNER_PRODUCT)
    return ids
