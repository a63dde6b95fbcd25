"""Fault suite: nasty files, corrupt indexes, crashes, concurrent writers, bad arguments.

Every case here failed (traceback, silent wrong result or data loss) before issue 8 was
fixed. The embedding model is replaced by ``FakeEncoder`` (see fault_support.py), so these
tests exercise ingestion and index mechanics in seconds.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from rag import Assistant, Config, CorruptIndexError, IndexNotFoundError, RagError
from rag.errors import IndexFormatError, InvalidArgumentError
from rag.index_data import IndexData
from rag.index_store import IndexStore
from tests.fault_support import small_corpus, write_article

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("fake_encoder")]
REPO = Path(__file__).resolve().parent.parent


# ------------------------------------------------------------------------- nasty corpus
def _nasty_corpus(folder: Path) -> dict[str, str]:
    """Bad files next to good ones; returns {file name: reason it must be skipped}."""
    small_corpus(folder)
    deep = "<div>" * 3000 + "<p>深藏的句子在这里。</p>" + "</div>" * 3000
    (folder / "deep.html").write_text(deep, encoding="utf-8")  # kept: deep is not bad
    (folder / "binary.txt").write_bytes(b"\x00\x01PK\x03\x04" * 200)
    (folder / "latin.txt").write_bytes("Café crème brûlée à la carte".encode("latin-1") * 5)
    (folder / "huge.txt").write_text("大" * 5000 + "。", encoding="utf-8")
    (folder / "locked.md").write_text("锁住的文件。", encoding="utf-8")
    (folder / "empty.md").write_text("", encoding="utf-8")
    (folder / "images.html").write_text("<div><img src='a.png'></div>", encoding="utf-8")
    (folder / ".hidden.md").write_text("隐藏文件不应被索引。", encoding="utf-8")
    (folder / "loop").mkdir()
    (folder / "loop" / "self").symlink_to(folder / "loop")
    (folder / "big5.txt").write_bytes("臺北醫院擴建完成，新增病床三百張。".encode("big5") * 3)
    (folder / "sjis.txt").write_bytes(
        "東京都は今日、新しい病院の開設を発表しました。".encode("shift_jis") * 3)
    (folder / "badyaml.md").write_text("---\ntitle: [unclosed\n---\n正文照常索引。",
                                       encoding="utf-8")
    bomb = ("---\na: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\n"
            "c: &c [*b, *b, *b, *b, *b, *b, *b, *b]\ntitle: [*c, *c, *c, *c, *c, *c]\n"
            "---\n炸弹正文。")
    (folder / "bomb.md").write_text(bomb, encoding="utf-8")
    rows = [{"id": "j1", "text": "第一条记录。", "date": "yesterday"},
            {"text": "没有编号的记录。"},
            {"id": "j3", "text": "第三条记录。", "date": "2021-05-06"}]
    (folder / "news.jsonl").write_text(
        "\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    return {"binary.txt": "binary", "latin.txt": "encoding", "huge.txt": "too large",
            "locked.md": "Permission denied", "empty.md": "no text",
            "images.html": "no text", "news.jsonl:2": "no 'id'"}


@pytest.fixture
def unreadable(monkeypatch):
    """Files named ``locked.*`` raise PermissionError when opened (tests run as root)."""
    real_open = open
    real_read_bytes = Path.read_bytes

    def guarded_open(file, *args, **kwargs):
        if Path(str(file)).name.startswith("locked."):
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    def guarded_read_bytes(self):
        if self.name.startswith("locked."):
            raise PermissionError(13, "Permission denied", str(self))
        return real_read_bytes(self)

    monkeypatch.setattr("builtins.open", guarded_open)
    monkeypatch.setattr(Path, "read_bytes", guarded_read_bytes)


def test_bad_files_are_skipped_with_one_warning_each(tmp_path, caplog, unreadable):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    expected = _nasty_corpus(corpus)
    config = Config()
    config.corpus.max_document_bytes = 10_000
    with caplog.at_level(logging.WARNING):
        assistant = Assistant.build(corpus, tmp_path / "index", config=config)
    ids = {d.doc_id for d in assistant.documents()}
    assert ids == {"mars", "moon", "sea", "deep", "big5", "sjis", "badyaml", "bomb", "j1", "j3"}
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    for name, reason in expected.items():
        hits = [w for w in warnings if name in w]
        assert len(hits) == 1, (name, hits)
        assert reason in hits[0], (name, hits[0])
    assert any("badyaml.md" in w and "front matter" in w for w in warnings)
    assert any("bomb.md" in w and "aliases" in w for w in warnings)
    assert assistant.document("deep").text == "深藏的句子在这里。"
    assert assistant.document("big5").text.startswith("臺北醫院擴建完成")
    assert assistant.document("sjis").text.startswith("東京都は今日")
    assert not any("\x00" in d.text for d in assistant.documents())


def test_unparseable_jsonl_date_is_dropped_and_never_matches_a_date_filter(tmp_path, caplog):
    corpus = tmp_path / "c"
    corpus.mkdir()
    rows = [{"id": "y", "text": "昨天发生了火星医院的故事。", "date": "yesterday"},
            {"id": "d", "text": "火星医院在二〇二一年也有故事。", "date": "2021-05-06"}]
    (corpus / "n.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows),
                                    encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        assistant = Assistant.build(corpus, tmp_path / "i")
    assert "date" not in assistant.document("y").metadata
    assert any("n.jsonl:1" in r.getMessage() and "yesterday" in r.getMessage()
               for r in caplog.records)
    hits = assistant.retrieve("火星医院", k=5, date_from="2000-01-01")
    assert [h.doc_id for h in hits] == ["d"]


# ------------------------------------------------------------------------ index damage
def _damage_cases(build: Path) -> list[tuple[str, str]]:
    files = sorted(p.relative_to(build).as_posix() for p in build.rglob("*") if p.is_file())
    assert len(files) >= 6
    return [(f, how) for f in files for how in ("truncate", "delete", "flip-start",
                                                 "flip-middle", "flip-end")]


def _damage(path: Path, how: str) -> None:
    if how == "delete":
        path.unlink()
        return
    data = bytearray(path.read_bytes())
    if how == "truncate":
        path.write_bytes(bytes(data[: len(data) // 2]))
        return
    pos = {"flip-start": 0, "flip-middle": len(data) // 2, "flip-end": len(data) - 1}[how]
    data[pos] ^= 0x01
    path.write_bytes(bytes(data))


def test_every_damaged_index_file_is_a_clear_error(built, tmp_path):
    _, _, index = built
    build = IndexStore(index).current()
    cases = _damage_cases(build)
    import shutil

    for n, (rel, how) in enumerate(cases):
        copy = tmp_path / f"copy{n}"
        shutil.copytree(index, copy)
        _damage(IndexStore(copy).current() / rel, how)
        with pytest.raises(CorruptIndexError, match="rebuild") as err:
            Assistant.load(copy, refresh=False)
        assert "Traceback" not in str(err.value)
        shutil.rmtree(copy)


def test_missing_build_and_bad_current_are_clear_errors(built, tmp_path):
    _, _, index = built
    (index / "CURRENT").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(CorruptIndexError, match="rebuild"):
        Assistant.load(index)
    (index / "CURRENT").unlink()
    with pytest.raises(CorruptIndexError, match="--corpus"):
        Assistant.load(index)
    with pytest.raises(IndexNotFoundError, match="check the path"):
        Assistant.load(tmp_path / "typo")
    assert not (tmp_path / "typo").exists()


@pytest.mark.parametrize("version", [1, 99, None, "2"])
def test_manifest_format_version_is_checked(built, version):
    _, _, index = built
    path = IndexStore(index).current() / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest["format"] = version
    path.write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(IndexFormatError, match="format"):
        IndexData.load(path.parent)


@pytest.mark.parametrize("field, value, problem", [
    ("corpus", {"sources": "/"}, "corpus.sources"),  # once: a refresh read all of / as articles
    ("corpus", {"sources": [3]}, "corpus.sources"),
    ("config", "x", "'config'"),
    ("model", 5, "'model'"),
    ("dim", -1, "'dim'"),
])
def test_a_manifest_whose_fields_have_the_wrong_shape_is_corrupt(built, field, value, problem):
    _, _, index = built
    path = IndexStore(index).current() / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest[field] = value
    path.write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(CorruptIndexError, match=problem):
        Assistant.load(index)


def test_older_format_is_rebuilt_from_its_own_corpus(built):
    _, corpus, index = built
    path = IndexStore(index).current() / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest["format"] = 1
    path.write_text(json.dumps(manifest), encoding="utf-8")
    reopened = Assistant.load(index)
    assert reopened.manifest["format"] == 2
    assert reopened.manifest["corpus"]["sources"] == [str(corpus.resolve())]


def test_settings_that_shape_the_index_force_a_rebuild(built):
    _, corpus, index = built
    before = IndexStore(index).current()
    config = Config()
    config.retrieval.ann_threshold = 1  # forces the approximate (IVF) path on the small corpus
    assert config.build_key() != Config().build_key()
    Assistant.build(corpus, index, config=config)
    assert IndexStore(index).current() != before
    manifest = IndexStore(index).manifest()
    assert manifest["counts"]["chunks"] > 1
    entry = manifest["vector_index"]
    assert entry["type"] == "ivf" and "IVF" in entry["reason"]
    calibration = entry["calibration"]  # calibrated on held-out sentences encoded as queries
    assert calibration["reached"] and calibration["recall"] >= 0.95
    assert calibration["sample"] > 0 and entry["nprobe"] == calibration["value"]
    assert calibration["queries"] == "held-out queries"
    reopened = Assistant.load(index, config=config, refresh=False)
    assert reopened._data.vectors.nprobe == entry["nprobe"]
    assert reopened.retrieve("新闻", k=3)


# ------------------------------------------------------------------------- crash safety
KILL_SCRIPT = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    sys.path.insert(0, {repo!r})
    import rag.assistant
    from rag.index_data import IndexData
    from tests.fault_support import FakeEncoder
    rag.assistant.make_encoder = FakeEncoder
    real_save = IndexData.save

    def save(self, folder):
        real_save(self, folder)
        (folder / "documents.jsonl").write_text("half", encoding="utf-8")
        Path({marker!r}).write_text(str(folder))
        time.sleep(600)

    IndexData.save = save
    rag.assistant.Assistant.build({corpus!r}, {index!r})
""")


