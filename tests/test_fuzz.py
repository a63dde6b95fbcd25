"""Property-based fuzzing of the ingestion stages: arbitrary input in, no exception out.

HTML/Unicode soup through cleaning and posts, arbitrary front matter and dates, arbitrary
bytes through encoding detection, arbitrary JSON records; sentence and chunk offsets always
slice the text exactly.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rag.chunking import chunk_document, sentence_spans
from rag.clean import html_to_text
from rag.config import ChunkingConfig
from rag.corpus import document_from_record, parse_post
from rag.encoding import decode_text
from rag.errors import CorpusError
from rag.frontmatter import normalize_date, split_front_matter
from rag.types import Document

pytestmark = pytest.mark.unit
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

TAGS = ["p", "div", "span", "a", "b", "br", "li", "ul", "pre", "script", "style", "img",
        "figcaption", "table", "td", "h1", "!--", "title"]
pieces = st.one_of(
    st.text(max_size=30),
    st.sampled_from(TAGS).map(lambda t: f"<{t}>"),
    st.sampled_from(TAGS).map(lambda t: f"</{t}>"),
    st.sampled_from(['<p style="display:none">', "<div hidden>", "<!-- EM_StockImg_Start -->",
                     "<!-- EM_StockImg_End -->", "&nbsp;", "&#0;", "&amp;", "]]>", "<![CDATA[",
                     "[返回首页](http://x)", "\n", "。", "“", "”", "\u200b", "\ufeff", "---\n"]),
)
soup = st.lists(pieces, max_size=40).map("".join)
nested = st.tuples(st.integers(0, 2500), st.sampled_from(["div", "span", "p", "b"]),
                   st.text(max_size=20)).map(lambda t: f"<{t[1]}>" * t[0] + t[2]
                                             + f"</{t[1]}>" * t[0])


def _check_offsets(doc: Document) -> None:
    for span in sentence_spans(doc, 50):
        assert 0 <= span.start < span.end <= len(doc.text)
    for chunk in chunk_document(doc, ChunkingConfig(max_chars=60, min_chars=10, overlap=1)):
        assert doc.text[chunk.start:chunk.end] == chunk.text and chunk.text


@FUZZ
@given(st.one_of(soup, nested))
def test_cleaning_never_raises_and_gives_clean_lines(html):
    text = html_to_text(html)
    assert isinstance(text, str)
    assert all(line == line.strip() and line for line in text.split("\n")) or text == ""
    assert "<script" not in text.lower() or "<script" in html.lower()


@FUZZ
@given(st.one_of(soup, nested, st.text()), st.booleans())
def test_posts_become_documents_or_clear_errors(body, with_front):
    raw = f"---\ntitle: t\ndate: {body[:20]!r}\n---\n{body}" if with_front else body
    try:
        doc = parse_post(raw, "fuzz")
    except CorpusError as exc:
        assert "no text" in str(exc)
        return
    assert doc.text.strip() and isinstance(doc.title, str)
    _check_offsets(doc)


@FUZZ
@given(st.text())
def test_front_matter_of_any_text(text):
    front, body = split_front_matter("---\n" + text + "\n---\nbody")
    assert isinstance(front, dict) and isinstance(body, str)


@FUZZ
@given(st.one_of(st.text(), st.integers(), st.floats(), st.dates(), st.datetimes(), st.none()))
def test_dates_normalise_or_drop(value):
    out = normalize_date(value)
    assert out is None or (isinstance(out, str) and out[:4].isdigit())


@FUZZ
@given(st.one_of(st.binary(max_size=400),
                 st.text(max_size=60).map(lambda t: t.encode("utf-16-le", "surrogatepass")),
                 st.text(max_size=60).map(lambda t: t.encode("utf-16", "surrogatepass"))))
def test_any_bytes_decode_or_are_refused(data):
    """Bytes of a corpus file (UTF-16 with or without a BOM included) give text without NUL
    or are refused with the file's name."""
    try:
        text = decode_text(data, "f.txt")
    except CorpusError as exc:
        assert "f.txt" in str(exc)
        return
    assert "\x00" not in text and isinstance(text, str)


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                           lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.text(max_size=5), inner, max_size=3),
                           max_leaves=10)


@FUZZ
@given(st.dictionaries(st.sampled_from(["id", "doc_id", "title", "text", "html", "date",
                                        "tags", "source", "author", "x"]),
                       json_values | soup, max_size=7))
def test_jsonl_records_become_documents_or_clear_errors(record):
    try:
        doc = document_from_record(record, "n.jsonl:1")
    except CorpusError as exc:
        assert "n.jsonl:1" in str(exc) or str(record.get("id")) in str(exc)
        return
    assert doc.doc_id and doc.text.strip()
    date = doc.metadata.get("date")
    assert date is None or date[:4].isdigit()
    _check_offsets(doc)


@settings(max_examples=30, deadline=None)
@given(st.text(min_size=1, max_size=400))
def test_sentences_and_chunks_of_any_text(text):
    _check_offsets(Document("d", "t", text))
