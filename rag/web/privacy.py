"""What of a document's metadata may reach the browser: no absolute server paths."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any


def public_metadata(metadata: Mapping[str, Any], roots: Iterable[Path | str]) -> dict[str, Any]:
    """A copy of ``metadata`` whose ``path`` is relative to the first of ``roots`` (corpus
    folder, uploads folder) that holds it, else only the file name."""
    meta = dict(metadata)
    path = meta.get("path")
    if path:
        meta["path"] = relative_path(str(path), roots)
    return meta


def relative_path(path: str, roots: Iterable[Path | str]) -> str:
    file = Path(path)
    for root in roots:
        base = Path(root)
        base = base if base.is_dir() or not base.suffix else base.parent
        try:
            return file.relative_to(base.resolve()).as_posix()
        except ValueError:
            continue
    return file.name
