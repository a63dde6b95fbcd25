"""Best answer span of one window from its start/end logits."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from rag.sentences import CELL_SEP, inside_token, line_bounds, stop_ends_sentence


@dataclass
class SpanScore:
    """A span's token range in its window, its logit score and the window's no-answer score."""

    start_token: int
    end_token: int
    score: float
    null_score: float


def best_span(
    start_logits: np.ndarray,
    end_logits: np.ndarray,
    context_mask: np.ndarray,
    max_answer_tokens: int,
) -> SpanScore | None:
    """Highest ``start + end`` logit pair over passage tokens with ``0 <= end - start <
    max_answer_tokens``; None when the window holds no passage token."""
    spans = best_spans(start_logits, end_logits, context_mask, max_answer_tokens)
    return spans[0] if spans else None


def best_spans(
    start_logits: np.ndarray,
    end_logits: np.ndarray,
    context_mask: np.ndarray,
    max_answer_tokens: int,
    groups: np.ndarray | None = None,
) -> list[SpanScore]:
    """The best span (as :func:`best_span`) starting in each group of passage tokens, best
    first; ``groups[i]`` is token i's group (e.g. its sentence), None puts all in one."""
    idx = np.flatnonzero(context_mask)
    if idx.size == 0:
        return []
    pair = start_logits[idx][:, None] + end_logits[idx][None, :]
    pos = idx[None, :] - idx[:, None]
    pair = np.where((pos >= 0) & (pos < max_answer_tokens), pair, -np.inf)
    ends = pair.argmax(axis=1)  # each start's best end (the first of equals)
    row_best = pair[np.arange(idx.size), ends]
    null = float(start_logits[0] + end_logits[0])
    token_group = np.zeros(idx.size, dtype=np.int64) if groups is None else groups[idx]
    spans = []
    for group in np.unique(token_group):
        rows = np.flatnonzero(token_group == group)
        i = int(rows[np.argmax(row_best[rows])])
        spans.append(SpanScore(int(idx[i]), int(idx[ends[i]]), float(row_best[i]), null))
    spans.sort(key=lambda sp: -sp.score)
    return spans


_SENTENCE_END = "。！？!?；;\n"
_EDGE = " \t\r\n\u3000，,、。．.；;：:！!？?|"  # | : a table cell's edge
# paired marks: quotes and book-title marks belong to what they enclose (「“安唐保」 is
# completed to 「“安唐保”」), brackets hold a gloss or an aside (「（4月29日至5月3日，共5天」 is
# the aside without its bracket, 「Qualcomm（高通」 gets its 「）」)
_QUOTES = {"“": "”", "‘": "’", "「": "」", "『": "』", "《": "》", "〈": "〉"}
_BRACKETS = {"（": "）", "(": ")", "【": "】", "[": "]", "〔": "〕"}
_PAIRS = {**_QUOTES, **_BRACKETS}
_CLOSING = {close: open_ for open_, close in _PAIRS.items()}
# a list number opening its line: 「1. 」「2、」「(3)」「（4）」, not 「1.5亿元」 nor 「1、2号线」
_LIST_NUMBER = re.compile(r"(?:\d{1,3}[.．、)）]|[（(]\d{1,3}[)）])\s*(?=[^\s\d])")
# a unit per unit after a quantity: 80公里/小时, 42.15元/股, 50米/秒, 3 km/h
_QUANTITY_END = re.compile(r"\d[\d.,，．]*\s?[^\W\d_]{1,4}$")
_UNITS = ["小时", "分钟", "秒", "分", "天", "日", "周", "月", "年", "季度",
          "人次", "人", "户", "股", "手", "吨", "千克", "公斤", "克", "斤",
          "升", "毫升", "立方米", "平方米", "平方公里", "亩", "公顷", "千米", "公里", "厘米",
          "毫米", "米", "千瓦时", "千瓦", "度", "次", "件", "台", "辆", "套",
          "张", "盒", "瓶", "桶", "袋", "箱", "份", "间", "床"]
