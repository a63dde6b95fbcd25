"""Faults found by the fifth robustness probe (real processes, 2026-11-24); each test failed
before its fix: a traceback, a user's files deleted, or an index silently rebuilt from
another corpus."""

from __future__ import annotations

import io
import json
import sys

import pytest

from rag import Assistant
from rag.errors import InvalidArgumentError
from rag.frontmatter import normalize_date
from tests.fault_support import small_corpus, write_article

pytestmark = [pytest.mark.unit, pytest.mark.usefixtures("fake_encoder")]

EMOJI_BODY = "星河科技的CEO是周八😀。"


def _gbk_stdout(monkeypatch) -> io.TextIOWrapper:
    """stdout as on a zh_CN.GBK terminal or a Windows cp936 redirect (strict errors)."""
    out = io.TextIOWrapper(io.BytesIO(), encoding="gbk")
    monkeypatch.setattr(sys, "stdout", out)
    return out


def _written(out: io.TextIOWrapper) -> str:
    out.flush()
    return out.buffer.getvalue().decode("gbk")


# ------------------------------------------------------- an index folder with other things
def test_an_index_folder_keeps_builds_folders_that_are_not_its_own(tmp_path):
    """`--index ~/project` where the project has a `builds/` of its own: every build pruned
    all but the newest two of its folders (and any `.tmp-*` one) as old index builds."""
    corpus = small_corpus(tmp_path / "corpus")
    index = tmp_path / "project"
    mine = [index / "builds" / name for name in ("v1", "v2", "v3", ".tmp-keep")]
    for folder in mine:
        folder.mkdir(parents=True)
        (folder / "release.bin").write_bytes(b"data")
    Assistant.build(corpus, index)
    write_article(corpus, "star.md", "星河科技", "星河科技的CEO是周八。")
    Assistant.build(corpus, index)  # a second and a third build: the first is pruned
    write_article(corpus, "sky.md", "云杉集团", "云杉集团的总裁是罗七。")
    assistant = Assistant.build(corpus, index)
    assert all((folder / "release.bin").read_bytes() == b"data" for folder in mine)
    assert assistant.n_documents == 5 and Assistant.load(index).n_documents == 5


# ------------------------------------------------------------------ a console not in UTF-8
def test_cli_output_on_a_console_that_cannot_encode_every_character(built, monkeypatch,
                                                                     capsys):
    from rag.cli import main

    assistant, corpus, index = built
    write_article(corpus, "star.md", "星河科技😀", EMOJI_BODY)
    out = _gbk_stdout(monkeypatch)
    assert main(["doc", "star", "--index", str(index)]) == 0  # was: UnicodeEncodeError
    text = _written(out)
    assert "星河科技" in text and "\\U0001f600" in text
    out = _gbk_stdout(monkeypatch)
    assert main(["doc", "star", "--index", str(index), "--json"]) == 0
    assert json.loads(_written(out))["text"].startswith(EMOJI_BODY)  # valid, nothing lost


def test_the_chat_starts_on_a_console_that_cannot_encode_every_character(built, monkeypatch):
    import app
    from tests.app_support import free_port

    _, _, index = built
    out = _gbk_stdout(monkeypatch)
    monkeypatch.setattr("rag.reader.inference.Reader.warm_up", lambda self: None)
    monkeypatch.setattr("rag.crosslingual.default_dictionary", lambda: None)
    monkeypatch.setattr(app, "launch", lambda demo, **kwargs: None)
    # was: UnicodeEncodeError on "✅ 索引就绪 Index ready" before the chat was served
    assert app.main(["--index", str(index), "--port", str(free_port())]) == 0
    assert "Index ready: 3 documents" in _written(out)


# ------------------------------------------------- RAG_INDEX_DIR and another corpus
def test_rag_index_dir_is_not_rebuilt_from_another_corpus(built, tmp_path, monkeypatch,
                                                          capsys):
    from rag.cli import main

    _, corpus, index = built
    other = tmp_path / "other"
    write_article(other, "star.md", "星河科技", "星河科技的CEO是周八。")
    monkeypatch.setenv("RAG_INDEX_DIR", str(index))
    # was: the user's index rebuilt from `other`, and `rag ask` / the chat answered from it
    assert main(["ask", "星河科技的CEO是谁？", "--corpus", str(other), "--no-reader"]) == 2
    assert "RAG_INDEX_DIR" in capsys.readouterr().err
    with pytest.raises(InvalidArgumentError, match="RAG_INDEX_DIR"):
        Assistant.build(other)
    with pytest.raises(InvalidArgumentError, match="RAG_INDEX_DIR"):
        Assistant.build()  # the bundled articles
    live = Assistant.load(index, refresh=False)
    assert live.manifest["corpus"]["sources"][0] == str(corpus.resolve())
    assert Assistant.build(corpus).n_documents == 3  # its own corpus still opens
    assert Assistant.build(other, tmp_path / "other-index").n_documents == 1  # named: fine


