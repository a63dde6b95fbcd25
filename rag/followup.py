"""Conversation-aware retrieval: rewrite a follow-up question so it carries its subject.

``contextualize("那它的CEO是谁？", ["京东健康和哪家机构成立了互联网医疗中心？"], analyzer)`` returns
``"那京东健康的CEO是谁？"``; a self-contained question comes back unchanged.

Subjects are found with the shared :class:`Analyzer`'s jieba part-of-speech tags:
proper nouns (people, places, organisations, abbreviations), quoted terms, capitalised or
acronym English words, and noun phrases that are not generic attribute words ("CEO", "价格").
An elliptical 「那X呢？」 replaces what X stands beside in the earlier question as searched: a
part of its subject with the same head (女子组 → 「女子组冠军是谁？」), its attribute (拨备覆盖率 →
「华岳银行的拨备覆盖率是多少？」), a date, number or place (二季度, 7号线, 国内), else its subject.
"""

from __future__ import annotations

import json
import re
import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from rag.analyzer import Analyzer

__all__ = ["contextualize", "subjects"]

MAX_HISTORY = 6  # only the last few questions are searched for a subject
MAX_ELLIPSIS_CHARS = 24

_CJK = re.compile(r"[\u3400-\u9fff]")
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
# Last characters of metric nouns (不良贷款率, 销售额, 出货量): such a term is an attribute.
_ATTR_SUFFIXES = frozenset(_WORDS["attribute_suffixes"])
_QUESTION_WORDS = frozenset(_WORDS["question_words"])
_INTERROGATIVES = tuple(_WORDS["interrogatives"])
_EN_MONTHS = frozenset(_WORDS["en_months"])
# Tag prefixes that end a segment of the earlier question a follow-up's term is matched in
# (pronouns and question words, particles, prepositions, conjunctions, punctuation).
_SEGMENT_BREAK = ("r", "u", "p", "c", "y", "e", "o", "x", "w")
_ZH_GENERIC_TAILS = tuple(sorted((g for g in _GENERIC if _CJK.search(g) and len(g) > 1),
                                 key=len, reverse=True))

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
# what may trail a question after its last word: punctuation, emoji, "～", "…" (closing
# quotes and brackets stay: they belong to a quoted subject)
_TAIL = re.compile(r"[^\w」』”’》)）\]]+$")
_WORD = re.compile(r"[^\W_]")  # a letter, digit or Chinese character


# a question as searched, and the subject it carries when jieba would not find it there
_Asked = tuple[str, "str | None"]


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


# each earlier question is read by several rules at each turn: its words are kept (per
# analyzer, without keeping a dropped analyzer alive)
_CUTS: weakref.WeakKeyDictionary[Analyzer, OrderedDict[str, tuple]] = weakref.WeakKeyDictionary()
_CUTS_LOCK = threading.Lock()
_CUTS_KEPT = 256


def _tokens(question: str, analyzer: Analyzer) -> list[tuple[str, str, int]]:
    """jieba's (word, tag, offset) triples of ``question``."""
    with _CUTS_LOCK:
        kept = _CUTS.setdefault(analyzer, OrderedDict())
        found = kept.get(question)
        if found is not None:
            kept.move_to_end(question)
            return list(found)
    found = _cut(analyzer, question)
    with _CUTS_LOCK:
        kept[question] = found
        while len(kept) > _CUTS_KEPT:
            kept.popitem(last=False)
    return list(found)


def _cut(analyzer: Analyzer, question: str) -> tuple[tuple[str, str, int], ...]:
    tokens: list[tuple[str, str, int]] = []
    pos = 0
    for pair in analyzer.posseg.cut(question):
        word, flag = pair.word, pair.flag
        start = question.find(word, pos)
        start = pos if start < 0 else start
        pos = start + len(word)
        tokens.append((word, flag, start))
    return tuple(tokens)


def _analyse(question: str, analyzer: Analyzer) -> _Analysis:
    """Split a question into candidate subject phrases and pronoun mentions."""
    tokens = _tokens(question, analyzer)

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
        if run and (run[-1][1] == "eng" or flag == "v" and run[-1][1] in _STRONG_TAGS):
            # a verb after a name starts the predicate: 「台风海鹰登陆时最大风力多少级？」 had the
            # subject 「台风海鹰登陆时最大风力」 (「它什么时候减弱…」 searched it)
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


