"""End-to-end behaviour of the Assistant on the bundled corpus with the real model."""

from __future__ import annotations

import pytest

from rag import Filters, InvalidQuestionError, UnknownDocumentError

pytestmark = pytest.mark.integration

ALI = "000_b3be6aaf6ae97e79"
CPIC = "001_7a80679c6e2a11f6"
JD_GZ = "002_cefbccecdd2d9a56"
JD_JIAI = "003_088a84496fb6fbd1"
PINGAN = "004_e2c8009914a3913c"


@pytest.mark.parametrize("question, doc_id", [
    ("安唐保是为哪类患者设计的？", ALI),
    ("慧医天下的注册医生有多少？", ALI),
    ("瑞金医院和中国太保合作建设了哪家医院？", CPIC),
    ("京东健康在广州海珠区做了什么？", JD_GZ),
    ("京东健康和哪家机构成立了互联网医疗中心？", JD_JIAI),
    ("平安健康的无感化服务是什么意思", PINGAN),
    ("2020年我国互联网医疗健康市场规模是多少？", PINGAN),
    ("What insurance product did Alibaba Health launch for diabetes patients?", ALI),
])
def test_retrieval_finds_the_right_article(assistant, question, doc_id):
    hits = assistant.retrieve(question, k=3)
    assert hits and hits[0].doc_id == doc_id


def test_answer_cites_exact_verbatim_snippets(assistant):
    answer = assistant.answer("安唐保是为哪类患者设计的？")
    assert answer.answered, answer.message
    first = answer.snippets[0]
    assert "糖尿病" in first.text and first.doc_id == ALI
    assert first.title.startswith("慧医天下牵手阿里健康")
    assert first.metadata["source"] == "新华网" and first.metadata["date"].startswith("2022-06-07")
    for snip in answer.snippets:
        assert assistant.document(snip.doc_id).text[snip.start:snip.end] == snip.text
        assert len(snip.text) <= 300
        for start, end in snip.highlight:
            assert 0 <= start < end <= len(snip.text)


@pytest.mark.parametrize("question, expected", [
    ("慧医天下的CEO是谁？", "陈华"),
    ("慧医天下与阿里健康在哪天举行签约仪式？", "2022年6月6日"),
    ("2020年我国互联网医疗健康市场规模达到多少？", "1961亿元"),
])
def test_answer_words_are_highlighted(assistant, question, expected):
    """The heuristic marks words of the asked-for kind; the reader marks its exact span."""
    snip = assistant.answer(question, reader=False).snippets[0]
    assert expected in [snip.text[s:e] for s, e in snip.highlight]
    snip = assistant.answer(question).snippets[0]
    assert [snip.text[s:e] for s, e in snip.highlight] == [snip.answer]
    assert expected in snip.text


@pytest.mark.parametrize("question", [
    "今天北京天气怎么样？", "红烧肉怎么做才好吃？", "腾讯医疗去年的营收是多少？",
    "What is the capital of Australia?",
])
def test_out_of_corpus_questions_are_refused(assistant, question):
    answer = assistant.answer(question)
    assert not answer.answered and answer.snippets == []
    assert "语料中没有找到答案" in answer.message
    assert answer.hits  # the closest articles, shown as "not an answer"


def test_nfkc_insensitive_matching(assistant):
    hits = assistant.retrieve("平安健康 3.73亿", k=3, mode="keyword")
    assert hits[0].doc_id == PINGAN and "3．73亿" in assistant.document(PINGAN).text


@pytest.mark.parametrize("mode", ["hybrid", "dense", "keyword"])
def test_every_mode_retrieves(assistant, mode):
    assert assistant.retrieve("京东健康济爱互联网医疗中心", k=2, mode=mode)[0].doc_id == JD_JIAI


def test_unknown_mode_is_a_clear_error(assistant):
    with pytest.raises(ValueError, match="unknown retrieval mode"):
        assistant.retrieve("京东健康", mode="magic")


def test_filters_restrict_results(assistant):
    hits = assistant.retrieve("互联网医院", k=10, source="新华网")
    assert hits and {h.doc_id for h in hits} == {ALI}
    hits = assistant.retrieve("互联网医院", k=10, date_from="2022-01-01", date_to="2022-02-01")
    assert hits and {h.doc_id for h in hits} == {CPIC}
    hits = assistant.retrieve("互联网医院", k=10, filters=Filters(doc_ids=[JD_GZ, PINGAN]))
    assert hits and {h.doc_id for h in hits} <= {JD_GZ, PINGAN}
    assert assistant.retrieve("互联网医院", source="不存在的来源") == []


def test_answers_read_and_cite_only_the_filtered_documents(assistant):
    """The reader's passages (chosen among the filtered chunks' sentences) and so every
    snippet come from the allowed documents, whatever the best document overall is."""
    q = "京东健康的CEO是谁？"
    assert assistant.answer(q).snippets[0].doc_id == "003_088a84496fb6fbd1"
    for mode in ("hybrid", "keyword"):
        ans = assistant.answer(q, mode=mode, filters=Filters(doc_ids=[JD_GZ, PINGAN]))
        assert {s.doc_id for s in ans.snippets} <= {JD_GZ, PINGAN}
        assert ans.answered or not ans.snippets


def test_a_refusal_under_filters_says_the_search_was_narrowed(assistant):
    """Filters that some articles pass but that hold no answer: the refusal said only "the
    corpus does not contain an answer", though the answer was in a filtered-out article."""
    q = "火星上有几家互联网医院？"
    plain = assistant.answer(q)
    assert not plain.answered and "filters" not in plain.message
    narrowed = assistant.answer(q, source="新华网")
    assert not narrowed.answered and "filters" in narrowed.message


def test_overlapping_chunks_are_deduplicated(assistant):
    hits = assistant.retrieve("京东健康", k=10)
    for i, a in enumerate(hits):
        for b in hits[i + 1:]:
            assert not (a.doc_id == b.doc_id and a.start < b.end and b.start < a.end)


@pytest.mark.parametrize("question", ["", "   \n\t", "问" * 10_000])
def test_bad_questions_are_clear_errors(assistant, question):
    with pytest.raises(InvalidQuestionError) as info:
        assistant.answer(question)
    assert "question" in str(info.value).lower()
    with pytest.raises(InvalidQuestionError):
        assistant.retrieve(question)


def test_question_of_only_punctuation_gives_an_answer_object(assistant):
    answer = assistant.answer("？？？")
    assert answer.question == "？？？" and isinstance(answer.answered, bool)


def test_documents_and_sources(assistant):
    assert assistant.n_documents == 5
    assert assistant.sources() == sorted({"新华网", "上海证券报", "羊城晚报", "高科技行业门户"})
    assert assistant.document(ALI).title.startswith("慧医天下")
    with pytest.raises(UnknownDocumentError, match="nope"):
        assistant.document("nope")


@pytest.mark.unit
def test_every_error_of_the_assistant_is_importable_from_rag():
    """The README names InvalidArgumentError as the Python error for bad arguments; it was
    only in rag.errors, so `except rag.InvalidArgumentError` failed."""
    import rag
    from rag import errors

    documented = [name for name in vars(errors) if name.endswith("Error")]
    for name in ("InvalidArgumentError", "InvalidQuestionError", "CorpusError", "RagError"):
        assert name in documented
    for name in documented:
        assert getattr(rag, name) is getattr(errors, name) and name in rag.__all__
