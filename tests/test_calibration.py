"""The reader's answer calibration (rag/reader/calibration.py) and its fit (eval/fit_reader.py)."""

from __future__ import annotations

import random

import pytest

from eval.fit_reader import Read, figures, fit_for, threshold_for, train
from rag.reader.calibration import Calibration, SpanFeatures, overlap
from rag.textnorm import char_bigrams

pytestmark = pytest.mark.unit


def test_probability_follows_the_weights():
    cal = Calibration((0.5, -0.5, 2.0), -1.0)
    weak = SpanFeatures(margin=-3.0, rank=1, overlap=0.1)
    strong = SpanFeatures(margin=6.0, rank=0, overlap=0.8)
    assert 0.0 < cal.probability(weak) < cal.probability(strong) < 1.0
    assert cal.probability(SpanFeatures(1e9, 0, 0.5)) == cal.probability(
        SpanFeatures(20.0, 0, 0.5))  # margins are clipped


def test_sentence_similarity_features_count_only_with_their_weights():
    near = SpanFeatures(2.0, 0, 0.5, similarity=0.9, similarity_gap=0.0)
    far = SpanFeatures(2.0, 0, 0.5, similarity=0.7, similarity_gap=-0.2)
    three = Calibration((0.5, -0.5, 2.0), -1.0)  # a calibration fitted on three features
    assert three.probability(near) == three.probability(far) == three.probability_of(
        [2.0, 0, 0.5, 0.0, 0.0])
    five = Calibration((0.5, -0.5, 2.0, 1.0, 4.0), -1.0)
    assert five.probability(near) > five.probability(far)
    assert five.probability_of(near.vector()) == five.probability(near)


def test_overlap_is_script_insensitive_and_ignores_question_words():
    grams = char_bigrams("安唐保是為哪類患者設計的？")
    assert "哪类" not in grams and "安唐" in grams
    assert overlap(grams, "安唐保是为糖尿病患者设计的产品。") > 0.5
    assert overlap(grams, "京东健康发布年报。") == 0.0
    assert overlap(set(), "任何句子") == 0.0


def _synthetic_reads(n: int, seed: int = 0) -> list[Read]:
    """Answerable questions whose right span has a higher margin and overlap than the wrong
    one; unanswerable ones with low margins only."""
    rng = random.Random(seed)
    reads = []
    for i in range(n):
        answerable = i % 4 != 0
        spans = []
        if answerable:
            spans.append(([rng.gauss(5, 2), 0, rng.uniform(0.4, 1)], True))
        spans.append(([rng.gauss(-4, 2), 1, rng.uniform(0, 0.4)], False))
        reads.append(Read(f"q{i}", "drcd-simplified", answerable, spans))
    return reads


def test_fit_learns_to_prefer_answering_spans_and_keeps_false_refusals_low():
    reads = _synthetic_reads(400)
    cal = train(reads)
    assert cal.weights[0] > 0  # a higher margin means more likely right
    threshold = threshold_for(reads, cal)
    fig = figures(reads, cal, threshold)
    assert fig["false_refusal"] <= 0.06
    assert fig["hit@1_before_refusal"] > 0.95
    assert fig["refusal"] > 0.8


def test_bundled_questions_are_cross_validated():
    reads = _synthetic_reads(200)
    reads += [Read(f"b{i}", "bundled-zh", r.answerable, r.spans)
              for i, r in enumerate(_synthetic_reads(60, seed=1))]
    report = fit_for(reads)
    assert set(report["bundled_cross_validated"]) == {"bundled-zh"}
    assert report["in_sample"]["drcd-simplified"]["answerable"] == 150


def test_non_chinese_questions_get_their_own_threshold():
    """Translated questions score lower: each language group keeps its own false refusals at
    5 % instead of one threshold refusing most translated questions."""
    from eval.fit_reader import thresholds_for

    reads = _synthetic_reads(300)
    low = [Read(f"e{i}", "bundled-en", r.answerable,
                [([f[0] - 6, f[1], f[2] * 0.3], h) for f, h in r.spans])
           for i, r in enumerate(_synthetic_reads(120, seed=2))]
    cal = train(reads + low)
    chinese, foreign = thresholds_for(reads + low, cal)
    assert foreign < chinese
    assert figures(low, cal, foreign)["false_refusal"] <= 0.06
    assert figures(low, cal, chinese)["false_refusal"] > 0.2
    assert thresholds_for(reads, cal) == (chinese, chinese)  # no foreign questions


def test_the_threshold_follows_the_language_asked_in():
    from rag.answerer import language_threshold

    assert language_threshold("京东健康的CEO是谁？", 0.4, 0.1) == 0.4
    assert language_threshold("Who is the CEO of JD Health?", 0.4, 0.1) == 0.1
    assert language_threshold("Who is the chairman of 中国太保?", 0.4, 0.1) == 0.1
    assert language_threshold("？？", 0.4, 0.1) == 0.4


def test_the_answer_target_learns_which_spans_are_right_not_just_their_sentences():
    """Label 2 (short answer right) vs 1 (only the sentence holds the answer): trained for
    "answer", the calibration prefers the right span even when a wrong span of an answering
    sentence has the same margin; figures report both rates."""
    rng = random.Random(5)
    reads = []
    for i in range(300):
        right = ([rng.gauss(3, 1), 0, rng.uniform(0.5, 1), 0.9, 0.0], 2)
        near = ([rng.gauss(3, 1), 0, rng.uniform(0.5, 1), 0.8, -0.1], 1)
        wrong = ([rng.gauss(-3, 1), 1, rng.uniform(0, 0.3), 0.7, -0.2], 0)
        reads.append(Read(f"q{i}", "drcd-simplified", True, [near, right, wrong]))
    by_sentence, by_answer = train(reads, "sentence"), train(reads, "answer")
    assert by_answer.weights[4] > by_sentence.weights[4]  # the gap tells right from near
    fig = figures(reads, by_answer, 0.0)
    assert fig["hit@1"] == 1.0 and fig["answer@1"] > 0.95

    def separation(cal):  # mean probability of right spans less that of near ones
        p = {label: [cal.probability_of(f) for r in reads for f, lab in r.spans if lab == label]
             for label in (1, 2)}
        return sum(p[2]) / len(p[2]) - sum(p[1]) / len(p[1])

    assert separation(by_answer) > separation(by_sentence) + 0.1
