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
            if _abbreviation(line, cursor, match) or inside_token(line, match.start()):
                continue
            _add(spans, text, line_start + cursor, line_start + match.end())
            cursor = match.end()
        _add(spans, text, line_start + cursor, line_start + len(line))
        pos += len(line) + 1
    return spans


def line_bounds(text: str, start: int, end: int | None = None) -> tuple[int, int]:
    """The newline-delimited line(s) of ``text`` around ``[start, end)`` (``end`` defaults to
    ``start``): where the first begins and where the last ends (its newline, or the end)."""
    line_end = text.find("\n", start if end is None else end)
    return text.rfind("\n", 0, start) + 1, len(text) if line_end < 0 else line_end


_TOKEN_MARKS = "?!;"  # ASCII marks a web address or code holds (…/register?lang=zh, a=1;b=2)
_TOKEN_NEXT = re.compile(r"[A-Za-z0-9=&%#/_-]")


def inside_token(text: str, i: int) -> bool:
    """The ASCII ``?``, ``!`` or ``;`` at ``text[i]`` sits inside a web address or code (an
    ASCII character before it and a letter, digit, ``=``, ``&``, ``/``… right after it), so
    it ends no sentence: 「官网：https://www.qcmarathon.org.cn/2025/register?lang=zh」 was
    cut into 「…register?」 and 「lang=zh」."""
    if i <= 0 or i + 1 >= len(text) or text[i] not in _TOKEN_MARKS:
        return False
    before = text[i - 1]
    return (before.isascii() and not before.isspace() and before not in _TOKEN_MARKS
            and bool(_TOKEN_NEXT.match(text, i + 1)))


_QUESTION_MARKS = "？?"


def in_question(text: str, start: int, end: int) -> bool:
    """``text[start:end]`` touches a sentence that asks (ends with 「？」 or "?", closing marks
    aside): an interviewer's 「记者：…出货量是多少？」, a 「问：…」 line, an FAQ heading. A
    question is no answer, and it shares the user's words: 「哪些人群应优先接种流感疫苗？」 was
    answered 「哪」 from 「问：哪些人群应优先接种流感疫苗？」 above the answer."""
    line_start, line_end = line_bounds(text, start, max(end - 1, start))
    for s, e in split_sentences(text[line_start:line_end]):
        s, e = s + line_start, e + line_start
        if s < max(end, start + 1) and start < e and \
                text[s:e].rstrip().rstrip(CLOSERS)[-1:] in _QUESTION_MARKS:
            return True
    return False


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


def stop_ends_sentence(text: str, i: int) -> bool:
    """The English full stop at ``text[i]`` ends a sentence (as `split_sentences` reads its
    line: before a space, not after ``Dr.``, ``U.S.``, a list number)."""
    if text[i] != "." or (i + 1 < len(text) and not text[i + 1].isspace()):
        return False
    line_start, line_end = line_bounds(text, i)
    for s, e in split_sentences(text[line_start:line_end]):
        if line_start + s <= i < line_start + e:
            return not text[i + 1:line_start + e].strip(CLOSERS)
    return False


_LEAD_IN = "：:"
_HEADING_CHARS = 40  # a line without a sentence end up to this long reads as a heading
_ITEM_CHARS = 60  # a line of one sentence up to this long reads as a list item
_FINAL = "。！？!?."
_NOTE_BRACKETS = {"（": "）", "(": ")", "【": "】", "〔": "〕", "[": "]"}
CELL_SEP = " | "  # between a table row's cells (rag/clean.py writes a row as one line)


def table_block(text: str, start: int, end: int, max_chars: int) -> tuple[int, int]:
    """``[start, end)`` widened, when it opens on a row of a table (a line of cells joined
    by `` | ``) below the table's first row, back to that first row, its header: a row was
    cited without it (「不良贷款率 | 1.28% | 1.32%」: which column is which date?). Unchanged
    when the snippet would exceed ``max_chars``."""
    line_start, line_end = line_bounds(text, start)
    if CELL_SEP not in text[line_start:line_end]:
        return start, end
    first = line_start
    while first > 0:
        above = text.rfind("\n", 0, first - 1) + 1
        if CELL_SEP not in text[above:first - 1]:
            break
        first = above
    if first == line_start or end - first > max_chars:
        return start, end
    return first, end


