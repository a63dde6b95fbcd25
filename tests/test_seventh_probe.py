"""Faults found by the seventh robustness probe (concurrency across processes, corpus
content, the chat's API, 2026-11-24); each test failed before its fix."""

from __future__ import annotations

import json

import pytest

from rag import Assistant, ModelMismatchError
from rag.index_store import IndexStore
from tests.fault_support import FakeEncoder, small_corpus, write_article


class NamedEncoder(FakeEncoder):
    """``FakeEncoder`` that reports the model it was made for, so that indexes of two
    models can be told apart."""

    def __init__(self, model: str | None = None, *args: object, **kwargs: object) -> None:
        super().__init__(model, *args, **kwargs)
        self.model_name = model or "fake-hash"


# ------------------------------------------------------- a re-index with another model
@pytest.mark.parametrize("action", ["add_files", "refresh"])
def test_a_running_assistant_never_undoes_another_processs_reindex_with_another_model(
        tmp_path, monkeypatch, action):
    """A chat open on an index that `rag index --model m-new` rebuilt meanwhile: an upload
    (or a refresh after a corpus edit) rebuilt the whole index with the chat's old model."""
    monkeypatch.setattr("rag.assistant.make_encoder", NamedEncoder)
    corpus, index = small_corpus(tmp_path / "corpus"), tmp_path / "index"
    chat = Assistant.build(corpus, index, model="m-old")
    Assistant.build(corpus, index, model="m-new", reuse_current=False)  # another process
    write_article(tmp_path / "up", "x.md", "新文", "火星医院扩建了新的住院楼。")
    with pytest.raises(ModelMismatchError, match="m-new.*reopen the index"):
        if action == "add_files":
            chat.add_files([tmp_path / "up" / "x.md"])
        else:
            write_article(corpus, "mars.md", "火星医院", "火星医院改名为火星第一医院。")
            chat.refresh()
    assert IndexStore(index).manifest()["model"] == "m-new"
    assert not (index / "added" / "x.md").exists()
    reopened = Assistant.load(index)  # the new build serves, and takes the upload
    assert reopened.add_files([tmp_path / "up" / "x.md"]).added == ["x"]
    assert IndexStore(index).manifest()["model"] == "m-new"


def test_a_running_assistant_never_undoes_another_processs_reindex_with_other_chunks(
        built, tmp_path):
    from rag import Config
    from rag.config import ChunkingConfig

    chat, corpus, index = built
    config = Config(chunking=ChunkingConfig(max_chars=120, min_chars=40))
    Assistant.build(corpus, index, config=config, reuse_current=False)  # another process
    write_article(tmp_path / "up", "x.md", "新文", "火星医院扩建了新的住院楼。")
    with pytest.raises(ModelMismatchError, match="chunking"):
        chat.add_files([tmp_path / "up" / "x.md"])
    live = IndexStore(index).manifest()["config"]["chunking"]
    assert live["max_chars"] == 120


def test_an_assistant_still_refreshes_and_adds_to_its_own_build(tmp_path, monkeypatch):
    monkeypatch.setattr("rag.assistant.make_encoder", NamedEncoder)
    corpus, index = small_corpus(tmp_path / "corpus"), tmp_path / "index"
    chat = Assistant.build(corpus, index, model="m-old")
    write_article(corpus, "new.md", "新文", "月球药房开设了第二家分店。")
    assert chat.refresh()
    write_article(tmp_path / "up", "x.md", "新文", "火星医院扩建了新的住院楼。")
    assert chat.add_files([tmp_path / "up" / "x.md"]).added == ["x"]
    assert IndexStore(index).manifest()["model"] == "m-old"


# ------------------------------------------------------------ front matter values as written
@pytest.mark.parametrize(("line", "field", "value"), [
    ("title: 12:30", "title", "12:30"),      # YAML 1.1 base 60: 750
    ("title: yes", "title", "yes"),          # True
    ("title: 0x1F", "title", "0x1F"),        # 31
    ("source: 010", "source", "010"),        # octal: "8"
    ("source: no", "source", "no"),          # False: the source was dropped
    ("date: 20220607", "date", "2022-06-07T00:00:00"),  # dates are still dates
    ("date: 2022-06-07", "date", "2022-06-07"),
])
def test_front_matter_values_are_read_as_written(line, field, value):
    from rag.corpus import parse_post

    doc = parse_post(f"---\n{line}\n---\n火星医院于2031年开业。", "post")
    got = doc.title if field == "title" else doc.metadata.get(field)
    assert got == value


