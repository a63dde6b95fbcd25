"""Faults found by a fresh probe of the CLI and the API (2026-11-24); each test failed
before its fix: a lost article, a crash, invalid JSON or a silently wrong answer."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest

from embeddings.cache import EmbeddingCache
from rag import Assistant
from rag.corpus import document_from_record, load_corpus, read_corpus
from rag.errors import InvalidArgumentError, InvalidQuestionError
from rag.frontmatter import split_front_matter
from tests.fault_support import small_corpus, write_article

pytestmark = [pytest.mark.unit, pytest.mark.usefixtures("fake_encoder")]


# ------------------------------------------------------------------------- front matter
@pytest.mark.parametrize("bad", ["date: 2022-02-30", "date: 2022-13-45",
                                 "date: 2022-06-07 25:10:00", "views: !!int abc"])
def test_a_value_yaml_cannot_convert_keeps_the_article_and_its_other_fields(tmp_path, bad,
                                                                          caplog):
    post = tmp_path / "c" / "post.md"
    post.parent.mkdir()
    post.write_text(f"---\ntitle: 梅园小学\ntags: [教育]\n{bad}\n---\n梅园小学的校长是赵六。\n",
                    "utf-8")
    (doc,) = load_corpus(post.parent)
    assert doc.title == "梅园小学" and doc.metadata["tags"] == ["教育"]
    assert "校长是赵六" in doc.text
    assert "date" not in doc.metadata or doc.metadata["date"].startswith("2022-06-07")


def test_text_between_two_horizontal_rules_is_kept():
    raw = "---\n第一部分：云杉集团的总裁是罗七。\n---\n第二部分：总部在杭州。\n"
    front, body = split_front_matter(raw)
    assert front == {} and "云杉集团的总裁是罗七" in body and "第二部分" in body
    # a real front matter still goes, and broken front matter still does not reach the text
    assert split_front_matter("---\ntitle: 好\n---\n正文") == ({"title": "好"}, "正文")
    assert split_front_matter("---\ntitle: a: b: c\n---\n正文") == ({}, "正文")


def test_an_upload_with_a_bad_date_is_added_with_the_others(built, tmp_path):
    assistant, _, _ = built
    good = write_article(tmp_path / "up", "good.md", "星河科技", "星河科技的CEO是周八。")
    bad = tmp_path / "up" / "baddate.md"
    bad.write_text("---\ntitle: 梅园小学\ndate: 2022-02-30\n---\n梅园小学的校长是赵六。\n",
                   "utf-8")
    report = assistant.add_files([good, bad])
    assert not report.errors and len(report.added) == 2
    assert "赵六" in assistant.document("baddate").text
    assert assistant.retrieve("梅园小学的校长", 1)[0].doc_id == "baddate"


# ------------------------------------------------------------------------------- JSONL
def test_jsonl_values_strict_json_cannot_carry_are_made_plain(tmp_path):
    corpus = tmp_path / "c.jsonl"
    corpus.write_text('{"id": "j1", "text": "星光影院有八个放映厅\\ud800。", "rating": NaN, '
                      '"scores": [Infinity, 1.5]}\n', "utf-8")
    (doc,) = load_corpus(corpus)
    assert doc.metadata["rating"] is None and doc.metadata["scores"] == [None, 1.5]
    assert "\ufffd" in doc.text and not any(0xD800 <= ord(c) <= 0xDFFF for c in doc.text)
    json.dumps(doc.metadata, allow_nan=False)  # strict JSON


@pytest.mark.parametrize(("rid", "needle"), [(1.5, "not a string or integer"),
                                             (True, "not a string or integer"),
                                             ("  ", "empty 'id'"), (None, "no 'id'")])
def test_jsonl_ids_that_are_not_ids_say_why(rid, needle):
    with pytest.raises(Exception, match=needle):
        document_from_record({"id": rid, "text": "正文"}, "c.jsonl:1")


def test_same_named_posts_both_load(tmp_path):
    write_article(tmp_path, "dup.md", "甲", "甲公司的董事长是钱九。")
    write_article(tmp_path, "dup.txt", "乙", "乙公司的董事长是孙十。")
    report = read_corpus(tmp_path)
    assert sorted(d.doc_id for d in report.documents) == ["dup", "dup.txt"]
    assert any("this one is 'dup.txt'" in p for p in report.problems)


def test_a_file_added_later_never_takes_an_indexed_articles_doc_id(built):
    """news.html added beside news.md sorts first: it used to take the doc_id 'news', so
    every citation of news.md silently showed the new article's text."""
    assistant, corpus, index = built
    cited = assistant.document("mars").text
    (corpus / "mars.html").write_text("<p>另一家火星医院：院长是刘六。</p>", encoding="utf-8")
    (corpus / "0.jsonl").write_text('{"id": "mars", "text": "记录：火星上的另一家医院。"}\n'
                                    '{"id": "j2", "text": "第二条记录。"}\n', encoding="utf-8")
    assert assistant.refresh()
    assert assistant.document("mars").text == cited
    assert "刘六" in assistant.document("mars.html").text
    assert {"j2", "moon", "sea"} <= {d.doc_id for d in assistant.documents()}
    fresh = Assistant.build(corpus, index.parent / "fresh")  # a first build: first come
    assert "刘六" in fresh.document("mars").text or "记录" in fresh.document("mars").text


