"""Sentence splitting and chunk offsets, including property tests."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rag.chunking import chunk_document, sentence_spans
from rag.config import ChunkingConfig
from rag.sentences import split_sentences
from rag.types import Document

pytestmark = pytest.mark.unit


def texts(spans, text):
    return [text[s:e] for s, e in spans]


def test_chinese_terminators_and_closing_quotes_stay_with_their_sentence():
    text = "他说：“我们会做到。”随后离开！真的吗？是的；好……\n下一段"
    assert texts(split_sentences(text), text) == [
        "他说：“我们会做到。”", "随后离开！", "真的吗？", "是的；", "好……", "下一段"]


def test_decimal_points_do_not_split_but_english_full_stops_do():
    text = "增加至1.4亿例。It grew fast. Then 3.5% more"
    assert texts(split_sentences(text), text) == ["增加至1.4亿例。", "It grew fast.",
                                                 "Then 3.5% more"]


def test_over_long_sentences_are_cut_at_clause_breaks():
    doc = Document("d", "", "，".join(["互联网医疗发展"] * 60) + "。")
    spans = sentence_spans(doc, 100)
    assert len(spans) > 1 and all(s.end - s.start <= 100 for s in spans)
    assert "".join(doc.text[s.start:s.end] for s in spans) == doc.text


_alphabet = st.sampled_from(list("互联网医院患者糖尿病京东健康abc 12.。！？；…，“”\n"))


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=_alphabet, min_size=0, max_size=600),
       st.integers(min_value=20, max_value=200), st.integers(min_value=0, max_value=2))
def test_chunks_slice_exactly_and_cover_all_text(text, max_chars, overlap):
    doc = Document("d", "t", text)
    config = ChunkingConfig(max_chars=max_chars, min_chars=min(80, max_chars // 2),
                            overlap=overlap)
    chunks = chunk_document(doc, config)
    covered = set()
    for chunk in chunks:
        assert chunk.text == text[chunk.start:chunk.end]
        assert chunk.text == chunk.text.strip() and chunk.text
        covered.update(range(chunk.start, chunk.end))
    assert all(i in covered for i, ch in enumerate(text) if not ch.isspace())
    starts = [c.start for c in chunks]
    assert starts == sorted(starts)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=_alphabet, max_size=300))
def test_sentences_are_ordered_disjoint_and_trimmed(text):
    spans = split_sentences(text)
    for (_, e1), (s2, _) in zip(spans, spans[1:]):
        assert e1 <= s2
    for s, e in spans:
        assert text[s:e].strip() == text[s:e] != ""
