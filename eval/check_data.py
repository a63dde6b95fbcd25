"""Validate the bundled QA evaluation set against the product's cleaned corpus.

Usage: ``python eval/check_data.py [PATH]`` (default ``eval/data/bundled_qa.jsonl``).
Prints counts per category, language and article; exits 1 listing every problem found.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT / "eval" / "data" / "bundled_qa.jsonl"
CORPUS_DIR = ROOT / "data" / "articles"

CATEGORIES = (
    "fact",
    "number",
    "date",
    "person",
    "organisation",
    "paraphrase",
    "english",
    "unanswerable",
)
LANGS = ("zh", "en")
MIN_QUESTIONS = 80
MIN_UNANSWERABLE = 12
FIELDS: dict[str, type] = {
    "id": str,
    "question": str,
    "doc_ids": list,
    "answers": list,
    "category": str,
    "lang": str,
}


def load_records(path: Path) -> tuple[list[dict[str, Any]], list[str]]:
    """Parse a JSONL file; return the records and any parse problems."""
    records: list[dict[str, Any]] = []
    problems: list[str] = []
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                problems.append(f"line {n}: invalid JSON ({e})")
                continue
            if not isinstance(obj, dict):
                problems.append(f"line {n}: not a JSON object")
                continue
            records.append(obj)
    return records, problems


def load_texts(corpus_dir: Path = CORPUS_DIR) -> dict[str, str]:
    """Cleaned text per doc_id, from the product's own loader (``rag.corpus``)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from rag.corpus import load_corpus

    return {doc.doc_id: doc.text for doc in load_corpus(corpus_dir)}


def _check_record(rec: dict[str, Any], texts: Mapping[str, str]) -> list[str]:
    """Problems of a single record (fields, types, values, answers in gold texts)."""
    rid = rec.get("id", "?")
    problems = [f"{rid}: missing field {k!r}" for k in FIELDS if k not in rec]
    for key, typ in FIELDS.items():
        if key in rec and not isinstance(rec[key], typ):
            problems.append(f"{rid}: field {key!r} should be {typ.__name__}")
    if problems:
        return problems
    if not rec["id"].strip():
        problems.append(f"{rid}: empty id")
    if not rec["question"].strip():
        problems.append(f"{rid}: empty question")
    if rec["category"] not in CATEGORIES:
        problems.append(f"{rid}: unknown category {rec['category']!r}")
    if rec["lang"] not in LANGS:
        problems.append(f"{rid}: unknown lang {rec['lang']!r}")
    if rec["category"] == "english" and rec["lang"] != "en":
        problems.append(f"{rid}: category 'english' needs lang 'en'")
    doc_ids, answers = rec["doc_ids"], rec["answers"]
    if not all(isinstance(d, str) for d in doc_ids):
        problems.append(f"{rid}: doc_ids must be strings")
        return problems
    if not all(isinstance(a, str) and a.strip() for a in answers):
        problems.append(f"{rid}: answers must be non-empty strings")
        return problems
    if rec["category"] == "unanswerable":
        if doc_ids or answers:
            problems.append(f"{rid}: unanswerable question must have empty doc_ids and answers")
        return problems
    if not doc_ids:
        problems.append(f"{rid}: answerable question has no doc_ids")
    if not answers:
        problems.append(f"{rid}: answerable question has no answers")
    for doc_id in doc_ids:
        text = texts.get(doc_id)
        if text is None:
            problems.append(f"{rid}: unknown doc_id {doc_id!r}")
            continue
        for ans in answers:
            if ans not in text:
                problems.append(f"{rid}: answer {ans!r} not found in cleaned text of {doc_id}")
    return problems


def validate(records: list[dict[str, Any]], texts: Mapping[str, str]) -> list[str]:
    """All problems of a parsed data set, checked against ``texts`` (doc_id -> clean text)."""
    problems: list[str] = []
    ids = Counter(r.get("id") for r in records)
    problems += [f"duplicate id {i!r} ({n}x)" for i, n in ids.items() if n > 1]
    questions = Counter(r.get("question") for r in records)
    problems += [f"duplicate question {q!r}" for q, n in questions.items() if n > 1]
    for rec in records:
        problems += _check_record(rec, texts)
    if len(records) < MIN_QUESTIONS:
        problems.append(f"only {len(records)} questions (need at least {MIN_QUESTIONS})")
    n_unans = sum(r.get("category") == "unanswerable" for r in records)
    if n_unans < MIN_UNANSWERABLE:
        problems.append(f"only {n_unans} unanswerable questions (need {MIN_UNANSWERABLE})")
    return problems


def check_file(path: Path = DEFAULT_DATA, texts: Mapping[str, str] | None = None) -> list[str]:
    """Load ``path`` and validate it; ``texts`` defaults to the product's cleaned corpus."""
    records, problems = load_records(path)
    if texts is None:
        texts = load_texts()
    return problems + validate(records, texts)


def summary(records: list[dict[str, Any]]) -> str:
    """Counts per category, language and gold article, as printable text."""

    def fmt(title: str, counts: Counter[str]) -> str:
        rows = "\n".join(f"  {k:<24} {v:>4}" for k, v in sorted(counts.items()))
        return f"{title}:\n{rows}"

    cats = Counter(str(r.get("category")) for r in records)
    langs = Counter(str(r.get("lang")) for r in records)
    docs: Counter[str] = Counter()
    for r in records:
        docs.update(r.get("doc_ids") or ["(none)"])
    return "\n".join(
        [
            f"{len(records)} questions",
            fmt("per category", cats),
            fmt("per lang", langs),
            fmt("per article", docs),
        ]
    )


def main(argv: list[str] | None = None) -> int:
    """CLI entry point: print the summary and any problems; 0 when clean."""
    args = sys.argv[1:] if argv is None else argv
    path = Path(args[0]) if args else DEFAULT_DATA
    if not path.is_file():
        print(f"error: no such file: {path}", file=sys.stderr)
        return 2
    try:
        texts = load_texts()
    except ImportError as e:
        print(f"error: cannot import the product's corpus loader rag.corpus: {e}", file=sys.stderr)
        return 2
    records, _ = load_records(path)
    print(summary(records))
    problems = check_file(path, texts)
    if problems:
        print(f"\n{len(problems)} problem(s) in {path}:", file=sys.stderr)
        for p in problems:
            print(f"  - {p}", file=sys.stderr)
        return 1
    print(f"\nOK: {path} is valid")
    return 0


if __name__ == "__main__":
    sys.exit(main())
