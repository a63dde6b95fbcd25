"""FAISS index of L2-normalised vectors: exact inner product, calibrated HNSW above a threshold."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from rag.ann_tuning import (
    DEFAULT_SAMPLE,
    DEFAULT_TARGET,
    EF_GRID,
    Calibration,
    calibrate,
    exact_neighbours,
    perturbed_queries,
)

# Graph degree and build effort, from `python -m eval.ann_sweep` on e5 vectors with real
# questions: at 100k, efConstruction 80 halves the efSearch that recall@10 0.95 needs (M=16:
# 192 vs 384), and M=32 needs a smaller efSearch than M=16 for ~8 % more memory.
HNSW_M = 32
EF_CONSTRUCTION = 80
CALIBRATION_K = 10
# Filtered search: an allowed set this small (or this small a share) is scanned exactly, which
# costs O(allowed) and is exact; larger sets search the graph with an ``IDSelector`` and an
# ``efSearch`` raised by 1 / share (capped), since only allowed nodes fill the result list.
FILTER_SCAN_MAX = 20_000
FILTER_SCAN_SHARE = 0.02
FILTER_EF_MAX = 4096


@dataclass
class VectorIndex:
    """Wraps a FAISS index whose row ids are chunk positions."""

    index: faiss.Index
    kind: str  # "flat" | "hnsw" | "ivf" (IVF: only indexes built by older versions)
    nprobe: int = 0
    ef_search: int = 0
    calibration: Calibration | None = None
    calibration_source: str = ""  # "held-out queries" | "perturbed vectors"

    @classmethod
    def build(cls, vectors: np.ndarray, ann_threshold: int = 1_000_000, *,
              recall_target: float = DEFAULT_TARGET,
              calibration_queries: np.ndarray | None = None,
              calibration_size: int = DEFAULT_SAMPLE, m: int = HNSW_M) -> VectorIndex:
        """Exact ``IndexFlatIP`` up to ``ann_threshold`` vectors, else ``IndexHNSWFlat`` whose
        ``efSearch`` is the smallest that reaches ``recall_target`` recall@10 against exact
        search on ``calibration_queries`` (held-out query vectors), or, without them, on
        ``calibration_size`` perturbed indexed vectors."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        n, dim = vectors.shape
        if n <= ann_threshold:
            index = faiss.IndexFlatIP(dim)
            index.add(vectors)
            return cls(index, "flat")
        index = faiss.IndexHNSWFlat(dim, m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = EF_CONSTRUCTION
        _threads(len(vectors))
        index.add(vectors)
        queries, source = calibration_queries, "held-out queries"
        if queries is None or not len(queries):
            queries, source = perturbed_queries(vectors, calibration_size), "perturbed vectors"
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        exact = exact_neighbours(vectors, queries, CALIBRATION_K)
        k = exact.shape[1]

        def search(ef: int) -> np.ndarray:
            params = faiss.SearchParametersHNSW(efSearch=ef)
            return index.search(queries, k, params=params)[1]

        calibration = calibrate(search, exact, EF_GRID, recall_target, "efSearch")
        index.hnsw.efSearch = calibration.value
        return cls(index, "hnsw", ef_search=calibration.value, calibration=calibration,
                   calibration_source=source)

    @property
    def size(self) -> int:
        return int(self.index.ntotal)

    @property
    def dim(self) -> int:
        return int(self.index.d)

    def describe(self) -> dict[str, Any]:
        """Manifest entry: the index type and its search parameters, with the calibration."""
        info: dict[str, Any] = {"type": self.kind, "size": self.size, "dim": self.dim}
        if self.kind == "ivf":
            info.update(nlist=int(self.index.nlist), nprobe=self.nprobe)
        if self.kind == "hnsw":
            info.update(M=_hnsw_m(self.index), efConstruction=int(self.index.hnsw.efConstruction),
                        efSearch=self.ef_search)
            if self.calibration is not None:
                info["calibration"] = {**self.calibration.to_dict(),
                                       "queries": self.calibration_source}
        return info

    def search(
        self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` (scores, ids) per query row; ``allowed`` restricts to those row ids."""
        queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        k = min(k, self.size)
        if k <= 0:
            empty = np.zeros((len(queries), 0))
            return empty.astype(np.float32), empty.astype(np.int64)
        _threads(len(queries))
        params = None
        if allowed is not None:
            allowed = np.unique(np.asarray(allowed, dtype=np.int64))
            if self.kind == "hnsw" and (len(allowed) <= FILTER_SCAN_MAX
                                        or len(allowed) <= FILTER_SCAN_SHARE * self.size):
                return self._scan(queries, k, allowed)
            selector = faiss.IDSelectorBatch(allowed)
            if self.kind == "ivf":
                params = faiss.SearchParametersIVF(sel=selector, nprobe=self.nprobe)
            elif self.kind == "hnsw":
                share = max(len(allowed), 1) / self.size
                ef = min(FILTER_EF_MAX, math.ceil(self.ef_search / share))
                params = faiss.SearchParametersHNSW(sel=selector, efSearch=max(ef, k))
            else:
                params = faiss.SearchParameters(sel=selector)
        elif self.kind == "hnsw":
            params = faiss.SearchParametersHNSW(efSearch=max(self.ef_search, k))
        scores, ids = self.index.search(queries, k, params=params)
        return scores, ids

    def _scan(self, queries: np.ndarray, k: int, allowed: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray]:
        """Exact top-``k`` among ``allowed`` rows (vectors read back from the index)."""
        scores = np.full((len(queries), k), -np.inf, dtype=np.float32)
        ids = np.full((len(queries), k), -1, dtype=np.int64)
        if not len(allowed):
            return scores, ids
        found_s, found_i = faiss.knn(queries, self.index.reconstruct_batch(allowed),
                                     min(k, len(allowed)), metric=faiss.METRIC_INNER_PRODUCT)
        scores[:, :found_s.shape[1]] = found_s
        ids[:, :found_i.shape[1]] = np.where(found_i >= 0, allowed[np.maximum(found_i, 0)], -1)
        return scores, ids

    def save(self, path: Path) -> None:
        faiss.write_index(self.index, str(path))

    @classmethod
    def load(cls, path: Path, info: dict[str, Any] | None = None) -> VectorIndex:
        """Read an index back; ``info`` (its manifest entry) restores the calibrated search
        parameter and the calibration record."""
        index = faiss.read_index(str(path))
        info = info or {}
        if isinstance(index, faiss.IndexIVF):
            return cls(index, "ivf", int(info.get("nprobe") or index.nprobe))
        if isinstance(index, faiss.IndexHNSW):
            ef = int(info.get("efSearch") or index.hnsw.efSearch)
            index.hnsw.efSearch = ef
            calibration = info.get("calibration")
            return cls(index, "hnsw", ef_search=ef, calibration=(
                Calibration.from_dict(calibration) if calibration else None),
                calibration_source=(calibration or {}).get("queries", ""))
        return cls(index, "flat")


def _hnsw_m(index: faiss.Index) -> int:
    """The M an ``IndexHNSW`` was built with (the upper levels hold M neighbours)."""
    return int(index.hnsw.nb_neighbors(1))


def _threads(n_queries: int) -> None:
    """One query: threads cost more than they save (and stall when the CPU is shared);
    batches use all cores."""
    faiss.omp_set_num_threads(1 if n_queries < 16 else (os.cpu_count() or 1))
