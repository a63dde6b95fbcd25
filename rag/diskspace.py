"""Write failures that libraries report without an ``errno`` (numpy's short writes, faiss's
RuntimeError), turned into the ``OSError`` (``ENOSPC`` on a full disk) that callers report."""

from __future__ import annotations

import errno
import os
from pathlib import Path

# Free space below which a failed write is taken to be a full disk.
FULL_BELOW_BYTES = 1 << 20


def disk_is_full(path: Path) -> bool:
    """True when the file system holding ``path`` (or its nearest existing parent) has less
    than ``FULL_BELOW_BYTES`` free for this user."""
    for folder in (path, *path.parents):
        try:
            stat = os.statvfs(folder)
        except OSError:
            continue
        return stat.f_bavail * stat.f_frsize < FULL_BELOW_BYTES
    return False


def write_error(exc: BaseException, path: Path) -> OSError:
    """A write of ``path`` that failed without an errno (``exc``: numpy's "N requested and M
    written", faiss's RuntimeError) as ``ENOSPC`` when the disk is full, else ``EIO``."""
    return os_error(errno.ENOSPC if disk_is_full(path) else errno.EIO, path)


def os_error(code: int, path: Path) -> OSError:
    return OSError(code, os.strerror(code), str(path))
