"""How likely a reader span's sentence answers the question: a logistic model over the reader's
margin, the chunk's retrieval rank, the question's character overlap with the sentence, the
question's e5 cosine with the sentence and that cosine's gap to the best sentence read for the
question. Fitted offline on held-out DRCD and the bundled set (`python -m eval fit-reader`);
ranking and refusal both use it. The query–chunk similarity is not a feature: the fit gave it
a negative weight (it is collinear with the overlap) for no gain. The sentence's gap is what
helps: the cosine's level differs between Chinese and translated questions, its gap does not
(held-out DRCD in English, hit@1 0.691 → 0.723 with sentence candidates and both features)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from rag.textnorm import char_bigrams

FEATURES = ("margin", "rank", "overlap", "similarity", "similarity_gap")


@dataclass(frozen=True)
class SpanFeatures:
    """What the calibrator sees of one read span."""

    margin: float  # best span score over the window's no-answer score
    rank: int  # the chunk's retrieval rank among those read (0 = first)
    overlap: float  # share of the question's character bigrams found in the sentence
    similarity: float = 0.0  # the question's e5 cosine with the sentence
    # similarity less the best similarity of the sentences read for the question (≤ 0): the
    # cosine's level differs between languages, its rank among the candidates does not
    similarity_gap: float = 0.0

    def vector(self) -> list[float]:
        return [max(-20.0, min(20.0, self.margin)), float(self.rank), self.overlap,
                self.similarity, self.similarity_gap]


@dataclass(frozen=True)
class Calibration:
    """Logistic weights over :data:`FEATURES` and a bias."""

    weights: tuple[float, ...]
    bias: float

    def probability(self, features: SpanFeatures) -> float:
        return self.probability_of(features.vector())

    def probability_of(self, vector: Sequence[float]) -> float:
        """The probability for a feature vector (:meth:`SpanFeatures.vector`); weights beyond
        its length, or features beyond the weights', count as 0."""
        z = self.bias + sum(w * x for w, x in zip(self.weights, vector))
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))


def question_grams(question: str, words: tuple[str, ...] = ()) -> set[str]:
    """The bigrams a sentence is matched on: the question's, or for a translated question those
    of each of its ``words`` (its text runs the chosen words together, and pairs across two of
    them are artefacts that no sentence holds)."""
    if words:
        return set().union(*(char_bigrams(w) for w in words))
    return char_bigrams(question)


def overlap(question_grams: set[str], sentence: str) -> float:
    """Share of the question's bigrams that occur in ``sentence``."""
    if not question_grams:
        return 0.0
    return len(question_grams & char_bigrams(sentence)) / len(question_grams)
