"""Read a corpus (a folder of posts, a post, or a JSONL file) into cleaned Documents."""

from __future__ import annotations

import dataclasses
import functools
import gzip
import io
import json
import logging
import math
import os
import re
import zlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rag.encoding import decode_text
from rag.errors import CorpusError
from rag.frontmatter import as_list, normalize_date, split_front_matter
from rag.textnorm import SURROGATE
from rag.types import Document

log = logging.getLogger(__name__)

POST_SUFFIXES = {".txt", ".md", ".markdown", ".html", ".htm"}
HTML_SUFFIXES = {".html", ".htm"}  # always cleaned as HTML; other posts only when markup
MARKDOWN_SUFFIXES = {".md", ".markdown"}  # Markdown syntax is not text (`markdown_to_text`)
JSONL_SUFFIXES = {".jsonl", ".jsonl.gz"}  # one document per line; .gz: gzip-compressed
SUFFIXES = POST_SUFFIXES | JSONL_SUFFIXES
GZIP_MAGIC = b"\x1f\x8b"
_SOURCE_LINE = re.compile(r"[（(]\s*(?:文章)?来源\s*[:：]\s*([^）)\n]{1,40})[）)]")
_MD_HEADING = re.compile(r"#{1,6}\s+(.+)")
# A document whose cleaned text is larger than this (UTF-8 bytes) is skipped with a warning:
# 2 MB of Chinese text is ~700k characters, ~10k texts to embed (≈ 6 min on 2 cores).
MAX_DOCUMENT_BYTES = 2 * 1024 * 1024
BOM = "\ufeff"  # a byte order mark, which no JSONL line (a JSON object) starts with
RAW_FACTOR = 8  # a post file may carry this much markup per byte of text before it is read
# a compressed JSONL file that is not UTF-8 is decoded whole: at most this much of it
MAX_GZIP_TEXT_BYTES = 2 * 1024 ** 3
MAX_LINE_WARNINGS = 5  # bad JSONL lines warned about one by one, per file; then a count
_META_KEYS = ("date", "categories", "tags", "author", "source")
_NEWLINE = re.compile(r"\r\n|\r|\n")


@dataclass
class CorpusReport:
    """Documents read, plus one message per file or line that was skipped."""

    documents: list[Document] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    read_from: dict[str, int] = field(default_factory=dict)  # documents per path given


def load_corpus(path: Path | str | Iterable[Path | str],
                max_bytes: int = MAX_DOCUMENT_BYTES, progress: bool = False,
                exclude: Iterable[Path] = (),
                owners: Mapping[str, str] | None = None,
                required: Path | str | None = None) -> list[Document]:
    """All documents under ``path`` (or several paths); raises CorpusError if there are none,
    or none under ``required`` (one of the paths: the corpus itself, beside the files added
    to its index, which alone are no corpus).

    Bad files are skipped with one warning each naming the file and the reason.
    ``progress``: a progress bar over the files (with ETA); ``exclude``: folders not read
    (an index directory kept inside its corpus folder); ``owners``: doc_id → file of the
    previous build (see `read_corpus`)."""
    report = read_corpus(path, max_bytes, progress, exclude, owners)
    for problem in report.problems:
        log.warning("%s", problem)
    detail = "; ".join(report.problems[:5]) or "no .txt/.md/.html/.jsonl files"
    if not report.documents:
        where = (str(path) if isinstance(path, (str, Path))
                 else ", ".join(str(p) for p in path))
        raise CorpusError(f"no readable documents in {where}: {detail}")
    if required is not None and not report.read_from.get(str(Path(required))):
        raise CorpusError(f"no readable documents in {required} (only files added to the "
                          f"index were found): {detail}")
    return report.documents


