"""English questions put into the corpus's words (rag/crosslingual.py)."""

from __future__ import annotations

import dataclasses

import pytest

from rag.crosslingual import Dictionary, QueryTranslator, _gloss_phrases, needs_translation

GLOSSES = {  # a tiny CC-CEDICT stand-in: phrase → (headword, gloss rank, whole gloss,
    # a verb's gloss)
    "insurance": (("保险", 0, True, False),),
    "company": (("公司", 0, True, False), ("行", 3, False, False)),
    "insurance company": (("友邦保险公司", 1, False, False),),
    "chairman": (("主席", 0, False, False), ("董事长", 1, True, False)),
    "pharmacy": (("药店", 0, True, False),),
    "health": (("健康", 0, True, False),),
    "hold": (("举行", 0, True, False),),
    "large": (("大", 0, True, False),),
    "nominee": (("提名人", 0, True, False),),
}
VOCAB = {"保险": 9, "公司": 12, "董事长": 3, "药店": 2, "健康": 30, "慧医天下": 4, "广慈": 1,
         "ceo": 5, "举行": 7, "大": 40, "提名人": 2}


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
def test_irregular_and_inflected_words_are_looked_up_by_their_lemma():
    t = translator().translate("Where were the nominees held in the largest hall?")
    words = dict(t.terms)
    assert words["held"] == "举行"  # no suffix rule gives "hold"
    assert words["nominees"] == "提名人" and words["largest"] == "大"


@pytest.mark.unit
def test_the_word_before_tells_a_noun_from_a_verb():
    """"Which station" took the verb's gloss 驻扎 ("to station (troops)"), "the Niels Bohr
    Institute" 确立 ("to institute"): a noun context now keeps the nouns when the corpus has
    one, a verb context the verbs."""
    glosses = dict(GLOSSES, station=(("驻扎", 0, True, True), ("车站", 1, False, False)),
                   institute=(("确立", 0, True, True), ("研究所", 2, False, False)))
    vocab = dict(VOCAB, 驻扎=5, 车站=3, 确立=4, 研究所=2)
    t = QueryTranslator(vocab, dictionary=lambda: Dictionary(glosses))
    assert dict(t.translate("Which station is the largest?").terms)["station"] == "车站"
    assert dict(t.translate("Where is the Niels Bohr Institute?").terms)["Institute"] == "研究所"
    assert dict(t.translate("Where did they station troops?").terms)["station"] == "驻扎"
    assert dict(t.translate("Where to station troops?").terms)["station"] == "驻扎"


@pytest.mark.unit
def test_a_name_read_as_pinyin_prefers_a_proper_noun():
    """"Fujin" was 附近 ("nearby", the commoner word with that pinyin), not the city 富锦."""
    vocab = dict(VOCAB, 附近=50, 富锦=2)
    t = QueryTranslator(vocab, dictionary=lambda: Dictionary(GLOSSES),
                        proper_noun={"富锦"}.__contains__)
    assert dict(t.translate("Which river flows past Fujin?").terms)["Fujin"] == "富锦"
    plain = QueryTranslator(vocab, dictionary=lambda: Dictionary(GLOSSES))
    assert dict(plain.translate("Which river flows past Fujin?").terms)["Fujin"] == "附近"


@pytest.mark.unit
def test_pronouns_are_not_looked_up():
    """"you" was translated as 执事 (a gloss of CC-CEDICT's 执事, "you"), "them" as 人家."""
    vocab = dict(VOCAB, 执事=3, 人家=4)
    glosses = dict(GLOSSES, you=(("执事", 2, False, False),), them=(("人家", 1, False, False),))
    t = QueryTranslator(vocab, dictionary=lambda: Dictionary(glosses))
    tr = t.translate("Where can you buy insurance for them?")
    assert not {"you", "them"} & set(dict(tr.terms))
    assert "执事" not in tr.text and "人家" not in tr.text and "保险" in tr.text


@pytest.mark.unit
def test_nothing_found_means_no_translation():
    assert translator().translate("Zyxw qwerty?") is None


@pytest.mark.unit
def test_gloss_normalisation():
    assert _gloss_phrases("to sign (a contract)") == [("sign", True, True)]
    assert _gloss_phrases("chairman; director-general") == [("chairman", False, False),
                                                            ("director-general", False, False)]
    assert _gloss_phrases("station; to stand") == [("station", False, False),
                                                   ("stand", False, True)]
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


