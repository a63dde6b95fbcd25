"""Chinese-first extractive question answering over a news corpus, with cited snippets.

>>> import rag
>>> rag.answer("安唐保是为哪类患者设计的？").snippets[0].text   # doctest: +SKIP
"""

from __future__ import annotations

import threading
from pathlib import Path

from rag.assistant import AddResult, Assistant, default_index_dir
from rag.config import Config, env_setting
from rag.errors import (
    BackendError,
    CorpusError,
    CorruptIndexError,
    IndexFormatError,
    IndexNotFoundError,
    IndexNotWritableError,
    InvalidArgumentError,
    InvalidQuestionError,
    ModelMismatchError,
    RagError,
    UnknownDocumentError,
)
from rag.types import Answer, Chunk, Document, Filters, Hit, Snippet

__all__ = [
    "AddResult", "Answer", "Assistant", "BackendError", "Chunk", "Config", "CorpusError",
    "CorruptIndexError", "Document", "Filters", "Hit", "IndexFormatError", "IndexNotFoundError",
    "IndexNotWritableError", "InvalidArgumentError", "InvalidQuestionError",
    "ModelMismatchError", "RagError", "Snippet", "UnknownDocumentError", "answer",
    "default_assistant", "default_index_dir", "document", "retrieve",
]

_default: Assistant | None = None
_default_lock = threading.Lock()


def default_assistant() -> Assistant:
    """The assistant over the bundled corpus, built on first use and then reused.

    ``RAG_INDEX_DIR`` naming a folder that already holds something (an index) opens that
    index with its own corpus, as ``rag ask`` and the chat do: it used to be rebuilt from the
    bundled articles, so one ``rag.answer()`` replaced the user's index (and what ``rag ask``
    answered from). A new or empty folder gets the bundled corpus's index. One that was
    closed (``default_assistant().close()``) is opened again."""
    global _default
    with _default_lock:
        if _default is None or _default.closed:  # closed by its user: opened again
            named = env_setting("RAG_INDEX_DIR")
            folder = Path(named).expanduser() if named else None
            if folder is not None and folder.exists() and (
                    not folder.is_dir() or any(folder.iterdir())):
                _default = Assistant.load(folder)  # clear errors for a file or a broken index
            else:
                _default = Assistant.build()
    return _default


def retrieve(query: str, k: int = 5, **kwargs) -> list[Hit]:
    """Best chunks for ``query`` from the bundled corpus (see ``Assistant.retrieve``)."""
    return default_assistant().retrieve(query, k, **kwargs)


def answer(question: str, k: int = 5, **kwargs) -> Answer:
    """Cited snippets answering ``question`` (see ``Assistant.answer``)."""
    return default_assistant().answer(question, k, **kwargs)


def document(doc_id: str) -> Document:
    """A bundled-corpus document by id."""
    return default_assistant().document(doc_id)
