"""Short-answer EM and F1 as the official CMRC 2018 script computes them.

Mixed segmentation (every CJK character is a token, runs of Latin letters and digits are one
token), punctuation removed, lower-cased; F1 from the longest common *substring* of the token
lists; both are the maximum over the gold answers.
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections.abc import Sequence

_CJK_PUNCT = set(
    "－：_*^/\\~`+=，。：？！“”；’《》……·、「」（）－～『』〈〉【】〔〕—‘'\"〝〞﹃﹄﹁﹂·・．"
)
_PUNCT = set(string.punctuation) | _CJK_PUNCT
_LATIN = re.compile(r"[A-Za-z0-9]+|\S")


def segment(text: str) -> list[str]:
    """CMRC mixed segmentation: CJK characters one by one, Latin/digit runs as words."""
    text = unicodedata.normalize("NFKC", text).lower()
    return [t for t in _LATIN.findall(text) if t not in _PUNCT]


def _lcs_len(a: Sequence[str], b: Sequence[str]) -> int:
    best = 0
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0] * (len(b) + 1)
        for j, y in enumerate(b, 1):
            if x == y:
                cur[j] = prev[j - 1] + 1
                best = max(best, cur[j])
        prev = cur
    return best


def exact_match(prediction: str, golds: Sequence[str]) -> float:
    pred = "".join(segment(prediction))
    return float(any(pred == "".join(segment(g)) for g in golds))


def f1(prediction: str, golds: Sequence[str]) -> float:
    pred = segment(prediction)
    best = 0.0
    for gold in golds:
        ref = segment(gold)
        lcs = _lcs_len(ref, pred)
        if lcs == 0:
            continue
        p, r = lcs / len(pred), lcs / len(ref)
        best = max(best, 2 * p * r / (p + r))
    return best
