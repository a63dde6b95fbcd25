"""Ninth robustness probe: the Python API used as a library, and the CLI's `--json`.

Each test failed before its fix (README "Reliability", ninth probe)."""

from __future__ import annotations

import json

import pytest

from rag import Assistant, BackendError, Config, InvalidArgumentError
from rag.index_store import IndexStore
from tests.fault_support import small_corpus, write_article


# --------------------------------------------------------------- a blank model name
@pytest.mark.parametrize("model", [" ", ""])
def test_a_blank_model_is_an_error_not_an_index_of_the_model_nothing(tmp_path, fake_encoder,
                                                                      model):
    """`Assistant.build(…, model=" ")` (or `rag index --model " "`) rebuilt the index with
    the model "" recorded in its manifest (every chunk embedded again, and the next open
    with the right model name a ModelMismatchError)."""
    corpus, index = small_corpus(tmp_path / "corpus"), tmp_path / "index"
    Assistant.build(corpus, index)
    build = IndexStore(index).manifest()["build"]
    with pytest.raises(InvalidArgumentError, match="model is empty"):
        Assistant.build(corpus, index, model=model)
    with pytest.raises(InvalidArgumentError, match="model is empty"):
        Assistant.load(index, model=model)
    assert IndexStore(index).manifest()["build"] == build


@pytest.mark.parametrize("name", ["RAG_MODEL", "RAG_CACHE_DIR", "RAG_INDEX_DIR"])
def test_a_blank_environment_variable_is_named_not_used(tmp_path, fake_encoder, monkeypatch,
                                                        name):
    """`RAG_CACHE_DIR=" "` made a folder named " " in the working directory and put the
    models (1.8 GB) and indexes in it; `RAG_MODEL=" "` built an index of the model "";
    `RAG_INDEX_DIR=" "` said "index_dir is empty", naming no variable."""
    corpus = small_corpus(tmp_path / "corpus")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(name, " ")
    with pytest.raises(InvalidArgumentError, match=f"{name}=' ' is blank"):
        index = None if name in ("RAG_CACHE_DIR", "RAG_INDEX_DIR") else tmp_path / "index"
        Assistant.build(corpus, index)
    assert not (tmp_path / " ").exists()


def test_a_blank_index_variable_is_named_by_the_cli_with_json(monkeypatch, capsys):
    from rag.cli import main

    monkeypatch.setenv("RAG_INDEX_DIR", "  ")
    assert main(["ask", "火星医院", "--json"]) == 2
    out = json.loads(capsys.readouterr().out)
    assert "RAG_INDEX_DIR='  ' is blank" in out["error"]
    assert out["type"] == "InvalidArgumentError"


# ----------------------------------------------------------------- config values
def _config(**changes: object) -> Config:
    config = Config()
    for path, value in changes.items():
        part, _, name = path.rpartition("__")
        setattr(getattr(config, part) if part else config, name, value)
    return config


@pytest.mark.parametrize("changes, named", [
    ({"chunking": None}, "config.chunking"),
    ({"answer": {"reader": False}}, "config.answer"),
    ({"model": 5}, "config.model"),
    ({"model": "  "}, "config.model"),
    ({"storage__uri": 5}, "config.storage.uri"),
    ({"answer__reader": "false"}, "config.answer.reader"),
    ({"retrieval__translate_questions": "no"}, "config.retrieval.translate_questions"),
    ({"answer__reader_min_probability": 51.54}, "config.answer.reader_min_probability"),
    ({"answer__min_evidence": float("nan")}, "config.answer.min_evidence"),
    ({"answer__dense_weight": "1"}, "config.answer.dense_weight"),
    ({"answer__reader_weights": (1.0, float("inf"))}, "config.answer.reader_weights"),
    ({"answer__reader_weights": "1,2,3"}, "config.answer.reader_weights"),
])
def test_a_config_of_wrong_types_or_out_of_range_thresholds_is_named(tmp_path, fake_encoder,
                                                                     changes, named):
    """A section set to None or a dict, a model or uri that is not text were an
    AttributeError or TypeError from deep inside the build; `answer.reader = "false"` used
    the reader (a non-empty string is true); a probability threshold given in percent
    (51.54) or a NaN evidence threshold refused every question without a word."""
    corpus = small_corpus(tmp_path / "corpus")
    with pytest.raises(InvalidArgumentError, match=named.replace(".", r"\.").replace(
            "[", r"\[")):
        Assistant.build(corpus, tmp_path / "index", config=_config(**changes))
    assert not (tmp_path / "index").exists()


def test_the_default_config_and_in_range_values_are_accepted(tmp_path, fake_encoder):
    corpus = small_corpus(tmp_path / "corpus")
    config = _config(answer__reader=False, answer__reader_min_probability=0.0,
                     answer__min_evidence=-1, answer__reader_weights=[0.1, 0.2])
    assert Assistant.build(corpus, tmp_path / "index", config=config).n_documents == 3


