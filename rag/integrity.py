"""Checksums of the files of an index build, recorded in its manifest and verified on open.

Opening verifies every file's size and the SHA-256 of files up to ``FAST_HASH_BYTES`` (the
fast path); ``verify_build(..., full=True)`` (``rag check``) hashes every file. The manifest
carries a digest of its own content, so an edited or bit-flipped manifest is caught too.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from rag.errors import CorruptIndexError

MANIFEST_DIGEST = "manifest_sha256"
FAST_HASH_BYTES = 16 * 1024 * 1024


def file_checksums(folder: Path, skip: str = "manifest.json") -> dict[str, dict[str, Any]]:
    """``{relative path: {"size", "sha256"}}`` of every file under ``folder`` but ``skip``."""
    out: dict[str, dict[str, Any]] = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder).as_posix()
        if rel != skip:
            out[rel] = {"size": path.stat().st_size, "sha256": sha256_file(path)}
    return out


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def manifest_digest(manifest: dict[str, Any]) -> str:
    """SHA-256 of the manifest's canonical JSON, without the digest itself."""
    body = {k: v for k, v in manifest.items() if k != MANIFEST_DIGEST}
    text = json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def seal(manifest: dict[str, Any], folder: Path) -> None:
    """Record the checksums of ``folder``'s files and the manifest digest in ``manifest``."""
    manifest["files"] = file_checksums(folder)
    manifest[MANIFEST_DIGEST] = manifest_digest(manifest)


def verify_build(folder: Path, manifest: dict[str, Any], full: bool = False) -> int:
    """Check the manifest digest and every recorded file; returns the number of files hashed.

    Raises CorruptIndexError naming the first bad files and how to rebuild."""
    fix = ("rebuild it with `python -m rag index --index <dir> --corpus <corpus>` "
           "(or delete the index folder)")
    if manifest.get(MANIFEST_DIGEST) != manifest_digest(manifest):
        raise CorruptIndexError(f"index build {folder}: manifest.json was modified or damaged "
                                f"(digest mismatch); {fix}")
    files = manifest.get("files")
    if not isinstance(files, dict) or not files:
        raise CorruptIndexError(f"index build {folder}: the manifest lists no file checksums; "
                                f"{fix}")
    problems: list[str] = []
    hashed = 0
    for rel, info in files.items():
        path = folder / rel
        try:
            size = path.stat().st_size
        except OSError:
            problems.append(f"{rel} missing")
            continue
        if size != info.get("size"):
            problems.append(f"{rel} has {size} bytes, expected {info.get('size')}")
            continue
        if full or size <= FAST_HASH_BYTES:
            hashed += 1
            try:
                ok = sha256_file(path) == info.get("sha256")
            except OSError as exc:
                problems.append(f"{rel} unreadable ({exc.strerror or exc})")
                continue
            if not ok:
                problems.append(f"{rel} checksum mismatch")
    if problems:
        shown = "; ".join(problems[:4]) + (f"; … {len(problems) - 4} more"
                                          if len(problems) > 4 else "")
        raise CorruptIndexError(f"index build {folder} is corrupt ({shown}); {fix}")
    return hashed
