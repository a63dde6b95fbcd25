"""Turn per-question records into the report's numbers, overall and per category."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from eval.collect import Record
from eval.metrics import RETRIEVAL_METRICS, answer_hit, mean, percentile, retrieval_scores
from rag.reader.span_metrics import exact_match, f1

STAGES = ("encode", "dense", "keyword", "fusion", "answer", "total")


def _rate(flags: list[bool]) -> float | None:
    return mean(float(f) for f in flags)


def summarise(records: list[Record], scores: dict[str, dict[str, float]]) -> dict[str, Any]:
    """Quality numbers of a set of records; ``scores`` from :func:`retrieval_scores`."""
    answerable = [r for r in records if r.answerable]
    unanswerable = [r for r in records if not r.answerable]
    snippets = [s for r in records for s in r.snippets]
    out: dict[str, Any] = {
        "n": len(records),
        "n_answerable": len(answerable),
        "n_unanswerable": len(unanswerable),
        "errors": sum(r.error is not None for r in records),
    }
    for m in RETRIEVAL_METRICS:
        out[m] = mean(scores[m][r.key] for r in answerable if r.key in scores[m])

    def shown(r: Record) -> list[str]:
        return [s.text for s in r.snippets] if r.answered else []

    out["hit@1"] = _rate([answer_hit(r.answers, shown(r), 1) for r in answerable])
    out["hit@3"] = _rate([answer_hit(r.answers, shown(r), 3) for r in answerable])
    if any(r.short_answer for r in records):  # short-answer EM/F1 (CMRC metric); refusal = 0
        def short(r: Record) -> str:
            return (r.short_answer or "") if r.answered else ""

        out["em"] = mean(exact_match(short(r), r.answers) for r in answerable)
        out["f1"] = mean(f1(short(r), r.answers) if short(r) else 0.0 for r in answerable)
    out["refusal_rate"] = _rate([not r.answered for r in unanswerable])
    out["false_refusal_rate"] = _rate([not r.answered for r in answerable])
    out["citation_validity"] = _rate([s.valid for s in snippets])
    out["median_snippet_chars"] = percentile([len(s.text) for s in snippets], 50)
    return out


def latency(records: list[Record]) -> dict[str, float | None]:
    """p50/p95 of retrieve and answer calls (ms) and p50 of each answer stage (ms)."""
    ok = [r for r in records if r.error is None]
    retrieve = [r.retrieve_ms for r in ok if r.retrieve_ms is not None]
    answer = [r.answer_ms for r in ok if r.answer_ms is not None]
    out: dict[str, float | None] = {
        "retrieve_p50_ms": percentile(retrieve, 50),
        "retrieve_p95_ms": percentile(retrieve, 95),
        "answer_p50_ms": percentile(answer, 50),
        "answer_p95_ms": percentile(answer, 95),
    }
    for stage in STAGES:
        values = [r.stages[stage] * 1000 for r in ok if stage in r.stages]
        out[f"stage_{stage}_p50_ms"] = percentile(values, 50)
    return out


def summarise_mode(records: list[Record]) -> dict[str, Any]:
    """``{"metrics": overall quality + latency, "per_category": {category: quality}}``."""
    scores = retrieval_scores(
        {r.key: r.gold_docs for r in records}, {r.key: r.ranked_docs for r in records}
    )
    by_cat: dict[str, list[Record]] = defaultdict(list)
    for r in records:
        by_cat[r.category or "?"].append(r)
    return {
        "metrics": {**summarise(records, scores), **latency(records)},
        "per_category": {c: summarise(rs, scores) for c, rs in sorted(by_cat.items())},
    }
