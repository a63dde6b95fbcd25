"""Unit tests of the web chat's pure helpers: rendering/escaping, uploads, feedback log."""

from __future__ import annotations

import html
import json
import re
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from rag.errors import InvalidQuestionError, RagError
from rag.types import Answer, Hit, Snippet
from rag.web.feedback import FeedbackLog, vote_name
from rag.web.render import (
    citation_label,
    escape_text,
    format_answer_html,
    format_answer_text,
    format_context_html,
    format_document_html,
    format_question_html,
    highlight_html,
    item_from,
    paragraph_bounds,
)
from rag.web.ui import ask, run_answer
from rag.web.uploads import MAX_UPLOAD_BYTES, add_uploads, validate_upload

pytestmark = pytest.mark.unit

XSS = [
    "<script>window.__xss=1</script>",
    '<img src=x onerror="window.__xss=1">',
    "[x](javascript:window.__xss=1)",
    "![x](javascript:alert(1))",
    "<a href='javascript:alert(1)'>y</a>",
    '"><svg onload=alert(1)>',
    "<iframe src=javascript:alert(1)>",
    "`code` **bold** $$x$$ <style>*{}</style>",
]
DOC = "第一段。\n慧医天下与阿里健康合作，打造专注服务糖尿病患者的“安唐保”。后面还有话。\n第三段。"
SNIP_TEXT = "打造专注服务糖尿病患者的“安唐保”。"
META = {"date": "2022-06-07T10:50:57+08:00", "source": "xinhuawang", "categories": ["健康"]}


def _snippet(text: str = SNIP_TEXT, title: str = "慧医天下牵手阿里健康") -> Snippet:
    start = DOC.find(text) if text in DOC else 0
    hl = [(text.find("糖尿病"), text.find("糖尿病") + 3)] if "糖尿病" in text else []
    return Snippet(text=text, doc_id="d0", title=title, start=start, end=start + len(text),
                   score=0.9, highlight=hl, metadata=dict(META))


def _hit(text: str = "第三段。", title: str = "另一篇") -> Hit:
    return Hit(doc_id="d1", title=title, text=text, score=0.1, start=0, end=len(text),
               metadata={"date": "2021-06-11", "source": "ofweek"})


def _inert(markup: str) -> None:
    """Only our own fixed tags (with a class attribute at most); no link, script or handler."""
    low = markup.lower()
    for bad in ("javascript:", "](", "$$", "`", "**", "<a ", "<script", "<img", "<svg"):
        assert bad not in low, (bad, markup)
    tags = re.findall(r"<(/?)([a-z0-9]+)([^>]*)>", low)
    assert {t for _, t, _ in tags} <= {
        "div", "span", "b", "mark", "blockquote", "br", "ul", "li", "h3", "h4",
        "table", "tr", "th", "td"}, tags
    for _, _, attrs in tags:
        assert re.fullmatch(r'(\s+class="[a-z0-9 -]+")?', attrs), attrs


# ---------------------------------------------------------------------------- escaping
@pytest.mark.parametrize("payload", XSS)
def test_escape_text_is_inert_and_round_trips(payload: str):
    out = escape_text(payload)
    _inert(out)
    assert html.unescape(out) == payload


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_escape_text_round_trips_any_text(text: str):
    out = escape_text(text, newlines=False)
    assert "<" not in out and ">" not in out and "](" not in out
    assert html.unescape(out) == text.replace("\r\n", " ").replace("\r", " ").replace("\n", " ")


def test_highlight_html_nested_and_overlapping_spans():
    text = "a<b>糖尿病患者c"
    out = highlight_html(text, [(0, 10, "rag-ctx"), (4, 7, "rag-hl"), (6, 9, "rag-x")])
    assert '<mark class="rag-hl">' in out and "&#60;b&#62;" in out
    assert out.count("<mark") == out.count("</mark>")
    assert html.unescape(re.sub(r"<[^>]+>", "", out)) == text


@settings(max_examples=100, deadline=None)
@given(st.text(st.characters(blacklist_characters="\r"), max_size=60),
       st.lists(st.tuples(st.integers(-5, 70), st.integers(-5, 70)), max_size=4))
@example("00", [(-2, -1), (-3, -2)])  # a negative end was a cut at -1: "00" became "000"
def test_highlight_html_preserves_text(text: str, spans: list[tuple[int, int]]):
    out = highlight_html(text, [(a, b, "rag-hl") for a, b in spans])
    assert out.count("<mark") == out.count("</mark>")
    plain = html.unescape(re.sub(r"</?mark[^>]*>", "", out).replace("<br>", "\n"))
    assert plain == text


