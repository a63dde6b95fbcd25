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


# ------------------------------------------- English names inside a Chinese question
GLOSSES = {"health": (("健康", 0, True, False),), "chairman": (("总裁", 0, True, False),)}
VOCAB = {"京东": 20, "阶段": 40, "健康": 30, "慧医天下": 4, "ceo": 5, "app": 3, "营收": 2,
         "总裁": 2}


def _translator():
    from rag.crosslingual import Dictionary, QueryTranslator

    return QueryTranslator(VOCAB, dictionary=lambda: Dictionary(GLOSSES),
                           proper_noun={"京东", "慧医天下"}.__contains__)


@pytest.mark.unit
@pytest.mark.parametrize("question, searched", [
    ("JD Health的营收是多少", "京东健康的营收是多少"),
    ("JD Health 的CEO是谁？", "京东健康 的CEO是谁？"),
    ("ＪＤ Ｈｅａｌｔｈ的CEO是谁？", "京东健康的CEO是谁？"),
    ("JD健康的CEO是谁？", "京东健康的CEO是谁？"),
    ("Huiyi Tianxia的CEO叫什么名字？", "慧医天下的CEO叫什么名字？"),
])
def test_an_english_name_in_a_chinese_question_is_searched_in_the_corpus_words(question,
                                                                               searched):
    """「JD Health的CEO是谁？」 was refused (and 「JD健康的CEO是谁？」 answered with Alibaba
    Health's CEO): a question with Chinese characters was never translated, so BM25 and the
    reader looked for "JD Health", which no article holds, while "Who is the CEO of JD
    Health?" was answered 辛利军."""
    assert _translator().translate_inside(question) == searched


@pytest.mark.unit
@pytest.mark.parametrize("question", [
    "阿里健康的董事长兼CEO是谁？",  # a word the corpus uses
    "在京东APP上在线复诊购药的何先生住在哪座城市？",
    "阿里健康的chairman是谁？",  # lower case: no name, read as typed
    "https://www.JD.com 上的营收是多少？",  # a web address
    "Who is the CEO of JD Health?",  # English: translated whole, as before
    "京东健康的CEO是谁？",
])
def test_a_chinese_question_without_an_english_name_is_searched_as_typed(question):
    assert _translator().translate_inside(question) is None


@pytest.mark.unit
def test_the_retriever_searches_and_reads_the_chinese_question_with_the_name_translated(
        tmp_path, fake_encoder):
    from rag import Assistant
    from tests.fault_support import write_article

    corpus = tmp_path / "corpus"
    for name, company, ceo in (("jd.html", "京东健康", "辛利军"),
                               ("ali.html", "阿里健康", "朱顺炎")):
        write_article(corpus, name, f"{company}发布年报", f"{company}CEO{ceo}表示，营收增长。")
    assistant = Assistant.build(corpus, tmp_path / "index")
    retrieval = assistant._retriever.run("JD Health的CEO是谁？")
    assert retrieval.question == "京东健康的CEO是谁？"
    hits = assistant.retrieve("JD Health的CEO是谁？", k=1, mode="keyword")
    assert hits[0].doc_id == "jd"


@pytest.mark.integration
@pytest.mark.parametrize("question", ["JD Health的CEO是谁？", "JD Health 的CEO是谁？",
                                      "JD健康的CEO是谁？"])
def test_a_code_switched_question_is_answered_as_the_chinese_one(assistant, question):
    ans = assistant.answer(question)
    assert ans.answered and ans.short_answer == "辛利军"


@pytest.mark.integration
def test_a_chinese_followup_after_an_english_question_is_answered(assistant):
    """「它的CEO是谁？」 after "Who is the CEO of JD Health?" became 「JD Health的CEO是谁？」
    and was refused."""
    ans = assistant.answer("它的CEO是谁？", history=["Who is the CEO of JD Health?"])
    assert ans.answered and ans.short_answer == "辛利军"


# ------------------------------------------------------- a date typed in full width
@pytest.mark.unit
@pytest.mark.parametrize("typed", ["２０２２-０１-０１", "２０２２－０１－０１",
                                   "2022-01-01\u200b"])
def test_a_full_width_date_is_the_date_on_every_surface(typed, tmp_path, fake_encoder):
    """A date typed with a Chinese input method in full width (「２０２２－０１－０１」) was
    refused as "must be a real date YYYY-MM-DD, not '２０２２-０１-０１'", in the chat, the CLI
    and Python alike, though it reads as the date asked for."""
    from rag import Assistant
    from rag.cli import main
    from rag.validation import check_date
    from rag.web.ui import input_error, run_answer
    from tests.fault_support import small_corpus

    assert check_date(typed, "date_from") == "2022-01-01"
    assert input_error("安唐保是什么？", None, typed, None) == ""
    corpus, index = small_corpus(tmp_path / "corpus"), tmp_path / "index"
    answer, error = run_answer(Assistant.build(corpus, index), "火星医院的院长是谁？",
                               date_from=typed)
    assert answer is not None and error == ""
    assert main(["search", "火星医院", "--index", str(index), "--date-from", typed]) == 0


@pytest.mark.unit
@pytest.mark.parametrize("typed", ["٢٠٢٢-٠١-٠١", "2022/01/01", "2022年1月1日"])
def test_other_date_forms_are_still_refused(typed):
    from rag.errors import InvalidArgumentError
    from rag.validation import check_date

    with pytest.raises(InvalidArgumentError, match="YYYY-MM-DD"):
        check_date(typed, "date_from")
