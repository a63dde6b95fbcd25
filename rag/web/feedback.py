"""Append-only JSONL log of 👍/👎 votes on answers."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

__all__ = ["FeedbackLog", "vote_name"]


def vote_name(liked: object) -> str:
    """Gradio's ``LikeData.liked`` (True / False / option string) as ``up`` / ``down`` / text."""
    if liked is True:
        return "up"
    if liked is False:
        return "down"
    text = str(liked or "").strip()
    return {"like": "up", "dislike": "down", "": "none"}.get(text.lower(), text)


class FeedbackLog:
    """One JSON object per line: time, vote, question, query, answered, snippets."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path).expanduser()
        self._lock = threading.Lock()

    def check(self) -> None:
        """Raise ValueError unless the log can be appended to: not a folder, its folder
        exists or can be made, and it is writable (tried, so read-only disks count)."""
        path = self.path
        if path.is_dir():
            raise ValueError(f"feedback log {path} is a folder; give a file path such as "
                             f"{path / 'feedback.jsonl'}")
        if path.is_fifo():  # opening it would wait for a reader
            raise ValueError(f"feedback log {path} is not a regular file")
        existed = path.exists()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "a", encoding="utf-8"):
                pass
            if not existed:
                path.unlink()
        except OSError as e:
            where = f" ({e.filename})" if e.filename and Path(e.filename) != path else ""
            raise ValueError(f"feedback log {path} cannot be written: "
                             f"{e.strerror or e}{where}") from None

    def record(self, record: Mapping[str, Any], vote: str) -> dict[str, Any]:
        """Append the vote on one answer (``record`` is the chat's answer record)."""
        entry = {
            "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "vote": vote,
            "question": record.get("question", ""),
            "query": record.get("query", ""),
            "answered": bool(record.get("answered", False)),
            "snippets": [
                {
                    "doc_id": i.get("doc_id"),
                    "title": i.get("title"),
                    "text": i.get("text"),
                    "start": i.get("start"),
                    "end": i.get("end"),
                    "kind": i.get("kind"),
                }
                for i in record.get("items", [])
            ],
        }
        line = json.dumps(entry, ensure_ascii=False) + "\n"
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as fh:
                fh.write(line)
                fh.flush()
                os.fsync(fh.fileno())
        return entry

    def read(self) -> list[dict[str, Any]]:
        """All entries (skipping any torn line). Lines are split at line breaks only: a vote
        whose question or snippet held U+2028 (as scraped text may) was read as two torn
        lines and lost."""
        from rag.corpus import jsonl_lines

        if not self.path.exists():
            return []
        out = []
        for line in jsonl_lines(self.path.read_text(encoding="utf-8")):
            if not line.strip():
                continue
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        return out