# ----------------------------------------------------- an upload while `rag index` runs
def _chat_function(assistant, tmp_path, name: str):
    from rag.web.ui import build_demo

    demo = build_demo(assistant, feedback_path=tmp_path / "feedback.jsonl")
    return next(f.fn for f in demo.fns.values() if f.name == name)


def test_a_chat_upload_while_another_process_writes_the_index_says_so_at_once(
        built, tmp_path, monkeypatch):
    """The upload waited for the other writer's lock (a `rag index` may take hours): the
    chat's button spun with no word. It is refused at once, saying why; nothing is added."""
    import fcntl

    assistant, _, index = built
    upload = tmp_path / "up" / "news.md"
    write_article(upload.parent, upload.name, "新文", "火星医院扩建了新的住院楼。")
    on_add = _chat_function(assistant, tmp_path, "on_add")
    flock = fcntl.flock

    def never_waits(handle, operation: int) -> None:
        if operation == fcntl.LOCK_EX:  # blocking: would wait for the other writer
            raise AssertionError("the chat's upload waits for another process's build")
        flock(handle, operation)

    with open(index / ".lock", "a") as other_writer:
        flock(other_writer, fcntl.LOCK_EX)
        with monkeypatch.context() as patched:
            patched.setattr(fcntl, "flock", never_waits)
            status, *_ = on_add([str(upload)])
        flock(other_writer, fcntl.LOCK_UN)
    assert status.startswith("❌") and "another process is writing this index" in status
    assert str(index) not in status  # no server path in the browser
    assert not (index / "added").exists() and assistant.n_documents == 3
    assert "已添加" in on_add([str(upload)])[0]  # once it is done, the upload goes in


# ------------------------------------------------------ a corpus named by a symbolic link
def test_a_corpus_named_by_a_link_follows_the_link_to_a_new_release(tmp_path, fake_encoder,
                                                                     capsys):
    """`--corpus news` where `news -> releases/1`, then `ln -sfn releases/2 news`: the index
    recorded releases/1, so `rag index --index I` and every open re-read the old release."""
    from rag.cli import main

    old = small_corpus(tmp_path / "releases" / "1")
    new = tmp_path / "releases" / "2"
    write_article(new, "mars.md", "火星医院换院长", "火星医院的新院长是赵六。")
    link, index = tmp_path / "news", tmp_path / "index"
    link.symlink_to(old, target_is_directory=True)
    assert Assistant.build(link, index).n_documents == 3
    link.unlink()
    link.symlink_to(new, target_is_directory=True)  # a deploy swaps the release
    assert main(["index", "--index", str(index)]) == 0
    assert "documents: 1" in capsys.readouterr().out
    reopened = Assistant.load(index)
    assert reopened.n_documents == 1 and reopened.document("mars").title == "火星医院换院长"


