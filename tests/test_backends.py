"""Backends: sparse BM25 against bm25s, Milvus (Lite, embedded) against FAISS + bm25s.

Each Milvus test gets its own Lite file under ``tmp_path``; clients are closed in teardown.
"""

from __future__ import annotations

import random
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from rag.backends.bm25 import KeywordIndex
from rag.backends.faiss import FaissBackend
from rag.backends.sparse_bm25 import SparseBM25
from rag.errors import BackendError

ROOT = Path(__file__).resolve().parent.parent
BUNDLED = ROOT / "data" / "articles"
QUESTIONS = ["安唐保是为哪类患者设计的？", "台风什么时候登陆？", "哪家公司发布了新手机",
             "GDP增长了多少", "新冠疫苗的保护率是多少", "Who won the election?",
             "地铁新线路什么时候开通", "股市今天表现如何"]


def _token_lists(seed: int = 0, n: int = 300) -> list[list[str]]:
    rng = random.Random(seed)
    words = [f"词{i}" for i in range(80)]
    docs = []
    for _ in range(n):  # Zipf-like: a few common words, many rare ones; some empty chunks
        size = rng.choice([0, 1, 3, 8, 20, 40])
        docs.append([words[min(int(rng.paretovariate(1.0)) - 1, 79)] for _ in range(size)])
    return docs


def _sparse_scores(bm25: SparseBM25, docs: list[list[str]], query: list[str]) -> np.ndarray:
    q = bm25.query(query)
    return np.array([sum(q.get(t, 0.0) * w for t, w in bm25.document(d).items())
                     for d in docs], dtype=np.float64)


# ------------------------------------------------------------------------- sparse BM25 (unit)
@pytest.mark.unit
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sparse_bm25_inner_product_equals_bm25s_scores(seed):
    docs = _token_lists(seed)
    reference = KeywordIndex.build(docs)
    sparse = SparseBM25.fit(docs)
    rng = random.Random(seed + 10)
    for _ in range(20):
        query = [f"词{rng.randrange(90)}" for _ in range(rng.randint(1, 5))]
        query += query[:1]  # a repeated word counts twice in bm25s
        expected = reference.scores(query)
        got = _sparse_scores(sparse, docs, query)
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.unit
def test_sparse_bm25_idf_and_round_trip(tmp_path):
    docs = _token_lists(3)
    reference = KeywordIndex.build(docs)
    sparse = SparseBM25.fit(docs)
    for word in ["词0", "词5", "词79", "不存在"]:
        assert sparse.idf(word) == pytest.approx(reference.idf(word))
    sparse.save(tmp_path / "bm25.json")
    again = SparseBM25.load(tmp_path / "bm25.json")
    assert again.query(["词0", "词7"]) == sparse.query(["词0", "词7"])
    assert again.document(docs[5]) == sparse.document(docs[5])


@pytest.mark.unit
def test_empty_chunk_gets_a_vector_no_query_can_reach():
    sparse = SparseBM25.fit([["甲", "乙"], []])
    (dim, weight), = sparse.document([]).items()
    assert dim not in sparse.vocab.values() and 0 < weight < 1e-20
    assert sparse.query(["丙"]) == {}


@pytest.mark.unit
def test_uris_with_credentials_are_not_stored():
    from rag.backends.milvus import normalise_uri, storable_uri
    from rag.config import Config

    assert storable_uri("http://milvus.internal:19530") == "http://milvus.internal:19530"
    assert storable_uri("https://user:secret@host:19530") is None
    assert storable_uri("https://host:19530?token=abc") is None
    config = Config()
    config.storage.backend, config.storage.uri = "milvus", "https://root:Milvus@host:19530"
    assert "Milvus@" not in str(config.to_dict()) and "Milvus@" not in str(config.build_key())
    with pytest.raises(BackendError, match=r"\.db"):
        normalise_uri("/tmp/some-folder")


