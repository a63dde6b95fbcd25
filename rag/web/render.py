"""Safe HTML/text rendering of answers, citations and articles for the web chat.

Everything that comes from users or documents goes through :func:`escape_text` before our own
fixed markup (``<mark>``, ``<blockquote>``...) is added around it: HTML special characters
and Markdown syntax characters become numeric entities, so neither tags nor Markdown links
(``[x](javascript:...)``) can appear in the rendered page, whatever the Chatbot sanitizes.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from typing import Any

from rag.sentences import line_bounds
from rag.types import web_address

__all__ = [
    "Item",
    "citation_label",
    "escape_text",
    "format_answer_html",
    "format_answer_text",
    "format_context_html",
    "format_document_html",
    "format_metadata_html",
    "format_notice_html",
    "format_question_html",
    "highlight_html",
    "item_from",
    "paragraph_bounds",
]

REFUSAL_ZH = "语料中没有找到答案"
REFUSAL_EN = "Not found in the corpus"
MAX_HITS = 3  # closest articles shown with a refusal
NOT_AN_ANSWER = "最接近的文章（不是答案） · Closest articles, not an answer"
MAX_QUESTION_DISPLAY = 300
MAX_PARAGRAPH = 600  # a longer "paragraph" is cut to a window around the snippet

# Characters that are HTML- or Markdown-significant, written as numeric entities.
_SPECIAL = "&<>\"'`[]()*_~#|\\$!:{}=+-^"
_ENTITIES = {ord(c): f"&#{ord(c)};" for c in _SPECIAL}

Item = dict[str, Any]  # a snippet or hit, flattened for session state and rendering


def escape_text(text: object, *, newlines: bool = True) -> str:
    """Escape untrusted text for HTML and Markdown; newlines become ``<br>`` (if asked)."""
    out = str(text if text is not None else "").translate(_ENTITIES)
    out = out.replace("\r\n", "\n").replace("\r", "\n")
    return out.replace("\n", "<br>") if newlines else out.replace("\n", " ")


def highlight_html(text: str, spans: Iterable[tuple[int, int, str]]) -> str:
    """Escape ``text`` and wrap each ``(start, end, css_class)`` span in ``<mark>``.

    Spans may nest or overlap; the text is cut at every boundary and each piece is wrapped
    in the marks of all spans covering it (in the order given), so the markup stays valid.
    """
    n = len(text)  # offsets clamped into the text first: a negative end cut it at -1
    spans = [(a, b, c) for a, b, c in ((min(n, max(0, s)), min(n, max(0, e)), c)
                                       for s, e, c in spans) if b > a]
    cuts = sorted({0, n, *(s for s, _, _ in spans), *(e for _, e, _ in spans)})
    parts: list[str] = []
    for a, b in itertools.pairwise(cuts):
        if a >= b:
            continue
        piece = escape_text(text[a:b])
        for s, e, css in reversed(spans):
            if s <= a and b <= e:
                piece = f'<mark class="{css}">{piece}</mark>'
        parts.append(piece)
    return "".join(parts)


def _date(metadata: Mapping[str, Any]) -> str:
    value = metadata.get("date") or ""
    return str(value)[:10]


def item_from(obj: Any, kind: str) -> Item:
    """Flatten a Snippet (``kind="snippet"``) or Hit (``kind="hit"``) into a plain dict."""
    return {
        "kind": kind,
        "doc_id": str(getattr(obj, "doc_id", "")),
        "title": str(getattr(obj, "title", "") or ""),
        "text": str(getattr(obj, "text", "") or ""),
        "start": int(getattr(obj, "start", 0) or 0),
        "end": int(getattr(obj, "end", 0) or 0),
        "score": float(getattr(obj, "score", 0.0) or 0.0),
        "highlight": [
            (int(a), int(b)) for a, b in (getattr(obj, "highlight", None) or [])
        ],
        "metadata": dict(getattr(obj, "metadata", None) or {}),
        "answer": getattr(obj, "answer", None),
        "answer_start": getattr(obj, "answer_start", None),
        "answer_end": getattr(obj, "answer_end", None),
    }


def _citation_html(item: Item) -> str:
    meta = item["metadata"]
    bits = [f"<b>《{escape_text(item['title'] or item['doc_id'])}》</b>"]
    if _date(meta):
        bits.append(f'<span class="rag-date">{escape_text(_date(meta))}</span>')
    if meta.get("source"):
        bits.append(f'<span class="rag-source">{escape_text(meta["source"])}</span>')
    return '<div class="rag-cite">📰 ' + " · ".join(bits) + "</div>"


def citation_label(number: int, item: Item) -> str:
    """Plain-text label of a citation for the sources list (rendered as text by Gradio)."""
    meta = item["metadata"]
    extra = " · ".join(x for x in (_date(meta), str(meta.get("source") or "")) if x)
    prefix = f"[{number}]" if item["kind"] == "snippet" else f"({number}) 不是答案"
    title = item["title"] or item["doc_id"]
    return f"{prefix} {title}" + (f" — {extra}" if extra else "")


def format_question_html(question: str) -> str:
    """A user's question as inert text, shortened if very long."""
    q = question or ""
    if len(q) > MAX_QUESTION_DISPLAY:
        q = q[:MAX_QUESTION_DISPLAY] + f"…（共 {len(question)} 字 / {len(question)} chars）"
    return f'<div class="rag-question">{escape_text(q)}</div>'


