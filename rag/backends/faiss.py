"""FAISS index of L2-normalised vectors: exact inner product, calibrated IVF or HNSW above a size
threshold."""

from __future__ import annotations

import logging
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
    EF_CONSTRUCTION,
    EF_GRID,
    HNSW_M,
    Calibration,
    calibrate_index,
    nprobe_grid,
)
from rag.backends.bm25 import KeywordIndex
from rag.diskspace import write_error

log = logging.getLogger(__name__)

ANN_KINDS = ("ivf", "hnsw")
# IVF by default: on e5 vectors expanded to 1M (`python -m eval.ann_sweep`, real questions)
# IVF reached recall@10 0.96 at nprobe 16 in ~1.2 ms while HNSW (M=32, efConstruction 80)
# stayed at 0.86 with efSearch 1024, built 3× slower and took 17 % more memory; and IVF can
# always reach the target (nprobe = nlist is exact search).
DEFAULT_ANN = "ivf"
IVF_TRAIN_PER_LIST = 39  # k-means training points per list (FAISS warns below 39)
IVF_NITER = 10  # k-means iterations (FAISS default 25; 10 measured enough above)
# Filtered search: an allowed set this small (or this small a share) is scanned exactly, which
# costs O(allowed) and is exact; larger sets search the index with an ``IDSelector`` and its
# ``nprobe`` / ``efSearch`` raised by 1 / share (capped), since only allowed rows fill the
# result list.
FILTER_SCAN_MAX = 20_000
FILTER_SCAN_SHARE = 0.02
FILTER_EF_MAX = 4096


