"""Exceptions with messages meant for users."""

from __future__ import annotations


class RagError(Exception):
    """Base class of the assistant's user-facing errors."""


class InvalidQuestionError(RagError, ValueError):
    """The question is empty, whitespace only or too long."""


EMPTY_QUESTION = "请输入问题。Please type a question."  # what every surface says to no question


class CorpusError(RagError):
    """The corpus path is missing, empty or holds no readable document."""


class IndexNotFoundError(RagError, FileNotFoundError):
    """No index exists at the given directory."""


class CorruptIndexError(RagError):
    """The index directory exists but cannot be read back consistently."""


class ModelMismatchError(RagError):
    """The index was built with another embedding model (or other index settings) than the one
    requested or in use."""


class UnknownDocumentError(RagError, KeyError):
    """No document with that doc_id is indexed."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else "unknown document"


class InvalidArgumentError(RagError, ValueError):
    """A public argument (``k``, a date, a filter, a history) has a wrong type or value."""


class IndexFormatError(CorruptIndexError):
    """The index was written by another (older or newer) version of the index format."""

    def __init__(self, message: str, newer: bool = False) -> None:
        super().__init__(message)
        self.newer = newer  # written by a newer rag-news: never rebuilt behind the user's back


class IndexNotWritableError(RagError, PermissionError):
    """The index folder cannot be written (read-only, its lock file is not a file, or another
    process is writing it and the caller would not wait)."""


class BackendError(RagError):
    """The index's storage backend (e.g. a Milvus server or Milvus Lite file) cannot be used."""
