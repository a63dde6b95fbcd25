"""Best answer span of one window from its start/end logits."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


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
    idx = np.flatnonzero(context_mask)
    if idx.size == 0:
        return None
    s = start_logits[idx]
    e = end_logits[idx]
    pair = s[:, None] + e[None, :]
    pos = idx[None, :] - idx[:, None]
    pair = np.where((pos >= 0) & (pos < max_answer_tokens), pair, -np.inf)
    flat = int(np.argmax(pair))
    i, j = divmod(flat, idx.size)
    null = float(start_logits[0] + end_logits[0])
    return SpanScore(int(idx[i]), int(idx[j]), float(pair[i, j]), null)


_SENTENCE_END = "。！？!?；;\n"
_EDGE = " \t\r\n\u3000，,、。．.；;：:！!？?"


def trim_answer(text: str, start: int, end: int) -> tuple[int, int]:
    """``text[start:end]`` as a short answer: cut at the first sentence end inside it (a short
    answer never runs into the next sentence: 「周八。星河科技成立于」 → 「周八」) and without
    punctuation or spaces at either edge; unchanged if nothing would be left."""
    cut = end
    for i in range(start + 1, end):
        if text[i] in _SENTENCE_END:
            cut = i
            break
    a, b = start, cut
    while a < b and text[a] in _EDGE:
        a += 1
    while b > a and text[b - 1] in _EDGE:
        b -= 1
    return (a, b) if b > a else (start, end)
