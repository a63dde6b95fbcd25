"""Index persistence: round trip, manifest checks, corruption, atomic and incremental rebuilds."""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path

import numpy as np
import pytest

from embeddings.loader import ModelLoadError
from rag import (
    Assistant,
    CorpusError,
    CorruptIndexError,
    IndexNotFoundError,
    ModelMismatchError,
)
from rag.index_data import IndexData
from rag.index_store import IndexStore

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def built(corpus_copy: Path, tmp_path_factory: pytest.TempPathFactory):
    """A private index over a private corpus copy that tests in this module may modify."""
    corpus = tmp_path_factory.mktemp("mod") / "articles"
    shutil.copytree(corpus_copy, corpus)
    index = tmp_path_factory.mktemp("mod-index") / "idx"
    return Assistant.build(corpus, index), corpus, index


def test_manifest_records_model_settings_and_counts(built):
    assistant, corpus, index = built
    m = IndexStore(index).manifest()
    assert m["model"] == "multilingual-e5-small" and m["dim"] == 384
    assert m["config"]["chunking"]["max_chars"] == assistant.config.chunking.max_chars
    assert m["counts"]["documents"] == 5 and m["counts"]["chunks"] == len(assistant.chunks)
    assert m["vector_index"]["type"] == "flat" and "exact" in m["vector_index"]["reason"]
    assert len(m["corpus"]["files"]) == 5 and m["corpus"]["fingerprint"]


def test_round_trip_gives_identical_results(built):
    assistant, _, index = built
    reopened = Assistant.load(index)
    question = "中国太保和瑞金医院共建的医院叫什么？"
    assert reopened.retrieve(question) == assistant.retrieve(question)
    assert reopened.answer(question).snippets == assistant.answer(question).snippets


def test_sentence_vectors_are_written_during_the_build_and_mapped_when_loaded(built):
    """The largest part of a build goes to its folder as it is embedded (bounded memory);
    the same vectors as an in-memory build, read back memory-mapped and read-only."""
    assistant, _, index = built
    built_vectors = assistant._data.sentence_vectors
    assert isinstance(built_vectors, np.memmap)
    assert Path(built_vectors.filename).name == "sentence_vectors.npy"
    loaded = IndexData.load(IndexStore(index).current())
    assert isinstance(loaded.sentence_vectors, np.memmap)
    assert not loaded.sentence_vectors.flags.writeable
    in_memory = IndexData.build(loaded.documents, assistant.encoder, assistant.analyzer,
                                assistant.config)  # all cached: no model work
    assert not isinstance(in_memory.sentence_vectors, np.memmap)
    assert in_memory.sentence_vectors.shape == loaded.sentence_vectors.shape
    assert len(loaded.sentence_vectors) == loaded.manifest["counts"]["sentences"] > 0
    np.testing.assert_array_equal(in_memory.sentence_vectors, loaded.sentence_vectors)
    np.testing.assert_array_equal(np.asarray(built_vectors), loaded.sentence_vectors)


def test_an_approximate_index_is_reopened_as_built_not_rebuilt(corpus_copy, tmp_path):
    """The approximate-index recipe (type, recall target) is part of the build key, so it
    comes from the manifest on load: reopening must not rebuild it with the defaults."""
    from rag import Config

    config = Config()
    config.retrieval.ann_threshold = 10
    config.retrieval.ann_index = "hnsw"
    config.retrieval.ann_recall_target = 0.9
    built = Assistant.build(corpus_copy, tmp_path / "idx", config=config)
    assert built.manifest["vector_index"]["type"] == "hnsw"
    reopened = Assistant.load(tmp_path / "idx")
    assert reopened.manifest["build"] == built.manifest["build"]
    assert reopened.config.retrieval.ann_index == "hnsw"
    assert reopened.config.retrieval.ann_recall_target == 0.9
    assert reopened.config.build_key() == built.config.build_key()
    assert not reopened.refresh()


def test_loading_with_another_model_is_a_clear_error(built):
    _, _, index = built
    with pytest.raises(ModelMismatchError, match="built with model 'multilingual-e5-small'"):
        Assistant.load(index, model="sentence-transformers/all-MiniLM-L6-v2")


def test_unknown_model_is_a_clear_error_and_leaves_the_index(built, tmp_path):
    assistant, corpus, index = built
    before = IndexStore(index).current()
    with pytest.raises(ModelLoadError, match="no/such-model"):
        Assistant.build(corpus, index, model="no/such-model")
    assert IndexStore(index).current() == before
    assert Assistant.load(index).answer("安唐保是为哪类患者设计的？").answered


def test_missing_and_corrupt_indexes_are_clear_errors(built, tmp_path):
    _, _, index = built
    with pytest.raises(IndexNotFoundError, match="no index at"):
        Assistant.load(tmp_path / "none")
    broken = tmp_path / "broken"
    shutil.copytree(index, broken)
    build = IndexStore(broken).current()
    (build / "chunks.faiss").write_bytes(b"not a faiss index")
    with pytest.raises(CorruptIndexError, match="corrupt"):
        Assistant.load(broken)
    (build / "manifest.json").write_text("{", encoding="utf-8")
    with pytest.raises(CorruptIndexError):
        Assistant.load(broken)
    (broken / "CURRENT").write_text("../../etc", encoding="utf-8")
    with pytest.raises(CorruptIndexError, match="rebuild"):
        Assistant.load(broken)


