"""Checks of public arguments (``k``, dates, filters, history) and of junk questions.

Every check raises ``InvalidArgumentError`` (a ``RagError`` and a ``ValueError``) with a
message naming the argument, the bad value and what is expected.
"""

from __future__ import annotations

import datetime as dt
import operator
import os
import re
import unicodedata
from pathlib import Path
from typing import Any

from rag.errors import InvalidArgumentError
from rag.textnorm import is_cjk
from rag.types import Filters

MAX_K = 100
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[T ][0-9:.+\-Z]*)?$")
# Code or markup typed as a question: HTML/XML tags, SQL statements, shell/JS snippets.
_CODE = (
    re.compile(r"<\s*/?\s*[a-z][a-z0-9-]*(?:\s[^<>]*)?/?\s*>", re.I),
    re.compile(r"\b(?:SELECT|INSERT|UPDATE|DELETE|DROP|UNION)\b.*"
               r"\b(?:FROM|INTO|TABLE|SET|WHERE|SELECT)\b"),
    re.compile(r"\b(?:select|union|insert|delete|update)\b.*[*=;'\"]", re.I),
    re.compile(r"\bdrop\s+(?:table|database)\b|\bor\s+1\s*=\s*1\b|--\s*$|/\*.*\*/"
               r"|\$\(|\{\{.*\}\}|\bjavascript:", re.I),
)
_FOREIGN_SCRIPTS = ("HANGUL", "HIRAGANA", "KATAKANA", "CYRILLIC", "ARABIC", "HEBREW", "THAI",
                    "DEVANAGARI", "GREEK")


def check_k(k: Any, name: str = "k") -> int:
    """``k`` as an int in 1..MAX_K; bools, floats with a fraction, None and strings are errors."""
    if isinstance(k, bool) or k is None:
        raise InvalidArgumentError(f"{name} must be a whole number from 1 to {MAX_K}, not {k!r}")
    if isinstance(k, float) and k.is_integer():
        k = int(k)
    try:
        value = operator.index(k)
    except TypeError:
        raise InvalidArgumentError(
            f"{name} must be a whole number from 1 to {MAX_K}, not {k!r}") from None
    if not 1 <= value <= MAX_K:
        raise InvalidArgumentError(f"{name} must be from 1 to {MAX_K}, not {value}")
    return value


def check_date(value: Any, name: str) -> str | None:
    """A ``YYYY-MM-DD`` date (or ISO date-time, or ``datetime.date``) → ``YYYY-MM-DD``."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, dt.date):
        return value.isoformat()[:10]
    if not isinstance(value, str):
        raise InvalidArgumentError(f"{name} must be a date YYYY-MM-DD, not {value!r}")
    text = value.strip()
    try:
        if not _ISO_DATE.match(text):
            raise ValueError(text)
        day = dt.date.fromisoformat(text[:10])
        if len(text) > 10:
            dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidArgumentError(
            f"{name} must be a real date YYYY-MM-DD (e.g. 2022-06-07), not {value!r}") from None
    return day.isoformat()


def check_filters(filters: Filters | None) -> Filters | None:
    """Validated copy of ``filters`` (dates normalised to ``YYYY-MM-DD``), or None."""
    if filters is None:
        return None
    if not isinstance(filters, Filters):
        raise InvalidArgumentError(f"filters must be a rag.Filters, not {type(filters).__name__}")
    source = filters.source
    if source is not None and not isinstance(source, str):
        raise InvalidArgumentError(f"source must be a string, not {source!r}")
    doc_ids = filters.doc_ids
    if doc_ids is not None:
        if isinstance(doc_ids, str) or not all(isinstance(d, str) for d in doc_ids):
            raise InvalidArgumentError(f"doc_ids must be a list of strings, not {doc_ids!r}")
        doc_ids = list(doc_ids)
        if not doc_ids:  # "search none of them" is never meant; "all" is doc_ids=None
            raise InvalidArgumentError("doc_ids is empty: give the doc_ids to search in, or "
                                       "None (the default) to search every document")
    date_from = check_date(filters.date_from, "date_from")
    date_to = check_date(filters.date_to, "date_to")
    if date_from and date_to and date_from > date_to:
        raise InvalidArgumentError(f"date_from {date_from} is after date_to {date_to}")
    return Filters(source=(source or "").strip() or None, date_from=date_from,
                   date_to=date_to, doc_ids=doc_ids)


def check_history(history: Any) -> list[str] | None:
    """Earlier questions of a conversation: a list of strings (or None)."""
    if history is None:
        return None
    if isinstance(history, str) or not all(isinstance(h, str) for h in history):
        raise InvalidArgumentError("history must be a list of earlier questions (strings)")
    return [h for h in history if h.strip()]


def is_junk_question(question: str) -> bool:
    """True for a question without Chinese characters that is code/markup (SQL, HTML, shell)
    or written mostly in another script (Korean, Japanese kana, Cyrillic, …): the corpus is
    Chinese news, and such strings would otherwise be "answered" from the nearest vectors."""
    if any(is_cjk(ch) for ch in question):
        return False
    if any(p.search(question) for p in _CODE):
        return True
    letters = [ch for ch in question if ch.isalpha()]
    if not letters:
        return False
    foreign = sum(1 for ch in letters
                  if unicodedata.name(ch, "").startswith(_FOREIGN_SCRIPTS))
    return foreign / len(letters) > 0.3


def check_path(value: Any, name: str) -> Path:
    """A path argument (``str`` or ``os.PathLike``) as a ``Path`` (``~`` expanded). Other types
    and empty text are errors: ``""`` would silently mean the working directory."""
    text = os.fspath(value) if isinstance(value, (str, os.PathLike)) else None
    if not isinstance(text, str):
        raise InvalidArgumentError(f"{name} must be a path (a str or pathlib.Path), not "
                                   f"{type(value).__name__} {value!r:.80}")
    if not text.strip():
        raise InvalidArgumentError(f"{name} is empty: give a folder or file path, or leave it "
                                   "out (None) for the default")
    return Path(text).expanduser()


def check_paths(value: Any, name: str) -> list[str | os.PathLike]:
    """One path or an iterable of paths as a list (a single ``str`` is one path, not its
    characters); anything else is an InvalidArgumentError."""
    if isinstance(value, (str, os.PathLike)):
        return [value]
    try:
        items = list(value)
    except TypeError:  # None, a number
        items = None
    if items is None or not all(isinstance(p, (str, os.PathLike)) for p in items):
        raise InvalidArgumentError(f"{name} must be a file path or a list of file paths")
    return items


def check_optional(value: Any, kind: type, name: str, what: str) -> None:
    """``value`` must be None or a ``kind`` (``what`` says what is expected)."""
    if value is not None and not isinstance(value, kind):
        raise InvalidArgumentError(f"{name} must be {what} or None, not "
                                   f"{type(value).__name__} {value!r:.80}")


def path_option(text: str) -> str:
    """A path option's value (``--index``, ``--corpus``, ``--feedback``): empty text, as an
    unset shell variable gives, is an error, not the default (argparse type)."""
    if not text.strip():
        import argparse

        raise argparse.ArgumentTypeError("must not be empty (leave the option out for the "
                                         "default)")
    return text
