"""The heuristic answerer's weight and threshold fit (eval/fit_heuristic.py) on synthetic
questions: it must find weights under which the answering sentence wins, and thresholds that
keep false refusals at 5 %."""

from __future__ import annotations

import random

import numpy as np
import pytest

from eval.fit_heuristic import Scored, fit, hit_at_1, thresholds


def _questions(n: int, seed: int = 0) -> list[Scored]:
    """The answering sentence has the most word overlap but not the highest similarity."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        answerable = i % 5 != 0
        rows, hits = [], []
        for j in range(4):
            right = answerable and j == 2
            dense = 0.9 + rng.uniform(0, 0.01) + (0.0 if right else 0.02)
            lexical = 0.9 if right else rng.uniform(0.0, 0.3)
            rows.append([dense, lexical, rng.uniform(0, 1), 1 / (1 + j), 0.0])
            hits.append(right)
        evidence = rng.uniform(0.9, 1.0) if answerable else rng.uniform(0.7, 0.85)
        out.append(Scored("g", answerable, i % 7 == 0, np.array(rows), np.array(hits), evidence))
    return out


@pytest.mark.unit
def test_the_fit_finds_the_weights_that_pick_the_answering_sentence():
    questions = _questions(200)
    dense_only = np.array([1.0, 0.0, 0.0, 0.0, 0.0])
    assert hit_at_1(questions, dense_only)["g"] == 0.0
    report = fit(questions, dense_only)
    assert report["weights"]["lexical_weight"] > 0
    assert report["hit@1_before_refusal"]["fitted"]["g"] == 1.0


@pytest.mark.unit
def test_thresholds_keep_five_percent_false_refusals_per_script():
    questions = _questions(400, seed=1)
    limits = thresholds(questions, np.array([1.0, 1.0, 0.0, 0.0, 0.0]))
    for name, foreign in (("min_evidence", False), ("min_evidence_foreign", True)):
        pos = [q.evidence for q in questions if q.answerable and q.foreign == foreign]
        refused = np.mean([e < limits[name] for e in pos])
        assert 0.02 <= refused <= 0.05 + 1 / len(pos)  # a quantile of len(pos) values
        neg = [q.evidence for q in questions if not q.answerable and q.foreign == foreign]
        assert all(e < limits[name] for e in neg)