def _ellipsis_term(question: str) -> str | None:
    """The X of a "那X呢？" / "What about X?" question, whatever X is. What trails its last
    word is read as "?" when it holds a question mark, else as nothing: "那平安健康呢😀" and
    "那平安健康呢～" were no follow-ups, and "What about X…" made "X…" the subject."""
    tail = _TAIL.search(question)
    if tail:
        question = question[:tail.start()] + ("?" if re.search("[?？]", tail[0]) else "")
    m = _ZH_ELLIPSIS.match(question) or _EN_ELLIPSIS.match(question)
    if not m:
        return None
    x = (m.groupdict().get("x") or m.groupdict().get("y") or "").strip()
    if any(word in x for word in _INTERROGATIVES):
        # 「星辰电子的净利润是多少呢？」 asks on its own: it searched 「星辰电子的净利润是多少的
        # 净利润是多少？」 after 「华岳银行的净利润是多少？」
        return None
    return x or None


def _ellipsis(question: str, analyzer: Analyzer) -> str | None:
    """The new subject of a "那X呢？" / "What about X?" question, if it is one."""
    x = _ellipsis_term(question)
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


def _common_suffix(a: str, b: str) -> int:
    n = 0
    while n < min(len(a), len(b)) and a[-1 - n] == b[-1 - n]:
        n += 1
    return n


def _segments(tokens: list[tuple[str, str, int]]) -> list[list[tuple[str, str, int]]]:
    """Runs of content words: what one noun phrase of the question can span."""
    segments: list[list[tuple[str, str, int]]] = [[]]
    for token in tokens:
        word, flag, _ = token
        if (not word.strip() or flag.startswith(_SEGMENT_BREAK) or word in _BREAK_WORDS
                or word in _QUESTION_WORDS or word in _ZH_PRONOUNS
                or word.lower() in _EN_STOP or flag == "eng"):
            segments.append([])
        else:
            segments[-1].append(token)
    return [s for s in segments if s]


def _same_head(previous: str, term: str, analyzer: Analyzer) -> tuple[int, int] | None:
    """The span of ``previous`` that the Chinese ``term`` stands beside: the words ending in
    the same head (女子组 / 男子组冠军's 男子组, 拨备覆盖率 / 不良贷款率, 半程 / 全程马拉松's 全程,
    二季度 / 一季度), from the word boundary that makes it about as long as ``term``."""
    if not _CJK.search(term[-1:]):
        return None
    best: tuple[int, int, int] | None = None  # (shared characters, start, end)
    for segment in _segments(_tokens(previous, analyzer)):
        for i, (word, flag, start) in enumerate(segment):
            n = _common_suffix(word, term)
            if n == 0 or n >= len(term) or (best and n <= best[0]) or not (
                    _nounish(flag) or word in _ATTR_SUFFIXES):
                continue  # 「副局长」 is not beside 「增长」
            end = start + len(word)
            begin = min((s for _, _, s in segment[: i + 1]),
                        key=lambda s: (abs(end - s - len(term)), end - s))
            best = (n, begin, end)
    return (best[1], best[2]) if best else None


def _nounish(flag: str) -> bool:
    """Nouns, numbers and measures, times, places, abbreviations, English words."""
    return flag.startswith(("n", "m", "q", "t", "s", "j", "b", "f")) or flag in ("vn", "eng")


def _attribute_word(word: str) -> bool:
    low = word.strip().lower()
    if low in _GENERIC:
        return True
    return bool(_CJK.search(low)) and len(low) > 1 and (
        low[-1] in _ATTR_SUFFIXES or low.endswith(_ZH_GENERIC_TAILS))


def _is_attribute(term: str, analyzer: Analyzer) -> bool:
    """"净利润", "拨备覆盖率", "CFO", "net profit": a metric or role, no name of its own."""
    tokens = [t for t in _tokens(term, analyzer) if t[0].strip()]
    # a name makes it a subject (「招商银行」), not an abbreviation's tag: 「研发投入」 is 研发/j
    if not tokens or any(f in _STRONG_TAGS and f != "j" or (
            f == "eng" and _en_word_strong(w) and not _is_generic(w)) for w, f, _ in tokens):
        return False
    return _attribute_word(tokens[-1][0]) or _attribute_word(term)


