"""Console output that never fails on a character the terminal's encoding lacks.

A terminal or a redirect in a legacy encoding (``zh_CN.GBK``, a Windows console's cp936,
``PYTHONIOENCODING=ascii``) cannot encode every character of an article (an emoji, ``✅``):
``print`` raised ``UnicodeEncodeError``, a traceback in place of the answer.
"""

from __future__ import annotations

import codecs
import sys
from typing import TextIO

# encodings that encode every character (GB18030 maps all of Unicode)
_UNIVERSAL = {"utf-8", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be",
              "gb18030", "utf-8-sig"}


def encodes_everything(stream: TextIO) -> bool:
    """Whether ``stream``'s encoding can write any character."""
    try:
        return codecs.lookup(getattr(stream, "encoding", None) or "utf-8").name in _UNIVERSAL
    except LookupError:
        return False


def tolerant_streams() -> None:
    """stdout and stderr write what their encoding lacks as ``\\uXXXX`` escapes instead of
    raising (only when that encoding is not a Unicode one)."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is None or encodes_everything(stream):
            continue
        try:
            reconfigure(errors="backslashreplace")
        except (ValueError, OSError):  # a stream that cannot be reconfigured: as it is
            continue
