"""Conversation-aware retrieval: rewrite a follow-up question so it carries its subject.

``contextualize("那它的CEO是谁？", ["京东健康和哪家机构成立了互联网医疗中心？"])`` returns
``"那京东健康的CEO是谁？"``; a self-contained question comes back unchanged.

Subjects are found with jieba part-of-speech tags (a private tokenizer, never the global one):
proper nouns (people, places, organisations, abbreviations), quoted terms, capitalised or
acronym English words, and noun phrases that are not generic attribute words ("CEO", "价格").
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass

import jieba
import jieba.posseg

__all__ = ["contextualize", "subjects"]

MAX_HISTORY = 6  # only the last few questions are searched for a subject
MAX_ELLIPSIS_CHARS = 24

_lock = threading.Lock()
_pos: jieba.posseg.POSTokenizer | None = None


def _tokenizer() -> jieba.posseg.POSTokenizer:
    """A dedicated, lazily loaded POS tokenizer (thread-safe initialisation)."""
    global _pos
    with _lock:
        if _pos is None:
            logging.getLogger("jieba").setLevel(logging.WARNING)
            base = jieba.Tokenizer()
            base.initialize()
            _pos = jieba.posseg.POSTokenizer(base)
        return _pos


# Pronouns that point back to an earlier subject.
_ZH_PRONOUNS = {
    "它", "他", "她", "它们", "他们", "她们", "其", "该", "此", "这", "这家", "那家", "这个",
    "那个", "这款", "那款", "这些", "那些", "那它", "那他", "那她", "那它们", "那他们", "这位",
    "那位", "该公司", "该机构", "该产品", "该平台", "该医院", "本公司", "对方", "双方",
}
_ZH_SIMPLE = {"它", "他", "她", "它们", "他们", "她们", "其"}  # replaced in place
_PLURAL = {"它们", "他们", "她们", "双方", "这些", "那些",
           "they", "their", "them", "these", "those"}
_EN_PRONOUNS = {"it", "its", "they", "their", "them", "he", "she", "his", "her", "him",
                "this", "that", "these", "those", "theirs", "itself", "themselves"}
_EN_SIMPLE = {"it": "", "they": "", "them": "", "its": "'s", "their": "'s"}

# Nouns that name an attribute or a generic thing rather than a subject of their own.
_GENERIC = {
    "ceo", "cfo", "cto", "coo", "董事长", "总裁", "总经理", "创始人", "负责人", "老板", "主席",
    "股东", "员工", "用户", "客户", "价格", "费用", "总部", "地址", "地点", "地方", "时间", "日期",
    "时候", "年份", "原因", "意思", "情况", "东西", "问题", "方面", "目标", "目的", "名字",
    "名称", "规模", "收入", "营收", "利润", "市值", "数量", "人数", "产品", "业务", "服务",
    "合作伙伴", "伙伴", "机构", "公司", "企业", "平台", "部分", "内容", "作用", "特点", "优势",
    "price", "cost", "founder", "founders", "headquarters", "revenue", "users", "customers",
    "time", "date", "year", "name", "owner", "partner", "partners", "purpose", "goal", "reason",
    "company", "product", "service", "services", "size", "profit", "employees", "chairman",
    "president", "boss", "thing", "things", "one", "ones",
}

_EN_STOP = {
    "a", "an", "the", "what", "which", "who", "whom", "whose", "when", "where", "why", "how",
    "is", "are", "was", "were", "be", "been", "being", "do", "does", "did", "done", "have",
    "has", "had", "of", "for", "to", "in", "on", "at", "by", "with", "from", "about", "as",
    "and", "or", "but", "so", "then", "than", "there", "here", "can", "could", "should",
    "would", "will", "shall", "may", "might", "must", "much", "many", "any", "some", "all",
    "tell", "me", "please", "i", "you", "we", "us", "our", "your", "my", "not", "no", "yes",
    "into", "over", "under", "also", "again", "more", "most", "very", "just", "only", "ok",
    "okay", "else", "between", "among", "against", "kind", "type", "sort",
} | _EN_PRONOUNS

# Tags that end a phrase (particles, conjunctions, prepositions, pronouns, adverbs, numbers...).
_BREAK_TAGS = {"uj", "ul", "uz", "ug", "uv", "ud", "ude", "c", "cc", "p", "r", "rr", "rz",
               "y", "e", "o", "x", "w", "d", "m", "mq", "q", "t", "tg", "f", "zg", "u"}
_BREAK_WORDS = {"是", "有", "在", "为", "叫", "算", "呢", "吗", "吧", "啊", "了", "的", "和", "与"}
_STRONG_TAGS = {"nr", "nrt", "nrfg", "nrf", "ns", "nt", "nz", "j", "nx"}
_VERB_TAGS = {"v", "vd", "vn", "vg", "vi", "vq", "ad", "an"}

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
    return bool(re.search(r"\d", word)) or word[:1].isupper() or (word.isupper() and len(word) > 1)


def _analyse(question: str) -> _Analysis:
    """Split a question into candidate subject phrases and pronoun mentions."""
    tokens: list[tuple[str, str, int]] = []
    pos = 0
    for pair in _tokenizer().cut(question):
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

    for word, flag, start in tokens:
        low = word.lower()
        is_cjk = bool(_CJK.search(word))
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


def _ellipsis(question: str) -> str | None:
    """The new subject of a "那X呢？" / "What about X?" question, if it is one."""
    m = _ZH_ELLIPSIS.match(question) or _EN_ELLIPSIS.match(question)
    if not m:
        return None
    x = (m.groupdict().get("x") or m.groupdict().get("y") or "").strip()
    if not x or not _analyse(x).has_subject:
        return None
    return x


def subjects(question: str) -> list[str]:
    """The subject phrases jieba finds in ``question`` (strong ones first)."""
    x = _ellipsis(question)
    if x:
        return [x]
    phrases = _analyse(question).phrases
    return [p.text for p in sorted(phrases, key=lambda p: (not p.strong, p.start))]


def _previous_subject(history: list[str], plural: bool = False) -> str | None:
    """The primary subject of the latest question that has one (all strong ones if plural)."""
    for past in reversed(history[-MAX_HISTORY:]):
        found = subjects(past)
        if not found:
            continue
        if plural:
            strong = [p.text for p in _analyse(past).phrases if p.strong][:3]
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


def contextualize(question: str, history: list[str] | None) -> str:
    """Return a search query for ``question`` that carries the conversation's subject.

    A follow-up (a pronoun before any subject of its own, no subject at all, or an
    elliptical "那X呢？" / "What about X?") gets the subject of the most recent previous
    question that had one; a self-contained question is returned unchanged.
    """
    past = [h for h in (history or []) if h and h.strip()][-MAX_HISTORY:]
    if not past or not question or not question.strip():
        return question

    new_subject = _ellipsis(question)
    if new_subject:
        previous = contextualize(past[-1], past[:-1])
        old = _previous_subject([previous])
        if old and old in previous and new_subject not in previous:
            return previous.replace(old, new_subject, 1)
        return f"{new_subject} {previous}"

    analysis = _analyse(question)
    first_strong = analysis.first_strong()
    early_pronoun = any(
        first_strong is None or offset < first_strong for offset, _ in analysis.pronouns
    )
    if analysis.has_subject and not early_pronoun:
        return question  # self-contained
    plural = any(token in _PLURAL for _, token in analysis.pronouns)
    subject = _previous_subject(past, plural)
    if not subject or subject in question:
        return question
    return _replace_pronoun(question, analysis, subject) or f"{subject} {question}"
