"""Adding files to an index: one validator and one staging/rollback path for every caller.

``Assistant.add_files`` (Python API) and the web chat's upload (``rag.web.uploads``) both go
through here, with one size limit and one list of accepted suffixes. Uploads never overwrite:
a file whose name is taken gets a new name (so a new doc_id), a file whose content is already
in the corpus is reported as present, and a failed re-index removes the staged files again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rag.corpus import (
    JSONL_SUFFIXES,
    MAX_DOCUMENT_BYTES,
    SUFFIXES,
    document_from_record,
    file_suffix,
    gunzip,
    is_gzip,
    jsonl_lines,
    printable_path,
    read_file,
)
from rag.encoding import decode_text
from rag.errors import CorpusError
from rag.textnorm import SURROGATE

__all__ = ["ALLOWED_SUFFIXES", "MAX_UPLOAD_BYTES", "Staged", "UploadReport", "add_uploads",
           "plan_uploads", "stage", "unstage", "validate_upload"]

ALLOWED_SUFFIXES = tuple(sorted(SUFFIXES))
MAX_UPLOAD_BYTES = 5 * 1024 * 1024
NAME_MAX = 255  # bytes of one file name (ext4, XFS, APFS…): a long Chinese title is ~85 chars
_TMP_PREFIX = ".upload-"  # a file being copied into added/ (hidden: never read as an article)
GZIP_FACTOR = 20  # a compressed upload may hold this many times its size limit of text


@dataclass
class UploadReport:
    """What happened to one batch of uploads."""

    added: list[str] = field(default_factory=list)  # doc_ids now searchable
    errors: list[str] = field(default_factory=list)  # one clear message per rejected file
    present: list[str] = field(default_factory=list)  # one message per file already indexed


@dataclass
class Staged:
    """One accepted file: where it goes (``target``) and the doc_ids it will have."""

    source: Path
    target: Path
    doc_ids: list[str]
    sha256: str


def validate_upload(path: Path | str, max_bytes: int = MAX_UPLOAD_BYTES) -> str | None:
    """A friendly message for a file that cannot be added, or None if it is fine.

    Checks the name (accepted suffix, not hidden), that it is a readable regular file, its
    size, that it is text (UTF-8, UTF-16 or a detected CJK encoding) and not blank, and
    for ``.jsonl`` that every line is a JSON object with an ``id`` and a ``text``/``html``."""
    return _checked(Path(path), max_bytes)[0]


def _checked(path: Path, max_bytes: int) -> tuple[str | None, int]:
    """`validate_upload`'s message (None: fine) and, for a good JSONL file, its records (the
    file is read and decoded once for both)."""
    problem, text = _read_checked(path, max_bytes)
    if problem or file_suffix(path) not in JSONL_SUFFIXES:
        return problem, 0
    return _check_jsonl(path.name or str(path), text)


def _read_checked(path: Path, max_bytes: int) -> tuple[str | None, str]:
    """The file checks' message (None: fine) and the file's decoded text."""
    name = path.name or str(path)
    suffix = file_suffix(path)
    with contextlib.suppress(OSError):
        if path.is_dir():  # `add_files("news")` was "unsupported file type"
            return (f"{name}：这是文件夹 / a folder, not a file: give the files in it, or "
                    "index the folder as a corpus (`rag index --corpus`)"), ""
    if suffix not in ALLOWED_SUFFIXES:
        return (f"{name}：不支持的文件类型 / unsupported file type "
                f"(accepted: {' '.join(ALLOWED_SUFFIXES)})"), ""
    if SURROGATE.search(name):  # bytes of another encoding: no doc_id or manifest entry
        return (f"{printable_path(name)}：文件名不是 UTF-8 / the file name is not UTF-8 text; "
                "rename the file"), ""
    if name.startswith("."):
        return (f"{name}：隐藏文件不会被索引 / hidden files (names starting with '.') are not "
                "indexed; rename the file"), ""
    try:
        if not path.is_file():
            return f"{name}：文件不存在 / file not found (or not a regular file)", ""
        size = path.stat().st_size
    except OSError:
        return f"{name}：无法读取文件 / cannot read the file", ""
    if size == 0:
        return f"{name}：文件为空 / the file is empty", ""
    if size > max_bytes:
        return (f"{name}：文件太大 / file too large ({size / 1048576:.1f} MB > "
                f"{max_bytes / 1048576:g} MB)"), ""
    try:
        raw = (gunzip(path, GZIP_FACTOR * max_bytes) if suffix in JSONL_SUFFIXES
               and is_gzip(path) else path.read_bytes())
        text = decode_text(raw, name)
    except CorpusError as exc:
        return str(exc).replace(str(path), name), ""
    except OSError as exc:
        return f"{name}：无法读取文件 / cannot read the file ({exc.strerror or exc})", ""
    if not text.strip():
        return f"{name}：文件为空 / the file is empty", ""
    return None, text


def _check_jsonl(name: str, text: str) -> tuple[str | None, int]:
    """The first bad line's message, or None and the number of records."""
    records = 0
    for n, line in enumerate(jsonl_lines(text), 1):
        if not line.strip():
            continue
        records += 1
        try:
            obj: Any = json.loads(line)
        except (ValueError, RecursionError):
            obj = None
        if n == 1 and (obj is None or isinstance(obj, list)) and line.lstrip().startswith("["):
            return (f"{name}：是 JSON 数组，不是 JSON Lines / is a JSON array, not JSON Lines "
                    "(one JSON object per line)"), records
        if obj is None:
            return f"{name}：第 {n} 行不是合法 JSON / line {n} is not valid JSON", records
        if not isinstance(obj, dict):
            return f"{name}：第 {n} 行不是 JSON 对象 / line {n} is not a JSON object", records
        if not (obj.get("text") or obj.get("html")):
            return f"{name}：第 {n} 行缺少 text 或 html / line {n} has no text or html", records
        if obj.get("id") in (None, "") and obj.get("doc_id") in (None, ""):
            return f"{name}：第 {n} 行缺少 id / line {n} has no id", records
        try:  # as the corpus reads it: a record it would skip is not silently left out
            document_from_record(obj, f"{name}:{n}")
        except (CorpusError, ValueError, RecursionError) as exc:
            return f"{name}：第 {n} 行无法读取 / line {n} cannot be read ({exc})", records
    return None, records