def test_kill_9_during_a_build_leaves_the_previous_index_intact(built, tmp_path):
    assistant, corpus, index = built
    before = IndexStore(index).current()
    answer_before = assistant.retrieve("火星医院的院长是谁？", k=1)[0].doc_id
    write_article(corpus, "new.md", "新文章", "这是一篇新文章。")
    marker = tmp_path / "saving"
    script = KILL_SCRIPT.format(repo=str(REPO), marker=str(marker), corpus=str(corpus),
                                index=str(index))
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=REPO)
    try:
        while not marker.exists():  # wait until the build is mid-way through writing
            assert proc.poll() is None, "the build process died early"
            time.sleep(0.1)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
    assert IndexStore(index).current() == before
    reopened = Assistant.load(index, refresh=False)
    assert reopened.retrieve("火星医院的院长是谁？", k=1)[0].doc_id == answer_before
    rebuilt = Assistant.build(corpus, index)  # the lock died with the process
    assert "new" in {d.doc_id for d in rebuilt.documents()}


def test_interrupted_embedding_resumes_from_the_cache(tmp_path):
    from embeddings.encoder import Encoder

    calls: list[int] = []

    class Model:
        prompts: dict[str, str] = {}

        def get_sentence_embedding_dimension(self) -> int:
            return 4

        def encode(self, texts, **_):
            calls.append(len(texts))
            if len(calls) == 3:
                raise KeyboardInterrupt
            return [[1.0, 0.0, 0.0, 0.0]] * len(texts)

    enc = Encoder("fake/model", tmp_path / "cache")
    enc._model, enc._query_prompt, enc._passage_prompt = Model(), None, None
    texts = [f"文本{i}" for i in range(1000)]
    with pytest.raises(KeyboardInterrupt):
        enc.encode_passages(texts, flush_every=256)
    assert len(enc.cache) == 512
    enc.encode_passages(texts, flush_every=256)
    assert enc.last_encoded == 1000 - 512


