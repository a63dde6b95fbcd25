"""Conversation-aware retrieval: rewrite a follow-up question so it carries its subject.

``contextualize("那它的CEO是谁？", ["京东健康和哪家机构成立了互联网医疗中心？"], analyzer)`` returns
``"那京东健康的CEO是谁？"``; a self-contained question comes back unchanged.

Subjects are found with the shared :class:`Analyzer`'s jieba part-of-speech tags:
proper nouns (people, places, organisations, abbreviations), quoted terms, capitalised or
acronym English words, and noun phrases that are not generic attribute words ("CEO", "价格").
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from rag.analyzer import Analyzer

__all__ = ["contextualize", "subjects"]

MAX_HISTORY = 6  # only the last few questions are searched for a subject
MAX_ELLIPSIS_CHARS = 24

_WORDS = json.loads((Path(__file__).with_name("resources") / "followup_words.json")
                    .read_text(encoding="utf-8"))
# Pronouns that point back to an earlier subject; the simple ones are replaced in place.
_ZH_PRONOUNS = frozenset(_WORDS["zh_pronouns"])
_ZH_SIMPLE = frozenset(_WORDS["zh_simple"])
_PLURAL = frozenset(_WORDS["plural"])
_EN_PRONOUNS = frozenset(_WORDS["en_pronouns"])
_EN_SIMPLE: dict[str, str] = _WORDS["en_simple"]
# Nouns that name an attribute or a generic thing rather than a subject of their own.
_GENERIC = frozenset(_WORDS["generic"])
_EN_STOP = frozenset(_WORDS["en_stop"]) | _EN_PRONOUNS
# Tags that end a phrase (particles, conjunctions, prepositions, pronouns, adverbs, numbers...).
_BREAK_TAGS = frozenset(_WORDS["break_tags"])
_BREAK_WORDS = frozenset(_WORDS["break_words"])
_STRONG_TAGS = frozenset(_WORDS["strong_tags"])
_VERB_TAGS = frozenset(_WORDS["verb_tags"])

_QUOTED = re.compile(r"[“\"「『《‘](.{1,30}?)[”\"」』》’]")
_ZH_ELLIPSIS = re.compile(
    r"^\s*(?:那么|那|还有|而|另外)?\s*(?P<x>[^，。？?！!,.;；]{1,"
    + str(MAX_ELLIPSIS_CHARS)
    + r"}?)\s*的?\s*呢\s*[？?！!。.]*\s*$"
)
_EN_ELLIPSIS = re.compile(
    r"^\s*(?:and\s+|so\s+)?(?:what|how)\s+about\s+(?P<x>[^?.!]{1,60}?)\s*[?.!]*\s*$"
    r"|^\s*and\s+(?P<y>[^?.!]{1,40}?)\s*\?\s*$",
    re.IGNORECASE,
)
_CJK = re.compile(r"[\u3400-\u9fff]")
# what may trail a question after its last word: punctuation, emoji, "～", "…" (closing
# quotes and brackets stay: they belong to a quoted subject)
_TAIL = re.compile(r"[^\w」』”’》)）\]]+$")
_WORD = re.compile(r"[^\W_]")  # a letter, digit or Chinese character


@dataclass
class _Phrase:
    text: str
    start: int  # character offset in the question
    strong: bool


@dataclass
class _Analysis:
    phrases: list[_Phrase]
    pronouns: list[tuple[int, str]]  # (offset, token)

    @property
    def has_subject(self) -> bool:
        return bool(self.phrases)

    def first_strong(self) -> int | None:
        starts = [p.start for p in self.phrases if p.strong]
        return min(starts) if starts else None

    def primary(self) -> str | None:
        """The subject to carry over: the first strong phrase, else the first noun phrase."""
        for p in self.phrases:
            if p.strong:
                return p.text
        return self.phrases[0].text if self.phrases else None


def _is_generic(text: str) -> bool:
    return text.strip().lower() in _GENERIC


def _en_word_strong(word: str) -> bool:
    # a capital anywhere makes a name: "BYD", "Xiaomi", and "iPhone", "iFlytek", "eBay"
    return bool(re.search(r"\d", word)) or any(c.isupper() for c in word)


def _analyse(question: str, analyzer: Analyzer) -> _Analysis:
    """Split a question into candidate subject phrases and pronoun mentions."""
    tokens: list[tuple[str, str, int]] = []
    pos = 0
    for pair in analyzer.posseg.cut(question):
        word, flag = pair.word, pair.flag
        start = question.find(word, pos)
        start = pos if start < 0 else start
        pos = start + len(word)
        tokens.append((word, flag, start))

    phrases: list[_Phrase] = []
    pronouns: list[tuple[int, str]] = []
    run: list[tuple[str, str, int]] = []

    def flush() -> None:
        # Drop leading/trailing verbs and adverbs: they belong to the predicate.
        while run and run[0][1] in _VERB_TAGS:
            run.pop(0)
        while run and run[-1][1] in _VERB_TAGS:
            run.pop()
        # "founded Ping An agree" -> "Ping An": lowercase words around a name are the predicate.
        if any(f == "eng" and _en_word_strong(w) for w, f, _ in run):
            while len(run) > 1 and run[-1][1] == "eng" and not _en_word_strong(run[-1][0]):
                run.pop()
            while len(run) > 1 and run[0][1] == "eng" and not _en_word_strong(run[0][0]):
                run.pop(0)
        if run:
            start = run[0][2]
            end = run[-1][2] + len(run[-1][0])
            text = question[start:end].strip()
            words = [w for w, _, _ in run if w.strip()]
            if text and not all(_is_generic(w) for w in words) and not _is_generic(text):
                strong = any(
                    f in _STRONG_TAGS or (f == "eng" and _en_word_strong(w)) for w, f, _ in run
                )
                phrases.append(_Phrase(text, start, strong))
        run.clear()

    for k, (word, flag, start) in enumerate(tokens):
        low = word.lower()
        is_cjk = bool(_CJK.search(word))
        if word.isascii() and word.isdigit():
            # a number is part of a name: after an English word ("Line 16 phase 2", "Xiaomi
            # 13 Ultra", "iPhone 15" lost their numbers: "How long is it?" → "How long is
            # Line?"), or typed onto the Chinese noun it numbers (「16号线」 → 「号线」)
            after = tokens[k + 1] if k + 1 < len(tokens) else None
            if (run and run[-1][1] == "eng") or (
                    after is not None and after[2] == start + len(word)
                    and _CJK.search(after[0]) and after[1].startswith("n")
                    and after[1] not in _BREAK_TAGS):
                if run and _CJK.search(run[-1][0]):
                    flush()
                run.append((word, "eng" if run and run[-1][1] == "eng" else "m", start))
                continue
        if flag == "eng" or (not is_cjk and re.fullmatch(r"[A-Za-z][\w\-]*", word)):
            if low in _EN_PRONOUNS:
                pronouns.append((start, low))
            # A capitalised stop word inside a name ("Ping An") is part of the name.
            in_name = word[:1].isupper() and start > 0 and bool(run) and low not in _EN_PRONOUNS
            if low in _EN_STOP and not in_name:
                flush()
                continue
            if run and _CJK.search(run[-1][0]):
                flush()  # a script change starts a new phrase
            run.append((word, "eng", start))
            continue
        if not word.strip():
            continue  # whitespace joins English words of one phrase
        if word in _ZH_PRONOUNS or flag.startswith("r") and word[-1:] in "它他她":
            pronouns.append((start, word))
        if flag in _BREAK_TAGS or flag.startswith("r") or word in _BREAK_WORDS:
            flush()
            continue
        if run and run[-1][1] == "eng":
            flush()
        run.append((word, flag, start))
    flush()

    for m in _QUOTED.finditer(question):  # quoted terms are subjects in their own right
        inner = m.group(1).strip()
        if inner and not _is_generic(inner):
            phrases = [p for p in phrases if not (m.start() <= p.start < m.end())]
            phrases.append(_Phrase(inner, m.start(1), True))
    phrases.sort(key=lambda p: p.start)
    return _Analysis(phrases, pronouns)


def _ellipsis(question: str, analyzer: Analyzer) -> str | None:
    """The new subject of a "那X呢？" / "What about X?" question, if it is one. What trails
    its last word is read as "?" when it holds a question mark, else as nothing: "那平安健康呢😀"
    and "那平安健康呢～" were no follow-ups, and "What about X…" made "X…" the subject."""
    tail = _TAIL.search(question)
    if tail:
        question = question[:tail.start()] + ("?" if re.search("[?？]", tail[0]) else "")
    m = _ZH_ELLIPSIS.match(question) or _EN_ELLIPSIS.match(question)
    if not m:
        return None
    x = (m.groupdict().get("x") or m.groupdict().get("y") or "").strip()
    if not x:
        return None
    analysis = _analyse(x, analyzer)
    if not analysis.has_subject:
        return None
    first = analysis.phrases[0].start
    if any(offset < first for offset, _ in analysis.pronouns):
        # "它的净利润呢？" asks about the earlier subject's 净利润, not about a new
        # subject "它的净利润" (it replaced 星辰电子 in the earlier question:
        # 「它的净利润一季度营收多少？」)
        return None
    return x


def subjects(question: str, analyzer: Analyzer) -> list[str]:
    """The subject phrases jieba finds in ``question`` (strong ones first)."""
    x = _ellipsis(question, analyzer)
    if x:
        return [x]
    phrases = _analyse(question, analyzer).phrases
    return [p.text for p in sorted(phrases, key=lambda p: (not p.strong, p.start))]


def _previous_subject(history: list[str], analyzer: Analyzer, plural: bool = False
                      ) -> str | None:
    """The primary subject of the latest question that has one (all strong ones if plural)."""
    for past in reversed(history[-MAX_HISTORY:]):
        found = subjects(past, analyzer)
        if not found:
            continue
        if plural:
            strong = [p.text for p in _analyse(past, analyzer).phrases if p.strong][:3]
            if len(strong) > 1:
                return (" and " if not _CJK.search("".join(strong)) else "和").join(strong)
        return found[0]
    return None


def _replace_pronoun(question: str, analysis: _Analysis, subject: str) -> str | None:
    """Substitute the first simple pronoun ("它", "its") with the subject, if there is one."""
    for offset, token in analysis.pronouns:
        if token in _EN_SIMPLE:
            m = re.compile(rf"\b{token}\b", re.IGNORECASE).search(question, offset)
            if m:
                return question[: m.start()] + subject + _EN_SIMPLE[token] + question[m.end():]
        core = token[1:] if token[:1] == "那" and token[1:] in _ZH_SIMPLE else token
        if core in _ZH_SIMPLE:
            at = question.find(core, offset)
            if at >= 0:
                return question[:at] + subject + question[at + len(core):]
    return None


def contextualize(question: str, history: list[str] | None, analyzer: Analyzer) -> str:
    """Return a search query for ``question`` that carries the conversation's subject.

    A follow-up (a pronoun before any subject of its own, no subject at all, or an
    elliptical "那X呢？" / "What about X?") gets the subject of the most recent previous
    question that had one; a self-contained question is returned unchanged, and so is a
    message without a word ("👍", "？？"): it asks nothing about the subject.
    """
    past = [h for h in (history or []) if h and h.strip()][-MAX_HISTORY:]
    if not past or not question or not _WORD.search(question):
        return question

    new_subject = _ellipsis(question, analyzer)
    if new_subject:
        previous = contextualize(past[-1], past[:-1], analyzer)
        old = _previous_subject([previous], analyzer)
        if old and old in previous and new_subject not in previous:
            return previous.replace(old, new_subject, 1)
        return f"{new_subject} {previous}"

    analysis = _analyse(question, analyzer)
    first_strong = analysis.first_strong()
    early_pronoun = any(
        first_strong is None or offset < first_strong for offset, _ in analysis.pronouns
    )
    if analysis.has_subject and not early_pronoun:
        return question  # self-contained
    plural = any(token in _PLURAL for _, token in analysis.pronouns)
    subject = _previous_subject(past, analyzer, plural)
    if not subject or subject in question:
        return question
    return _replace_pronoun(question, analysis, subject) or f"{subject} {question}"
