"""English questions put into the corpus's words (rag/crosslingual.py)."""

from __future__ import annotations

import dataclasses

import pytest

from rag.crosslingual import Dictionary, QueryTranslator, _gloss_phrases, needs_translation

GLOSSES = {  # a tiny CC-CEDICT stand-in: phrase → (headword, gloss rank, whole gloss)
    "insurance": (("保险", 0, True),),
    "company": (("公司", 0, True), ("行", 3, False)),
    "insurance company": (("友邦保险公司", 1, False),),
    "chairman": (("主席", 0, False), ("董事长", 1, True)),
    "pharmacy": (("药店", 0, True),),
    "health": (("健康", 0, True),),
}
VOCAB = {"保险": 9, "公司": 12, "董事长": 3, "药店": 2, "健康": 30, "慧医天下": 4, "广慈": 1,
         "ceo": 5}


def translator(vocab=VOCAB) -> QueryTranslator:
    return QueryTranslator(vocab, dictionary=lambda: Dictionary(GLOSSES))


@pytest.mark.unit
def test_chinese_questions_are_left_alone():
    assert translator().translate("京东健康的CEO是谁？") is None
    assert not needs_translation("安唐保是什么？")
    assert needs_translation("Who is the CEO of JD Health?")


@pytest.mark.unit
def test_phrases_become_the_words_the_corpus_uses():
    t = translator().translate("Which insurance company works with pharmacies?")
    words = dict(t.terms)
    # no corpus word for the two-word phrase: its words are looked up one by one
    assert words["insurance"] == "保险" and words["company"] == "公司"
    assert words["pharmacies"] == "药店"  # inflection removed
    assert t.text.startswith("哪个")  # the question word leads, as in a Chinese question
    assert "友邦保险公司" not in t.text


@pytest.mark.unit
def test_a_word_the_corpus_uses_is_kept_and_names_match_by_pinyin():
    t = translator().translate("Who is the CEO of Huiyi Tianxia and chairman of Guangci?")
    words = dict(t.terms)
    assert words["CEO"] == "ceo"
    assert words["Huiyi Tianxia"] == "慧医天下"
    assert words["Guangci"] == "广慈"
    assert words["chairman"] == "董事长"  # the sense found in the corpus wins over the first
    assert t.coverage == 1.0


@pytest.mark.unit
def test_nothing_found_means_no_translation():
    assert translator().translate("Zyxw qwerty?") is None


@pytest.mark.unit
def test_gloss_normalisation():
    assert _gloss_phrases("to sign (a contract)") == [("sign", True)]
    assert _gloss_phrases("chairman; director-general") == [("chairman", False),
                                                            ("director-general", False)]
    assert _gloss_phrases("variant of 藥|药") == []


@pytest.mark.integration
def test_english_question_finds_its_article_through_the_translation(assistant):
    q = "How many pharmacies have partnered with Ping An Health's cloud consultation service?"
    retrieval = assistant._retriever.run(q)
    assert retrieval.translation is not None and "药店" in retrieval.question
    top = assistant.retrieve(q, k=1)[0]
    assert assistant.document(top.doc_id).title.find("平安") >= 0


@pytest.mark.integration
def test_without_translation_english_questions_use_dense_search_only(assistant):
    retriever = assistant._retriever
    plain = dataclasses.replace(retriever.config, translate_questions=False)
    retriever.config, saved = plain, retriever.config
    try:
        q = "Which patients is the insurance designed for?"
        assert retriever.keyword_weight(q) == 0.0
        hybrid = [h.doc_id for h in assistant.retrieve(q, k=5, mode="hybrid")]
        dense = [h.doc_id for h in assistant.retrieve(q, k=5, mode="dense")]
        assert hybrid == dense
    finally:
        retriever.config = saved


@pytest.mark.integration
def test_english_question_gets_the_chinese_short_answer(assistant):
    ans = assistant.answer("How old is Mr. Zhou from Longyan, Fujian, the patient in the "
                           "Ping An Health case?")
    assert ans.answered and ans.short_answer and "35岁" in ans.short_answer
    first = ans.snippets[0]
    assert assistant.document(first.doc_id).text[first.answer_start:first.answer_end] \
        == ans.short_answer


@pytest.mark.integration
def test_the_heuristic_answerer_reads_the_translation_too(assistant):
    ans = assistant.answer("How many pharmacies have partnered with Ping An Health's cloud "
                           "consultation service?", reader=False)
    assert ans.answered and "15．1万家" in ans.snippets[0].text


@pytest.mark.unit
def test_full_width_latin_questions_are_translated_like_ascii_ones():
    """An IME in full-width mode types ＪＤ Ｈｅａｌｔｈ: it was refused as untranslatable."""
    assert needs_translation("Ｗｈｏ ｉｓ ｔｈｅ ＣＥＯ ｏｆ ＪＤ Ｈｅａｌｔｈ？")
    wide = translator().translate(
        "Ｗｈｉｃｈ ｉｎｓｕｒａｎｃｅ ｃｏｍｐａｎｙ ｗｏｒｋｓ ｗｉｔｈ ｐｈａｒｍａｃｉｅｓ？")
    plain = translator().translate("Which insurance company works with pharmacies?")
    assert wide is not None and wide.text == plain.text and wide.terms == plain.terms
