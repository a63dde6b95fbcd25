"""Metric primitives: doc-level rankings scored with ranx, answer matching, percentiles."""

from __future__ import annotations

import unicodedata
import warnings
from collections.abc import Iterable, Sequence

import numpy as np

RETRIEVAL_METRICS = ("recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10")
DEPTH = 10


def doc_ranking(doc_ids: Iterable[str], depth: int = DEPTH) -> list[str]:
    """Documents in order of first occurrence among ranked chunks, cut at ``depth``."""
    ranked = list(dict.fromkeys(doc_ids))
    return ranked[:depth]


def retrieval_scores(
    gold: dict[str, Sequence[str]], ranked: dict[str, Sequence[str]]
) -> dict[str, dict[str, float]]:
    """Per-query ranx scores: ``{metric: {qid: score}}`` for every qid of ``gold``.

    Qrels give each gold doc relevance 1; the run scores a doc ``1 / rank`` so ranx sees
    exactly the given order. Queries without gold docs are skipped.
    """
    gold = {q: list(d) for q, d in gold.items() if d}
    if not gold:
        return {m: {} for m in RETRIEVAL_METRICS}
    run_dict = {
        q: {d: 1.0 / (i + 1) for i, d in enumerate(ranked.get(q, []))} for q in gold
    }
    run_dict = {q: docs for q, docs in run_dict.items() if docs}
    if not run_dict:  # ranx cannot build an empty run: nothing retrieved scores 0 everywhere
        return {m: dict.fromkeys(gold, 0.0) for m in RETRIEVAL_METRICS}
    from ranx import Qrels, Run, evaluate  # slow import (numba): only when needed

    qrels = Qrels({q: dict.fromkeys(docs, 1) for q, docs in gold.items()})
    run = Run(run_dict)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        evaluate(qrels, run, list(RETRIEVAL_METRICS), make_comparable=True)
    return {m: {q: float(run.scores[m].get(q, 0.0)) for q in gold} for m in RETRIEVAL_METRICS}


def normalise(text: str) -> str:
    """NFKC, case-folded, with every whitespace character removed."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return "".join(text.split())


def answer_hit(answers: Sequence[str], snippets: Sequence[str], top: int) -> bool:
    """Whether any gold answer occurs (normalised) inside one of the first ``top`` snippets."""
    golds = [g for g in (normalise(a) for a in answers) if g]
    return any(g in normalise(s) for s in snippets[:top] for g in golds)


def mean(values: Iterable[float]) -> float | None:
    """Arithmetic mean, ``None`` for no values."""
    values = list(values)
    return float(np.mean(values)) if values else None


def percentile(values: Iterable[float], q: float) -> float | None:
    """The ``q``-th percentile (linear interpolation), ``None`` for no values."""
    values = list(values)
    return float(np.percentile(values, q)) if values else None
