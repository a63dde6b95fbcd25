"""SQuAD v1 files as an evaluation set: each paragraph a document, each question a query."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from eval.questions import UNANSWERABLE, EvalInputError, Question, question_id


def squad_to_eval(data: Any, lang: str = "") -> tuple[list[dict], list[Question]]:
    """Documents (``{"id","title","text",...}``) and questions of a parsed SQuAD v1 dict.

    Paragraph ``i`` (counting over all articles) becomes doc ``p{i:04d}``; every question's
    single gold document is its own paragraph and its gold answers are the distinct answer texts.
    A SQuAD 2.0 question marked ``is_impossible`` is unanswerable (no gold document): the
    assistant should refuse it.
    Anything not shaped so is a ValueError naming where (``data[0].paragraphs[2]: ...``).
    """
    docs: list[dict] = []
    questions: list[Question] = []
    for a, article in enumerate(_items(data, "data", "the file")):
        where = f"data[{a}]"
        title = _text(article, "title", where, required=False)
        for p, para in enumerate(_items(article, "paragraphs", where)):
            at = f"{where}.paragraphs[{p}]"
            doc_id = f"p{len(docs):04d}"
            doc = {"id": doc_id, "title": title, "text": _text(para, "context", at)}
            if "id" in para:
                doc["squad_id"] = para["id"]
            docs.append(doc)
            for n, qa in enumerate(_items(para, "qas", at, required=False)):
                here = f"{at}.qas[{n}]"
                answers = [_text(ans, "text", f"{here}.answers[{i}]")
                           for i, ans in enumerate(_items(qa, "answers", here, required=False))]
                impossible = qa.get("is_impossible") is True  # SQuAD 2.0: not answerable
                if impossible:
                    answers = []  # (its "plausible_answers" are not answers)
                try:
                    qid = question_id(qa.get("id"))
                except ValueError as exc:
                    raise ValueError(f"{here}: {exc}") from None
                questions.append(
                    Question(
                        id=qid,
                        question=_text(qa, "question", here),
                        doc_ids=[] if impossible else [doc_id],
                        answers=list(dict.fromkeys(answers)),
                        category=UNANSWERABLE if impossible else "squad",
                        lang=lang,
                    )
                )
    return docs, questions


def _items(parent: Any, key: str, where: str, required: bool = True) -> list[Any]:
    """``parent[key]`` as a list of JSON objects (absent: empty unless ``required``)."""
    if not isinstance(parent, dict):
        raise ValueError(f"{where}: a JSON object was expected, not {type(parent).__name__} "
                         "(is this a SQuAD v1 file?)")
    value = parent.get(key)
    if value is None and not required:
        return []
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ValueError(f'{where}: "{key}" must be a list of JSON objects, not '
                         f"{value!r:.80} (is this a SQuAD v1 file?)")
    return value


def _text(parent: dict, key: str, where: str, required: bool = True) -> str:
    """``parent[key]``, a string (absent: "" unless ``required``)."""
    value = parent.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise ValueError(f'{where}: "{key}" must be a non-empty string, not {value!r:.80}')
    return value


def load_squad(path: Path) -> tuple[list[dict], list[Question]]:
    """Read a SQuAD v1 JSON file; see :func:`squad_to_eval`. A file that cannot be read or
    is not shaped as SQuAD v1 is an :class:`EvalInputError` naming the file."""
    try:
        with Path(path).open(encoding="utf-8-sig") as fh:  # a BOM (Notepad) was "not JSON"
            data = json.load(fh)
    except UnicodeDecodeError as exc:
        raise EvalInputError(f"{path}: not UTF-8 ({exc.reason} at byte {exc.start})") from exc
    except OSError as exc:
        raise EvalInputError(f"cannot read the SQuAD file {path}: {exc.strerror or exc}"
                             ) from exc
    except (ValueError, RecursionError) as exc:
        raise EvalInputError(f"{path}: not JSON ({exc})") from exc
    try:
        return squad_to_eval(data)
    except ValueError as exc:
        raise EvalInputError(f"{path}: {exc}") from exc


def write_corpus(docs: list[dict], path: Path) -> Path:
    """Write documents as a JSONL corpus, leaving an identical file untouched (keeps mtimes)."""
    text = "".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs)
    path = Path(path)
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def corpus_key(path: Path) -> str:
    """Short stable name for a corpus path: its stem plus a hash of the absolute path."""
    path = Path(path).resolve()
    digest = hashlib.sha1(str(path).encode("utf-8")).hexdigest()[:10]
    return f"{path.stem}-{digest}"


def translate_questions(questions: list[Question], other: Path) -> list[Question]:
    """The same questions (gold documents and answers kept) with their text taken from
    ``other``, a SQuAD file holding the same ids in another language; ids missing there are
    an error."""
    _, asked = load_squad(other)
    text = {q.id: q.question for q in asked}
    missing = [q.id for q in questions if q.id not in text]
    if missing:
        raise EvalInputError(f"{other}: {len(missing)} question ids missing (e.g. {missing[0]})")
    return [Question(q.id, text[q.id], q.doc_ids, q.answers, q.category, other.stem)
            for q in questions]
