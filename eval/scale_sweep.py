"""Exact vs approximate (calibrated HNSW) ``VectorIndex`` on synthetic clustered vectors.

The sweep on real-looking e5 vectors, with the full parameter grid, is ``eval/ann_sweep.py``.
"""

from __future__ import annotations

import time
from typing import Any

import faiss
import numpy as np
from tqdm import tqdm

from eval.metrics import percentile
from rag.ann_tuning import recall_at_k

__all__ = ["recall_at_k", "sweep"]

DIM = 384
POINTS_PER_CLUSTER = 100  # clusters grow with n, so every size has the same local density
SPREAD = 2.0  # noise norm vs the unit centre: top-1 cosine ~0.3, IVF is not trivially exact
BLOCK = 100_000


def normalise_rows(x: np.ndarray) -> np.ndarray:
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x


def centres(n_clusters: int, dim: int, seed: int = 0) -> np.ndarray:
    """Unit-norm cluster centres of the Gaussian mixture."""
    rng = np.random.default_rng(seed)
    return normalise_rows(rng.standard_normal((n_clusters, dim), dtype=np.float32))


def sample(mix: np.ndarray, n: int, seed: int, spread: float = SPREAD) -> np.ndarray:
    """``n`` unit vectors: a random centre plus isotropic noise of norm ~``spread``."""
    rng = np.random.default_rng(seed)
    dim = mix.shape[1]
    out = np.empty((n, dim), dtype=np.float32)
    for lo in range(0, n, BLOCK):
        hi = min(n, lo + BLOCK)
        noise = rng.standard_normal((hi - lo, dim), dtype=np.float32)
        noise *= spread / np.sqrt(dim)
        noise += mix[rng.integers(len(mix), size=hi - lo)]
        out[lo:hi] = normalise_rows(noise)
    return out


def single_query_latency(index: Any, queries: np.ndarray, k: int) -> tuple[float, float]:
    """p50 and p95 ms of one-query ``search`` calls (how the assistant queries)."""
    times = []
    for q in queries:
        t0 = time.perf_counter()
        index.search(q[None, :], k)
        times.append((time.perf_counter() - t0) * 1000)
    return percentile(times, 50), percentile(times, 95)


def measure(kind: str, vectors: np.ndarray, queries: np.ndarray, truth: np.ndarray | None,
            k: int, latency_queries: int) -> tuple[dict[str, Any], Any]:
    """Build one index kind over ``vectors`` and measure it; returns (row, VectorIndex)."""
    from rag.backends.faiss import VectorIndex

    threshold = len(vectors) if kind == "exact" else 0
    t0 = time.perf_counter()
    vi = VectorIndex.build(vectors, ann_threshold=threshold,
                           kind="hnsw" if kind == "hnsw" else "ivf")
    build_s = time.perf_counter() - t0
    _, found = vi.search(queries, k)
    p50, p95 = single_query_latency(vi, queries[:latency_queries], k)
    row = {
        "n": len(vectors),
        "kind": kind,
        "index": vi.describe(),
        "build_seconds": round(build_s, 3),
        "bytes": int(faiss.serialize_index(vi.index).nbytes),
        "latency_p50_ms": p50,
        "latency_p95_ms": p95,
        "recall@10": 1.0 if truth is None else recall_at_k(found, truth),
    }
    return row, (vi, found)


def ef_sweep(vi: Any, queries: np.ndarray, truth: np.ndarray, k: int,
             latency_queries: int) -> list[dict[str, Any]]:
    """Recall@k and latency of an HNSW index around its calibrated ``efSearch``."""
    calibrated = vi.ef_search
    rows = []
    for ef in sorted({max(k, calibrated // 2), calibrated, calibrated * 2, calibrated * 4}):
        params = faiss.SearchParametersHNSW(efSearch=ef)
        _, found = vi.index.search(queries, k, params=params)
        times = []
        for q in queries[:latency_queries]:
            t0 = time.perf_counter()
            vi.index.search(q[None, :], k, params=params)
            times.append((time.perf_counter() - t0) * 1000)
        rows.append({"efSearch": ef, "recall@10": recall_at_k(found, truth),
                     "latency_p50_ms": percentile(times, 50)})
    return rows


def sweep(sizes: list[int], n_queries: int = 200, k: int = 10,
          latency_queries: int = 100, seed: int = 0) -> dict[str, Any]:
    """Rows (exact and calibrated HNSW per size) plus an efSearch sweep per size.

    Each size draws its own mixture (n / ``POINTS_PER_CLUSTER`` centres) and 200 queries from it.
    """
    rows: list[dict[str, Any]] = []
    probes: dict[str, list[dict[str, Any]]] = {}
    for n in tqdm(sizes, desc="scale sweep", unit="size"):
        t0 = time.perf_counter()
        mix = centres(max(1, n // POINTS_PER_CLUSTER), DIM, seed)
        queries = sample(mix, n_queries, seed + 1)
        vectors = sample(mix, n, seed + 2)
        gen_s = time.perf_counter() - t0
        exact, (_, truth) = measure("exact", vectors, queries, None, k, latency_queries)
        exact["generate_seconds"] = round(gen_s, 2)
        approx, (ann, _) = measure("hnsw", vectors, queries, truth, k, latency_queries)
        rows += [exact, approx]
        probes[str(n)] = ef_sweep(ann, queries, truth, k, latency_queries)
        del vectors, ann
    return {
        "dim": DIM,
        "points_per_cluster": POINTS_PER_CLUSTER,
        "spread": SPREAD,
        "queries": n_queries,
        "rows": rows,
        "ef_sweep": probes,
    }
