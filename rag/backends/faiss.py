"""FAISS index of L2-normalised vectors: exact inner product, IVF above a size threshold."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np

from rag.backends.bm25 import KeywordIndex


@dataclass
class VectorIndex:
    """Wraps a FAISS index whose row ids are chunk positions."""

    index: faiss.Index
    kind: str  # "flat" | "ivf"
    nprobe: int = 0

    @classmethod
    def build(cls, vectors: np.ndarray, ann_threshold: int = 1_000_000) -> VectorIndex:
        """Exact ``IndexFlatIP`` up to ``ann_threshold`` vectors, else a trained ``IVFFlat``."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        n, dim = vectors.shape
        if n <= ann_threshold:
            index = faiss.IndexFlatIP(dim)
            index.add(vectors)
            return cls(index, "flat")
        nlist = int(4 * math.sqrt(n))
        quantizer = faiss.IndexFlatIP(dim)
        index = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
        rng = np.random.default_rng(0)
        sample = vectors[rng.choice(n, size=min(n, nlist * 40), replace=False)]
        index.train(sample)
        index.add(vectors)
        nprobe = max(8, nlist // 32)
        index.nprobe = nprobe
        return cls(index, "ivf", nprobe)

    @property
    def size(self) -> int:
        return int(self.index.ntotal)

    @property
    def dim(self) -> int:
        return int(self.index.d)

    def describe(self) -> dict:
        """Manifest entry: which index type was chosen and why."""
        info = {"type": self.kind, "size": self.size, "dim": self.dim}
        if self.kind == "ivf":
            info.update(nlist=int(self.index.nlist), nprobe=self.nprobe)
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
        params = None
        if allowed is not None:
            selector = faiss.IDSelectorBatch(np.asarray(allowed, dtype=np.int64))
            if self.kind == "ivf":
                params = faiss.SearchParametersIVF(sel=selector, nprobe=self.nprobe)
            else:
                params = faiss.SearchParameters(sel=selector)
        if len(queries) < 16:  # one query: threads cost more than they save (and stall
            faiss.omp_set_num_threads(1)  # when the CPU is shared); batches use all cores
        else:
            faiss.omp_set_num_threads(os.cpu_count() or 1)
        scores, ids = self.index.search(queries, k, params=params)
        return scores, ids

    def save(self, path: Path) -> None:
        faiss.write_index(self.index, str(path))

    @classmethod
    def load(cls, path: Path) -> VectorIndex:
        index = faiss.read_index(str(path))
        if isinstance(index, faiss.IndexIVF):
            return cls(index, "ivf", int(index.nprobe))
        return cls(index, "flat")


class FaissBackend:
    """The embedded default: FAISS vectors and a bm25s index, both files of the build folder."""

    name = "faiss"

    def build(self, vectors: np.ndarray, token_lists: list[list[str]], ann_threshold: int
              ) -> tuple[VectorIndex, KeywordIndex]:
        return VectorIndex.build(vectors, ann_threshold), KeywordIndex.build(token_lists)

    def save(self, vectors: VectorIndex, keyword: KeywordIndex, folder: Path) -> dict:
        vectors.save(folder / "chunks.faiss")
        (folder / "bm25").mkdir()
        keyword.save(folder / "bm25")
        return {"name": self.name}

    def load(self, folder: Path, manifest: dict) -> tuple[VectorIndex, KeywordIndex]:
        return VectorIndex.load(folder / "chunks.faiss"), KeywordIndex.load(folder / "bm25")

    def prune(self, kept: list[dict]) -> None:
        """Nothing outside the build folders."""

    def close(self) -> None:
        """Nothing to release."""
