"""NFKC + case folding for matching, with a map back to the original characters.

Stored text keeps its original characters (offsets must point into what users see); only the
*comparison* is NFKC-insensitive, so ``3.73亿`` finds ``3．73亿``.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache, lru_cache


@lru_cache(maxsize=65536)
def _fold_char(ch: str) -> str:
    return unicodedata.normalize("NFKC", ch).casefold()


def fold(text: str) -> str:
    """NFKC-normalised, case-folded text for comparisons."""
    return "".join(_fold_char(ch) for ch in text)


def fold_with_offsets(text: str) -> tuple[str, list[int]]:
    """Folded text and, for each folded character, the index of its original character."""
    out: list[str] = []
    offsets: list[int] = []
    for i, ch in enumerate(text):
        folded = _fold_char(ch)
        out.append(folded)
        offsets.extend([i] * len(folded))
    return "".join(out), offsets


@cache
def _opencc(config: str):
    """The opencc converter of ``config`` (immutable and thread-safe once built)."""
    import opencc

    return opencc.OpenCC(config)


def to_simplified(text: str) -> str:
    """Traditional → Simplified Chinese (opencc t2s), for script-insensitive word matching.

    Used on search words only: stored text and offsets keep the original script."""
    return _opencc("t2s").convert(text)


def to_traditional(text: str) -> str:
    """Simplified → Traditional Chinese (opencc s2t)."""
    return _opencc("s2t").convert(text)


def chinese_script(text: str, least: float = 0.03) -> str | None:
    """"traditional" when t2s changes at least ``least`` of the CJK characters of ``text``,
    else "simplified"; None for text without CJK characters. (Most characters are the same
    in both scripts, so a Traditional text changes some 10–30 % of them; a Simplified one
    none.)"""
    cjk = sum(map(is_cjk, text))
    if not cjk:
        return None
    changed = sum(a != b for a, b in zip(text, to_simplified(text), strict=False))
    return "traditional" if changed >= max(1.0, least * cjk) else "simplified"


def cjk_share(text: str) -> float:
    """Share of CJK ideographs among the letters of ``text`` (1.0 when it has no letters)."""
    letters = [ch for ch in text if ch.isalpha()]
    return sum(map(is_cjk, letters)) / len(letters) if letters else 1.0


def is_cjk(ch: str) -> bool:
    """True for CJK unified ideographs (the characters of Chinese words)."""
    code = ord(ch)
    return 0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF or 0x20000 <= code <= 0x2A6DF


_QUESTION_WORDS = re.compile(
    r"什么|哪[一个些里儿家位种类天年]?|多少|谁|几|怎么|怎样|如何|为什么|为何|是否|吗|呢")


def char_bigrams(text: str) -> set[str]:
    """Adjacent character pairs of the folded, Simplified text within runs of
    letters/digits/CJK, question words removed: a segmentation- and script-free measure of
    overlap (both answerers and the reader's calibration use it)."""
    runs = re.split(r"[^\w]+", _QUESTION_WORDS.sub(" ", to_simplified(fold(text))))
    return {run[i:i + 2] for run in runs for i in range(len(run) - 1)}


# UTF-16 surrogates: never in text decoded from valid UTF-8; a lone one comes from bytes that
# were not UTF-8 (``surrogateescape``) or from a ``"\ud800"`` JSON escape
SURROGATE = re.compile(r"[\ud800-\udfff]")