def test_a_linked_corpus_keeps_its_default_index_when_the_link_moves(tmp_path, fake_encoder,
                                                                      monkeypatch):
    """The default index folder was named after the link's target: after `ln -sfn
    releases/2 news`, `rag ask --corpus news` built a whole new index in a new folder (and
    kept the old one), instead of refreshing the one it had."""
    from rag.indexer import default_index_dir

    monkeypatch.setenv("RAG_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("RAG_INDEX_DIR", raising=False)
    old = small_corpus(tmp_path / "releases" / "1")
    new = tmp_path / "releases" / "2"
    write_article(new, "mars.md", "火星医院换院长", "火星医院的新院长是赵六。")
    link = tmp_path / "news"
    link.symlink_to(old, target_is_directory=True)
    folder = default_index_dir(link)
    assert folder != default_index_dir(old)  # the link's index, not the release's
    built = Assistant.build(link, folder)
    assert built.n_documents == 3
    link.unlink()
    link.symlink_to(new, target_is_directory=True)
    assert default_index_dir(link) == folder
    reopened = Assistant.load(folder)  # refreshed from the new release in place
    assert reopened.n_documents == 1 and reopened.document("mars").title == "火星医院换院长"
    assert [p.name for p in (tmp_path / "cache" / "indexes").iterdir()] == [folder.name]


def test_an_index_named_after_the_resolved_corpus_path_is_still_found(tmp_path, monkeypatch):
    """Indexes named by the earlier rule (the link's target) are not orphaned."""
    from rag.indexer import _index_folder_for, default_index_dir

    monkeypatch.setenv("RAG_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("RAG_INDEX_DIR", raising=False)
    target = tmp_path / "data" / "news"
    target.mkdir(parents=True)
    link = tmp_path / "news"
    link.symlink_to(target, target_is_directory=True)
    earlier = _index_folder_for(target.resolve())
    earlier.mkdir(parents=True)
    assert default_index_dir(link) == earlier
    assert default_index_dir(target) == earlier


# ------------------------------------------------------------- the API's closest articles
def test_the_api_lists_each_closest_article_once():
    """Two passages of one article were two identical "Closest articles" lines (the CLI
    lists each article once)."""
    from rag import Answer, Hit
    from rag.web.render import format_answer_text

    def hit(doc_id: str, title: str, start: int) -> Hit:
        return Hit(doc_id=doc_id, title=title, text="…", score=0.5, start=start,
                   end=start + 1, metadata={"source": "测试报"})

    hits = [hit("a", "甲文", 0), hit("a", "甲文", 400), hit("b", "乙文", 0), hit("c", "丙文", 0)]
    text = format_answer_text(Answer("谁？", False, [], "", hits, "谁？"))
    assert text.count("《甲文》") == 1
    assert [line.split("》")[0] for line in text.splitlines() if line.startswith("  - ")] == [
        "  - 《甲文", "  - 《乙文", "  - 《丙文"]


# --------------------------------------------------- a follow-up after a refused question
@pytest.mark.parametrize(("earlier", "question"), [
    ("SELECT * FROM users WHERE id=1", "那月球药房呢？"),
    ("<b>hello</b>", "它的院长是谁？"),
])
def test_a_question_refused_as_code_is_no_subject_for_the_next_one(built, earlier, question):
    """The chat passes every earlier question as history: after a pasted SQL line, "那平安
    健康呢？" searched "平安健康 * FROM users WHERE id=1" (and was refused); after markup,
    "它的院长是谁？" became "b的院长是谁？"."""
    assistant, _, _ = built
    alone = assistant.answer(question, reader=False)
    after = assistant.answer(question, history=[earlier], reader=False)
    assert after.query == alone.query


# ------------------------------------------------------------- UTF-16 without a byte order mark
@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_without_a_bom_is_decoded_when_its_text_has_u_xx00_characters(tmp_path,
                                                                           encoding):
    """Chinese text holds characters whose UTF-16 has a NUL byte on the other side than
    ASCII's (一 is U+4E00, 开 U+5F00): such a file without a BOM was refused as binary."""
    from rag.corpus import read_file

    text = "一家火星医院于2031年开业，院长是张三丰。Mars Hospital opened."
    (tmp_path / "news.txt").write_bytes(text.encode(encoding))
    assert read_file(tmp_path / "news.txt", tmp_path)[0].text == text


# ------------------------------------------------------------ Chinese news pages' date lines
@pytest.mark.parametrize(("written", "day"), [
    ("2022年06月07日 10:50:57", "2022-06-07T10:50:57"),  # the most common: with seconds
    ("2022年6月7日10:30", "2022-06-07T10:30:00"),
    ("2022年6月7日 星期二", "2022-06-07T00:00:00"),
    ("2022年6月7日（周二） 10:30", "2022-06-07T10:30:00"),
    ("2022.06.07 10:50", "2022-06-07T10:50:00"),
])
def test_chinese_date_lines_with_seconds_or_a_weekday_are_kept(written, day):
    """Such dates were dropped with a warning, so the article matched no date filter."""
    from rag.corpus import document_from_record, parse_post

    post = parse_post(f"---\ndate: {written}\n---\n火星医院于2031年开业。", "post")
    record = document_from_record({"id": "r", "text": "火星医院于2031年开业。", "date": written})
    assert post.metadata.get("date") == record.metadata.get("date") == day


# ----------------------------------------------------- hand-written front matter YAML refused
@pytest.mark.parametrize("front", [
    "title:\t火星医院开业\ndate:\t2022-06-07",      # an editor's tab after the colon
    "title: 火星医院开业\ndate: 2022-06-07\ntags:\n\t- 测试报",  # a tab as indentation
    "title：火星医院开业\ndate：2022-06-07",        # a Chinese input method's colon
])
def test_front_matter_with_tabs_or_full_width_colons_is_read(front):
    """PyYAML refused the tabs (the whole front matter, date included, was dropped) and read
    the full-width colons as text (the block stayed in the article, the date was lost)."""
    from rag.corpus import parse_post

    doc = parse_post(f"---\n{front}\n---\n火星医院于2031年开业。", "post")
    assert doc.title == "火星医院开业" and doc.metadata["date"] == "2022-06-07"
    assert doc.text == "火星医院于2031年开业。"


def test_interview_lines_after_a_rule_stay_text():
    from rag.corpus import parse_post

    doc = parse_post("---\nQ：什么是安唐保？\nA：一款保险。\n---\n正文。", "post")
    assert "Q：什么是安唐保？" in doc.text and "A：一款保险。" in doc.text


# ------------------------------------------------------------------ a .json export of articles
def test_a_json_file_in_the_corpus_is_named_not_skipped_silently(tmp_path):
    """A JSON array of articles (the commonest export beside JSON Lines) was left out
    without a word; a corpus holding only one said "no .txt/.md/.html/.jsonl files"."""
    from rag.corpus import read_corpus

    folder = small_corpus(tmp_path / "corpus")
    (folder / "export.json").write_text('[{"id": "a", "text": "火星医院开业了。"}]',
                                        encoding="utf-8")
    report = read_corpus(folder)
    assert len(report.documents) == 3
    assert [p for p in report.problems if "export.json" in p and ".jsonl" in p]


# --------------------------------------------------------- a question of punctuation or emoji
@pytest.mark.parametrize("question", ["？？！！", "🙂🙂", "……", "*"])
def test_a_question_without_letters_or_digits_is_refused_without_closest_articles(built,
                                                                                question):
    """It was "not found" with three unrelated "closest articles" (the nearest vectors to
    nothing); numbers alone are still searched."""
    assistant, _, _ = built
    answer = assistant.answer(question, reader=False)
    assert not answer.answered and not answer.hits
    assert assistant.answer("2031", reader=False).hits


# ------------------------------------------------------------------------ the feedback log
def test_a_vote_whose_text_holds_a_line_separator_is_read_back(tmp_path):
    """``FeedbackLog.read`` split lines with ``str.splitlines``, which also splits at U+2028
    (kept unescaped by ``json.dumps``): such a vote was two torn lines, and lost."""
    from rag.web.feedback import FeedbackLog

    log = FeedbackLog(tmp_path / "feedback.jsonl")
    item = {"doc_id": "d", "title": "甲", "text": "第一段\u2028第二段", "start": 0, "end": 7}
    log.record({"question": "安唐保\u2029是什么？", "items": [item]}, "up")
    log.record({"question": "谁？", "items": []}, "down")
    entries = log.read()
    assert [e["vote"] for e in entries] == ["up", "down"]
    assert entries[0]["snippets"][0]["text"] == "第一段\u2028第二段"


# ------------------------------------------------------ a folder of articles given as --index
def test_a_folder_of_articles_given_as_the_index_says_so(tmp_path, fake_encoder, capsys):
    """`rag ask --index news` (news: the articles) advised "rebuild it with `rag index
    --index news --corpus …`", and that wrote an index into the folder of articles, which
    was then no corpus any more ("an index folder, not read")."""
    from rag.cli import main
    from rag.corpus import read_corpus

    news, other = small_corpus(tmp_path / "news"), small_corpus(tmp_path / "other")
    assert main(["ask", "火星医院", "--index", str(news)]) == 2
    assert f"holds articles (mars.md…), not an index; give it as --corpus {news}" in \
        capsys.readouterr().err
    assert main(["index", "--index", str(news), "--corpus", str(other)]) == 2
    assert "holds articles" in capsys.readouterr().err
    assert not (news / "CURRENT").exists() and not (news / "builds").exists()
    assert len(read_corpus(news).documents) == 3


# ------------------------------------------------------ a question that starts with a dash
def test_a_question_starting_with_a_dash_gets_a_hint_not_only_question_required(built,
                                                                                 capsys):
    """`rag ask "-5%的增长是谁的？"` said only "the following arguments are required:
    question", though a question was given; the error says how to pass it."""
    from rag.cli import main

    _, _, index = built
    assert main(["ask", "-5%的增长是谁的？", "--index", str(index)]) == 2
    assert "after `--`" in capsys.readouterr().err
    assert main(["ask", "--index", str(index), "--no-reader", "--", "-5%的增长是谁的？"]) == 0


# ------------------------------------------------------------- a re-index keeps the chunking
def test_a_reindex_without_a_config_keeps_the_indexs_chunking(tmp_path, fake_encoder, capsys):
    """An index built with its own chunking (Python: `Config(chunking=…)`) was rebuilt with
    the default one by `rag index --index DIR`, `rag ask --corpus`, or the chat given
    --corpus, as if the model were kept but not the chunks."""
    from rag import Config
    from rag.cli import main
    from rag.config import ChunkingConfig

    corpus, index = small_corpus(tmp_path / "corpus"), tmp_path / "index"
    custom = Config(chunking=ChunkingConfig(max_chars=120, min_chars=40))
    Assistant.build(corpus, index, config=custom)
    build = IndexStore(index).manifest()["build"]
    assert main(["index", "--index", str(index)]) == 0
    assert IndexStore(index).manifest()["build"] == build  # current: nothing to rebuild
    write_article(corpus, "new.md", "新文", "月球药房开设了第二家分店。")
    assert Assistant.build(corpus, index).n_documents == 4
    assert IndexStore(index).manifest()["config"]["chunking"]["max_chars"] == 120


# --------------------------------------------------- JSONL files joined, each with its BOM
def test_jsonl_files_joined_with_their_byte_order_marks_keep_every_record(tmp_path):
    """`cat a.jsonl b.jsonl > all.jsonl` of files saved with a BOM: the line starting with
    b's BOM was skipped ("Unexpected UTF-8 BOM"), and the upload refused as "line 2 is
    not valid JSON", though it looks valid in every editor."""
    from rag.corpus import read_corpus
    from rag.uploads import validate_upload

    lines = ['{"id": "a", "text": "火星医院的院长是张三。"}',
             '{"id": "b", "text": "月球药房由李四经营。"}']
    (tmp_path / "all.jsonl").write_text("".join("\ufeff" + line + "\n" for line in lines),
                                        encoding="utf-8")
    assert [d.doc_id for d in read_corpus(tmp_path).documents] == ["a", "b"]
    assert validate_upload(tmp_path / "all.jsonl") is None


def test_a_question_file_saved_with_a_bom_is_read(tmp_path):
    """A question file saved by Notepad (UTF-8 with a BOM) was "error: qa.jsonl:1: not
    JSON (Unexpected UTF-8 BOM …)"."""
    from eval.questions import read_json_lines

    questions = tmp_path / "qa.jsonl"
    questions.write_text('\ufeff{"id": "q1", "question": "谁？"}\n', encoding="utf-8")
    assert read_json_lines(questions, "question file") == [(1, {"id": "q1",
                                                                "question": "谁？"})]


def test_a_squad_file_saved_with_a_bom_is_read(tmp_path):
    from eval.squad import load_squad

    squad = {"data": [{"title": "t", "paragraphs": [{"context": "火星医院的院长是张三。", "qas": [
        {"id": "q1", "question": "谁是院长？", "answers": [{"text": "张三",
                                                           "answer_start": 8}]}]}]}]}
    path = tmp_path / "squad.json"
    path.write_text("\ufeff" + json.dumps(squad, ensure_ascii=False), encoding="utf-8")
    _, questions = load_squad(path)
    assert [q.question for q in questions] == ["谁是院长？"]
