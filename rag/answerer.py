"""Extractive answers: score the sentences of the top chunks, return short cited snippets."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rag.analyzer import STOPWORDS, Analyzer
from rag.config import AnswerConfig
from rag.highlight import answer_spans, question_type
from rag.index_data import IndexData
from rag.retriever import Retrieval
from rag.textnorm import fold, is_cjk
from rag.types import Snippet


@dataclass
class Candidate:
    """One sentence of a retrieved chunk with its evidence features."""

    sent: int
    dense: float
    lexical: float
    chunk_rank: int
    typed: bool
    score: float = 0.0


@dataclass
class Extraction:
    """The answerer's output before it becomes an Answer.

    ``unknown_terms`` are nouns of the question that occur nowhere in the corpus (a strong
    sign that the corpus cannot answer it, e.g. another company's name).
    """

    snippets: list[Snippet]
    evidence: float
    qtype: str | None
    unknown_terms: list[str]


class Answerer:
    """Picks the sentences that answer the question among the retrieved chunks."""

    def __init__(self, data: IndexData, analyzer: Analyzer, config: AnswerConfig) -> None:
        self.data = data
        self.analyzer = analyzer
        self.config = config

    def run(self, question: str, retrieval: Retrieval, k: int) -> Extraction:
        qtype = question_type(question)
        cands = self._candidates(question, retrieval, qtype)
        unknown = self.unknown_terms(question)
        if not cands:
            return Extraction([], 0.0, qtype, unknown)
        cands.sort(key=lambda c: -c.score)
        best = cands[0]
        snippets: list[Snippet] = []
        taken: list[tuple[int, int, int]] = []
        by_sent = {c.sent: c for c in cands}
        for cand in cands:
            if len(snippets) >= k or cand.score < best.score - self.config.score_margin:
                break
            doc, start, end = self._span(cand, by_sent, qtype)
            if any(d == doc and s < end and start < e for d, s, e in taken):
                continue
            taken.append((doc, start, end))
            snippets.append(self._snippet(doc, start, end, cand.score, qtype, question))
        evidence = self.evidence(best) - self.config.unknown_term_penalty * bool(unknown)
        return Extraction(snippets, evidence, qtype, unknown)

    def threshold(self, question: str) -> float:
        """Minimum evidence to answer; lower for questions with no Chinese characters."""
        if any(is_cjk(ch) for ch in question):
            return self.config.min_evidence
        return self.config.min_evidence_foreign

    def unknown_terms(self, question: str) -> list[str]:
        """Chinese nouns of the question that the corpus vocabulary does not contain."""
        vocab = self.data.keyword.doc_freq
        terms = []
        for pair in self.analyzer.posseg.cut(question):
            word = fold(pair.word)
            if (pair.flag.startswith("n") and len(word) >= 2 and all(map(is_cjk, word))
                    and word not in STOPWORDS and word not in vocab):
                terms.append(pair.word)
        return terms

    def evidence(self, cand: Candidate) -> float:
        """How strongly the best sentence supports an answer (compared to ``min_evidence``)."""
        return cand.dense + self.config.evidence_lexical_weight * cand.lexical

    def _candidates(self, question: str, retrieval: Retrieval,
                    qtype: str | None) -> list[Candidate]:
        data, cfg = self.data, self.config
        ranks: dict[int, int] = {}
        for rank, (chunk, _) in enumerate(retrieval.candidates[: cfg.context_chunks]):
            lo, hi = data.chunk_sents[chunk]
            for sent in range(lo, hi):
                ranks.setdefault(int(sent), rank)
        if not ranks:
            return []
        sents = np.fromiter(ranks, dtype=np.int64)
        if retrieval.query_vector is not None:
            dense = data.sentence_vectors[sents] @ retrieval.query_vector
        else:
            dense = np.zeros(len(sents), dtype=np.float32)
        words = self._weighted_words(question)
        total = sum(words.values()) or 1.0
        cands = []
        for sent, sim in zip(sents.tolist(), dense.tolist()):
            text = self._text(sent)
            folded = fold(text)
            lexical = sum(w for word, w in words.items() if word in folded) / total
            typed = bool(qtype) and bool(answer_spans(text, qtype, question, self.analyzer))
            cand = Candidate(sent, sim, lexical, ranks[sent], typed)
            cand.score = (cfg.dense_weight * sim + cfg.lexical_weight * lexical
                          + cfg.chunk_weight / (1 + cand.chunk_rank)
                          + cfg.type_weight * typed)
            cands.append(cand)
        return cands

    def _weighted_words(self, question: str) -> dict[str, float]:
        """Content words of the question weighted by IDF over the chunks."""
        return {w: self.data.keyword.idf(w) for w in set(self.analyzer.words(question))}

    def _text(self, sent: int) -> str:
        doc = self.data.documents[self.data.sent_doc[sent]]
        start, end = self.data.sent_bounds[sent]
        return doc.text[start:end]

    def _span(self, cand: Candidate, by_sent: dict[int, Candidate],
              qtype: str | None) -> tuple[int, int, int]:
        """The sentence, joined with a neighbour when it is too short to stand alone or when
        the neighbour holds the kind of answer asked for and the sentence does not."""
        data, cfg = self.data, self.config
        doc = int(data.sent_doc[cand.sent])
        start, end = (int(x) for x in data.sent_bounds[cand.sent])
        neighbour = None
        nxt, prev = cand.sent + 1, cand.sent - 1
        if end - start < cfg.min_snippet_chars and self._same_doc(nxt, doc):
            neighbour = nxt
        elif qtype and not cand.typed:
            for other in (nxt, prev):
                oc = by_sent.get(other)
                if oc is not None and oc.typed and self._same_doc(other, doc):
                    neighbour = other
                    break
        if neighbour is not None:
            s2, e2 = (int(x) for x in data.sent_bounds[neighbour])
            if max(end, e2) - min(start, s2) <= cfg.max_snippet_chars:
                start, end = min(start, s2), max(end, e2)
        return doc, start, end

    def _same_doc(self, sent: int, doc: int) -> bool:
        return 0 <= sent < len(self.data.sent_doc) and int(self.data.sent_doc[sent]) == doc

    def _snippet(self, doc_pos: int, start: int, end: int, score: float, qtype: str | None,
                 question: str) -> Snippet:
        doc = self.data.documents[doc_pos]
        text = doc.text[start:end]
        return Snippet(text=text, doc_id=doc.doc_id, title=doc.title, start=start, end=end,
                       score=round(float(score), 4),
                       highlight=answer_spans(text, qtype, question, self.analyzer),
                       metadata=dict(doc.metadata))