# --------------------------------------------------------------------------- the index
def test_an_index_inside_its_corpus_folder_is_not_read_as_articles(tmp_path):
    corpus = small_corpus(tmp_path / "corpus")
    index = corpus / "idx"
    assistant = Assistant.build(corpus, index)
    assert sorted(d.doc_id for d in assistant.documents()) == ["mars", "moon", "sea"]
    (corpus / "moon.md").unlink()
    again = Assistant.load(index)
    assert sorted(d.doc_id for d in again.documents()) == ["mars", "sea"]
    build = again.store.current().name
    assert Assistant.load(index).store.current().name == build  # no rebuild on every open


@pytest.mark.parametrize("how", ["emptied", "removed"])
def test_a_corpus_gone_or_emptied_keeps_the_last_index_with_a_warning(built, caplog, how):
    assistant, corpus, index = built
    for f in corpus.iterdir():
        f.unlink()
    if how == "removed":
        corpus.rmdir()
    with caplog.at_level(logging.WARNING):
        again = Assistant.load(index)
    assert len(again.documents()) == 3
    assert any("answering from the index built" in r.getMessage() for r in caplog.records)


def test_an_unreadable_embedding_cache_is_set_aside_not_fatal(tmp_path, caplog):
    path = tmp_path / "m-4.sqlite"
    path.write_bytes(np.random.default_rng(0).bytes(20_000))
    with caplog.at_level(logging.WARNING):
        cache = EmbeddingCache(path, 4)
    cache.put_many(["a"], np.ones((1, 4)))
    assert list(cache.get_many(["a"])) == ["a"] and len(cache) == 1
    assert [p.name for p in tmp_path.glob("m-4.sqlite.corrupt-*")]
    assert any("moved to" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("blob", [b"\x01\x02\x03\x04\x05", "text",
                                  np.full(4, np.nan, np.float32).tobytes(),
                                  np.array([1, np.inf, 0, 0], np.float32).tobytes()],
                         ids=["short", "text", "nan", "inf"])
def test_damaged_cache_rows_are_misses_not_crashes_or_bad_vectors(tmp_path, blob):
    cache = EmbeddingCache(tmp_path / "m-4.sqlite", 4)
    cache.put_many(["good", "bad"], np.ones((2, 4)))
    with cache._db:  # a damaged page, or another writer, left a row that is no vector
        cache._db.execute("UPDATE emb SET vec = ? WHERE key = 'bad'", (blob,))
    found = cache.get_many(["good", "bad"])
    assert list(found) == ["good"] and np.isfinite(found["good"]).all()


# -------------------------------------------------------------------- Python API arguments
@pytest.mark.parametrize(("call", "needle"), [
    (lambda c, i: Assistant.build("", i), "corpus is empty"),  # was: the working directory
    (lambda c, i: Assistant.build(5, i), "corpus must be a path"),
    (lambda c, i: Assistant.build([str(c)], i), "corpus must be a path"),
    (lambda c, i: Assistant.build(c, 5), "index_dir must be a path"),
    (lambda c, i: Assistant.build(c, i, model=5), "model must be"),
    (lambda c, i: Assistant.build(c, i, config={"model": "x"}), "config must be a rag.Config"),
    (lambda c, i: Assistant.load(""), "index_dir is empty"),
    (lambda c, i: Assistant.load(5), "index_dir must be a path"),
    (lambda c, i: Assistant.load(str(i).encode()), "index_dir must be a path"),
    (lambda c, i: Assistant.load(i, config="fast"), "config must be a rag.Config"),
], ids=["empty corpus", "int corpus", "list corpus", "int index", "int model", "dict config",
        "empty index", "int index on load", "bytes index", "str config"])
def test_wrong_argument_types_are_clear_errors(built, tmp_path, call, needle):
    _, corpus, _ = built
    with pytest.raises(InvalidArgumentError, match=needle):
        call(corpus, tmp_path / "new-index")
    assert not (tmp_path / "new-index").exists()  # nothing built anywhere


@pytest.mark.parametrize("question", [5, 3.5, b"bytes", ["list"]])
def test_a_question_that_is_no_string_says_so(built, question):
    assistant, _, _ = built
    for method in (assistant.answer, assistant.retrieve):
        with pytest.raises(InvalidQuestionError, match="must be a string"):
            method(question)


@pytest.mark.parametrize(("filters", "needles"), [
    ({"source": "新华社"}, ["'新华社'", "测试报"]),  # a mistyped source
    ({"date_from": "2030-01-01"}, ["2030-01-01"]),
    ({"doc_ids": ["no-such-doc"]}, ["doc_id"]),
])
def test_filters_that_no_document_passes_say_so(built, filters, needles):
    assistant, _, _ = built
    answer = assistant.answer("火星医院的院长是谁？", **filters)
    assert not answer.answered and answer.hits == []
    assert "No document matches the filters" in answer.message
    assert all(n in answer.message for n in needles)
    kept = assistant.answer("火星医院的院长是谁？", source="测试报")  # a filter that matches
    assert "No document matches" not in kept.message and kept.hits


# ---------------------------------------------------------------------------- questions
def test_bytes_that_are_not_utf8_are_a_clear_error(built):
    assistant, _, _ = built
    with pytest.raises(InvalidQuestionError, match="UTF-8"):
        assistant.answer("\udcff星河科技")
    with pytest.raises(InvalidQuestionError, match="UTF-8"):
        assistant.retrieve("\ud800星河科技")


def test_control_characters_in_a_question_do_not_change_the_answer(built):
    assistant, _, _ = built
    clean = assistant.retrieve("火星医院的院长是谁？", 3)
    noisy = assistant.retrieve("火星医院\x00的院长\x07是谁？", 3)
    assert [(h.doc_id, h.score) for h in noisy] == [(h.doc_id, h.score) for h in clean]
    assert clean and clean[0].doc_id == "mars"


@pytest.mark.parametrize("paths", [None, 5, [5], ["ok.md", b"bytes.md"]])
def test_add_files_wants_paths(built, paths):
    assistant, _, _ = built
    before = assistant.n_documents
    with pytest.raises(InvalidArgumentError, match="a file path or a list of file paths"):
        assistant.add_files(paths)
    assert assistant.n_documents == before


def test_empty_doc_ids_and_unknown_modes_are_argument_errors(built):
    assistant, _, _ = built
    with pytest.raises(InvalidArgumentError, match="doc_ids is empty"):
        assistant.retrieve("火星医院", 3, doc_ids=[])
    with pytest.raises(InvalidArgumentError, match="unknown retrieval mode"):
        assistant.retrieve("火星医院", mode="bogus")


def _cli(capsys, *argv: str) -> tuple[int, str, str]:
    from rag.cli import main

    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_json_errors_are_json_and_bad_bytes_exit_2(built, capsys):
    _, _, index = built
    code, out, err = _cli(capsys, "ask", "\udcff星河科技", "--index", str(index), "--json")
    assert code == 2 and "UTF-8" in err
    assert json.loads(out)["type"] == "InvalidQuestionError"


def test_cli_index_that_is_a_file_says_so(tmp_path, capsys):
    target = tmp_path / "not-a-dir"
    target.write_text("x")
    code, _, err = _cli(capsys, "ask", "火星医院", "--index", str(target))
    assert code == 2 and "is a file" in err
    code, _, err = _cli(capsys, "index", "--index", str(target), "--corpus",
                        str(small_corpus(tmp_path / "c")))
    assert code == 2 and "is a file" in err and target.read_text() == "x"


# ------------------------------------------------------------ found by the web probe
def test_a_jsonl_upload_repeating_an_id_is_refused_not_half_added(built, tmp_path):
    assistant, _, _ = built
    upload = tmp_path / "dup.jsonl"
    upload.write_text('{"id": "j1", "text": "火山公司的老板是吴一。"}\n'
                      '{"id": "j1", "text": "重复的记录。"}\n', "utf-8")
    before = len(assistant.documents())
    report = assistant.add_files([upload])
    assert report.added == [] and "'j1'" in report.errors[0] and "more than one" in \
        report.errors[0]
    assert len(assistant.documents()) == before


@pytest.mark.parametrize("question", [12345, ["a", "b"], {"x": 1}, None,
                                      "\u3000\u200b\u200b"])
def test_the_web_answer_takes_any_value_without_a_traceback(built, question):
    from rag.web.ui import run_answer

    assistant, _, _ = built
    answer, error = run_answer(assistant, question)
    assert answer is None and "Please type a question" in error


def test_a_short_answer_never_runs_into_the_next_sentence():
    from rag.reader.decode import trim_answer

    text = "星河科技的CEO是周八。星河科技成立于2015年，总部位于深圳。"
    a, b = trim_answer(text, text.index("周八"), len(text))
    assert text[a:b] == "周八"
    a, b = trim_answer(text, text.index("2015"), text.index("深圳"))  # inside one sentence
    assert text[a:b] == "2015年，总部位于"
    assert trim_answer("。", 0, 1) == (0, 1)  # nothing left: unchanged


@pytest.mark.unit
@pytest.mark.parametrize("question", ["", "   ", "\u3000\n"])
def test_the_chat_and_the_library_say_the_same_to_no_question(question):
    """The chat said 「请输入一个问题。」, `Assistant.answer` and `rag ask` 「请输入问题。」."""
    from rag.assistant import check_question
    from rag.errors import InvalidQuestionError
    from rag.web.ui import run_answer

    with pytest.raises(InvalidQuestionError) as raised:
        check_question(question)
    assert run_answer(object(), question) == (None, str(raised.value))
