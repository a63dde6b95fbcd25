"""The two search structures of an index, as interfaces with one implementation per backend.

``faiss`` (embedded default): FAISS for vectors and bm25s for BM25, saved in the build folder.
``milvus``: one Milvus collection per build (Milvus Lite file or a server), dense vectors and
client-side BM25 as sparse vectors; see ``rag/backends/milvus.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

BACKENDS = ("faiss", "milvus")


@runtime_checkable
class VectorIndex(Protocol):
    """Inner-product search over L2-normalised chunk vectors; row ids are chunk positions."""

    kind: str

    @property
    def size(self) -> int: ...

    @property
    def dim(self) -> int: ...

    def describe(self) -> dict: ...

    def search(self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` (scores, ids) per query row (id -1 pads); ``allowed``: permitted ids."""
        ...


@runtime_checkable
class KeywordIndex(Protocol):
    """BM25 over the analyzer's words of each chunk; row ids are chunk positions."""

    n_docs: int

    @property
    def doc_freq(self) -> Mapping[str, int]:
        """Word → number of chunks holding it (the corpus vocabulary)."""
        ...

    def top(self, tokens: list[str], n: int, mask: np.ndarray | None = None
            ) -> dict[int, float]:
        """Up to ``n`` chunks with a positive BM25 score, best first; ``mask``: allowed rows."""
        ...

    def idf(self, word: str) -> float:
        """Smoothed inverse document frequency of ``word`` (unknown words weigh most)."""
        ...


@dataclass(frozen=True)
class BackendSpec:
    """Which backend stores an index, and where (``uri`` only for Milvus)."""

    name: str = "faiss"
    uri: str | None = None


class Backend(Protocol):
    """Builds, saves, loads and drops the search structures of one index build."""

    name: str

    def build(self, vectors: np.ndarray, token_lists: list[list[str]], ann_threshold: int,
              **ann: Any) -> tuple[VectorIndex, KeywordIndex]:
        """``ann``: approximate-search options (index kind, recall target, calibration
        queries) for a backend that builds its own ANN index."""
        ...

    def save(self, vectors: VectorIndex, keyword: KeywordIndex, folder: Path
             ) -> dict[str, Any]:
        """Write (or insert) both structures for the build in ``folder``; returns the
        manifest's ``backend`` entry."""
        ...

    def load(self, folder: Path, manifest: dict[str, Any]
             ) -> tuple[VectorIndex, KeywordIndex]: ...

    def prune(self, kept: list[dict[str, Any]]) -> None:
        """Drop external storage of this index not used by the builds in ``kept``
        (their manifests)."""
        ...

    def connect(self) -> None:
        """Reach the storage now, so that a wrong address or an unfit server fails before a
        long build rather than after it (a no-op for files)."""
        ...

    def close(self) -> None: ...