# --------------------------------------------------------------------------- formatting
def test_answer_html_numbered_quotes_with_marks_and_citations():
    items = [item_from(_snippet(), "snippet"), item_from(_snippet("第一段。", "第二篇"), "snippet")]
    out = format_answer_html(True, items, "找到 2 条", "安唐保 q", "q")
    assert "[1]" in out and "[2]" in out and out.count("<blockquote>") == 2
    assert '<mark class="rag-hl">糖尿病</mark>' in out
    _inert(out)
    out = html.unescape(out)
    assert "《慧医天下牵手阿里健康》" in out and "2022-06-07" in out and "xinhuawang" in out
    assert "Searched" in out  # the rewritten follow-up query is shown


def test_refusal_html_reads_as_refusal_with_closest_articles():
    out = format_answer_html(False, [item_from(_hit(), "hit")], "没有足够证据", "q", "q")
    assert "语料中没有找到答案" in out and "不是答案" in out and "另一篇" in out
    assert "<blockquote>" not in out and "Searched" not in out


@pytest.mark.parametrize("payload", XSS)
def test_answer_html_escapes_document_and_question_payloads(payload: str):
    snip = _snippet(text=f"前{payload}后", title=payload)
    snip.highlight = [(0, 1)]
    snip.metadata["source"] = payload
    out = format_answer_html(True, [item_from(snip, "snippet")], payload, payload, "x")
    _inert(out)
    refusal = format_answer_html(False, [item_from(_hit(payload, payload), "hit")], payload)
    _inert(refusal)
    _inert(format_question_html(payload))
    ctx = format_context_html(f"x\n{payload}\ny", item_from(Hit("d", payload, payload, 0.1, 2,
                                                                 2 + len(payload), {}), "hit"))
    _inert(ctx)
    _inert(format_document_html("d", payload, payload, {"source": payload, "author": payload}))


def test_question_html_truncates_long_questions():
    out = format_question_html("问" * 10_000)
    assert len(out) < 1000 and "10000" in out


def test_answer_text_for_api():
    ans = Answer("q", True, [_snippet()], "ok", [_hit()], "q")
    text = format_answer_text(ans)
    assert "[1] 打造专注服务糖尿病患者" in text and "《慧医天下牵手阿里健康》" in text
    assert "2022-06-07" in text
    refusal = format_answer_text(Answer("q", False, [], "no", [_hit()], "q"))
    assert "语料中没有找到答案" in refusal and "《另一篇》" in refusal


def test_citation_label():
    assert citation_label(1, item_from(_snippet(), "snippet")).startswith("[1] 慧医天下")
    assert "不是答案" in citation_label(2, item_from(_hit(), "hit"))


def test_paragraph_bounds_and_context():
    start = DOC.find(SNIP_TEXT)
    p0, p1 = paragraph_bounds(DOC, start, start + len(SNIP_TEXT))
    assert DOC[p0:p1] == DOC.split("\n")[1]
    long = "x" * 5000 + "目标" + "y" * 5000
    p0, p1 = paragraph_bounds(long, 5000, 5002, limit=100)
    assert p1 - p0 <= 100 and p0 <= 5000 and p1 >= 5002
    ctx = html.unescape(format_context_html(DOC, item_from(_snippet(), "snippet")))
    assert '<mark class="rag-ctx">' in ctx and '<mark class="rag-hl">糖尿病</mark>' in ctx
    assert "第一段" not in ctx and "慧医天下与阿里健康合作" in ctx  # only its paragraph
    assert "xinhuawang" in ctx and "2022-06-07" in ctx and "健康" in ctx
    doc_html = format_document_html("d0", "T", DOC, META, item_from(_snippet(), "snippet"))
    assert "第一段" in doc_html and "第三段" in doc_html and "rag-hl" in doc_html


def test_a_citation_still_marks_its_quote_after_the_article_changed():
    """The chat keeps an answer's offsets; an upload (or another writer) may rebuild the
    index with an edited article before the user opens the citation."""
    from rag.types import Document
    from rag.web.ui import _views

    item = item_from(_snippet(), "snippet")
    edited = DOC.replace("第一段。", "新加的第一段，比原来长得多。")
    gone = DOC.replace("糖尿病患者", "高血压患者")
    for text, kept in ((DOC, True), (edited, True), (gone, False)):
        assistant = SimpleNamespace(document=lambda doc_id, t=text: Document("d0", "T", t, {}))
        ctx, article = _views(assistant, item)
        quoted = [_marked_text(view, "rag-ctx") for view in (ctx, article)]
        assert quoted == ([SNIP_TEXT, SNIP_TEXT] if kept else ["", ""])
        assert ("no longer holds the quoted text" in ctx) is not kept


