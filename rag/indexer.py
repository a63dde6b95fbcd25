"""Building, fingerprinting and refreshing an index directory (the Assistant only reads).

A build reads the corpus, embeds new text (the embedding cache makes a rebuild cheap and an
interrupted build resumable), writes a new build folder (and, for Milvus, a new collection)
and swaps ``CURRENT`` atomically; the previous build stays usable until then and is dropped
one build later.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rag.analyzer import Analyzer
from rag.backends import LITE_FILE, BackendSpec, default_uri, open_backend
from rag.backends.base import Backend
from rag.config import BUNDLED_CORPUS, Config, cache_dir, env_setting
from rag.corpus import corpus_files, load_corpus, printable_path
from rag.diskspace import disk_is_full, os_error
from rag.index_data import IndexData
from rag.index_store import IndexStore, corpus_of, read_manifest
from rag.integrity import sha256_file

log = logging.getLogger(__name__)


def default_index_dir(corpus: Path | str | None = None) -> Path:
    """``RAG_INDEX_DIR``, else one folder per corpus under the cache directory.

    ``RAG_INDEX_DIR`` holding the index of another corpus than ``corpus`` is an error: a
    ``rag ask --corpus B`` (or ``Assistant.build(B)``) rebuilt the user's index of A from B,
    so that the chat and ``rag ask`` then answered from B."""
    named = env_setting("RAG_INDEX_DIR")
    if named:
        folder = Path(named).expanduser()
        if corpus is not None:
            _index_of_this_corpus(folder, Path(corpus))
        return folder
    if corpus is None or Path(corpus).resolve() == BUNDLED_CORPUS:
        return cache_dir() / "indexes" / "bundled"
    # named after the corpus path as given (absolute, links kept): a corpus that is a link
    # (`news -> releases/1`) keeps its index when a deploy points it at a new release, which
    # is then refreshed instead of built from scratch in a new folder; an index named after
    # the link's target (before 2026-11-25) is still used
    given = _index_folder_for(Path(os.path.abspath(Path(corpus).expanduser())))
    resolved = _index_folder_for(Path(corpus).resolve())
    return resolved if resolved != given and resolved.is_dir() and not given.is_dir() else given


def _index_folder_for(path: Path) -> Path:
    digest = hashlib.sha1(str(path).encode()).hexdigest()[:8]
    slug = re.sub(r"[^\w.-]+", "_", path.stem)[:40]
    return cache_dir() / "indexes" / f"{slug}-{digest}"


def _index_of_this_corpus(folder: Path, corpus: Path) -> None:
    """An InvalidArgumentError when the index in ``folder`` records another corpus."""
    recorded = corpus_of(IndexStore(folder).live_manifest() or {})
    if recorded is None or recorded.resolve() == corpus.expanduser().resolve():
        return
    from rag.errors import InvalidArgumentError

    raise InvalidArgumentError(
        f"RAG_INDEX_DIR={folder} holds the index of the corpus {recorded}, not of "
        f"{corpus}; give the index folder for {corpus} (--index / index_dir=), or "
        "unset RAG_INDEX_DIR")


def fingerprint(sources: list[Path], exclude: list[Path] | None = None) -> dict[str, Any]:
    """Content hash of every corpus file, and of all of them together (``exclude``: folders
    not read, see `corpus_files`).

    An unreadable file is recorded as such (it is skipped, with a warning, when the corpus
    is read), so that it is picked up once it becomes readable; so is a file or folder whose
    name is not UTF-8 (under its name with ``\\xNN`` escapes), so that its warning is
    given when it appears."""
    files: dict[str, str] = {}
    for source in sources:
        if source.exists():
            misnamed: list[Path] = []
            for path in corpus_files(source, [], exclude or (), misnamed):
                try:
                    digest = sha256_file(path)
                except OSError as exc:
                    digest = f"unreadable:{exc.errno}"
                files[str(path.resolve())] = digest
            for path in misnamed:
                files[printable_path(path.absolute())] = "unreadable:name-not-utf-8"
    overall = hashlib.sha256("\n".join(f"{k}={v}" for k, v in sorted(files.items())).encode())
    # the corpus as given (absolute, links kept): a corpus named by a link that is later
    # pointed at a new release (`ln -sfn rel2 news`) is re-read there, not at the old one
    return {"sources": [os.path.abspath(s) for s in sources], "files": files,
            "fingerprint": overall.hexdigest()}


def backend_spec(config: Config, store: IndexStore) -> BackendSpec:
    """The backend of ``config.storage``; a Milvus index without a uri gets its Lite file
    ``<index dir>/milvus.db`` (recorded in ``config`` so that the manifest names it)."""
    storage = config.storage
    if storage.backend == "milvus" and not storage.uri:
        storage.uri = default_uri(store.root)
    if storage.backend == "milvus" and "://" not in storage.uri:
        from rag.backends.milvus import normalise_uri

        storage.uri = normalise_uri(storage.uri)
    return BackendSpec(storage.backend, storage.uri if storage.backend == "milvus" else None)


def stored_spec(manifest: dict[str, Any], uri: str | None = None,
                index_root: Path | None = None) -> BackendSpec:
    """The backend a build was written with (``uri`` overrides the recorded one, e.g. a
    server URL with credentials, which is never recorded). An index folder moved with its
    own Lite file (`moved_lite_file`) uses the file it holds now."""
    entry = manifest.get("backend") or {}
    name = entry.get("name", "faiss")
    if name == "faiss":
        return BackendSpec("faiss")
    if uri:
        return BackendSpec(name, uri)
    uri = entry.get("uri")
    if not uri:
        from rag.errors import BackendError

        raise BackendError("this index is stored on a Milvus server whose address was not "
                           "saved (it carried credentials); give it again with --uri / uri=")
    return BackendSpec(name, moved_lite_file(uri, index_root) or uri)


def moved_lite_file(recorded: str, index_root: Path | None) -> str | None:
    """The index's own Lite file (``<index_root>/milvus.db``) when the recorded one was the
    default file of a folder the index has since left (``mv idx idx2``: the recorded path is
    gone and the folder holds its file), else None. Before, the old path was used: the
    collection was "missing" and an empty Lite file was created where the index had been."""
    if index_root is None or "://" in recorded or Path(recorded).name != LITE_FILE:
        return None
    here = default_uri(index_root)
    if recorded == here or Path(recorded).exists() or not Path(here).exists():
        return None
    log.info("the index moved to %s: using its Lite file %s (recorded: %s)", index_root, here,
             recorded)
    return here


def load_current(store: IndexStore, backend: Backend) -> IndexData:
    return IndexData.load(store.current(), backend=backend)


def _sources(store: IndexStore, corpus: Path) -> list[Path]:
    return [Path(corpus)] + ([store.added] if store.added.exists() else [])


def _matches(current: IndexData, config: Config, prints: dict[str, Any]) -> bool:
    """``current`` was built from these corpus files (``prints``) with these settings."""
    return (current.manifest.get("build_key") == config.build_key()
            and current.manifest.get("corpus", {}).get("fingerprint") == prints["fingerprint"])


def is_current(store: IndexStore, corpus: Path, config: Config, current: IndexData) -> bool:
    """True when ``current`` was built from exactly these corpus files with these settings
    (reads and hashes the corpus, takes no lock: a reader can ask while a writer works)."""
    return _matches(current, config, fingerprint(_sources(store, corpus), [store.root]))


def current_if_fresh(store: IndexStore, corpus: Path, config: Config,
                     backend: Backend) -> IndexData | None:
    """The live build when it is current for ``corpus`` and ``config`` (no lock taken, so
    opening a current index never waits on a writer), else None."""
    if not store.exists():
        return None
    try:
        current = _load_same_backend(store, backend)
    except Exception:  # noqa: BLE001 - unreadable: the locked refresh rebuilds it
        return None
    return current if current is not None and is_current(store, corpus, config,
                                                          current) else None


def refresh(store: IndexStore, corpus: Path, config: Config, encoder: Any, analyzer: Analyzer,
            backend: Backend, progress: bool = False,
            current: IndexData | None = None) -> IndexData:
    """The live build (``current`` if already loaded) if it matches the corpus and settings,
    else a new build committed atomically. Call with ``store.locked()`` held."""
    sources = _sources(store, corpus)
    _not_its_own_corpus(store, corpus)
    store.check_pointer()  # a CURRENT that cannot be replaced fails now, not after the build
    prints = fingerprint(sources, [store.root])  # an index dir inside the corpus is not read
    # a bad uri, an old server or a Lite file another process holds fails before reading
    # and embedding, and is not taken for an unreadable index to rebuild
    backend.connect()
    if current is None and store.exists():
        try:
            current = _load_same_backend(store, backend)
        except Exception as exc:  # a broken index is replaced, not fatal
            log.warning("rebuilding unreadable index: %s", exc)
    if current is not None and _matches(current, config, prints):
        return current
    owners = {d.doc_id: path for d in (current.documents if current is not None else [])
              if isinstance(path := d.metadata.get("path"), str)}  # a doc_id keeps its file
    if not Path(corpus).exists():  # the files added to the index alone are no corpus
        from rag.errors import CorpusError

        raise CorpusError(f"corpus path does not exist: {corpus}; the index at {store.root} "
                          "is unchanged")
    documents = load_corpus([s for s in sources if s.exists()],
                            config.corpus.max_document_bytes, progress, exclude=[store.root],
                            owners=owners, required=sources[0])
    earlier = _other_storage(store, backend)  # builds of a backend this index left
    started = time.perf_counter()
    try:
        with store.new_build() as folder:  # sentence vectors are written into it as embedded
            data = IndexData.build(documents, encoder, analyzer, config, progress, backend,
                                   folder)
            data.manifest["corpus"] = prints
            data.manifest["build_seconds"] = round(time.perf_counter() - started, 3)
            data.manifest["build"] = folder.name.removeprefix(".tmp-")
            data.save(folder)
    except OSError as exc:  # numpy's short write on a full disk: "N requested and M written"
        if exc.errno is None and disk_is_full(store.builds):
            raise os_error(errno.ENOSPC, store.builds) from exc
        raise
    _prune(store, backend, earlier)
    log.info("indexed %d documents, %d chunks (%d embedded) in %.1fs", len(documents),
             len(data.chunks), data.manifest["embedded"], data.manifest["build_seconds"])
    return data


def _not_its_own_corpus(store: IndexStore, corpus: Path) -> None:
    """An index folder that is its corpus folder would read its own builds back as articles
    (deleted ones kept coming back, and every open rebuilt): refused with the fix. An index
    folder *inside* the corpus folder is fine: it is skipped when the corpus is read, so
    one that holds articles of the corpus (they would be left out) is refused too, and so is
    a new index in a folder of articles (of another corpus: they would be read no more)."""
    try:
        same = Path(corpus).is_dir() and Path(corpus).resolve() == store.root.resolve()
    except OSError:
        return
    hidden = Path(corpus) / ".rag-index"
    if same:
        from rag.errors import CorpusError

        raise CorpusError(
            f"the index folder {store.root} is the corpus folder; keep the index beside the "
            f"articles or in a hidden folder inside them, e.g. --index {hidden}")
    articles = _articles_in_index_folder(store, Path(corpus))
    if articles:
        from rag.errors import CorpusError

        raise CorpusError(
            f"the index folder {store.root} holds {len(articles)} article file(s) of the "
            f"corpus {corpus} (e.g. {printable_path(articles[0])}), which the corpus would "
            f"leave out; give --index a new or hidden folder instead, e.g. --index {hidden}")
    held = store.articles()
    if held:  # `--index news --corpus other`: news would be no corpus any more
        from rag.errors import CorpusError

        raise CorpusError(
            f"the index folder {store.root} holds articles ({held[0].name}…); an index "
            "written there would hide them from being read as a corpus: give --index a new "
            f"or empty folder (or a hidden one inside the corpus, e.g. --index {hidden})")


def _articles_in_index_folder(store: IndexStore, corpus: Path) -> list[Path]:
    """Corpus files inside an index folder that lies inside the (non-hidden part of the)
    corpus folder: the index folder is never read as articles, so they were silently left
    out (`--index news/2023` for a folder of the articles). Its own ``builds/`` and
    ``added/`` and the chat's feedback log are not articles."""
    try:
        inside = store.root.resolve().relative_to(corpus.resolve())
    except (ValueError, OSError):
        return []
    if not corpus.is_dir() or any(part.startswith(".") for part in inside.parts):
        return []
    return store.article_files()