# -------------------------------------------------------- arguments of answer / retrieve
def test_timings_and_reader_arguments_of_the_wrong_type_are_named(built):
    """`timings=[]` was "list indices must be integers or slices" from inside the retriever,
    and `reader="no"` answered with the reader (a string is true)."""
    assistant, _, _ = built
    with pytest.raises(InvalidArgumentError, match="timings must be a dict"):
        assistant.retrieve("火星医院", timings=[])
    with pytest.raises(InvalidArgumentError, match="timings must be a dict"):
        assistant.answer("火星医院", timings="x", reader=False)
    with pytest.raises(InvalidArgumentError, match="reader must be True"):
        assistant.answer("火星医院", reader="no")
    timings: dict[str, float] = {}
    assistant.answer("火星医院的院长是谁？", reader=False, timings=timings)
    assert "total" in timings


# ------------------------------------------------------------ a closed assistant
def test_a_closed_assistant_says_it_was_closed(built):
    """A Milvus assistant used after `close()` (or its `with` block) failed with Milvus's
    "should create connection first", as if the server were at fault; a FAISS one went on."""
    assistant, _, _ = built
    with assistant as same:
        assert same.retrieve("火星医院")
    for call in (lambda: assistant.retrieve("火星医院"),
                 lambda: assistant.answer("火星医院", reader=False),
                 lambda: assistant.add_files([]), assistant.refresh):
        with pytest.raises(BackendError, match="was closed"):
            call()
    assert assistant.document("mars").title == "火星医院开业"  # in memory: still readable
    assistant.close()  # twice is fine


# ------------------------------------------------------------------ source filters
@pytest.mark.parametrize("typed", ["ＣＮＮ", "Ｃｎｎ"])
def test_a_source_typed_full_width_matches(tmp_path, fake_encoder, typed):
    """`source="ＣＮＮ"` (full-width letters, a Chinese input method's) matched no article of
    the source "CNN": "No document matches the filters"."""
    corpus = small_corpus(tmp_path / "corpus")
    path = write_article(corpus, "cnn.md", "深海医院", "深海医院由CNN报道。")
    path.write_text(path.read_text(encoding="utf-8").replace("（文章来源：测试报）",
                                                             "（文章来源：CNN）"),
                    encoding="utf-8")
    assistant = Assistant.build(corpus, tmp_path / "index")
    assert assistant.document("cnn").source == "CNN"
    hits = assistant.retrieve("深海医院", source=typed)
    assert [h.doc_id for h in hits] == ["cnn"]
    assert assistant.unmatched_filters(source=typed) is None


# ------------------------------------------------ returned objects belong to the caller
def test_changing_a_returned_document_or_hit_changes_nothing_in_the_index(built):
    """`document()` and `documents()` returned the index's own Documents, and a Hit's or a
    Snippet's metadata shared its lists with them: a script that changed one
    (`doc.metadata["source"] = …`, `hit.metadata["tags"].append(…)`) changed the
    assistant's sources and what its filters matched."""
    assistant, _, _ = built
    doc = assistant.document("mars")
    doc.metadata["source"], doc.title = "我的标签", ""
    for other in assistant.documents():
        other.metadata["tags"].append("seen")
    hit = assistant.retrieve("火星医院")[0]
    hit.metadata["tags"].append("seen")
    assert assistant.sources() == ["测试报"]
    assert len(assistant.retrieve("医院", source="测试报")) == 3
    again = assistant.document("mars")
    assert again.title == "火星医院开业" and again.metadata["tags"] == ["测试报"]
    assert assistant.retrieve("火星医院")[0].metadata["tags"] == ["测试报"]


def test_changing_the_returned_manifest_or_chunks_changes_nothing_in_the_index(built):
    """`manifest` and `chunks` returned the index's own objects: a script that changed them
    (`a.manifest["build_key"] = …`, `a.chunks[0].text = …`) changed what the assistant
    answered from and what its next re-index compared against."""
    assistant, _, _ = built
    key, build = assistant.manifest["build_key"], assistant.manifest["build"]
    manifest = assistant.manifest
    manifest["build_key"], manifest["corpus"] = "changed", {}
    first = assistant.chunks[0]
    text = first.text
    first.text, first.doc_id = "改过的文本", "other"
    assistant.chunks.clear()
    assert assistant.manifest["build_key"] == key and assistant.manifest["build"] == build
    assert assistant.manifest["corpus"]["fingerprint"]
    assert assistant.chunks[0].text == text != "改过的文本"
    assert assistant.chunks[0] == assistant.chunks[0] and len(assistant.chunks) > 0
    assert assistant.chunk_texts_for_embedding()[0].endswith(text)


