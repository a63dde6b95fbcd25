"""Where results go: a results folder with a latest JSON plus a timestamped copy."""

from __future__ import annotations

import hashlib
import json
import subprocess
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


def code_version(repo: Path) -> dict[str, Any]:
    """Hash of the rag/embeddings sources under test, plus the git commit and changed files."""
    def git(*args: str) -> list[str]:
        out = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True,
                             timeout=10, check=True).stdout
        return [line for line in out.splitlines() if line.strip()]

    digest = hashlib.sha1()
    for path in sorted(p for d in ("rag", "embeddings") for p in (repo / d).rglob("*.py")):
        digest.update(path.relative_to(repo).as_posix().encode() + b"\0" + path.read_bytes())
    info: dict[str, Any] = {"source_sha1": digest.hexdigest()[:12]}  # identifies dirty trees too
    try:
        changed = git("status", "--porcelain", "--", "rag", "embeddings")
        info.update(commit=git("rev-parse", "--short", "HEAD")[0],
                    changed=[line[3:] for line in changed])
    except (OSError, subprocess.SubprocessError, IndexError):
        pass
    return info