PROPER_NOUNS = {"京东", "央视"}  # 阶段 and 季度 are common nouns


def acronym_translator(vocab: dict[str, int]) -> QueryTranslator:
    glosses = dict(GLOSSES, CCTV=(("中国中央电视台", 0, True, False), ("央视", 0, True, False)))
    return QueryTranslator(vocab, dictionary=lambda: Dictionary(glosses),
                           proper_noun=PROPER_NOUNS.__contains__)


@pytest.mark.unit
def test_an_acronym_becomes_the_proper_noun_its_pinyin_initials_spell():
    """"JD Health" was searched as 健康 alone, and "the CEO of JD Health" found Alibaba
    Health's CEO; JD is 京东 (jing dong), a proper noun, not the commoner 阶段 (jie duan)."""
    vocab = dict(VOCAB, 京东=20, 阶段=40, 季度=25)
    t = acronym_translator(vocab).translate("Who is the CEO of JD Health?")
    assert dict(t.terms)["JD"] == "京东" and "京东" in t.words
    assert t.coverage == 1.0
    # without a proper noun to spell, the acronym stays as it is
    t = acronym_translator(dict(VOCAB, 阶段=40)).translate("Who is the CEO of JD Health?")
    assert "JD" not in dict(t.terms) and "JD" in t.words


@pytest.mark.unit
def test_an_acronym_in_the_dictionary_becomes_the_word_the_corpus_uses():
    t = acronym_translator(dict(VOCAB, 央视=3)).translate("Which insurance company did CCTV cite?")
    assert dict(t.terms)["CCTV"] == "央视"
    assert ("CCTV", True, False) in _gloss_phrases("China Central Television (CCTV), PRC state TV")
    # capitals are an acronym only where the question is not written in capitals
    shouted = acronym_translator(dict(VOCAB, 京东=20)).translate("WHO IS THE CEO OF JD HEALTH?")
    assert "JD" not in dict(shouted.terms) and shouted.words[0] == "谁"


@pytest.mark.integration
def test_an_english_question_naming_a_company_by_its_acronym_is_answered(assistant):
    ans = assistant.answer("Who is the CEO of JD Health?")
    assert ans.answered and ans.short_answer == "辛利军"
    assert "京东" in assistant.document(ans.snippets[0].doc_id).text


@pytest.mark.unit
def test_the_gloss_cache_is_one_file_and_replaces_older_ones(tmp_path, monkeypatch):
    """A reinstall changes CC-CEDICT's mtime and so the cache file's name: the older 4 MB
    pickles were kept, one per install."""
    from rag.crosslingual import default_dictionary

    monkeypatch.setenv("RAG_CACHE_DIR", str(tmp_path))
    folder = tmp_path / "crosslingual"
    folder.mkdir()
    (folder / "cedict-v1-123-456.pickle").write_bytes(b"stale")
    default_dictionary.cache_clear()
    try:
        built = default_dictionary()
        assert built.lookup("insurance") and built.lookup("CCTV")
        files = list(folder.iterdir())
        assert len(files) == 1 and files[0].name.startswith("cedict-v")
        default_dictionary.cache_clear()
        assert default_dictionary().lookup("insurance") == built.lookup("insurance")  # read back
    finally:
        default_dictionary.cache_clear()


@pytest.mark.unit
def test_pinyin_is_kept_in_the_cache_folder_and_pypinyin_not_imported_again(tmp_path,
                                                                          monkeypatch):
    """Importing pypinyin and reading a vocabulary with it was most of a cold English question
    with an acronym; the words' pinyin is kept, and a damaged file is only a cache."""
    import sys

    from rag.crosslingual import _pinyin_of

    words = ["京东", "慧医天下", "银行"]
    first = _pinyin_of(words, tmp_path)
    assert first["京东"] == ("jing", "dong") and first["银行"] == ("yin", "hang")
    monkeypatch.setitem(sys.modules, "pypinyin", None)  # an import would now fail
    assert {w: _pinyin_of(words, tmp_path)[w] for w in words} == {w: first[w] for w in words}
    with pytest.raises(ImportError):
        _pinyin_of(["广慈"], tmp_path)  # a new word needs pypinyin
    monkeypatch.undo()
    (cache,) = tmp_path.glob("pinyin-*.pickle")
    cache.write_bytes(b"not a pickle")
    assert _pinyin_of(["广慈"], tmp_path)["广慈"] == ("guang", "ci")