_UNIT_ALTERNATIVES = "|".join(sorted(_UNITS, key=len, reverse=True))
# a reporting verb that ends the answer just before the comma or colon it opens: the answer
# is who speaks (「软科首席分析师罗志敏介绍，本次排名…」: 「罗志敏介绍」 → 「罗志敏」)
_SPEECH_VERB = re.compile(r"(?:介绍|表示|指出|透露|强调|坦言|说道)$")
_SPEECH_PAUSE = "，,：:"
_PER_UNIT = re.compile(rf"[/／](?:{_UNIT_ALTERNATIVES}|[A-Za-z]{{1,4}}(?![A-Za-z])[²³]?)")


def trim_answer(text: str, start: int, end: int) -> tuple[int, int]:
    """``text[start:end]`` as a short answer: cut at the first sentence end inside it (a short
    answer never runs into the next sentence: 「周八。星河科技成立于」 → 「周八」, nor an English
    one: "record in services. Our installed base" → "record in services") and without
    punctuation or spaces at either edge; without a list number opening its line (「1. 符合…」
    → 「符合…」); its quotes and brackets paired (`_pair_marks`); a quantity with the rest of
    its unit (「80公里」 before 「/小时」 → 「80公里/小时」); no reporting verb after the person who
    speaks (「辛杰介绍」 before 「，」 → 「辛杰」); unchanged if nothing would be left."""
    cut = end
    for i in range(start + 1, end):
        if (text[i] in _SENTENCE_END and not inside_token(text, i)) or (
                text[i] == "." and stop_ends_sentence(text, i)):
            cut = i
            break
    a, b = _strip(text, start, cut)
    if b <= a:
        return start, end
    if CELL_SEP in text[a:b]:  # one table cell: 「（元/股） | 1.86」 → 「1.86」
        a, b = _one_cell(text, a, b)
    if a == 0 or text[a - 1] == "\n":
        number = _LIST_NUMBER.match(text, a, b)
        if number:
            a = number.end()
    a, b = _whole_address(text, a, b)
    a, b = _pair_marks(text, a, b)
    verb = _SPEECH_VERB.search(text, a, b)
    if verb and b - a - len(verb[0]) >= 2 and text[b:b + 1] in tuple(_SPEECH_PAUSE):
        a, b = _strip(text, a, verb.start())
    if b > a and _QUANTITY_END.search(text, a, b):
        unit = _PER_UNIT.match(text, b)
        if unit:
            b = unit.end()
    return (a, b) if b > a else (start, end)


def _cells(text: str, a: int, b: int) -> list[tuple[int, int]]:
    """The table cells (``CELL_SEP``-separated) of ``text[a:b]``, stripped; empty ones left
    out."""
    cells = []
    pos = a
    while True:
        cut = text.find(CELL_SEP, pos, b)
        x, y = _strip(text, pos, b if cut < 0 else cut)
        if y > x:
            cells.append((x, y))
        if cut < 0:
            return cells
        pos = cut + len(CELL_SEP)


def _holds_digit(text: str, a: int, b: int) -> bool:
    return any(ch.isdigit() for ch in text[a:b])


def _one_cell(text: str, a: int, b: int) -> tuple[int, int]:
    """The first cell of ``text[a:b]`` (which crosses cells of a table row) holding a digit,
    a value, else its first cell: an answer is one cell, not 「（元/股） | 1.86」."""
    cells = _cells(text, a, b)
    if not cells:
        return a, b
    return next(((x, y) for x, y in cells if _holds_digit(text, x, y)), cells[0])


