"""Question items of an evaluation set and how they are read and sampled."""

from __future__ import annotations

import json
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


def load_questions(path: Path) -> list[Question]:
    """Read a JSONL question file (one object per line, blank lines skipped)."""
    items: list[Question] = []
    with Path(path).open(encoding="utf-8") as fh:
        for line_no, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{line_no}: not JSON ({exc})") from exc
            items.append(
                Question(
                    id=str(row["id"]),
                    question=row["question"],
                    doc_ids=[str(d) for d in row.get("doc_ids") or []],
                    answers=list(row.get("answers") or []),
                    category=row.get("category") or ("" if row.get("doc_ids") else UNANSWERABLE),
                    lang=row.get("lang", ""),
                )
            )
    return items


def spread_sample(items: list[Question], limit: int | None) -> list[Question]:
    """``limit`` items evenly spaced over the list (deterministic, keeps the category mix)."""
    if not limit or limit >= len(items):
        return list(items)
    return [items[i * len(items) // limit] for i in range(limit)]
