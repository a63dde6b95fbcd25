"""Faults found by the sixth robustness probe (the eval CLI on a user's own data, the Milvus
backend's files, 2026-11-24); each test failed before its fix: a traceback, an evaluation
that reported numbers for questions it could never answer, a regression check that passed
on a file that holds no results, or Milvus collections left behind for ever."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from eval import runner
from tests.fault_support import FakeEncoder, small_corpus, write_article

GOOD = {"id": "q1", "question": "阿里健康和谁合作？", "doc_ids": ["d1"], "answers": ["慧医天下"]}


def _never_opened(*_args: object) -> None:
    raise AssertionError("bad input must be refused before the index is opened")


def _eval(tmp_path: Path, monkeypatch, *args: str) -> int:
    monkeypatch.setattr(runner, "open_assistant", _never_opened)
    return runner.main(["--out", str(tmp_path / "out"), "--index", str(tmp_path / "index"),
                        "--modes", "hybrid", *args])


# ----------------------------------------------------------------- python -m eval, own data
@pytest.mark.unit
@pytest.mark.parametrize(("line", "says"), [
    ('{"question": "谁？"}', '"id" must be'),
    ('{"id": "a"}', '"question" must be'),
    ('{"id": "a", "question": 5}', '"question" must be'),
    ('{"id": "a", "question": "谁？", "doc_ids": "d1"}', '"doc_ids" must be a list'),
    ('{"id": "a", "question": "谁？", "doc_ids": ["d1"], "answers": "慧医天下"}',
     '"answers" must be a list'),
    ('["a", "谁？"]', "must be a JSON object"),
    ("{not json", "not JSON"),
])
def test_a_malformed_question_line_is_one_error_naming_it(tmp_path, monkeypatch, capsys, line,
                                                          says):
    """A missing field was a KeyError traceback; a string of doc_ids or answers was read
    character by character and a non-string question evaluated, with results written."""
    questions = tmp_path / "qa.jsonl"
    questions.write_text(json.dumps(GOOD, ensure_ascii=False) + "\n" + line + "\n",
                         encoding="utf-8")
    assert _eval(tmp_path, monkeypatch, "--questions", str(questions)) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {questions}:2: ") and says in err, err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


@pytest.mark.unit
def test_a_question_file_that_is_missing_is_one_error_line(tmp_path, monkeypatch, capsys):
    assert _eval(tmp_path, monkeypatch, "--questions", str(tmp_path / "none.jsonl")) == 2
    assert capsys.readouterr().err.startswith("error: cannot read the question file")


@pytest.mark.unit
@pytest.mark.parametrize(("content", "says"), [
    ("not json", "not JSON"),
    ('[{"title": "x"}]', "a JSON object was expected"),
    ('{"version": "1.1"}', '"data" must be a list'),
    ('{"data": [{"paragraphs": [{"qas": []}]}]}', 'paragraphs[0]: "context" must be'),
    ('{"data": [{"paragraphs": [{"context": "北京是首都。", "qas": [{"id": "q"}]}]}]}',
     'qas[0]: "question" must be'),
])
def test_a_squad_file_of_another_shape_is_one_error_line(tmp_path, monkeypatch, capsys,
                                                         content, says):
    """Each was a KeyError / TypeError / JSONDecodeError traceback."""
    squad = tmp_path / "set.json"
    squad.write_text(content, encoding="utf-8")
    monkeypatch.setenv("RAG_CACHE_DIR", str(tmp_path / "cache"))
    assert _eval(tmp_path, monkeypatch, "--squad", str(squad)) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {squad}: ") and says in err, err
    assert "Traceback" not in err


@pytest.mark.unit
@pytest.mark.parametrize("limit", ["0", "-3"])
def test_a_limit_below_one_is_an_argument_error(limit, capsys):
    """``--limit 0`` evaluated every question; a negative one said "no questions"."""
    with pytest.raises(SystemExit) as stop:
        runner.parse_args(["--limit", limit])
    assert stop.value.code == 2
    assert "--limit: must be a whole number of at least 1" in capsys.readouterr().err


@pytest.mark.unit
@pytest.mark.parametrize(("content", "says"), [
    ("{truncated", "cannot read it as JSON"),
    ('{"meta": {}}', "not a results file"),
    ('[1, 2]', "not a results file"),
    ('{"modes": {"hybrid": {"metrics": {"hit@1": "0.8"}}}}', "hybrid hit@1 is '0.8'"),
])
def test_a_compare_file_that_holds_no_results_is_refused_before_evaluating(
        tmp_path, content, says, capsys):
    """A file without results "found no quality regression" (exit 0) after the whole
    evaluation; a broken one was a traceback at the very end of it."""
    old = tmp_path / "results.json"
    old.write_text(content, encoding="utf-8")
    with pytest.raises(SystemExit) as stop:
        runner.parse_args(["--compare", str(old)])
    assert stop.value.code == 2
    assert says in capsys.readouterr().err


@pytest.mark.unit
def test_gold_doc_ids_the_corpus_lacks_are_an_error_not_a_recall_of_zero(tmp_path,
                                                                         monkeypatch, capsys):
    """Questions naming doc_ids of another corpus (a typo, a renamed file) were evaluated
    as retrieval misses, and their results written as the corpus's quality."""
    from tests.test_eval_runner import FakeAssistant

    questions = tmp_path / "qa.jsonl"
    rows = [GOOD, {**GOOD, "id": "q2", "doc_ids": ["news/d2"]}]
    questions.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                         encoding="utf-8")
    monkeypatch.setattr(runner, "open_assistant", lambda *args: (FakeAssistant(), 0.1))
    out = tmp_path / "out"
    assert runner.main(["--questions", str(questions), "--out", str(out), "--index",
                        str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "error: 1 gold doc_id(s)" in err and "'q2': 'news/d2'" in err
    assert not out.exists()


@pytest.mark.unit
def test_a_missing_corpus_is_one_error_line(tmp_path, capsys, fake_encoder):
    questions = tmp_path / "qa.jsonl"
    questions.write_text(json.dumps(GOOD) + "\n", encoding="utf-8")
    assert runner.main(["--corpus", str(tmp_path / "gone"), "--questions", str(questions),
                        "--index", str(tmp_path / "index"), "--out", str(tmp_path)]) == 2
    assert "error: corpus path does not exist" in capsys.readouterr().err


# ------------------------------------------------------------------------- Milvus Lite files
@pytest.mark.integration
def test_a_lite_uri_that_is_a_file_or_cannot_be_made_says_why(tmp_path):
    """Both were pymilvus's "Open local milvus failed" after a FileExistsError traceback."""
    from rag.backends.milvus import MilvusBackend
    from rag.errors import BackendError

    old = tmp_path / "news.db"
    old.write_bytes(b"SQLite format 3\0")  # a file of an older Milvus Lite, or another program
    with pytest.raises(BackendError, match="it is a file, but Milvus Lite keeps its data in a "
                                           "folder"):
        MilvusBackend(str(old), tmp_path / "index").connect()
    with pytest.raises(BackendError, match="news.db/x.db: Not a directory"):
        MilvusBackend(str(old / "x.db"), tmp_path / "index").connect()
    assert old.read_bytes() == b"SQLite format 3\0"


@pytest.mark.integration
def test_a_folder_named_db_that_is_not_milvus_lites_is_refused(tmp_path):
    """`--uri ~/photos.db`, a folder of one's own: Milvus Lite wrote its store among the
    files without a word (a later session's fix)."""
    from rag.backends.milvus import MilvusBackend
    from rag.errors import BackendError

    mine = tmp_path / "photos.db"
    mine.mkdir()
    (mine / "holiday.jpg").write_bytes(b"jpeg")
    with pytest.raises(BackendError, match="not a Milvus Lite store .*'holiday.jpg'"):
        MilvusBackend(str(mine), tmp_path / "index").connect()
    assert sorted(p.name for p in mine.iterdir()) == ["holiday.jpg"]
    empty = tmp_path / "empty.db"
    empty.mkdir()
    backend = MilvusBackend(str(empty), tmp_path / "index")
    backend.connect()  # an empty folder is Milvus Lite's to fill
    backend.close()
    again = MilvusBackend(str(empty), tmp_path / "index")
    again.connect()  # and once filled, it is recognised as its store
    again.close()


@pytest.mark.integration
def test_a_damaged_lite_collection_is_one_error_line_without_tracebacks(tmp_path, monkeypatch,
                                                                        capfd, caplog):
    """A collection whose data file was truncated printed Milvus Lite's and pymilvus's
    tracebacks (two, some 60 lines) before the one-line error."""
    from rag.cli import main

    monkeypatch.setattr("rag.assistant.make_encoder", FakeEncoder)
    corpus, index = small_corpus(tmp_path / "corpus"), tmp_path / "index"
    assert main(["index", "--corpus", str(corpus), "--index", str(index), "--backend",
                 "milvus"]) == 0
    for data in (index / "milvus.db" / "collections").rglob("*.parquet"):
        data.write_bytes(data.read_bytes()[:100])
    capfd.readouterr()
    caplog.set_level(logging.WARNING)
    assert main(["search", "火星医院", "--index", str(index)]) == 2
    err = capfd.readouterr().err
    assert "is corrupt or incomplete" in err
    assert "Traceback" not in err
    assert [r.getMessage() for r in caplog.records if r.exc_info] == []


@pytest.mark.integration
def test_indexing_while_another_process_holds_the_lite_file_says_so_once(tmp_path,
                                                                        monkeypatch, capsys,
                                                                        caplog):
    """`rag index` first warned "rebuilding unreadable index: cannot open the Milvus Lite
    file ...", as if the index were broken, then failed with the same message."""
    from rag.cli import main
    from tests.test_backends import _hold_lite_file

    monkeypatch.setattr("rag.assistant.make_encoder", FakeEncoder)
    corpus, index = small_corpus(tmp_path / "corpus"), tmp_path / "index"
    assert main(["index", "--corpus", str(corpus), "--index", str(index), "--backend",
                 "milvus"]) == 0
    write_article(corpus, "new.md", "新文章", "新的医院今天开业。")
    capsys.readouterr()
    caplog.set_level(logging.WARNING)
    holder = _hold_lite_file(index / "milvus.db")
    try:
        assert main(["index", "--index", str(index)]) == 2
    finally:
        holder.communicate("", timeout=60)
    assert "one process per file" in capsys.readouterr().err
    assert not [r for r in caplog.records if "unreadable" in r.getMessage()]


@pytest.mark.integration
def test_a_milvus_index_switched_to_faiss_drops_its_collections_with_its_builds(tmp_path,
                                                                               fake_encoder):
    """The collections of an index's Milvus builds were never dropped once it was rebuilt
    with FAISS: its builds were pruned, their collections stayed in the Lite file (or on
    the server) for ever."""
    from rag import Assistant
    from rag.backends.milvus import MilvusBackend

    corpus, index = small_corpus(tmp_path / "corpus"), tmp_path / "index"
    Assistant.build(corpus, index, backend="milvus").close()
    Assistant.build(corpus, index, backend="faiss").close()  # the Milvus build is kept
    write_article(corpus, "new.md", "新文章", "新的医院今天开业。")
    Assistant.build(corpus, index, backend="faiss").close()  # ... and now pruned
    lite = MilvusBackend(str(index / "milvus.db"), index)
    try:
        assert [c for c in lite.client.list_collections() if c.startswith(lite.prefix)] == []
    finally:
        lite.close()


@pytest.mark.integration
def test_a_milvus_index_moved_with_its_lite_file_opens_from_its_new_place(tmp_path,
                                                                        fake_encoder):
    """``mv idx idx2`` of an index with its own Lite file: the recorded absolute uri was
    used, so every question failed ("collection … is missing at …/idx/milvus.db") and an
    empty Lite file was made where the index had been."""
    from rag import Assistant

    corpus, old, new = small_corpus(tmp_path / "corpus"), tmp_path / "idx", tmp_path / "idx2"
    Assistant.build(corpus, old, backend="milvus").close()
    old.rename(new)
    moved = Assistant.load(new)
    try:
        assert moved.retrieve("火星医院的院长是谁？", 1, mode="dense")[0].doc_id == "mars"
        assert moved.backend.uri == str((new / "milvus.db").resolve())
    finally:
        moved.close()
    assert not old.exists()
    rebuilt = Assistant.build(corpus, new)  # a re-index keeps the moved file
    try:
        assert rebuilt.manifest["backend"]["uri"] == str((new / "milvus.db").resolve())
    finally:
        rebuilt.close()
    assert not old.exists()


# ------------------------------------------------- SQuAD 2.0 files and the other eval commands
@pytest.mark.unit
def test_a_squad2_impossible_question_is_unanswerable():
    """SQuAD 2.0's ``is_impossible`` questions were read as answerable (their paragraph as
    gold document), so refusing them counted as a miss."""
    from eval.squad import squad_to_eval

    para = {"context": "北京是中国的首都。", "qas": [
        {"id": "a", "question": "中国的首都是哪里？", "is_impossible": False,
         "answers": [{"text": "北京", "answer_start": 0}]},
        {"id": "b", "question": "日本的首都是哪里？", "is_impossible": True, "answers": [],
         "plausible_answers": [{"text": "北京", "answer_start": 0}]}]}
    _, (a, b) = squad_to_eval({"version": "v2.0", "data": [{"title": "t", "paragraphs": [para]}]})
    assert a.answerable and a.doc_ids == ["p0000"] and a.answers == ["北京"]
    assert not b.answerable and b.answers == [] and b.category == "unanswerable"


@pytest.mark.unit
def test_the_speed_bench_reports_a_malformed_question_file_in_one_line(tmp_path, capsys,
                                                                      fake_encoder):
    """``python -m eval speed`` with a malformed question file ended in a traceback (only the
    quality report caught it)."""
    from eval.__main__ import main

    questions = tmp_path / "qa.jsonl"
    questions.write_text('{"id": "a"}\n', encoding="utf-8")
    argv = ["speed", "--parts", "latency", "--questions", str(questions), "--corpus",
            str(small_corpus(tmp_path / "corpus")), "--out", str(tmp_path / "out")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {questions}:1: ") and '"question" must be' in err, err
