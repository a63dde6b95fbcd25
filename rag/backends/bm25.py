"""BM25 over jieba words (bm25s), scored for all chunks at once so filters are a mask."""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path

import numpy as np


def _import_bm25s():
    """``import bm25s`` without its optional ``import numba`` (0.3-0.4 s of a cold ``rag ask``
    when numba is installed, as the eval extra does): scores here come from bm25s's numpy path
    (``get_scores``), never its numba backend. Left alone if numba is already imported."""
    import sys

    hide = "numba" not in sys.modules
    if hide:
        sys.modules["numba"] = None  # type: ignore[assignment]  # import numba -> ImportError
    try:
        import bm25s
    finally:
        if hide and sys.modules.get("numba", 0) is None:
            del sys.modules["numba"]
    return bm25s


bm25s = _import_bm25s()

logging.getLogger("bm25s").setLevel(logging.WARNING)


class KeywordIndex:
    """bm25s index of pre-tokenised chunks; row ids are chunk positions."""

    def __init__(self, bm25: bm25s.BM25, doc_freq: dict[str, int], n_docs: int) -> None:
        self.bm25 = bm25
        self.doc_freq = doc_freq
        self.n_docs = n_docs

    @classmethod
    def build(cls, token_lists: list[list[str]]) -> KeywordIndex:
        bm25 = bm25s.BM25()
        bm25.index(token_lists, show_progress=False)
        doc_freq: dict[str, int] = {}
        for tokens in token_lists:
            for word in set(tokens):
                doc_freq[word] = doc_freq.get(word, 0) + 1
        return cls(bm25, doc_freq, len(token_lists))

    def scores(self, tokens: list[str], mask: np.ndarray | None = None) -> np.ndarray:
        """BM25 score of every chunk (0 where ``mask`` is False or nothing matches)."""
        known = [t for t in tokens if t in self.doc_freq]
        if not known:
            return np.zeros(self.n_docs, dtype=np.float32)
        weight = None if mask is None else mask.astype(np.float32)
        return np.asarray(self.bm25.get_scores(known, weight_mask=weight), dtype=np.float32)

    def top(self, tokens: list[str], n: int, mask: np.ndarray | None = None
            ) -> dict[int, float]:
        """The ``n`` best-scoring chunks with a positive score, best first (ties by position)."""
        scores = self.scores(tokens, mask)
        best = np.argsort(-scores, kind="stable")[:n]
        return {int(i): float(scores[i]) for i in best if scores[i] > 0}

    def idf(self, word: str) -> float:
        """Smoothed inverse document frequency (unknown words weigh most)."""
        df = self.doc_freq.get(word, 0)
        return math.log(1 + (self.n_docs - df + 0.5) / (df + 0.5))

    def save(self, path: Path) -> None:
        self.bm25.save(str(path), show_progress=False)
        (path / "doc_freq.json").write_text(
            json.dumps({"n_docs": self.n_docs, "df": self.doc_freq}, ensure_ascii=False),
            encoding="utf-8",
        )

    @classmethod
    def load(cls, path: Path) -> KeywordIndex:
        bm25 = bm25s.BM25.load(str(path), show_progress=False)
        meta = json.loads((path / "doc_freq.json").read_text(encoding="utf-8"))
        return cls(bm25, meta["df"], int(meta["n_docs"]))