def read_corpus(path: Path | str | Iterable[Path | str],
                max_bytes: int = MAX_DOCUMENT_BYTES, progress: bool = False,
                exclude: Iterable[Path] = (),
                owners: Mapping[str, str] | None = None) -> CorpusReport:
    """Like load_corpus but never raises for bad files: problems are reported instead.

    One file is read at a time (a JSONL file line by line): raw HTML is never held for
    more than the file being read. ``owners`` (doc_id → ``path`` metadata of the previous
    build): a doc_id stays with the file that had it while that file is still there, so a
    file added later (``news.html`` beside ``news.md``) never takes over another article's
    citations."""
    paths = [Path(path)] if isinstance(path, (str, Path)) else [Path(p) for p in path]
    exclude = list(exclude)
    report = CorpusReport()
    seen: set[str] = set()
    roots = []
    for root in paths:
        if not root.exists():
            raise CorpusError(f"corpus path does not exist: {root}")
        roots.append((root, corpus_files(root, report.problems, exclude)))
    held: dict[str, str] = {}
    if owners:  # resolving every path costs a build of many files: only when there are owners
        present = {str(f.resolve()) for _, files in roots for f in files}
        held = {doc_id: path for doc_id, path in owners.items() if path in present}

    def taken(doc: Document) -> bool:
        owner = held.get(doc.doc_id)  # kept for the file that had it in the previous build
        return doc.doc_id in seen or (owner is not None and owner != doc.metadata.get("path"))

    for root, files in roots:
        base = root if root.is_dir() else root.parent
        if progress and len(files) > 1:
            from tqdm import tqdm

            files = tqdm(files, desc="reading", unit="file", mininterval=5)
        for file in files:
            try:
                docs = read_file(file, base, max_bytes)
            except CorpusError as exc:
                report.problems.append(str(exc))
                continue
            except OSError as exc:
                report.problems.append(f"{file}: cannot read the file ({exc.strerror or exc})")
                continue
            except RecursionError:
                report.problems.append(f"{file}: the file is nested too deeply to parse")
                continue
            except Exception as exc:  # noqa: BLE001 - one bad file must not stop a build
                report.problems.append(f"{file}: skipped ({type(exc).__name__}: {exc})")
                continue
            for doc in docs:
                if taken(doc) and file.suffix.lower() in POST_SUFFIXES:
                    # notes.md and notes.txt side by side: the second keeps its extension
                    alt = dataclasses.replace(doc, doc_id=doc.doc_id + file.suffix)
                    if not taken(alt):
                        report.problems.append(f"{file}: doc_id {doc.doc_id!r} is taken by "
                                               f"another file; this one is {alt.doc_id!r}")
                        doc = alt
                if taken(doc):
                    report.problems.append(f"{file}: duplicate doc_id {doc.doc_id!r} skipped")
                    continue
                seen.add(doc.doc_id)
                report.documents.append(doc)
                report.read_from[str(root)] = report.read_from.get(str(root), 0) + 1
    return report


def corpus_files(root: Path, problems: list[str] | None = None,
                 exclude: Iterable[Path] = (), misnamed: list[Path] | None = None
                 ) -> list[Path]:
    """Supported files under ``root`` in a stable order; hidden files and folders excluded,
    and the ``exclude`` folders (an index directory inside the corpus folder must not be
    read back as articles); symlinked folders not followed, unreadable folders reported in
    ``problems``. Files and folders whose names are not UTF-8 are skipped (reported, and
    added to ``misnamed``): their names cannot be doc_ids or manifest entries."""
    if root.is_file():
        return [root]
    skip = {_resolved(p) for p in exclude}

    def report(message: str) -> None:
        if problems is not None:
            problems.append(message)
        else:
            log.warning("%s", message)

    def not_an_index(folder: Path) -> bool:
        if is_index_folder(folder):
            report(f"{folder}: an index folder (its builds are no articles), not read; give "
                   "--corpus the folder of the articles themselves")
            return False
        return True

    if not not_an_index(root):
        return []

    def unreadable(exc: OSError) -> None:
        report(f"{exc.filename}: cannot read the folder ({exc.strerror or exc})")

    def utf8_name(folder: str, name: str, what: str) -> bool:
        if not SURROGATE.search(name):
            return True
        report(f"{printable_path(Path(folder) / name)}: the {what} name is not UTF-8 (e.g. a "
               "GBK name from a zip archive), skipped; rename it to index it, e.g. `convmv "
               "-f gbk -t utf-8 --notest -r <folder>`")
        if misnamed is not None:
            misnamed.append(Path(folder) / name)
        return False

    found = []
    for folder, dirs, names in os.walk(root, onerror=unreadable):
        dirs[:] = [d for d in dirs if not d.startswith(".")
                   and not (skip and _resolved(Path(folder) / d) in skip)
                   and not_an_index(Path(folder) / d) and utf8_name(folder, d, "folder")]
        for name in names:
            path = Path(folder) / name
            if not name.startswith(".") and file_suffix(path) in SUFFIXES:
                if not utf8_name(folder, name, "file"):
                    continue
                if path.is_file():
                    found.append(path)
                elif path.is_symlink() and not path.exists():
                    report(f"{path}: a link to a file that does not exist, skipped")
            elif not name.startswith(".") and file_suffix(path) == ".json":  # was silent
                report(f"{printable_path(path)}: .json files are not read; save the articles "
                       "as JSON Lines (.jsonl: one JSON object per line) to index them")
    return sorted(found)


