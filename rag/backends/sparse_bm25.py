"""BM25 as sparse vectors: documents store saturated term frequencies, queries carry IDF.

The inner product of a query vector and a document vector is the BM25 score of the bm25s
default ("lucene": idf = ln(1 + (N - df + 0.5) / (df + 0.5)), tf part = tf / (tf + k1 ·
(1 - b + b · |d| / avgdl))), so any sparse inner-product engine (Milvus) ranks like bm25s.
Document weights are fixed at build time (one collection per build); the document-frequency
table stays with the build, so IDF is applied on the query side.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

# Milvus refuses an empty sparse vector: a chunk without words gets this unused dimension
# with a negligible weight (no query ever contains it).
EMPTY_DIM = 2**32 - 2
EMPTY_WEIGHT = 1e-30


@dataclass
class SparseBM25:
    """Vocabulary (word → token id), document frequencies and length statistics."""

    vocab: dict[str, int]
    doc_freq: list[int]
    n_docs: int
    avgdl: float
    k1: float = 1.5
    b: float = 0.75

    @classmethod
    def fit(cls, token_lists: list[list[str]], k1: float = 1.5, b: float = 0.75) -> SparseBM25:
        vocab: dict[str, int] = {}
        doc_freq: list[int] = []
        total = 0
        for tokens in token_lists:
            total += len(tokens)
            for word in set(tokens):
                tid = vocab.setdefault(word, len(vocab))
                if tid == len(doc_freq):
                    doc_freq.append(0)
                doc_freq[tid] += 1
        n = len(token_lists)
        return cls(vocab, doc_freq, n, total / n if n else 1.0, k1, b)

    def idf(self, word: str) -> float:
        """Smoothed inverse document frequency (unknown words weigh most)."""
        tid = self.vocab.get(word)
        df = self.doc_freq[tid] if tid is not None else 0
        return math.log(1 + (self.n_docs - df + 0.5) / (df + 0.5))

    def document(self, tokens: list[str]) -> dict[int, float]:
        """Saturated term frequency of each word of one chunk (its BM25 weight without IDF)."""
        if not tokens:
            return {EMPTY_DIM: EMPTY_WEIGHT}
        norm = self.k1 * (1 - self.b + self.b * len(tokens) / self.avgdl)
        return {self.vocab[w]: tf / (tf + norm) for w, tf in Counter(tokens).items()
                if w in self.vocab}

    def query(self, tokens: list[str]) -> dict[int, float]:
        """IDF × count of each known query word (a repeated word counts again, as in bm25s)."""
        weights: dict[int, float] = {}
        for word in tokens:
            tid = self.vocab.get(word)
            if tid is not None:
                weights[tid] = weights.get(tid, 0.0) + self.idf(word)
        return weights

    def save(self, path: Path) -> None:
        words = sorted(self.vocab, key=self.vocab.__getitem__)
        path.write_text(json.dumps(
            {"k1": self.k1, "b": self.b, "n_docs": self.n_docs, "avgdl": self.avgdl,
             "words": words, "df": self.doc_freq}, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> SparseBM25:
        data = json.loads(path.read_text(encoding="utf-8"))
        vocab = {w: i for i, w in enumerate(data["words"])}
        return cls(vocab, list(data["df"]), int(data["n_docs"]), float(data["avgdl"]),
                   float(data["k1"]), float(data["b"]))


class DocFreqView(Mapping):
    """Word → document frequency over a :class:`SparseBM25` table (read-only, no copy)."""

    def __init__(self, bm25: SparseBM25) -> None:
        self._bm25 = bm25

    def __getitem__(self, word: str) -> int:
        return self._bm25.doc_freq[self._bm25.vocab[word]]

    def __iter__(self) -> Iterator[str]:
        return iter(self._bm25.vocab)

    def __len__(self) -> int:
        return len(self._bm25.vocab)
