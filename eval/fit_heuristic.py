"""Fit the heuristic answerer's sentence weights and refusal thresholds (``reader=False``) on the
training questions of ``fit-reader`` — held-out DRCD (both scripts) and the bundled set — never
on the measurement sets (CMRC 2018 dev, XQuAD).

    python -m eval fit-heuristic

Every question runs through retrieval once; each candidate sentence's features (query
similarity, IDF word overlap, bigram overlap, chunk rank, asked-for type) and whether its
snippet holds the answer are kept, so the grid over the weights is evaluated offline. The
query-similarity weight stays 1 (the scale); the weights with the best mean hit@1 over the
question groups win. The thresholds follow the reader's (eval/fit_reader.py): ``min_evidence``
keeps false refusals at 5 % of the answerable Chinese questions, ``min_evidence_foreign``
refuses 5 % of the right answers to questions read through a translation.
"""

from __future__ import annotations

import argparse
import itertools
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from eval.fit_reader import (
    BENCH,
    REPO,
    build_drcd,
    bundled_questions,
    drcd_assistant,
    news_assistant,
    refusal_threshold,
)
from eval.metrics import answer_hit

GRID = {
    "lexical_weight": (0.0, 0.05, 0.1, 0.2, 0.4),
    "bigram_weight": (0.0, 0.15, 0.3, 0.5, 0.8),
    "chunk_weight": (0.0, 0.05, 0.1, 0.2),
    "type_weight": (0.0, 0.05, 0.1, 0.2),
}


@dataclass
class Scored:
    """One question's candidate sentences: feature rows, snippet hits, evidence."""

    group: str
    answerable: bool
    foreign: bool  # read through a translation (its threshold is min_evidence_foreign)
    features: np.ndarray  # (candidates, 5): dense, lexical, bigram, 1 / (1 + rank), typed
    hits: np.ndarray  # (candidates,) bool
    evidence: float

    def right(self, weights: np.ndarray) -> bool:
        """Whether the best snippet under ``weights`` holds the answer."""
        return bool(len(self.hits)) and bool(self.hits[int(np.argmax(self.features @ weights))])


def score_questions(assistant, questions) -> list[Scored]:
    """Candidates and evidence of every question, as the heuristic answerer computes them."""
    from tqdm import tqdm

    from rag.crosslingual import needs_translation
    from rag.highlight import question_type

    answerer = assistant._answerer_for(False)
    out = []
    for _, group, question, answers, answerable in tqdm(questions, unit="q", mininterval=10):
        retrieval = assistant._retriever.run(question)
        asked = retrieval.question or question
        qtype = question_type(asked)
        cands = answerer.sentence_candidates(asked, retrieval, qtype)
        if not cands:
            out.append(Scored(group, answerable, needs_translation(question),
                              np.zeros((0, 5)), np.zeros(0, bool), float("-inf")))
            continue
        by_sent = {c.sent: c for c in cands}
        docs = assistant._data.documents
        hits = []
        for c in cands:
            doc, start, end = answerer._span(c, by_sent, qtype)
            hits.append(bool(answers) and answer_hit(answers, [docs[doc].text[start:end]], 1))
        feats = np.array([[c.dense, c.lexical, c.bigram, 1.0 / (1 + c.chunk_rank), c.typed]
                          for c in cands], dtype=np.float64)
        out.append(Scored(group, answerable, needs_translation(question), feats,
                          np.array(hits, bool), max(answerer.evidence(c, qtype) for c in cands)))
    return out


def hit_at_1(scored: list[Scored], weights: np.ndarray) -> dict[str, float]:
    """hit@1 before refusal per group for the weights (dense, lexical, bigram, chunk, type)."""
    groups: dict[str, list[bool]] = {}
    for s in scored:
        if s.answerable:
            groups.setdefault(s.group, []).append(s.right(weights))
    return {g: float(np.mean(v)) for g, v in sorted(groups.items())}


def thresholds(scored: list[Scored], weights: np.ndarray) -> dict[str, float]:
    """Evidence thresholds, Chinese and non-Chinese questions apart, as for the reader
    (eval/fit_reader.py): Chinese at 5 % false refusal; non-Chinese at 5 % of the questions
    whose snippet is right (refusing a wrong answer is no loss)."""
    out = {}
    for name, foreign in (("min_evidence", False), ("min_evidence_foreign", True)):
        found = refusal_threshold(((s.evidence, s.right(weights)) for s in scored
                                   if s.answerable and s.foreign == foreign), foreign)
        if found is not None:
            out[name] = round(found, 4)
    return out


def refusal_figures(scored: list[Scored], weights: np.ndarray, limits: dict[str, float]
                    ) -> dict[str, dict]:
    """hit@1 (answered and right), false refusal and refusal per group."""
    rows: dict[str, dict[str, list]] = {}
    for s in scored:
        limit = limits["min_evidence_foreign" if s.foreign else "min_evidence"]
        answered = s.evidence >= limit
        row = rows.setdefault(s.group, {"hit": [], "fr": [], "refused": []})
        if s.answerable:
            row["hit"].append(answered and s.right(weights))
            row["fr"].append(not answered)
        else:
            row["refused"].append(not answered)
    return {g: {"hit@1": round(float(np.mean(r["hit"])), 4) if r["hit"] else None,
                "false_refusal": round(float(np.mean(r["fr"])), 4) if r["fr"] else None,
                "refusal": round(float(np.mean(r["refused"])), 4) if r["refused"] else None}
            for g, r in sorted(rows.items())}


def fit(scored: list[Scored], current: np.ndarray) -> dict:
    """The grid's best weights (mean hit@1 over groups; ties: the current weights' side)."""
    best, best_mean = current, float(np.mean(list(hit_at_1(scored, current).values())))
    for combo in itertools.product(*GRID.values()):
        w = np.array([1.0, *combo])
        m = float(np.mean(list(hit_at_1(scored, w).values())))
        if m > best_mean + 1e-9:
            best, best_mean = w, m
    limits = thresholds(scored, best)
    names = ("dense_weight", *GRID)
    return {"weights": {n: float(v) for n, v in zip(names, best)},
            "hit@1_before_refusal": {"current": hit_at_1(scored, current),
                                     "fitted": hit_at_1(scored, best)},
            "thresholds": limits,
            "with_refusal": refusal_figures(scored, best, limits)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m eval fit-heuristic", description=__doc__)
    p.add_argument("--bench", type=Path, default=BENCH)
    p.add_argument("--out", type=Path, default=REPO / "eval" / "results" / "fit_heuristic.json")
    args = p.parse_args(argv)
    from rag.config import AnswerConfig

    docs, questions = build_drcd(args.bench)
    scored = (score_questions(drcd_assistant(docs), questions)
              + score_questions(news_assistant(), bundled_questions()))
    cfg = AnswerConfig()
    current = np.array([cfg.dense_weight, cfg.lexical_weight, cfg.bigram_weight,
                        cfg.chunk_weight, cfg.type_weight])
    report = fit(scored, current)
    print(json.dumps(report, indent=1, ensure_ascii=False))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n", "utf-8")
    print(f"wrote {args.out}; put the weights and thresholds in rag/config.py AnswerConfig")
    return 0
