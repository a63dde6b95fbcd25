"""Eleventh robustness probe: the forms a question takes (code-switched, emoji, full-width,
punctuation, follow-ups after different first questions).

Each test failed before its fix (README "Reliability", eleventh probe)."""

from __future__ import annotations

import pytest

from rag.analyzer import Analyzer
from rag.followup import contextualize

ANALYZER = Analyzer()


# ------------------------------------------------ an elliptical follow-up's trailing symbols
@pytest.mark.unit
@pytest.mark.parametrize("question", ["那平安健康呢😀", "那平安健康呢？😀", "那平安健康呢～",
                                      "那平安健康呢~", "那平安健康呢…", "那平安健康呢？ 🙏"])
def test_a_chinese_ellipsis_followup_with_an_emoji_or_tilde_carries_the_question(question):
    """「那平安健康呢😀」 (or 「…呢～」, 「…呢…」) after 「阿里健康的董事长兼CEO是谁？」 was no
    follow-up: 「那平安健康呢😀」 itself was searched, and answered with whatever it found."""
    history = ["阿里健康的董事长兼CEO是谁？"]
    assert contextualize(question, history, ANALYZER) == "平安健康的董事长兼CEO是谁？"


@pytest.mark.unit
@pytest.mark.parametrize("question", ["What about Ping An Health? 🙂", "And Ping An Health? 😀",
                                      "what about Ping An Health…", "How about Ping An Health~"])
def test_an_english_ellipsis_followup_with_trailing_symbols_names_the_subject_alone(question):
    """"What about Ping An Health? 🙂" was no follow-up, and "what about Ping An Health…" made
    "Ping An Health…" the subject ("Who is the CEO of Ping An Health…?")."""
    history = ["Who is the CEO of JD Health?"]
    assert contextualize(question, history, ANALYZER) == "Who is the CEO of Ping An Health?"