def printable_path(path: Path | str) -> str:
    """``path`` for a message: bytes of a name that is not UTF-8 (held as surrogates by
    ``os.walk``) shown as ``\\xff`` escapes, so that the text can be printed and saved."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def is_index_folder(folder: Path) -> bool:
    """A rag index folder (``CURRENT`` and ``builds/``), its ``builds/`` folder or one build
    in it: their ``documents.jsonl`` files are index data, and reading them as a corpus
    would duplicate every article."""
    def index_root(path: Path) -> bool:
        return (path / "CURRENT").is_file() and (path / "builds").is_dir()

    if index_root(folder):
        return True
    if folder.name == "builds" and index_root(folder.parent):
        return True
    return folder.parent.name == "builds" and index_root(folder.parent.parent)


def _resolved(path: Path) -> str:
    try:
        return str(Path(path).resolve())
    except OSError:
        return str(Path(path).absolute())


def file_suffix(path: Path | str) -> str:
    """The suffix that says how a file is read: ``.jsonl.gz`` for a compressed JSONL file,
    otherwise the last suffix, lower-cased."""
    path = Path(path)
    return ".jsonl.gz" if path.name.lower().endswith(".jsonl.gz") else path.suffix.lower()


def is_gzip(path: Path) -> bool:
    with open(path, "rb") as handle:
        return handle.read(2) == GZIP_MAGIC


def gunzip(path: Path, limit: int) -> bytes:
    """A gzip file's content, at most ``limit`` bytes of it (a CorpusError beyond: a small
    compressed file may hold gigabytes), or a CorpusError naming a damaged file."""
    try:
        with gzip.open(path, "rb") as handle:
            data = handle.read(limit + 1)
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise _damaged(path, exc) from None
    if len(data) > limit:
        raise CorpusError(f"{path}: more than {limit / 1e6:.0f} MB once decompressed, skipped")
    return data


def _damaged(path: Path, exc: Exception) -> CorpusError:
    return CorpusError(f"{path}: 压缩文件已损坏 / a damaged gzip file ({exc or 'cut short'}); "
                       "nothing of it was read, skipped")


def read_file(path: Path, base: Path | None = None,
              max_bytes: int = MAX_DOCUMENT_BYTES) -> list[Document]:
    """One post file → one Document; one JSONL file → one Document per line.

    Binary files, undetectable encodings and documents over ``max_bytes`` of text are a
    CorpusError naming the file (one bad JSONL line is skipped with a warning)."""
    suffix = file_suffix(path)
    if suffix not in SUFFIXES:
        raise CorpusError(f"{path.name}: unsupported file type {suffix or '(none)'}; "
                          f"use one of {', '.join(sorted(SUFFIXES))}")
    size = path.stat().st_size
    if suffix not in JSONL_SUFFIXES and size > RAW_FACTOR * max_bytes:
        raise CorpusError(f"{path}: file too large ({size / 1e6:.1f} MB; a post may have at "
                          f"most {max_bytes / 1e6:.1f} MB of text), skipped")
    if suffix in JSONL_SUFFIXES:  # either may be gzip-compressed: the content decides
        compressed = is_gzip(path)
        streamed = _stream_jsonl(path, max_bytes, compressed)
        if streamed is not None:
            return streamed
        raw = gunzip(path, MAX_GZIP_TEXT_BYTES) if compressed else path.read_bytes()
        return _read_jsonl(decode_text(raw, str(path)), path, max_bytes)
    raw = decode_text(path.read_bytes(), str(path))
    rel = path.relative_to(base) if base and path.is_relative_to(base) else Path(path.name)
    doc_id = rel.with_suffix("").as_posix()
    doc = parse_post(raw, doc_id, {"path": str(path.resolve())}, where=str(path),
                     html=True if suffix in HTML_SUFFIXES else None,
                     markdown=suffix in MARKDOWN_SUFFIXES)
    _check_size(doc, str(path), max_bytes)
    return [doc]


def _check_size(doc: Document, where: str, max_bytes: int) -> None:
    size = len(doc.text.encode("utf-8"))
    if size > max_bytes:
        raise CorpusError(f"{where}: document too large ({size / 1e6:.1f} MB of text; at most "
                          f"{max_bytes / 1e6:.1f} MB, see CorpusConfig.max_document_bytes), "
                          "skipped")


def parse_post(raw: str, doc_id: str, extra: dict[str, Any] | None = None,
               where: str = "", html: bool | None = None, markdown: bool = False) -> Document:
    """A Jekyll/Hexo/plain post: front matter → metadata, HTML or text body → clean text.

    ``where`` (the file) names the post in warnings about its front matter or date.
    ``html``: True for an HTML page (always cleaned as HTML), False for plain text; None:
    cleaned as HTML only when the body clearly is markup (``looks_like_markup``), so text
    with ``<``/``>`` in it keeps every character. ``markdown``: a ``.md`` post, whose
    Markdown syntax is removed first (``markdown_to_text``)."""
    where = where or doc_id
    front, body = split_front_matter(raw, where)
    from rag.clean import (  # bs4: lazily
        html_to_text,
        looks_like_markup,
        markdown_to_text,
        normalize_whitespace,
        unwrap_lines,
    )

    source_body = body
    if markdown:
        body = markdown_to_text(body)

    html = looks_like_markup(body) if html is None else html
    text = html_to_text(body) if html else normalize_whitespace(unwrap_lines(body))
    if not text.strip():
        raise CorpusError(f"{where}: the document has no text")
    page = _Page(source_body) if html else None  # parsed once, if its date or title is read
    if page is not None and not front.get("date"):
        front = {**front, "date": page.date()}
    meta = _metadata(front, text, where)
    meta.update(extra or {})
    title = (_worded(_field_text(front, "title", where))
             or _worded(page.title() if page is not None else _markdown_heading(source_body))
             or _first_line(text, doc_id))
    return Document(doc_id=doc_id, title=title, text=text, metadata=meta)


def _field_text(values: dict[str, Any], key: str, where: str) -> str:
    """A front-matter or record field as text: a scalar as written, a list of scalars joined
    with ", "; a mapping (or a nested list) is no text and is dropped with a warning."""
    value = values.get(key)
    if isinstance(value, (list, tuple)) and all(_is_scalar(v) for v in value):
        return ", ".join(text for v in value if (text := str(v).strip()))
    if _is_scalar(value):
        return str(value).strip() if value else ""
    log.warning("%s: %r is not text (%s), ignored", where, key, type(value).__name__)
    return ""


def _is_scalar(value: Any) -> bool:
    return not isinstance(value, (dict, list, tuple, set))


def _worded(title: str) -> str:
    """``title`` if it has a letter or digit, else '' (a title is never ``---`` or ``*``)."""
    return title if any(ch.isalnum() for ch in title) else ""


def _plain(value: Any) -> Any:
    """A JSON value as strict JSON can carry it: NaN/Infinity → None, unpaired surrogates
    (``"\\ud800"`` escapes) → U+FFFD, inside lists and objects too."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        return SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {_plain(k): _plain(v) for k, v in value.items()}
    return value


