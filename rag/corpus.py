"""Read a corpus (a folder of posts, a post, or a JSONL file) into cleaned Documents."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bs4 import BeautifulSoup

from rag.clean import html_to_text, normalize_whitespace
from rag.errors import CorpusError
from rag.frontmatter import as_list, normalize_date, split_front_matter
from rag.types import Document

log = logging.getLogger(__name__)

POST_SUFFIXES = {".txt", ".md", ".markdown", ".html", ".htm"}
SUFFIXES = POST_SUFFIXES | {".jsonl"}
_SOURCE_LINE = re.compile(r"[（(]\s*(?:文章)?来源\s*[:：]\s*([^）)\n]{1,40})[）)]")
_MD_HEADING = re.compile(r"#{1,6}\s+(.+)")
_HTML_HINT = re.compile(r"<(?:p|div|br|span|a|h[1-6]|img|ul|li|table|section|article)\b", re.I)


@dataclass
class CorpusReport:
    """Documents read, plus one message per file or line that was skipped."""

    documents: list[Document] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def load_corpus(path: Path | str | Iterable[Path | str]) -> list[Document]:
    """All documents under ``path`` (or several paths); raises CorpusError if there are none."""
    report = read_corpus(path)
    for problem in report.problems:
        log.warning("%s", problem)
    if not report.documents:
        detail = "; ".join(report.problems[:5]) or "no .txt/.md/.html/.jsonl files"
        raise CorpusError(f"no readable documents in {path}: {detail}")
    return report.documents


def read_corpus(path: Path | str | Iterable[Path | str]) -> CorpusReport:
    """Like load_corpus but never raises for bad files: problems are reported instead."""
    paths = [Path(path)] if isinstance(path, (str, Path)) else [Path(p) for p in path]
    report = CorpusReport()
    seen: set[str] = set()
    for root in paths:
        if not root.exists():
            raise CorpusError(f"corpus path does not exist: {root}")
        files = corpus_files(root)
        base = root if root.is_dir() else root.parent
        for file in files:
            try:
                docs = read_file(file, base)
            except CorpusError as exc:
                report.problems.append(str(exc))
                continue
            for doc in docs:
                if doc.doc_id in seen:
                    report.problems.append(f"{file}: duplicate doc_id {doc.doc_id!r} skipped")
                    continue
                seen.add(doc.doc_id)
                report.documents.append(doc)
    return report


def corpus_files(root: Path) -> list[Path]:
    """Supported files under ``root`` in a stable order, hidden files excluded."""
    if root.is_file():
        return [root]
    return sorted(
        p for p in root.rglob("*")
        if p.is_file() and p.suffix.lower() in SUFFIXES
        and not any(part.startswith(".") for part in p.relative_to(root).parts)
    )


def read_file(path: Path, base: Path | None = None) -> list[Document]:
    """One post file → one Document; one JSONL file → one Document per line."""
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise CorpusError(f"{path.name}: unsupported file type {suffix or '(none)'}; "
                          f"use one of {', '.join(sorted(SUFFIXES))}")
    raw = decode_bytes(path.read_bytes(), path.name)
    if suffix == ".jsonl":
        return _read_jsonl(raw, path)
    rel = path.relative_to(base) if base and path.is_relative_to(base) else Path(path.name)
    doc_id = rel.with_suffix("").as_posix()
    return [parse_post(raw, doc_id, {"path": str(path.resolve())})]


def decode_bytes(data: bytes, name: str) -> str:
    """UTF-8 (with or without BOM), else GB18030; anything else is a clear error."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise CorpusError(f"{name}: cannot decode the file as UTF-8 or GB18030; save it as UTF-8")


def parse_post(raw: str, doc_id: str, extra: dict[str, Any] | None = None) -> Document:
    """A Jekyll/Hexo/plain post: front matter → metadata, HTML or text body → clean text."""
    front, body = split_front_matter(raw)
    text = html_to_text(body) if _looks_like_html(body) else normalize_whitespace(body)
    if not text.strip():
        raise CorpusError(f"{doc_id}: the document has no text")
    meta = _metadata(front, text)
    meta.update(extra or {})
    title = (str(front.get("title") or "").strip() or _title_in_body(body)
             or _first_line(text, doc_id))
    return Document(doc_id=doc_id, title=title, text=text, metadata=meta)


def document_from_record(record: dict[str, Any], default_id: str) -> Document:
    """A JSONL record ``{id, title, text | html, ...}`` → Document (other keys → metadata)."""
    doc_id = str(record.get("id") or record.get("doc_id") or default_id).strip()
    body = record.get("html") if record.get("html") is not None else record.get("text")
    if not isinstance(body, str) or not body.strip():
        raise CorpusError(f"{doc_id}: record has no 'text' or 'html' string")
    text = html_to_text(body) if "html" in record else normalize_whitespace(body)
    if not text.strip():
        raise CorpusError(f"{doc_id}: the document has no text")
    rest = {k: v for k, v in record.items() if k not in ("id", "doc_id", "title", "text", "html")}
    meta = _metadata(rest, text)
    meta.update({k: v for k, v in rest.items() if k not in meta})
    title = str(record.get("title") or "").strip() or _first_line(text, doc_id)
    return Document(doc_id=doc_id, title=title, text=text, metadata=meta)


def _read_jsonl(raw: str, path: Path) -> list[Document]:
    docs, problems = [], []
    for lineno, line in enumerate(raw.splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            if not isinstance(record, dict):
                raise ValueError("not a JSON object")
            doc = document_from_record(record, f"{path.stem}-{lineno}")
        except (ValueError, CorpusError) as exc:
            problems.append(f"{path.name}:{lineno}: {exc}")
            continue
        doc.metadata.setdefault("path", str(path.resolve()))
        docs.append(doc)
    for problem in problems:
        log.warning("%s", problem)
    if not docs:
        raise CorpusError(f"{path.name}: no usable JSONL records"
                          + (f" ({problems[0]})" if problems else ""))
    return docs


def _metadata(front: dict[str, Any], text: str) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    date = normalize_date(front.get("date"))
    if date:
        meta["date"] = date
    categories = as_list(front.get("categories"))
    tags = as_list(front.get("tags"))
    if categories:
        meta["categories"] = categories
    if tags:
        meta["tags"] = tags
    if front.get("author"):
        meta["author"] = str(front["author"])
    line = _SOURCE_LINE.search(text)
    source = (line.group(1).strip() if line else None) or front.get("source")
    source = source or (tags[0] if tags else None) or front.get("author")
    if source:
        meta["source"] = str(source)
    return meta


def _looks_like_html(body: str) -> bool:
    return bool(_HTML_HINT.search(body))


def _title_in_body(body: str) -> str:
    """An HTML ``<title>``/``<h1>`` or a leading Markdown ``# heading``, else ''."""
    if _looks_like_html(body) or re.search(r"<title\b", body, re.I):
        soup = BeautifulSoup(body, "html.parser")
        for tag in (soup.title, soup.h1):
            if tag is not None and tag.get_text(strip=True):
                return tag.get_text(" ", strip=True)[:120]
        return ""
    match = _MD_HEADING.match(body.lstrip())
    return match.group(1).strip()[:120] if match else ""


def _first_line(text: str, fallback: str) -> str:
    first = text.strip().split("\n", 1)[0]
    return first[:60] if first else fallback