def _load_same_backend(store: IndexStore, backend: Backend) -> IndexData | None:
    """The live build if it is stored in ``backend`` (else None: rebuild into it)."""
    build = store.current()
    if (read_manifest(build).get("backend") or {}).get("name", "faiss") != backend.name:
        return None
    return IndexData.load(build, backend=backend)


def _other_storage(store: IndexStore, backend: Backend) -> list[BackendSpec]:
    """The Milvus storage (another uri, or Milvus while ``backend`` is FAISS) that builds
    of this index still hold after a switch (`rag index --backend faiss` on a Milvus index):
    their collections go when those builds are pruned, as the backend's own do."""
    this = BackendSpec(backend.name, getattr(backend, "uri", None))
    found: set[BackendSpec] = set()
    for build in store.build_folders():
        try:
            spec = stored_spec(read_manifest(build), index_root=store.root)
        except Exception:  # noqa: BLE001 - unreadable, or a server uri never recorded
            continue
        if spec.name != "faiss" and spec != this:
            found.add(spec)
    return sorted(found, key=lambda spec: (spec.name, spec.uri or ""))


def _prune(store: IndexStore, backend: Backend, earlier: Sequence[BackendSpec] = ()) -> None:
    """Drop the backend's storage of builds that are gone (the store keeps two), and that
    of the ``earlier`` backends (:func:`_other_storage`)."""
    kept = []
    for build in store.build_folders():
        try:
            kept.append(read_manifest(build))
        except Exception:  # noqa: BLE001 - an unreadable build keeps nothing
            continue
    try:
        backend.prune(kept)
    except Exception as exc:  # noqa: BLE001 - the new build is live; retry next time
        log.warning("could not drop old collections: %s", exc)
    for spec in earlier:
        other = None
        try:
            other = open_backend(spec, store.root)
            other.prune(kept)
        except Exception as exc:  # noqa: BLE001 - e.g. a Lite file the old chat holds
            log.warning("could not drop old collections at %s: %s", spec.uri, exc)
        finally:
            if other is not None:
                other.close()