def document_from_record(record: dict[str, Any], where: str = "") -> Document:
    """A JSONL record ``{id, title, text | html, ...}`` → Document (other keys → metadata).

    The ``id`` (or ``doc_id``) is required: a generated one (say, the line number) would
    change whenever lines move and silently break citations. ``where`` names the record.
    Values strict JSON cannot carry (NaN, unpaired surrogates) are made plain (`_plain`)."""
    record = _plain(record)
    raw_id = record.get("id") if record.get("id") is not None else record.get("doc_id")
    if isinstance(raw_id, bool) or not isinstance(raw_id, (str, int)):
        kind = "no 'id'" if raw_id is None else f"an 'id' that is not a string or integer " \
            f"({raw_id!r})"
        raise CorpusError(f"{where}: record has {kind} (every JSONL record needs a stable, "
                          "unique id); skipped")
    doc_id = str(raw_id).strip()
    if not doc_id:
        raise CorpusError(f"{where}: record has an empty 'id' (every JSONL record needs a "
                          "stable, unique id); skipped")
    # the html if it has text, else the text: a scraper's empty "html": "" (or null) beside
    # a "text" skipped the record as having neither
    bodies = [(body, kind == "html") for kind in ("html", "text")
              if isinstance(body := record.get(kind), str) and body.strip()]
    if not bodies:
        raise CorpusError(f"{where or doc_id}: record has no 'text' or 'html' string")
    from rag.clean import html_to_text, normalize_whitespace

    text = ""
    for body, is_html in bodies:
        text = html_to_text(body) if is_html else normalize_whitespace(body)
        if text.strip():
            break
    if not text.strip():
        raise CorpusError(f"{where or doc_id}: the document has no text")
    rest = {k: v for k, v in record.items() if k not in ("id", "doc_id", "title", "text", "html")}
    if "path" in rest:  # "path" is the corpus file's (a doc_id stays with its file by it)
        rest["record_path"] = rest.pop("path")
    meta = _metadata(rest, text, where or doc_id)
    meta.update({k: v for k, v in rest.items() if k not in meta and k not in _META_KEYS})
    title = _worded(_field_text(record, "title", where or doc_id)) or _first_line(text, doc_id)
    return Document(doc_id=doc_id, title=title, text=text, metadata=meta)


