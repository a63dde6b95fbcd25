"""Plain dataclasses passed between the pipeline's stages."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Document:
    """One cleaned article: ``text`` is what users see and what offsets point into."""

    doc_id: str
    title: str
    text: str
    metadata: dict[str, Any] = field(default_factory=dict)

    def copy(self) -> Document:
        """A copy the caller may change: the index's own Document, changed by a script
        (``doc.metadata["source"] = …``), changed the assistant's filters and sources."""
        return Document(self.doc_id, self.title, self.text, own_metadata(self.metadata))

    @property
    def date(self) -> str | None:
        return self.metadata.get("date")

    @property
    def source(self) -> str | None:
        return self.metadata.get("source")


def own_metadata(metadata: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of a document's metadata for a returned Hit, Snippet or Document (a
    shallow one shared its ``tags`` list with the index)."""
    return copy.deepcopy(metadata)


@dataclass
class Chunk:
    """A few consecutive sentences of one document; ``text == doc.text[start:end]``."""

    doc_id: str
    start: int
    end: int
    text: str
    title: str = ""


@dataclass
class Span:
    """A sentence (or other span) of one document, by character offsets."""

    doc_id: str
    start: int
    end: int


@dataclass
class Filters:
    """Optional metadata restrictions applied before ranking."""

    source: str | None = None
    date_from: str | None = None
    date_to: str | None = None
    doc_ids: list[str] | None = None

    def is_empty(self) -> bool:
        return not (self.source or self.date_from or self.date_to or self.doc_ids)


@dataclass
class Hit:
    """A retrieved chunk with its document's citation data."""

    doc_id: str
    title: str
    text: str
    score: float
    start: int
    end: int
    metadata: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Snippet:
    """A verbatim answer span: ``document(doc_id).text[start:end] == text``.

    ``highlight`` holds (start, end) offsets *inside* ``text`` of the likely answer words.
    With the reader, ``answer`` is the exact short answer and ``answer_start``/``answer_end``
    its document offsets (``start <= answer_start < answer_end <= end``).
    """

    text: str
    doc_id: str
    title: str
    start: int
    end: int
    score: float
    highlight: list[tuple[int, int]] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    answer: str | None = None
    answer_start: int | None = None
    answer_end: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Answer:
    """The assistant's reply: cited snippets, or ``answered=False`` with a reason.

    ``hits`` are the closest retrieved chunks (shown as "not an answer" on a refusal);
    ``query`` is the text actually searched (a follow-up question may be rewritten);
    ``short_answer`` is the first snippet's exact answer span (reader mode), else None.
    """

    question: str
    answered: bool
    snippets: list[Snippet]
    message: str
    hits: list[Hit] = field(default_factory=list)
    query: str = ""
    short_answer: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def web_address(metadata: Mapping[str, Any]) -> str:
    """The article's own web address, when its metadata has one (a JSONL record's ``url``:
    ``http(s)://…``; not ``javascript:``), else ''; citations show it (they never did)."""
    url = metadata.get("url")
    if isinstance(url, str) and url.strip().lower().startswith(("http://", "https://")):
        return url.strip()
    return ""
