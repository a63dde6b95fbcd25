"""Answers chosen by the trained reader: the best span is the short answer, its sentence the
snippet; spans are ranked, and the question refused, by the calibrated probability that their
sentence answers (rag/reader/calibration.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from rag.answerer import Answerer, Extraction, language_threshold, weighted_words, word_overlap
from rag.config import AnswerConfig
from rag.crosslingual import needs_translation
from rag.highlight import question_type
from rag.index_data import IndexData
from rag.reader.calibration import Calibration, SpanFeatures, overlap, question_grams
from rag.reader.decode import row_value, trim_answer
from rag.reader.inference import Reader, ReadSpan
from rag.retriever import Retrieval, Retriever
from rag.sentences import in_question, snippet_span
from rag.textnorm import chinese_script, to_simplified, to_traditional
from rag.types import Snippet, own_metadata


@dataclass
class SpanCandidate:
    """A reader span placed in its document, with the score used for ranking."""

    chunk: int
    chunk_rank: int
    doc: int
    start: int  # document offsets of the short answer
    end: int
    margin: float
    sentence: tuple[int, int]  # document offsets of the sentence(s) scored around it
    features: SpanFeatures
    score: float  # calibrated probability that the sentence answers (set by candidates)
    shown: tuple[int, int] | None = None  # the snippet: the sentence(s) with the list, table
    # header or rest of a quotation they need (`snippet_span`)
    asks: bool = False  # the span as read touches a question (`in_question`): no answer


class ReaderAnswerer:
    """Reads short passages of the top retrieved chunks in one batch and cites the best
    spans."""

    def __init__(self, data: IndexData, retriever: Retriever, reader: Reader,
                 config: AnswerConfig, sentences: Answerer | None = None) -> None:
        self.data = data
        self.retriever = retriever
        self.reader = reader
        self.config = config
        # ranks the sentences of the top chunks for reader_passages="sentence"
        self.sentences = sentences or Answerer(data, retriever.analyzer, config)

    @property
    def calibration(self) -> Calibration:
        return Calibration(tuple(self.config.reader_weights), self.config.reader_bias)

    def threshold(self, question: str) -> float:
        """Minimum probability to answer the question as asked (before translation); fitted
        with the calibration, for Chinese and for non-Chinese questions."""
        return language_threshold(question, self.config.reader_min_probability,
                                  self.config.reader_min_probability_foreign)

    def passage_count(self, question: str, retrieval: Retrieval) -> int:
        """``reader_chunks``, or ``reader_chunks_foreign`` for a question in another language
        (the questions that also get the foreign threshold)."""
        foreign = self.config.reader_chunks_foreign
        if foreign is not None and (retrieval.translation is not None
                                    or needs_translation(question)):
            return foreign
        return self.config.reader_chunks

    def candidates(self, question: str, retrieval: Retrieval, n_chunks: int | None = None
                   ) -> list[SpanCandidate]:
        """The spans read in ``n_chunks`` passages (default: `passage_count`; see `passages`),
        placed in their sentences and scored, best first."""
        how = self.config.reader_candidates
        if how not in ("window", "sentence"):
            raise ValueError(f"reader_candidates must be window or sentence, not {how!r}")
        n = self.passage_count(question, retrieval) if n_chunks is None else n_chunks
        if n < 1:
            raise ValueError(f"reader_chunks must be at least 1, not {n!r}")
        words = weighted_words(self.data, self.retriever.analyzer, question)
        read = self.passages(question, retrieval, words, n)
        if not read:
            return []
        chunks = [chunk for chunk, _ in read]
        bounds = [span for _, span in read]
        grams = question_grams(question, retrieval.translation.words
                               if retrieval.translation else ())
        passages = [self.data.documents[int(self.data.chunk_doc[i])].text[a:b]
                    for i, (a, b) in read]
        starts = ([self._sentence_starts(i, a, b) for i, (a, b) in read]
                  if how == "sentence" else None)
        vector = self.similarity_vector(retrieval)
        cands = [self._place(s, chunks, bounds, grams, vector)
                 for s in self.reader.read(self.reader_question(question, retrieval, passages),
                                           passages, starts)]
        if cands:  # the similarity gap: to the best-matching sentence read for this question
            top = max(c.features.similarity for c in cands)
            calibration = self.calibration
            for c in cands:
                c.features = replace(c.features, similarity_gap=c.features.similarity - top)
                c.score = calibration.probability(c.features)
        # a span read in a question (an interview's 「记者：…是多少？」) answers nothing: its
        # words and similarity are the user's question echoed; dropped after scoring, so
        # the others keep their scores
        cands = [c for c in cands if not c.asks]
        if question_type(question) == "number":  # a table row's label: its value instead
            for c in cands:
                a, b = row_value(self.data.documents[c.doc].text, c.start, c.end)
                lo, hi = c.shown or c.sentence
                if lo <= a and b <= hi:
                    c.start, c.end = a, b
        cands.sort(key=lambda c: -c.score)
        return cands

    def passages(self, question: str, retrieval: Retrieval, words: dict[str, float], n: int
                 ) -> list[tuple[int, tuple[int, int]]]:
        """What the reader reads: ``n`` (chunk, document offsets) passages, by
        ``reader_passages``: "chunk", the `focus` of each of the top ``n`` distinct chunks;
        "sentence", the neighbourhood (as `focus` grows it) of each of the ``n`` best sentences
        of the top ``context_chunks`` chunks as the heuristic answerer ranks them, skipping
        sentences already read."""
        how = self.config.reader_passages
        if how == "chunk":
            return [(i, self.focus(i, words, retrieval))
                    for i, _ in self.retriever.distinct(retrieval.candidates, n)]
        if how != "sentence":
            raise ValueError(f"reader_passages must be chunk or sentence, not {how!r}")
        if self.config.context_chunks < 1:
            raise ValueError("reader_passages='sentence' ranks the sentences of the top "
                             "context_chunks chunks: context_chunks must be at least 1, not "
                             f"{self.config.context_chunks!r}")
        data = self.data
        ranked = sorted(self.sentences.sentence_candidates(question, retrieval),
                        key=lambda c: -c.score)
        read: list[tuple[int, tuple[int, int]]] = []
        for cand in ranked:
            doc = int(data.sent_doc[cand.sent])
            s, e = (int(x) for x in data.sent_bounds[cand.sent])
            if any(int(data.chunk_doc[c]) == doc and a <= s and e <= b for c, (a, b) in read):
                continue
            chunk = retrieval.candidates[cand.chunk_rank][0]  # the chunk it was ranked in
            read.append((chunk, self.focus(chunk, words, retrieval, seed=cand.sent)))
            if len(read) == n:
                break
        return read

    def _sentence_starts(self, chunk: int, a: int, b: int) -> list[int]:
        """Where the sentences of the read text ``[a, b)`` of ``chunk`` start, relative to
        ``a`` (0 first)."""
        starts = {max(int(self.data.sent_bounds[i][0]), a) - a
                  for i in self._sentences_in(chunk, a, b)}
        return sorted(starts | {0})

    def _sentences_in(self, chunk: int, a: int, b: int) -> list[int]:
        """The chunk's sentences (indices) that overlap the document offsets ``[a, b)``."""
        lo, hi = (int(x) for x in self.data.chunk_sents[chunk])
        bounds = self.data.sent_bounds
        return [i for i in range(lo, hi) if bounds[i][0] < b and a < bounds[i][1]]

    def similarity_vector(self, retrieval: Retrieval) -> np.ndarray | None:
        """The query vector a sentence's similarity feature is measured against: the
        question's own (for a translated question, the question as asked, not its word
        list)."""
        if retrieval.translation is not None and retrieval.source_vector is not None:
            return retrieval.source_vector
        return retrieval.query_vector

    def reader_question(self, question: str, retrieval: Retrieval,
                        passages: Sequence[str] = ()) -> str:
        """What the reader reads: ``question`` (in the script of the ``passages``, with
        ``reader_matches_script``), or for a translated (non-Chinese) question the original
        and/or its translation (``reader_reads_foreign``)."""
        translation = retrieval.translation
        if translation is None:
            return self._in_script_of(question, passages)
        how = self.config.reader_reads_foreign
        if how == "original":
            return translation.source
        if how == "both":
            return f"{translation.source} {translation.text}"
        if how != "translation":
            raise ValueError(f"reader_reads_foreign must be translation, original or both, "
                             f"not {how!r}")
        return question

    def _in_script_of(self, question: str, passages: Sequence[str]) -> str:
        """A Traditional question over Simplified passages converted to Simplified, and the
        other way round: the reader was trained on questions in their paragraph's script."""
        if not self.config.reader_matches_script:
            return question
        asked = chinese_script(question)
        read = chinese_script("".join(passages))
        if asked is None or read is None or asked == read:
            return question
        return to_simplified(question) if read == "simplified" else to_traditional(question)

    def run(self, question: str, retrieval: Retrieval, k: int) -> Extraction:
        """``question`` as searched (a non-Chinese question's translation); what the reader
        reads of it is `reader_question`'s choice."""
        qtype = question_type(question)
        cands = self.candidates(question, retrieval)
        if not cands:
            return Extraction([], float("-inf"), qtype)
        best = cands[0]
        snippets: list[Snippet] = []
        taken: list[tuple[int, int, int]] = []
        floor = self.threshold(retrieval.translation.source if retrieval.translation
                               else question)
        for cand in cands:
            if len(snippets) >= k or cand.score < best.score - self.config.reader_score_margin:
                break
            if snippets and cand.score < floor:
                continue  # a further snippet must be one the reader would answer with
            start, end = cand.shown or cand.sentence
            if any(d == cand.doc and s < end and start < e for d, s, e in taken):
                continue
            taken.append((cand.doc, start, end))
            snippets.append(self._snippet(cand, start, end))
        return Extraction(snippets, best.score, qtype)

    def focus(self, chunk: int, words: dict[str, float], retrieval: Retrieval,
              seed: int | None = None) -> tuple[int, int]:
        """Document offsets of what the reader reads of ``chunk``: all of it, or with
        ``reader_focus_chars`` the sentence that best matches the question (or sentence
        ``seed``) and its neighbours up to that many characters. A sentence matches by dense
        similarity + ``reader_focus_lexical_weight`` × the IDF-weighted share of the
        question's ``words`` (`weighted_words`) it holds."""
        c = self.data.chunks[chunk]
        limit = self.config.reader_focus_chars
        if limit <= 0 or c.end - c.start <= limit:
            return c.start, c.end
        data = self.data
        lo, hi = (int(x) for x in data.chunk_sents[chunk])
        if hi <= lo:
            return c.start, c.end
        text = data.documents[int(data.chunk_doc[chunk])].text
        bounds = [(max(int(s), c.start), min(int(e), c.end)) for s, e in data.sent_bounds[lo:hi]]
        lexical = np.array([word_overlap(words, text[s:e]) for s, e in bounds])
        score = self.config.reader_focus_lexical_weight * lexical
        if retrieval.query_vector is not None:
            score = score + data.sentence_vectors[lo:hi] @ retrieval.query_vector
        best = int(np.argmax(score)) if seed is None else seed - lo
        first = last = best
        while True:  # grow towards the better neighbour while it fits
            options = [j for j in (first - 1, last + 1) if 0 <= j < len(bounds)
                       and max(bounds[last][1], bounds[j][1]) - min(bounds[first][0],
                                                                   bounds[j][0]) <= limit]
            if not options:
                break
            j = max(options, key=lambda j: score[j])
            first, last = min(first, j), max(last, j)
        return bounds[first][0], bounds[last][1]

    def _place(self, span: ReadSpan, chunks: list[int],
               bounds: list[tuple[int, int]], question_grams: set[str],
               vector: np.ndarray | None) -> SpanCandidate:
        chunk_idx = chunks[span.passage]
        doc = int(self.data.chunk_doc[chunk_idx])
        offset = bounds[span.passage][0]
        raw_a, raw_b = offset + span.start, offset + span.end
        # the snippet: the sentence(s) of the span as read; the short answer: the span cut at
        # its first sentence end (`trim_answer`), so it stays inside the snippet
        doc_text = self.data.documents[doc].text
        start, end = self._sentence_span(chunk_idx, doc, raw_a, raw_b)
        a, b = trim_answer(doc_text, raw_a, raw_b)
        text = doc_text[start:end]
        features = SpanFeatures(span.margin, span.passage, overlap(question_grams, text),
                                self._similarity(chunk_idx, start, end, vector))
        # what is shown: the sentence(s) scored, with the list a heading or lead-in line
        # introduces and the rest of a quotation they cut
        shown = snippet_span(doc_text, min(start, a), max(end, b), self.config.max_snippet_chars)
        return SpanCandidate(chunk_idx, span.passage, doc, a, b, span.margin, (start, end),
                             features, 0.0, shown, in_question(doc_text, raw_a, raw_b))

    def _similarity(self, chunk: int, start: int, end: int, vector: np.ndarray | None
                    ) -> float:
        """Best cosine of ``vector`` with the chunk's sentences inside ``[start, end)``."""
        if vector is None:
            return 0.0
        inside = self._sentences_in(chunk, start, end)
        if not inside:
            return 0.0
        return float(np.max(self.data.sentence_vectors[inside] @ vector))

    def _sentence_span(self, chunk: int, doc: int, a: int, b: int) -> tuple[int, int]:
        """The sentence(s) holding the answer ``[a, b)``; a sentence too short to stand alone
        is joined with the next one of the same paragraph."""
        data, cfg = self.data, self.config
        bounds = data.sent_bounds
        inside = self._sentences_in(chunk, a, b)
        if not inside:  # cannot happen for spans inside the chunk; fall back to the span
            return a, b
        first, last = inside[0], inside[-1]
        start, end = int(bounds[first][0]), int(bounds[last][1])
        text = data.documents[doc].text
        nxt = last + 1
        if (end - start < cfg.min_snippet_chars and nxt < len(data.sent_doc)
                and int(data.sent_doc[nxt]) == doc):
            s2, e2 = int(bounds[nxt][0]), int(bounds[nxt][1])
            if "\n" not in text[end:s2] and e2 - start <= cfg.max_snippet_chars:
                end = e2
        return min(start, a), max(end, b)

    def _snippet(self, cand: SpanCandidate, start: int, end: int) -> Snippet:
        doc = self.data.documents[cand.doc]
        return Snippet(text=doc.text[start:end], doc_id=doc.doc_id, title=doc.title,
                       start=start, end=end, score=round(float(cand.score), 4),
                       highlight=[(cand.start - start, cand.end - start)],
                       metadata=own_metadata(doc.metadata), answer_start=cand.start,
                       answer_end=cand.end, answer=doc.text[cand.start:cand.end])