@dataclass
class VectorIndex:
    """Wraps a FAISS index whose row ids are chunk positions."""

    index: faiss.Index
    kind: str  # "flat" | "ivf" | "hnsw"
    nprobe: int = 0
    ef_search: int = 0
    calibration: Calibration | None = None
    calibration_source: str = ""  # "held-out queries" | "perturbed vectors"

    @classmethod
    def build(cls, vectors: np.ndarray, ann_threshold: int = 1_000_000, *,
              kind: str = DEFAULT_ANN, recall_target: float = DEFAULT_TARGET,
              calibration_queries: np.ndarray | None = None,
              calibration_size: int = DEFAULT_SAMPLE, m: int = HNSW_M) -> VectorIndex:
        """Exact ``IndexFlatIP`` up to ``ann_threshold`` vectors, else an approximate index
        (``kind``: "ivf" = ``IndexIVFFlat``, "hnsw" = ``IndexHNSWFlat``) whose search
        parameter (``nprobe`` / ``efSearch``) is the smallest that reaches ``recall_target``
        recall@10 against exact search on ``calibration_queries`` (held-out query vectors), or,
        without them, on ``calibration_size`` perturbed indexed vectors."""
        if kind not in ANN_KINDS:
            raise ValueError(f"unknown approximate index {kind!r}; use one of "
                             f"{', '.join(ANN_KINDS)}")
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        n, dim = vectors.shape
        if n <= ann_threshold:
            index = faiss.IndexFlatIP(dim)
            index.add(vectors)
            return cls(index, "flat")
        _threads(len(vectors))
        if kind == "hnsw":
            index = faiss.IndexHNSWFlat(dim, m, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = EF_CONSTRUCTION
            index.add(vectors)
        else:
            index = _train_ivf(vectors)
        if kind == "hnsw":
            def search(queries: np.ndarray, k: int, ef: int) -> np.ndarray:
                params = faiss.SearchParametersHNSW(efSearch=ef)
                return index.search(queries, k, params=params)[1]

            calibration, source = calibrate_index(search, vectors, calibration_queries, EF_GRID,
                                                  recall_target, "efSearch", calibration_size)
            index.hnsw.efSearch = calibration.value
            return cls(index, "hnsw", ef_search=calibration.value, calibration=calibration,
                       calibration_source=source)

        def probe(queries: np.ndarray, k: int, nprobe: int) -> np.ndarray:
            return index.search(queries, k, params=faiss.SearchParametersIVF(nprobe=nprobe))[1]

        calibration, source = calibrate_index(probe, vectors, calibration_queries,
                                              nprobe_grid(int(index.nlist)), recall_target,
                                              "nprobe", calibration_size)
        index.nprobe = calibration.value
        return cls(index, "ivf", nprobe=calibration.value, calibration=calibration,
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
        if self.kind != "flat" and self.calibration is not None:
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
            allowed = np.asarray(allowed, dtype=np.int64)
            if self.kind != "flat" and (len(allowed) <= FILTER_SCAN_MAX
                                        or len(allowed) <= FILTER_SCAN_SHARE * self.size):
                return self._scan(queries, k, np.unique(allowed))
            # a bitmap: built in milliseconds for any size (IDSelectorBatch hashes every id)
            mask = np.zeros(self.size, dtype=bool)
            mask[allowed] = True
            bits = np.packbits(mask, bitorder="little")  # kept alive through the search
            selector = faiss.IDSelectorBitmap(self.size, faiss.swig_ptr(bits))
            share = max(int(mask.sum()), 1) / self.size
            if self.kind == "ivf":
                nprobe = min(int(self.index.nlist), math.ceil(self.nprobe / share))
                params = faiss.SearchParametersIVF(sel=selector, nprobe=nprobe)
            elif self.kind == "hnsw":
                ef = min(FILTER_EF_MAX, math.ceil(self.ef_search / share))
                params = faiss.SearchParametersHNSW(sel=selector, efSearch=max(ef, k))
            else:
                params = faiss.SearchParameters(sel=selector)
        elif self.kind == "hnsw":
            params = faiss.SearchParametersHNSW(efSearch=max(self.ef_search, k))
        elif self.kind == "ivf":
            params = faiss.SearchParametersIVF(nprobe=self.nprobe)
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
        try:
            faiss.write_index(self.index, str(path))
        except RuntimeError as exc:  # faiss reports a failed write (a full disk) this way
            log.debug("faiss could not write %s: %s", path, exc)
            raise write_error(exc, path) from exc

    @classmethod
    def load(cls, path: Path, info: dict[str, Any] | None = None) -> VectorIndex:
        """Read an index back; ``info`` (its manifest entry) restores the calibrated search
        parameter and the calibration record."""
        index = faiss.read_index(str(path))
        info = info or {}
        calibration = info.get("calibration")
        restored = {"calibration": Calibration.from_dict(calibration) if calibration else None,
                    "calibration_source": (calibration or {}).get("queries", "")}
        if isinstance(index, faiss.IndexIVF):
            nprobe = int(info.get("nprobe") or index.nprobe)
            index.nprobe = nprobe
            index.make_direct_map()  # filtered searches read allowed vectors back
            return cls(index, "ivf", nprobe=nprobe, **restored)
        if isinstance(index, faiss.IndexHNSW):
            ef = int(info.get("efSearch") or index.hnsw.efSearch)
            index.hnsw.efSearch = ef
            return cls(index, "hnsw", ef_search=ef, **restored)
        return cls(index, "flat")


def _train_ivf(vectors: np.ndarray) -> faiss.IndexIVFFlat:
    """``IndexIVFFlat`` with about 4·√n lists (a power of two), k-means on a sample."""
    n, dim = vectors.shape
    nlist = max(1, min(n // IVF_TRAIN_PER_LIST, 1 << round(math.log2(4 * math.sqrt(n)))))
    index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)
    index.cp.niter = IVF_NITER
    sample = np.random.default_rng(0).choice(n, size=min(n, nlist * IVF_TRAIN_PER_LIST),
                                             replace=False)
    index.train(vectors[np.sort(sample)])
    index.add(vectors)
    index.make_direct_map()  # filtered searches read allowed vectors back
    return index


def _hnsw_m(index: faiss.Index) -> int:
    """The M an ``IndexHNSW`` was built with (the upper levels hold M neighbours)."""
    return int(index.hnsw.nb_neighbors(1))


def _threads(n_queries: int) -> None:
    """One query: threads cost more than they save (and stall when the CPU is shared);
    batches use all cores."""
    faiss.omp_set_num_threads(1 if n_queries < 16 else (os.cpu_count() or 1))


class FaissBackend:
    """The embedded default: FAISS vectors and a bm25s index, both files of the build folder."""

    name = "faiss"

    def build(self, vectors: np.ndarray, token_lists: list[list[str]], ann_threshold: int,
              **ann: Any) -> tuple[VectorIndex, KeywordIndex]:
        """``ann``: ``kind``, ``recall_target``, ``calibration_queries`` of
        :meth:`VectorIndex.build` (used above ``ann_threshold``)."""
        return (VectorIndex.build(vectors, ann_threshold, **ann),
                KeywordIndex.build(token_lists))

    def save(self, vectors: VectorIndex, keyword: KeywordIndex, folder: Path) -> dict:
        vectors.save(folder / "chunks.faiss")
        (folder / "bm25").mkdir()
        keyword.save(folder / "bm25")
        return {"name": self.name}

    def load(self, folder: Path, manifest: dict) -> tuple[VectorIndex, KeywordIndex]:
        return (VectorIndex.load(folder / "chunks.faiss", manifest.get("vector_index")),
                KeywordIndex.load(folder / "bm25"))

    def prune(self, kept: list[dict]) -> None:
        """Nothing outside the build folders."""

    def connect(self) -> None:
        """Nothing to reach: the index is files."""

    def close(self) -> None:
        """Nothing to release."""