def _attribute_span(previous: str, analyzer: Analyzer) -> tuple[int, int] | None:
    """The span of the attribute ``previous`` asks about (不良贷款率, 营收, CEO, net profit):
    its last attribute word, with the words before it that are no part of its subject."""
    phrases = _analyse(previous, analyzer).phrases
    subject = next((p for p in phrases if p.strong), phrases[0] if phrases else None)
    if subject is None:
        return None
    subject_end = subject.start + len(subject.text)
    tokens = _tokens(previous, analyzer)
    for k in range(len(tokens) - 1, -1, -1):
        word, flag, start = tokens[k]
        single = len(word) == 1 and word in _ATTR_SUFFIXES and k > 0
        if start == subject.start or flag in _STRONG_TAGS or not (
                single or _is_generic(word) or _attribute_word(word) and _nounish(flag)):
            continue  # 「增长」 is no attribute
        begin, j = start, k - 1
        extend = single or not flag.startswith("n")
        while j >= 0:
            w, f, s = tokens[j]
            if not w.strip() and f != "eng" and tokens[k][1] == "eng":
                j -= 1  # the space between two English words
                continue
            english = f == "eng" and w.islower() and w not in _EN_STOP
            # a plain noun before a tail jieba tags as a verb or a lone character (营业收入,
            # 不良贷款率, 首席技术官), not 「什么时候面向企业」's 面向; 「总奖金」's 总 (b or n)
            chinese = bool(_CJK.search(w)) and ((f == "b" or len(w) == 1 and f == "n") or (
                extend and (f.startswith("n") or single and f == "v")
                and f not in _STRONG_TAGS and not _is_generic(w)))
            if not (english or chinese) or (english != (tokens[k][1] == "eng")):
                break
            if subject.start <= s < subject_end and not (single and j == k - 1):
                break  # the subject's own words: 星辰电子营收 keeps 星辰电子
            begin, j = s, j - 1
            single = False
        return begin, start + len(word)
    return None


def _same_shape(previous: str, term: str) -> tuple[int, int] | None:
    """"Q2" beside "Q1", "Line 7" beside "Line 6", 「7号线一期」 beside 「6号线」: the one
    place of ``previous`` that reads as the term's numbered start with other digits."""
    m = re.match(r"(?:(?:in|on|for|at|of|the)\s+)*(.*)", term, re.IGNORECASE)
    term = m[1] if m else term
    digits = re.search(r"\d+", term)
    if not digits:
        return None
    for end in range(len(term), digits.end() - 1, -1):
        head = term[:end]
        if not head[-1:].strip() or not re.search(r"[^\W\d_]", head):
            continue
        pattern = re.sub(r"\\d\+|\d+", r"\\d+", re.escape(head))
        # not inside a longer number or English word
        found = [f for f in re.finditer(rf"(?<![0-9A-Za-z.]){pattern}", previous, re.IGNORECASE)
                 if f[0].lower() != head.lower() and not (
                     head[-1:].isascii() and re.match(r"[0-9A-Za-z]", previous[f.end():][:1]))]
        if len(found) == 1:
            return found[0].start(), found[0].end()
    return None


def _same_slot(previous: str, term: str, analyzer: Analyzer) -> tuple[int, int] | None:
    """「国内」 beside 「海外」, 「明年」 beside 「今年」, "in April" beside "in May": a one-word
    place or time term stands for the one word of ``previous`` of the same kind."""
    words = re.findall(r"[A-Za-z]+", term)
    if words and words[-1].lower() in _EN_MONTHS and all(
            w.lower() in _EN_STOP for w in words[:-1]):
        # "And in April?" after "How many cars did it deliver in May?"
        found = [m.span() for m in re.finditer(r"[A-Za-z]+", previous)
                 if m[0].lower() in _EN_MONTHS and m[0][:1].isupper() and (
                     re.search(r"\b(?:in|of|on|for|since|by|until|before|after|during)\s+$",
                               previous[:m.start()], re.IGNORECASE)
                     or re.match(r"\s*\d", previous[m.end():]))]  # not "May I ask"
        return found[0] if len(found) == 1 else None
    tokens = [t for t in _tokens(term, analyzer) if t[0].strip()]
    if len(tokens) != 1 or tokens[0][1] not in ("s", "t"):
        return None
    found = [(s, s + len(w)) for w, f, s in _tokens(previous, analyzer) if f == tokens[0][1]]
    return found[0] if len(found) == 1 else None


