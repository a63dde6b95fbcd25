"""Damaged or foreign index folders: re-indexing keeps the index's own corpus, a newer
format is never downgraded on open, and killed builds leave nothing behind."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.errors import CorruptIndexError, IndexFormatError
from rag.index_store import IndexStore
from tests.fault_support import FakeEncoder, small_corpus

pytestmark = pytest.mark.integration


@pytest.fixture
def built(tmp_path, monkeypatch):
    from rag import Assistant

    monkeypatch.setattr("rag.assistant.make_encoder", FakeEncoder)
    corpus, index = small_corpus(tmp_path / "corpus"), tmp_path / "index"
    Assistant.build(corpus, index, model=FakeEncoder.model_name)  # so that reopening
    return corpus, index  # finds the index current


def _cli(capsys, *argv: str) -> tuple[int, str, str]:
    from rag.cli import main

    try:
        code = main(list(argv))
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("damage", ["garbage CURRENT", "empty CURRENT", "no CURRENT",
                                    "truncated manifest"])
def test_reindexing_a_damaged_index_keeps_its_own_corpus(built, capsys, damage):
    """`rag index --index DIR` without --corpus: the corpus comes from any readable build
    manifest, never the bundled articles."""
    from rag import Assistant

    corpus, index = built
    store = IndexStore(index)
    if damage == "truncated manifest":
        (corpus / "new.md").write_text("# 新文章\n\n新的医院今天开业。", encoding="utf-8")
        Assistant.build(corpus, index)  # a second build: the older one still reads
        manifest = store.current() / "manifest.json"
        manifest.write_text(manifest.read_text("utf-8")[:100], "utf-8")
    else:
        pointer = index / "CURRENT"
        if damage == "no CURRENT":
            pointer.unlink()
        else:
            pointer.write_text("../../etc" if damage == "garbage CURRENT" else "", "utf-8")
    assert store.recorded_corpus() == str(corpus)
    code, out, err = _cli(capsys, "index", "--index", str(index))
    assert code == 0, err
    assert "bundled" not in err and "documents:" in out
    assert store.manifest()["corpus"]["sources"] == [str(corpus)]


def test_an_index_that_no_longer_names_its_corpus_is_an_error(built, capsys):
    _, index = built
    store = IndexStore(index)
    manifest = store.current() / "manifest.json"
    manifest.write_text("{", "utf-8")
    with pytest.raises(CorruptIndexError, match="--corpus"):
        store.recorded_corpus()
    code, out, err = _cli(capsys, "index", "--index", str(index))
    assert code == 2 and "--corpus" in err and "documents:" not in out
    assert manifest.read_text("utf-8") == "{"  # nothing was rebuilt over it


def test_a_new_folder_has_no_recorded_corpus(tmp_path):
    assert IndexStore(tmp_path / "new").recorded_corpus() is None
    (tmp_path / "empty").mkdir()
    assert IndexStore(tmp_path / "empty").recorded_corpus() is None


def test_an_index_of_a_newer_format_is_not_rebuilt_on_open(built):
    """Two versions sharing an index folder must not downgrade each other's index."""
    from rag import Assistant

    _, index = built
    store = IndexStore(index)
    build = store.current()
    path = build / "manifest.json"
    manifest = json.loads(path.read_text("utf-8"))
    manifest["format"] = 99
    path.write_text(json.dumps(manifest), "utf-8")
    with pytest.raises(IndexFormatError, match="newer") as err:
        Assistant.load(index)
    assert err.value.newer and "upgrade rag-news" in str(err.value)
    assert store.current() == build  # the newer index is still the live one


def test_a_killed_builds_leftovers_go_with_the_next_build(built):
    """Only a lock holder builds, so every `.tmp-*` the next build finds is an orphan (a
    build killed part way), removed at once rather than after a day."""
    from rag import Assistant

    corpus, index = built
    orphan = Path(index) / "builds" / ".tmp-20260101-000000-deadbeef"
    orphan.mkdir()
    (orphan / "sentence_vectors.npy").write_bytes(b"\0" * 1024)
    (corpus / "new.md").write_text("# 新文章\n\n新的医院今天开业。", encoding="utf-8")
    Assistant.build(corpus, index)
    assert not orphan.exists()
    assert not list((Path(index) / "builds").glob(".tmp-*"))


