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
    spans = best_spans(start_logits, end_logits, context_mask, max_answer_tokens)
    return spans[0] if spans else None


def best_spans(
    start_logits: np.ndarray,
    end_logits: np.ndarray,
    context_mask: np.ndarray,
    max_answer_tokens: int,
    groups: np.ndarray | None = None,
) -> list[SpanScore]:
    """The best span (as :func:`best_span`) starting in each group of passage tokens, best
    first; ``groups[i]`` is token i's group (e.g. its sentence), None puts all in one."""
    idx = np.flatnonzero(context_mask)
    if idx.size == 0:
        return []
    pair = start_logits[idx][:, None] + end_logits[idx][None, :]
    pos = idx[None, :] - idx[:, None]
    pair = np.where((pos >= 0) & (pos < max_answer_tokens), pair, -np.inf)
    ends = pair.argmax(axis=1)  # each start's best end (the first of equals)
    row_best = pair[np.arange(idx.size), ends]
    null = float(start_logits[0] + end_logits[0])
    token_group = np.zeros(idx.size, dtype=np.int64) if groups is None else groups[idx]
    spans = []
    for group in np.unique(token_group):
        rows = np.flatnonzero(token_group == group)
        i = int(rows[np.argmax(row_best[rows])])
        spans.append(SpanScore(int(idx[i]), int(idx[ends[i]]), float(row_best[i]), null))
    spans.sort(key=lambda sp: -sp.score)
    return spans


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