def heading_block(text: str, start: int, end: int, max_chars: int) -> tuple[int, int]:
    """``[start, end)`` widened, when it ends with a whole line that introduces or continues
    a list, over the rest of that list: a heading (「首末班车时间」: short, no sentence end, no
    「：」 in it) or a lead-in (「提醒市民：」) is followed by the short lines after it up to the
    one that ends a sentence, or else by the first sentence of the paragraph after it; a list
    item (「尽量避免在10时至16时外出；」) by the items after it. A snippet was the heading alone
    (「赛事亮点」). Unchanged when the snippet does not end a line, when nothing follows, when
    its line is the text's first (the headline), or beyond ``max_chars``."""
    line_start, line_end = line_bounds(text, end)
    if line_end == len(text) or text[end:line_end].strip():
        return start, end
    line = text[line_start:end].strip()
    last = line.rstrip(CLOSERS)[-1:]
    # the first line is the article's headline (a Markdown 「# 标题」, an <h1>), not a
    # section's: what follows it is the dateline or the lead, not its list
    if not line or last in _FINAL or not text[:line_start].strip():
        return start, end
    # a line in brackets is a note (「（2025年2月18日…通过，自2025年4月1日起施行）」,
    # 「（本报记者 孙立平）」), not a heading nor a list item: it carried a table of contents
    # a table's row (a line of cells) is no list item: the rows ran on through the next
    # section's heading and paragraph (「…20.8%\n二、利润分配预案\n公司拟以…」)
    if _NOTE_BRACKETS.get(line[0]) == line[-1] or CELL_SEP in line:
        return start, end
    heading = len(line) <= _HEADING_CHARS and not any(c in line for c in _LEAD_IN)
    introduces = heading or last in _LEAD_IN
    if not introduces and len(line) > _ITEM_CHARS:
        return start, end
    new_end = end
    pos = line_end + 1
    rows = False
    while pos < len(text):
        stop = text.find("\n", pos)
        stop = len(text) if stop < 0 else stop
        item = text[pos:stop].strip()
        if item:
            if rows and CELL_SEP not in item:
                break  # a heading's table ends at its last row
            rows = CELL_SEP in item
            sentences = split_sentences(text[pos:stop])
            if len(item) > _ITEM_CHARS or len(sentences) > 1:  # a paragraph: its first
                # sentence after a heading
                if introduces and new_end == end and sentences:
                    new_end = pos + sentences[0][1]
                break
            new_end = pos + sentences[-1][1]
            if item.rstrip(CLOSERS)[-1:] in _FINAL:
                break  # the list's last item
        pos = stop + 1
    if new_end - start > max_chars:
        return start, end
    return start, new_end


QUOTES = {"“": "”", "「": "」", "『": "』"}
_QUOTE_OPENING = {close: open_ for open_, close in QUOTES.items()}


def quoted_span(text: str, start: int, end: int, max_chars: int) -> tuple[int, int]:
    """``[start, end)`` (whole sentences) widened to whole sentences so that a quotation of
    several sentences is not cut: a quote opened in it and closed later in the same line,
    or closed in it and opened earlier in that line, is taken in whole (the snippet
    「表示：“12号线是…线路。」 lost its second sentence and closing mark). Unchanged when the
    other mark is not in the line or the widened span would exceed ``max_chars``."""
    a, b = start, end
    for _ in range(4):  # a widened span may hold another quote; a few rounds suffice
        unpaired = _unpaired_quote(text, a, b)
        if unpaired is None:
            break
        pos, mark = unpaired
        line_start, line_end = line_bounds(text, a, b)
        if mark == '"':
            partner = _straight_partner(text, line_start, line_end, pos)
        elif mark in QUOTES:
            partner = _closing_after(text, pos, line_end, mark)
        else:
            partner = _opening_before(text, line_start, pos, mark)
        if partner is None:
            break
        line = text[line_start:line_end]
        for s, e in split_sentences(line):
            s, e = s + line_start, e + line_start
            if s <= partner < e:
                a, b = min(a, s), max(b, e)
                break
        else:
            break
    if b - a > max_chars:
        return start, end
    return a, b


def snippet_span(text: str, start: int, end: int, max_chars: int) -> tuple[int, int]:
    """What a snippet of the sentence(s) ``[start, end)`` shows: with the list a heading or
    lead-in line introduces (`heading_block`), its table's header row (`table_block`) and
    the rest of a quotation it cuts (`quoted_span`), each within ``max_chars``."""
    start, end = heading_block(text, start, end, max_chars)
    start, end = table_block(text, start, end, max_chars)
    return quoted_span(text, start, end, max_chars)


def _unpaired_quote(text: str, a: int, b: int) -> tuple[int, str] | None:
    """The first closing quote in ``text[a:b]`` without its opening one, else the last
    opening quote without its closing one; else a straight ``"`` whose partner (they pair
    in order along the line) is outside it."""
    curly = _unpaired_curly(text, a, b)
    if curly is not None:
        return curly
    if text.count('"', a, b) % 2:
        line_start = line_bounds(text, a)[0]
        before = text.count('"', line_start, a)
        first = text.index('"', a, b)
        # the first one in the span closes a pair when an odd number precede it in the line
        return (first, '"') if before % 2 else (text.rindex('"', a, b), '"')
    return None


def _straight_partner(text: str, line_start: int, line_end: int, pos: int) -> int | None:
    """The ``"`` paired with the one at ``pos``: they pair in order along the line
    (1st with 2nd, 3rd with 4th); None when the line holds an odd number of them."""
    marks = [i for i in range(line_start, line_end) if text[i] == '"']
    if len(marks) % 2:
        return None
    k = marks.index(pos)
    return marks[k + 1] if k % 2 == 0 else marks[k - 1]


def _unpaired_curly(text: str, a: int, b: int) -> tuple[int, str] | None:
    stack: list[tuple[int, str]] = []
    for i in range(a, b):
        ch = text[i]
        if ch in QUOTES:
            stack.append((i, ch))
        elif ch in _QUOTE_OPENING:
            if stack and stack[-1][1] == _QUOTE_OPENING[ch]:
                stack.pop()
            elif not stack:
                return i, ch
    return stack[-1] if stack else None


def _closing_after(text: str, pos: int, stop: int, mark: str) -> int | None:
    depth, close = 0, QUOTES[mark]
    for i in range(pos + 1, stop):
        if text[i] == mark:
            depth += 1
        elif text[i] == close:
            if depth == 0:
                return i
            depth -= 1
    return None


def _opening_before(text: str, start: int, pos: int, mark: str) -> int | None:
    depth, open_ = 0, _QUOTE_OPENING[mark]
    for i in range(pos - 1, start - 1, -1):
        if text[i] == mark:
            depth += 1
        elif text[i] == open_:
            if depth == 0:
                return i
            depth -= 1
    return None


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
