"""Hybrid retrieval: dense + keyword (BM25) rankings from the index's backend (FAISS/bm25s or
Milvus), fused here (the same fusion for every backend), filtered, de-duplicated."""

from __future__ import annotations

import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from rag.analyzer import Analyzer
from rag.config import RetrievalConfig, cache_dir
from rag.crosslingual import QueryTranslator, Translation
from rag.errors import InvalidArgumentError
from rag.fusion import reciprocal_rank_fusion, weighted_score_fusion
from rag.index_data import IndexData
from rag.textnorm import cjk_share
from rag.types import Filters

MODES = ("hybrid", "dense", "keyword")


@dataclass
class Retrieval:
    """Fused chunk candidates (best first) and the query's analysed forms.

    ``question`` is what answerers read: the query itself, or for a non-Chinese query its
    ``translation`` into the corpus's words."""

    candidates: list[tuple[int, float]]
    query_vector: np.ndarray | None
    tokens: list[str]
    dense_scores: dict[int, float] = field(default_factory=dict)
    question: str = ""
    translation: Translation | None = None
    source_vector: np.ndarray | None = None  # a translated query's own vector (as asked)


class Retriever:
    """Ranks the chunks of one IndexData for a query."""

    def __init__(self, data: IndexData, encoder, analyzer: Analyzer,
                 config: RetrievalConfig) -> None:
        self.data = data
        self.encoder = encoder
        self.analyzer = analyzer
        self.config = config
        self.translator = QueryTranslator(data.keyword.doc_freq, word_freq=analyzer.frequency,
                                          proper_noun=analyzer.is_proper_noun,
                                          cache_folder=cache_dir() / "crosslingual")

    def translate(self, query: str) -> Translation | None:
        """The query in the corpus's words when it is not Chinese (``translate_questions``)."""
        return self.translator.translate(query) if self.config.translate_questions else None

    def searched(self, query: str, translation: Translation | None) -> str:
        """What is searched and read for ``query``: its translation; for a Chinese question,
        itself with English words the corpus does not use in the corpus's words (「JD Health的
        CEO是谁？」 is searched as 「京东健康的CEO是谁？」: it was refused, as BM25 and the
        reader met "JD Health" in no article)."""
        if translation is not None:
            return translation.text
        if not self.config.translate_questions:
            return query
        return self.translator.translate_inside(query) or query

    def run(self, query: str, mode: str | None = None, filters: Filters | None = None,
            timings: dict[str, float] | None = None, need_vector: bool = False) -> Retrieval:
        mode = mode or self.config.mode
        if mode not in MODES:
            raise InvalidArgumentError(
                f"unknown retrieval mode {mode!r}; use one of {', '.join(MODES)}")
        timings = timings if timings is not None else {}
        mask = self.chunk_mask(filters)
        allowed = None if mask is None else np.flatnonzero(mask)
        n = self.config.candidates
        tick = time.perf_counter()
        translation = self.translate(query)
        asked = self.searched(query, translation)
        tokens = self.analyzer.tokens(asked)
        vector = source_vector = None
        dense: dict[int, float] = {}
        original: dict[int, float] = {}  # the untranslated query's own dense ranking
        if mode != "keyword" or need_vector:
            # the question as asked, without a polite opening ("Could you tell me …")
            texts = [asked, translation.source] if translation else [asked]
            vectors = self.encoder.encode_queries(texts)
            vector = vectors[0]
            source_vector = vectors[1] if translation else None
            timings["encode"] = time.perf_counter() - tick
        if mode != "keyword" and (allowed is None or len(allowed)):
            tick = time.perf_counter()
            scores, ids = self.data.vectors.search(vectors, n, allowed)
            dense = {int(i): float(s) for i, s in zip(ids[0], scores[0]) if i >= 0}
            if len(vectors) > 1:
                original = {int(i): float(s) for i, s in zip(ids[1], scores[1]) if i >= 0}
            timings["dense"] = time.perf_counter() - tick
        keyword: dict[int, float] = {}
        keyword_weight = 1.0 if translation or mode != "hybrid" else self.keyword_weight(asked)
        if mode != "dense" and keyword_weight > 0:
            tick = time.perf_counter()
            keyword = self.data.keyword.top(tokens, n, mask)
            timings["keyword"] = time.perf_counter() - tick
        tick = time.perf_counter()
        if mode == "dense" and original:
            fused = reciprocal_rank_fusion([list(dense), list(original)], self.config.rrf_k)
        elif mode == "dense":
            fused = sorted(dense.items(), key=lambda kv: -kv[1])
        elif mode == "keyword":
            fused = sorted(keyword.items(), key=lambda kv: -kv[1])
        elif self.config.fusion == "weighted":
            fused = weighted_score_fusion(dense, keyword, self.config.dense_weight)
        else:
            w = self.config.dense_weight
            fused = reciprocal_rank_fusion(
                [list(dense), list(keyword), list(original)], self.config.rrf_k,
                [2 * w, 2 * (1 - w) * keyword_weight, 2 * w])
        timings["fusion"] = time.perf_counter() - tick
        return Retrieval(fused, vector, tokens, dense, asked, translation, source_vector)

    def keyword_weight(self, query: str) -> float:
        """BM25's weight in hybrid fusion: 1 for Chinese questions, ``foreign_keyword_weight``
        for questions without Chinese characters, in between by their Chinese share."""
        share = cjk_share(query)
        low = self.config.foreign_keyword_weight
        return low + share * (1.0 - low)

    def chunk_mask(self, filters: Filters | None) -> np.ndarray | None:
        """Boolean mask over chunks allowed by the metadata filters (None = all)."""
        if filters is None or filters.is_empty():
            return None
        allowed = _doc_filter(filters)
        allowed_docs = np.array([allowed(d.metadata, d.doc_id) for d in self.data.documents],
                                dtype=bool)
        return allowed_docs[self.data.chunk_doc]

    def passes_any(self, filters: Filters | None) -> bool:
        """True when some document passes ``filters`` (stops at the first: no per-chunk mask
        is built for the check)."""
        if filters is None or filters.is_empty():
            return True
        allowed = _doc_filter(filters)
        return any(allowed(d.metadata, d.doc_id) for d in self.data.documents)

    def distinct(self, candidates: list[tuple[int, float]], k: int) -> list[tuple[int, float]]:
        """Top ``k`` candidates with chunks overlapping a better one of the same doc removed."""
        kept: list[tuple[int, float]] = []
        for idx, score in candidates:
            chunk = self.data.chunks[idx]
            if any(self.data.chunks[j].doc_id == chunk.doc_id
                   and self.data.chunks[j].start < chunk.end
                   and chunk.start < self.data.chunks[j].end for j, _ in kept):
                continue
            kept.append((idx, score))
            if len(kept) == k:
                break
        return kept


def _source_key(source: object) -> str:
    """A source as the filter compares it: NFKC (full-width ``ＣＮＮ`` typed with a Chinese
    input method is ``CNN``, which it did not match), case-folded, outer spaces dropped."""
    if not isinstance(source, str):
        return ""
    return unicodedata.normalize("NFKC", source).casefold().strip()


def _doc_filter(f: Filters) -> Callable[[dict, str], bool]:
    """Whether a document (its metadata and doc_id) passes ``f``. ``doc_ids`` are looked up
    in a set: a list was searched once per document, so 5,000 ids over 20,000 documents took
    0.9 s per question (100,000 ids over a million documents: hours)."""
    ids = frozenset(f.doc_ids) if f.doc_ids else None
    source = _source_key(f.source) if f.source else None
    date_from, date_to = (f.date_from or "")[:10], (f.date_to or "")[:10]

    def allowed(meta: dict, doc_id: str) -> bool:
        if ids is not None and doc_id not in ids:
            return False
        if source is not None and _source_key(meta.get("source")) != source:
            return False
        date = (meta.get("date") or "")[:10]
        if date_from and (not date or date < date_from):
            return False
        return not (date_to and (not date or date > date_to))

    return allowed