def _marked_text(page: str, css: str) -> str:
    """The text inside ``<mark class=css>`` (highlights nested in it included)."""
    out, stack = [], []
    for part in re.split(r"(<[^>]+>)", page):
        if part.startswith("<mark"):
            stack.append(part)
        elif part == "</mark>":
            stack.pop()
        elif not part.startswith("<") and any(css in m for m in stack):
            out.append(html.unescape(part))
    return "".join(out)


# ------------------------------------------------------------------------------ uploads
def _write(tmp_path: Path, name: str, data: bytes | str) -> Path:
    p = tmp_path / name
    p.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return p


def test_validate_upload_accepts_good_files(tmp_path: Path):
    for name, data in [("a.md", "# 标题\n正文"), ("b.html", "<p>正文</p>"), ("c.txt", "正文"),
                       ("d.htm", "<p>x</p>"), ("gbk.txt", "中文内容".encode("gbk")),
                       ("e.jsonl", json.dumps({"id": "e1", "title": "t", "text": "正文"}) + "\n")]:
        assert validate_upload(_write(tmp_path, name, data)) is None, name


@pytest.mark.parametrize(
    ("name", "data", "needle"),
    [
        ("evil.exe", b"MZ\x00", "不支持"),
        ("doc.pdf", b"%PDF-1.4", "unsupported"),
        ("empty.txt", b"", "empty"),
        ("blank.md", "  \n\t\n", "为空"),
        ("big5.txt", b"\xa4\xa4\xa4\xe5" + bytes(range(0x80, 0xA0)) * 4, "UTF-8"),
        ("bin.txt", b"abc\x00def", "binary"),
        ("bad.jsonl", '{"id": 1, "text": "ok"}\nnot json\n', "line 2"),
        ("list.jsonl", "[1, 2]\n", "JSON object"),
        ("notext.jsonl", '{"id": "x", "title": "t"}\n', "no text"),
    ],
)
def test_validate_upload_rejects_bad_files(tmp_path: Path, name: str, data: bytes | str,
                                           needle: str):
    problem = validate_upload(_write(tmp_path, name, data))
    assert problem and needle in problem and name in problem


def test_validate_upload_rejects_too_large(tmp_path: Path):
    p = tmp_path / "big.txt"
    with open(p, "wb") as fh:
        fh.truncate(MAX_UPLOAD_BYTES + 1)
    problem = validate_upload(p)
    assert problem and "too large" in problem
    assert "too large" in (validate_upload(_write(tmp_path, "s.txt", "x" * 20), max_bytes=10) or "")


def test_add_uploads_passes_only_good_files(tmp_path: Path):
    calls: list[list[Path]] = []

    class Stub:  # records what would be indexed
        def add_files(self, paths, wait=True):
            calls.append(list(paths))
            return SimpleNamespace(added=["new-doc"], errors=["core says no"])

    good = _write(tmp_path, "ok.md", "正文")
    bad = _write(tmp_path, "bad.exe", b"x")
    report = add_uploads(Stub(), [good, bad])
    assert calls == [[good]]
    assert report.added == ["new-doc"]
    assert any("bad.exe" in e for e in report.errors) and "core says no" in report.errors
    calls.clear()
    report = add_uploads(Stub(), [bad])
    assert calls == [] and report.added == [] and len(report.errors) == 1


# ----------------------------------------------------------------------------- feedback
def test_feedback_log_appends_jsonl(tmp_path: Path):
    log = FeedbackLog(tmp_path / "sub" / "feedback.jsonl")
    record = {"question": "安唐保？", "query": "安唐保？", "answered": True,
              "items": [item_from(_snippet(), "snippet")]}
    log.record(record, vote_name(True))
    log.record(record, vote_name(False))
    rows = log.read()
    assert [r["vote"] for r in rows] == ["up", "down"]
    assert rows[0]["question"] == "安唐保？" and rows[0]["snippets"][0]["doc_id"] == "d0"
    assert "糖尿病" in rows[0]["snippets"][0]["text"] and rows[0]["time"]
    raw = (tmp_path / "sub" / "feedback.jsonl").read_text(encoding="utf-8")
    assert "安唐保" in raw  # readable, not \\u-escaped


def test_feedback_log_concurrent_writers(tmp_path: Path):
    log = FeedbackLog(tmp_path / "f.jsonl")
    threads = [threading.Thread(target=lambda i=i: log.record({"question": f"q{i}"}, "up"))
               for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r["question"] for r in log.read()) == sorted(f"q{i}" for i in range(20))


def test_vote_name():
    assert (vote_name(True), vote_name(False), vote_name("Like"), vote_name(None)) == (
        "up", "down", "up", "none")
    assert vote_name("Dislike") == "down" and vote_name("Spam") == "Spam"


