"""Guess what a question asks for (number, date, person, organisation) and mark it in a snippet."""

from __future__ import annotations

import re

from rag.analyzer import Analyzer
from rag.textnorm import fold, fold_with_offsets

_QUESTION_TYPES: list[tuple[str, re.Pattern[str]]] = [
    ("date", re.compile(
        r"什么时候|何时|哪天|哪一天|哪年|哪一年|几月|几号|几日|哪个月|什么时间|日期|"
        r"\bwhen\b|what (?:year|date|day|month|time)|which (?:year|date|day|month)")),
    ("number", re.compile(
        r"多少|几[个家名位项种所次倍岁大万千亿]|几成|百分之|比例|占比|多大|多高|多长|"
        r"\bhow (?:many|much|large|big|long|old)\b|what (?:percentage|percent|share)|"
        r"number of")),
    ("person", re.compile(r"谁|哪位|何人|什么人|叫什么名字|姓名|\bwho\b|\bwhom\b|whose name")),
    ("organisation", re.compile(
        r"哪家|哪[个些所]?(?:机构|公司|企业|医院|平台|单位|组织|保险)|"
        r"什么(?:机构|公司|企业|医院|平台|单位|组织)|与谁合作|和谁合作|"
        r"which (?:company|companies|organi[sz]ation|hospital|firm|insurer|"
        r"platform|institution)|what (?:company|organi[sz]ation|hospital)")),
]
_DATE = re.compile(r"\d{4}年(?:\d{1,2}月(?:\d{1,2}日)?)?|\d{1,2}月\d{1,2}日|\d{1,2}月|"
                   r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|去年|今年|前年|明年|近日|日前")
_NUMBER = re.compile(
    r"(?:\d+(?:[.,]\d+)*|[一二两三四五六七八九十百千万亿]+(?=[个家名位项种次倍大成年万亿]))"
    r"\s*(?:%|‰|万亿|亿|万|千|百)?(?:元|人次|人|家|例|名|个|次|倍|岁|项|种|所|位|张|床|成|大|余|多)*")
_ORG_SUFFIX = re.compile(r"(?:公司|集团|医院|协会|联盟|委员会|大学|银行|研究院|中心|保险|卫健委|"
                         r"医疗|健康|平台)$")


def question_type(question: str) -> str | None:
    """'date' | 'number' | 'person' | 'organisation' | None."""
    folded = fold(question)
    for name, pattern in _QUESTION_TYPES:
        if pattern.search(folded):
            return name
    return None


def answer_spans(text: str, qtype: str | None, question: str,
                 analyzer: Analyzer) -> list[tuple[int, int]]:
    """Offsets inside ``text`` of candidate answers of ``qtype`` not already in the question."""
    if qtype is None:
        return []
    if qtype in ("date", "number"):
        spans = _regex_spans(text, _DATE if qtype == "date" else _NUMBER)
        if qtype == "number":  # digits of a date are not the quantity asked for
            dates = _regex_spans(text, _DATE)
            spans = [(s, e) for s, e in spans if not any(s < de and ds < e for ds, de in dates)]
    else:
        spans = _word_spans(text, qtype, analyzer)
    asked = fold(question)
    return [(s, e) for s, e in spans if fold(text[s:e]).strip() not in asked]


def _regex_spans(text: str, pattern: re.Pattern[str]) -> list[tuple[int, int]]:
    folded, offsets = fold_with_offsets(text)
    spans = []
    for match in pattern.finditer(folded):
        if match.end() > match.start():
            start, end = offsets[match.start()], offsets[match.end() - 1] + 1
            spans.append((start, end))
    return spans


def _word_spans(text: str, qtype: str, analyzer: Analyzer) -> list[tuple[int, int]]:
    spans = []
    pos = 0
    for pair in analyzer.posseg.cut(text):
        word, flag = pair.word, pair.flag
        start = text.find(word, pos)
        if start < 0:
            continue
        pos = start + len(word)
        if len(word.strip()) < 2:
            continue
        person = qtype == "person" and flag == "nr"
        if person or qtype == "organisation" and (flag == "nt" or _is_org_name(word)):
            spans.append((start, pos))
    return spans


def _is_org_name(word: str) -> bool:
    """A name ending in an organisation word, with at least two characters before it."""
    match = _ORG_SUFFIX.search(word)
    return bool(match) and match.start() >= 2
