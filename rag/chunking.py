"""Pack sentences into overlapping chunks with exact character offsets."""

from __future__ import annotations

from rag.config import ChunkingConfig
from rag.sentences import split_long, split_sentences
from rag.types import Chunk, Document, Span


def sentence_spans(doc: Document, max_chars: int) -> list[Span]:
    """The document's sentences, over-long ones cut at clause breaks to ``max_chars``."""
    spans: list[Span] = []
    for start, end in split_sentences(doc.text):
        for s, e in split_long(doc.text, start, end, max_chars):
            spans.append(Span(doc.doc_id, s, e))
    return spans


def chunk_document(doc: Document, config: ChunkingConfig) -> list[Chunk]:
    """Greedy packing of whole sentences up to ``max_chars``, sharing ``overlap`` sentences."""
    sents = sentence_spans(doc, config.max_chars)
    chunks: list[Chunk] = []
    i = 0
    while i < len(sents):
        j = i + 1
        while j < len(sents) and sents[j].end - sents[i].start <= config.max_chars:
            j += 1
        if j == len(sents) and chunks and sents[-1].end - sents[i].start < config.min_chars:
            last = chunks[-1]  # a short tail joins the previous chunk instead of standing alone
            chunks[-1] = _chunk(doc, last.start, sents[-1].end)
            break
        chunks.append(_chunk(doc, sents[i].start, sents[j - 1].end))
        if j == len(sents):
            break
        i = max(i + 1, j - config.overlap)
    return chunks


def _chunk(doc: Document, start: int, end: int) -> Chunk:
    return Chunk(doc_id=doc.doc_id, start=start, end=end, text=doc.text[start:end], title=doc.title)