def format_notice_html(message: str, *, icon: str = "⚠️") -> str:
    """A friendly one-line message in the chat (invalid question, error...)."""
    return f'<div class="rag-notice">{icon} {escape_text(message)}</div>'


def _shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "…"


def format_answer_html(
    answered: bool,
    items: list[Item],
    message: str = "",
    query: str = "",
    question: str = "",
    max_hits: int = MAX_HITS,
) -> str:
    """An answer as numbered, cited quotes with ``<mark>``-ed answer words, or a refusal."""
    parts: list[str] = []
    rewritten = query and question and query.strip() != question.strip()
    searched = (
        f'<div class="rag-query">检索 Searched: {escape_text(query, newlines=False)}</div>'
        if rewritten else ""
    )
    snippets = [i for i in items if i["kind"] == "snippet"]
    if answered and snippets:
        parts.append(
            f'<div class="rag-status">找到 {len(snippets)} 条原文摘录 · '
            f"{len(snippets)} verbatim snippet{'s' if len(snippets) > 1 else ''}</div>"
        )
        parts.append(searched)
        if snippets[0].get("answer"):
            parts.append(
                '<div class="rag-short">答案 Answer: '
                f'<b>{escape_text(snippets[0]["answer"], newlines=False)}</b>'
                ' <span class="rag-num">[1]</span></div>'
            )
        for n, item in enumerate(snippets, 1):
            body = highlight_html(item["text"], [(s, e, "rag-hl") for s, e in item["highlight"]])
            parts.append(
                f'<div class="rag-snippet"><blockquote><span class="rag-num">[{n}]</span>'
                f"{body}</blockquote>{_citation_html(item)}</div>"
            )
        return '<div class="rag-answer">' + "".join(parts) + "</div>"

    parts.append(
        f'<div class="rag-refusal-head">🚫 <b>{REFUSAL_ZH}</b> · {REFUSAL_EN}</div>'
    )
    if message:
        parts.append(f'<div class="rag-message">{escape_text(message)}</div>')
    parts.append(searched)
    hits = [i for i in items if i["kind"] == "hit"][:max_hits]
    if hits:
        parts.append(f'<div class="rag-closest">{NOT_AN_ANSWER}：</div><ul class="rag-hits">')
        for item in hits:
            parts.append(
                f"<li>{_citation_html(item)}"
                f'<div class="rag-hit-text">{escape_text(_shorten(item["text"], 90))}</div></li>'
            )
        parts.append("</ul>")
    return '<div class="rag-answer rag-refusal">' + "".join(parts) + "</div>"


def closest_articles(hits: list[Any], n: int = MAX_HITS) -> list[Any]:
    """The best hit of each of the first ``n`` articles among ``hits`` (a refusal's
    "closest articles": two passages of one article were listed as two)."""
    first: dict[str, Any] = {}
    for hit in hits:
        first.setdefault(hit.doc_id, hit)
    return list(first.values())[:n]


def format_answer_text(answer: Any, max_hits: int = MAX_HITS) -> str:
    """Plain-text answer for the API: numbered snippets, each with its article title."""
    lines = [f"问题 Question: {answer.question}"]
    if answer.query and answer.query != answer.question:
        lines.append(f"检索 Searched: {answer.query}")
    if answer.answered and answer.snippets:
        first = answer.snippets[0]
        if getattr(answer, "short_answer", None) and first.answer_start is not None:
            lines.append(f"答案 Answer: {answer.short_answer}  [1] doc {first.doc_id} "
                         f"[{first.answer_start}:{first.answer_end}]")
        for n, s in enumerate(answer.snippets, 1):
            meta = s.metadata or {}
            cite = ", ".join(x for x in (_date(meta), str(meta.get("source") or "")) if x)
            lines.append(f"[{n}] {s.text}")
            lines.append(f"    —— 《{s.title}》" + (f" ({cite})" if cite else ""))
        return "\n".join(lines)
    lines.append(f"{REFUSAL_ZH} / {REFUSAL_EN}." + (f" {answer.message}" if answer.message else ""))
    closest = closest_articles(answer.hits, max_hits)
    if closest:
        lines.append(f"{NOT_AN_ANSWER}:")
        for h in closest:
            meta = h.metadata or {}
            cite = ", ".join(x for x in (_date(meta), str(meta.get("source") or "")) if x)
            lines.append(f"  - 《{h.title}》" + (f" ({cite})" if cite else ""))
    return "\n".join(lines)


