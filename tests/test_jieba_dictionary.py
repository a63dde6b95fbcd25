"""The compact cache of jieba's prefix dictionary: exactly jieba's own, rebuilt when damaged."""

from __future__ import annotations

import jieba
import pytest

from rag import jieba_dictionary
from rag.analyzer import Analyzer


@pytest.fixture(scope="module")
def reference() -> jieba.Tokenizer:
    tok = jieba.Tokenizer()
    tok.initialize()
    return tok


@pytest.mark.unit
def test_the_cached_dictionary_is_jiebas_and_cuts_the_same(tmp_path, reference):
    path = jieba_dictionary.cache_file(tmp_path)
    assert not path.exists()
    first = jieba_dictionary.tokenizer(tmp_path)  # built by jieba, then written
    assert path.is_file()
    second = jieba_dictionary.tokenizer(tmp_path)  # read from the file
    for tok in (first, second):
        assert tok.initialized
        assert tok.total == reference.total
        assert tok.FREQ == reference.FREQ
    text = "京东健康的首席执行官辛利军表示，互联网医院在疫情期间提供了超过30分钟的在线问诊。"
    assert second.lcut(text) == reference.lcut(text)
    assert second.lcut_for_search(text) == reference.lcut_for_search(text)


@pytest.mark.unit
def test_a_damaged_or_foreign_cache_file_is_rebuilt(tmp_path, reference):
    path = jieba_dictionary.cache_file(tmp_path)
    jieba_dictionary.tokenizer(tmp_path)
    whole = path.read_bytes()
    for bad in (whole[: len(whole) // 2], b"not a dictionary", b"",
                whole.replace(jieba_dictionary.MAGIC, b"x" * len(jieba_dictionary.MAGIC))):
        path.write_bytes(bad)
        assert jieba_dictionary.read(path) is None
        tok = jieba_dictionary.tokenizer(tmp_path)
        assert tok.FREQ == reference.FREQ and tok.total == reference.total
        assert path.read_bytes() == whole  # rewritten whole
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary files left


@pytest.mark.unit
def test_the_analyzer_reads_its_dictionary_from_its_cache_folder(tmp_path):
    analyzer = Analyzer(cache_dir=tmp_path)
    assert "互联网医院" in analyzer.tokens("互联网医院的首席执行官")  # a domain word on top
    assert jieba_dictionary.cache_file(tmp_path).is_file()


@pytest.mark.unit
def test_a_batch_of_token_lists_shares_one_string_per_word(tmp_path):
    """An index build's token lists: the same words as one text at a time, each distinct
    word one object (the lists are most of a big build's memory otherwise)."""
    analyzer = Analyzer(cache_dir=tmp_path)
    texts = ["互联网医院提供在线问诊。", "在线问诊由互联网医院提供，", "", "互联网医院"]
    batch = analyzer.tokens_batch(texts)
    assert batch == [analyzer.tokens(t) for t in texts]
    first = {w: w for w in batch[0]}
    shared = [w for tokens in batch[1:] for w in tokens if w in first]
    assert shared and all(w is first[w] for w in shared)


@pytest.mark.unit
def test_proper_nouns_are_those_jiebas_tagger_tags_as_names(tmp_path):
    """Parity with ``jieba.posseg``'s tag table (what the acronym path asked before), read
    without loading the tagger; a damaged cache file is rebuilt."""
    import jieba.posseg

    tags = jieba.posseg.POSTokenizer(jieba.Tokenizer()).word_tag_tab
    expected = {w for w, t in tags.items() if t in jieba_dictionary.PROPER_NOUN_TAGS}
    first = jieba_dictionary.proper_nouns(tmp_path)
    assert first == expected and len(first) > 100_000
    assert {"京东", "北京"} <= first and "阶段" not in first
    path = next(tmp_path.rglob("*proper-nouns*"))
    path.write_text(path.read_text("utf-8")[:1000], "utf-8")  # cut short
    assert jieba_dictionary.proper_nouns(tmp_path) == expected
    analyzer = Analyzer(user_words=["慧医天下"], cache_dir=tmp_path)
    pos = analyzer.posseg
    pos.makesure_userdict_loaded()
    for word in ("京东", "阶段", "慧医天下", "季度", "阿里巴巴", "上海", "医院", "不存在的词"):
        tagged = pos.word_tag_tab.get(word) in jieba_dictionary.PROPER_NOUN_TAGS
        assert analyzer.is_proper_noun(word) == tagged, word


@pytest.mark.unit
def test_the_analyzers_tagger_tags_like_jiebas_own(tmp_path):
    """The tagger takes the tag table jieba.posseg read on import instead of reading the
    dictionary file a second time: the same tags, its own words (nz) included, and the
    module's table is left without them."""
    import jieba.posseg

    words = ["慧医天下", "京东健康"]
    ours = Analyzer(user_words=words, cache_dir=tmp_path)
    fresh = Analyzer(user_words=words, cache_dir=tmp_path)
    reference = jieba.posseg.POSTokenizer(fresh.jieba)  # reads jieba's dictionary file
    for text in ("周恩来在北京会见了尼克松", "慧医天下的CEO是谁？", "京东健康与阿里健康合作。"):
        assert list(ours.posseg.cut(text)) == list(reference.cut(text))
    assert ours.posseg.word_tag_tab == reference.word_tag_tab
    assert "慧医天下" not in jieba.posseg.dt.word_tag_tab
