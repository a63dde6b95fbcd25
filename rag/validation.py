"""Checks of public arguments (``k``, dates, filters, history) and of junk questions.

Every check raises ``InvalidArgumentError`` (a ``RagError`` and a ``ValueError``) with a
message naming the argument, the bad value and what is expected.
"""

from __future__ import annotations

import datetime as dt
import numbers
import operator
import os
import re
import unicodedata
from pathlib import Path
from typing import Any

from rag.config import MAX_QUESTION_CHARS
from rag.errors import InvalidArgumentError
from rag.textnorm import SURROGATE, is_cjk
from rag.types import Filters

MAX_K = 100
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[T ][0-9:.+\-Z]*)?$")
# Code or markup typed as a question: HTML/XML tags, SQL statements, shell/JS snippets.
_CODE = (
    re.compile(r"<\s*/?\s*[a-z][a-z0-9-]*(?:\s[^<>]*)?/?\s*>", re.I),
    re.compile(r"\b(?:SELECT|INSERT|UPDATE|DELETE|DROP|UNION)\b.*"
               r"\b(?:FROM|INTO|TABLE|SET|WHERE|SELECT)\b"),
    # an apostrophe inside a word ("JD Health's", "patients'") or a double quote is English,
    # not SQL: "the latest update on JD Health's hospitals?" was refused as code
    re.compile(r"\b(?:select|union|insert|delete|update)\b.*(?:[*=;]|--|(?<![A-Za-z])')",
               re.I),
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
    text = date_text(value)
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


def date_text(value: str) -> str:
    """A typed date as ASCII: NFKC (``２０２２－０１－０１``, a Chinese input method's full-width
    digits and dash, was refused as not YYYY-MM-DD), without outer spaces or invisible
    characters; only ASCII digits count after that (``\\d`` matches Arabic-Indic ones)."""
    text = unicodedata.normalize("NFKC", value).strip().strip("\u200b\u200e\u200f\ufeff")
    return text if text.isascii() else value


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
        items = _strings(doc_ids)
        if items is None:
            raise InvalidArgumentError(f"doc_ids must be a list of strings, not {doc_ids!r}")
        doc_ids = items
        if not doc_ids:  # "search none of them" is never meant; "all" is doc_ids=None
            raise InvalidArgumentError("doc_ids is empty: give the doc_ids to search in, or "
                                       "None (the default) to search every document")
    date_from = check_date(filters.date_from, "date_from")
    date_to = check_date(filters.date_to, "date_to")
    if date_from and date_to and date_from > date_to:
        raise InvalidArgumentError(f"date_from {date_from} is after date_to {date_to}")
    return Filters(source=(source or "").strip() or None, date_from=date_from,
                   date_to=date_to, doc_ids=doc_ids)


def _strings(value: Any) -> list[str] | None:
    """``value``'s items as a list when it is an iterable of strings (not one string), else
    None. Listed first: a generator checked item by item was then empty."""
    if isinstance(value, (str, bytes)):
        return None
    try:
        items = list(value)
    except TypeError:  # not iterable
        return None
    return items if all(isinstance(item, str) for item in items) else None


def check_history(history: Any) -> list[str] | None:
    """Earlier questions of a conversation: a list of strings (or None)."""
    if history is None:
        return None
    items = _strings(history)
    if items is None:
        raise InvalidArgumentError("history must be a list of earlier questions (strings)")
    history = items
    for h in history:  # each was a question: a 2M-character one took 45 s and became the query
        if len(h) > MAX_QUESTION_CHARS:
            raise InvalidArgumentError(f"history holds a question of {len(h)} characters; "
                                       f"earlier questions have at most {MAX_QUESTION_CHARS}")
    return [h for h in history if h.strip()]


def is_junk_question(question: str) -> bool:
    """True for a question without Chinese characters that is code/markup (SQL, HTML, shell),
    written mostly in another script (Korean, Japanese kana, Cyrillic, …) or without a letter
    or digit (punctuation, emoji): the corpus is Chinese news, and such strings would
    otherwise be "answered" from the nearest vectors."""
    if any(is_cjk(ch) for ch in question):
        return False
    if any(p.search(question) for p in _CODE):
        return True
    letters = [ch for ch in question if ch.isalpha()]
    if not letters:  # only punctuation or emoji ("？？？", "🙂") asks for nothing: it was
        return not any(ch.isdigit() for ch in question)  # "answered" with closest articles
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
    problem = _not_utf8(text)
    if problem:
        raise InvalidArgumentError(f"{name} {problem}")
    return Path(text).expanduser()


def _not_utf8(text: str) -> str | None:
    """Why a path that holds bytes that are not UTF-8 (lone surrogates: a terminal in another
    encoding, a GBK name from a zip archive) cannot be used, else None: such a name cannot
    be written into an index's manifest, or printed as text."""
    if not SURROGATE.search(text):
        return None
    try:  # the bytes as typed, with \xNN for those that are not UTF-8
        shown = os.fsencode(text).decode("utf-8", "backslashreplace")
    except UnicodeError:  # a lone surrogate that stands for no byte ("\ud800")
        shown = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return (f"'{shown}' is not valid UTF-8 text (a terminal or file name in another "
            "encoding?); rename the folder or file to a UTF-8 name, or use another one")


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
    import argparse

    if not text.strip():
        raise argparse.ArgumentTypeError("must not be empty (leave the option out for the "
                                         "default)")
    problem = _not_utf8(text)
    if problem:
        raise argparse.ArgumentTypeError(problem)
    return text


def check_config(config: Any) -> None:
    """A ``Config``'s settings in range, before anything is built or answered: a chunk size of
    0 used to hang the build (an endless loop filling memory), a negative overlap crashed it
    after embedding, ``candidates=0`` refused every question, and an unknown encoder or
    reader setting was a traceback on the first question. Each is an InvalidArgumentError
    naming the setting, its value and what it may be."""
    from embeddings.choice import ENCODERS
    from rag.backends.base import BACKENDS
    from rag.reader.onnx_runtime import RUNTIMES
    from rag.retriever import MODES

    def whole(value: Any, name: str, low: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise InvalidArgumentError(f"config.{name} must be a whole number ≥ {low}, not "
                                       f"{value!r}")

    def number(value: Any, name: str, low: float, high: float) -> None:
        if (isinstance(value, bool) or not isinstance(value, numbers.Real)  # numpy's too
                or not low <= value <= high):
            raise InvalidArgumentError(f"config.{name} must be a number from {low} to {high}, "
                                       f"not {value!r}")

    def choice(value: Any, name: str, allowed: tuple[str, ...]) -> None:
        if value not in allowed:
            raise InvalidArgumentError(f"config.{name} must be one of {', '.join(allowed)}, "
                                       f"not {value!r}")

    def flag(value: Any, name: str) -> None:  # "false" is true: it used to turn a setting on
        if not isinstance(value, bool):
            raise InvalidArgumentError(f"config.{name} must be True or False, not {value!r}")

    from rag.config import (
        AnswerConfig,
        ChunkingConfig,
        CorpusConfig,
        RetrievalConfig,
        StorageConfig,
    )

    for part, kind in (("corpus", CorpusConfig), ("chunking", ChunkingConfig),
                       ("retrieval", RetrievalConfig), ("answer", AnswerConfig),
                       ("storage", StorageConfig)):  # None: an AttributeError deep inside
        if not isinstance(getattr(config, part, None), kind):
            raise InvalidArgumentError(f"config.{part} must be a rag.config.{kind.__name__}, "
                                       f"not {type(getattr(config, part, None)).__name__}")
    if not isinstance(config.model, str) or not config.model.strip():
        raise InvalidArgumentError("config.model must be a sentence-transformers model name or "
                                   f"folder, not {config.model!r}")
    if config.storage.uri is not None and not isinstance(config.storage.uri, str):
        raise InvalidArgumentError(f"config.storage.uri must be a Milvus uri (str) or None, "
                                   f"not {config.storage.uri!r}")
    chunking, retrieval, answer = config.chunking, config.retrieval, config.answer
    flag(retrieval.translate_questions, "retrieval.translate_questions")
    flag(answer.reader, "answer.reader")
    flag(answer.reader_matches_script, "answer.reader_matches_script")
    # weights and thresholds: NaN or a percentage (50 for 0.5) refused every question
    for name in ("dense_weight", "lexical_weight", "bigram_weight", "chunk_weight",
                 "type_weight", "evidence_lexical_weight", "missing_type_penalty",
                 "reader_focus_lexical_weight", "reader_bias"):
        number(getattr(answer, name), f"answer.{name}", -1e6, 1e6)
    for name in ("min_evidence", "min_evidence_foreign"):
        number(getattr(answer, name), f"answer.{name}", -10, 10)
    for name in ("reader_min_probability", "reader_min_probability_foreign",
                 "reader_score_margin"):
        number(getattr(answer, name), f"answer.{name}", 0, 1)
    number(answer.score_margin, "answer.score_margin", 0, 1e6)
    weights = answer.reader_weights
    if isinstance(weights, (str, bytes)) or not isinstance(weights, (tuple, list)):
        raise InvalidArgumentError(f"config.answer.reader_weights must be a tuple of numbers, "
                                   f"not {weights!r}")
    for i, weight in enumerate(weights):
        number(weight, f"answer.reader_weights[{i}]", -1e6, 1e6)
    whole(chunking.max_chars, "chunking.max_chars", 1)
    whole(chunking.min_chars, "chunking.min_chars", 0)
    whole(chunking.overlap, "chunking.overlap", 0)
    whole(config.corpus.max_document_bytes, "corpus.max_document_bytes", 1)
    whole(config.batch_size, "batch_size", 1)
    choice(config.encoder, "encoder", ENCODERS)
    choice(config.storage.backend, "storage.backend", BACKENDS)
    choice(retrieval.mode, "retrieval.mode", MODES)
    choice(retrieval.fusion, "retrieval.fusion", ("rrf", "weighted"))
    whole(retrieval.rrf_k, "retrieval.rrf_k", 0)
    number(retrieval.dense_weight, "retrieval.dense_weight", 0, 1)
    number(retrieval.foreign_keyword_weight, "retrieval.foreign_keyword_weight", 0, 1)
    whole(retrieval.candidates, "retrieval.candidates", 1)
    whole(retrieval.ann_threshold, "retrieval.ann_threshold", 1)
    choice(retrieval.ann_index, "retrieval.ann_index", ("ivf", "hnsw"))
    number(retrieval.ann_recall_target, "retrieval.ann_recall_target", 0, 1)
    whole(answer.context_chunks, "answer.context_chunks", 1)
    whole(answer.reader_chunks, "answer.reader_chunks", 1)
    if answer.reader_chunks_foreign is not None:
        whole(answer.reader_chunks_foreign, "answer.reader_chunks_foreign", 1)
    whole(answer.min_snippet_chars, "answer.min_snippet_chars", 0)
    whole(answer.max_snippet_chars, "answer.max_snippet_chars", 1)
    choice(answer.reader_runtime, "answer.reader_runtime", RUNTIMES)
    whole(answer.reader_threads, "answer.reader_threads", 1)
    whole(answer.reader_focus_chars, "answer.reader_focus_chars", 0)
    whole(answer.reader_stride, "answer.reader_stride", 0)
    whole(answer.reader_max_length, "answer.reader_max_length", 1)
    # a window holds the question (up to 48 tokens), its separators and more passage tokens
    # than the stride (else the tokenizer refuses the stride on the first question)
    if answer.reader_max_length < answer.reader_stride + 64:
        raise InvalidArgumentError(
            f"config.answer.reader_max_length ({answer.reader_max_length}) must exceed "
            f"config.answer.reader_stride ({answer.reader_stride}) by at least 64 tokens (the "
            "question and separators)")
    choice(answer.reader_reads_foreign, "answer.reader_reads_foreign",
           ("translation", "original", "both"))
    choice(answer.reader_candidates, "answer.reader_candidates", ("window", "sentence"))
    choice(answer.reader_passages, "answer.reader_passages", ("chunk", "sentence"))