def paragraph_bounds(
    text: str, start: int, end: int, limit: int = MAX_PARAGRAPH
) -> tuple[int, int]:
    """The paragraph (newline-delimited) around ``[start, end)``, cut to about ``limit`` chars."""
    start, end = max(0, min(start, len(text))), max(0, min(end, len(text)))
    p0, p1 = line_bounds(text, start, end)
    if p1 - p0 > limit:
        room = max(0, limit - (end - start)) // 2
        p0, p1 = max(p0, start - room), min(p1, end + room)
    return p0, p1


def format_metadata_html(doc_id: str, title: str, metadata: Mapping[str, Any]) -> str:
    """The article's metadata as a small table."""
    rows = [("标题 Title", title), ("日期 Date", _date(metadata) or metadata.get("date"))]
    rows.append(("来源 Source", metadata.get("source")))
    cats = metadata.get("categories")
    if cats:
        cats = "、".join(map(str, cats)) if isinstance(cats, list) else cats
        rows.append(("分类 Categories", cats))
    rows += [("作者 Author", metadata.get("author")), ("链接 URL", web_address(metadata)),
             ("文件 File", metadata.get("path"))]
    rows.append(("文档 ID", doc_id))
    body = "".join(
        f"<tr><th>{escape_text(k)}</th><td>{escape_text(v)}</td></tr>" for k, v in rows if v
    )
    return f'<table class="rag-meta">{body}</table>'


def _item_spans(item: Item, offset: int) -> list[tuple[int, int, str]]:
    """Spans of an item relative to a window starting at ``offset`` of the document."""
    css = "rag-ctx" if item["kind"] == "snippet" else "rag-ctx rag-ctx-hit"
    spans = [(item["start"] - offset, item["end"] - offset, css)]
    spans += [(item["start"] + a - offset, item["start"] + b - offset, "rag-hl")
              for a, b in item["highlight"]]
    return spans


def relocate(item: Item, doc_text: str) -> Item | None:
    """``item`` with offsets into ``doc_text``: unchanged while the quoted text is still there,
    else moved to the occurrence of the quote nearest its old place (the article was edited
    and the index rebuilt since the answer), or None when the article no longer holds it."""
    start, end, quote = item["start"], item["end"], item["text"]
    if doc_text[start:end] == quote:
        return item
    found, at = [], doc_text.find(quote) if quote else -1
    while at >= 0:
        found.append(at)
        at = doc_text.find(quote, at + 1)
    if not found:
        return None
    new = min(found, key=lambda pos: abs(pos - start))
    shift = new - start
    moved = {**item, "start": new, "end": new + len(quote)}
    if item.get("answer_start") is not None and item.get("answer_end") is not None:
        moved.update(answer_start=item["answer_start"] + shift,
                     answer_end=item["answer_end"] + shift)
    return moved


def format_context_html(doc_text: str, item: Item) -> str:
    """The snippet inside its surrounding paragraph, highlighted, plus the article's metadata."""
    p0, p1 = paragraph_bounds(doc_text, item["start"], item["end"])
    body = highlight_html(doc_text[p0:p1], _item_spans(item, p0))
    before = "…" if p0 > 0 else ""
    after = "…" if p1 < len(doc_text) else ""
    note = (
        "" if item["kind"] == "snippet"
        else f'<div class="rag-closest">{NOT_AN_ANSWER}</div>'
    )
    return (
        f'<div class="rag-context">{note}<h4>《{escape_text(item["title"])}》</h4>'
        f'<div class="rag-para">{before}{body}{after}</div>'
        f'{format_metadata_html(item["doc_id"], item["title"], item["metadata"])}</div>'
    )


def format_document_html(doc_id: str, title: str, text: str, metadata: Mapping[str, Any],
                         item: Item | None = None) -> str:
    """The whole cleaned article, with the cited snippet (if any) highlighted."""
    spans = _item_spans(item, 0) if item and item.get("doc_id") == doc_id else []
    return (
        f'<div class="rag-document"><h3>{escape_text(title)}</h3>'
        f"{format_metadata_html(doc_id, title, metadata)}"
        f'<div class="rag-doc-text">{highlight_html(text, spans)}</div></div>'
    )