def test_an_index_folder_that_is_its_corpus_folder_is_refused(tmp_path, monkeypatch, capsys):
    """Its builds would be read back as articles: deleted articles came back and every open
    rebuilt. A hidden index folder inside the corpus is the suggested fix, and works."""
    from rag import Assistant
    from rag.errors import CorpusError

    monkeypatch.setattr("rag.assistant.make_encoder", FakeEncoder)
    corpus = small_corpus(tmp_path / "corpus")
    with pytest.raises(CorpusError, match="is the corpus folder") as err:
        Assistant.build(corpus, corpus)
    assert ".rag-index" in str(err.value)
    assert not (corpus / "builds").exists()
    code, _, stderr = _cli(capsys, "index", "--corpus", str(corpus), "--index", str(corpus))
    assert code == 2 and "is the corpus folder" in stderr
    inside = Assistant.build(corpus, corpus / ".rag-index")
    assert inside.manifest["counts"]["documents"] == 3
    (corpus / "new.md").write_text("# 新文章\n\n新的医院今天开业。", encoding="utf-8")
    again = Assistant.build(corpus, corpus / ".rag-index")  # its own files are not read
    assert again.manifest["counts"]["documents"] == 4
    assert not [f for f in again.manifest["corpus"]["files"] if ".rag-index" in f]