# -------------------------------------------------------------- chat answer (stubbed core)
class _StubAssistant:
    def __init__(self, exc: Exception | None = None, answer: Answer | None = None):
        self.exc, self.result, self.calls = exc, answer, []

    def answer(self, question, k=5, *, mode=None, filters=None, history=None):
        self.calls.append((question, k, mode, filters, history))
        if self.exc:
            raise self.exc
        return self.result


def test_ask_friendly_messages_never_raise():
    record, out = ask(_StubAssistant(), "   ")
    assert "请输入" in out and record["query"] == ""
    too_long = _StubAssistant(InvalidQuestionError("问题太长了（最多 2000 字）"))
    record, out = ask(too_long, "x" * 10_001)
    assert "问题太长" in out and "Traceback" not in out
    record, out = ask(_StubAssistant(RuntimeError("boom <script>")), "q")
    assert "Sorry" in out and "boom" not in out
    _, out = ask(_StubAssistant(), "q", date_from="2022/01/01")
    assert "YYYY-MM-DD" in html.unescape(out)


def test_ask_passes_options_history_and_filters():
    stub = _StubAssistant(answer=Answer("q", True, [_snippet()], "ok", [_hit()], "安唐保 q"))
    record, out = ask(stub, "q", ["安唐保是什么？"], k=3, mode="keyword", source="xinhuawang",
                      date_from="2022-01-01", date_to="2022-12-31")
    question, k, mode, filters, history = stub.calls[0]
    assert (question, k, mode, history) == ("q", 3, "keyword", ["安唐保是什么？"])
    assert (filters.source, filters.date_from, filters.date_to) == (
        "xinhuawang", "2022-01-01", "2022-12-31")
    assert record["answered"] and record["items"][0]["kind"] == "snippet"
    assert "糖尿病" in out
    stub = _StubAssistant(answer=Answer("q", False, [], "no", [_hit()], "q"))
    record, out = ask(stub, "q", source="全部 All")
    assert stub.calls[0][3] is None and record["items"][0]["kind"] == "hit"
    assert "语料中没有找到答案" in out
    answer, error = run_answer(stub, "q", date_from="2023-01-01", date_to="2022-01-01")
    assert answer is None and "after" in error


def test_a_refusal_lists_the_same_closest_articles_in_the_chat_and_the_sources_panel():
    """The chat showed three passages (one article could be two of them) and the sources
    panel all five hits."""
    hits = [Hit(doc_id=f"d{n}", title=f"文章{n}", text=f"第{i}段。", score=0.1, start=0, end=3,
                metadata={}) for i, n in enumerate([1, 1, 2, 3, 4])]
    stub = _StubAssistant(answer=Answer("q", False, [], "no", hits, "q"))
    record, out = ask(stub, "q")
    assert [i["doc_id"] for i in record["items"]] == ["d1", "d2", "d3"]
    assert record["items"][0]["text"] == "第0段。"  # an article's best passage
    assert [t for t in re.findall(r"《(文章\d)》", out)] == ["文章1", "文章2", "文章3"]


def test_rag_error_is_the_base():
    assert issubclass(InvalidQuestionError, RagError)


def test_short_answer_is_shown_first_in_html_and_api_text():
    snip = _snippet()
    a = snip.text.find("糖尿病")
    snip.answer, snip.answer_start, snip.answer_end = "糖尿病", snip.start + a, snip.start + a + 3
    out = format_answer_html(True, [item_from(snip, "snippet")], "ok", "q", "q")
    assert out.index("答案 Answer: <b>糖尿病</b>") < out.index("<blockquote>")
    ans = Answer("q", True, [snip], "ok", [_hit()], "q", short_answer="糖尿病")
    text = format_answer_text(ans)
    assert f"答案 Answer: 糖尿病  [1] doc d0 [{snip.answer_start}:{snip.answer_end}]" in text
    assert "答案" not in format_answer_html(True, [item_from(_snippet(), "snippet")], "ok")


def test_corpus_updates_only_when_the_corpus_changed():
    from rag.web.ui import ALL_SOURCES, _corpus_updates

    sources = ["甲报"]
    fake = SimpleNamespace(n_documents=3, sources=lambda: list(sources),
                           build_id="b1")
    state: dict = {}
    label, choices = _corpus_updates(fake, state, "甲报")
    assert "**3**" in label and choices["choices"] == [ALL_SOURCES, "甲报"]
    assert choices["value"] == "甲报"
    assert _corpus_updates(fake, state, "甲报") == ({"__type__": "update"},) * 2
    fake.build_id, fake.n_documents, sources[:] = "b2", 5, ["乙报"]  # without 甲报
    label, choices = _corpus_updates(fake, state, "甲报")
    assert "**5**" in label and choices["choices"] == [ALL_SOURCES, "乙报"]
    assert choices["value"] == ALL_SOURCES
