"""Uploads of the web chat: the shared validator and staging path of :mod:`rag.uploads`."""

from __future__ import annotations

from rag.uploads import (
    ALLOWED_SUFFIXES,
    MAX_UPLOAD_BYTES,
    UploadReport,
    add_uploads,
    validate_upload,
)

__all__ = ["ALLOWED_SUFFIXES", "MAX_UPLOAD_BYTES", "UploadReport", "add_uploads", "validate_upload"]