# ---------------------------------------------------------------- writers and readers
@pytest.fixture
def held_lock(built):
    """Another writer: the index's lock held through a second open file (flock locks are
    per open file, so this conflicts like another process would)."""
    import fcntl

    _, index = built
    with open(Path(index) / ".lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield handle
        fcntl.flock(handle, fcntl.LOCK_UN)


def test_opening_while_another_process_builds_answers_at_once(built, held_lock, caplog):
    from rag import Assistant

    corpus, index = built
    assert Assistant.load(index).retrieve("月球药房", 1)[0].doc_id == "moon"  # nothing to do
    assert "another process" not in caplog.text
    (corpus / "new.md").write_text("# 新文章\n\n新的医院今天开业。", encoding="utf-8")
    stale = Assistant.load(index)  # stale, but the lock is taken: serve the last build
    assert "another process is writing the index" in caplog.text
    assert stale.manifest["counts"]["documents"] == 3
    assert stale.retrieve("月球药房", 1)[0].doc_id == "moon"


def test_a_writer_that_has_to_wait_says_so(built, held_lock, caplog):
    import fcntl
    import threading

    from rag import Assistant

    corpus, index = built
    (corpus / "new.md").write_text("# 新文章\n\n新的医院今天开业。", encoding="utf-8")
    threading.Timer(1.0, fcntl.flock, (held_lock, fcntl.LOCK_UN)).start()
    rebuilt = Assistant.build(corpus, index)
    assert "waiting for" in caplog.text and "another process is writing" in caplog.text
    assert rebuilt.manifest["counts"]["documents"] == 4


def test_an_index_folder_that_cannot_be_written_is_still_answered(built, caplog, capsys):
    """A read-only volume (simulated: the lock path is a folder, so it cannot be opened;
    tests run as root, whom file modes do not stop)."""
    from rag import Assistant

    corpus, index = built
    (Path(index) / ".lock").unlink()
    (Path(index) / ".lock").mkdir()
    assert Assistant.load(index).retrieve("月球药房", 1)[0].doc_id == "moon"
    assert not caplog.text  # up to date: nothing to write, nothing to say
    (corpus / "new.md").write_text("# 新文章\n\n新的医院今天开业。", encoding="utf-8")
    stale = Assistant.load(index)
    assert "cannot write to the index folder" in caplog.text
    assert stale.manifest["counts"]["documents"] == 3
    code, out, err = _cli(capsys, "index", "--index", str(index), "--corpus", str(corpus))
    assert code == 2 and "cannot write to the index folder" in err and "Traceback" not in err


def test_during_a_first_build_readers_and_reindexing_say_it_is_in_progress(tmp_path):
    """No CURRENT yet and a writer at work: asking says so, and re-indexing without
    --corpus asks for it (the corpus is not recorded yet; never the bundled one)."""
    import fcntl

    from rag import Assistant
    from rag.errors import IndexNotFoundError

    index = tmp_path / "index"
    (index / "builds" / ".tmp-20260101-000000-0000cafe").mkdir(parents=True)
    with open(index / ".lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        with pytest.raises(IndexNotFoundError, match="being built by another process"):
            Assistant.load(index)
        with pytest.raises(IndexNotFoundError, match="being built by another process"):
            IndexStore(index).recorded_corpus()
        fcntl.flock(handle, fcntl.LOCK_UN)
    with pytest.raises(CorruptIndexError, match="not a readable index"):
        Assistant.load(index)  # nobody builds: a folder without a finished build
    assert IndexStore(index).recorded_corpus() is None


def test_a_current_pointer_that_is_a_folder_is_named(built):
    from rag import Assistant

    _, index = built
    (Path(index) / "CURRENT").unlink()
    (Path(index) / "CURRENT").mkdir()
    with pytest.raises(CorruptIndexError, match="CURRENT is a folder"):
        Assistant.load(index)


def test_building_an_index_that_is_current_does_not_wait_for_a_writer(built, held_lock):
    """`rag ask` on the default index and the chat with --corpus go through Assistant.build:
    a current index is opened without the lock."""
    from rag import Assistant

    corpus, index = built
    opened = Assistant.build(corpus, index, model=FakeEncoder.model_name)
    assert opened.retrieve("月球药房", 1)[0].doc_id == "moon"


def test_a_current_folder_fails_the_build_before_any_work(built, monkeypatch):
    from rag import Assistant

    corpus, index = built
    (Path(index) / "CURRENT").unlink()
    (Path(index) / "CURRENT").mkdir()
    builds = sorted(p.name for p in (Path(index) / "builds").iterdir())
    read: list[int] = []
    monkeypatch.setattr("rag.indexer.load_corpus", lambda *a, **k: read.append(1) or [])
    with pytest.raises(CorruptIndexError, match="CURRENT is a folder"):
        Assistant.build(corpus, index)
    assert read == [] and sorted(p.name for p in (Path(index) / "builds").iterdir()) == builds
    assert not list(Path(index).glob(".CURRENT.*"))


def test_add_files_takes_one_path_as_one_file(built, tmp_path):
    """A single path string used to be iterated character by character (25 bogus errors)."""
    from rag import Assistant
    from rag.errors import InvalidArgumentError

    _, index = built
    assistant = Assistant.load(index)
    one = tmp_path / "one.md"
    one.write_text("# 新药房\n\n新药房今天开业，营业到晚上十点。", encoding="utf-8")
    result = assistant.add_files(str(one))
    assert result.added == ["one"] and not result.errors
    for bad in (None, 3, [str(one), None]):
        with pytest.raises(InvalidArgumentError, match="paths must be"):
            assistant.add_files(bad)


def test_an_explicit_reindex_waits_for_the_other_writer(built, held_lock, caplog, capsys):
    """`rag index` is serialised with another build even when the index looks current now:
    otherwise it reported success and the other writer's corpus replaced it afterwards."""
    import fcntl
    import threading

    _, index = built
    threading.Timer(1.0, fcntl.flock, (held_lock, fcntl.LOCK_UN)).start()
    code, out, _ = _cli(capsys, "index", "--index", str(index), "--model",
                        FakeEncoder.model_name)
    assert code == 0 and "documents: 3" in out
    assert "waiting for" in caplog.text


def test_asking_over_a_changed_corpus_on_a_read_only_index_answers(built, capsys, caplog):
    """`rag ask --corpus C` (the Assistant.build path) on a folder that cannot be written:
    the last build answers, with a warning, as with --index (simulated: .lock a folder)."""
    corpus, index = built
    (Path(index) / ".lock").unlink()
    (Path(index) / ".lock").mkdir()
    (corpus / "new.md").write_text("# 新文章\n\n新的医院今天开业。", encoding="utf-8")
    code, out, err = _cli(capsys, "search", "月球药房", "--corpus", str(corpus), "--index",
                          str(index), "--model", FakeEncoder.model_name, "-k", "1")
    assert code == 0 and "moon" in out
    assert "answering from the last build" in caplog.text


# ------------------------------------------------------------- builds within one second
def _finish_build(store: IndexStore) -> str:
    with store.new_build() as tmp:
        (tmp / "manifest.json").write_text("{}", encoding="utf-8")
    return (store.root / "CURRENT").read_text(encoding="utf-8").strip()


@pytest.mark.unit
def test_builds_within_one_second_prune_the_oldest(tmp_path, monkeypatch):
    """Three builds in one second: their names sorted by a random suffix, so pruning could
    drop the live build's predecessor (which a reader may hold) and keep an older one."""
    import uuid

    import rag.index_store as index_store

    second = 1_790_000_000 * 10**9
    ticks = iter(range(second, second + 10**9, 10**6))  # 1 ms apart, one second
    monkeypatch.setattr(index_store.time, "time_ns", lambda: next(ticks))
    falling = iter(range(16**32 - 1, 0, -(16**31)))  # random parts in falling order
    monkeypatch.setattr(index_store.uuid, "uuid4", lambda: uuid.UUID(int=next(falling)))
    store = IndexStore(tmp_path / "index")
    names = [_finish_build(store) for _ in range(3)]
    assert len({n[:15] for n in names}) == 1  # the same second
    assert [p.name for p in store.build_folders()] == names[1:]
    assert store.current().name == names[2]


@pytest.mark.unit
def test_pruning_keeps_the_build_that_was_live_before(tmp_path):
    """The build a reader may hold is the one ``CURRENT`` named before the switch, whatever
    its name's place in the sort."""
    store = IndexStore(tmp_path / "index")
    first = _finish_build(store)
    (store.builds / "99999999-999999-ffffffff").mkdir()  # newer by name, never live
    second = _finish_build(store)
    assert {p.name for p in store.build_folders()} == {first, second}