def _stream_jsonl(path: Path, max_bytes: int, compressed: bool) -> list[Document] | None:
    """A UTF-8 JSONL file read line by line (memory: one line plus the cleaned documents,
    never the whole raw file), or None when it is not plain UTF-8 text (then the file is
    decoded whole, with encoding detection and a clear error for binary content). A gzip
    file (``compressed``) is decompressed as it is read."""
    opener = gzip.open if compressed else open
    try:
        with opener(path, "rb") as handle:
            if b"\x00" in handle.read(1 << 16):
                return None
        with opener(path, "rb") as handle:
            lines = io.TextIOWrapper(handle, encoding="utf-8-sig", newline=None)
            return _read_jsonl(lines, path, max_bytes)
    except UnicodeDecodeError:
        return None
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise _damaged(path, exc) from None


def _read_jsonl(raw: str | Iterable[str], path: Path,
                max_bytes: int = MAX_DOCUMENT_BYTES) -> list[Document]:
    docs, problems = [], []
    first = True
    for lineno, line in enumerate(jsonl_lines(raw), 1):
        if not line.strip():
            continue
        where = f"{path}:{lineno}"
        if first and line.lstrip().startswith("["):
            _not_an_array(line, path)
        first = False
        try:
            record = json.loads(line)
            if not isinstance(record, dict):
                raise ValueError("not a JSON object")
            doc = document_from_record(record, where)
            _check_size(doc, where, max_bytes)
        except CorpusError as exc:
            problems.append(str(exc))
            continue
        except (ValueError, RecursionError) as exc:
            problems.append(f"{where}: {exc if isinstance(exc, ValueError) else 'too deep'}")
            continue
        doc.metadata["path"] = str(path.resolve())
        docs.append(doc)
    for problem in problems[:MAX_LINE_WARNINGS]:
        log.warning("%s", problem)
    if len(problems) > MAX_LINE_WARNINGS:
        log.warning("%s: %d more bad line(s) skipped (%d in all)", path,
                    len(problems) - MAX_LINE_WARNINGS, len(problems))
    if not docs:
        raise CorpusError(f"{path.name}: no usable JSONL records"
                          + (f" ({problems[0]})" if problems else ""))
    return docs


