"""Tests for rag.followup.contextualize: follow-up questions carry the earlier subject."""

from __future__ import annotations

import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rag.analyzer import Analyzer
from rag.followup import contextualize as _contextualize
from rag.followup import subjects as _subjects

pytestmark = pytest.mark.unit

ANALYZER = Analyzer()  # the shared analyzer the assistant passes (domain words included)


def contextualize(question, history):
    return _contextualize(question, history, ANALYZER)


def subjects(question):
    return _subjects(question, ANALYZER)

JD = "京东健康和哪家机构成立了互联网医疗中心？"
ATB = "安唐保是为哪类患者设计的？"


@pytest.mark.parametrize(
    ("question", "history", "expected"),
    [
        ("那它的CEO是谁？", [JD], "那京东健康的CEO是谁？"),
        ("CEO是谁？", [JD], "京东健康 CEO是谁？"),
        ("该公司总部在哪里？", [JD], "京东健康总部在哪里？"),
        ("什么时候成立的？", [JD], "京东健康 什么时候成立的？"),
        ("患者能用它做什么？", [ATB], "患者能用安唐保做什么？"),
        ("他们合作了什么？", ["慧医天下和阿里健康合作做了什么？"],
         "慧医天下和阿里健康合作了什么？"),
        ("When was it founded?", ["Who is the CEO of JD Health?"], "When was JD Health founded?"),
        ("What does it cover?", ["What is the 安唐保 insurance product for?"],
         "What does 安唐保 cover?"),
        ("What is their plan?", ["What did JD Health and Ping An agree?"],
         "What is JD Health and Ping An's plan?"),
    ],
)
def test_pronoun_and_subjectless_followups(question: str, history: list[str], expected: str):
    assert contextualize(question, history) == expected


@pytest.mark.parametrize(
    ("question", "history", "expected"),
    [
        ("那平安呢？", ["京东健康的CEO是谁？"], "平安的CEO是谁？"),
        ("那平安呢？", [JD], "平安和哪家机构成立了互联网医疗中心？"),
        ("What about Ping An?", ["Who is the CEO of JD Health?"], "Who is the CEO of Ping An?"),
        ("And Ping An?", ["Who founded JD Health?"], "Who founded Ping An?"),
    ],
)
def test_elliptical_followups_swap_the_subject(question: str, history: list[str], expected: str):
    assert contextualize(question, history) == expected


def test_chain_uses_most_recent_question_with_a_subject():
    history = [JD, "那它的CEO是谁？"]
    assert contextualize("它是什么时候成立的？", history) == "京东健康是什么时候成立的？"
    assert contextualize("那平安呢？", history) == "那平安的CEO是谁？"
    # a newer subject wins over an older one
    assert contextualize("CEO是谁？", [JD, ATB]).startswith("安唐保")


@pytest.mark.parametrize(
    "question",
    [
        ATB,
        "京东健康和它的合作伙伴做了什么？",  # the pronoun refers inside the question
        "今天北京天气怎么样？",
        "互联网医疗的发展趋势是什么？",
        "平安健康的用户有多少？",
        "中国太保和瑞金医院合作了什么？",
        "What is the 安唐保 insurance product for?",
        "How does diabetes insurance work?",
        "Who is the CEO of JD Health?",
    ],
)
def test_self_contained_questions_are_unchanged(question: str):
    assert contextualize(question, [JD, "What is the 安唐保 insurance product for?"]) == question


def test_no_history_or_no_previous_subject():
    assert contextualize("那它的CEO是谁？", []) == "那它的CEO是谁？"
    assert contextualize("那它的CEO是谁？", None) == "那它的CEO是谁？"
    assert contextualize("CEO是谁？", ["为什么？", "   "]) == "CEO是谁？"
    assert contextualize("", [JD]) == ""


def test_subjects_prefers_proper_nouns():
    assert subjects(JD)[0] == "京东健康"
    assert subjects(ATB)[0] == "安唐保"
    assert subjects("“无感化”服务是什么？")[0] == "无感化"
    assert subjects("CEO是谁？") == []
    assert subjects("Who is the CEO of JD Health?") == ["JD Health"]


def test_thread_safe_first_use():
    results: list[str] = []

    def work() -> None:
        results.append(contextualize("CEO是谁？", [JD]))

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == ["京东健康 CEO是谁？"] * 8


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=60), st.lists(st.text(max_size=40), max_size=4))
def test_never_crashes_and_keeps_the_question(question: str, history: list[str]):
    out = contextualize(question, history)
    assert isinstance(out, str)
    if not [h for h in history if h.strip()]:
        assert out == question


@pytest.mark.parametrize(
    "question, history, query",
    [
        ("他毕业于哪所大学？", ["京东健康的CEO是谁？"], "京东健康的CEO毕业于哪所大学？"),
        ("她哪年加入公司？", ["平安好医生的董事长是谁？"], "平安好医生的董事长哪年加入公司？"),
        ("他是哪一年出生的？", ["谁是京东健康的CEO？"], "京东健康的CEO是哪一年出生的？"),
        ("Where did he study?", ["Who is the CEO of JD Health?"],
         "Where did the CEO of JD Health study?"),
        ("What is his salary?", ["Who is the CEO of JD Health?"],
         "What is the CEO of JD Health's salary?"),
        ("Did the board appoint her in 2020?", ["Who is the chairman of Ping An Good Doctor?"],
         "Did the board appoint the chairman of Ping An Good Doctor in 2020?"),
    ],
)
def test_he_or_she_after_a_who_question_is_the_person_asked_about(question, history, query):
    """「他毕业于哪所大学？」 after 「京东健康的CEO是谁？」 searched 「京东健康毕业于哪所大学？」
    (the company, not its CEO), and "Where did he study?" after "Who is the CEO of JD Health?"
    searched "JD Health Where did he study?"."""
    assert contextualize(question, history) == query


@pytest.mark.parametrize(
    "question, history, query",
    [
        ("他的年薪是多少？", ["辛利军是哪家公司的CEO？"], "辛利军的年薪是多少？"),
        ("他们的总部在哪？", ["京东健康的CEO是谁？"], "京东健康的总部在哪？"),
        ("那它的CEO是谁？", [JD], "那京东健康的CEO是谁？"),
    ],
)
def test_other_pronouns_still_take_the_earlier_subject(question, history, query):
    assert contextualize(question, history) == query


@pytest.mark.parametrize(
    "question, history, query",
    [
        ("该公司的首席执行官是谁？", ["星辰电子一季度营收多少？"], "星辰电子的首席执行官是谁？"),
        ("这家公司的总部在哪里？", [JD], "京东健康的总部在哪里？"),
        ("该产品面向哪些患者？", ["安唐保是哪家公司推出的？"], "安唐保面向哪些患者？"),
    ],
)
def test_a_demonstrative_like_that_company_is_replaced_by_the_subject(question, history, query):
    """「该公司的首席执行官是谁？」 was searched 「星辰电子 该公司的首席执行官是谁？」: the subject
    put in front, 「该公司」 left for the reader to resolve."""
    assert contextualize(question, history) == query
