"""Fifteenth robustness probe: multi-turn conversations (follow-ups rewritten by
rag.followup.contextualize). Each test failed before its fix; the docstrings say what the user
saw."""

from __future__ import annotations

import pytest

from rag.analyzer import Analyzer
from rag.followup import contextualize as _contextualize

pytestmark = pytest.mark.unit

ANALYZER = Analyzer()  # the shared analyzer the assistant passes


def contextualize(question: str, history: list[str]) -> str:
    return _contextualize(question, history, ANALYZER)


# ------------------------------------------- a term beside a part of the earlier subject
@pytest.mark.parametrize(("history", "question", "expected"), [
    (["男子组冠军是谁？"], "那女子组呢？", "女子组冠军是谁？"),
    (["男子组冠军是谁？"], "那亚军呢？", "男子组亚军是谁？"),
    (["全程马拉松的冠军是谁？"], "那半程呢？", "半程马拉松的冠军是谁？"),
    (["全程马拉松男子组冠军是谁？", "那半程呢？"], "女子组呢？", "半程马拉松女子组冠军是谁？"),
    (["青川市体育局局长是谁？"], "副局长呢？", "青川市体育局副局长是谁？"),
])
def test_a_term_beside_part_of_the_subject_replaces_only_that_part(history, question, expected):
    """「那女子组呢？」 after 「男子组冠军是谁？」 searched 「女子组是谁？」 (the whole compound
    replaced), 「那半程呢？」 after 「全程马拉松的冠军是谁？」 「半程的冠军是谁？」 (马拉松 lost),
    「那亚军呢？」 「亚军是谁？」."""
    assert contextualize(question, history) == expected


# --------------------------------------------- a term beside the attribute, not the subject
@pytest.mark.parametrize(("history", "question", "expected"), [
    (["华岳银行的不良贷款率是多少？"], "拨备覆盖率呢？", "华岳银行的拨备覆盖率是多少？"),
    (["星辰电子一季度营收多少？"], "净利润呢？", "星辰电子一季度净利润多少？"),
    (["华岳银行的营业收入是多少？"], "净利润呢？", "华岳银行的净利润是多少？"),
    (["星辰电子一季度营收多少？", "净利润呢？"], "研发投入呢？", "星辰电子一季度研发投入多少？"),
    (["华岳银行的董事长是谁？"], "行长呢？", "华岳银行的行长是谁？"),
    (["科大启明的董事长是谁？"], "首席技术官呢？", "科大启明的首席技术官是谁？"),
    (["京东健康的CEO是谁？"], "CFO呢？", "京东健康的CFO是谁？"),
    (["科大启明的启明3.0什么时候面向企业开放？"], "个人用户呢？",
     "科大启明的启明3.0什么时候面向个人用户开放？"),
    (["青川马拉松有多少名跑者参赛？"], "总奖金呢？", "青川马拉松的总奖金呢？"),
    (["What was Xingchen Electronics revenue in Q1?"], "What about net profit?",
     "What was Xingchen Electronics net profit in Q1?"),
    (["What was the net profit of Huayue Bank?"], "What about revenue?",
     "What was the revenue of Huayue Bank?"),
    (["华岳银行的净利润是多少？"], "星辰电子的营收呢？", "星辰电子的营收是多少？"),
])
def test_an_attribute_followup_replaces_the_attribute_and_keeps_the_subject(
        history, question, expected):
    """「拨备覆盖率呢？」 after 「华岳银行的不良贷款率是多少？」 searched
    「拨备覆盖率的不良贷款率是多少？」, 「净利润呢？」 after 「星辰电子一季度营收多少？」
    「净利润一季度营收多少？」 (answered with the revenue), 「首席技术官呢？」
    「首席技术官启明的董事长是谁？」, "What about revenue?" after "What was the net profit of
    Huayue Bank?" "Huayue Bank What about revenue?"."""
    assert contextualize(question, history) == expected


# ------------------------------------------------------- a date, a number, a place swapped
@pytest.mark.parametrize(("history", "question", "expected"), [
    (["星辰电子一季度营收多少？"], "二季度呢？", "星辰电子二季度营收多少？"),
    (["蓝鲸汽车5月交付了多少辆新车？"], "4月呢？", "蓝鲸汽车4月交付了多少辆新车？"),
    (["青川地铁6号线全长多少公里？"], "7号线一期呢？", "青川地铁7号线一期全长多少公里？"),
    (["蓝鲸汽车5月海外销量多少？"], "国内呢？", "蓝鲸汽车5月国内销量多少？"),
    (["What was Xingchen Electronics revenue in Q1?"], "And Q2?",
     "What was Xingchen Electronics revenue in Q2?"),
    (["How long is Qingchuan Metro Line 6?"], "And Line 7?",
     "How long is Qingchuan Metro Line 7?"),
    (["How many cars did Lanjing Auto deliver in May?"], "And in April?",
     "How many cars did Lanjing Auto deliver in April?"),
])
def test_a_date_number_or_place_followup_replaces_its_counterpart(history, question, expected):
    """「二季度呢？」 after 「星辰电子一季度营收多少？」 searched 「星辰电子 二季度呢？」,
    「7号线一期呢？」 after 「青川地铁6号线全长多少公里？」 「7号线一期6号线全长多少公里？」,
    「国内呢？」 「国内5月海外销量多少？」 (answered with the overseas figure), "And Q2?" "What
    was Q2 revenue in Q1?", "And in April?" "How many cars did in April deliver in May?"."""
    assert contextualize(question, history) == expected