def row_value(text: str, start: int, end: int) -> tuple[int, int]:
    """A number asked for, answered inside the first cell of a table row (its label, or the
    unit in it: 「归属于上市公司股东的净利润（亿元）」 → 「亿元」), is the row's first cell
    holding a digit (「42.3」); unchanged when the answer is no such label or the row holds
    no number."""
    line_start, line_end = line_bounds(text, start)
    first = text.find(CELL_SEP, line_start, line_end)
    if first < 0 or end > first or _holds_digit(text, start, end):
        return start, end
    return next((cell for cell in _cells(text, first + len(CELL_SEP), line_end)
                 if _holds_digit(text, *cell)), (start, end))


# an e-mail address or a web address, and a telephone number (「+86 816 8899 1234」,
# 「0816-2345678」): a short answer inside one is all of it
_ADDRESS = re.compile(r"(?:https?://|www\.)[\w\-.~:/?#\[\]@!$&'*+,;=%]+|[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+",
                      re.ASCII)
_PHONE = re.compile(r"(?<![\w.+])(?:\+\d{1,3}(?:[ \-]?\d{1,5}){2,5}|\(?0\d{2,3}\)?[ \-]?\d{7,8}"
                    r"|[48]00[ \-]?\d{3}[ \-]?\d{4})(?![\w.])", re.ASCII)


def _whole_address(text: str, a: int, b: int) -> tuple[int, int]:
    """``[a, b)`` widened to the e-mail address, web address or telephone number it cuts
    (「qcmarathon」 of 「media@qcmarathon.org.cn」 → the address); unchanged otherwise."""
    line_start, line_end = line_bounds(text, a)
    for pattern in (_ADDRESS, _PHONE):
        for match in pattern.finditer(text, line_start, line_end):
            x, y = match.start(), match.end()
            while y > x and text[y - 1] in ".,;:!?)]'":  # the sentence's, not the address's
                y -= 1
            if x < b and a < y and (x < a or b < y) and a >= x - 1 and b <= y + 1:
                return min(a, x), max(b, y)
    return a, b


def _strip(text: str, a: int, b: int) -> tuple[int, int]:
    while a < b and text[a] in _EDGE:
        a += 1
    while b > a and text[b - 1] in _EDGE:
        b -= 1
    return a, b


def _pair_marks(text: str, a: int, b: int) -> tuple[int, int]:
    """No quote or bracket without its partner: a partner just outside the answer is taken in
    (a bracket opening the answer is dropped instead: the answer is what it encloses), one
    opening or closing the answer is dropped, and the answer is cut before a mark opened
    inside it and never closed (「22:30（周五」 → 「22:30」)."""
    for _ in range(8):  # each step removes a mark or completes a pair; a few suffice
        opened = _unpaired(text, a, b)
        if opened is None:
            return a, b
        pos, mark = opened
        if mark in _PAIRS:  # an opening mark without its closing one
            close = _PAIRS[mark]
            if b < len(text) and text[b] == close and not (pos == a and mark in _BRACKETS):
                b += 1
            elif pos == a:
                a = pos + 1
            else:
                b = pos
        else:  # a closing mark without its opening one
            open_ = _CLOSING[mark]
            if a > 0 and text[a - 1] == open_ and not (pos == b - 1 and open_ in _BRACKETS):
                a -= 1
            elif pos == b - 1:
                b = pos
            elif pos == a:
                a = pos + 1
            else:
                return a, b  # an aside closing inside the answer: left as read
        a, b = _strip(text, a, b)
        if b <= a:
            return a, b
    return a, b


def _unpaired(text: str, a: int, b: int) -> tuple[int, str] | None:
    """The first closing mark in ``text[a:b]`` without its opening one, else the last opening
    mark without its closing one, as (position, mark); None when all are paired."""
    stack: list[tuple[int, str]] = []
    for i in range(a, b):
        ch = text[i]
        if ch in _PAIRS:
            stack.append((i, ch))
        elif ch in _CLOSING:
            if stack and stack[-1][1] == _CLOSING[ch]:
                stack.pop()
            else:
                return i, ch
    return stack[-1] if stack else None
