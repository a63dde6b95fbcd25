"""jieba word analysis shared by BM25, lexical evidence and answer highlighting."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import jieba

from rag.textnorm import fold, to_simplified

DOMAIN_WORDS = Path(__file__).with_name("resources") / "domain_words.txt"
STOPWORDS = frozenset(
    word for line in (Path(__file__).with_name("resources") / "stopwords.txt")
    .read_text(encoding="utf-8").splitlines() if not line.startswith("#") for word in line.split()
)
_WORDLIKE = re.compile(r"\w", re.U)
log = logging.getLogger(__name__)
jieba.setLogLevel(logging.WARNING)


if TYPE_CHECKING:
    import jieba.posseg

ANALYZER_VERSION = "jieba-t2s-1"  # part of the index build key: a change re-indexes


class Analyzer:
    """Folds (NFKC, lower case, Traditional → Simplified) and cuts text into search words with
    a private jieba dictionary, so Traditional and Simplified questions match either script."""

    def __init__(self, user_words: Iterable[str] | None = None,
                 cache_dir: Path | None = None) -> None:
        self._words = list(user_words) if user_words is not None else _read_words(DOMAIN_WORDS)
        self._cache_dir = cache_dir
        self._lock = threading.Lock()
        self._jieba: jieba.Tokenizer | None = None
        self._pos: jieba.posseg.POSTokenizer | None = None
        self._proper_nouns: frozenset[str] | None = None
        self._folded_words = frozenset(fold(w) for w in self._words)  # tagged nz, as names

    @property
    def jieba(self) -> jieba.Tokenizer:
        """The private tokenizer, initialised on first use (0.3 s from the dictionary cache
        under the cache folder, :mod:`rag.jieba_dictionary`)."""
        with self._lock:
            if self._jieba is None:
                from rag import jieba_dictionary
                from rag.config import cache_dir

                tok = jieba_dictionary.tokenizer(self._cache_dir or cache_dir())
                for word in self._words:
                    tok.add_word(fold(word), freq=50_000, tag="nz")  # proper nouns/terms
                self._jieba = tok
        return self._jieba

    @property
    def posseg(self) -> jieba.posseg.POSTokenizer:
        """Part-of-speech tagger sharing the private dictionary (imported on first use: its
        model takes a second or two to load, and only highlighting and follow-ups need it)."""
        if self._pos is None:
            import jieba.posseg

            tokenizer = self.jieba
            if tokenizer.dictionary == jieba.DEFAULT_DICT:
                # the module's tagger read the same dictionary's tags on import: copied, not
                # read from the file a second time (0.25 s of a cold who-question)
                tagger = jieba.posseg.POSTokenizer.__new__(jieba.posseg.POSTokenizer)
                tagger.tokenizer = tokenizer
                tagger.word_tag_tab = dict(jieba.posseg.dt.word_tag_tab)
            else:
                tagger = jieba.posseg.POSTokenizer(tokenizer)
            self._pos = tagger
        return self._pos

    def tokens(self, text: str) -> list[str]:
        """Search words of ``text``: jieba's search-mode cut, without punctuation or stopwords."""
        return [w for w in self.jieba.cut_for_search(to_simplified(fold(text))) if _keep(w)]

    def frequency(self, word: str) -> int:
        """jieba's dictionary frequency of ``word`` (0 when unknown)."""
        return int(self.jieba.FREQ.get(word, 0) or 0)

    def is_proper_noun(self, word: str) -> bool:
        """Whether jieba's dictionary tags ``word`` as a proper noun (a name, a place, an
        organisation, an abbreviation), or it is one of the domain words (added as names);
        from a cached word list, without loading the part-of-speech tagger."""
        with self._lock:
            if self._proper_nouns is None:
                from rag import jieba_dictionary
                from rag.config import cache_dir

                self._proper_nouns = jieba_dictionary.proper_nouns(self._cache_dir
                                                                   or cache_dir())
        word = fold(word)
        return word in self._proper_nouns or word in self._folded_words

    def tokens_batch(self, texts: Iterable[str]) -> list[list[str]]:
        """:meth:`tokens` of each text, equal words sharing one string object: an index
        build's token lists take about 1 KB a chunk instead of 9 KB (8.6 GB at 1M chunks)."""
        canonical: dict[str, str] = {}
        return [[canonical.setdefault(w, w) for w in self.tokens(t)] for t in texts]

    def words(self, text: str) -> list[str]:
        """Plain (non-search-mode) content words of ``text``, folded, stopwords removed."""
        return [w for w in self.jieba.lcut(to_simplified(fold(text))) if _keep(w)]


def _keep(word: str) -> bool:
    word = word.strip()
    return bool(word) and word not in STOPWORDS and bool(_WORDLIKE.search(word))


def _read_words(path: Path) -> list[str]:
    if not path.exists():
        return []
    return [w.strip() for w in path.read_text(encoding="utf-8").splitlines() if w.strip()]
