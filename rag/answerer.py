"""Extractive answers: score the sentences of the top chunks, return short cited snippets."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rag.analyzer import Analyzer
from rag.config import AnswerConfig
from rag.crosslingual import needs_translation
from rag.highlight import answer_spans, question_type
from rag.index_data import IndexData
from rag.retriever import Retrieval
from rag.sentences import in_question, snippet_span
from rag.textnorm import char_bigrams, fold, to_simplified
from rag.types import Snippet, own_metadata


@dataclass
class Candidate:
    """One sentence of a retrieved chunk with its evidence features."""

    sent: int
    dense: float
    lexical: float
    bigram: float
    chunk_rank: int
    typed: bool
    score: float = 0.0


@dataclass
class Extraction:
    """The answerer's output before it becomes an Answer."""

    snippets: list[Snippet]
    evidence: float
    qtype: str | None


class Answerer:
    """Picks the sentences that answer the question among the retrieved chunks."""

    def __init__(self, data: IndexData, analyzer: Analyzer, config: AnswerConfig) -> None:
        self.data = data
        self.analyzer = analyzer
        self.config = config
        self._title_cache: dict[int, set[str]] = {}

    def run(self, question: str, retrieval: Retrieval, k: int) -> Extraction:
        qtype = question_type(question)
        # a question (an interview's 「问：…？」) answers nothing, and echoes the user's words
        cands = [c for c in self.sentence_candidates(question, retrieval, qtype)
                 if not self._asks(c.sent)]
        if not cands:
            return Extraction([], 0.0, qtype)
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
        return Extraction(snippets, max(self.evidence(c, qtype) for c in cands), qtype)

    def threshold(self, question: str) -> float:
        """Minimum evidence to answer the question as asked (before translation)."""
        return language_threshold(question, self.config.min_evidence,
                                  self.config.min_evidence_foreign)


    def evidence(self, cand: Candidate, qtype: str | None) -> float:
        """How strongly one sentence supports an answer: similarity and word overlap, less a
        penalty when a number or date is asked for and it has none. The answer's evidence is
        the best over the retrieved sentences, compared to ``threshold``."""
        cfg = self.config
        untyped = qtype in ("number", "date") and not cand.typed
        return (cand.dense + cfg.evidence_lexical_weight * cand.lexical
                - cfg.missing_type_penalty * untyped)

    def sentence_candidates(self, question: str, retrieval: Retrieval,
                            qtype: str | None = "auto") -> list[Candidate]:
        """Every sentence of the top ``context_chunks`` chunks, scored (``qtype``: the kind of
        answer asked for; "auto": `question_type` of the question)."""
        if qtype == "auto":
            qtype = question_type(question)
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
        words = weighted_words(data, self.analyzer, question)
        qgrams = char_bigrams(question)
        cands = []
        for sent, sim in zip(sents.tolist(), dense.tolist()):
            text = self._text(sent)
            lexical = word_overlap(words, text)
            # the article's own subject (its title) is in most of its sentences and says nothing
            # about which one answers: overlap is counted on the rest of the question
            focus = qgrams - self._title_bigrams(int(data.sent_doc[sent]))
            bigram = len(focus & char_bigrams(text)) / len(focus) if focus else 0.0
            typed = bool(qtype) and bool(answer_spans(text, qtype, question, self.analyzer))
            cand = Candidate(sent, sim, lexical, bigram, ranks[sent], typed)
            cand.score = (cfg.dense_weight * sim + cfg.lexical_weight * lexical
                          + cfg.bigram_weight * bigram
                          + cfg.chunk_weight / (1 + cand.chunk_rank)
                          + cfg.type_weight * typed)
            cands.append(cand)
        return cands

    def _asks(self, sent: int) -> bool:
        start, end = self.data.sent_bounds[sent]
        text = self.data.documents[self.data.sent_doc[sent]].text
        return in_question(text, int(start), int(end))

    def _title_bigrams(self, doc: int) -> set[str]:
        grams = self._title_cache.get(doc)
        if grams is None:
            grams = self._title_cache[doc] = char_bigrams(self.data.documents[doc].title)
        return grams

    def _text(self, sent: int) -> str:
        doc = self.data.documents[self.data.sent_doc[sent]]
        start, end = self.data.sent_bounds[sent]
        return doc.text[start:end]

    def _span(self, cand: Candidate, by_sent: dict[int, Candidate],
              qtype: str | None) -> tuple[int, int, int]:
        """The sentence, joined with a neighbour of the same paragraph when it is too short to
        stand alone or when the neighbour holds the kind of answer asked for and it does not;
        then with the list it introduces (`heading_block`) and a quotation it cuts
        (`quoted_span`)."""
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
            text = data.documents[doc].text
            same_paragraph = "\n" not in text[min(end, e2):max(start, s2)]
            if same_paragraph and max(end, e2) - min(start, s2) <= cfg.max_snippet_chars:
                start, end = min(start, s2), max(end, e2)
        # what is shown: with the list or table header it needs, a quotation whole
        start, end = snippet_span(data.documents[doc].text, start, end, cfg.max_snippet_chars)
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
                       metadata=own_metadata(doc.metadata))


def weighted_words(data: IndexData, analyzer: Analyzer, question: str) -> dict[str, float]:
    """Content words of the question (folded, Simplified) weighted by IDF over the chunks."""
    return {w: data.keyword.idf(w) for w in set(analyzer.words(question))}


def word_overlap(words: dict[str, float], text: str) -> float:
    """IDF-weighted share of ``words`` found in ``text`` (script- and width-folded)."""
    total = sum(words.values())
    if not total:
        return 0.0
    folded = to_simplified(fold(text))
    return sum(w for word, w in words.items() if word in folded) / total


def language_threshold(question: str, chinese: float, foreign: float) -> float:
    """``foreign`` for a question in another language (one that is read through its dictionary
    translation, which has lower similarity and overlap), else ``chinese``; a Chinese question
    naming a CEO or an app is Chinese."""
    return foreign if needs_translation(question) else chinese