def test_inconsistent_manifest_counts_are_detected(built, tmp_path):
    _, _, index = built
    copy = tmp_path / "copy"
    shutil.copytree(index, copy)
    manifest_path = IndexStore(copy).current() / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest["counts"]["chunks"] += 1
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(CorruptIndexError, match="inconsistent"):
        Assistant.load(copy)


def test_failed_rebuild_leaves_the_old_index_usable(built, monkeypatch):
    assistant, corpus, index = built
    before = IndexStore(index).current()
    (corpus / "new.md").write_text(f"---\ntitle: 新文章\n---\n新内容{uuid.uuid4().hex}。",
                                   encoding="utf-8")

    def explode(self, folder):
        (folder / "documents.jsonl").write_text("half written", encoding="utf-8")
        raise OSError("disk full")

    monkeypatch.setattr(IndexData, "save", explode)
    try:
        with pytest.raises(OSError, match="disk full"):
            Assistant.build(corpus, index)
    finally:
        (corpus / "new.md").unlink()
    monkeypatch.undo()
    assert IndexStore(index).current() == before
    assert not list((index / "builds").glob(".tmp-*"))
    reopened = Assistant.load(index, refresh=False)
    assert reopened.answer("安唐保是为哪类患者设计的？").answered


def test_changing_one_file_reembeds_only_its_new_text(built):
    assistant, corpus, index = built
    path = corpus / "002_cefbccecdd2d9a56.txt"
    original = path.read_text(encoding="utf-8")
    marker = f"京东健康新设了测试专区{uuid.uuid4().hex[:8]}。"
    path.write_text(original.replace("（文章来源：羊城晚报）", marker + "（文章来源：羊城晚报）"),
                    encoding="utf-8")
    try:
        rebuilt = Assistant.build(corpus, index)
        old_texts = set(assistant.chunk_texts_for_embedding())
        new_chunks = [t for t in rebuilt.chunk_texts_for_embedding() if t not in old_texts]
        # one pass per new chunk: its sentence vectors come from the same forward pass
        assert rebuilt.manifest["embedded"] == len(new_chunks)
        assert 0 < len(new_chunks) <= 3
        assert rebuilt.retrieve(marker, k=1)[0].doc_id == "002_cefbccecdd2d9a56"
        # loading notices the corpus change (stale index) and refreshes
        path.write_text(original, encoding="utf-8")
        assert Assistant.load(index).manifest["corpus"]["fingerprint"] != \
            rebuilt.manifest["corpus"]["fingerprint"]
    finally:
        path.write_text(original, encoding="utf-8")


def test_unchanged_corpus_is_not_rebuilt(built):
    _, corpus, index = built
    Assistant.build(corpus, index)
    before = IndexStore(index).current()
    Assistant.build(corpus, index)
    assert IndexStore(index).current() == before


def test_add_files_indexes_good_files_and_rejects_bad_ones(built, tmp_path):
    assistant, corpus, index = built
    fresh = Assistant.load(index)
    good = tmp_path / "upload.html"
    good.write_text("<h1>测试</h1><p>火星医院于2031年开业，院长是张三丰。</p>", encoding="utf-8")
    bad = [tmp_path / "x.pdf", tmp_path / "empty.md", tmp_path / "garbled.txt"]
    bad[0].write_bytes(b"%PDF-1.4")
    bad[1].write_text("", encoding="utf-8")
    bad[2].write_bytes(b"\xff\xfe\xfa\x80\x81\xfe" * 8)
    count = fresh.n_documents
    result = fresh.add_files([good, *bad])
    assert result.added == ["upload"] and len(result.errors) == 3
    assert any("unsupported" in e for e in result.errors)
    assert any("empty" in e for e in result.errors)
    assert any("UTF-8" in e for e in result.errors)
    assert fresh.n_documents == count + 1
    assert fresh.retrieve("火星医院的院长是谁？", k=1)[0].doc_id == "upload"
    assert (index / "added" / "upload.html").exists()
    original = fresh.document("000_b3be6aaf6ae97e79").text
    clash = tmp_path / "000_b3be6aaf6ae97e79.md"  # a corpus doc_id: gets a new id, overwrites
    clash.write_text("冲突。", encoding="utf-8")  # nothing
    assert fresh.add_files([clash]).added == ["000_b3be6aaf6ae97e79-2"]
    assert fresh.document("000_b3be6aaf6ae97e79").text == original
    assert fresh.n_documents == count + 2


def test_missing_corpus_is_a_clear_error(tmp_path):
    with pytest.raises(CorpusError, match="does not exist"):
        Assistant.build(tmp_path / "nope", tmp_path / "idx")


def test_model_comes_from_the_rag_model_variable(built, monkeypatch):
    _, corpus, index = built
    monkeypatch.setenv("RAG_MODEL", "no/such-model-from-env")
    with pytest.raises(ModelLoadError, match="no/such-model-from-env"):
        Assistant.build(corpus, index)
