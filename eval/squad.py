"""SQuAD v1 files as an evaluation set: each paragraph a document, each question a query."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from eval.questions import Question


def squad_to_eval(data: dict[str, Any], lang: str = "") -> tuple[list[dict], list[Question]]:
    """Documents (``{"id","title","text",...}``) and questions of a parsed SQuAD v1 dict.

    Paragraph ``i`` (counting over all articles) becomes doc ``p{i:04d}``; every question's
    single gold document is its own paragraph and its gold answers are the distinct answer texts.
    """
    docs: list[dict] = []
    questions: list[Question] = []
    for article in data["data"]:
        title = article.get("title", "")
        for para in article["paragraphs"]:
            doc_id = f"p{len(docs):04d}"
            doc = {"id": doc_id, "title": title, "text": para["context"]}
            if "id" in para:
                doc["squad_id"] = para["id"]
            docs.append(doc)
            for qa in para.get("qas", []):
                answers = list(dict.fromkeys(a["text"] for a in qa.get("answers", [])))
                questions.append(
                    Question(
                        id=str(qa["id"]),
                        question=qa["question"],
                        doc_ids=[doc_id],
                        answers=answers,
                        category="squad",
                        lang=lang,
                    )
                )
    return docs, questions


def load_squad(path: Path) -> tuple[list[dict], list[Question]]:
    """Read a SQuAD v1 JSON file; see :func:`squad_to_eval`."""
    with Path(path).open(encoding="utf-8") as fh:
        return squad_to_eval(json.load(fh))


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
        raise ValueError(f"{other}: {len(missing)} question ids missing (e.g. {missing[0]})")
    return [Question(q.id, text[q.id], q.doc_ids, q.answers, q.category, other.stem)
            for q in questions]