def plan_uploads(paths: list[Path | str], added_dir: Path, doc_ids: set[str],
                 known_hashes: dict[str, str], max_bytes: int = MAX_UPLOAD_BYTES,
                 max_document_bytes: int = MAX_DOCUMENT_BYTES) -> tuple[list[Staged],
                                                                       UploadReport]:
    """Decide, without writing anything, where each good file goes and what it becomes.

    ``doc_ids``: the ids already indexed; ``known_hashes``: SHA-256 → file of every corpus
    file. A name whose doc_id or file is taken gets ``-2``, ``-3``, … appended."""
    report = UploadReport()
    plans: list[Staged] = []
    taken = set(doc_ids)
    hashes = dict(known_hashes)
    for raw in paths:
        path = Path(raw)
        problem, records = _checked(path, max_bytes)
        if problem:
            report.errors.append(problem)
            continue
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest in hashes:
            report.present.append(f"{path.name}：已在语料库中 / already in the corpus "
                                  f"(same content as {Path(hashes[digest]).name})")
            continue
        try:
            docs = read_file(path, None, max_document_bytes)
        except CorpusError as exc:  # named by the file, not the server's upload folder
            report.errors.append(str(exc).replace(str(path), path.name))
            continue
        except (OSError, RecursionError) as exc:
            report.errors.append(f"{path.name}：无法读取文件 / cannot read the file ({exc})")
            continue
        except Exception as exc:  # noqa: BLE001 - one bad file must not stop the others
            report.errors.append(f"{path.name}：无法读取文件 / cannot read the file "
                                 f"({type(exc).__name__}: {exc})")
            continue
        suffix = file_suffix(path)
        stem = path.name[:-len(suffix)] if suffix else path.name
        ending = path.name[len(stem):]  # the suffix as the file spells it
        if suffix in JSONL_SUFFIXES:
            if len(docs) < records:  # e.g. a record over the size limit: never half added
                report.errors.append(f"{path.name}：{records - len(docs)} 条记录无法读取 / "
                                     f"{records - len(docs)} of {records} records cannot be "
                                     "read (too large or no text); fix or remove them")
                continue
            ids = [d.doc_id for d in docs]
            repeated = sorted(i for i, n in Counter(ids).items() if n > 1)
            if repeated:  # a later record would silently lose to the first one
                report.errors.append(f"{path.name}：doc_id {repeated[0]!r} 在文件中重复 / is used "
                                     "by more than one record; give each record its own id")
                continue
            clash = [d.doc_id for d in docs if d.doc_id in taken]
            if clash:
                report.errors.append(f"{path.name}：doc_id {clash[0]!r} 已存在 / already exists; "
                                     "give the record another id")
                continue
            target = _free_name(added_dir, stem, ending, taken, check_ids=False)
        else:
            target = _free_name(added_dir, stem, ending, taken, check_ids=True)
            ids = [target.stem]
        taken.update(ids)
        taken.add(f"file:{target.name}")
        hashes[digest] = str(path)
        plans.append(Staged(path, target, ids, digest))
    return plans, report