def _swap_parallel(earlier: _Asked, term: str, analyzer: Analyzer) -> _Asked | None:
    """The earlier question asking about ``term`` instead of the part it stands beside (a
    part of the subject, the attribute, a date), or None when ``term`` is a new subject."""
    previous = earlier[0]
    if _analyse(term, analyzer).pronouns:
        return None  # 「它的净利润呢？」 keeps the earlier subject another way
    if not _CJK.search(term):  # "And in April?" stands for "May", not for "in May"
        words = term.split()
        while len(words) > 1 and words[0].lower() in _EN_STOP:
            words.pop(0)
        term = " ".join(words)
    owner, _, attribute = term.rpartition("的")
    if owner.strip() and attribute.strip() and _is_attribute(attribute, analyzer):
        # 「星辰电子的营收呢？」 after 「华岳银行的净利润是多少？」: both parts change
        swapped = _swap_parallel(earlier, attribute.strip(), analyzer)
        old = swapped and _subject_core(_previous_subject([swapped], analyzer), analyzer)
        if not swapped or not old or old not in swapped[0]:
            return None
        return swapped[0].replace(old, owner.strip(), 1), owner.strip()
    span = (_same_shape(previous, term) or _same_head(previous, term, analyzer)
            or _same_slot(previous, term, analyzer))
    if span is None and _is_attribute(term, analyzer):
        span = _attribute_span(previous, analyzer)
        if span is None:
            # 「明年规模呢？」 after 「青川马拉松有多少名跑者参赛？」: the subject's attribute
            subject = _subject_core(_previous_subject([earlier], analyzer), analyzer)
            if not subject:
                return None
            if _CJK.search(term + subject):
                return f"{subject}的{term}呢？", subject
            return f"What about {subject}'s {term}?", subject
    if span is None:
        return None
    start, end = span
    query = previous[:start] + term + previous[end:]
    # a part of the subject replaced (女子组 → 女子组冠军, 飞驰汽车, Line 7) makes the new
    # subject; another part (the attribute, a date) keeps the earlier one
    subject = earlier[1]
    if subject and subject in previous:
        first = previous.find(subject)
        last = first + len(subject)
    else:
        phrases = _analyse(previous, analyzer).phrases
        main = next((i for i, p in enumerate(phrases) if p.strong), 0 if phrases else None)
        if main is None:
            return query, subject
        first = phrases[main].start
        last = first + len(phrases[main].text)
        for p in phrases[main + 1:]:  # a number typed after a name continues it: 青川地铁|6号线
            if p.start != last:
                break
            last = p.start + len(p.text)
    if start >= last or end <= first:
        return query, subject
    return query, _subject_core(
        previous[min(first, start):start] + term + previous[end:max(last, end)], analyzer)


def _subject_core(subject: str | None, analyzer: Analyzer) -> str | None:
    """The subject without the attribute words that close it: 「星辰电子总部」 → 星辰电子."""
    if not subject:
        return subject
    tokens = [t for t in _tokens(subject, analyzer) if t[0].strip()]
    while len(tokens) > 1 and _is_generic(tokens[-1][0]):
        tokens.pop()
    return subject[: tokens[-1][2] + len(tokens[-1][0])] if tokens else subject


def subjects(question: str, analyzer: Analyzer) -> list[str]:
    """The subject phrases jieba finds in ``question`` (strong ones first)."""
    x = _ellipsis(question, analyzer)
    if x:
        return [x]
    phrases = _analyse(question, analyzer).phrases
    return [p.text for p in sorted(phrases, key=lambda p: (not p.strong, p.start))]


def _previous_subject(history: list[_Asked], analyzer: Analyzer, plural: bool = False
                      ) -> str | None:
    """The primary subject of the latest question that has one (all strong ones if plural)."""
    for past, subject in reversed(history[-MAX_HISTORY:]):
        if subject and not plural:
            return subject  # 「那飞驰汽车呢？」's 飞驰汽车 (jieba reads 飞驰 as a verb)
        phrases = _analyse(past, analyzer).phrases
        found = [p.text for p in sorted(phrases, key=lambda p: (not p.strong, p.start))]
        if not found:
            continue
        if plural:
            strong = [p.text for p in phrases if p.strong][:3]
            if len(strong) > 1:
                return (" and " if not _CJK.search("".join(strong)) else "和").join(strong)
        return subject or found[0]
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


# a question asking who someone is: 「京东健康的CEO是谁？」, 「谁是京东健康的CEO？」, "Who is the
# CEO of JD Health?"; he or she in the next question is that person
_ZH_WHO = re.compile(r"^那?(?P<np>[^，,。？?！!\s]{2,30}?)(?:是|为)谁呢?[？?]?$"
                     r"|^谁是(?P<np2>[^，,。？?！!\s]{2,30}?)呢?[？?]?$")
_EN_WHO = re.compile(r"^\s*who\s+(?:is|was)\s+(?P<np>[^?!.]{2,80}?)\s*\??\s*$", re.IGNORECASE)
_ZH_PERSON = re.compile(r"[他她](?!们)")
_EN_PERSON = re.compile(r"\b(?:(?P<pos>his)|(?P<her>her)|he|she|him)\b(?P<next>\s+[A-Za-z]+)?",
                        re.IGNORECASE)
