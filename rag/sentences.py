"""Chinese-aware sentence boundaries as character spans into the original text."""

from __future__ import annotations

import re

TERMINATORS = "。！？!?；;…"
CLOSERS = "”’」』）)】》〉\"'"
CLAUSE_BREAKS = "，,、：:"
_END = re.compile(
    rf"(?:[{TERMINATORS}]+|\.(?=\s|$)(?<![0-9]\.))[{re.escape(CLOSERS)}]*"
)


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans ``(start, end)``: ends at 。！？；… (closing quotes/brackets kept with their
    sentence) and at line breaks; surrounding whitespace is excluded, empty spans dropped."""
    spans: list[tuple[int, int]] = []
    pos = 0
    for line in text.split("\n"):
        line_start = pos
        cursor = 0
        for match in _END.finditer(line):
            _add(spans, text, line_start + cursor, line_start + match.end())
            cursor = match.end()
        _add(spans, text, line_start + cursor, line_start + len(line))
        pos += len(line) + 1
    return spans


def split_long(text: str, start: int, end: int, max_chars: int) -> list[tuple[int, int]]:
    """Cut a span longer than ``max_chars`` at clause breaks (，、：), else hard, into pieces."""
    pieces: list[tuple[int, int]] = []
    while end - start > max_chars:
        window = text[start:start + max_chars]
        cut = max((window.rfind(ch) for ch in CLAUSE_BREAKS), default=-1)
        stop = start + (cut + 1 if cut >= max_chars // 3 else max_chars)
        pieces.append((start, stop))
        start = stop
    if end > start:
        pieces.append((start, end))
    return pieces


def _add(spans: list[tuple[int, int]], text: str, start: int, end: int) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        spans.append((start, end))