# ------------------------------------------------------- `rag index` / `rag check` --json
def test_index_and_check_print_json_for_scripts(tmp_path, fake_encoder, capsys):
    """`rag index --json` and `rag check --json` were "unrecognized arguments" (exit 2): a
    script or a monitor had only the prose summary to parse. Stdout is one JSON object; a
    damaged index is `{"error": …, "type": "CorruptIndexError"}` and exit 2."""
    from rag.cli import main

    corpus, index = small_corpus(tmp_path / "corpus"), tmp_path / "index"
    assert main(["index", "--json", "--corpus", str(corpus), "--index", str(index)]) == 0
    built = json.loads(capsys.readouterr().out)
    assert built["documents"] == 3 and built["index"] == str(index)
    assert built["backend"]["name"] == "faiss" and built["build"]
    assert main(["check", str(index), "--json"]) == 0
    checked = json.loads(capsys.readouterr().out)
    assert checked["ok"] is True and checked["build"] == built["build"]
    assert checked["documents"] == 3
    live = IndexStore(index).current()
    damaged = next(p for p in sorted(live.iterdir()) if p.is_file() and p.name != "manifest.json")
    damaged.write_bytes(damaged.read_bytes() + b"x")
    assert main(["check", str(index), "--json"]) == 2
    error = json.loads(capsys.readouterr().out)
    assert error["type"] == "CorruptIndexError"


# --------------------------------------------------- a relative index folder and os.chdir
def test_an_assistant_opened_by_relative_paths_survives_a_change_of_folder(
        tmp_path, fake_encoder, monkeypatch):
    """`Assistant.build("corpus", "idx")`, then `os.chdir(…)` (a notebook, a server's
    worker): `add_files` wrote a whole new index into `idx` of the new working folder, and
    the upload never reached the index that was opened."""
    small_corpus(tmp_path / "project" / "corpus")
    monkeypatch.chdir(tmp_path / "project")
    assistant = Assistant.build("corpus", "idx")
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    upload = write_article(tmp_path / "uploads", "sun.md", "太阳医院", "太阳医院的院长是赵六。")
    assert assistant.add_files([upload]).added == ["sun"]
    assert list((tmp_path / "elsewhere").iterdir()) == []
    assert Assistant.load(tmp_path / "project" / "idx").n_documents == 4


# ------------------------------------------------------------ many doc_ids in a filter
class _CountedId(str):
    """A doc_id that counts how often it is compared."""

    compared = 0

    def __eq__(self, other: object) -> bool:
        _CountedId.compared += 1
        return str.__eq__(self, other)

    __hash__ = str.__hash__


def test_a_long_doc_ids_filter_is_looked_up_not_scanned_per_document(built):
    """`doc_ids=[…]` was searched as a list once per document of the index: 5,000 ids over
    20,000 documents took 0.9 s per question, quadratic in the corpus."""
    assistant, _, _ = built
    ids = [_CountedId(f"other-{n}") for n in range(300)] + [_CountedId("moon")]
    _CountedId.compared = 0
    hits = assistant.retrieve("月球药房", doc_ids=ids)
    assert [h.doc_id for h in hits] == ["moon"]
    assert _CountedId.compared < 50  # a list: 3 documents × 301 ids per look


# ------------------------------------------------------------- a folder given to add_files
def test_a_folder_given_to_add_files_is_called_a_folder(built):
    """`add_files("news")` (a folder of articles) said "unsupported file type", and a folder
    named `2022.md` "file not found"."""
    assistant, corpus, _ = built
    (corpus.parent / "2022.md").mkdir()
    result = assistant.add_files([corpus, corpus.parent / "2022.md"])
    assert result.added == []
    assert len(result.errors) == 2
    assert all("a folder, not a file" in error for error in result.errors)


# --------------------------------------------------------- a doc_id that starts with '-'
def test_a_doc_id_starting_with_a_dash_gets_the_hint_a_question_gets(built, capsys):
    """`rag doc -draft-01` (a JSONL id) said only "the following arguments are required:
    doc_id"; the error names it and shows `rag doc -- '-draft-01'`, as `rag ask` does."""
    from rag.cli import main

    _, _, index = built
    assert main(["doc", "-draft-01", "--index", str(index), "--json"]) == 2
    captured = capsys.readouterr()
    assert "rag doc -- '-draft-01'" in captured.err
    assert "rag doc -- '-draft-01'" in json.loads(captured.out)["error"]
    assert main(["doc", "--index", str(index), "--", "-draft-01"]) == 2
    assert "no document with doc_id '-draft-01'" in capsys.readouterr().err


def test_the_default_assistant_is_opened_again_after_it_was_closed(tmp_path, fake_encoder,
                                                                   monkeypatch):
    import rag

    monkeypatch.setattr(rag, "_default", None)
    small_corpus(tmp_path / "corpus")
    Assistant.build(tmp_path / "corpus", tmp_path / "index")
    monkeypatch.setenv("RAG_INDEX_DIR", str(tmp_path / "index"))
    rag.default_assistant().close()
    assert [h.doc_id for h in rag.retrieve("月球药房", k=1)] == ["moon"]
    assert not rag.default_assistant().closed
