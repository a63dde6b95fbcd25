"""Where results go: a results folder with a latest JSON plus a timestamped copy."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any


def save_json(data: dict[str, Any], folder: Path, stem: str) -> tuple[Path, Path]:
    """Write ``{stem}.json`` and ``{stem}-YYYYmmdd-HHMMSS.json`` in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    text = json.dumps(data, ensure_ascii=False, indent=2)
    latest = folder / f"{stem}.json"
    stamped = folder / f"{stem}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    latest.write_text(text, encoding="utf-8")
    stamped.write_text(text, encoding="utf-8")
    return latest, stamped


def save_jsonl(rows: list[dict[str, Any]], path: Path) -> Path:
    """One JSON object per line."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path
