"""Answers chosen by the trained reader: the best span is the short answer, its sentence the
snippet; refusal when no span beats the no-answer score by the calibrated margin."""

from __future__ import annotations

from dataclasses import dataclass

from rag.answerer import Extraction
from rag.config import AnswerConfig
from rag.highlight import question_type
from rag.index_data import IndexData
from rag.reader.inference import Reader, ReadSpan
from rag.retriever import Retrieval, Retriever
from rag.types import Snippet


@dataclass
class SpanCandidate:
    """A reader span placed in its document, with the score used for ranking."""

    chunk: int
    chunk_rank: int
    doc: int
    start: int  # document offsets of the short answer
    end: int
    margin: float
    score: float


def chunk_similarity(retrieval: Retrieval, chunk: int) -> float:
    """Query–chunk dense similarity; a chunk only BM25 found gets the lowest dense score."""
    dense = retrieval.dense_scores
    return dense.get(chunk, min(dense.values())) if dense else 0.0


class ReaderAnswerer:
    """Reads the top retrieved chunks in one batch and cites the best spans."""

    def __init__(self, data: IndexData, retriever: Retriever, reader: Reader,
                 config: AnswerConfig) -> None:
        self.data = data
        self.retriever = retriever
        self.reader = reader
        self.config = config

    def threshold(self, question: str) -> float:
        """Minimum evidence to answer; fitted on held-out DRCD."""
        return self.config.reader_min_margin

    def evidence(self, margin: float, chunk: int, retrieval: Retrieval) -> float:
        """Reader margin (best span over no-answer) plus the weighted query–chunk similarity
        (a weak chunk says the corpus is off topic; the reader alone is fooled by on-topic
        text without the answer)."""
        return margin + self.config.reader_dense_weight * chunk_similarity(retrieval, chunk)

    def run(self, question: str, retrieval: Retrieval, k: int) -> Extraction:
        qtype = question_type(question)
        chunks = self.retriever.distinct(retrieval.candidates, self.config.reader_chunks)
        if not chunks:
            return Extraction([], float("-inf"), qtype)
        passages = [self.data.chunks[i].text for i, _ in chunks]
        spans = self.reader.read(question, passages)
        cands = [self._place(s, chunks) for s in spans]
        if not cands:
            return Extraction([], float("-inf"), qtype)
        cands.sort(key=lambda c: -c.score)
        best = cands[0]
        snippets: list[Snippet] = []
        taken: list[tuple[int, int, int]] = []
        floor = self.threshold(question)
        for cand in cands:
            if len(snippets) >= k or cand.score < best.score - self.config.reader_score_margin:
                break
            if snippets and self.evidence(cand.margin, cand.chunk, retrieval) < floor:
                continue  # a further snippet must be one the reader would answer with
            start, end = self._sentence_span(cand)
            if any(d == cand.doc and s < end and start < e for d, s, e in taken):
                continue
            taken.append((cand.doc, start, end))
            snippets.append(self._snippet(cand, start, end))
        return Extraction(snippets, self.evidence(best.margin, best.chunk, retrieval), qtype)

    def _place(self, span: ReadSpan, chunks: list[tuple[int, float]]) -> SpanCandidate:
        chunk_idx, _ = chunks[span.passage]
        chunk = self.data.chunks[chunk_idx]
        doc = int(self.data.chunk_doc[chunk_idx])
        score = span.margin - self.config.reader_rank_penalty * span.passage
        return SpanCandidate(chunk_idx, span.passage, doc, chunk.start + span.start,
                             chunk.start + span.end, span.margin, score)

    def _sentence_span(self, cand: SpanCandidate) -> tuple[int, int]:
        """The sentence(s) holding the answer; a sentence too short to stand alone is joined
        with the next one of the same paragraph."""
        data, cfg = self.data, self.config
        lo, hi = (int(x) for x in data.chunk_sents[cand.chunk])
        bounds = data.sent_bounds
        inside = [i for i in range(lo, hi) if bounds[i][0] < cand.end and cand.start < bounds[i][1]]
        if not inside:  # cannot happen for spans inside the chunk; fall back to the span
            return cand.start, cand.end
        first, last = inside[0], inside[-1]
        start, end = int(bounds[first][0]), int(bounds[last][1])
        text = data.documents[cand.doc].text
        nxt = last + 1
        if (end - start < cfg.min_snippet_chars and nxt < len(data.sent_doc)
                and int(data.sent_doc[nxt]) == cand.doc):
            s2, e2 = int(bounds[nxt][0]), int(bounds[nxt][1])
            if "\n" not in text[end:s2] and e2 - start <= cfg.max_snippet_chars:
                end = e2
        return min(start, cand.start), max(end, cand.end)

    def _snippet(self, cand: SpanCandidate, start: int, end: int) -> Snippet:
        doc = self.data.documents[cand.doc]
        return Snippet(text=doc.text[start:end], doc_id=doc.doc_id, title=doc.title,
                       start=start, end=end, score=round(float(cand.score), 4),
                       highlight=[(cand.start - start, cand.end - start)],
                       metadata=dict(doc.metadata), answer_start=cand.start,
                       answer_end=cand.end, answer=doc.text[cand.start:cand.end])