_EN_AFTER_OBJECT = frozenset({"to", "for", "in", "on", "at", "with", "from", "by", "and", "or",
                              "about", "as", "be", "been", "is", "was", "do", "does", "did"})


# 「该公司」, 「这家企业」, 「此平台」: a demonstrative and the kind of thing the subject is
_ZH_DEMONSTRATIVE = re.compile(r"(?:该|这家|这个|此)(?:公司|企业|集团|机构|平台|医院|银行|产品)")


def _replace_demonstrative(question: str, subject: str) -> str | None:
    """``question`` with its first 「该公司」-like phrase made ``subject`` (「该公司的首席执行官是
    谁？」 → 「星辰电子的首席执行官是谁？」, not 「星辰电子 该公司的…」); None without one."""
    m = _ZH_DEMONSTRATIVE.search(question)
    return question[:m.start()] + subject + question[m.end():] if m else None


def _asked_person(previous: str) -> str | None:
    """The person an earlier who-question asked about (「京东健康的CEO」, "the CEO of JD
    Health"), else None."""
    m = _ZH_WHO.match(previous.strip())
    if m:
        return m.group("np") or m.group("np2")
    m = _EN_WHO.match(previous)
    return m.group("np") if m else None


def _replace_person(question: str, person: str) -> str | None:
    """``question`` with its first he/she (他, 她; he, she, him, his, her) made ``person``;
    None without one."""
    if _CJK.search(question):
        m = _ZH_PERSON.search(question)
        return question[:m.start()] + person + question[m.end():] if m else None
    m = _EN_PERSON.search(question)
    if not m:
        return None
    after = m.group("next") or ""
    possessive = bool(m.group("pos")) or bool(
        m.group("her") and after and after.strip().lower() not in _EN_AFTER_OBJECT)
    end = m.start("next") if after else m.end()
    return question[:m.start()] + person + ("'s" if possessive else "") + question[end:]


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
    # each earlier question as it was searched: after 「拨备覆盖率呢？」 (华岳银行's), 「它的董事长
    # 是谁？」 asked 「拨备覆盖率的董事长是谁？」
    resolved: list[_Asked] = []
    for earlier in past:
        resolved.append(_resolve(earlier, resolved, analyzer))
    return _resolve(question, resolved, analyzer)[0]


def _resolve(question: str, past: list[_Asked], analyzer: Analyzer) -> _Asked:
    """``question`` as searched after ``past`` (the earlier questions as searched), and the
    subject it gave itself when jieba would not find it in that query (else None)."""
    if not past or not _WORD.search(question):
        return question, None
    term = _ellipsis_term(question)
    if term:
        previous = past[-1][0]
        # 「那女子组呢？」 after 「男子组冠军是谁？」 asks 「女子组冠军是谁？」 (not
        # 「女子组是谁？」); 「拨备覆盖率呢？」 after 「华岳银行的不良贷款率是多少？」
        # keeps 华岳银行
        swapped = None if term in previous else _swap_parallel(past[-1], term, analyzer)
        if swapped:
            return swapped
    new_subject = _ellipsis(question, analyzer)
    if new_subject:
        previous = past[-1][0]
        # 「蓝鲸汽车呢？」 after 「星辰电子总部在哪里？」 keeps 总部
        old = _subject_core(_previous_subject(past[-1:], analyzer), analyzer)
        if old and old in previous and new_subject not in previous:
            return previous.replace(old, new_subject, 1), new_subject
        return f"{new_subject} {previous}", new_subject

    analysis = _analyse(question, analyzer)
    first_strong = analysis.first_strong()
    early_pronoun = any(
        first_strong is None or offset < first_strong for offset, _ in analysis.pronouns
    )
    if analysis.has_subject and not early_pronoun:
        return question, None  # self-contained
    person = _asked_person(past[-1][0])
    if person and person not in question:
        # 「他毕业于哪所大学？」 after 「京东健康的CEO是谁？」 asks about the CEO, not the company
        replaced = _replace_person(question, person)
        if replaced:
            return replaced, None
    plural = any(token in _PLURAL for _, token in analysis.pronouns)
    subject = _previous_subject(past, analyzer, plural)
    if not subject or subject in question:
        return question, None
    return (_replace_pronoun(question, analysis, subject) or _replace_demonstrative(
        question, subject) or f"{subject} {question}"), subject