# ---------------------------------------------------------------------- writers, uploads
def test_two_writers_with_the_same_file_name_are_serialised_and_lose_nothing(built, tmp_path):
    _, _, index = built
    first, second = Assistant.load(index), Assistant.load(index)
    up1, up2 = tmp_path / "u1" / "report.html", tmp_path / "u2" / "report.html"
    up1.parent.mkdir()
    up2.parent.mkdir()
    up1.write_text("<p>甲报告：火星医院新增儿科。</p>", encoding="utf-8")
    up2.write_text("<p>乙报告：月球药房新增夜班。</p>", encoding="utf-8")
    results = {}
    barrier = threading.Barrier(2)

    def add(name, assistant, path):
        barrier.wait()
        results[name] = assistant.add_files([path])

    threads = [threading.Thread(target=add, args=("a", first, up1)),
               threading.Thread(target=add, args=("b", second, up2))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    added = sorted(results["a"].added + results["b"].added)
    assert added == ["report", "report-2"]
    final = Assistant.load(index)
    texts = {final.document(d).text for d in added}
    assert texts == {"甲报告：火星医院新增儿科。", "乙报告：月球药房新增夜班。"}


def test_uploads_never_overwrite_and_report_duplicates(built, tmp_path):
    assistant, _, index = built
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    one = tmp_path / "a" / "note.md"
    one.write_text("第一版笔记。", encoding="utf-8")
    two = tmp_path / "b" / "note.md"
    two.write_text("第二版笔记，内容不同。", encoding="utf-8")
    assert assistant.add_files([one]).added == ["note"]
    result = assistant.add_files([two])
    assert result.added == ["note-2"] and not result.errors
    assert assistant.document("note").text == "第一版笔记。"
    assert assistant.document("note-2").text == "第二版笔记，内容不同。"
    again = assistant.add_files([one])
    assert again.added == [] and again.present and "already" in again.present[0]
    corpus_copy = tmp_path / "mars.md"  # same name as a corpus file, different content
    corpus_copy.write_text("另一个火星。", encoding="utf-8")
    assert assistant.add_files([corpus_copy]).added == ["mars-2"]
    assert "张三丰" in assistant.document("mars").text


@pytest.mark.parametrize(("name", "data", "needle"), [
    (".hidden.md", "隐藏。", "hidden"),
    ("bin.md", b"\x00\x00\x00", "binary"),
    ("latin.txt", "Crème brûlée".encode("latin-1") * 4, "UTF-8"),
    ("noid.jsonl", '{"text": "没有编号"}\n', "no id"),
    ("photo.png", b"\x89PNG", "unsupported"),
    ("front-only.md", "---\ntitle: 只有标题\n---\n", "no text"),
    ("array.jsonl", '[{"id": "a1", "text": "数组"}]', "JSON array"),
])
def test_bad_uploads_are_clear_errors_and_change_nothing(built, tmp_path, name, data, needle):
    assistant, _, index = built
    path = tmp_path / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    count, build = assistant.n_documents, IndexStore(index).current()
    result = assistant.add_files([path])
    assert result.added == [] and len(result.errors) == 1 and needle in result.errors[0]
    assert str(tmp_path) not in result.errors[0]  # the server's upload folder is not shown
    assert assistant.n_documents == count and IndexStore(index).current() == build


def test_missing_upload_is_a_clear_error(built, tmp_path):
    assistant, _, _ = built
    result = assistant.add_files([tmp_path / "nope.md"])
    assert result.added == [] and "not found" in result.errors[0]


# -------------------------------------------------------------------------- bad arguments
BAD_K = [0, -1, None, 1.5, "3", True, 10_000]
BAD_FILTERS = [{"date_from": "2022-13-45"}, {"date_to": "2022-13-45"}, {"date_from": "yesterday"},
               {"date_to": "2022/01/01"}, {"date_from": 20220101},
               {"date_from": "2022-06-01", "date_to": "2022-01-01"}, {"doc_ids": "mars"},
               {"source": 5}]


@pytest.mark.parametrize("k", BAD_K)
@pytest.mark.parametrize("method", ["retrieve", "answer"])
def test_bad_k_is_a_clear_error(built, method, k):
    assistant, _, _ = built
    with pytest.raises(InvalidArgumentError, match="k must"):
        getattr(assistant, method)("火星医院的院长是谁？", k)


@pytest.mark.parametrize("filters", BAD_FILTERS)
@pytest.mark.parametrize("method", ["retrieve", "answer"])
def test_bad_filters_are_clear_errors(built, method, filters):
    assistant, _, _ = built
    with pytest.raises(InvalidArgumentError) as err:
        getattr(assistant, method)("火星医院的院长是谁？", 3, **filters)
    assert isinstance(err.value, ValueError) and isinstance(err.value, RagError)


def test_bad_history_and_mode_are_clear_errors(built):
    assistant, _, _ = built
    with pytest.raises(InvalidArgumentError, match="history"):
        assistant.answer("它在哪里？", history="火星医院")
    with pytest.raises(ValueError, match="unknown retrieval mode"):
        assistant.retrieve("火星医院", mode="fuzzy")


def test_good_dates_still_filter(built):
    assistant, _, _ = built
    hits = assistant.retrieve("火星医院", 3, date_from="2022-06-07", date_to="2022-06-07")
    assert hits and all(h.metadata["date"].startswith("2022-06-07") for h in hits)
    assert assistant.retrieve("火星医院", 3, date_from="2022-06-08") == []


@pytest.mark.parametrize("question", [
    "SELECT * FROM documents WHERE 1=1; DROP TABLE users",
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "안녕하세요 병원은 어디에 있어요",
    "これはなんですか",
    "' OR 1=1 --",
])
def test_junk_questions_are_refused(built, question):
    assistant, _, _ = built
    answer = assistant.answer(question)
    assert not answer.answered and not answer.snippets


# ---------------------------------------------------------------------------------- CLI
def _cli(capsys, *argv: str) -> tuple[int, str, str]:
    from rag.cli import main

    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse errors
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("args", [
    ["-k", "0"], ["-k", "-1"], ["-k", "abc"], ["-k", "1000"], ["--date-from", "2022-13-45"],
    ["--date-to", "yesterday"], ["--mode", "fuzzy"],
])
@pytest.mark.parametrize("command", ["search", "ask"])
def test_cli_bad_arguments_exit_2(built, capsys, command, args):
    _, _, index = built
    code, out, err = _cli(capsys, command, "火星医院", "--index", str(index), *args)
    assert code == 2 and out == "" and "error" in err


def test_cli_date_order_is_checked(built, capsys):
    _, _, index = built
    code, _, err = _cli(capsys, "search", "火星医院", "--index", str(index),
                        "--date-from", "2022-06-01", "--date-to", "2022-01-01")
    assert code == 2 and "after" in err


@pytest.mark.parametrize("command", ["ask", "search", "doc"])
def test_cli_named_index_that_is_missing_never_builds_the_bundled_corpus(tmp_path, capsys,
                                                                         command):
    typo = tmp_path / "typo"
    half = tmp_path / "half"  # exists, but has no CURRENT
    (half / "builds").mkdir(parents=True)
    for folder, needle in ((typo, "no index"), (half, "not a readable index")):
        code, out, err = _cli(capsys, command, "火星医院", "--index", str(folder))
        assert code == 2 and out == "" and needle in err and "rag index" in err
    assert not typo.exists() and list(half.rglob("*")) == [half / "builds"]


def test_cli_check_verifies_every_file(built, capsys, monkeypatch):
    _, _, index = built
    code, out, _ = _cli(capsys, "check", str(index))
    assert code == 0 and "ok:" in out
    monkeypatch.setattr("rag.integrity.FAST_HASH_BYTES", 0)  # opening checks sizes only
    vectors = IndexStore(index).current() / "sentence_vectors.npy"
    data = bytearray(vectors.read_bytes())
    data[-1] ^= 0x01
    vectors.write_bytes(bytes(data))
    Assistant.load(index, refresh=False)  # fast path: same size, not hashed
    code, _, err = _cli(capsys, "check", str(index))
    assert code == 2 and "sentence_vectors.npy checksum mismatch" in err


def test_cli_index_keeps_the_recorded_corpus(built, capsys):
    _, corpus, index = built
    code, out, _ = _cli(capsys, "index", "--index", str(index))
    assert code == 0 and "documents: 3" in out


def test_reindexing_keeps_the_recorded_model(tmp_path, capsys, monkeypatch):
    """`rag index --index DIR` (and ``Assistant.build`` into an existing index) without a model
    re-indexes with the index's own model, as it keeps its corpus and backend (it rebuilt with
    the default model before); --model, ``RAG_MODEL`` or a config still choose another."""
    from rag.config import Config
    from tests.fault_support import FakeEncoder

    asked: list[str] = []

    def encoder(model, *args, **kwargs):
        asked.append(model)
        return FakeEncoder(model, *args, **kwargs)

    monkeypatch.setattr("rag.assistant.make_encoder", encoder)
    monkeypatch.delenv("RAG_MODEL", raising=False)
    corpus, index = small_corpus(tmp_path / "corpus"), tmp_path / "index"
    Assistant.build(corpus, index, model="fake-hash")
    assert _cli(capsys, "index", "--index", str(index))[0] == 0
    Assistant.build(corpus, index)
    assert _cli(capsys, "index", "--index", str(index), "--model", "fake-hash-2")[0] == 0
    monkeypatch.setenv("RAG_MODEL", "fake-hash-3")
    Assistant.build(corpus, index)
    monkeypatch.delenv("RAG_MODEL")
    Assistant.build(corpus, index, config=Config())
    Assistant.build(corpus, tmp_path / "new")
    assert asked == ["fake-hash", "fake-hash", "fake-hash", "fake-hash-2", "fake-hash-3",
                     "multilingual-e5-small", "multilingual-e5-small"]


# `python -m rag` as a process, embedding with FakeEncoder; INTERRUPT: Ctrl-C while answering
RAG_PROCESS = textwrap.dedent("""
    import os, runpy, signal, sys, time
    # Ctrl-C as in a terminal: a suite started in the background by a script (`make test &`)
    # hands its processes SIGINT ignored, and the interrupt below would never arrive
    signal.signal(signal.SIGINT, signal.default_int_handler)
    sys.path.insert(0, {repo!r})
    import rag.assistant
    from tests.fault_support import FakeEncoder
    rag.assistant.make_encoder = FakeEncoder
    if {interrupt!r}:
        def interrupted(*args, **kwargs):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(30)  # the KeyboardInterrupt comes first
        rag.assistant.Assistant.answer = interrupted
    sys.argv = ["rag", *{argv!r}]
    runpy.run_module("rag", run_name="__main__", alter_sys=True)
""")


@pytest.fixture
def fake_index(tmp_path) -> Path:
    """An index that a process embedding with FakeEncoder finds current (no rebuild)."""
    index = tmp_path / "fake-index"
    Assistant.build(small_corpus(tmp_path / "fake-corpus"), index, model="fake-hash")
    return index


def _rag_process(argv: list[str], interrupt: bool = False) -> subprocess.Popen:
    script = RAG_PROCESS.format(repo=str(REPO), interrupt=interrupt, argv=argv)
    return subprocess.Popen([sys.executable, "-c", script], cwd=REPO, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


@pytest.mark.parametrize("argv", [["search", "火星医院", "--json", "-k", "3"],
                                  ["ask", "火星医院的院长是谁？", "--no-reader"],
                                  ["doc", "mars"]])
def test_cli_output_into_a_closed_pipe_ends_quietly(fake_index, argv):
    """`rag search … | head -1`: the pipe closes before the output is written. Found by the
    third robustness probe: "error: [Errno 32] Broken pipe" and status 2, with --json two
    tracebacks (the JSON error went to the same closed pipe)."""
    proc = _rag_process([*argv, "--index", str(fake_index)])
    proc.stdout.close()  # the reader is gone before anything is written
    err = proc.stderr.read()
    assert proc.wait(timeout=120) == 141, err
    assert "Traceback" not in err and "Broken pipe" not in err and "Exception" not in err


def test_ctrl_c_during_ask_is_one_line_and_status_130(fake_index):
    """Found by the third robustness probe: Ctrl-C during `rag ask` ended with status 130 and
    no word (or, while the reader loaded in its thread, "terminate called without an active
    exception", status 134)."""
    proc = _rag_process(["ask", "火星医院的院长是谁？", "--no-reader", "--index", str(fake_index)],
                        interrupt=True)
    out, err = proc.communicate(timeout=120)
    lines = [line for line in err.splitlines() if line.strip()]
    assert proc.returncode == 130 and out == "", err
    assert len(lines) == 1 and "interrupted" in lines[0] and "rag ask" in lines[0], err


# ------------------------------------------------------------------------------ full disk
def _no_space(*_args: object) -> None:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_sentence_vectors_are_allocated_before_they_are_written(tmp_path, monkeypatch):
    """Writing into a sparse memory map on a full disk is a SIGBUS (the process dies without
    a message); allocated first, a full disk is an OSError."""
    from tests.fault_support import FakeEncoder

    seen: list[tuple[int, int]] = []
    write = FakeEncoder.encode_passages_with_spans

    def check_then_write(self, texts, spans, **kwargs):
        vectors = next(tmp_path.rglob("sentence_vectors.npy"))
        stat = vectors.stat()
        seen.append((stat.st_blocks * 512, stat.st_size))
        return write(self, texts, spans, **kwargs)

    monkeypatch.setattr(FakeEncoder, "encode_passages_with_spans", check_then_write)
    body = "".join(f"第{i}号病房今天收治了{i * 7}名病人。" for i in range(400))
    write_article(tmp_path / "corpus", "ward.md", "病房日志", body)  # ~50 kB of vectors
    Assistant.build(tmp_path / "corpus", tmp_path / "index")
    ((allocated, size),) = seen
    assert size > 8 * 4096 and allocated >= size


def test_a_full_disk_fails_the_build_cleanly_and_readers_keep_answering(built, monkeypatch,
                                                                        caplog, capsys):
    assistant, corpus, index = built
    before = IndexStore(index).current()
    orphan = index / "builds" / ".tmp-20200101-000000-deadbeef"  # a build killed earlier
    orphan.mkdir()
    (orphan / "sentence_vectors.npy").write_bytes(b"\0" * 4096)
    write_article(corpus, "new.md", "新文章", "这是一篇新文章。")
    monkeypatch.setattr(os, "posix_fallocate", _no_space)
    with pytest.raises(OSError) as caught:
        Assistant.build(corpus, index)
    assert caught.value.errno == errno.ENOSPC and "sentence_vectors.npy" in caught.value.filename
    assert IndexStore(index).current() == before
    assert [p.name for p in (index / "builds").iterdir() if p.name.startswith(".")] == []
    with caplog.at_level(logging.WARNING):  # the corpus changed, the disk is full: the last
        reader = Assistant.load(index)      # build still answers, with a warning
    assert reader.retrieve("火星医院的院长是谁？", k=1)[0].doc_id == "mars"
    assert any("answering from the index built" in r.getMessage() for r in caplog.records)
    code, out, err = _cli(capsys, "index", "--index", str(index))
    assert code == 2 and "no space left" in err and "unchanged" in err


def test_a_short_write_on_a_full_disk_is_reported_as_no_space(built, monkeypatch):
    _, corpus, index = built
    write_article(corpus, "new.md", "新文章", "这是一篇新文章。")

    def short_write(self, folder):  # what numpy raises when a write stops part way
        raise OSError("2694 requested and 992 written")

    monkeypatch.setattr(IndexData, "save", short_write)
    monkeypatch.setattr("rag.diskspace.disk_is_full", lambda path: True)
    monkeypatch.setattr("rag.indexer.disk_is_full", lambda path: True)
    with pytest.raises(OSError) as caught:
        Assistant.build(corpus, index)
    assert caught.value.errno == errno.ENOSPC


def test_faiss_failing_to_write_on_a_full_disk_is_no_space(built, monkeypatch):
    """faiss reports a failed write as a RuntimeError: it was a traceback, not the message."""
    import faiss

    _, corpus, index = built
    write_article(corpus, "new.md", "新文章", "这是一篇新文章。")

    def fail(index, path):
        raise RuntimeError("Error: 'ret == (size * 4)' failed: write error in " + path)

    monkeypatch.setattr(faiss, "write_index", fail)
    monkeypatch.setattr("rag.diskspace.disk_is_full", lambda path: True)
    with pytest.raises(OSError) as caught:
        Assistant.build(corpus, index)
    assert caught.value.errno == errno.ENOSPC and caught.value.filename.endswith("chunks.faiss")


def test_a_loaded_assistant_follows_the_build_another_process_swaps_in(built, monkeypatch,
                                                                      caplog):
    """A chat opened on an index keeps serving; when `rag index` elsewhere swaps in a new build
    (here: another Assistant), the next question is answered from it, without a restart. A
    live build that cannot be loaded leaves the current one in use, with a warning."""
    assistant, corpus, index = built
    monkeypatch.setattr("rag.assistant.FOLLOW_EVERY_S", 0.0)
    assert "comet" not in {h.doc_id for h in assistant.retrieve("彗星诊所", k=3)}
    write_article(corpus, "comet.md", "彗星诊所成立", "彗星诊所于2040年成立，所长是李四。")
    other = Assistant.build(corpus, index)  # the indexer: a new build, CURRENT switched
    assert other.manifest["build"] != assistant.manifest["build"]
    assert assistant.retrieve("彗星诊所", k=1)[0].doc_id == "comet"
    assert assistant.manifest["build"] == other.manifest["build"]
    assert assistant.document("comet").title == "彗星诊所成立"
    live = IndexStore(index).current()
    monkeypatch.setattr(IndexStore, "current", lambda self: live.with_name("gone"))
    with caplog.at_level("WARNING"):
        assert assistant.retrieve("彗星诊所", k=1)[0].doc_id == "comet"
        assert assistant.retrieve("彗星诊所", k=1)[0].doc_id == "comet"
    warned = [r for r in caplog.records if "cannot switch to the live build" in r.getMessage()]
    assert len(warned) == 1  # once per build, not on every question
    monkeypatch.undo()


def test_a_live_build_with_other_settings_is_not_followed(built, monkeypatch, caplog):
    """Another model or other chunks in the live build (an indexer run with other settings)
    would mix vectors or offsets: the loaded build keeps answering, with one warning."""
    from rag.config import Config

    assistant, corpus, index = built
    monkeypatch.setattr("rag.assistant.FOLLOW_EVERY_S", 0.0)
    build = assistant.manifest["build"]
    other = Config()
    other.chunking.max_chars = 120
    Assistant.build(corpus, index, config=other)
    with caplog.at_level("WARNING"):
        for _ in range(3):
            assert assistant.retrieve("火星医院", k=1)[0].doc_id == "mars"
    assert assistant.manifest["build"] == build
    warned = [r for r in caplog.records if "made with other settings" in r.getMessage()]
    assert len(warned) == 1