# --------------------------------------- a followed build of another corpus, then an upload
def test_an_upload_after_following_another_corpus_keeps_that_corpus(built, tmp_path,
                                                                    monkeypatch):
    assistant, _, index = built
    monkeypatch.setattr("rag.assistant.FOLLOW_EVERY_S", 0.0)
    other = tmp_path / "other"
    write_article(other, "star.md", "星河科技", "星河科技的CEO是周八。")
    Assistant.build(other, index)  # `rag index --index X --corpus other`, another process
    assistant.retrieve("星河科技", 1)  # the chat follows the live build
    assert {d.doc_id for d in assistant.documents()} == {"star"}
    upload = write_article(tmp_path / "up", "sky.md", "云杉集团", "云杉集团的总裁是罗七。")
    assert assistant.add_files([upload]).added == ["sky"]
    # was: rebuilt from the corpus the chat had opened: mars, moon, sea and sky
    assert {d.doc_id for d in assistant.documents()} == {"star", "sky"}
    assert assistant.manifest["corpus"]["sources"][0] == str(other.resolve())


# ------------------------------------------------------------------------------- dates
@pytest.mark.parametrize(("value", "day"), [
    ("2022-6-7", "2022-06-07"),  # YAML reads it as text, ISO parsing refused it
    ("2022.06.07", "2022-06-07"),
    ("2022/6/7 10:30", "2022-06-07"),
    ("2022年6月7日 10:30", "2022-06-07"),
])
def test_dates_with_single_digits_or_dots_are_kept(value, day):
    assert (normalize_date(value) or "")[:10] == day  # was: dropped, no date filter matched


def test_a_post_dated_with_single_digits_passes_a_date_filter(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "star.md").write_text("---\ntitle: 星河科技\ndate: 2022-6-7\n---\n"
                                    "星河科技的CEO是周八。\n", encoding="utf-8")
    assistant = Assistant.build(corpus, tmp_path / "index")
    hits = assistant.retrieve("星河科技", 1, date_from="2022-06-01", date_to="2022-06-30")
    assert [h.doc_id for h in hits] == ["star"]


# ------------------------------------------------------------------ a cache it cannot write
def test_an_unwritable_dictionary_cache_does_not_fail_english_questions(tmp_path, monkeypatch,
                                                                        caplog):
    """A read-only cache folder (a container's image): every English question (and the
    chat's start) failed with the OSError of writing the CC-CEDICT pickle."""
    from rag.crosslingual import default_dictionary

    (tmp_path / "crosslingual").write_text("not a folder")  # cannot be written into
    monkeypatch.setenv("RAG_CACHE_DIR", str(tmp_path))
    default_dictionary.cache_clear()
    try:
        dictionary = default_dictionary()  # was: FileExistsError
    finally:
        default_dictionary.cache_clear()  # the other tests read the real cache again
    assert dictionary.glosses and "cannot write the dictionary cache" in caplog.text


# ------------------------------------------------------------ an upload named by a long title
def test_an_upload_with_a_long_name_is_added_and_renamed_within_the_name_limit(built,
                                                                              tmp_path):
    """85 Chinese characters fill a file name (255 bytes): the staging copy's longer name
    was an OSError traceback (the chat: "adding the files failed") for any name over 241
    bytes, and so was the ``-2`` of a taken one."""
    assistant, _, index = built
    name = "京东健康" * 21 + ".md"  # 255 bytes
    first = write_article(tmp_path / "a", name, "星河科技", "星河科技的CEO是周八。")
    second = write_article(tmp_path / "b", name, "云杉集团", "云杉集团的总裁是罗七。")
    assert assistant.add_files([first]).added == [name[:-3]]
    added = assistant.add_files([second]).added  # the name is taken: "-2", shortened
    assert len(added) == 1 and added[0].endswith("-2")
    assert assistant.document(added[0]).title == "云杉集团"
    names = [p.name for p in (index / "added").iterdir()]
    assert len(names) == 2 and all(len(n.encode()) <= 255 for n in names)