# ------------------------------------- the subject of an earlier follow-up, as it was searched
@pytest.mark.parametrize(("history", "question", "expected"), [
    (["华岳银行的不良贷款率是多少？", "拨备覆盖率呢？", "资本充足率呢？"], "它的董事长是谁？",
     "华岳银行的董事长是谁？"),
    (["华岳银行的董事长是谁？", "行长呢？"], "它的总部在哪里？", "华岳银行的总部在哪里？"),
    (["男子组冠军是谁？", "那女子组呢？"], "她的成绩是多少？", "女子组冠军的成绩是多少？"),
    (["青川地铁6号线全长多少公里？", "7号线一期呢？"], "它设了多少座车站？",
     "青川地铁7号线一期设了多少座车站？"),
    (["Who is the chairman of Keda Qiming?", "When was it founded?"],
     "Where is its headquarters?", "Where is Keda Qiming's headquarters?"),
    (["What was Huayue Bank's non-performing loan ratio?",
      "What about its provision coverage ratio?"], "And its net profit?",
     "And Huayue Bank's net profit?"),
])
def test_a_pronoun_after_a_followup_refers_to_the_subject_it_was_about(history, question,
                                                                       expected):
    """A pronoun took the previous follow-up's own words for the subject:
    「它的董事长是谁？」 after 「…资本充足率呢？」 searched 「资本充足率的董事长是谁？」,
    「它的总部在哪里？」 after 「行长呢？」 「行长的总部在哪里？」, "Where is its headquarters?"
    after "When was it founded?" "Where is founded's headquarters?"."""
    assert contextualize(question, history) == expected


@pytest.mark.parametrize(("history", "question", "expected"), [
    (["星辰电子的首席执行官是谁？"], "它成立于哪一年？", "星辰电子成立于哪一年？"),
    (["台风海鹰登陆时最大风力多少级？"], "它什么时候减弱为热带低压？",
     "台风海鹰什么时候减弱为热带低压？"),
    (["星辰电子总部在哪里？"], "蓝鲸汽车呢？", "蓝鲸汽车总部在哪里？"),
    (["星辰电子智能手表出货量是多少？"], "同比增长多少？", "星辰电子智能手表出货量 同比增长多少？"),
])
def test_the_subject_is_the_name_not_a_role_a_predicate_or_a_place_word(history, question,
                                                                        expected):
    """「它成立于哪一年？」 after 「星辰电子的首席执行官是谁？」 searched
    「首席执行官成立于哪一年？」 (jieba tags 首席执行官 as a name), 「它什么时候减弱…」 after
    「台风海鹰登陆时最大风力多少级？」 「台风海鹰登陆时最大风力什么时候…」, 「蓝鲸汽车呢？」 after
    「星辰电子总部在哪里？」 「蓝鲸汽车在哪里？」 (总部 lost), 「同比增长多少？」 was taken for
    self-contained (同比 a subject) and answered with another article's growth."""
    assert contextualize(question, history) == expected


# ------------------------------------------------ self-contained questions stay as typed
@pytest.mark.parametrize(("history", "question"), [
    (["华岳银行的净利润是多少？"], "星辰电子的净利润是多少呢？"),
    (["京东健康的CEO是谁？"], "阿里健康的CEO是谁呢？"),
    (["蓝鲸汽车5月交付了多少辆新车？"], "飞驰汽车5月交付了多少辆呢？"),
])
def test_a_self_contained_question_ending_in_ne_is_not_rewritten(history, question):
    """A whole question ending in 「呢」 was read as 「那X呢？」: 「阿里健康的CEO是谁呢？」
    after 「京东健康的CEO是谁？」 searched 「阿里健康的CEO是谁的CEO是谁？」,
    「星辰电子的净利润是多少呢？」 「星辰电子的净利润是多少的净利润是多少？」."""
    assert contextualize(question, history) == question


# ------------------------------------------------------ kept as before by the new rules
@pytest.mark.parametrize(("history", "question", "expected"), [
    (["华岳银行的不良贷款率是多少？", "拨备覆盖率呢？"], "台风海鹰在哪里登陆？",
     "台风海鹰在哪里登陆？"),
    (["星辰电子一季度营收多少？", "二季度呢？"], "华岳银行的行长是谁？", "华岳银行的行长是谁？"),
    (["蓝鲸汽车5月的海外销量是多少？", "那飞驰汽车呢？", "4月呢？"], "它的CEO是谁？",
     "飞驰汽车的CEO是谁？"),
    (["华岳银行的不良贷款率是多少？"], "那招商银行呢？", "招商银行的不良贷款率是多少？"),
    (["京东健康的CEO是谁？"], "那平安呢？", "平安的CEO是谁？"),
])
def test_new_subjects_and_new_questions_are_read_as_before(history, question, expected):
    """Not faults: a new question after a follow-up stays as typed, a new subject (same head or
    not) replaces the old one, and a subject named by 「那X呢？」 (飞驰, a verb to jieba) carries
    on through a date follow-up."""
    assert contextualize(question, history) == expected