def jsonl_lines(text: str | Iterable[str]) -> Iterator[str]:
    """The lines of JSONL text (or of a file read line by line), split at line breaks only
    (\\n, \\r\\n, \\r: as a file is read line by line), never inside a record at the
    separators ``str.splitlines`` also splits at (U+2028, U+0085, \\x1c…), which JSON strings
    may hold unescaped; each without a byte order mark at its start (files joined with
    `cat`, each saved with one; Notepad's UTF-8), which no JSON object starts with."""
    lines = _NEWLINE.split(text) if isinstance(text, str) else text
    return (line.removeprefix(BOM) for line in lines)


def _not_an_array(line: str, path: Path) -> None:
    """A JSONL file whose first line opens a JSON array (``[`` … a whole JSON document, not
    one object per line) is one clear error, not a warning for every line of it."""
    try:
        value: Any = json.loads(line)
    except (ValueError, RecursionError):
        value = []
    if isinstance(value, list):
        raise CorpusError(f"{path}: a JSON array, not JSON Lines (one JSON object per line); "
                          f"convert it, e.g. `jq -c '.[]' {path.name} > {path.stem}.lines.jsonl`"
                          ", skipped")


def _metadata(front: dict[str, Any], text: str, where: str = "") -> dict[str, Any]:
    meta: dict[str, Any] = {}
    date = normalize_date(front.get("date") or _header_line(text, _HEADER_DATE), where)
    if date:
        meta["date"] = date
    categories = _field_list(front, "categories", where)
    tags = _field_list(front, "tags", where)
    if categories:
        meta["categories"] = categories
    if tags:
        meta["tags"] = tags
    author = _field_text(front, "author", where)
    if author:
        meta["author"] = author
    # a source the post or record names wins; else its （文章来源：…） line; else tags/author
    source = (_field_text(front, "source", where) or _source_line(text)
              or _header_line(text, _HEADER_SOURCE))
    source = source or (tags[0] if tags else None) or author
    if source:
        meta["source"] = source
    return meta


_HEADER_LABEL = re.compile(r"来源|发布|时间|日期")
_HEADER_DATE = re.compile(r"\d{4}(?:-\d{1,2}-\d{1,2}|/\d{1,2}/\d{1,2}|\.\d{1,2}\.\d{1,2}"
                          r"|年\d{1,2}月\d{1,2}日)(?:\s*\d{1,2}:\d{2}(?::\d{2})?)?")
_HEADER_SOURCE = re.compile(r"(?<=来源)\s*[:：]\s*([^\s|｜/，,：:　]{1,20})")
_HEADER_LINES = 5  # a news page's dateline is among its first lines
_PROSE = re.compile(r"[。！？]")  # a sentence's end: the line is prose, not a dateline
_PAGE_DATE_META = ("article:published_time", "og:published_time", "publishdate", "pubdate",
                   "publish_date", "datepublished", "dc.date", "dc.date.issued", "date")