# ------------------------------------------------------- a JSONL record with its own "path"
def test_a_jsonl_record_with_a_path_field_keeps_its_doc_id_and_its_article(tmp_path):
    """A scraper's ``"path": "/news/2022/b.html"`` replaced the file the record came from,
    so the record lost its doc_id to a post added later (``b.md``) and was dropped."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    record = {"id": "b", "title": "星河科技", "text": "星河科技的CEO是周八。",
              "path": "/news/2022/b.html"}
    (corpus / "news.jsonl").write_text(json.dumps(record, ensure_ascii=False), "utf-8")
    Assistant.build(corpus, tmp_path / "index")
    write_article(corpus, "b.md", "月球药房", "月球药房由李四经营。")
    assistant = Assistant.build(corpus, tmp_path / "index")
    assert assistant.document("b").title == "星河科技"  # was: 月球药房, the record gone
    assert assistant.document("b.md").title == "月球药房"
    meta = assistant.document("b").metadata
    assert meta["path"] == str((corpus / "news.jsonl").resolve())
    assert meta["record_path"] == "/news/2022/b.html"  # the record's own value is kept


# ------------------------------------------------- an index folder that holds articles
def test_an_index_folder_holding_articles_of_its_corpus_is_refused(tmp_path, capsys):
    """`--index news/2023` for a folder of the articles: the index folder is never read as
    articles, so its articles were silently left out of the index."""
    from rag.cli import main
    from rag.errors import CorpusError

    corpus = small_corpus(tmp_path / "corpus")
    write_article(corpus / "2023", "star.md", "星河科技", "星河科技的CEO是周八。")
    with pytest.raises(CorpusError, match="holds 1 article file"):
        Assistant.build(corpus, corpus / "2023")  # was: built without star, no warning
    assert main(["index", "--corpus", str(corpus), "--index", str(corpus / "2023")]) == 2
    assert ".rag-index" in capsys.readouterr().err
    assert not (corpus / "2023" / "CURRENT").exists()
    # an index folder of its own inside the corpus (new, or with its log) is still fine
    (corpus / "index").mkdir()
    (corpus / "index" / "feedback.jsonl").write_text('{"vote": "up"}\n', "utf-8")
    assert Assistant.build(corpus, corpus / "index").n_documents == 4
    assert Assistant.build(corpus, corpus / "index").n_documents == 4  # and re-opens


# ------------------------------------------------------------ RAG_CACHE_DIR naming a file
def test_rag_cache_dir_naming_a_file_is_one_clear_error(tmp_path, monkeypatch):
    """Before: "[Errno 20] Not a directory: …/models" from `rag index`, and from `rag ask` a
    message telling the user to remove an index lock inside the file."""
    from rag.cli import main

    cache = tmp_path / "cache"
    cache.write_text("not a folder")
    monkeypatch.setenv("RAG_CACHE_DIR", str(cache))
    with pytest.raises(InvalidArgumentError, match="RAG_CACHE_DIR=.* is a file, not a folder"):
        Assistant.build(small_corpus(tmp_path / "corpus"))
    assert main(["ask", "星河科技的CEO是谁？"]) == 2
    assert cache.read_text() == "not a folder"  # untouched


# ------------------------------------------------- a staging copy left by a killed upload
def test_a_staging_copy_left_by_a_killed_upload_is_removed_by_the_next_one(built, tmp_path):
    """An upload killed while its file was being copied (kill -9) left a hidden
    ``.upload-….tmp`` in ``added/`` for ever; the next upload, under the same lock, removes
    it (it was never read as an article)."""
    assistant, _, index = built
    added = index / "added"
    added.mkdir(exist_ok=True)
    orphan = added / ".upload-0123456789ab.tmp"
    orphan.write_text("half a file", encoding="utf-8")
    upload = write_article(tmp_path / "up", "sky.md", "云杉集团", "云杉集团的总裁是罗七。")
    assert assistant.add_files([upload]).added == ["sky"]
    assert sorted(p.name for p in added.iterdir()) == ["sky.md"]
