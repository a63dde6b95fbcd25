"""Question items of an evaluation set and how they are read and sampled."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

UNANSWERABLE = "unanswerable"


@dataclass
class Question:
    """One evaluation question; ``doc_ids`` and ``answers`` are empty when unanswerable."""

    id: str
    question: str
    doc_ids: list[str] = field(default_factory=list)
    answers: list[str] = field(default_factory=list)
    category: str = ""
    lang: str = ""

    @property
    def answerable(self) -> bool:
        return bool(self.doc_ids)


class EvalInputError(ValueError):
    """A question, SQuAD or results file that cannot be evaluated as given: ``python -m
    eval`` prints it as one ``error:`` line (exit status 2), never a traceback."""


def errors_reported(run: Callable[[], int]) -> int:
    """``run()`` (an eval command), with bad input (:class:`EvalInputError`, rag's own
    errors: a missing corpus…) printed as one ``error:`` line and exit status 2."""
    from rag.errors import RagError

    try:
        return run()
    except (EvalInputError, RagError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def read_json_lines(path: Path, what: str) -> list[tuple[int, object]]:
    """(line number, parsed value) of every non-blank line of a JSONL file."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise EvalInputError(f"{path}: the {what} is not UTF-8 ({exc.reason} at byte "
                             f"{exc.start})") from exc
    except OSError as exc:
        raise EvalInputError(f"cannot read the {what} {path}: {exc.strerror or exc}") from exc
    from rag.corpus import jsonl_lines  # (a BOM, Notepad's UTF-8, is dropped)

    rows = []
    for line_no, line in enumerate(jsonl_lines(text), 1):
        if line.strip():
            try:
                rows.append((line_no, json.loads(line)))
            except (ValueError, RecursionError) as exc:
                raise EvalInputError(f"{path}:{line_no}: not JSON ({exc})") from exc
    return rows


def _strings(row: dict, key: str, ints: bool = False) -> list[str]:
    """``row[key]``: absent or null is none; else a list of non-empty strings (``ints``:
    or integers, as JSONL ids may be). A bare string would be read character by character."""
    value = row.get(key)
    if value is None:
        return []
    kinds = (str, int) if ints else (str,)
    if not isinstance(value, list) or not all(
            isinstance(v, kinds) and not isinstance(v, bool) and v != "" for v in value):
        what = "strings or integers" if ints else "non-empty strings"
        raise ValueError(f'"{key}" must be a list of {what}, not {value!r:.80}')
    return [str(v) for v in value]


def question_id(value: object) -> str:
    """A question's ``id`` as a string: a non-empty string or an integer, else a ValueError
    (question files and SQuAD files alike)."""
    if isinstance(value, bool) or not isinstance(value, (str, int)) or value == "":
        raise ValueError(f'"id" must be a non-empty string or an integer, not {value!r:.80}')
    return str(value)


def question_of(row: object) -> Question:
    """One question from a parsed JSONL line; a ValueError says which field is wrong."""
    if not isinstance(row, dict):
        raise ValueError(f"a question must be a JSON object, not {type(row).__name__}")
    qid, question = question_id(row.get("id")), row.get("question")
    if not isinstance(question, str) or not question.strip():
        raise ValueError(f'"question" must be a non-empty string, not {question!r:.80}')
    for key in ("category", "lang"):
        if row.get(key) is not None and not isinstance(row[key], str):
            raise ValueError(f'"{key}" must be a string, not {row[key]!r:.80}')
    doc_ids = _strings(row, "doc_ids", ints=True)
    return Question(id=qid, question=question, doc_ids=doc_ids,
                    answers=_strings(row, "answers"),
                    category=row.get("category") or ("" if doc_ids else UNANSWERABLE),
                    lang=row.get("lang") or "")


def load_questions(path: Path) -> list[Question]:
    """Read a JSONL question file (one object per line, blank lines skipped): ``id`` and
    ``question`` required, ``doc_ids`` and ``answers`` lists of strings. A line that is not
    such a question is an :class:`EvalInputError` naming ``file:line`` and the field."""
    items: list[Question] = []
    for line_no, row in read_json_lines(path, "question file"):
        try:
            items.append(question_of(row))
        except ValueError as exc:
            raise EvalInputError(f"{path}:{line_no}: {exc}") from exc
    return items


def unknown_gold_docs(questions: list[Question], doc_ids: set[str]) -> list[tuple[str, str]]:
    """(question id, doc_id) of every gold document the index does not have: such a
    question could never be found, and its recall of 0 would read as a retrieval miss."""
    return [(q.id, d) for q in questions for d in q.doc_ids if d not in doc_ids]


def spread_sample(items: list[Question], limit: int | None) -> list[Question]:
    """``limit`` items evenly spaced over the list (deterministic, keeps the category mix)."""
    if not limit or limit >= len(items):
        return list(items)
    return [items[i * len(items) // limit] for i in range(limit)]
