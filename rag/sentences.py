"""Chinese-aware sentence boundaries as character spans into the original text."""

from __future__ import annotations

import re

TERMINATORS = "。！？!?；;…"
CLOSERS = "”’」』）)】》〉\"'"
CLAUSE_BREAKS = "，,、：:"
_END = re.compile(
    rf"(?:[{TERMINATORS}]+|\.(?=\s|$))[{re.escape(CLOSERS)}]*"
)
# a full stop after these (or after one letter: initials, U.S., U.K.; or after a list number
# opening a sentence, ``1. 出口…``) abbreviates, never ends
ABBREVIATIONS = {"mr", "mrs", "ms", "dr", "prof", "st", "jr", "sr", "gen", "sen", "rep", "gov",
                 "lt", "col", "capt", "mt", "no", "vs", "fig", "e.g", "i.e", "approx", "dept"}
_WORD_BEFORE = re.compile(r"(?:^|(?<=[\s(（“\"'‘]))([A-Za-z]+(?:\.[A-Za-z]+)*)$")


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans ``(start, end)``: ends at 。！？；… (closing quotes/brackets kept with their
    sentence) and at line breaks; surrounding whitespace is excluded, empty spans dropped."""
    spans: list[tuple[int, int]] = []
    pos = 0
    for line in text.split("\n"):
        line_start = pos
        cursor = 0
        for match in _END.finditer(line):
            if _abbreviation(line, cursor, match):
                continue
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


def _abbreviation(line: str, cursor: int, match: re.Match[str]) -> bool:
    """``Dr.``, ``U.S.``, ``J.`` (a full stop, nothing after it, ending a title or an
    initial), or ``1.`` opening a sentence (at ``cursor``): English text that ``Dr. Smith … the U.S.
    Department`` split into three. A number's full stop elsewhere ends (``in Q1. It``)."""
    if match.group(0) != ".":
        return False
    if line[cursor:match.start()].strip().isdigit():
        return True
    word = _WORD_BEFORE.search(line, 0, match.start())
    if word is None:
        return False
    last = word.group(1).rsplit(".", 1)[-1]
    return len(last) == 1 or word.group(1).lower() in ABBREVIATIONS


def _add(spans: list[tuple[int, int]], text: str, start: int, end: int) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        spans.append((start, end))