def _header_line(text: str, pattern: re.Pattern[str]) -> str:
    """The date or source of a news page's dateline (``2022-06-10 09:32:15　来源：新华网``,
    ``发布时间：2022-07-20``): a short labelled line among the first lines of the text. A
    sentence is no dateline: 「一、开学时间。全市中小学于2025年2月17日正式开学。」 (a notice's
    first item) dated the notice by the event it announces."""
    for line in text.split("\n", _HEADER_LINES)[:_HEADER_LINES]:
        if (len(line) <= 80 and _HEADER_LABEL.search(line) and not _PROSE.search(line)
                and (match := pattern.search(line))):
            return (match.group(1) if match.groups() else match.group(0)).strip()
    return ""


class _Page:
    """An HTML page's own facts, its publication date and title, read from one parse of it
    (made on first use: a post whose front matter names both never parses it)."""

    def __init__(self, body: str) -> None:
        self.body = body

    @functools.cached_property
    def soup(self) -> Any:
        from bs4 import BeautifulSoup

        return BeautifulSoup(self.body, "html.parser")

    def date(self) -> str:
        """The date its ``<meta>`` tags give (``article:published_time``, ``publishdate``,
        ``itemprop="datePublished"``…), else ''."""
        if "<meta" not in self.body.lower():
            return ""
        found = {}
        for tag in self.soup.find_all("meta"):
            name = str(tag.get("property") or tag.get("name") or tag.get("itemprop")
                       or "").lower()
            content = str(tag.get("content") or "").strip()
            if name in _PAGE_DATE_META and content:
                found.setdefault(name, content)
        return next((found[name] for name in _PAGE_DATE_META if name in found), "")

    def title(self) -> str:
        """Its ``<h1>`` when ``<title>`` starts with it, else ``<title>`` without the site's
        name (``… - 新华网``), else the ``<h1>``; ''."""
        soup = self.soup
        page = soup.title.get_text(" ", strip=True) if soup.title else ""
        heading = soup.h1.get_text(" ", strip=True) if soup.h1 else ""
        if heading and page.startswith(heading):  # "<h1> - 新华网": the headline, no site
            return heading[:120]
        return (_without_site_name(page) or heading)[:120]


def _source_line(text: str) -> str:
    """The source a （文章来源：新华网） line names: such a line, else the last （来源：…） —
    an article closes with its source, while one in the body (（来源：国家统计局）) cites
    the source of a figure, not of the article."""
    matches = list(_SOURCE_LINE.finditer(text))
    named = [m for m in matches if "文章" in m.group(0)] or matches
    return named[-1].group(1).strip() if named else ""


def _field_list(values: dict[str, Any], key: str, where: str) -> list[str]:
    """Categories/tags (``as_list``) without mappings or nested lists (warned, dropped)."""
    value = values.get(key)
    if isinstance(value, (list, tuple)):
        kept = [v for v in value if _is_scalar(v)]
        if len(kept) < len(value):
            log.warning("%s: %r holds values that are not text, ignored", where, key)
        return as_list(kept)
    if not _is_scalar(value):
        log.warning("%s: %r is not text (%s), ignored", where, key, type(value).__name__)
        return []
    return as_list(value)


def _markdown_heading(body: str) -> str:
    """A text or Markdown post's leading ``# heading``, else ''."""
    match = _MD_HEADING.match(body.lstrip())
    return match.group(1).strip()[:120] if match else ""


_SITE_SUFFIX = re.compile(r"(?:\s+[-–—]+\s+|\s*[_|｜]\s*)([^-–—_|｜]{1,20})$")


def _without_site_name(title: str) -> str:
    """A page ``<title>`` without the site names sites append (``… - 新华网``,
    ``…_新浪财经_新浪网``, ``… | 澎湃新闻``): a last part shorter than what is left before it
    (so ``人物专访｜张三：我们的路`` is kept whole)."""
    while (match := _SITE_SUFFIX.search(title)) and len(
            rest := title[:match.start()].strip()) > max(3, len(match.group(1).strip())):
        title = rest
    return title


def _first_line(text: str, fallback: str) -> str:
    """The first line with a letter or digit (never a rule such as ``---``), else ``fallback``."""
    for line in text.split("\n"):
        if _worded(line):
            return line.strip()[:60]
    return fallback