# ------------------------------------------------------------- Milvus Lite vs FAISS (no model)
def _unit_vectors(n: int, dim: int = 24, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    v = rng.normal(size=(n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


@pytest.fixture
def milvus_backend(tmp_path):
    from rag.backends.milvus import MilvusBackend

    backend = MilvusBackend(str(tmp_path / "milvus.db"), tmp_path / "index")
    yield backend
    backend.close()


@pytest.mark.integration
def test_milvus_lite_matches_faiss_and_bm25s(milvus_backend, tmp_path):
    docs = _token_lists(4, n=400)
    vectors = _unit_vectors(len(docs))
    faiss_dense, faiss_kw = FaissBackend().build(vectors, docs, 1_000_000)
    dense, keyword = milvus_backend.build(vectors, docs, 1_000_000)
    folder = tmp_path / "build-1"
    folder.mkdir()
    entry = milvus_backend.save(dense, keyword, folder)
    assert entry["collection"].startswith(milvus_backend.prefix)
    dense, keyword = milvus_backend.load(folder, {"backend": entry, "dim": 24})
    assert dense.size == len(docs) and keyword.n_docs == len(docs)
    queries = _unit_vectors(10, seed=9)
    allowed = np.arange(0, len(docs), 3)
    mask = np.zeros(len(docs), dtype=bool)
    mask[allowed] = True
    for q in queries:
        for ids in (None, allowed):
            want_s, want_i = faiss_dense.search(q, 10, ids)
            got_s, got_i = dense.search(q, 10, ids)
            assert got_i.tolist() == want_i.tolist()
            np.testing.assert_allclose(got_s, want_s, atol=1e-5)
    rng = random.Random(5)
    for _ in range(15):
        query = [f"词{rng.randrange(40)}" for _ in range(rng.randint(1, 4))]
        for m in (None, mask):
            want, got = faiss_kw.top(query, 10, m), keyword.top(query, 10, m)
            assert list(got) == list(want)
            np.testing.assert_allclose(list(got.values()), list(want.values()), rtol=1e-5)


@pytest.mark.integration
@pytest.mark.parametrize("kind", ["hnsw", "ivf"])
def test_milvus_approximate_index_is_calibrated_recorded_and_restored(milvus_backend, tmp_path,
                                                                       kind):
    """Above the exact-search threshold a Milvus build gets HNSW / IVF_FLAT (Milvus Lite
    builds both) with its ef / nprobe calibrated on save against exact search, recorded in
    the manifest entry and used again after loading: the reloaded index finds what the
    calibration measured."""
    from rag.ann_tuning import exact_neighbours, recall_at_k
    from rag.backends.milvus import SEARCH_PARAM

    docs = _token_lists(7, n=400)
    vectors = _unit_vectors(len(docs), seed=3)
    queries = _unit_vectors(40, seed=4)
    dense, keyword = milvus_backend.build(vectors, docs, 100, kind=kind,
                                          recall_target=0.95, calibration_queries=queries)
    assert dense.kind == kind and dense.calibration is None
    folder = tmp_path / "build-ann"
    folder.mkdir()
    entry = milvus_backend.save(dense, keyword, folder)
    info = dense.describe()
    param = SEARCH_PARAM[kind]
    assert info["index"] == {"hnsw": "HNSW", "ivf": "IVF_FLAT"}[kind]
    calibration = info["calibration"]
    assert calibration["param"] == param and calibration["reached"]
    assert calibration["recall"] >= calibration["target"] == pytest.approx(0.96)
    assert calibration["sample"] == len(queries) and calibration["queries"] == "held-out queries"
    assert info[param] == calibration["value"] == dense.search_value > 0
    if kind == "ivf":  # the index is really approximate: one list of 80 finds too little
        assert calibration["curve"][0][0] == 1 and calibration["curve"][0][1] < 0.5
    loaded, _ = milvus_backend.load(folder, {"backend": entry, "dim": 24, "vector_index": info})
    assert loaded.kind == kind and loaded.search_value == dense.search_value
    assert loaded.describe()["calibration"] == calibration
    found = np.stack([loaded.search(q, 10)[1][0] for q in queries])
    assert recall_at_k(found, exact_neighbours(vectors, queries, 10)) == \
        pytest.approx(calibration["recall"], abs=1e-6)
    allowed = np.arange(0, len(docs), 4)  # a filter: searched wider, only allowed ids back
    exact_allowed = exact_neighbours(vectors[allowed], queries, 10)
    found = np.stack([loaded.search(q, 10, allowed)[1][0] for q in queries])
    assert set(found[found >= 0].tolist()) <= set(allowed.tolist())
    assert recall_at_k(found, allowed[exact_allowed]) >= calibration["target"]
    with pytest.raises(ValueError, match="unknown approximate index"):
        milvus_backend.build(vectors, docs, 100, kind="pq")


@pytest.mark.integration
def test_prune_drops_only_collections_no_build_names(milvus_backend, tmp_path):
    vectors, docs = _unit_vectors(20), _token_lists(6, n=20)
    entries = []
    for n in range(3):
        folder = tmp_path / f"b{n}"
        folder.mkdir()
        entries.append(milvus_backend.save(*milvus_backend.build(vectors, docs, 10), folder))
    milvus_backend.prune([{"backend": e} for e in entries[1:]])
    left = [c for c in milvus_backend.client.list_collections()
            if c.startswith(milvus_backend.prefix)]
    assert sorted(left) == sorted(e["collection"] for e in entries[1:])


@pytest.mark.integration
def test_failed_insert_leaves_no_collection(milvus_backend, tmp_path, monkeypatch):
    vectors, docs = _unit_vectors(30), _token_lists(7, n=30)
    dense, keyword = milvus_backend.build(vectors, docs, 10)
    client = milvus_backend.client

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(client, "insert", interrupted)
    folder = tmp_path / ".tmp-b"
    folder.mkdir()
    with pytest.raises(KeyboardInterrupt):
        milvus_backend.save(dense, keyword, folder)
    monkeypatch.undo()
    assert not [c for c in client.list_collections() if c.startswith(milvus_backend.prefix)]


def _hold_lite_file(db: Path) -> subprocess.Popen:
    """Another process with the Lite file ``db`` open, until its stdin is closed
    (``holder.communicate("")``)."""
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys
        from pymilvus import MilvusClient
        client = MilvusClient({str(db)!r})
        print("ready", flush=True)
        sys.stdin.read()
        client.close()
    """)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "ready"
    return holder


@pytest.mark.integration
def test_lite_file_held_by_another_process_is_a_clear_error(tmp_path):
    from rag.backends.milvus import MilvusBackend

    db = tmp_path / "held.db"
    holder = _hold_lite_file(db)
    try:
        backend = MilvusBackend(str(db), tmp_path / "index")
        with pytest.raises(BackendError, match="one process per file") as err:
            backend.client  # noqa: B018
        assert "http://localhost:19530" in str(err.value)
    finally:
        holder.communicate("", timeout=60)


# ------------------------------------------------------ bundled corpus through both backends
@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """The bundled corpus indexed with FAISS and with Milvus Lite (the embedding cache makes
    the second build cheap)."""
    from rag import Assistant

    root = tmp_path_factory.mktemp("pair")
    faiss = Assistant.build(BUNDLED, root / "faiss")
    milvus = Assistant.build(BUNDLED, root / "milvus", backend="milvus")
    yield faiss, milvus
    milvus.close()


@pytest.mark.integration
@pytest.mark.slow
def test_same_top10_through_both_backends(pair):
    faiss, milvus = pair
    assert milvus.manifest["backend"]["name"] == "milvus"
    assert milvus.manifest["backend"]["uri"].endswith("milvus.db")
    sources = faiss.sources()
    for question in QUESTIONS:
        for mode in ("dense", "keyword", "hybrid"):
            for filters in ({}, {"source": sources[0]}, {"date_from": "2022-01-01"}):
                want = faiss.retrieve(question, 10, mode=mode, **filters)
                got = milvus.retrieve(question, 10, mode=mode, **filters)
                assert [(h.doc_id, h.start) for h in got] == \
                    [(h.doc_id, h.start) for h in want], (question, mode, filters)
                np.testing.assert_allclose([h.score for h in got], [h.score for h in want],
                                           atol=1e-4)


@pytest.mark.integration
@pytest.mark.slow
def test_same_answers_through_both_backends(pair):
    faiss, milvus = pair
    for question in QUESTIONS:
        for reader in (False, True):
            want = faiss.answer(question, reader=reader)
            got = milvus.answer(question, reader=reader)
            assert got.answered == want.answered
            assert got.short_answer == want.short_answer
            assert [(s.doc_id, s.start, s.end) for s in got.snippets] == \
                [(s.doc_id, s.start, s.end) for s in want.snippets]


@pytest.mark.integration
@pytest.mark.slow
def test_milvus_index_reloads_refreshes_and_drops_old_collections(tmp_path):
    from rag import Assistant

    corpus = tmp_path / "articles"
    corpus.mkdir()
    for path in sorted(BUNDLED.iterdir())[:4]:
        (corpus / path.name).write_bytes(path.read_bytes())
    index = tmp_path / "index"
    first = Assistant.build(corpus, index, backend="milvus")
    first_collection = first.manifest["backend"]["collection"]
    first.close()
    again = Assistant.load(index)  # the backend and the Lite file come from the manifest
    try:
        assert again.manifest["backend"]["collection"] == first_collection
        assert isinstance(again.backend, type(first.backend))
        extra = tmp_path / "extra.md"
        for n in range(2):
            extra.write_text(f"# 新增文章{n}\n\n某市第{n}座图书馆今天开馆，藏书十万册。",
                             encoding="utf-8")
            result = again.add_files([extra])
            assert result.added, result.errors
        collections = [c for c in again.backend.client.list_collections()
                       if c.startswith(again.backend.prefix)]
        assert first_collection not in collections  # dropped two builds later
        assert again.manifest["backend"]["collection"] in collections
        assert len(collections) == 2  # the live build and the one before it
        assert again.retrieve("图书馆开馆", 1)[0].doc_id.startswith("extra")
    finally:
        again.close()


@pytest.mark.integration
def test_interrupted_milvus_build_keeps_the_old_index_and_collection(tmp_path, monkeypatch):
    from rag import Assistant
    from tests.fault_support import FakeEncoder, small_corpus

    monkeypatch.setattr("rag.assistant.make_encoder", FakeEncoder)
    corpus = small_corpus(tmp_path / "corpus")
    index = tmp_path / "index"
    old = Assistant.build(corpus, index, backend="milvus")
    before = old.retrieve("医院", 3)
    collection = old.manifest["backend"]["collection"]
    (corpus / "new.md").write_text("# 新文章\n\n新的医院今天开业。", encoding="utf-8")

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(FakeEncoder, "encode_passages_with_spans", interrupted)
    try:
        with pytest.raises(KeyboardInterrupt):
            old.refresh()
        assert old.manifest["backend"]["collection"] == collection
        assert [h.doc_id for h in old.retrieve("医院", 3)] == [h.doc_id for h in before]
        names = [c for c in old.backend.client.list_collections()
                 if c.startswith(old.backend.prefix)]
        assert names == [collection]
        assert not list((index / "builds").glob(".tmp-*"))
    finally:
        old.close()


@pytest.mark.integration
def test_cli_index_check_and_search_with_milvus(tmp_path, monkeypatch, capsys):
    import json

    from rag.cli import main
    from tests.fault_support import FakeEncoder, small_corpus

    monkeypatch.setattr("rag.assistant.make_encoder", FakeEncoder)
    corpus, index, db = small_corpus(tmp_path / "corpus"), tmp_path / "index", tmp_path / "m.db"
    assert main(["index", "--corpus", str(corpus), "--index", str(index),
                 "--backend", "milvus", "--uri", str(db)]) == 0
    out = capsys.readouterr().out
    assert f"backend: milvus {db}" in out and "chunks/s" in out
    assert main(["check", str(index)]) == 0
    assert "ok:" in capsys.readouterr().out
    assert main(["search", "火星医院", "--index", str(index), "--json", "-k", "1"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["doc_id"] == "mars"
    assert main(["index", "--index", str(index)]) == 0  # keeps its backend and uri
    assert f"backend: milvus {db}" in capsys.readouterr().out


@pytest.mark.integration
def test_closing_a_lite_index_lets_another_process_open_the_file(tmp_path, monkeypatch):
    """``Assistant.close()`` is documented as what lets another process open a Lite file, but
    pymilvus's close left this process's Lite server (and its lock on the file) running until
    exit; found by the third robustness probe. Reopening in this process still works."""
    from rag import Assistant
    from tests.fault_support import FakeEncoder, small_corpus

    monkeypatch.setattr("rag.assistant.make_encoder", FakeEncoder)
    corpus, index, db = small_corpus(tmp_path / "corpus"), tmp_path / "index", tmp_path / "m.db"
    Assistant.build(corpus, index, model=FakeEncoder.model_name, uri=str(db)).close()
    other = subprocess.run([sys.executable, "-c", textwrap.dedent(f"""
        from pymilvus import MilvusClient
        MilvusClient({str(db)!r}).close()
        print("opened")
    """)], capture_output=True, text=True, timeout=120)
    assert other.stdout.strip() == "opened", other.stderr[-1500:]
    with Assistant.load(index, refresh=False) as again:
        assert again.retrieve("火星医院", k=1)[0].doc_id == "mars"


@pytest.mark.integration
def test_milvus_lite_logs_no_tracebacks(tmp_path, monkeypatch, capsys, caplog):
    """Found by the third robustness probe (real processes): every Lite build logged pymilvus's
    call of AllocTimestamp, which Lite does not implement, as two ERROR tracebacks
    (``grpc._server``), and opening a Lite file that another process holds printed
    milvus_lite's DataDirLockedError traceback before the clear error."""
    import logging

    from rag.cli import main
    from tests.fault_support import FakeEncoder, small_corpus

    monkeypatch.setattr("rag.assistant.make_encoder", FakeEncoder)
    corpus, index, db = small_corpus(tmp_path / "corpus"), tmp_path / "index", tmp_path / "m.db"
    caplog.set_level(logging.WARNING)
    assert main(["index", "--corpus", str(corpus), "--index", str(index), "--model",
                 FakeEncoder.model_name, "--uri", str(db)]) == 0
    holder = _hold_lite_file(db)
    try:
        capsys.readouterr()
        assert main(["search", "火星医院", "--index", str(index), "--json"]) == 2
    finally:
        holder.communicate("", timeout=60)
    assert "one process per file" in capsys.readouterr().err
    assert [r.getMessage() for r in caplog.records if r.exc_info] == []


@pytest.mark.integration
def test_long_allowed_lists_are_searched_in_parts(milvus_backend, tmp_path, monkeypatch):
    import rag.backends.milvus as milvus

    docs = _token_lists(8, n=120)
    vectors = _unit_vectors(len(docs), seed=3)
    faiss_dense, faiss_kw = FaissBackend().build(vectors, docs, 1_000_000)
    dense, keyword = milvus_backend.build(vectors, docs, 1_000_000)
    folder = tmp_path / "b"
    folder.mkdir()
    milvus_backend.save(dense, keyword, folder)
    monkeypatch.setattr(milvus, "_ID_FILTER_MAX", 7)
    allowed = np.arange(1, len(docs), 2)
    mask = np.zeros(len(docs), dtype=bool)
    mask[allowed] = True
    for q in _unit_vectors(5, seed=4):
        assert dense.search(q, 10, allowed)[1].tolist() == \
            faiss_dense.search(q, 10, allowed)[1].tolist()
    for word in ("词0", "词1", "词3"):
        assert list(keyword.top([word], 10, mask)) == list(faiss_kw.top([word], 10, mask))


@pytest.mark.integration
def test_chat_opens_a_milvus_index_with_the_same_flags(tmp_path, monkeypatch):
    import app
    from tests.fault_support import FakeEncoder, small_corpus

    monkeypatch.setattr("rag.assistant.make_encoder", FakeEncoder)
    corpus, index, db = small_corpus(tmp_path / "corpus"), tmp_path / "index", tmp_path / "c.db"
    args = app.parse_args(["--index", str(index), "--corpus", str(corpus),
                           "--backend", "milvus", "--uri", str(db)])
    class NoReader:  # the chat warms the reader up; not needed here
        def warm_up(self) -> None:
            pass

    monkeypatch.setattr("rag.assistant.Assistant.reader", property(lambda self: NoReader()))
    built = app.open_assistant(args.index, args.corpus, args.model, args.backend, args.uri)
    assert built.manifest["backend"]["uri"] == str(db)
    built.close()
    args = app.parse_args(["--index", str(index)])  # reopen: backend and uri from the manifest
    opened = app.open_assistant(args.index, args.corpus, args.model, args.backend, args.uri)
    try:
        assert opened.manifest["backend"]["name"] == "milvus"
        assert opened.retrieve("月球药房", 1)[0].doc_id == "moon"
    finally:
        opened.close()


class _FakeServer:
    """A MilvusClient stand-in that only reports a version."""

    def __init__(self, version: str | Exception) -> None:
        self.version, self.closed = version, False

    def get_server_version(self) -> str:
        if isinstance(self.version, Exception):
            raise self.version
        return self.version

    def close(self) -> None:
        self.closed = True


@pytest.mark.unit
@pytest.mark.parametrize("version,refused", [
    ("v2.3.5-lite", True), ("v2.3.21", True), ("2.2.0", True), ("v2.4.0", False),
    ("v2.6.3", False), ("3.0.0-beta", False), ("unknown", False),
    (RuntimeError("no such method"), False)])
def test_servers_older_than_2_4_are_refused_with_the_fix(version, refused):
    from rag.backends.milvus import check_server_version

    client = _FakeServer(version)
    if refused:
        with pytest.raises(BackendError, match=r"needs Milvus 2\.4 or newer.*upgrade"):
            check_server_version(client, "http://milvus:19530")
        assert client.closed
    else:
        check_server_version(client, "http://milvus:19530")
        assert not client.closed


@pytest.mark.integration
def test_unfit_server_fails_before_the_corpus_is_read(tmp_path, monkeypatch):
    """A build against an old server stops at connect: nothing read, embedded or written."""
    from rag import Assistant
    from tests.fault_support import FakeEncoder, small_corpus

    monkeypatch.setattr("rag.assistant.make_encoder", FakeEncoder)
    monkeypatch.setattr("pymilvus.MilvusClient", lambda **kw: _FakeServer("v2.3.5-lite"))
    read: list[int] = []
    monkeypatch.setattr("rag.indexer.load_corpus", lambda *a, **k: read.append(1) or [])
    with pytest.raises(BackendError, match="runs v2.3.5-lite"):
        Assistant.build(small_corpus(tmp_path / "corpus"), tmp_path / "index",
                        backend="milvus", uri="http://127.0.0.1:19530")
    assert read == []
    assert not list((tmp_path / "index").glob("builds/*"))


@pytest.mark.integration
@pytest.mark.skipif(not __import__("os").environ.get("RAG_TEST_MILVUS_URI"),
                    reason="set RAG_TEST_MILVUS_URI=http://host:19530 to test a Milvus server")
def test_a_real_milvus_server_answers_like_faiss(tmp_path, monkeypatch):
    """Opt-in: the bundled corpus on the server given by RAG_TEST_MILVUS_URI and on FAISS
    give the same top-10 (no server is reachable in CI)."""
    import os

    from rag import Assistant

    on_server = Assistant.build(BUNDLED, tmp_path / "server", backend="milvus",
                                uri=os.environ["RAG_TEST_MILVUS_URI"])
    local = Assistant.build(BUNDLED, tmp_path / "faiss")
    try:
        for q in QUESTIONS:
            assert ([(h.doc_id, h.start) for h in on_server.retrieve(q, 10)]
                    == [(h.doc_id, h.start) for h in local.retrieve(q, 10)]), q
    finally:
        on_server.close()
        local.close()


@pytest.mark.integration
def test_a_lite_index_is_searchable_from_a_new_process(tmp_path):
    """Milvus Lite starts with its collections released: a process that only opens the index
    (rag ask, the chat) must load the collection before searching. One process builds and
    exits, a second one searches (the test process never opens the file)."""
    import json

    db, folder, index = tmp_path / "m.db", tmp_path / "build-1", tmp_path / "index"
    folder.mkdir()
    docs, vectors = _token_lists(6, n=120), _unit_vectors(120)
    np.save(tmp_path / "v.npy", vectors)
    (tmp_path / "docs.json").write_text(json.dumps(docs), "utf-8")
    want = np.ravel(FaissBackend().build(vectors, docs, 1_000_000)[0]
                    .search(vectors[7], 5)[1]).tolist()
    head = f"""
        import json, numpy as np
        from pathlib import Path
        from rag.backends.milvus import MilvusBackend
        backend = MilvusBackend({str(db)!r}, Path({str(index)!r}))
        folder, tmp = Path({str(folder)!r}), Path({str(tmp_path)!r})
    """
    build = head + """
        vectors = np.load(tmp / "v.npy")
        docs = json.loads((tmp / "docs.json").read_text("utf-8"))
        entry = backend.save(*backend.build(vectors, docs, 1_000_000), folder)
        (tmp / "entry.json").write_text(json.dumps(entry), "utf-8")
    """
    search = head + """
        entry = json.loads((tmp / "entry.json").read_text("utf-8"))
        dense, keyword = backend.load(folder, {"backend": entry, "dim": 24})
        ids = dense.search(np.load(tmp / "v.npy")[7], 5)[1]
        print(json.dumps([np.ravel(ids).tolist(), len(keyword.top(["词1"], 5))]))
        backend.close()
    """
    for script in (build, search):
        out = subprocess.run([sys.executable, "-c", textwrap.dedent(script)],
                             capture_output=True, text=True, cwd=ROOT, timeout=300)
        assert out.returncode == 0, out.stderr[-2000:]
    ids, n_keyword = json.loads(out.stdout.strip().splitlines()[-1])
    assert ids == want and n_keyword > 0


@pytest.mark.unit
def test_loading_a_milvus_collection_is_tried_again_after_a_transient_failure(monkeypatch):
    """Milvus Lite once failed a load with "read error … Resource temporarily unavailable"
    on a just-built index file; the next try reads it."""
    from rag.backends import milvus

    monkeypatch.setattr(milvus.time, "sleep", lambda s: None)

    class Flaky:
        def __init__(self, failures: int) -> None:
            self.failures, self.calls = failures, 0

        def load_collection(self, name: str) -> None:
            self.calls += 1
            if self.calls <= self.failures:
                raise RuntimeError("read error: Resource temporarily unavailable")

    client = Flaky(2)
    milvus._load_collection(client, "c")
    assert client.calls == 3
    with pytest.raises(RuntimeError, match="temporarily"):
        milvus._load_collection(Flaky(9), "c", attempts=3)