def _free_name(folder: Path, stem: str, suffix: str, taken: set[str], check_ids: bool) -> Path:
    """The first free ``stem``, ``stem-2``, … in ``folder``; the stem is shortened when the
    name would not fit in a file name (an upload named by a long title, then taken)."""
    n = 1
    while True:
        tail = "" if n == 1 else f"-{n}"
        name = _fitting(stem, tail + suffix) + tail
        target = folder / f"{name}{suffix}"
        free = not target.exists() and f"file:{target.name}" not in taken
        if free and (not check_ids or name not in taken):
            return target
        n += 1


def _fitting(stem: str, tail: str) -> str:
    """``stem`` cut (at a character) so that ``stem + tail`` fits in ``NAME_MAX`` bytes."""
    while stem and len((stem + tail).encode("utf-8", "surrogateescape")) > NAME_MAX:
        stem = stem[:-1]
    return stem


def stage(plans: list[Staged]) -> list[Path]:
    """Copy each file into place (temporary copy, then rename); never replaces a file.

    Called under the index's write lock, so a temporary copy already in a target folder is
    that of an upload killed part way (``kill -9``): it is removed.
    Returns the files written, for ``unstage``; on error removes what it wrote."""
    written: list[Path] = []
    for folder in {plan.target.parent for plan in plans}:
        for orphan in folder.glob(f"{_TMP_PREFIX}*.tmp"):
            orphan.unlink(missing_ok=True)
    try:
        for plan in plans:
            plan.target.parent.mkdir(parents=True, exist_ok=True)
            # a short name: the file's own may already use all NAME_MAX bytes
            tmp = plan.target.with_name(f"{_TMP_PREFIX}{uuid.uuid4().hex[:12]}.tmp")
            shutil.copyfile(plan.source, tmp)
            try:
                _place(tmp, plan.target)
            finally:
                tmp.unlink(missing_ok=True)
            written.append(plan.target)
    except BaseException:
        unstage(written)
        raise
    return written


def _place(tmp: Path, target: Path) -> None:
    """Give ``tmp`` the name ``target``, failing (FileExistsError) if that name is taken."""
    try:
        os.link(tmp, target)  # atomic, and never replaces an existing file
    except FileExistsError:
        raise
    except OSError:  # no hard links on this file system: check, then rename (under the lock)
        if target.exists():
            raise FileExistsError(target) from None
        os.replace(tmp, target)


def unstage(written: list[Path]) -> None:
    """Remove staged files again (rollback of a failed re-index)."""
    for path in written:
        path.unlink(missing_ok=True)


def add_uploads(assistant: Any, paths: list[Path | str],
                max_bytes: int = MAX_UPLOAD_BYTES, wait: bool = True) -> UploadReport:
    """Validate ``paths`` and index the good ones incrementally; bad files change nothing.
    ``wait=False``: an error at once while another process writes the index (see
    ``Assistant.add_files``), not a wait as long as that process's build."""
    report = UploadReport()
    good: list[Path] = []
    for p in paths:
        problem = validate_upload(p, max_bytes)
        if problem:
            report.errors.append(problem)
        else:
            good.append(Path(p))
    if good:
        result = assistant.add_files(good, wait=wait)
        report.added.extend(result.added)
        report.errors.extend(result.errors)
        report.present.extend(getattr(result, "present", []))
    return report
