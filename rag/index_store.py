"""An index directory holding immutable builds; ``CURRENT`` names the live one.

A build is written into a temporary folder, then ``CURRENT`` is replaced atomically
(``os.replace``), so readers see the old or the new index, never a half-written one, and a
failed build leaves the previous index usable.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import re
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rag.errors import CorruptIndexError, IndexNotFoundError, IndexNotWritableError, RagError

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
CURRENT = "CURRENT"
FEEDBACK = "feedback.jsonl"  # the chat's 👍/👎 log, by default in the index folder
# the name of a build folder (``new_build``): only such folders in ``builds/`` are ever
# removed, so that an ``--index`` folder that already held a ``builds/`` of its own (a
# project's release folders) loses nothing
BUILD_NAME = re.compile(r"\d{8}-\d{6}-[0-9a-f]{8}")


class IndexStore:
    """Layout: ``root/CURRENT``, ``root/builds/<id>/``, ``root/added/`` (uploaded files)."""

    def __init__(self, root: Path | str) -> None:
        # absolute (links kept): a relative one moved with os.chdir, so an assistant opened
        # as `build("corpus", "idx")` wrote its uploads into a new index of the new folder
        self.root = Path(root).expanduser().absolute()

    @property
    def builds(self) -> Path:
        return self.root / "builds"

    @property
    def added(self) -> Path:
        """Files added through ``Assistant.add_files``; part of the corpus of this index."""
        return self.root / "added"

    def _not_a_file(self) -> None:
        """A clear error when the index path names a file (not a folder, new or holding an
        index)."""
        if self.root.exists() and not self.root.is_dir():
            raise IndexNotFoundError(
                f"{self.root} is a file, not an index directory; give --index a folder "
                "(new or holding an index)")

    def exists(self) -> bool:
        return (self.root / CURRENT).is_file()

    def current(self) -> Path:
        """The live build folder; clear errors when missing or broken."""
        pointer = self.root / CURRENT
        if not pointer.is_file():
            self._not_a_file()
            self.check_pointer()
            if self.building_elsewhere():
                raise IndexNotFoundError(
                    f"the index at {self.root} is being built by another process and has no "
                    "finished build yet; try again when that build is done")
            articles = self.articles()
            if articles:  # `--index news` for `--corpus news`: no rebuild into the articles
                raise IndexNotFoundError(
                    f"{self.root} holds articles ({articles[0].name}…), not an index; give "
                    f"it as --corpus {self.root}, and --index a new folder (or leave it out)")
            if self.root.is_dir() and any(self.root.iterdir()):
                raise CorruptIndexError(
                    f"{self.root} is not a readable index (no {CURRENT} file); rebuild it with "
                    f"`python -m rag index --index {self.root} --corpus <your corpus>`")
            raise IndexNotFoundError(
                f"no index at {self.root} (check the path); build one with "
                f"`python -m rag index --index {self.root} --corpus <your corpus>`")
        try:
            name = pointer.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise CorruptIndexError(f"cannot read {pointer} ({exc}); rebuild the index with "
                                    f"`python -m rag index --index {self.root} --corpus "
                                    "<your corpus>`") from exc
        build = self.builds / name
        if (not name or "/" in name or "\x00" in name or name.startswith(".")
                or not (build / MANIFEST).is_file()):
            raise CorruptIndexError(
                f"index at {self.root} is corrupt: build {name[:80]!r} named in {CURRENT} is "
                "missing or has no manifest; rebuild it with "
                f"`python -m rag index --index {self.root} --corpus <your corpus>`")
        return build

    def manifest(self) -> dict[str, Any]:
        return read_manifest(self.current())

    def articles(self) -> list[Path]:
        """A few corpus files directly in a folder that holds no index yet (no ``CURRENT``
        or ``builds/``): a folder of articles given as ``--index``. Once an index was
        written into it, its articles were no corpus any more (an index folder is not
        read as articles)."""
        if (self.root / CURRENT).exists() or self.builds.exists():
            return []
        return [p for p in self.article_files(recursive=False) if p.is_file()][:3]

    def article_files(self, recursive: bool = True) -> list[Path]:
        """The corpus files (by suffix, not hidden) in the index folder that are not the
        index's own: its ``builds/`` and ``added/`` and the chat's feedback log are left out.
        Sorted; an unreadable folder holds none."""
        from rag.corpus import SUFFIXES, file_suffix

        found = []
        for folder, dirs, names in os.walk(self.root):
            top = Path(folder) == self.root
            dirs[:] = [d for d in dirs if recursive and not d.startswith(".")
                       and not (top and d in ("builds", "added"))]
            found += [Path(folder) / n for n in names if not n.startswith(".")
                      and file_suffix(n) in SUFFIXES and not (top and n == FEEDBACK)]
        return sorted(found)

    def check_pointer(self) -> None:
        """A ``CURRENT`` that is a folder can be neither read nor replaced: a clear error."""
        pointer = self.root / CURRENT
        if pointer.is_dir():
            raise CorruptIndexError(
                f"{pointer} is a folder, not the file that names the live build; remove it "
                f"and rebuild: `python -m rag index --index {self.root} --corpus "
                "<your corpus>`")

    def building_elsewhere(self) -> bool:
        """True while a writer holds this index's lock (another process, or this one through
        another handle). It takes a shared lock for an instant, so a writer trying the lock
        at that very moment may wait briefly (and say so)."""
        try:
            with open(self.root / ".lock", "rb") as handle:
                fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
                fcntl.flock(handle, fcntl.LOCK_UN)
        except BlockingIOError:
            return True
        except OSError:  # no lock file (or unreadable): nobody is building here
            return False
        return False

    def live_manifest(self) -> dict[str, Any] | None:
        """The live build's manifest, None when there is no readable one (no index yet, or
        one that a build will report on): what a re-index keeps (model, backend) comes from
        it."""
        try:
            return self.manifest()
        except (RagError, OSError):
            return None

    def recorded_corpus(self) -> str | None:
        """The corpus this index was built from: named by the live build's manifest, else by
        the newest build whose manifest still reads (``CURRENT`` or a manifest may be
        damaged). None for a folder without an index; a :class:`CorruptIndexError` when the
        folder holds builds but none names its corpus, so that a re-index never swaps in
        another corpus (the bundled articles) unasked."""
        builds = self.build_folders()[::-1]
        if not builds and not (self.root / CURRENT).exists():
            if self.building_elsewhere():  # a first build: its corpus is not recorded yet
                raise IndexNotFoundError(
                    f"the index at {self.root} is being built by another process; wait for "
                    f"it, or give the corpus: `python -m rag index --index {self.root} "
                    "--corpus <your corpus>`")
            return None
        try:
            candidates = [self.current(), *builds]
        except CorruptIndexError:
            candidates = builds
        for build in candidates:
            try:
                corpus = corpus_of(read_manifest(build))
            except CorruptIndexError:
                continue
            if corpus is not None:
                return str(corpus)
        raise CorruptIndexError(
            f"{self.root} holds an index, but no readable manifest names the corpus it was "
            f"built from; give it: `python -m rag index --index {self.root} --corpus "
            "<your corpus>`")

    @contextlib.contextmanager
    def locked(self, wait: bool = True) -> Iterator[bool]:
        """Exclusive cross-process lock for writers; yields True once held. If another
        process holds it (a build can take hours), says so once and waits, or with
        ``wait=False`` yields False at once. A lock file that cannot be opened (a read-only
        folder, a folder in its place) is an :class:`IndexNotWritableError`."""
        self._not_a_file()
        path = self.root / ".lock"
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            handle = open(path, "a")  # noqa: SIM115 - entered just below
        except OSError as exc:
            raise IndexNotWritableError(
                f"cannot write to the index folder {self.root} ({path.name}: "
                f"{exc.strerror or exc}); check its permissions, or remove {path} if it is "
                "not a file") from exc
        with handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if not wait:
                    yield False
                    return
                log.warning("waiting for %s: another process is writing this index", self.root)
                fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield True
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    @contextlib.contextmanager
    def new_build(self) -> Iterator[Path]:
        """A temporary build folder; committed only if the block finishes without error."""
        self.builds.mkdir(parents=True, exist_ok=True)
        self._drop_orphans()  # a crashed build's leftovers may hold the space this one needs
        previous = self._live_name()
        name = build_name()
        tmp = self.builds / f".tmp-{name}"
        tmp.mkdir()
        try:
            yield tmp
            if not (tmp / MANIFEST).is_file():
                raise CorruptIndexError("build finished without writing its manifest")
            final = self.builds / name
            os.rename(tmp, final)
            _write_atomic(self.root / CURRENT, name)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        self._prune(name, previous)

    def build_folders(self) -> list[Path]:
        """The finished builds, oldest first: only folders named as builds (``BUILD_NAME``);
        anything else in ``builds/`` is not ours."""
        if not self.builds.is_dir():
            return []
        return sorted(p for p in self.builds.iterdir()
                      if p.is_dir() and BUILD_NAME.fullmatch(p.name))

    def _live_name(self) -> str | None:
        """The name ``CURRENT`` holds, if it names a build folder (else None)."""
        try:
            name = (self.root / CURRENT).read_text(encoding="utf-8").strip()
        except (OSError, ValueError):
            return None
        return name if BUILD_NAME.fullmatch(name) and (self.builds / name).is_dir() else None

    def _prune(self, live: str, previous: str | None) -> None:
        """Drop old builds, keeping the live one and the one it replaced (a reader may hold
        it); without a previous live build (a first build, or ``CURRENT`` was damaged), the
        newest other one."""
        others = [p for p in self.build_folders() if p.name != live]
        keep = {previous} if previous else {p.name for p in others[-1:]}
        for old in others:
            if old.name not in keep:
                shutil.rmtree(old, ignore_errors=True)
        self._drop_orphans()

    def _drop_orphans(self) -> None:
        """Remove temporary folders of builds killed part way (kill -9, power loss, SIGBUS):
        only the lock holder builds, so every one found is an orphan. Only folders named as
        builds are (``.tmp-<build name>``): nothing else in ``builds/`` is ours."""
        for tmp in self.builds.glob(".tmp-*"):
            if tmp.is_dir() and BUILD_NAME.fullmatch(tmp.name.removeprefix(".tmp-")):
                shutil.rmtree(tmp, ignore_errors=True)


def build_name() -> str:
    """A new build's folder name: its UTC time to the microsecond, then random digits, so
    that names sort by age even for builds made within one second or by processes in other
    time zones (``BUILD_NAME``; older names have local time and eight random digits)."""
    now = time.time_ns() // 1000
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(now // 1_000_000))
    return f"{stamp}-{now % 1_000_000:05x}{uuid.uuid4().hex[:3]}"


def corpus_of(manifest: dict[str, Any]) -> Path | None:
    """The corpus a build was made from (the first source its manifest records), or None."""
    sources = manifest.get("corpus", {}).get("sources") or []
    return Path(sources[0]) if sources else None


def read_manifest(build: Path) -> dict[str, Any]:
    fix = "rebuild the index with `python -m rag index --index <dir> --corpus <corpus>`"
    try:
        data = json.loads((build / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as exc:
        raise CorruptIndexError(f"cannot read {build / MANIFEST}: {exc}; {fix}") from exc
    if not isinstance(data, dict) or "model" not in data or "counts" not in data:
        raise CorruptIndexError(f"{build / MANIFEST} is not an index manifest; {fix}")
    problem = _manifest_problem(data)
    if problem:
        raise CorruptIndexError(f"{build / MANIFEST}: {problem}; {fix}")
    return data


def _manifest_problem(data: dict[str, Any]) -> str | None:
    """What is wrong with the shape of a manifest's fields that code relies on (a hand edit
    that kept the checksums valid: a string for ``corpus.sources`` once made a refresh read
    the whole file system from ``/``), or None."""
    if not isinstance(data["model"], str) or not data["model"]:
        return "'model' is not a model name"
    for key in ("config", "corpus", "counts"):
        if key in data and not isinstance(data[key], dict):
            return f"{key!r} is not an object"
    sources = data.get("corpus", {}).get("sources")
    if sources is not None and not (isinstance(sources, list)
                                    and all(isinstance(s, str) and s for s in sources)):
        return "'corpus.sources' is not a list of paths"
    if "dim" in data and (not isinstance(data["dim"], int) or data["dim"] <= 0):
        return "'dim' is not a positive integer"
    return None


def write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}")
    try:
        tmp.write_text(text, encoding="utf-8")
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
