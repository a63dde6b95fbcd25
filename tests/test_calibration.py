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


def _table(zh: dict[tuple[int, int], float], foreign: dict[tuple[int, int], float]) -> dict:
    """Per-pair ``in_sample`` figures: a Chinese group of 300 and two non-Chinese groups (280
    and 20 questions: the small one moving against the large one)."""
    return {k: {"drcd-simplified": {"hit@1": zh[k], "answerable": 300},
                "drcd-en": {"hit@1": foreign[k], "answerable": 280},
                "bundled-en": {"hit@1": 1.0 - foreign[k], "answerable": 20}}
            for k in zh}


def test_passage_counts_are_chosen_per_language_on_pooled_hit_at_1():
    from eval.fit_reader import choose_counts, pooled

    pairs = [(a, b) for a in (1, 2, 3) for b in (1, 2, 3)]
    zh = {(a, b): {1: 0.900, 2: 0.905, 3: 0.930}[a] for a, b in pairs}
    foreign = {(a, b): {1: 0.60, 2: 0.70, 3: 0.74}[b] for a, b in pairs}
    table = _table(zh, foreign)
    # each question counts once: the 20-question group's opposite trend does not outvote
    assert pooled(table[1, 3], True) == pytest.approx((0.74 * 280 + 0.26 * 20) / 300)
    assert choose_counts(table) == (2, 3)  # Chinese fixed at 2 by default
    assert choose_counts(table, chinese=None) == (3, 3)
    zh = {k: {1: 0.900, 2: 0.905, 3: 0.909}[k[0]] for k in pairs}
    assert choose_counts(_table(zh, foreign), chinese=None) == (3, 3)  # the best
    assert choose_counts(_table(zh, foreign), tolerance=0.01, chinese=None) == (1, 3)
    zh = {k: {1: 0.900, 2: 0.909, 3: 0.909}[k[0]] for k in pairs}
    assert choose_counts(_table(zh, foreign), chinese=None) == (2, 3)  # a tie: fewer
    foreign = {k: {1: 0.60, 2: 0.735, 3: 0.74}[k[1]] for k in pairs}
    assert choose_counts(_table(zh, foreign), tolerance=0.01) == (2, 2)
    # with a fixed Chinese count the non-Chinese one is judged at that count
    foreign = {(a, b): {(2, 3): 0.70, (3, 3): 0.80}.get((a, b), 0.72) for a, b in pairs}
    assert choose_counts(_table(zh, foreign)) == (2, 1)
    assert choose_counts(_table(zh, foreign), chinese=None) == (2, 3)  # Chinese: a tie


def test_without_foreign_questions_both_counts_are_the_chinese_one():
    from eval.fit_reader import choose_counts

    table = {(a, b): {"drcd-simplified": {"hit@1": {1: 0.8, 2: 0.9, 3: 0.9}[a],
                                          "answerable": 10}}
             for a in (1, 2, 3) for b in (1, 2, 3)}
    assert choose_counts(table, chinese=None) == (2, 2)
    assert choose_counts(table) == (2, 2) and choose_counts(table, chinese=3) == (3, 3)


def test_fit_reports_both_passage_counts():
    from eval.fit_reader import fit

    rng = random.Random(4)

    def read(qid: str, group: str) -> Read:  # a span in each of 3 passages, one of them right
        right = rng.randrange(3)
        return Read(qid, group, True, [([rng.gauss(4 if p == right else -2, 2), p,
                                         rng.uniform(0, 1)], int(p == right)) for p in range(3)])

    reads = ([read(f"q{i}", "drcd-simplified") for i in range(150)]
             + [read(f"e{i}", "drcd-en") for i in range(100)])
    report = fit(reads)
    assert report["reader_chunks"] in (1, 2, 3)
    assert report["reader_chunks_foreign"] in (1, 2, 3)
    assert set(report["by_reader_chunks"]) == {f"{a},{b}" for a in (1, 2, 3) for b in (1, 2, 3)}
    assert report["pooled_foreign_hit@1"] is not None


def test_a_group_without_answerable_questions_does_not_break_the_fit():
    from eval.fit_reader import fit

    rng = random.Random(5)

    def read(qid: str, group: str, answerable: bool) -> Read:
        right = rng.randrange(3) if answerable else -1
        return Read(qid, group, answerable, [([rng.gauss(4 if p == right else -2, 2), p,
                                               rng.uniform(0, 1)], int(p == right))
                                             for p in range(3)])

    reads = ([read(f"q{i}", "drcd-simplified", i % 4 != 0) for i in range(120)]
             + [read(f"n{i}", "bundled-zh", False) for i in range(10)])
    report = fit(reads)
    assert report["in_sample"]["bundled-zh"]["hit@1"] is None
    assert 0 < report["mean_hit@1"] <= 1
