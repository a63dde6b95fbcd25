"""Validation of uploaded article files before they reach ``Assistant.add_files``."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["ALLOWED_SUFFIXES", "MAX_UPLOAD_BYTES", "UploadReport", "add_uploads", "validate_upload"]

ALLOWED_SUFFIXES = (".html", ".htm", ".md", ".txt", ".jsonl")
MAX_UPLOAD_BYTES = 5 * 1024 * 1024


@dataclass
class UploadReport:
    """What happened to one batch of uploads."""

    added: list[str] = field(default_factory=list)  # doc_ids
    errors: list[str] = field(default_factory=list)  # one clear message per bad file


def _name(path: Path) -> str:
    return path.name or str(path)


def validate_upload(path: Path | str, max_bytes: int = MAX_UPLOAD_BYTES) -> str | None:
    """Return a friendly error message for a file we cannot accept, or ``None`` if it is fine.

    Checks the type (by extension), the size, that it decodes as UTF-8 text (no NUL bytes),
    that it is not empty and, for ``.jsonl``, that every line is a JSON object.
    """
    path = Path(path)
    name = _name(path)
    if path.suffix.lower() not in ALLOWED_SUFFIXES:
        kinds = " ".join(ALLOWED_SUFFIXES)
        return f"{name}：不支持的文件类型 / unsupported file type (accepted: {kinds})"
    try:
        size = path.stat().st_size
    except OSError:
        return f"{name}：无法读取文件 / cannot read the file"
    if size > max_bytes:
        mb = max_bytes / (1024 * 1024)
        return f"{name}：文件太大 / file too large ({size / 1048576:.1f} MB > {mb:g} MB)"
    if size == 0:
        return f"{name}：文件为空 / the file is empty"
    raw = path.read_bytes()
    if b"\x00" in raw:
        return f"{name}：不是文本文件 / not a text file (binary content)"
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return f"{name}：无法按 UTF-8 解码 / cannot be decoded as UTF-8 text"
    if not text.strip():
        return f"{name}：文件为空 / the file is empty"
    if path.suffix.lower() == ".jsonl":
        return _check_jsonl(name, text)
    return None


def _check_jsonl(name: str, text: str) -> str | None:
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj: Any = json.loads(line)
        except json.JSONDecodeError:
            return f"{name}：第 {n} 行不是合法 JSON / line {n} is not valid JSON"
        if not isinstance(obj, dict):
            return f"{name}：第 {n} 行不是 JSON 对象 / line {n} is not a JSON object"
        if not (obj.get("text") or obj.get("html")):
            return f"{name}：第 {n} 行缺少 text 或 html / line {n} has no text or html"
    return None


def add_uploads(
    assistant: Any, paths: list[Path | str], max_bytes: int = MAX_UPLOAD_BYTES
) -> UploadReport:
    """Validate ``paths`` and index the good ones incrementally; bad files change nothing."""
    report = UploadReport()
    good: list[Path] = []
    for p in paths:
        problem = validate_upload(p, max_bytes)
        if problem:
            report.errors.append(problem)
        else:
            good.append(Path(p))
    if good:
        result = assistant.add_files(good)
        report.added.extend(result.added)
        report.errors.extend(result.errors)
    return report
